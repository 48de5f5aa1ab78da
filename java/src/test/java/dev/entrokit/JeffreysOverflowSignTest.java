package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A Jeffreys gradient beyond float range keeps the sign of the sum of its two parts. At T = 0.001 and
 * a gradient scale of 3e38 (a row from the API harness), token 7's forward-KL part rounded to {@code +inf}
 * on its own before the larger, negative reverse-KL part was added: {@code +inf} where the gradient is
 * {@code −7.1e43}.
 */
@Tag("simd-width")
class JeffreysOverflowSignTest {
    private static final float[] STUDENT = {-2.157f, -2.157f, -0.859f, -0.859f, -2.101f, -2.317f, 2.982f, 2.982f, 2.982f,
        1.382f, -2.639f, -2.639f, -2.196f, -0.146f, -0.541f, 1.221f, 1.221f, 2.728f, 0.537f, 0.761f, -2.407f, -0.121f,
        -0.794f, -0.303f, -2.009f, 1.21f, -0.897f, -2.529f, 2.58f, 0.428f, 0.428f, -0.72f, 2.092f, 1.66f, -2.639f,
        -2.464f, -1.932f, 1.596f, -2.825f, 2.576f, -2.967f, 0.045f, 1.322f, 0.855f, -1.85f, -0.559f, -0.484f, 2.047f,
        0.071f, -1.911f, -2.593f};
    private static final float[] TEACHER = {-1.807f, 2.455f, -1.229f, -1.229f, -0.183f, 0.808f, -1.632f, 0.316f, 0.12f,
        -2.8f, -0.508f, 0.522f, -0.281f, -1.916f, -1.916f, -1.793f, 0.882f, -2.62f, -2.62f, -0.736f, -0.125f, -1.449f,
        -1.449f, -0.735f, -0.042f, -2.601f, 0.547f, 1.253f, -1.776f, -2.119f, -0.108f, -0.634f, 0.543f, 0.543f, -0.87f,
        1.07f, -0.56f, -0.975f, 0.731f, -1.013f, -1.007f, 1.002f, -1.255f, 1.619f, 1.619f, 2.821f, 1.326f, -2.436f,
        -1.628f, -2.015f, 0.323f};

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void anOverflowingGradientKeepsTheSignOfItsSum(String backend) {
        float temperature = 0.001f;
        float gradScale = 3e38f;
        int n = STUDENT.length;
        float[] grad = new float[n];
        TestBackends.open(backend).jeffreys(Tensor.of(TEACHER.clone(), 1, n), Tensor.of(STUDENT.clone(), 1, n),
                LossOptions.defaults().temperature(temperature).gradScale(gradScale), null, Tensor.of(grad, 1, n));
        double[] ref = Float64Oracle.jeffreysGrad(widen(TEACHER), widen(STUDENT), temperature, gradScale);
        double scale = gradScale / (double) temperature;
        for (int i = 0; i < n; i++) {
            String at = backend + " token " + i + ": got " + grad[i] + ", expected " + ref[i];
            if (Float.isInfinite((float) ref[i])) {
                assertEquals((float) ref[i], grad[i], at);
            } else {
                assertTrue(Math.abs(grad[i] - ref[i]) <= 1e-6 * scale + 1e-5 * Math.abs(ref[i]), at);
            }
        }
        assertEquals(Float.NEGATIVE_INFINITY, grad[7], backend + ": token 7");
    }
}
