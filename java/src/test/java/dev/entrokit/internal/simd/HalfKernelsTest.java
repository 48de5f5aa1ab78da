package dev.entrokit.internal.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.entrokit.DType;
import dev.entrokit.internal.SoftmaxKernels;
import dev.entrokit.internal.HalfKernels;
import dev.entrokit.internal.ScoringKernels;
import dev.entrokit.internal.scalar.ScalarHalfKernels;
import dev.entrokit.internal.scalar.ScalarSoftmaxKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The half-row kernels against their float32 twins on the widened row: the SIMD ones against
 * {@link SimdSoftmaxKernels}, the scalar ones against {@link ScalarSoftmaxKernels}, bitwise (NaN only
 * as NaN), for every op, float32 and half outputs (a half output must be the float32 output rounded by
 * {@link ScalarHalfKernels#narrow}), heap and off-heap inputs and outputs at odd element offsets, in place, on
 * adversarial rows of odd sizes, at every SIMD width (the class is re-run per width). Greedy ({@code argmax}) of both
 * backends against {@code SimdSelectionKernels.argmax} on the widened row, and the token log-probability against each
 * backend's scoring kernel ({@code tokenLogprob} reads a half row a widened block at a time on SIMD) (the scalar one's twin is private; both give
 * the lowest index of the largest logit, −1 for a special row).
 */
@Tag("simd-width")
class HalfKernelsTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int L = SimdConstants.L;
    private static final int[] SIZES = {1, 2, 3, 5, L - 1, L, L + 1, 2 * L - 1, 2 * L + 1, 37, 67, 1000,
        2 * SimdConstants.BLOCK + 3};
    /** A row of many blocks, for the cases named in {@link #LONG_CASES} only (the suite runs this class per width). */
    private static final int LONG_ROW = 20011;
    private static final List<String> LONG_CASES = List.of("gaussian", "masked", "huge and tiny", "masked first blocks",
            "floor first, live later");
    private static final float[] INV_TS = {1f, 1f / 0.7f, 8f};
    private static final long X_OFF = 3;
    private static final long OUT_OFF = 5;

    private record Case(String name, IntFunction<float[]> row) {
    }

    /** Rows as float32 before rounding to the half type; what the kernels see is the rounded row. */
    private static List<Case> cases(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Case> c = new ArrayList<>();
        c.add(new Case("gaussian", n -> fill(n, i -> (float) (r.nextGaussian() * 3))));
        c.add(new Case("masked", n -> fill(n, i -> r.nextInt(10) == 0 ? Float.NEGATIVE_INFINITY
                : (float) (r.nextGaussian() * 3))));
        c.add(new Case("all masked", n -> fill(n, i -> Float.NEGATIVE_INFINITY)));
        c.add(new Case("one live", n -> {
            float[] x = fill(n, i -> Float.NEGATIVE_INFINITY);
            x[r.nextInt(n)] = (float) r.nextGaussian();
            return x;
        }));
        c.add(new Case("NaN", n -> {
            float[] x = fill(n, i -> (float) r.nextGaussian());
            x[r.nextInt(n)] = Float.NaN;
            return x;
        }));
        c.add(new Case("+inf", n -> {
            float[] x = fill(n, i -> (float) r.nextGaussian());
            x[r.nextInt(n)] = Float.POSITIVE_INFINITY;
            return x;
        }));
        c.add(new Case("all tied", n -> fill(n, i -> 1.5f)));
        c.add(new Case("tied maxima", n -> {
            float[] x = fill(n, i -> (float) r.nextGaussian());
            for (int k = 0; k < 3; k++) {
                x[r.nextInt(n)] = 9f;
            }
            return x;
        }));
        c.add(new Case("±65504", n -> fill(n, i -> switch (i % 3) {
            case 0 -> 65504f;
            case 1 -> -65504f;
            default -> (float) r.nextGaussian();
        })));
        // At binary16's floor a masked token scaled to −2^16 is within 80 of the maximum, so its exp would not
        // vanish: the SIMD kernels read such F16 rows widened.
        c.add(new Case("masked at the f16 floor", n -> fill(n, i -> r.nextInt(4) == 0 ? Float.NEGATIVE_INFINITY
                : r.nextBoolean() ? -65504f : -65472f)));
        // A streaming pass's first blocks with nothing live (its running maximum stays −inf), and first blocks near
        // binary16's floor with masked tokens before a live block (an early running maximum too low for the
        // scaled read while the row's maximum is not).
        c.add(new Case("masked first blocks", n -> fill(n, i -> i < n / 2 ? Float.NEGATIVE_INFINITY
                : (float) (r.nextGaussian() * 3))));
        c.add(new Case("floor first, live later", n -> fill(n, i -> i >= n / 2 ? (float) (r.nextGaussian() * 3)
                : r.nextInt(4) == 0 ? Float.NEGATIVE_INFINITY : -65504f)));
        c.add(new Case("f16 subnormals", n -> fill(n, i -> (float) (r.nextGaussian() * 3e-6))));
        c.add(new Case("bf16 subnormals", n -> fill(n, i -> (float) (r.nextGaussian() * 1e-39))));
        // Uniform, so that no value overflows float32; binary16 rounds them to ±inf (NaN rows, masked tokens).
        c.add(new Case("huge", n -> fill(n, i -> (float) (r.nextDouble(-1, 1) * 1e38))));
        c.add(new Case("huge and tiny", n -> fill(n, i -> i % 2 == 0 ? (float) (r.nextDouble(-1, 1) * 3.3e38)
                : (float) (r.nextGaussian() * 1e-30))));
        c.add(new Case("signed zeros", n -> fill(n, i -> r.nextBoolean() ? 0f : -0f)));
        c.add(new Case("wide spread", n -> fill(n, i -> (float) (r.nextGaussian() * 2000))));
        return c;
    }

    private interface IndexFloat {
        float at(int i);
    }

    private static float[] fill(int n, IndexFloat f) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = f.at(i);
        }
        return x;
    }

    private static String bits(float f) {
        return f + " (0x" + Integer.toHexString(Float.floatToRawIntBits(f)) + ")";
    }

    private static void same(double expected, double actual, String what) {
        assertEquals(Double.doubleToLongBits(expected), Double.doubleToLongBits(actual),
                () -> what + ": expected " + expected + ", got " + actual);
    }

    private static void same(float expected, float actual, String what) {
        assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(actual),
                () -> what + ": expected " + bits(expected) + ", got " + bits(actual));
    }

    /** A segment of {@code n} elements of {@code type} after {@code off} padding elements, heap or off-heap. */
    private static MemorySegment segment(Arena arena, boolean heap, DType type, long off, int n) {
        long elements = off + n;
        if (type == DType.F32) {
            return heap ? MemorySegment.ofArray(new float[(int) elements]) : arena.allocate(elements * 4, 64);
        }
        return heap ? MemorySegment.ofArray(new short[(int) elements]) : arena.allocate(elements * 2, 64);
    }

    private static float read(DType type, MemorySegment seg, long off, int i) {
        return type == DType.F32 ? seg.getAtIndex(F32, off + i) : ScalarHalfKernels.widen(type, seg.getAtIndex(I16, off + i));
    }

    /** One backend's pair of kernels, run on one row and compared. */
    private record Twins(String backend, SoftmaxKernels f32, HalfKernels half, ScoringKernels scoring) {
    }

    /** Both backends' twins; in a width re-run only the SIMD ones (the scalar ones do not depend on the width). */
    private static List<Twins> twins() {
        Twins simd = new Twins("simd", new SimdSoftmaxKernels(), new SimdHalfKernels(), new SimdScoringKernels());
        if (System.getProperty("entrokit.simd.bits") != null) {
            return List.of(simd);
        }
        return List.of(simd, new Twins("scalar", new ScalarSoftmaxKernels(), ScalarHalfKernels.INSTANCE,
                new dev.entrokit.internal.scalar.ScalarScoringKernels()));
    }

    /** Compares every op of {@code k} on the half row {@code x} against its float32 twin on {@code wide}. */
    private static void compare(Twins k, Arena arena, DType type, MemorySegment x, MemorySegment wide, int n, float invT,
                                boolean heapOut, String where) {
        same(k.f32().logSumExp(wide, 0, n, invT), k.half().logSumExp(type, x, X_OFF, n, invT), where + " logSumExp");
        same(k.f32().entropy(wide, 0, n, invT, null, 0, 0f), k.half().entropy(type, x, X_OFF, n, invT),
                where + " entropy");
        assertEquals(SimdSelectionKernels.argmax(wide, 0, n), k.half().argmax(type, x, X_OFF, n), where + " argmax");
        for (int id : new int[] {0, n / 2, n - 1}) {
            same(k.scoring().tokenLogprob(wide, 0, n, id), k.half().tokenLogprob(type, x, X_OFF, n, id),
                    where + " tokenLogprob id " + id);
        }
        MemorySegment ref = arena.allocate((long) n * 4, 64);
        double[] refStats = new double[3];
        double[] stats = new double[3];
        for (int op = 0; op < 4; op++) {
            String name = switch (op) {
                case 0 -> "softmax";
                case 1 -> "logSoftmax";
                case 2 -> "softmaxStats";
                default -> "logSoftmaxStats";
            };
            switch (op) {
                case 0 -> k.f32().softmax(wide, 0, ref, 0, n, invT);
                case 1 -> k.f32().logSoftmax(wide, 0, ref, 0, n, invT);
                default -> k.f32().softmaxStats(wide, 0, ref, 0, n, invT, op == 3, refStats);
            }
            for (DType outType : new DType[] {DType.F32, type}) {
                MemorySegment out = segment(arena, heapOut, outType, OUT_OFF, n);
                switch (op) {
                    case 0 -> k.half().softmax(type, x, X_OFF, outType, out, OUT_OFF, n, invT);
                    case 1 -> k.half().logSoftmax(type, x, X_OFF, outType, out, OUT_OFF, n, invT);
                    default -> k.half().softmaxStats(type, x, X_OFF, outType, out, OUT_OFF, n, invT, op == 3, stats);
                }
                String what = where + " " + name + " → " + outType;
                if (op >= 2) {
                    for (int s = 0; s < 3; s++) {
                        same(refStats[s], stats[s], what + " stats[" + s + "]");
                    }
                }
                for (int i = 0; i < n; i++) {
                    float expected = ref.getAtIndex(F32, i);
                    if (outType == DType.F32) {
                        float got = out.getAtIndex(F32, OUT_OFF + i);
                        if (Float.floatToIntBits(expected) != Float.floatToIntBits(got)) {
                            same(expected, got, what + " [" + i + "]");
                        }
                    } else {
                        short h = out.getAtIndex(I16, OUT_OFF + i);
                        short e = ScalarHalfKernels.narrow(type, expected);
                        if (h != e) {
                            fail(what + " [" + i + "]: expected the rounding of " + bits(expected) + ", 0x"
                                    + Integer.toHexString(e & 0xFFFF) + ", got 0x" + Integer.toHexString(h & 0xFFFF));
                        }
                    }
                }
            }
        }
    }

    private static void run(DType type, long seed) {
        int special = 0;
        int extreme = 0;
        try (Arena arena = Arena.ofConfined()) {
            for (Twins k : twins()) {
                for (Case c : cases(seed)) {
                    int[] sizes = SIZES;
                    if (LONG_CASES.contains(c.name())) {
                        sizes = java.util.Arrays.copyOf(SIZES, SIZES.length + 1);
                        sizes[SIZES.length] = LONG_ROW;
                    }
                    for (int n : sizes) {
                        float[] raw = c.row().apply(n);
                        short[] h = new short[n];
                        for (int i = 0; i < n; i++) {
                            h[i] = ScalarHalfKernels.narrow(type, raw[i]);
                        }
                        MemorySegment wide = arena.allocate((long) n * 4, 64);
                        float hi = Float.NEGATIVE_INFINITY;
                        float lo = Float.POSITIVE_INFINITY;
                        for (int i = 0; i < n; i++) {
                            float w = ScalarHalfKernels.widen(type, h[i]);
                            wide.setAtIndex(F32, i, w);
                            hi = Math.max(hi, w);
                            lo = w == Float.NEGATIVE_INFINITY ? lo : Math.min(lo, w);
                        }
                        special += Float.isNaN(hi) || hi == Float.POSITIVE_INFINITY || hi == Float.NEGATIVE_INFINITY ? 1 : 0;
                        // Rows whose entropy comes from the float64 fallback at the largest 1/T.
                        extreme += (double) hi - lo > 1e4 / INV_TS[INV_TS.length - 1] && Float.isFinite(hi) ? 1 : 0;
                        for (boolean heap : new boolean[] {false, true}) {
                            MemorySegment x = segment(arena, heap, type, X_OFF, n);
                            for (int i = 0; i < n; i++) {
                                x.setAtIndex(I16, X_OFF + i, h[i]);
                            }
                            for (float invT : INV_TS) {
                                String where = k.backend() + " " + type + " '" + c.name() + "' n=" + n + " 1/T=" + invT
                                        + (heap ? " heap" : " native");
                                compare(k, arena, type, x, wide, n, invT, heap, where);
                            }
                        }
                    }
                }
            }
        }
        assertTrue(special > 0 && extreme > 0, "the cases must reach special rows (" + special
                + ") and the float64 entropy of extreme rows (" + extreme + ")");
    }

    @Test
    void bf16RowsGiveTheFloat32KernelsBitsOnTheWidenedRow() {
        run(DType.BF16, 0xB16);
    }

    @Test
    void f16RowsGiveTheFloat32KernelsBitsOnTheWidenedRow() {
        run(DType.F16, 0xF16);
    }

    /**
     * The binary16 streaming pass of the token log-probability on its own: it takes the rows that should stay on its
     * scaled read (leading blocks with nothing live; a floor-level start before live blocks), with the float32 pass's
     * bits on the widened row, and returns NaN, for the caller's float32 pass, on rows it must not read scaled: a NaN
     * of either sign, +inf, a first reference at binary16's floor.
     */
    @Test
    void theF16StreamingPassTakesWhatItReadsExactlyAndHandsBackTheRest() {
        int n = LONG_ROW;
        SplittableRandom r = new SplittableRandom(0x5F16);
        float[] maskedFirst = fill(n, i -> i < n / 2 ? Float.NEGATIVE_INFINITY : (float) (r.nextGaussian() * 3));
        float[] floorFirst = fill(n, i -> i >= n / 2 ? (float) r.nextGaussian()
                : r.nextInt(4) == 0 ? Float.NEGATIVE_INFINITY : -60000f);
        float[] negativeNaN = fill(n, i -> (float) r.nextGaussian());
        negativeNaN[n / 3] = Float.intBitsToFloat(0xFFC00000);
        float[] plusInf = fill(n, i -> (float) r.nextGaussian());
        plusInf[n / 5] = Float.POSITIVE_INFINITY;
        float[] floorOnly = fill(n, i -> r.nextInt(4) == 0 ? Float.NEGATIVE_INFINITY : -65504f);
        Workspace ws = Workspace.get();
        try (Arena arena = Arena.ofConfined()) {
            for (float[] x : List.of(maskedFirst, floorFirst)) {
                short[] h = new short[n];
                float[] wide = new float[n];
                for (int i = 0; i < n; i++) {
                    h[i] = Float.floatToFloat16(x[i]);
                    wide[i] = Float.float16ToFloat(h[i]);
                }
                MemorySegment hs = arena.allocateFrom(ValueLayout.JAVA_SHORT, h);
                MemorySegment ws32 = arena.allocateFrom(ValueLayout.JAVA_FLOAT, wide);
                double expected = RowPasses.maxSumExpStreaming(ws32, 0, n, 1f, ws);
                float expectedMax = ws.pairMax[0];
                double actual = SimdHalfKernels.maxSumExpStreaming(false, hs, 0, n, ws);
                assertTrue(!Double.isNaN(actual), "the scaled read refused a row it reads exactly");
                same(expected, actual, "streaming sum");
                same(expectedMax, ws.pairMax[0], "streaming maximum");
            }
            for (float[] x : List.of(negativeNaN, plusInf, floorOnly)) {
                short[] h = new short[n];
                for (int i = 0; i < n; i++) {
                    h[i] = Float.floatToFloat16(x[i]);
                }
                double d = SimdHalfKernels.maxSumExpStreaming(false, arena.allocateFrom(ValueLayout.JAVA_SHORT, h), 0, n,
                        ws);
                assertTrue(Double.isNaN(d), "the scaled read took a row it cannot read: " + d);
            }
        }
    }

    /** In place ({@code out} is {@code x}): the same bits as out of place, for every op that writes a row. */
    @Test
    void inPlaceHalfOutputsEqualOutOfPlaceOnes() {
        int n = 3 * L + 7 + SimdConstants.BLOCK;
        try (Arena arena = Arena.ofConfined()) {
            for (Twins k : twins()) {
                for (DType type : new DType[] {DType.BF16, DType.F16}) {
                    SplittableRandom r = new SplittableRandom(7);
                    short[] h = new short[n];
                    for (int i = 0; i < n; i++) {
                        h[i] = ScalarHalfKernels.narrow(type, i % 11 == 0 ? Float.NEGATIVE_INFINITY : (float) (r.nextGaussian() * 4));
                    }
                    for (int op = 0; op < 4; op++) {
                        for (boolean heap : new boolean[] {false, true}) {
                            MemorySegment x = segment(arena, heap, type, X_OFF, n);
                            MemorySegment separate = segment(arena, heap, type, X_OFF, n);
                            for (int i = 0; i < n; i++) {
                                x.setAtIndex(I16, X_OFF + i, h[i]);
                            }
                            double[] s1 = new double[3];
                            double[] s2 = new double[3];
                            switch (op) {
                                case 0 -> {
                                    k.half().softmax(type, x, X_OFF, type, separate, X_OFF, n, 1f);
                                    k.half().softmax(type, x, X_OFF, type, x, X_OFF, n, 1f);
                                }
                                case 1 -> {
                                    k.half().logSoftmax(type, x, X_OFF, type, separate, X_OFF, n, 1f);
                                    k.half().logSoftmax(type, x, X_OFF, type, x, X_OFF, n, 1f);
                                }
                                default -> {
                                    k.half().softmaxStats(type, x, X_OFF, type, separate, X_OFF, n, 1f, op == 3, s1);
                                    k.half().softmaxStats(type, x, X_OFF, type, x, X_OFF, n, 1f, op == 3, s2);
                                    for (int s = 0; s < 3; s++) {
                                        same(s1[s], s2[s], k.backend() + " " + type + " op " + op + " stats[" + s + "]");
                                    }
                                }
                            }
                            for (int i = 0; i < n; i++) {
                                assertEquals(separate.getAtIndex(I16, X_OFF + i), x.getAtIndex(I16, X_OFF + i),
                                        k.backend() + " " + type + " op " + op + (heap ? " heap" : " native") + " [" + i + "]");
                            }
                            assertTrue(read(type, x, X_OFF, n - 1) <= (op % 2 == 0 ? 1f : 0f), "an output, not the input, is there");
                        }
                    }
                }
            }
        }
    }
}
