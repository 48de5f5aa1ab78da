package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Spec5.Kind;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Gradients whose factor {@code gradScale/T} exceeds {@code Float.MAX_VALUE}: entries that are 0 stay 0
 * (never {@code 0·inf = NaN}), entries whose value overflows float are {@code ±inf}, and every other entry
 * matches the float64 oracle. The SIMD kernels once multiplied by that factor in float32.
 */
@Tag("simd-width")
class GradientScaleOverflowTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;
    /** 1/T = 1e37 and gradScale 100: a factor of 1e39. */
    private static final float TINY_T = 1e-37f;
    private static final float G = 100f;

    private static LossOptions sum(float temperature, float gradScale) {
        return LossOptions.defaults().temperature(temperature).gradScale(gradScale).reduction(Reduction.SUM);
    }

    private static void assertAllZero(float[] grad, String what) {
        for (int i = 0; i < grad.length; i++) {
            assertEquals(0f, Math.abs(grad[i]), what + " grad[" + i + "]");
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void aUniformRowHasAZeroEntropyGradientAtAnyScale(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] grad = new float[4];
        double h = ek.entropy(Tensor.of(new float[4], 1, 4), sum(TINY_T, G), null, Tensor.of(grad, 1, 4));
        Spec5.check(Kind.LOSS, h, Math.log(4), backend + " entropy");
        assertAllZero(grad, backend + " entropy");
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void aStudentEqualToItsTeacherHasAZeroGradientAtAnyScale(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] row = {0f, 0f, NEG_INF, 0f, 0f};
        Tensor t = Tensor.of(row.clone(), 1, row.length);
        Tensor s = Tensor.of(row.clone(), 1, row.length);
        LossOptions o = sum(TINY_T, G);
        for (PairOp op : PairOp.values()) {
            if (op.hasGrad()) {
                float[] grad = new float[row.length];
                double loss = op.run(ek, t, s, o.beta(0.3f), null, Tensor.of(grad, 1, row.length));
                Spec5.check(Kind.LOSS, loss, op == PairOp.CROSS_ENTROPY ? Math.log(4) : 0, backend + " " + op);
                assertAllZero(grad, backend + " " + op);
            }
        }
        float[] grad = new float[row.length];
        Tensor g = Tensor.of(grad, 1, row.length);
        Spec5.check(Kind.LOSS, ek.alphaDivergence(t, s, 0.5f, o, null, g), 0, backend + " alpha");
        assertAllZero(grad, backend + " alpha");
        Spec5.check(Kind.LOSS, ek.renyi(t, s, 2f, o, null, g), 0, backend + " renyi");
        assertAllZero(grad, backend + " renyi");
        Spec5.check(Kind.LOSS, ek.chi2(t, s, o, null, g), 0, backend + " chi2");
        assertAllZero(grad, backend + " chi2");
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void labelGradientsOverflowToInfinityAndMaskedTokensStayZero(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] student = {0f, 0f, NEG_INF, 0f};
        float[] grad = new float[4];
        ek.crossEntropyLabels(Tensor.of(new int[] {1}), Tensor.of(student, 1, 4), sum(TINY_T, G), null,
                Tensor.of(grad, 1, 4));
        // (q − onehot)·1e39 with q = 1/3 on the three live tokens: 3.3e38, −inf at the label, 0 where masked.
        assertEquals(Float.NEGATIVE_INFINITY, grad[1], backend);
        assertEquals(0f, Math.abs(grad[2]), backend);
        checkScaled(grad, Float64Oracle.crossEntropyLabelGrad(Float64Oracle.widen(student), 1, -100, 0, TINY_T, 1), G,
                backend + " labels");
    }

    /**
     * χ² of a student that gives a teacher-weighted token e^−690: {@code S ≈ ¼e^690 ≈ 1e299} multiplies the
     * gradient, so {@code S·gradScale/T} overflows even a double at gradScale 1e10.
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void chiSquaredGradientFactorBeyondDoubleKeepsMaskedTokensAtZero(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] grad = new float[3];
        double loss = ek.chi2(Tensor.of(new float[] {0f, 0f, NEG_INF}, 1, 3), Tensor.of(new float[] {0f, -690f, NEG_INF}, 1, 3),
                sum(1f, 1e10f), null, Tensor.of(grad, 1, 3));
        double ref = ScoringOracle.chi2(new double[] {0, 0, Double.NEGATIVE_INFINITY},
                new double[] {0, -690, Double.NEGATIVE_INFINITY}, 1);
        assertEquals(1, loss / ref, 1e-5, backend + " chi2 (beyond float, so relative)");
        // K·(q − r) with q ≈ (1, e^−690), r ≈ (0, 1): +inf, −inf, and 0 for the masked token.
        assertEquals(Float.POSITIVE_INFINITY, grad[0], backend);
        assertEquals(Float.NEGATIVE_INFINITY, grad[1], backend);
        assertEquals(0f, Math.abs(grad[2]), backend);
    }

    /**
     * Random rows at T = 0.01 with gradScale 1e37: each entry, divided by gradScale, matches the oracle's
     * gradient for gradScale 1 under SPEC §5 (the tolerance of an ordinary scale), or is the {@code ±inf}
     * that the oracle's value rounds to.
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void randomRowsMatchTheOracleOnceTheScaleIsDividedOut(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int v = 37;
        float temp = 0.01f;
        float g = 1e37f;
        long seed = TestLogits.seed("scale-overflow", v);
        float[] t = TestLogits.uniform(seed, v);
        float[] s = TestLogits.uniform(seed + 1, v);
        for (int i = 0; i < v; i++) {
            t[i] *= 0.03f; // |logit| ≤ 0.03: a spread of a few T, so the float32 kernels keep the row
            s[i] *= 0.03f;
        }
        t[5] = NEG_INF;
        s[5] = NEG_INF;
        double[] td = Float64Oracle.widen(t);
        double[] sd = Float64Oracle.widen(s);
        Tensor tt = Tensor.of(t, 1, v);
        Tensor st = Tensor.of(s, 1, v);
        LossOptions o = sum(temp, g).beta(0.3f);
        float[] grad = new float[v];
        ek.entropy(st, o, null, Tensor.of(grad, 1, v));
        checkScaled(grad, Float64Oracle.entropyGrad(sd, temp, 1), g, backend + " entropy");
        for (PairOp op : PairOp.values()) {
            if (op.hasGrad()) {
                op.run(ek, tt, st, o, null, Tensor.of(grad, 1, v));
                checkScaled(grad, op.oracleGrad(td, sd, temp, 0.3, 1), g, backend + " " + op);
            }
        }
        ek.crossEntropyLabels(Tensor.of(new int[] {3}), st, o, null, Tensor.of(grad, 1, v));
        checkScaled(grad, Float64Oracle.crossEntropyLabelGrad(sd, 3, -100, 0, temp, 1), g, backend + " labels");
    }

    /**
     * A finite factor near {@code Float.MAX_VALUE} (T = 1, gradScale 3e38) on a row spread over ±28: the
     * reverse-KL part of a gradient entry, {@code q·(log q − log p)} before its centring, can pass 1, so a
     * float32 product overflows to {@code ±inf} where the entry itself is finite (found by the façade fuzzer:
     * Jeffreys gave −inf for −2.75e38).
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void aFiniteFactorNearTheFloatLimitKeepsFiniteEntriesFinite(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float g = 3e38f;
        // The fuzzer's row.
        float[] s = {-9.5f, 8.96f, 17.630001f, 17.630001f, 17.630001f, 3.24f, 3.33f, -28.07f, -28.07f, -13.04f,
            10.23f, 10.23f, -18.8f};
        float[] t = {13.04f, -1.62f, 19.04f, 28.199999f, -1.3600001f, 2.35f, 2.35f, -18.380001f, -22.15f, -15.1f,
            2.83f, -23.23f, -23.23f};
        int v = s.length;
        double[] td = Float64Oracle.widen(t);
        double[] sd = Float64Oracle.widen(s);
        LossOptions o = sum(1f, g).beta(0.5f);
        float[] grad = new float[v];
        for (PairOp op : PairOp.values()) {
            if (op.hasGrad()) {
                op.run(ek, Tensor.of(t, 1, v), Tensor.of(s, 1, v), o, null, Tensor.of(grad, 1, v));
                checkScaled(grad, op.oracleGrad(td, sd, 1f, 0.5, 1), g, backend + " " + op);
            }
        }
    }

    private static void checkScaled(float[] out, double[] unitRef, double g, String what) {
        double[] scaledOut = new double[out.length];
        for (int i = 0; i < out.length; i++) {
            double ref = unitRef[i] * g;
            if (Math.abs(ref) > Float.MAX_VALUE) {
                assertEquals(Math.copySign(Float.POSITIVE_INFINITY, ref), out[i], what + " [" + i + "] overflows");
                scaledOut[i] = unitRef[i];
            } else {
                assertTrue(Float.isFinite(out[i]), what + " [" + i + "] not finite");
                scaledOut[i] = out[i] / g;
            }
        }
        for (int i = 0; i < out.length; i++) {
            Spec5.check(Kind.GRAD, scaledOut[i], unitRef[i], what + " [" + i + "] / gradScale");
        }
    }
}
