package dev.entrokit.internal.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.DType;
import dev.entrokit.internal.scalar.ScalarHalfKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The in-register conversions of {@link HalfVectors} (and the scalar ones of {@link ScalarHalfKernels} the
 * kernels' tails use): widening on all 2^16 bit patterns against {@link Float#float16ToFloat} and
 * {@code bits << 16}; rounding against {@link Float#floatToFloat16} and a float64 round-to-nearest-even reference
 * for bfloat16, on random floats, every halfway point between neighbouring half values, and the neighbours of those
 * halfway points. NaN inputs must give NaN with their sign; the payload is not part of the contract. Heap and
 * off-heap segments, at every SIMD width (the class is re-run per width).
 */
@Tag("simd-width")
class HalfVectorsTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int L = SimdConstants.L;

    /** {@code count} floats widened from the half bits in {@code seg} by the vector load, {@code L} at a time. */
    private static float[] widen(boolean bf16, MemorySegment seg, int count) {
        float[] out = new float[count];
        for (int i = 0; i < count; i += L) {
            HalfVectors.load(bf16, seg, i).intoArray(out, i);
        }
        return out;
    }

    /** The vector rounding of {@code values} (a multiple of {@code L} long) into {@code seg}, read back. */
    private static short[] narrow(boolean bf16, float[] values, MemorySegment seg) {
        for (int i = 0; i < values.length; i += L) {
            HalfVectors.store(bf16, jdk.incubator.vector.FloatVector.fromArray(SimdConstants.F, values, i), seg, i);
        }
        short[] out = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = seg.getAtIndex(I16, i);
        }
        return out;
    }

    private static MemorySegment[] segments(Arena arena, int shorts) {
        return new MemorySegment[] {MemorySegment.ofArray(new short[shorts]), arena.allocate((long) shorts * 2, 64)};
    }

    private static void assertSameFloat(float expected, float actual, String what) {
        if (Float.isNaN(expected)) {
            assertTrue(Float.isNaN(actual), what + ": expected NaN, got " + actual);
            assertEquals(Float.floatToRawIntBits(expected) < 0, Float.floatToRawIntBits(actual) < 0, what + ": NaN sign");
        } else {
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual),
                    what + ": expected " + expected + ", got " + actual);
        }
    }

    private static void assertSameHalf(DType type, short expected, short actual, String what) {
        float e = ScalarHalfKernels.widen(type, expected);
        float a = ScalarHalfKernels.widen(type, actual);
        if (Float.isNaN(e)) {
            assertTrue(Float.isNaN(a), what + ": expected a NaN, got 0x" + Integer.toHexString(actual & 0xFFFF));
            assertEquals(expected < 0, actual < 0, what + ": NaN sign");
        } else {
            assertEquals(expected, actual, () -> what + ": expected 0x" + Integer.toHexString(expected & 0xFFFF)
                    + ", got 0x" + Integer.toHexString(actual & 0xFFFF));
        }
    }

    @Test
    void widensEveryBf16AndF16PatternExactly() {
        try (Arena arena = Arena.ofConfined()) {
            for (MemorySegment seg : segments(arena, 1 << 16)) {
                for (int h = 0; h < 1 << 16; h++) {
                    seg.setAtIndex(I16, h, (short) h);
                }
                float[] bf = widen(true, seg, 1 << 16);
                float[] f16 = widen(false, seg, 1 << 16);
                for (int h = 0; h < 1 << 16; h++) {
                    String at = (seg.isNative() ? "native" : "heap") + " 0x" + Integer.toHexString(h);
                    // bfloat16 widening is a bit move: exact for every pattern, NaN payloads included.
                    assertEquals(h << 16, Float.floatToRawIntBits(bf[h]), "bf16 " + at);
                    assertEquals(h << 16, Float.floatToRawIntBits(ScalarHalfKernels.fromBf16((short) h)), "bf16 scalar " + at);
                    assertSameFloat(Float.float16ToFloat((short) h), f16[h], "f16 " + at);
                }
            }
        }
    }

    @Test
    void roundTripsEveryNonNaNPattern() {
        try (Arena arena = Arena.ofConfined()) {
            for (DType type : new DType[] {DType.BF16, DType.F16}) {
                boolean bf16 = type == DType.BF16;
                float[] wide = new float[1 << 16];
                for (int h = 0; h < 1 << 16; h++) {
                    wide[h] = ScalarHalfKernels.widen(type, (short) h);
                }
                for (MemorySegment seg : segments(arena, 1 << 16)) {
                    short[] back = narrow(bf16, wide, seg);
                    for (int h = 0; h < 1 << 16; h++) {
                        assertSameHalf(type, (short) h, back[h], type + " round trip 0x" + Integer.toHexString(h));
                        assertSameHalf(type, (short) h, ScalarHalfKernels.narrow(type, wide[h]),
                                type + " scalar round trip 0x" + Integer.toHexString(h));
                    }
                }
            }
        }
    }

    /** bfloat16 rounding from the definition: the nearer of the two neighbours in float64, ties to the even one. */
    static short bf16Reference(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x7FC0); // a NaN of the same sign; only NaN-ness and sign are compared
        }
        int down = bits >>> 16; // toward zero
        if ((bits & 0xFFFF) == 0) {
            return (short) down;
        }
        int up = down + 1; // away from zero; past the largest finite value it is ±inf, taken as ±2^128
        double v = f;
        double lo = Float.intBitsToFloat(down << 16);
        float upF = Float.intBitsToFloat(up << 16);
        double hi = Float.isInfinite(upF) ? Math.copySign(0x1p128, v) : upF;
        double dLo = Math.abs(v - lo);
        double dHi = Math.abs(hi - v);
        if (dLo < dHi) {
            return (short) down;
        }
        if (dHi < dLo) {
            return (short) up;
        }
        return (short) ((down & 1) == 0 ? down : up);
    }

    /** Halfway points between neighbouring half values of {@code type}, their float neighbours, and random floats. */
    private static float[] roundingCases(DType type, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int halves = 1 << 16;
        int random = 1 << 18;
        float[] v = new float[halves * 3 + random + 2 * L];
        int k = 0;
        for (int h = 0; h < halves; h++) {
            float a = ScalarHalfKernels.widen(type, (short) h);
            float b = ScalarHalfKernels.widen(type, (short) (h + 1));
            if (Float.isNaN(a) || Float.isNaN(b) || Float.isInfinite(a)) {
                a = (float) r.nextGaussian();
                b = a;
            }
            // Sign-magnitude: h + 1 is the next value away from zero; past the largest finite value the halfway
            // point is where the rounding overflows (65520 for binary16), computed in double.
            double next = Float.isInfinite(b) ? (type == DType.BF16 ? Math.copySign(0x1p128, a) : Math.copySign(65536.0, a)) : b;
            float mid = (float) ((a + next) / 2);
            v[k++] = mid;
            v[k++] = Math.nextUp(mid);
            v[k++] = Math.nextDown(mid);
        }
        for (int i = 0; i < random; i++) {
            v[k++] = switch (i % 4) {
                case 0 -> Float.intBitsToFloat(r.nextInt());
                case 1 -> (float) (r.nextGaussian() * 1e4);
                case 2 -> (float) (r.nextGaussian() * 1e-6);
                default -> (float) (r.nextGaussian() * Math.scalb(1.0, r.nextInt(-150, 128)));
            };
        }
        float[] special = {0f, -0f, Float.NaN, -Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 65504f, 65519.996f,
            65520f, -65520f, 0x1p-24f, 0x1p-25f, Math.nextUp(0x1p-25f), 0x1.8p-24f, 0x1p-14f,
            Float.intBitsToFloat(0x7F800001), Float.intBitsToFloat(0xFFC00001), Float.intBitsToFloat(0x7F7F8000),
            Float.intBitsToFloat(0x7F7FFFFF), Float.intBitsToFloat(0x00008000), Float.intBitsToFloat(0x00018000)};
        while (k < v.length) {
            v[k] = special[k % special.length];
            k++;
        }
        int usable = v.length - v.length % L;
        return java.util.Arrays.copyOf(v, usable);
    }

    @Test
    void roundsToNearestEvenLikeTheReferences() {
        try (Arena arena = Arena.ofConfined()) {
            for (DType type : new DType[] {DType.BF16, DType.F16}) {
                boolean bf16 = type == DType.BF16;
                float[] cases = roundingCases(type, bf16 ? 16 : 17);
                for (MemorySegment seg : segments(arena, cases.length)) {
                    short[] got = narrow(bf16, cases, seg);
                    for (int i = 0; i < cases.length; i++) {
                        float f = cases[i];
                        short expected = bf16 ? bf16Reference(f) : Float.floatToFloat16(f);
                        String at = type + " " + (seg.isNative() ? "native" : "heap") + " of " + f + " (0x"
                                + Integer.toHexString(Float.floatToRawIntBits(f)) + ")";
                        assertSameHalf(type, expected, got[i], at);
                        assertSameHalf(type, expected, ScalarHalfKernels.narrow(type, f), "scalar " + at);
                    }
                }
            }
        }
    }

    @Test
    void bf16ReferenceAgreesWithTheDefinitionOnHandPickedTies() {
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to the even 1; 1 + 3·2^-8 goes up to the even 1 + 2^-6.
        assertEquals((short) 0x3F80, bf16Reference(1f + 0x1p-8f));
        assertEquals((short) 0x3F82, bf16Reference(1f + 3 * 0x1p-8f));
        assertEquals((short) 0x3F81, bf16Reference(Math.nextUp(1f + 0x1p-8f)));
        assertEquals((short) 0x7F80, bf16Reference(Float.MAX_VALUE));
        assertEquals((short) 0x7F7F, bf16Reference(Float.intBitsToFloat(0x7F7F7FFF)));
        assertEquals((short) 0x0000, bf16Reference(Float.intBitsToFloat(0x00008000)));
        assertEquals((short) 0x0002, bf16Reference(Float.intBitsToFloat(0x00018000)));
        for (float f : new float[] {1f + 0x1p-8f, 1f + 3 * 0x1p-8f, Float.MAX_VALUE, -Float.MAX_VALUE, 0x1p-130f}) {
            assertEquals(bf16Reference(f), ScalarHalfKernels.toBf16(f), "scalar toBf16(" + f + ")");
        }
    }
}
