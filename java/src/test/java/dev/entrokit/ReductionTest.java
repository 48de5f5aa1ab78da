package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.entrokit.Spec5.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Reductions NONE / SUM / MEAN / BATCHMEAN and the upstream gradient {@code gradScale}: the returned value
 * is the reduction of the oracle's row losses, and the gradient is {@code gradScale ×} the gradient of that
 * reduced value (so MEAN divides by the rows that count: hard-label rows with {@code ignore_index} do not;
 * BATCHMEAN divides by every row).
 */
@Tag("simd-width")
class ReductionTest {
    static final int ROWS = 8;
    static final int V = 33;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String b : TestBackends.NAMES) {
            for (Reduction r : Reduction.values()) {
                for (float g : new float[] {1f, -0.5f, 3f}) {
                    out.add(Arguments.of(b, r, g));
                }
            }
        }
        return out.stream();
    }

    /** The weight of each row in the reduced value. */
    static double weight(Reduction r, int counted, int rows) {
        return switch (r) {
            case NONE, SUM -> 1.0;
            case MEAN -> 1.0 / counted;
            case BATCHMEAN -> 1.0 / rows;
        };
    }

    @ParameterizedTest(name = "{0} {1} gradScale={2}")
    @MethodSource("cases")
    void entropyAndPairOps(String backend, Reduction reduction, float gradScale) {
        Entrokit ek = TestBackends.open(backend);
        long seed = TestLogits.seed("reduction", reduction, gradScale);
        float[] teacher = TestLogits.batch(seed, ROWS, V);
        float[] student = TestLogits.studentFor(teacher, seed, ROWS, V);
        float t = 0.7f;
        LossOptions o = LossOptions.defaults().temperature(t).reduction(reduction).gradScale(gradScale).beta(0.3f);
        double w = weight(reduction, ROWS, ROWS);

        Run e = Run.entropy(ek, student, ROWS, V, o);
        double[] refs = new double[ROWS];
        for (int r = 0; r < ROWS; r++) {
            double[] sr = widen(student, r * V, V);
            refs[r] = Float64Oracle.entropy(sr, t);
            Spec5.check(Kind.LOSS, e.rowLoss()[r], refs[r], backend + " entropy row " + r + " (rowLoss is never reduced)");
            Spec5.check(Kind.GRAD, e.grad(), r * V, Float64Oracle.entropyGrad(sr, t, gradScale * w),
                    backend + " entropy grad " + reduction + " row " + r);
        }
        Spec5.checkReduced(e.value(), refs, w, backend + " entropy " + reduction);

        for (PairOp op : PairOp.values()) {
            Run run = Run.pair(ek, op, teacher, student, ROWS, V, o);
            for (int r = 0; r < ROWS; r++) {
                double[] tr = widen(teacher, r * V, V);
                double[] sr = widen(student, r * V, V);
                refs[r] = op.oracle(tr, sr, t, 0.3f);
                if (op.hasGrad()) {
                    Spec5.check(Kind.GRAD, run.grad(), r * V, op.oracleGrad(tr, sr, t, 0.3f, gradScale * w),
                            backend + " " + op + " grad " + reduction + " gradScale " + gradScale + " row " + r);
                }
            }
            Spec5.checkReduced(run.value(), refs, w, backend + " " + op + " " + reduction);
            if (reduction != Reduction.NONE) {
                double bare = op.run(ek, Tensor.of(teacher, ROWS, V), Tensor.of(student, ROWS, V), o, null, null);
                assertEquals(run.value(), bare, backend + " " + op + ": rowLoss and grad are optional and change nothing");
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} gradScale={2}")
    @MethodSource("cases")
    void hardLabelsMeanLeavesIgnoredRowsOut(String backend, Reduction reduction, float gradScale) {
        Entrokit ek = TestBackends.open(backend);
        float[] student = TestLogits.batch(TestLogits.seed("reduction-labels", reduction, gradScale), ROWS, V);
        for (int i = 0; i < student.length; i++) {
            if (student[i] == Float.NEGATIVE_INFINITY) {
                student[i] = -5f; // smoothing over a masked logit is +inf (MaskedSupportTest); keep the means finite
            }
        }
        int[] labels = TestLogits.labels(7, student, ROWS, V, LossOptions.DEFAULT_IGNORE_INDEX); // rows 3 and 7 ignored
        int counted = ROWS - 2;
        for (float eps : new float[] {0f, 0.05f}) {
            LossOptions o = LossOptions.defaults().reduction(reduction).gradScale(gradScale).labelSmoothing(eps)
                    .temperature(2f);
            Run run = Run.labels(ek, labels, student, ROWS, V, o);
            double w = weight(reduction, counted, ROWS);
            double[] refs = new double[ROWS];
            for (int r = 0; r < ROWS; r++) {
                double[] sr = widen(student, r * V, V);
                refs[r] = Float64Oracle.crossEntropyLabelRow(sr, labels[r], -100, eps, 2f);
                if (labels[r] == -100) {
                    assertEquals(0f, run.rowLoss()[r], "an ignored row's loss is 0");
                    for (int i = 0; i < V; i++) {
                        assertEquals(0f, run.grad()[r * V + i], "an ignored row's gradient is 0");
                    }
                }
                if (!Double.isInfinite(refs[r])) {
                    Spec5.check(Kind.GRAD, run.grad(), r * V,
                            Float64Oracle.crossEntropyLabelGrad(sr, labels[r], -100, eps, 2f, gradScale * w),
                            backend + " CE labels grad " + reduction + " ε=" + eps + " row " + r);
                }
            }
            Spec5.checkReduced(run.value(), refs, w, backend + " CE labels " + reduction + " ε=" + eps
                    + " (MEAN over " + counted + " counted rows of " + ROWS + ")");
        }
    }
}
