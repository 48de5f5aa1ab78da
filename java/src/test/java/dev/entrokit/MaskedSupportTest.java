package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Spec5.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Masked tokens ({@code -inf}) on one side only, per SPEC §1: {@code p_i = 0} contributes 0, {@code p_i > 0}
 * where {@code q_i = 0} makes KL {@code +inf}; and hard labels with label smoothing over masked logits.
 */
@Tag("simd-width")
class MaskedSupportTest {

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String b : TestBackends.NAMES) {
            for (int v : new int[] {7, 16, 33, 1000}) {
                for (float t : new float[] {1f, 0.7f}) {
                    out.add(Arguments.of(b, v, t));
                }
            }
        }
        return out.stream();
    }

    /** Rows 0..2: ordinary logits with every third entry (from {@code from}) masked. */
    private static float[] masked(int v, long seed, int from) {
        float[] x = TestLogits.batch(seed, 1, v);
        for (int i = from; i < v; i += 3) {
            x[i] = Float.NEGATIVE_INFINITY;
        }
        return x;
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void teacherMaskedWhereStudentIsFinite(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        float[] teacher = masked(v, TestLogits.seed("mt", v), 1);
        float[] student = TestLogits.batch(TestLogits.seed("ms", v), 1, v);
        LossOptions o = LossOptions.defaults().temperature(t);
        float[] loss = new float[1];
        float[] grad = new float[v];
        ek.kl(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o, Tensor.of(loss), Tensor.of(grad, 1, v));
        assertTrue(Float.isFinite(loss[0]), "KL(p‖q) is finite when p = 0 where q > 0, got " + loss[0]);
        Spec5.check(Kind.LOSS, loss[0], Float64Oracle.kl(widen(teacher), widen(student), t), backend + " KL");
        Spec5.check(Kind.GRAD, grad, 0, Float64Oracle.qMinusPGrad(widen(teacher), widen(student), t, 1), backend + " KL grad");
        ek.crossEntropy(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o, Tensor.of(loss), null);
        Spec5.check(Kind.LOSS, loss[0], Float64Oracle.crossEntropy(widen(teacher), widen(student), t), backend + " CE");
        ek.rkl(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o, Tensor.of(loss), null);
        assertEquals(Float.POSITIVE_INFINITY, loss[0], backend + " KL(q‖p) = +inf when q > 0 where p = 0");
        ek.jeffreys(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o, Tensor.of(loss), null);
        assertEquals(Float.POSITIVE_INFINITY, loss[0], backend + " Jeffreys = +inf when one KL is");
        ek.jsd(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o.beta(0.5f), Tensor.of(loss), Tensor.of(grad, 1, v));
        assertTrue(Float.isFinite(loss[0]) && loss[0] <= Math.log(2) + 1e-6, backend + " JSD stays finite, ≤ ln 2: " + loss[0]);
        Spec5.check(Kind.GRAD, grad, 0, Float64Oracle.jsdGrad(widen(teacher), widen(student), 0.5, t, 1), backend + " JSD grad");
        ek.tv(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o, Tensor.of(loss));
        Spec5.check(Kind.LOSS, loss[0], Float64Oracle.tv(widen(teacher), widen(student), t), backend + " TV");
        ek.hellinger(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o, Tensor.of(loss));
        Spec5.check(Kind.LOSS, loss[0], Float64Oracle.hellinger(widen(teacher), widen(student), t), backend + " Hellinger");
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void studentMaskedWhereTeacherIsFinite(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        float[] teacher = TestLogits.batch(TestLogits.seed("mt2", v), 1, v);
        float[] student = masked(v, TestLogits.seed("ms2", v), 2);
        LossOptions o = LossOptions.defaults().temperature(t);
        float[] loss = new float[1];
        float[] grad = new float[v];
        ek.kl(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o, Tensor.of(loss), Tensor.of(grad, 1, v));
        assertEquals(Float.POSITIVE_INFINITY, loss[0], backend + " KL(p‖q) = +inf when p > 0 where q = 0");
        // SPEC §1: the KL gradient is q − p whatever the value.
        Spec5.check(Kind.GRAD, grad, 0, Float64Oracle.qMinusPGrad(widen(teacher), widen(student), t, 1), backend + " KL grad");
        ek.crossEntropy(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o, Tensor.of(loss), null);
        assertEquals(Float.POSITIVE_INFINITY, loss[0], backend + " CE = +inf when p > 0 where q = 0");
        ek.jsd(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o.beta(0f), Tensor.of(loss), null);
        assertEquals(Float.POSITIVE_INFINITY, loss[0], backend + " JSD β=0 is KL(P‖Q) = +inf here");
        ek.rkl(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o, Tensor.of(loss), Tensor.of(grad, 1, v));
        Spec5.check(Kind.LOSS, loss[0], Float64Oracle.rkl(widen(teacher), widen(student), t), backend + " RKL finite");
        Spec5.check(Kind.GRAD, grad, 0, Float64Oracle.rklGrad(widen(teacher), widen(student), t, 1), backend + " RKL grad");
        for (int i = 2; i < v; i += 3) {
            assertEquals(0f, grad[i], backend + " RKL grad of a masked student logit is 0 at " + i);
        }
        ek.jsd(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o.beta(0.3f), Tensor.of(loss), Tensor.of(grad, 1, v));
        Spec5.check(Kind.LOSS, loss[0], Float64Oracle.jsd(widen(teacher), widen(student), 0.3f, t), backend + " JSD β=0.3");
        Spec5.check(Kind.GRAD, grad, 0, Float64Oracle.jsdGrad(widen(teacher), widen(student), 0.3f, t, 1), backend + " JSD grad");
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void disjointSupportsReachTheBounds(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        float[] teacher = TestLogits.batch(TestLogits.seed("dt", v), 1, v);
        float[] student = TestLogits.batch(TestLogits.seed("ds", v), 1, v);
        for (int i = 0; i < v; i++) {
            if (i % 2 == 0) {
                student[i] = Float.NEGATIVE_INFINITY;
            } else {
                teacher[i] = Float.NEGATIVE_INFINITY;
            }
        }
        LossOptions o = LossOptions.defaults().temperature(t);
        float[] loss = new float[1];
        ek.jsd(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o.beta(0.5f), Tensor.of(loss), null);
        Spec5.check(Kind.LOSS, loss[0], Math.log(2), backend + " JSD of disjoint supports is ln 2");
        ek.tv(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o, Tensor.of(loss));
        Spec5.check(Kind.LOSS, loss[0], 1, backend + " TV of disjoint supports is 1");
        ek.hellinger(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o, Tensor.of(loss));
        Spec5.check(Kind.LOSS, loss[0], 1, backend + " Hellinger of disjoint supports is 1");
        ek.kl(Tensor.of(teacher, 1, v), Tensor.of(student, 1, v), o, Tensor.of(loss), null);
        assertEquals(Float.POSITIVE_INFINITY, loss[0], backend + " KL of disjoint supports");
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void labelSmoothingWithMaskedLogits(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        float[] student = TestLogits.batch(TestLogits.seed("ls", v), 3, v);
        for (int r = 0; r < 3; r++) {
            for (int i = 1; i < v; i += 4) {
                student[r * v + i] = Float.NEGATIVE_INFINITY;
            }
        }
        int[] labels = {0, 1, 2}; // row 1's label is a masked logit
        for (float eps : new float[] {0f, 0.1f, 0.5f}) {
            LossOptions o = LossOptions.defaults().temperature(t).labelSmoothing(eps).reduction(Reduction.NONE);
            Run run = Run.labels(ek, labels, student, 3, v, o);
            for (int r = 0; r < 3; r++) {
                double[] sr = widen(student, r * v, v);
                String at = backend + " ε=" + eps + " row " + r + " label " + labels[r];
                double ref = Float64Oracle.crossEntropyLabelRow(sr, labels[r], -100, eps, t);
                // SPEC §1 as written: ε·mean_i(−log q_i) is +inf as soon as one logit is masked, and the
                // label's own term is +inf when the label is masked.
                assertEquals(eps > 0 || r == 1 ? Double.POSITIVE_INFINITY : ref, ref, "oracle sanity " + at);
                Spec5.check(Kind.LOSS, run.rowLoss()[r], ref, "smoothed CE " + at);
                Spec5.check(Kind.GRAD, run.grad(), r * v, Float64Oracle.crossEntropyLabelGrad(sr, labels[r], -100, eps, t, 1),
                        "smoothed CE grad (q − target) " + at);
            }
        }
    }
}
