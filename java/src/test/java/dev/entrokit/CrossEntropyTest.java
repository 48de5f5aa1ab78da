package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;

import dev.entrokit.Spec5.Kind;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Soft-target and hard-label cross-entropy with their gradients on every backend against {@link Float64Oracle}. */
@Tag("simd-width")
class CrossEntropyTest {

    @ParameterizedTest(name = "{0} V={1} rows={2} T={3}")
    @MethodSource("dev.entrokit.Cases#backendSizeRowsTemperature")
    void softTargetsMatchOracle(String backend, int v, int rows, float t) {
        Entrokit ek = TestBackends.open(backend);
        long seed = TestLogits.seed("ce-soft", v, rows, t);
        float[] teacher = TestLogits.batch(seed, rows, v);
        float[] student = TestLogits.studentFor(teacher, seed, rows, v);
        float g = 1.5f;
        Run run = Run.pair(ek, PairOp.CROSS_ENTROPY, teacher, student, rows, v,
                LossOptions.defaults().temperature(t).reduction(Reduction.NONE).gradScale(g));
        double[] refs = new double[rows];
        for (int r = 0; r < rows; r++) {
            double[] tr = widen(teacher, r * v, v);
            double[] sr = widen(student, r * v, v);
            String at = backend + " row " + r + " V=" + v + " T=" + t;
            refs[r] = Float64Oracle.crossEntropy(tr, sr, t);
            Spec5.check(Kind.LOSS, run.rowLoss()[r], refs[r], "cross_entropy " + at);
            Spec5.check(Kind.GRAD, run.grad(), r * v, Float64Oracle.qMinusPGrad(tr, sr, t, g), "cross_entropy grad " + at);
        }
        Spec5.checkReduced(run.value(), refs, 1, "cross_entropy NONE returns the row sum, " + backend);
    }

    @ParameterizedTest(name = "{0} V={1} rows={2} T={3}")
    @MethodSource("dev.entrokit.Cases#backendSizeRowsTemperature")
    void hardLabelsMatchOracle(String backend, int v, int rows, float t) {
        Entrokit ek = TestBackends.open(backend);
        long seed = TestLogits.seed("ce-labels", v, rows, t);
        float[] student = TestLogits.batch(seed, rows, v);
        for (float eps : new float[] {0f, 0.1f}) {
            for (int ignore : new int[] {LossOptions.DEFAULT_IGNORE_INDEX, v}) {
                int[] labels = TestLogits.labels(seed, student, rows, v, ignore);
                float g = 0.5f;
                Run run = Run.labels(ek, labels, student, rows, v, LossOptions.defaults().temperature(t)
                        .reduction(Reduction.NONE).gradScale(g).labelSmoothing(eps).ignoreIndex(ignore));
                double[] refs = new double[rows];
                for (int r = 0; r < rows; r++) {
                    double[] sr = widen(student, r * v, v);
                    String at = backend + " row " + r + " label " + labels[r] + " eps " + eps + " ignore " + ignore
                            + " V=" + v + " T=" + t;
                    refs[r] = Float64Oracle.crossEntropyLabelRow(sr, labels[r], ignore, eps, t);
                    Spec5.check(Kind.LOSS, run.rowLoss()[r], refs[r], "cross_entropy labels " + at);
                    Spec5.check(Kind.GRAD, run.grad(), r * v,
                            Float64Oracle.crossEntropyLabelGrad(sr, labels[r], ignore, eps, t, g),
                            "cross_entropy labels grad " + at);
                }
                Spec5.checkReduced(run.value(), refs, 1, "cross_entropy labels NONE returns the row sum, " + backend);
            }
        }
    }
}
