package dev.entrokit.internal.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link HalfKeyPasses} against the float32 passes on the widened row, which is the contract (a half row gives bitwise
 * the float32 result on its widened values): gather, min-p's gather (the row maximum and the tokens at or above min-p's
 * exact cut), counting, greedy's argmax, a cut's mask, the masked logits in the input's type and the row maxima of the softmax family and decoding steps
 * (with their fallback to the widened passes), exact equality (min-p's maximum as a float: ±0 alike). Rows of odd lengths around the key loop's
 * {@code 2·L} lanes and its 4096-token blocks, from bit patterns that stress a key order: ±0 together (equal as floats,
 * two keys), ties, subnormals, ±inf, NaNs of both signs, one value repeated; thresholds on, between and beyond the row's
 * values, ±0, ±inf, NaN, ±{@code Float.MAX_VALUE}. Heap and off-heap rows, at every SIMD width (the class is re-run
 * per width).
 */
@Tag("simd-width")
class HalfKeyPassesTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int L = SimdConstants.L;
    /**
     * Around the key loop's 2L lanes and the 4096-token blocks; 8192 + [L, 2L) is where the float32 pass starts a block
     * (and checks min-p's gather for a wide cut) that the key loop leaves to its scalar tail.
     */
    private static final int[] SIZES = {1, 2, 7, 15, 16, 31, 32, 33, 63, 64, 65, 100, 1000, 4095, 4096, 4097, 9000, 20001,
        8192 + L, 8192 + 2 * L - 1, 12288 + L};

    /** A row of {@code n} half patterns of {@code type} in the style {@code style}. */
    private static short[] row(DType type, int n, int style, SplittableRandom r) {
        int inf = HalfKeyPasses.infBits(type);
        short[] h = new short[n];
        for (int i = 0; i < n; i++) {
            int bits = switch (style) {
                case 0 -> r.nextInt(inf); // any finite magnitude, subnormals included
                case 1 -> r.nextInt(4) == 0 ? 0 : r.nextInt(3) + (type == DType.BF16 ? 0x3F80 : 0x3C00); // zeros, ties near 1
                case 2 -> r.nextInt(16); // subnormals and zeros
                case 3 -> r.nextInt(8) == 0 ? inf : r.nextInt(inf); // masked tokens (−inf after the sign below)
                default -> r.nextInt(3) == 0 ? 0 : r.nextInt(inf) | 0x8000; // nothing above ±0: a maximum of either zero
            };
            h[i] = (short) (bits | (r.nextBoolean() ? 0x8000 : 0));
        }
        if (style == 4) { // one value throughout
            Arrays.fill(h, (short) (type == DType.BF16 ? 0x3F80 : 0x3C00));
        }
        if (style == 5 && n > 0) { // every token masked but one ±0
            Arrays.fill(h, (short) (inf | 0x8000));
            h[r.nextInt(n)] = (short) (r.nextBoolean() ? 0x8000 : 0);
        }
        if (r.nextInt(6) == 0 && n > 0) { // a NaN of either sign somewhere
            h[r.nextInt(n)] = (short) (inf + 1 + r.nextInt(8) | (r.nextBoolean() ? 0x8000 : 0));
        }
        if (r.nextInt(8) == 0 && n > 0) {
            h[r.nextInt(n)] = (short) inf;
        }
        return h;
    }

    private static MemorySegment halfSegment(Arena arena, short[] h, boolean heap) {
        MemorySegment s = heap ? MemorySegment.ofArray(new short[h.length + 3]) : arena.allocate(2L * h.length + 6, 2);
        for (int i = 0; i < h.length; i++) {
            s.setAtIndex(I16, i + 3, h[i]); // at an offset of 3 elements: unaligned rows
        }
        return s;
    }

    private static MemorySegment widened(Arena arena, DType type, short[] h) {
        MemorySegment s = arena.allocate(4L * h.length + 12, 4);
        for (int i = 0; i < h.length; i++) {
            s.setAtIndex(F32, i + 3, type.widen(h[i]));
        }
        return s;
    }

    /** Thresholds on, between and beyond the row's values, and the special ones. */
    private static List<Float> thresholds(DType type, short[] h, SplittableRandom r) {
        List<Float> t = new ArrayList<>(List.of(0f, -0f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN,
                -Float.MAX_VALUE, Float.MAX_VALUE, 1e-30f, -1e-30f, Float.MIN_VALUE));
        for (int k = 0; k < 6 && h.length > 0; k++) {
            float v = type.widen(h[r.nextInt(h.length)]);
            t.add(v);
            t.add(Math.nextUp(v));
            t.add(Math.nextDown(v));
        }
        return t;
    }

    /**
     * One adversarial row: its half patterns {@code h}, the widened float32 row {@code w} and the half row {@code x} (both
     * at element offset 3), {@code what} to name it in a message; {@code arena} and {@code r} for the check's own use.
     */
    private record Row(DType type, int n, short[] h, MemorySegment w, MemorySegment x, String what, Arena arena,
                       SplittableRandom r) {
    }

    /**
     * Runs {@code check} on every row style of every size, for bf16 and f16, the half row on the heap or off it at
     * random, or both ({@code bothPlacements}).
     */
    private static void forEachRow(long seed, boolean bothPlacements, java.util.function.Consumer<Row> check) {
        SplittableRandom r = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            for (DType type : new DType[] {DType.BF16, DType.F16}) {
                for (int n : SIZES) {
                    for (int style = 0; style < 7; style++) {
                        short[] h = row(type, n, style, r);
                        MemorySegment w = widened(arena, type, h);
                        for (boolean heap : bothPlacements ? new boolean[] {false, true} : new boolean[] {r.nextBoolean()}) {
                            check.accept(new Row(type, n, h, w, halfSegment(arena, h, heap),
                                    type + " n=" + n + " style=" + style + " heap=" + heap, arena, r));
                        }
                    }
                }
            }
        }
    }

    @Test
    void gatherCountAndArgmaxAreTheFloat32Passes() {
        Candidates half = new Candidates();
        Candidates wide = new Candidates();
        int[] checks = {0};
        forEachRow(41, true, row -> {
            DType type = row.type();
            int n = row.n();
            assertEquals(SimdSelectionKernels.argmax(row.w(), 3, n), HalfKeyPasses.argmax(type, row.x(), 3, n),
                    "argmax " + row.what());
            for (float t : thresholds(type, row.h(), row.r())) {
                String what = row.what() + " t=" + t;
                boolean a = SimdSelectionKernels.gather(row.w(), 3, n, t, wide);
                boolean b = HalfKeyPasses.gather(type, row.x(), 3, n, t, half);
                assertEquals(a, b, "gather's NaN answer " + what);
                if (a) {
                    assertEquals(wide.count, half.count, "gather count " + what);
                    assertArrayEquals(Arrays.copyOf(wide.index, wide.count), Arrays.copyOf(half.index, half.count),
                            "gather ids " + what);
                }
                int expected = 0;
                for (short bits : row.h()) {
                    expected += type.widen(bits) >= t ? 1 : 0;
                }
                assertEquals(expected, HalfKeyPasses.countAtLeast(type, row.x(), 3, n, t), "countAtLeast " + what);
                checks[0]++;
            }
        });
        assertTrue(checks[0] > 3000, "checks " + checks[0]);
    }

    @Test
    void rowMaximaAreTheFloat32Passes() {
        double[] wide = new double[2];
        double[] half = new double[2];
        int[] keyed = {0};
        forEachRow(53, false, row -> {
            boolean bf16 = row.type() == DType.BF16;
            int n = row.n();
            String what = row.what();
            float m = RowPasses.max(row.w(), 3, n);
            assertEquals(Float.floatToRawIntBits(m), Float.floatToRawIntBits(SimdHalfKernels.max(bf16, row.x(), 3, n)),
                    "max " + what);
            if (bf16) {
                assertEquals(Float.floatToRawIntBits(m), Float.floatToRawIntBits(HalfDecodingPasses.max(row.x(), 3, n)),
                        "decoding max " + what);
            }
            if (!Float.isNaN(HalfKeyPasses.max(row.type(), row.x(), 3, n))) {
                keyed[0]++;
            }
            RowPasses.maxAndMin(row.w(), 3, n, wide);
            SimdHalfKernels.maxAndMin(bf16, row.x(), 3, n, half);
            assertEquals(Double.doubleToRawLongBits(wide[0]), Double.doubleToRawLongBits(half[0]), "maxAndMin's max " + what);
            assertTrue(wide[1] == half[1], "maxAndMin's live min " + what + ": " + wide[1] + " " + half[1]);
        });
        assertTrue(keyed[0] > 100, "rows the keys decided " + keyed[0]);
    }

    @Test
    void minPGatherKeepsTheFloat32PassesMaximumAndCut() {
        Candidates half = new Candidates();
        Candidates wide = new Candidates();
        int[] finite = {0};
        forEachRow(43, false, row -> {
            int n = row.n();
            for (float[] tr : new float[][] {{1f, 0.05f}, {0.7f, 0.5f}, {1.5f, 1e-6f}, {1f, 1f}, {3f, 0.9f}}) {
                String what = row.what() + " t=" + tr[0] + " p=" + tr[1];
                float a = SimdSelectionKernels.gatherMinP(row.w(), 3, n, tr[0], tr[1], wide);
                float b = HalfKeyPasses.gatherMinP(row.type(), row.x(), 3, n, tr[0], tr[1], half);
                boolean aSpecial = !(Math.abs(a) <= Float.MAX_VALUE);
                assertEquals(aSpecial, !(Math.abs(b) <= Float.MAX_VALUE), "special row " + what + ": " + a + " " + b);
                if (aSpecial) {
                    if (a == Float.NEGATIVE_INFINITY || b == Float.NEGATIVE_INFINITY) {
                        assertEquals(a, b, "every token masked " + what);
                    }
                    continue;
                }
                // ±0 alike: the float32 pass's vectors take +0 over −0 and its scalar tail the first seen, at other
                // places than the key loop's; min-p's cut and weights are the same from either.
                assertTrue(a == b, "maximum " + what + ": " + a + " " + b);
                float cut = WideCut.minPLogit(a, tr[0], tr[1]);
                assertArrayEquals(kept(wide, row.w(), DType.F32, cut), kept(half, row.x(), row.type(), cut),
                        "kept ids " + what);
                finite[0]++;
            }
        });
        assertTrue(finite[0] > 200, "finite rows " + finite[0]);
    }

    private static int[] kept(Candidates c, MemorySegment x, DType type, float cut) {
        return Arrays.stream(Arrays.copyOf(c.index, c.count))
                .filter(i -> HalfSelectionPasses.at(type, x, 3 + i) >= cut).toArray();
    }

    @Test
    void cutMasksAreTheFloat32Masks() {
        int[] checks = {0};
        forEachRow(47, false, row -> {
            int n = row.n();
            SplittableRandom r = row.r();
            MemorySegment wideMask = row.arena().allocate(n + 5);
            MemorySegment halfMask = r.nextBoolean() ? row.arena().allocate(n + 5) : MemorySegment.ofArray(new byte[n + 5]);
            for (float cut : thresholds(row.type(), row.h(), r)) {
                for (int cutIndex : new int[] {-1, 0, n / 2, n - 1, n, Integer.MAX_VALUE, r.nextInt(n + 1)}) {
                    String what = row.what() + " cut=" + cut + "@" + cutIndex;
                    wideMask.fill((byte) 7);
                    halfMask.fill((byte) 7);
                    int a = WideCut.writeMask(DType.F32, row.w(), 3, n, cut, cutIndex, wideMask, 2);
                    int b = WideCut.writeMask(row.type(), row.x(), 3, n, cut, cutIndex, halfMask, 2);
                    assertEquals(a, b, "kept count " + what);
                    assertArrayEquals(wideMask.toArray(ValueLayout.JAVA_BYTE), halfMask.toArray(ValueLayout.JAVA_BYTE),
                            "mask " + what);
                    assertEquals(a, WideCut.writeMask(row.type(), row.x(), 3, n, cut, cutIndex, null, 0),
                            "count without a mask " + what);
                    checks[0]++;
                }
            }
        });
        assertTrue(checks[0] > 5000, "checks " + checks[0]);
    }

    @Test
    void maskedLogitsInTheInputTypeAreTheFloat32OnesNarrowed() {
        int[] checks = {0};
        forEachRow(59, false, row -> {
            int n = row.n();
            DType type = row.type();
            SplittableRandom r = row.r();
            MemorySegment wideOut = row.arena().allocate(4L * n + 8, 4);
            MemorySegment halfOut = r.nextBoolean() ? row.arena().allocate(2L * n + 4, 2)
                    : MemorySegment.ofArray(new short[n + 2]);
            for (float cut : thresholds(type, row.h(), r)) {
                for (int cutIndex : new int[] {-1, 0, n / 2, n - 1, Integer.MAX_VALUE, r.nextInt(n + 1)}) {
                    String what = row.what() + " cut=" + cut + "@" + cutIndex;
                    WideCut.maskLogits(row.w(), 3, n, cut, cutIndex, wideOut, 1);
                    WideCut.maskLogits(type, row.x(), 3, n, cut, cutIndex, type, halfOut, 1);
                    for (int i = 0; i < n; i++) {
                        assertEquals(type.narrow(wideOut.getAtIndex(F32, 1 + i)), halfOut.getAtIndex(I16, 1 + i),
                                what + " at " + i);
                    }
                    checks[0]++;
                }
            }
        });
        assertTrue(checks[0] > 5000, "checks " + checks[0]);
    }

    @Test
    void keysOrderEveryPatternAsItsValue() {
        for (DType type : new DType[] {DType.BF16, DType.F16}) {
            int inf = HalfKeyPasses.infBits(type);
            for (int a = 0; a < 0x10000; a++) {
                float va = type.widen((short) a);
                if (Float.isNaN(va)) {
                    continue;
                }
                assertEquals(a, HalfKeyPasses.key(HalfKeyPasses.key(a)) & 0xFFFF, "key is an involution");
                assertEquals(Float.floatToRawIntBits(va), Float.floatToRawIntBits(HalfKeyPasses.value(type, HalfKeyPasses.key(a))));
                // keyAtLeast on the value itself is its key, or −0's for a zero (both zeros are ≥ 0)
                int expected = va == 0 ? -1 : HalfKeyPasses.key(a);
                assertEquals(expected, HalfKeyPasses.keyAtLeast(type, va), type + " keyAtLeast " + va);
                int b = (a * 40503 + 7) & 0xFFFF; // a pseudo-random partner
                float vb = type.widen((short) b);
                if (!Float.isNaN(vb) && va != vb) {
                    assertEquals(va < vb, HalfKeyPasses.key(a) < HalfKeyPasses.key(b), type + " order " + va + " " + vb);
                }
            }
            assertEquals(HalfKeyPasses.key(inf) + 1, HalfKeyPasses.keyAtLeast(type, Float.NaN));
            assertEquals(HalfKeyPasses.key(inf) + 1, HalfKeyPasses.keyAbove(type, Float.POSITIVE_INFINITY));
            assertEquals(HalfKeyPasses.key(inf), HalfKeyPasses.keyAtLeast(type, Float.MAX_VALUE));
        }
    }
}
