package dev.entrokit.internal.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The lane-wise log against {@link Math#log}: within 2 ulp from the smallest normal float up to 1e30. */
@Tag("simd-width")
class VectorLogTest {

    private static float[] log(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i += SimdConstants.L) {
            VectorLog.log(FloatVector.fromArray(SimdConstants.F, x, i)).intoArray(out, i);
        }
        return out;
    }

    @Test
    void withinTwoUlp() {
        int count = 1 << 22;
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            // log-spaced over [MIN_NORMAL, 1e30], plus the dense region around 1 where log is small
            x[i] = i % 2 == 0 ? (float) Math.exp(-87.3 + (87.3 + 69) * i / count) : 0.5f + (float) i / count;
        }
        float[] y = log(x);
        double worst = 0;
        float worstAt = 0;
        for (int i = 0; i < count; i++) {
            double ref = Math.log(x[i]);
            double ulps = Math.abs(y[i] - ref) / Math.ulp((float) ref);
            if (ulps > worst) {
                worst = ulps;
                worstAt = x[i];
            }
        }
        assertTrue(worst <= 2.0, "max error " + worst + " ulp at x = " + worstAt);
    }

    @Test
    void exactPointsAndClampedZero() {
        float[] x = new float[SimdConstants.L];
        x[0] = 1f;
        x[1] = 0f;
        for (int i = 2; i < x.length; i++) {
            x[i] = 2f;
        }
        float[] y = log(x);
        assertEquals(0f, y[0], "log 1");
        assertEquals((float) Math.log(Float.MIN_NORMAL), y[1], 1e-5f, "log 0 is clamped to log MIN_NORMAL");
        assertEquals((float) Math.log(2), y[2], Math.ulp((float) Math.log(2)), "log 2");
    }
}
