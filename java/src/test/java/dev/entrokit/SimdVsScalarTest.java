package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.entrokit.Spec5.Kind;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every op on the simd backend against the scalar reference, at the tolerances of SPEC §5 (the scalar
 * output standing in for the reference), over the size grid and the adversarial rows. Re-run for each
 * forced SIMD width by the {@code simd-width} executions. Skipped while simd is unavailable (see
 * {@link SimdAvailabilityTest}).
 */
@Tag("simd-width")
class SimdVsScalarTest {

    /** One named output of a run, with the tolerance that applies to it. */
    record Output(String name, Kind kind, float[] values) {
    }

    static List<Output> everything(Entrokit ek, float[] teacher, float[] student, int[] labels, int rows, int v, float t) {
        List<Output> out = new ArrayList<>();
        float[] probs = new float[rows * v];
        ek.softmax(Tensor.of(student, rows, v), Tensor.of(probs, rows, v), t);
        out.add(new Output("softmax", Kind.PROB, probs));
        float[] logprobs = new float[rows * v];
        ek.logSoftmax(Tensor.of(student, rows, v), Tensor.of(logprobs, rows, v), t);
        out.add(new Output("log_softmax", Kind.LOG, logprobs));
        float[] lse = new float[rows];
        ek.logSumExp(Tensor.of(student, rows, v), Tensor.of(lse), t);
        out.add(new Output("logsumexp", Kind.LOG, lse));
        // Backward passes read the same (scalar-made) forward outputs on both backends: see compare().
        LossOptions o = LossOptions.defaults().temperature(t).reduction(Reduction.NONE).gradScale(0.6f);
        Run e = Run.entropy(ek, student, rows, v, o);
        out.add(new Output("entropy", Kind.LOSS, e.rowLoss()));
        out.add(new Output("entropy grad", Kind.GRAD, e.grad()));
        for (PairOp op : PairOp.values()) {
            for (float beta : op == PairOp.JSD ? new float[] {0f, 0.3f, 0.5f, 1f} : new float[] {0.5f}) {
                Run r = Run.pair(ek, op, teacher, student, rows, v, o.beta(beta));
                out.add(new Output(op + " β=" + beta, Kind.LOSS, r.rowLoss()));
                if (r.grad() != null) {
                    out.add(new Output(op + " β=" + beta + " grad", Kind.GRAD, r.grad()));
                }
            }
        }
        for (float eps : new float[] {0f, 0.1f}) {
            Run l = Run.labels(ek, labels, student, rows, v, o.labelSmoothing(eps));
            out.add(new Output("CE labels ε=" + eps, Kind.LOSS, l.rowLoss()));
            out.add(new Output("CE labels ε=" + eps + " grad", Kind.GRAD, l.grad()));
        }
        return out;
    }

    static void compare(float[] teacher, float[] student, int[] labels, int rows, int v, float t, String what) {
        assumeTrue(TestBackends.available("simd"), "simd backend not available yet");
        Entrokit simd = TestBackends.open("simd");
        Entrokit scalar = TestBackends.scalarReference();
        List<Output> a = everything(simd, teacher, student, labels, rows, v, t);
        List<Output> b = everything(scalar, teacher, student, labels, rows, v, t);
        assertEquals(b.size(), a.size());
        for (int k = 0; k < a.size(); k++) {
            Output o = a.get(k);
            Spec5.check(o.kind(), o.values(), 0, b.get(k).values(), 0, o.values().length,
                    "simd vs scalar " + o.name() + " " + what + " V=" + v + " T=" + t);
        }
        float[] probs = b.get(0).values();
        float[] logprobs = b.get(1).values();
        for (boolean logForm : new boolean[] {false, true}) {
            float[] dxA = new float[rows * v];
            float[] dxB = new float[rows * v];
            for (Entrokit ek : new Entrokit[] {simd, scalar}) {
                float[] dx = ek == simd ? dxA : dxB;
                if (logForm) {
                    ek.logSoftmaxBackward(Tensor.of(logprobs, rows, v), Tensor.of(teacher, rows, v), Tensor.of(dx, rows, v), t);
                } else {
                    ek.softmaxBackward(Tensor.of(probs, rows, v), Tensor.of(teacher, rows, v), Tensor.of(dx, rows, v), t);
                }
            }
            Spec5.check(Kind.GRAD, dxA, 0, dxB, 0, rows * v, "simd vs scalar " + (logForm ? "log_" : "") + "softmax backward "
                    + what + " V=" + v + " T=" + t);
        }
    }

    @ParameterizedTest(name = "V={0} rows={1} T={2}")
    @MethodSource("dev.entrokit.Cases#sizeRowsTemperature")
    void simdMatchesScalarOnTheSizeGrid(int v, int rows, float t) {
        long seed = TestLogits.seed("simd-vs-scalar", v, rows, t);
        float[] teacher = TestLogits.batch(seed, rows, v);
        float[] student = TestLogits.studentFor(teacher, seed, rows, v);
        int[] labels = TestLogits.labels(seed, student, rows, v, -100);
        compare(teacher, student, labels, rows, v, t, "ordinary rows");
    }

    @ParameterizedTest(name = "V={0} T={1}")
    @MethodSource("dev.entrokit.AdversarialRowsTest#sizesAndTemperatures")
    void simdMatchesScalarOnAdversarialRows(int v, float t) {
        List<AdversarialRows.Named> rows = AdversarialRows.all(v, TestLogits.seed("simd-adv", v));
        int n = rows.size();
        float[] x = AdversarialRows.batch(rows);
        float[] ordinary = TestLogits.batch(TestLogits.seed("simd-adv-partner", v), n, v);
        int[] labels = new int[n];
        for (int r = 0; r < n; r++) {
            labels[r] = r % 5 == 4 ? -100 : (r * 7) % v;
        }
        compare(ordinary, x, labels, n, v, t, "adversarial students " + rows);
        compare(x, ordinary, labels, n, v, t, "adversarial teachers " + rows);
    }
}
