package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Spec5.Kind;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A token the student masks ({@code −inf}) under a teacher weight that underflows to 0: every loss with a
 * gradient stays finite there and gives that token a gradient of exactly 0, and the finite entries match
 * central differences of the float64 oracle. PLD once gave NaN there: the rank of a teacher weight of
 * {@code e^−1001} started a term over an all-masked suffix ({@code logW − (−inf)}).
 */
@Tag("simd-width")
class MaskedStudentGradientTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;
    private static final float[] TEACHER = {0f, 1f, -1000f};
    private static final float[] STUDENT = {0f, 1f, NEG_INF};

    private static Tensor row(float[] x) {
        return Tensor.of(x.clone(), 1, x.length);
    }

    private static void checkGrad(float[] grad, double[] fd, String what) {
        assertEquals(0f, Math.abs(grad[2]), what + ": the masked token's gradient");
        for (int i = 0; i < 2; i++) {
            assertTrue(Float.isFinite(grad[i]), what + " [" + i + "]");
            Spec5.check(Kind.GRAD, grad[i], fd[i], what + " [" + i + "] vs central differences");
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void pldGivesTheMaskedTokenAZeroGradient(String backend) {
        Entrokit ek = TestBackends.open(backend);
        double[] t = Float64Oracle.widen(TEACHER);
        float[] grad = new float[3];
        double loss = ek.pld(row(TEACHER), row(STUDENT), Tensor.of(new int[] {1}), LossOptions.defaults(), null,
                Tensor.of(grad, 1, 3));
        double ref = ScoringOracle.pld(t, Float64Oracle.widen(STUDENT), 1, 1);
        Spec5.check(Kind.LOSS, loss, ref, backend + " PLD");
        assertEquals(0.229, loss, 5e-4, backend + " PLD (the reported value)");
        double[] fd = CentralDifferences.gradient(z -> ScoringOracle.pld(t, z, 1, 1), Float64Oracle.widen(STUDENT));
        checkGrad(grad, fd, backend + " PLD");
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void everyOtherLossWithAFiniteValueGivesTheMaskedTokenAZeroGradient(String backend) {
        Entrokit ek = TestBackends.open(backend);
        double[] t = Float64Oracle.widen(TEACHER);
        double[] s = Float64Oracle.widen(STUDENT);
        LossOptions o = LossOptions.defaults().beta(0.3f);
        for (PairOp op : PairOp.values()) {
            double ref = op.oracle(t, s, 1, 0.3);
            if (!op.hasGrad() || !Double.isFinite(ref)) {
                continue; // CE, KL and Jeffreys are +inf here: the teacher's e^−1001 is not 0
            }
            float[] grad = new float[3];
            double loss = op.run(ek, row(TEACHER), row(STUDENT), o, null, Tensor.of(grad, 1, 3));
            Spec5.check(Kind.LOSS, loss, ref, backend + " " + op);
            checkGrad(grad, CentralDifferences.gradient(z -> op.oracle(t, z, 1, 0.3), s), backend + " " + op);
        }
        float[] grad = new float[3];
        double loss = ek.alphaDivergence(row(TEACHER), row(STUDENT), 0.5f, o, null, Tensor.of(grad, 1, 3));
        Spec5.check(Kind.LOSS, loss, ScoringOracle.amari(t, s, 0.5, 1), backend + " alpha");
        checkGrad(grad, CentralDifferences.gradient(z -> ScoringOracle.amari(t, z, 0.5, 1), s), backend + " alpha");
        loss = ek.crossEntropyLabels(Tensor.of(new int[] {0}), row(STUDENT), o, null, Tensor.of(grad, 1, 3));
        Spec5.check(Kind.LOSS, loss, Float64Oracle.crossEntropyLabel(s, 0, 0, 1), backend + " labels");
        checkGrad(grad, CentralDifferences.gradient(z -> Float64Oracle.crossEntropyLabel(z, 0, 0, 1), s),
                backend + " labels");
    }
}
