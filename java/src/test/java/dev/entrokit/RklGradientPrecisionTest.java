package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;

import dev.entrokit.Spec5.Kind;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * LIBRARY BUG (reported, not fixed here): the reverse-KL gradient loses its digits when the teacher has a
 * logit at {@code Float.MAX_VALUE} and the student puts little mass there.
 *
 * <p>Teacher {@code [MAX, 0, 0, 0]}, student {@code [-30, 1, 2, 3]}, T = 1: {@code KL(q‖p) ≈ 3.4e38} and the
 * gradient is {@code q ⊙ (log q − log p − KL)}, a difference of two ~3.4e38 numbers whose true value is
 * ~1e23. {@code ScalarDivergenceKernels.writeRklGrad} evaluates it as written in float64 and is 3 % off
 * (SPEC §5 allows 1e-5 relative). The expected values below come from 120-digit arithmetic (mpmath) and
 * agree with {@link Float64Oracle#rklGrad}, which shifts every {@code log q_i − log p_i} by its value at the
 * student's argmax before subtracting (computed from logit differences, no cancellation).
 */
@Tag("simd-width")
class RklGradientPrecisionTest {
    static final float[] TEACHER = {Float.MAX_VALUE, 0f, 0f, 0f};
    static final float[] STUDENT = {-30f, 1f, 2f, 3f};
    /** ∂KL(q‖p)/∂s, 120-digit reference. */
    static final double[] EXPECTED = {-1.0546309083e24, 9.49490251578e22, 2.58098209716e23, 7.01583673429e23};

    @org.junit.jupiter.api.Test
    void oracleAgreesWithHighPrecisionReference() {
        double[] g = Float64Oracle.rklGrad(widen(TEACHER), widen(STUDENT), 1, 1);
        for (int i = 0; i < 4; i++) {
            Spec5.check(Kind.GRAD, g[i], EXPECTED[i], "oracle rkl grad at " + i);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.entrokit.TestBackends#names")
    void rklGradientStaysAccurateWhenTeacherLogitReachesFloatMax(String backend) {
        Entrokit ek = TestBackends.open(backend);
        for (PairOp op : new PairOp[] {PairOp.RKL, PairOp.JEFFREYS}) {
            // Jeffreys adds q − p, which is ≤ 1 here: the expected gradient is the same to 1e-23 relative.
            Run run = Run.pair(ek, op, TEACHER, STUDENT, 1, 4, LossOptions.defaults());
            Spec5.check(Kind.GRAD, run.grad(), 0, EXPECTED, backend + " " + op + " grad, teacher " + java.util.Arrays
                    .toString(TEACHER) + ", student " + java.util.Arrays.toString(STUDENT));
        }
        Run jsd1 = Run.pair(ek, PairOp.JSD, TEACHER, STUDENT, 1, 4, LossOptions.defaults().beta(1f));
        Spec5.check(Kind.GRAD, jsd1.grad(), 0, EXPECTED, backend + " JSD β=1 (= RKL) grad");
    }
}
