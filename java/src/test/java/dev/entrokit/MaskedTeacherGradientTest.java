package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Spec5.Kind;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The teacher masks token 0, which the student keeps: {@code KL(q‖p)} is {@code +inf} and has no
 * derivative, and every loss with a reverse-KL part (RKL, Jeffreys, JSD at β = 1, Amari at α = 0) gives a
 * gradient that is NaN across the row. Its formula gave {@code ∞ − ∞ = NaN} at token 0 and {@code −inf} at
 * the others, entries that read like a direction.
 */
@Tag("simd-width")
class MaskedTeacherGradientTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;
    /** Two rows found by the API harness (the gradient scale is its MEAN over 9 rows of 3.4e38), each with its student. */
    private static final float[][] TEACHERS = {{NEG_INF, 1.4E-45f, 0.001365f}, {NEG_INF, 1.1754944E-38f, -0.001229f}};
    private static final float[][] STUDENTS = {{-0.002338f, 5.5800006E-4f, -1.8320133E13f}, {0.001487f, 0.0022390003f, 9.41E-4f}};

    private interface Loss {
        double run(Entrokit ek, Tensor t, Tensor s, LossOptions o, Tensor grad);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void everyReverseKlPartGivesANaNRow(String backend) {
        Entrokit ek = TestBackends.open(backend);
        Loss rklJsd = (e, t, s, o, g) -> e.jsd(t, s, o.beta(1f), null, g);
        Loss amari0 = (e, t, s, o, g) -> e.alphaDivergence(t, s, 0f, o, null, g);
        Loss[] losses = {(e, t, s, o, g) -> e.rkl(t, s, o, null, g), (e, t, s, o, g) -> e.jeffreys(t, s, o, null, g),
            rklJsd, amari0};
        String[] names = {"rkl", "jeffreys", "jsd β=1", "alpha α=0"};
        for (float gradScale : new float[] {1f, Float.MAX_VALUE / 9}) {
            LossOptions o = LossOptions.defaults().gradScale(gradScale);
            for (int r = 0; r < TEACHERS.length; r++) {
                double[] t = widen(TEACHERS[r]);
                double[] s = widen(STUDENTS[r]);
                for (int l = 0; l < losses.length; l++) {
                    String at = backend + " " + names[l] + " row " + r + " gradScale " + gradScale;
                    float[] grad = new float[3];
                    double loss = losses[l].run(ek, Tensor.of(TEACHERS[r].clone(), 1, 3), Tensor.of(STUDENTS[r].clone(), 1, 3),
                            o, Tensor.of(grad, 1, 3));
                    assertEquals(Double.POSITIVE_INFINITY, loss, at + ": loss");
                    for (int i = 0; i < 3; i++) {
                        assertTrue(Float.isNaN(grad[i]), at + ": gradient " + i + " is " + grad[i] + ", not NaN");
                    }
                    double[] ref = l == 1 ? Float64Oracle.jeffreysGrad(t, s, 1, gradScale)
                            : Float64Oracle.rklGrad(t, s, 1, gradScale);
                    Spec5.check(Kind.GRAD, grad, 0, ref, at + " vs the oracle");
                }
            }
        }
    }

    /** Where the student masks token 0 too, the reverse KL is finite and so is its gradient, 0 at that token. */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void aTokenMaskedOnBothSidesKeepsTheGradientFinite(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] teacher = TEACHERS[1];
        float[] student = {NEG_INF, 0.0022390003f, 9.41E-4f};
        float[] grad = new float[3];
        double loss = ek.rkl(Tensor.of(teacher.clone(), 1, 3), Tensor.of(student.clone(), 1, 3), LossOptions.defaults(), null,
                Tensor.of(grad, 1, 3));
        Spec5.check(Kind.LOSS, loss, Float64Oracle.rkl(widen(teacher), widen(student), 1), backend + " rkl");
        Spec5.check(Kind.GRAD, grad, 0, Float64Oracle.rklGrad(widen(teacher), widen(student), 1, 1), backend + " rkl grad");
        assertEquals(0f, grad[0], backend + ": the masked token's gradient");
    }
}
