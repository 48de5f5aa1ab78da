package dev.entrokit.internal.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Natural log for positive normal floats, in plain lane-wise arithmetic. {@code VectorOperators.LOG}
 * is an SVML call once C2 compiles it but {@code Math.log} per lane before, and the two differ in the
 * last bit: results then depended on warm-up and so on the thread count. Cephes' {@code logf}: split
 * {@code x = 2^e · m} with {@code m ∈ [√½, √2)}, a degree-8 polynomial in {@code f = m − 1}, about 1 ulp.
 * Inputs below {@code Float.MIN_NORMAL} (0 included) are treated as {@code Float.MIN_NORMAL}.
 */
final class VectorLog {
    private static final float SQRT2 = 1.41421356237f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float[] P = {
        7.0376836292e-2f, -1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f, 1.4249322787e-1f,
        -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f};

    private VectorLog() {
    }

    static FloatVector log(FloatVector x) {
        x = x.blend(Float.MIN_NORMAL, x.compare(VectorOperators.LT, Float.MIN_NORMAL));
        IntVector bits = x.reinterpretAsInts();
        FloatVector e = (FloatVector) bits.lanewise(VectorOperators.LSHR, 23).sub(127).convert(VectorOperators.I2F, 0);
        FloatVector m = bits.and(0x007FFFFF).or(0x3F800000).reinterpretAsFloats();
        VectorMask<Float> high = m.compare(VectorOperators.GT, SQRT2);
        m = m.blend(m.mul(0.5f), high);
        e = e.blend(e.add(1f), high);
        FloatVector f = m.sub(1f);
        FloatVector z = f.mul(f);
        FloatVector p = f.fma(P[0], P[1]);
        for (int k = 2; k < P.length; k++) {
            p = p.fma(f, FloatVector.broadcast(SimdConstants.F, P[k]));
        }
        FloatVector y = p.mul(f).mul(z);
        y = e.fma(FloatVector.broadcast(SimdConstants.F, LN2_LO), y);
        y = z.fma(FloatVector.broadcast(SimdConstants.F, -0.5f), y);
        return f.add(y).add(e.mul(LN2_HI));
    }
}
