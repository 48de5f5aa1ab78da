package dev.entrokit.internal.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The Sinkhorn kernels' {@code 2^x} against {@link Math#pow} in double: at most 2 ulp on [−115, 100], floored below. */
@Tag("simd-width")
class VectorExp2Test {

    private static float[] exp2(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i += SimdConstants.L) {
            VectorExp2.exp2(FloatVector.fromArray(SimdConstants.F, x, i)).intoArray(out, i);
        }
        return out;
    }

    @Test
    void withinTwoUlpFromTheFloorToLargeArguments() {
        int count = 1 << 20;
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = (float) (-115.0 + 215.0 * i / (count - 1));
        }
        float[] y = exp2(x);
        double worst = 0;
        for (int i = 0; i < count; i++) {
            double ref = Math.pow(2, x[i]);
            worst = Math.max(worst, Math.abs(y[i] - ref) / Math.ulp((float) ref));
        }
        assertTrue(worst <= 2, "worst error " + worst + " ulp");
    }

    @Test
    void argumentsBelowTheFloorGiveTheFloor() {
        float[] x = new float[SimdConstants.L];
        java.util.Arrays.fill(x, -1e30f);
        x[0] = Float.NEGATIVE_INFINITY;
        for (float v : exp2(x)) {
            assertEquals((float) Math.pow(2, VectorExp2.LOW), v);
        }
    }

    @Test
    void orZeroIsExactlyZeroBelowTheFloorAndExp2FromIt() {
        int count = 4 * SimdConstants.L;
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = VectorExp2.LOW + (i - SimdConstants.L) * 0.37f; // a vector's worth below the floor, then above
        }
        x[0] = Float.NEGATIVE_INFINITY;
        x[1] = -Float.MAX_VALUE;
        x[2] = Float.NaN;
        float[] plain = exp2(x);
        for (int i = 0; i < count; i += SimdConstants.L) {
            float[] out = new float[SimdConstants.L];
            VectorExp2.exp2OrZero(FloatVector.fromArray(SimdConstants.F, x, i)).intoArray(out, 0);
            for (int j = 0; j < SimdConstants.L; j++) {
                float v = x[i + j];
                if (Float.isNaN(v)) {
                    assertTrue(Float.isNaN(out[j]), "NaN stays NaN");
                } else if (v < VectorExp2.LOW) {
                    assertEquals(0f, out[j], "2^" + v);
                    assertEquals(0, Float.floatToRawIntBits(out[j]), "+0 at " + v);
                } else {
                    assertEquals(plain[i + j], out[j], "2^" + v);
                }
            }
        }
    }

    @Test
    void scaleFromTwoOverTIsTwoLog2eOverT() {
        assertEquals((float) (2 * 1.4426950408889634), VectorExp2.log2ScaleOfTwoInvT(2f));
        assertEquals((float) (1.4426950408889634 * 2e-3f), VectorExp2.log2ScaleOfTwoInvT(2e-3f));
        assertEquals(Float.MAX_VALUE, VectorExp2.log2ScaleOfTwoInvT(Float.POSITIVE_INFINITY));
        assertEquals(Float.MAX_VALUE, VectorExp2.log2ScaleOfTwoInvT(Float.MAX_VALUE));
        for (float t : new float[] {0.05f, 0.7f, 1f, 3f, 1e30f}) {
            assertEquals(VectorExp2.log2Scale(t), VectorExp2.log2ScaleOfTwoInvT(2f * (float) (1.0 / t)), 2 * Math.ulp(VectorExp2.log2Scale(t)), "T = " + t);
        }
    }
}
