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
}
