package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;

import dev.entrokit.Spec5.Kind;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Entropy and its fused gradient on every backend against {@link Float64Oracle}. */
@Tag("simd-width")
class EntropyTest {

    @ParameterizedTest(name = "{0} V={1} rows={2} T={3}")
    @MethodSource("dev.entrokit.Cases#backendSizeRowsTemperature")
    void entropyAndGradientMatchOracle(String backend, int v, int rows, float t) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = TestLogits.batch(TestLogits.seed("entropy", v, rows, t), rows, v);
        float gradScale = 0.75f;
        Run run = Run.entropy(ek, x, rows, v, LossOptions.defaults().temperature(t).reduction(Reduction.NONE)
                .gradScale(gradScale));
        double[] refs = new double[rows];
        for (int r = 0; r < rows; r++) {
            double[] row = widen(x, r * v, v);
            String at = backend + " row " + r + " V=" + v + " T=" + t;
            refs[r] = Float64Oracle.entropy(row, t);
            Spec5.check(Kind.LOSS, run.rowLoss()[r], refs[r], "entropy " + at);
            Spec5.check(Kind.GRAD, run.grad(), r * v, Float64Oracle.entropyGrad(row, t, gradScale), "entropy grad " + at);
        }
        Spec5.checkReduced(run.value(), refs, 1, "entropy NONE returns the row sum, " + backend);
    }

    @ParameterizedTest(name = "{0} V={1} rows={2} T={3}")
    @MethodSource("dev.entrokit.Cases#backendSizeRowsTemperature")
    void entropyWithoutGradientOrRowLossGivesTheSameValue(String backend, int v, int rows, float t) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = TestLogits.batch(TestLogits.seed("entropy-nograd", v, rows, t), rows, v);
        LossOptions o = LossOptions.defaults().temperature(t).reduction(Reduction.MEAN);
        Run full = Run.entropy(ek, x, rows, v, o);
        double bare = ek.entropy(Tensor.of(x, rows, v), o, null, null);
        double[] refs = new double[rows];
        for (int r = 0; r < rows; r++) {
            refs[r] = Float64Oracle.entropy(widen(x, r * v, v), t);
        }
        Spec5.checkReduced(bare, refs, 1.0 / rows, "entropy MEAN without outputs, " + backend);
        org.junit.jupiter.api.Assertions.assertEquals(full.value(), bare,
                "asking for the gradient must not change the loss");
        double arrays = ek.entropy(x, v, o, null, null);
        org.junit.jupiter.api.Assertions.assertEquals(bare, arrays, "float[] overload");
    }
}
