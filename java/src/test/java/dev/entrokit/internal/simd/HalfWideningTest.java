package dev.entrokit.internal.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.entrokit.DType;
import dev.entrokit.internal.HalfKernels;
import dev.entrokit.internal.scalar.ScalarHalfKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The row conversions of {@link HalfKernels#widen} / {@link HalfKernels#narrow} on both CPU backends against
 * {@link DType#widen} / {@link DType#narrow}, bit for bit (NaN payloads included, unlike {@link HalfVectorsTest}
 * where only NaN-ness counts): widening on all 2^16 patterns of both half types; narrowing on random bit patterns,
 * every halfway point between neighbouring half values and the floats on either side of it, the overflow and
 * subnormal boundaries, and NaNs with random payloads; every set also with its NaNs left out, since a binary16 row
 * holding a NaN takes the scalar loop. Heap and off-heap segments, offsets that are not multiples of
 * the vector length, and every length up to a few vectors (the scalar tails). Re-run per SIMD width.
 */
@Tag("simd-width")
class HalfWideningTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final HalfKernels[] BACKENDS = {new SimdHalfKernels(), ScalarHalfKernels.INSTANCE};
    private static final DType[] HALVES = {DType.BF16, DType.F16};

    private static void assertWidens(HalfKernels k, DType type, short[] bits, long srcOff, long dstOff, boolean heapSrc) {
        try (Arena arena = Arena.ofConfined()) {
            int n = bits.length;
            MemorySegment src = heapSrc ? MemorySegment.ofArray(new short[(int) srcOff + n])
                    : arena.allocate((srcOff + n) * 2, 64);
            for (int i = 0; i < n; i++) {
                src.setAtIndex(I16, srcOff + i, bits[i]);
            }
            MemorySegment dst = arena.allocate((dstOff + n) * 4, 64);
            k.widen(type, src, srcOff, dst, dstOff, n);
            for (int i = 0; i < n; i++) {
                int expected = Float.floatToRawIntBits(type.widen(bits[i]));
                int actual = Float.floatToRawIntBits(dst.getAtIndex(F32, dstOff + i));
                if (expected != actual) {
                    assertEquals(Integer.toHexString(expected), Integer.toHexString(actual),
                            k.getClass().getSimpleName() + " " + type + " widen 0x" + Integer.toHexString(bits[i] & 0xFFFF)
                                    + " at " + i + " of " + n + " (heap source " + heapSrc + ")");
                }
            }
        }
    }

    private static void assertNarrows(HalfKernels k, DType type, float[] values, long srcOff, long dstOff, boolean heapDst) {
        try (Arena arena = Arena.ofConfined()) {
            int n = values.length;
            MemorySegment src = arena.allocate((srcOff + n) * 4, 64);
            for (int i = 0; i < n; i++) {
                src.setAtIndex(F32, srcOff + i, values[i]);
            }
            MemorySegment dst = heapDst ? MemorySegment.ofArray(new short[(int) dstOff + n])
                    : arena.allocate((dstOff + n) * 2, 64);
            k.narrow(type, src, srcOff, dst, dstOff, n);
            for (int i = 0; i < n; i++) {
                short expected = type.narrow(values[i]);
                short actual = dst.getAtIndex(I16, dstOff + i);
                if (expected != actual) {
                    assertEquals(Integer.toHexString(expected & 0xFFFF), Integer.toHexString(actual & 0xFFFF),
                            k.getClass().getSimpleName() + " " + type + " narrow " + values[i] + " (0x"
                                    + Integer.toHexString(Float.floatToRawIntBits(values[i])) + ") at " + i + " of " + n
                                    + " (heap destination " + heapDst + ")");
                }
            }
        }
    }

    @Test
    void widensEveryPatternOfBothTypesBitwise() {
        short[] all = new short[65536];
        for (int i = 0; i < all.length; i++) {
            all[i] = (short) i;
        }
        for (HalfKernels k : BACKENDS) {
            for (DType type : HALVES) {
                // A row holding a NaN may take a different path from one without (binary16 NaNs go to the scalar
                // loop), so the patterns are converted both as one row and with the NaNs left out.
                short[] noNaN = withoutNaNs(type, all);
                assertWidens(k, type, all, 0, 0, false);
                assertWidens(k, type, noNaN, 0, 0, false);
                assertWidens(k, type, noNaN, 3, 5, false);
                assertWidens(k, type, noNaN, 7, 1, true);
                assertWidens(k, type, all, 7, 1, true);
            }
        }
    }

    private static short[] withoutNaNs(DType type, short[] bits) {
        int m = 0;
        short[] out = new short[bits.length];
        for (short b : bits) {
            if (!Float.isNaN(type.widen(b))) {
                out[m++] = b;
            }
        }
        return java.util.Arrays.copyOf(out, m);
    }

    private static float[] withoutNaNs(float[] values) {
        int m = 0;
        float[] out = new float[values.length];
        for (float v : values) {
            if (!Float.isNaN(v)) {
                out[m++] = v;
            }
        }
        return java.util.Arrays.copyOf(out, m);
    }

    @Test
    void widensEveryShortLengthIncludingTheTails() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int n = 0; n <= 4 * SimdConstants.L + 3; n++) {
            short[] bits = new short[n];
            for (int i = 0; i < n; i++) {
                bits[i] = (short) rnd.nextInt();
                if (n % 4 != 0 && (bits[i] & 0x7FFF) > 0x7C00) {
                    bits[i] = (short) (bits[i] & 0x83FF); // three lengths in four are NaN-free, one keeps them
                }
            }
            for (HalfKernels k : BACKENDS) {
                for (DType type : HALVES) {
                    assertWidens(k, type, bits, n % 3, n % 5, n % 2 == 0);
                }
            }
        }
    }

    /** Random bit patterns (every class of float: NaNs with random payloads, subnormals, huge values), then edge cases. */
    private static float[] narrowingCases(DType type, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        java.util.ArrayList<Float> v = new java.util.ArrayList<>();
        for (int i = 0; i < 1 << 20; i++) {
            v.add(Float.intBitsToFloat(rnd.nextInt()));
        }
        // Magnitudes where the half type is finite, where rounding decides everything.
        float top = type == DType.BF16 ? Float.MAX_VALUE : 70000f;
        for (int i = 0; i < 1 << 18; i++) {
            v.add((float) (rnd.nextBoolean() ? 1 : -1) * (float) Math.pow(2, rnd.nextDouble(-30, Math.log(top) / Math.log(2))));
        }
        // Every halfway point between neighbouring finite half values, and the floats just on either side.
        for (int h = 0; h < 0x7FFF; h++) {
            float a = type.widen((short) h);
            float b = type.widen((short) (h + 1));
            if (Float.isNaN(a) || Float.isNaN(b) || Float.isInfinite(a)) {
                continue;
            }
            double next = Float.isInfinite(b) ? (type == DType.BF16 ? 0x1p128 : 65536.0) : b;
            float mid = (float) ((a + next) / 2);
            for (float m : new float[] {mid, Math.nextDown(mid), Math.nextUp(mid)}) {
                v.add(m);
                v.add(-m);
            }
        }
        float[] special = {0f, -0f, Float.NaN, -Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 65504f, 65519f,
            65519.996f, 65520f, 65520.004f, 65536f, 0x1p-14f, 0x1p-24f, 0x1p-25f, Math.nextUp(0x1p-25f), 0x1.8p-24f,
            0x1p-15f, 0x1.ff8p-15f, 1f, -1f, Math.nextUp(1f), Math.nextDown(1f)};
        for (float s : special) {
            v.add(s);
        }
        // NaNs: quiet and signalling, both signs, payloads in every bit position.
        for (int bit = 0; bit < 23; bit++) {
            v.add(Float.intBitsToFloat(0x7F800000 | (1 << bit)));
            v.add(Float.intBitsToFloat(0xFF800000 | (1 << bit)));
            v.add(Float.intBitsToFloat(0x7FC00000 | (1 << bit)));
        }
        for (int i = 0; i < 4096; i++) {
            v.add(Float.intBitsToFloat((rnd.nextBoolean() ? 0xFF800000 : 0x7F800000) | (1 + rnd.nextInt(0x7FFFFF))));
        }
        float[] out = new float[v.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.get(i);
        }
        return out;
    }

    @Test
    void narrowsLikeDTypeNarrowBitwise() {
        for (DType type : HALVES) {
            float[] cases = narrowingCases(type, type.ordinal() * 31L + 5);
            float[] noNaN = withoutNaNs(cases);
            for (HalfKernels k : BACKENDS) {
                assertNarrows(k, type, cases, 0, 0, false);
                assertNarrows(k, type, noNaN, 0, 0, false);
                assertNarrows(k, type, noNaN, 5, 3, false);
                assertNarrows(k, type, noNaN, 1, 9, true);
                assertNarrows(k, type, cases, 1, 9, true);
            }
        }
    }

    @Test
    void narrowsEveryShortLengthIncludingTheTails() {
        SplittableRandom rnd = new SplittableRandom(13);
        for (int n = 0; n <= 4 * SimdConstants.L + 3; n++) {
            float[] values = new float[n];
            for (int i = 0; i < n; i++) {
                values[i] = Float.intBitsToFloat(rnd.nextInt());
                if (n % 4 != 0 && Float.isNaN(values[i])) {
                    values[i] = 1f / (i + 1); // three lengths in four are NaN-free (the vector path), one keeps them
                }
            }
            for (HalfKernels k : BACKENDS) {
                for (DType type : HALVES) {
                    assertNarrows(k, type, values, n % 5, n % 3, n % 2 == 1);
                }
            }
        }
    }
}
