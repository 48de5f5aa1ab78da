package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;

import dev.entrokit.AdversarialRows.Named;
import dev.entrokit.Spec5.Kind;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Rows longer than one chunk (32768 elements) run as merged chunk states (SPEC §8, "one row across threads"):
 * every adversarial row, with the special value in the first, a middle or the last chunk, against the float64
 * oracle within SPEC §5, as a batch (chunks in turn) and one row at a time on three threads (chunks spread).
 */
@Tag("simd-width")
class ChunkedRowsTest {
    static final int V = 2 * 32768 + 7;

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.entrokit.TestBackends#names")
    void longRowsMatchTheOracle(String backend) {
        TestBackends.open(backend);
        List<Named> rows = AdversarialRows.all(V, Logits.seed("chunked"));
        int n = rows.size();
        float[] x = AdversarialRows.batch(rows);
        float[] ordinary = Logits.batch(Logits.seed("chunked-partner"), n, V);
        int[] labels = ShardStatesTest.labels(Logits.seed("chunked-labels"), x, n, V);
        float t = 0.7f;
        LossOptions o = LossOptions.defaults().temperature(t).reduction(Reduction.NONE).beta(0.3f).labelSmoothing(0.1f);
        try (Entrokit ek = Entrokit.create(backend, 3)) {
            check(ek, backend + " batch", x, ordinary, labels, 0, n, t, o, rows);
            for (int r : new int[] {0, 2, n - 5}) { // one row at a time: fewer rows than threads
                float[] xr = Logits.row(x, r, V);
                float[] or = Logits.row(ordinary, r, V);
                check(ek, backend + " alone", xr, or, new int[] {labels[r]}, r, 1, t, o, rows);
            }
        }
    }

    private static void check(Entrokit ek, String how, float[] x, float[] ordinary, int[] labels, int first, int n,
                              float t, LossOptions o, List<Named> names) {
        float[] probs = new float[n * V];
        float[] logprobs = new float[n * V];
        float[] lse = new float[n];
        ek.softmax(Tensor.of(x, n, V), Tensor.of(probs, n, V), t);
        ek.logSoftmax(Tensor.of(x, n, V), Tensor.of(logprobs, n, V), t);
        ek.logSumExp(Tensor.of(x, n, V), Tensor.of(lse), t);
        Run entropy = Run.entropy(ek, x, n, V, o);
        Run ce = Run.labels(ek, labels, x, n, V, o);
        // Off-heap outputs keep each chunk's exponentials and rescale them; in place too.
        float[] nativeProbs;
        float[] inPlace;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment in = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
            MemorySegment out = arena.allocate((long) n * V * Float.BYTES, 64);
            ek.softmax(Tensor.of(in, DType.F32, n, V), Tensor.of(out, DType.F32, n, V), t);
            nativeProbs = out.toArray(ValueLayout.JAVA_FLOAT);
            ek.softmax(Tensor.of(in, DType.F32, n, V), Tensor.of(in, DType.F32, n, V), t);
            inPlace = in.toArray(ValueLayout.JAVA_FLOAT);
        }
        for (int r = 0; r < n; r++) {
            double[] row = widen(x, r * V, V);
            String at = how + " '" + names.get(first + r) + "'";
            Spec5.check(Kind.PROB, nativeProbs, r * V, Float64Oracle.softmax(row, t), "off-heap softmax " + at);
            Spec5.check(Kind.PROB, inPlace, r * V, Float64Oracle.softmax(row, t), "in-place softmax " + at);
            Spec5.check(Kind.LOG, lse[r], Float64Oracle.logSumExp(row, t), "logsumexp " + at);
            Spec5.check(Kind.PROB, probs, r * V, Float64Oracle.softmax(row, t), "softmax " + at);
            Spec5.check(Kind.LOG, logprobs, r * V, Float64Oracle.logSoftmax(row, t), "log_softmax " + at);
            Spec5.check(Kind.LOSS, entropy.rowLoss()[r], Float64Oracle.entropy(row, t), "entropy " + at);
            Spec5.check(Kind.GRAD, entropy.grad(), r * V, Float64Oracle.entropyGrad(row, t, 1), "entropy grad " + at);
            Spec5.check(Kind.LOSS, ce.rowLoss()[r], Float64Oracle.crossEntropyLabelRow(row, labels[r], -100, 0.1, t),
                    "label CE " + at);
            Spec5.check(Kind.GRAD, ce.grad(), r * V,
                    Float64Oracle.crossEntropyLabelGrad(row, labels[r], -100, 0.1, t, 1), "label CE grad " + at);
        }
        for (PairOp op : new PairOp[] {PairOp.CROSS_ENTROPY, PairOp.KL, PairOp.RKL, PairOp.JSD}) {
            for (boolean badTeacher : new boolean[] {true, false}) {
                float[] teacher = badTeacher ? x : ordinary;
                float[] student = badTeacher ? ordinary : x;
                Run run = Run.pair(ek, op, teacher, student, n, V, o);
                for (int r = 0; r < n; r++) {
                    String at = how + " " + op + (badTeacher ? " teacher '" : " student '") + names.get(first + r) + "'";
                    double[] tr = widen(teacher, r * V, V);
                    double[] sr = widen(student, r * V, V);
                    double ref = op.oracle(tr, sr, t, o.beta());
                    Spec5.check(Kind.LOSS, run.rowLoss()[r], ref, at);
                    double[] g = op.oracleGrad(tr, sr, t, o.beta(), 1);
                    if (AdversarialRowsTest.gradientDefined(ref, g)
                            && !AdversarialRowsTest.rklGradientIllConditioned(op, o.beta(), tr, sr, t)) {
                        Spec5.check(Kind.GRAD, run.grad(), r * V, g, "grad " + at);
                    }
                }
            }
        }
    }
}
