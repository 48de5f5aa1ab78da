package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static dev.entrokit.PolicyLossTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.entrokit.Spec5.Kind;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Distillation from a sparse (top-k) teacher on every backend and SIMD width: forward KL, reverse KL and
 * JSD(β) in both {@link TeacherMass} conventions, values and student gradients against {@link PolicyOracle}
 * at the SPEC §5 tolerances (masked tokens, ignored rows, adversarial student rows), gradients against central
 * differences, the dense KL as the {@code k = V} case, and the refusals.
 */
@Tag("simd-width")
class SparseDistillTest {
    static final int IGNORE = LossOptions.DEFAULT_IGNORE_INDEX;
    static final float[] JSD_BETAS = {0f, 0.2f, 0.5f, 0.9f, 1f};

    static Stream<Arguments> backendSizes() {
        return Cases.backendSizeTemperature(new int[] {7, 33, 1000, 32001}, new float[] {1f, 0.7f, 2f});
    }

    static Stream<Arguments> backendSmall() {
        return PolicyLossTest.backendSmall();
    }

    /** A sparse teacher row: ids and their log-probabilities under {@code softmax(teacher)}. */
    record Sparse(int[] ids, float[] logprobs) {
    }

    /**
     * Even rows: the teacher's top-k (what a server returns); odd rows: k random distinct ids (masked teacher
     * tokens included, log-probability {@code −inf}); every fourth row ignored.
     */
    static Sparse teacher(long seed, float[] teacher, int rows, int v, int k) {
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x70CCL);
        int[] ids = new int[rows * k];
        float[] lp = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            double[] tr = widen(teacher, r * v, v);
            double[] ls = Float64Oracle.logSoftmax(tr, 1);
            Integer[] order = new Integer[v];
            for (int i = 0; i < v; i++) {
                order[i] = i;
            }
            if (r % 2 == 0) {
                Arrays.sort(order, (a, b) -> Double.compare(tr[b], tr[a]));
            } else {
                for (int i = v - 1; i > 0; i--) {
                    int j = rnd.nextInt(i + 1);
                    Integer swap = order[i];
                    order[i] = order[j];
                    order[j] = swap;
                }
            }
            for (int j = 0; j < k; j++) {
                ids[r * k + j] = r % 4 == 3 ? IGNORE : order[j];
                lp[r * k + j] = r % 4 == 3 ? -1f : (float) Math.min(0, ls[order[j]]);
            }
        }
        return new Sparse(ids, lp);
    }

    static int[] ks(int v) {
        return v <= 7 ? new int[] {1, 3, v} : new int[] {1, 5, 20};
    }

    private static int opCode(SparseDivergence d, float beta) {
        return switch (d) {
            case FORWARD_KL -> 0;
            case REVERSE_KL -> 1;
            case JSD -> beta == 0f ? 0 : beta == 1f ? 1 : 2;
        };
    }

    private static void checkRows(Entrokit ek, SparseDivergence d, TeacherMass mass, float beta, Sparse sp, int k,
                                  float[] student, int rows, int v, float t, String what) {
        double g = 0.8;
        LossOptions o = LossOptions.defaults().temperature(t).beta(beta).reduction(Reduction.NONE).gradScale((float) g);
        float[] loss = new float[rows];
        float[] grad = new float[rows * v];
        ek.sparseDistill(d, mass, Tensor.of(sp.ids(), rows, k), Tensor.of(sp.logprobs(), rows, k),
                Tensor.of(student, rows, v), o, Tensor.of(loss), Tensor.of(grad, rows, v));
        boolean rest = mass == TeacherMass.REST_BUCKET;
        int op = opCode(d, beta);
        for (int r = 0; r < rows; r++) {
            String at = what + " " + d + " " + mass + " β=" + beta + " k=" + k + " row " + r;
            if (sp.ids()[r * k] == IGNORE) {
                assertEquals(0f, loss[r], at);
                Spec5.check(Kind.GRAD, grad, r * v, new double[v], "ignored " + at);
                continue;
            }
            int[] ids = Arrays.copyOfRange(sp.ids(), r * k, (r + 1) * k);
            double[] lp = widen(sp.logprobs(), r * k, k);
            double[] s = widen(student, r * v, v);
            Spec5.check(Kind.LOSS, loss[r], PolicyOracle.sparse(op, rest, ids, lp, s, t, beta), "loss " + at);
            Spec5.check(Kind.GRAD, grad, r * v, PolicyOracle.sparseGrad(op, rest, ids, lp, s, t, beta, g), "grad " + at);
        }
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("backendSizes")
    void everyDivergenceAndConventionMatchesTheOracle(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        int rows = v >= 32001 ? 4 : 8;
        long seed = TestLogits.seed("sparse", v, t);
        float[] teacher = TestLogits.batch(seed, rows, v);
        float[] student = TestLogits.studentFor(teacher, seed, rows, v);
        for (int k : ks(v)) {
            Sparse sp = teacher(seed, teacher, rows, v, k);
            for (TeacherMass mass : TeacherMass.values()) {
                for (SparseDivergence d : SparseDivergence.values()) {
                    for (float beta : d == SparseDivergence.JSD ? JSD_BETAS : new float[] {0.5f}) {
                        checkRows(ek, d, mass, beta, sp, k, student, rows, v, t, backend + " V=" + v + " T=" + t);
                    }
                }
            }
        }
    }

    /** With all V ids and the teacher's full log-softmax, the sparse forward and reverse KL are the dense ones. */
    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("backendSmall")
    void allIdsGiveTheDenseDivergences(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        int rows = 3;
        long seed = TestLogits.seed("sparse-dense", v, t);
        float[] teacher = TestLogits.batch(seed, rows, v);
        float[] student = TestLogits.studentFor(teacher, seed, rows, v);
        int[] ids = new int[rows * v];
        float[] lp = new float[rows * v];
        for (int r = 0; r < rows; r++) {
            double[] ls = Float64Oracle.logSoftmax(widen(teacher, r * v, v), t);
            for (int i = 0; i < v; i++) {
                ids[r * v + i] = v - 1 - i;
                lp[r * v + i] = (float) ls[v - 1 - i];
            }
        }
        for (TeacherMass mass : TeacherMass.values()) {
            float[] sparse = new float[rows];
            LossOptions o = LossOptions.defaults().temperature(t).reduction(Reduction.NONE);
            ek.sparseDistill(SparseDivergence.FORWARD_KL, mass, Tensor.of(ids, rows, v), Tensor.of(lp, rows, v),
                    Tensor.of(student, rows, v), o, Tensor.of(sparse), null);
            double[] want = new double[rows];
            for (int r = 0; r < rows; r++) {
                want[r] = Float64Oracle.kl(widen(teacher, r * v, v), widen(student, r * v, v), t);
            }
            // The teacher's log-probs are float32 here, so the reference moves by their rounding: 1e-6 nats.
            for (int r = 0; r < rows; r++) {
                double allowed = Kind.LOSS.allowed(want[r]) + 1e-6;
                double diff = Math.abs(sparse[r] - want[r]);
                org.junit.jupiter.api.Assertions.assertTrue(diff <= allowed,
                        backend + " " + mass + " row " + r + ": " + sparse[r] + " vs dense KL " + want[r]);
            }
        }
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("backendSmall")
    void oracleAndKernelGradientsAreTheDerivatives(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        int rows = 3;
        long seed = TestLogits.seed("sparse-fd", v, t);
        float[] teacher = TestLogits.batch(seed, rows, v);
        float[] student = TestLogits.studentFor(teacher, seed, rows, v);
        for (int i = 0; i < student.length; i++) {
            student[i] *= 0.6f; // scale 2, so that central differences stay accurate
        }
        int k = Math.min(v - 2, 5);
        Sparse sp = teacher(seed, teacher, rows, v, k);
        double g = 0.8;
        for (TeacherMass mass : TeacherMass.values()) {
            boolean rest = mass == TeacherMass.REST_BUCKET;
            for (SparseDivergence d : SparseDivergence.values()) {
                float beta = d == SparseDivergence.JSD ? 0.3f : 0.5f;
                int op = opCode(d, beta);
                float[] grad = new float[rows * v];
                LossOptions o = LossOptions.defaults().temperature(t).beta(beta).gradScale((float) g);
                ek.sparseDistill(d, mass, Tensor.of(sp.ids(), rows, k), Tensor.of(sp.logprobs(), rows, k),
                        Tensor.of(student, rows, v), o, null, Tensor.of(grad, rows, v));
                for (int r = 0; r < rows; r++) {
                    int[] ids = Arrays.copyOfRange(sp.ids(), r * k, (r + 1) * k);
                    double[] lp = widen(sp.logprobs(), r * k, k);
                    double[] s = widen(student, r * v, v);
                    double loss = PolicyOracle.sparse(op, rest, ids, lp, s, t, beta);
                    if (!Double.isFinite(loss)) {
                        continue; // no derivative to take (SPEC §1)
                    }
                    String at = backend + " " + d + " " + mass + " row " + r + " V=" + v + " T=" + t;
                    double[] fd = CentralDifferences.scale(CentralDifferences.gradient(
                            z -> PolicyOracle.sparse(op, rest, ids, lp, z, t, beta), s), g);
                    Spec5.check(Kind.GRAD, PolicyLossTest.toFloat(PolicyOracle.sparseGrad(op, rest, ids, lp, s, t, beta,
                            g)), 0, fd, "oracle grad vs central differences " + at);
                    Spec5.check(Kind.GRAD, grad, r * v, fd, "kernel grad vs central differences " + at);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("backendSmall")
    void adversarialStudentRowsMatchTheOracle(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        List<AdversarialRows.Named> named = AdversarialRows.all(v, TestLogits.seed("sparse-adv", v));
        int rows = named.size();
        float[] student = AdversarialRows.batch(named);
        float[] teacher = TestLogits.batch(TestLogits.seed("sparse-adv-t", v), rows, v);
        int k = 4;
        Sparse sp = teacher(TestLogits.seed("sparse-adv-ids", v), teacher, rows, v, k);
        for (TeacherMass mass : TeacherMass.values()) {
            for (SparseDivergence d : SparseDivergence.values()) {
                checkRows(ek, d, mass, 0.5f, sp, k, student, rows, v, t, backend + " adversarial V=" + v + " T=" + t);
            }
        }
    }

    /**
     * A student whose ids stand 800 units above the rest (within the float pass's 1e4 spread): the rest's mass,
     * e^−800, underflows float64 relative to the row's maximum, yet its log and each token's share of it are
     * finite, and the rest bucket's gradient must carry them.
     */
    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("backendSmall")
    void aRestFarBelowTheIdsKeepsItsShape(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        int rows = 2;
        int k = 3;
        long seed = TestLogits.seed("sparse-far-rest", v, t);
        float[] student = TestLogits.batch(seed, rows, v);
        int[] ids = new int[rows * k];
        float[] lp = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < k; j++) {
                ids[r * k + j] = (r + 2 * j + 1) % v;
                student[r * v + ids[r * k + j]] = 800f + j;
                lp[r * k + j] = (float) Math.log(0.2 + 0.1 * j);
            }
            for (int i = 0; i < v; i++) {
                if (student[r * v + i] == Float.NEGATIVE_INFINITY) {
                    student[r * v + i] = 0f;
                }
            }
        }
        Sparse sp = new Sparse(ids, lp);
        for (SparseDivergence d : SparseDivergence.values()) {
            checkRows(ek, d, TeacherMass.REST_BUCKET, 0.5f, sp, k, student, rows, v, t, backend + " far rest V=" + v
                    + " T=" + t);
        }
    }

    @Test
    void reductionsCountTheRowsThatTakePart() {
        for (String backend : TestBackends.availableNames()) {
            Entrokit ek = TestBackends.instance(backend);
            int v = 33;
            int rows = 8;
            int k = 5;
            long seed = TestLogits.seed("sparse-mean", v);
            float[] teacher = TestLogits.batch(seed, rows, v);
            float[] student = TestLogits.studentFor(teacher, seed, rows, v);
            Sparse sp = teacher(seed, teacher, rows, v, k);
            Tensor ids = Tensor.of(sp.ids(), rows, k);
            Tensor lp = Tensor.of(sp.logprobs(), rows, k);
            float[] perRow = new float[rows];
            LossOptions o = LossOptions.defaults().reduction(Reduction.NONE);
            double sum = ek.sparseDistill(SparseDivergence.FORWARD_KL, TeacherMass.REST_BUCKET, ids, lp,
                    Tensor.of(student, rows, v), o, Tensor.of(perRow), null);
            double mean = ek.sparseDistill(SparseDivergence.FORWARD_KL, TeacherMass.REST_BUCKET, ids, lp,
                    Tensor.of(student, rows, v), o.reduction(Reduction.MEAN), null, null);
            double batchMean = ek.sparseDistill(SparseDivergence.FORWARD_KL, TeacherMass.REST_BUCKET, ids, lp,
                    Tensor.of(student, rows, v), o.reduction(Reduction.BATCHMEAN), null, null);
            assertEquals(sum / 6, mean, 1e-12 * Math.abs(sum), backend + ": rows 3 and 7 are ignored");
            assertEquals(sum / rows, batchMean, 1e-12 * Math.abs(sum), backend);
        }
    }

    @Test
    void badTeachersAreRefusedByName() {
        Entrokit ek = TestBackends.scalarReference();
        int v = 6;
        Tensor s = Tensor.of(new float[2 * v], 2, v);
        LossOptions o = LossOptions.defaults();
        Tensor lp = Tensor.of(new float[] {-1f, -2f, -1f, -2f}, 2, 2);
        assertMessage("teacherIds: 6 at [1, 0] is outside [0, 6)", () -> ek.sparseDistill(SparseDivergence.FORWARD_KL,
                TeacherMass.RENORMALIZED, Tensor.of(new int[] {0, 1, 6, 2}, 2, 2), lp, s, o, null, null));
        assertMessage("teacherIds: id 3 appears more than once in row 1", () -> ek.sparseDistill(
                SparseDivergence.REVERSE_KL, TeacherMass.RENORMALIZED, Tensor.of(new int[] {0, 1, 3, 3}, 2, 2), lp, s, o,
                null, null));
        assertMessage("teacherIds: -100 at [0, 1] is outside [0, 6) (ignoreIndex marks a row only when every id",
                () -> ek.sparseDistill(SparseDivergence.JSD, TeacherMass.RENORMALIZED,
                        Tensor.of(new int[] {0, IGNORE, 1, 2}, 2, 2), lp, s, o, null, null));
        assertMessage("teacherLogprobs: 0.25 at [1, 1] is not a log-probability", () -> ek.sparseDistill(
                SparseDivergence.FORWARD_KL, TeacherMass.RENORMALIZED, Tensor.of(new int[] {0, 1, 2, 3}, 2, 2),
                Tensor.of(new float[] {-1f, -2f, -1f, 0.25f}, 2, 2), s, o, null, null));
        assertMessage("teacherLogprobs: NaN at [0, 0]", () -> ek.sparseDistill(SparseDivergence.FORWARD_KL,
                TeacherMass.RENORMALIZED, Tensor.of(new int[] {0, 1, 2, 3}, 2, 2),
                Tensor.of(new float[] {Float.NaN, -2f, -1f, -1f}, 2, 2), s, o, null, null));
        assertMessage("teacherLogprobs: row 0 holds probability", () -> ek.sparseDistill(SparseDivergence.FORWARD_KL,
                TeacherMass.REST_BUCKET, Tensor.of(new int[] {0, 1, 2, 3}, 2, 2),
                Tensor.of(new float[] {-0.1f, -0.2f, -1f, -1f}, 2, 2), s, o, null, null));
        assertMessage("teacherIds: k = 7 ids per row must be in [1, V = 6]", () -> ek.sparseDistill(
                SparseDivergence.FORWARD_KL, TeacherMass.RENORMALIZED, Tensor.of(new int[14], 2, 7),
                Tensor.of(new float[14], 2, 7), s, o, null, null));
        assertMessage("teacherLogprobs: shape [2, 3] does not match teacherIds [2, 2]", () -> ek.sparseDistill(
                SparseDivergence.FORWARD_KL, TeacherMass.RENORMALIZED, Tensor.of(new int[] {0, 1, 2, 3}, 2, 2),
                Tensor.of(new float[6], 2, 3), s, o, null, null));
        assertMessage("divergence: must not be null", () -> ek.sparseDistill(null, TeacherMass.RENORMALIZED,
                Tensor.of(new int[] {0, 1, 2, 3}, 2, 2), lp, s, o, null, null));
        // The same teacher is accepted renormalized: its sum above 1 only matters to the rest bucket.
        ek.sparseDistill(SparseDivergence.FORWARD_KL, TeacherMass.RENORMALIZED, Tensor.of(new int[] {0, 1, 2, 3}, 2, 2),
                Tensor.of(new float[] {-0.1f, -0.2f, -1f, -1f}, 2, 2), s, o, null, null);
    }
}
