package dev.entrokit.internal.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Natural log for positive normal floats, in plain lane-wise arithmetic. {@code VectorOperators.LOG}
 * is an SVML call once C2 compiles it but {@code Math.log} per lane before, and the two differ in the
 * last bit: results then depended on warm-up and so on the thread count. Cephes' {@code logf}: split
 * {@code x = 2^e · m} with {@code m ∈ [√½, √2)}, a degree-8 polynomial in {@code f = m − 1}, about 1 ulp.
 * Inputs below {@code Float.MIN_NORMAL} (0 included) are treated as {@code Float.MIN_NORMAL}.
 */
final class VectorLog {
    /**
     * The float32 bits just above √½'s ({@code 0x3F3504F3}): {@code bits − this}, shifted right by 23, is the
     * exponent {@code e} of {@code x = 2^e · m} with {@code m ∈ (√½, √2]} as float32 rounds √2 (so {@code m} and
     * {@code e} are bitwise Cephes' split: halve {@code m} when it exceeds {@code (float) √2}); the low 23 bits plus
     * this are {@code m}'s bits. Four integer operations instead of the compare, two blends and two arithmetic ops
     * of the split by cases (the log was 0.46 ns per element in {@code KernelFloorProbe}, the largest part of JSD's
     * second pass).
     */
    private static final int HALF_SQRT2_UP_BITS = 0x3F3504F4;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float[] P = {
        7.0376836292e-2f, -1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f, 1.4249322787e-1f,
        -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f};

    private VectorLog() {
    }

    static FloatVector log(FloatVector x) {
        x = x.blend(Float.MIN_NORMAL, x.compare(VectorOperators.LT, Float.MIN_NORMAL));
        IntVector shifted = x.reinterpretAsInts().sub(HALF_SQRT2_UP_BITS);
        FloatVector e = (FloatVector) shifted.lanewise(VectorOperators.ASHR, 23).convert(VectorOperators.I2F, 0);
        FloatVector f = shifted.and(0x007FFFFF).add(HALF_SQRT2_UP_BITS).reinterpretAsFloats().sub(1f);
        FloatVector z = f.mul(f);
        FloatVector p = f.fma(P[0], P[1]);
        for (int k = 2; k < P.length; k++) {
            p = p.fma(f, FloatVector.broadcast(SimdConstants.F, P[k]));
        }
        FloatVector y = p.mul(f).mul(z);
        y = e.fma(FloatVector.broadcast(SimdConstants.F, LN2_LO), y);
        y = z.fma(FloatVector.broadcast(SimdConstants.F, -0.5f), y);
        return e.fma(FloatVector.broadcast(SimdConstants.F, LN2_HI), f.add(y));
    }
}
