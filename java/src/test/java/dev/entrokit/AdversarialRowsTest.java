package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.AdversarialRows.Named;
import dev.entrokit.Spec5.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Adversarial rows (issue §8, SPEC §1 special values) on every backend: each row against the oracle,
 * the special-value rules asserted explicitly, and row isolation (a bad row never changes another row:
 * each row of a mixed batch is bitwise what the same row gives alone).
 */
@Tag("simd-width")
class AdversarialRowsTest {
    static final int[] SIZES = {5, 16, 17, 100, 1025};

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String b : TestBackends.NAMES) {
            for (int v : SIZES) {
                for (float t : new float[] {1f, 0.7f, 2f}) {
                    out.add(Arguments.of(b, v, t));
                }
            }
        }
        return out.stream();
    }

    /** {@code (V, T)} without a backend, for {@code SimdVsScalarTest}. */
    static Stream<Arguments> sizesAndTemperatures() {
        return cases().filter(a -> a.get()[0].equals("simd")).map(a -> Arguments.of(a.get()[1], a.get()[2]));
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void softmaxFamilyMatchesOracleOnEveryAdversarialRow(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        List<Named> rows = AdversarialRows.all(v, TestLogits.seed("adv", v));
        int n = rows.size();
        float[] x = AdversarialRows.batch(rows);
        float[] lse = new float[n];
        float[] probs = new float[n * v];
        float[] logprobs = new float[n * v];
        ek.logSumExp(Tensor.of(x, n, v), Tensor.of(lse), t);
        ek.softmax(Tensor.of(x, n, v), Tensor.of(probs, n, v), t);
        ek.logSoftmax(Tensor.of(x, n, v), Tensor.of(logprobs, n, v), t);
        for (int r = 0; r < n; r++) {
            double[] row = widen(x, r * v, v);
            String at = backend + " '" + rows.get(r) + "' V=" + v + " T=" + t;
            Spec5.check(Kind.LOG, lse[r], Float64Oracle.logSumExp(row, t), "logsumexp " + at);
            Spec5.check(Kind.PROB, probs, r * v, Float64Oracle.softmax(row, t), "softmax " + at);
            Spec5.check(Kind.LOG, logprobs, r * v, Float64Oracle.logSoftmax(row, t), "log_softmax " + at);
            if (!rows.get(r).valid()) {
                assertTrue(Float.isNaN(lse[r]), "NaN row rule, logsumexp " + at);
                for (int i = 0; i < v; i++) {
                    assertTrue(Float.isNaN(probs[r * v + i]) && Float.isNaN(logprobs[r * v + i]),
                            "NaN row rule, softmax/log_softmax element " + i + " " + at);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void entropyMatchesOracleOnEveryAdversarialRow(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        List<Named> rows = AdversarialRows.all(v, TestLogits.seed("adv", v));
        int n = rows.size();
        float[] x = AdversarialRows.batch(rows);
        Run run = Run.entropy(ek, x, n, v, LossOptions.defaults().temperature(t).reduction(Reduction.NONE));
        for (int r = 0; r < n; r++) {
            double[] row = widen(x, r * v, v);
            String at = backend + " '" + rows.get(r) + "' V=" + v + " T=" + t;
            Spec5.check(Kind.LOSS, run.rowLoss()[r], Float64Oracle.entropy(row, t), "entropy " + at);
            Spec5.check(Kind.GRAD, run.grad(), r * v, Float64Oracle.entropyGrad(row, t, 1), "entropy grad " + at);
        }
        assertTrue(Double.isNaN(run.value()), "the NONE sum over a batch with NaN rows is NaN");
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void knownValuesOfSpecialRows(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        LossOptions o = LossOptions.defaults().temperature(t).reduction(Reduction.NONE);
        // Three ties at Float.MAX_VALUE, everything else ordinary: exactly three tokens share the mass.
        float[] maxTies = AdversarialRows.all(v, 1).stream().filter(r -> r.name().startsWith("three ties"))
                .findFirst().orElseThrow().row();
        float[] h = new float[1];
        ek.entropy(Tensor.of(maxTies, 1, v), o, Tensor.of(h), null);
        Spec5.check(Kind.LOSS, h[0], Math.log(3), "entropy of three ties at Float.MAX_VALUE is ln 3");
        float[] p = new float[v];
        ek.softmax(Tensor.of(maxTies, 1, v), Tensor.of(p, 1, v), t);
        Spec5.check(Kind.PROB, p[0], 1.0 / 3, "softmax of a Float.MAX_VALUE tie");
        Spec5.check(Kind.PROB, p[v - 1], 1.0 / 3, "softmax of a Float.MAX_VALUE tie in the tail");
        Spec5.check(Kind.PROB, p[1], 0, "softmax next to Float.MAX_VALUE ties");

        // One finite value: a one-hot distribution; entropy 0; logsumexp = x/T.
        float[] one = new float[v];
        java.util.Arrays.fill(one, Float.NEGATIVE_INFINITY);
        one[v - 1] = 2.5f;
        ek.entropy(Tensor.of(one, 1, v), o, Tensor.of(h), null);
        Spec5.check(Kind.LOSS, h[0], 0, "entropy of one finite value");
        ek.softmax(Tensor.of(one, 1, v), Tensor.of(p, 1, v), t);
        Spec5.check(Kind.PROB, p[v - 1], 1, "softmax of the only finite value");
        Spec5.check(Kind.PROB, p[0], 0, "softmax of a masked value");
        float[] lse = new float[1];
        ek.logSumExp(Tensor.of(one, 1, v), Tensor.of(lse), t);
        Spec5.check(Kind.LOG, lse[0], 2.5 / t, "logsumexp of one finite value");
        float[] lp = new float[v];
        ek.logSoftmax(Tensor.of(one, 1, v), Tensor.of(lp, 1, v), t);
        assertEquals(Float.NEGATIVE_INFINITY, lp[0], "log_softmax of a masked value is -inf");
        Spec5.check(Kind.LOG, lp[v - 1], 0, "log_softmax of the only finite value");

        // All equal: uniform, entropy ln V, whatever the common value.
        for (float c : new float[] {3.25f, -1e30f, 1e30f, Float.MAX_VALUE, -Float.MAX_VALUE}) {
            float[] eq = new float[v];
            java.util.Arrays.fill(eq, c);
            ek.entropy(Tensor.of(eq, 1, v), o, Tensor.of(h), null);
            Spec5.check(Kind.LOSS, h[0], Math.log(v), "entropy of " + v + " equal logits " + c);
            ek.softmax(Tensor.of(eq, 1, v), Tensor.of(p, 1, v), t);
            for (int i = 0; i < v; i++) {
                Spec5.check(Kind.PROB, p[i], 1.0 / v, "softmax of equal logits " + c + " at " + i);
            }
        }
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void logSoftmaxOnLargeMagnitudesStaysWithinSpec(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        // x = ±1e4 + noise in [0, 1): an implementation computing x − lse in float32 loses ~1e-3 here,
        // (x − m)/T − log d keeps the 1e-5 of SPEC §5.
        for (float base : new float[] {1e4f, -1e4f, 3e4f}) {
            float[] x = TestLogits.uniform(TestLogits.seed("large", v, base), v);
            for (int i = 0; i < v; i++) {
                x[i] = base + (x[i] + 1) / 2;
            }
            float[] lp = new float[v];
            ek.logSoftmax(Tensor.of(x, 1, v), Tensor.of(lp, 1, v), t);
            Spec5.check(Kind.LOG, lp, 0, Float64Oracle.logSoftmax(widen(x), t),
                    backend + " log_softmax of " + base + " + noise, T=" + t);
            float[] lse = new float[1];
            ek.logSumExp(Tensor.of(x, 1, v), Tensor.of(lse), t);
            Spec5.check(Kind.LOG, lse[0], Float64Oracle.logSumExp(widen(x), t), backend + " logsumexp of " + base);
        }
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void badRowsNeverChangeOtherRows(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        List<Named> rows = AdversarialRows.all(v, TestLogits.seed("isolation", v));
        int n = rows.size();
        float[] x = AdversarialRows.batch(rows);
        float[] ordinary = TestLogits.batch(TestLogits.seed("isolation-partner", v), n, v);
        LossOptions o = LossOptions.defaults().temperature(t).reduction(Reduction.NONE);

        float[] probs = new float[n * v];
        float[] logprobs = new float[n * v];
        ek.softmax(Tensor.of(x, n, v), Tensor.of(probs, n, v), t);
        ek.logSoftmax(Tensor.of(x, n, v), Tensor.of(logprobs, n, v), t);
        Run entropy = Run.entropy(ek, x, n, v, o);
        List<Run> teacherBad = new ArrayList<>();
        List<Run> studentBad = new ArrayList<>();
        for (PairOp op : PairOp.values()) {
            teacherBad.add(Run.pair(ek, op, x, ordinary, n, v, o));
            studentBad.add(Run.pair(ek, op, ordinary, x, n, v, o));
        }
        for (int r = 0; r < n; r++) {
            String at = backend + " row " + r + " '" + rows.get(r) + "' V=" + v + " T=" + t;
            float[] xr = TestLogits.row(x, r, v);
            float[] or = TestLogits.row(ordinary, r, v);
            float[] alone = new float[v];
            ek.softmax(Tensor.of(xr, 1, v), Tensor.of(alone, 1, v), t);
            assertArrayEquals(alone, TestLogits.row(probs, r, v), "softmax in a batch vs alone, " + at);
            ek.logSoftmax(Tensor.of(xr, 1, v), Tensor.of(alone, 1, v), t);
            assertArrayEquals(alone, TestLogits.row(logprobs, r, v), "log_softmax in a batch vs alone, " + at);
            Run e1 = Run.entropy(ek, xr, 1, v, o);
            assertEquals(e1.rowLoss()[0], entropy.rowLoss()[r], "entropy in a batch vs alone, " + at);
            assertArrayEquals(e1.grad(), TestLogits.row(entropy.grad(), r, v), "entropy grad in a batch vs alone, " + at);
            int k = 0;
            for (PairOp op : PairOp.values()) {
                Run a = Run.pair(ek, op, xr, or, 1, v, o);
                Run b = Run.pair(ek, op, or, xr, 1, v, o);
                assertEquals(a.rowLoss()[0], teacherBad.get(k).rowLoss()[r], op + " (adversarial teacher) " + at);
                assertEquals(b.rowLoss()[0], studentBad.get(k).rowLoss()[r], op + " (adversarial student) " + at);
                if (op.hasGrad()) {
                    assertArrayEquals(a.grad(), TestLogits.row(teacherBad.get(k).grad(), r, v), op + " grad (adversarial teacher) " + at);
                    assertArrayEquals(b.grad(), TestLogits.row(studentBad.get(k).grad(), r, v), op + " grad (adversarial student) " + at);
                }
                k++;
            }
        }
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void pairOpsMatchOracleWithAdversarialTeacherOrStudent(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        List<Named> rows = AdversarialRows.all(v, TestLogits.seed("adv-pair", v));
        int n = rows.size();
        float[] x = AdversarialRows.batch(rows);
        float[] ordinary = TestLogits.batch(TestLogits.seed("adv-pair-partner", v), n, v);
        for (PairOp op : PairOp.values()) {
            for (float beta : op == PairOp.JSD ? new float[] {0f, 0.5f, 0.9f, 1f} : new float[] {0.5f}) {
                LossOptions o = LossOptions.defaults().temperature(t).reduction(Reduction.NONE).beta(beta);
                for (boolean badTeacher : new boolean[] {true, false}) {
                    float[] teacher = badTeacher ? x : ordinary;
                    float[] student = badTeacher ? ordinary : x;
                    Run run = Run.pair(ek, op, teacher, student, n, v, o);
                    for (int r = 0; r < n; r++) {
                        String at = backend + " " + op + " β=" + beta + (badTeacher ? " teacher '" : " student '")
                                + rows.get(r) + "' V=" + v + " T=" + t;
                        double[] tr = widen(teacher, r * v, v);
                        double[] sr = widen(student, r * v, v);
                        double ref = op.oracle(tr, sr, t, beta);
                        Spec5.check(Kind.LOSS, run.rowLoss()[r], ref, at);
                        if (!rows.get(r).valid()) {
                            assertTrue(Float.isNaN(run.rowLoss()[r]), "NaN row rule, " + at);
                        }
                        if (op.hasGrad()) {
                            double[] g = op.oracleGrad(tr, sr, t, beta, 1);
                            if (gradientDefined(ref, g) && !rklGradientIllConditioned(op, beta, tr, sr, t)) {
                                Spec5.check(Kind.GRAD, run.grad(), r * v, g, "grad " + at);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * The RKL gradient {@code q ⊙ (log q − log p) − q·KL(q‖p)} subtracts two numbers of the size of KL; when KL
     * exceeds ~1e12 (teacher logits near {@code Float.MAX_VALUE}) a float64 evaluation of that formula loses the
     * gradient's digits. The scalar backend does lose them: {@link RklGradientPrecisionTest} holds that case,
     * so it is left out here to keep this test about the other rows.
     */
    static boolean rklGradientIllConditioned(PairOp op, float beta, double[] t, double[] s, float temperature) {
        boolean usesRkl = op == PairOp.RKL || op == PairOp.JEFFREYS || (op == PairOp.JSD && beta == 1f);
        return usesRkl && Math.abs(Float64Oracle.rkl(t, s, temperature)) > 1e12;
    }

    /** SPEC gives no gradient where the loss is infinite and its formula yields ∞ − ∞ (RKL with p = 0 < q). */
    static boolean gradientDefined(double loss, double[] grad) {
        if (!Double.isInfinite(loss)) {
            return true;
        }
        for (double g : grad) {
            if (!Double.isFinite(g)) {
                return false;
            }
        }
        return true;
    }
}
