package dev.entrokit.internal.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The hand exp against {@link Math#exp} in double: at most 2 ulp on [−80, 0], 0 below, exact special values. */
@Tag("simd-width")
class VectorExpTest {

    private static float[] exp(float[] x) {
        float[] out = new float[x.length];
        int l = SimdConstants.L;
        for (int i = 0; i < x.length; i += l) {
            VectorExp.expNonPositive(FloatVector.fromArray(SimdConstants.F, x, i)).intoArray(out, i);
        }
        return out;
    }

    @Test
    void withinTwoUlpOnTheWholeDomain() {
        int count = 1 << 22; // a multiple of every lane count
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = Math.max(-80f, (float) (-80.0 * i / (count - 1)));
        }
        float[] y = exp(x);
        double worst = 0;
        float worstAt = 0;
        for (int i = 0; i < count; i++) {
            double ref = Math.exp(x[i]);
            double ulps = Math.abs(y[i] - ref) / Math.ulp((float) ref);
            if (ulps > worst) {
                worst = ulps;
                worstAt = x[i];
            }
        }
        assertTrue(worst <= 2.0, "max error " + worst + " ulp at x = " + worstAt);
    }

    @Test
    void specialValues() {
        int l = SimdConstants.L;
        float[] x = new float[l * 2];
        float[] special = {0f, -0f, Float.NEGATIVE_INFINITY, Float.NaN, -80.01f, -87.34f, -100f, -1e30f, -Float.MAX_VALUE};
        for (int i = 0; i < x.length; i++) {
            x[i] = special[i % special.length];
        }
        float[] y = exp(x);
        for (int i = 0; i < x.length; i++) {
            float v = x[i];
            if (Float.isNaN(v)) {
                assertTrue(Float.isNaN(y[i]), "exp(NaN) must be NaN");
            } else if (v == 0f) {
                assertEquals(1f, y[i], "exp(" + v + ")");
            } else {
                assertEquals(0f, y[i], "exp(" + v + ") must underflow to 0");
            }
        }
    }
}
