package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.entrokit.Spec5.Kind;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Rows from the API harness where a term's probabilities underflow float64 but the term does not: the
 * kernels, which work from logit differences, were right, and the oracle, which worked from
 * probabilities (or from raw logits near 1e37), was not. Each row is checked against a value worked out
 * by hand and against the oracle, which now works from log-probabilities.
 */
@Tag("simd-width")
class UnderflowingTermsTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    private static Tensor row(float[] x) {
        return Tensor.of(x.clone(), 1, x.length);
    }

    /**
     * Teacher and student are one-hot on token 3 at T = 1e-38, yet {@code p_15²/q_15 = e^{2·(−130) e38 + 29110 e38}}:
     * χ² is far beyond float, not the 0 that probabilities rounded to 0 and 1 suggest.
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void chi2OfNearlyOneHotRowsOverflows(String backend) {
        float[] s = {-9840f, -12920.001f, 3510f, 28440.002f, -28730f, 25300f, 8900f, -5630f, -5630f, -23920f, 25930f,
            7940.0005f, -23570.002f, -13850f, 13800f, -670f};
        float[] t = {-2870f, 17590f, -7970f, 29250f, 4690f, -26180f, -28280f, -8130f, 21870f, 10599.999f, 13700f,
            27880.002f, 27880.002f, 13090f, -12610f, 29120f};
        LossOptions o = LossOptions.defaults().temperature(1e-38f).gradScale(3e38f);
        assertEquals(Double.POSITIVE_INFINITY, ScoringOracle.chi2(widen(t), widen(s), o.temperature()), "oracle");
        float[] grad = new float[s.length];
        double loss = TestBackends.open(backend).chi2(row(t), row(s), o, null, Tensor.of(grad, 1, s.length));
        assertEquals(Double.POSITIVE_INFINITY, loss, backend + " χ²");
        for (float g : grad) {
            assertEquals(Float.NaN, g, backend + " χ² gradient of an infinite loss");
        }
    }

    /** Both one-hot on token 0 at T = 0.5, but {@code p_1²/q_1 = e^{2(−2.306e30) + 8.83e30}}: D_2 = (S − 1)/2 overflows. */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void amariAtTwoOfLogitsNear1e30Overflows(String backend) {
        Entrokit ek = TestBackends.open(backend);
        LossOptions o = LossOptions.defaults().temperature(0.5f);
        float[] s = {1.911e30f, -2.504e30f};
        float[] t = {1.189e30f, 3.6e28f};
        assertEquals(Double.POSITIVE_INFINITY, ScoringOracle.amari(widen(t), widen(s), 2, 0.5), "oracle");
        assertEquals(Double.POSITIVE_INFINITY, ek.alphaDivergence(row(t), row(s), 2f, o, null, null), backend);
        // The other way round the dominant term is e^{−1e31}: S = 1 and D_2 = 0 exactly.
        float[] s0 = {2.779e30f, -1.167e30f};
        float[] t0 = {2.09e30f, -2.491e30f};
        assertEquals(0, ScoringOracle.amari(widen(t0), widen(s0), 2, 0.5), "oracle, finite row");
        assertEquals(0, Math.abs(ek.alphaDivergence(row(t0), row(s0), 2f, o, null, null)), backend + ", finite row");
    }

    /**
     * The student masks tokens 26 and 38, where the teacher's probability is {@code e^{−3.4e38}}: tiny, but
     * not 0, so {@code p²/q = +inf} at α = 2 (the documented rule), though float64 rounds that p to 0.
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void amariAtTwoWithAStudentMaskedTokenUnderATinyTeacherProbabilityIsInfinite(String backend) {
        float[] s = {-2.109f, -2.957f, -0.909f, 0.465f, 0.465f, 1.1754944E-38f, 1.969f, -1.4E-45f, -1.4E-45f, -2.533f,
            2.033f, 1.204f, 1.204f, -0.765f, -2.762f, -2.762f, -0.924f, -1.394f, 2.4f, -87.4f, -3.4028235E38f, 1.042f,
            2.962f, -0.2f, 1.82f, -1.825f, NEG_INF, -2.754f, -1.95f, -4.099927E34f, 1.66f, -0.274f, 1.75f, 2.423f,
            -2.029f, -2.029f, 2.991f, -1.564f, NEG_INF};
        float[] t = {-2.762f, -2.762f, 1.199f, 1.199f, 4.3648045E-32f, 1.013f, -1.639f, 2.389f, -0.12f, -0.308f, -1.846f,
            1.57f, 0.617f, 0.594f, NEG_INF, NEG_INF, 3.4028235E38f, -10000f, -0.586f, -1.069f, 2.689f, 2.689f, 1.94f,
            1.94f, 2.08f, 1.639f, -1.223f, -1.841f, 10000f, 1.515f, 2.157f, 0.846f, 1.823f, 1.0E-30f, -0f, 1.326f,
            1.934f, -0.12f, -0.97f};
        LossOptions o = LossOptions.defaults();
        assertEquals(Double.POSITIVE_INFINITY, ScoringOracle.amari(widen(t), widen(s), 2, 1), "oracle");
        assertEquals(Double.POSITIVE_INFINITY, TestBackends.open(backend).alphaDivergence(row(t), row(s), 2f, o, null,
                null), backend);
    }

    /**
     * The teacher splits its mass over tokens 16 and 23; the student is one-hot on token 2 (logit 1e4). The
     * two terms {@code (½)^α q^{1−α}} with {@code q = e^{−10000.9}}, {@code e^{−10000.1}} are ~e^{−10} at α = 0.999:
     * 4.5e-5 of the loss, which an oracle that rounds q to 0 drops.
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void amariNearOneKeepsTermsOfUnderflowingStudentProbabilities(String backend) {
        float[] s = {-1.147f, -0.114f, 10000f, 0.592f, 2.822f, 2.124f, 1.757f, -0.887f, 2.698f, -0.157f, -0.157f, 0.779f,
            -2.184f, 2.535f, 88.7f, 1.178f, -0.889f, 0f, 2.201f, -0.062f, NEG_INF, 1.143f, 1.351f, -0.083f, 1.255f,
            -1.583f, 0f};
        float[] t = {2.031f, 1.69f, 0.617f, 1.629f, -0.475f, 0f, -1.4E-45f, -1.4E-45f, -2.734f, -2.734f, -1.789f,
            1.4E-45f, 0.486f, 1.764f, 1.4E-45f, 1.4E-45f, 3.4028235E38f, 0.055f, 1.253f, -2.847f, -2.847f, -1.591f,
            1.0E-30f, 3.4028235E38f, 2.855f, 2.855f, -0.289f};
        float alphaF = 0.999f;
        double a = alphaF;
        // Every other student logit is below 10000 − 9900, so log q_i = s_i − 10000 in float64.
        double logS = -a * Math.log(2) + Math.log(Math.exp((1 - a) * (s[16] - 10000.0)) + Math.exp((1 - a) * (s[23] - 10000.0)));
        double expected = -Math.expm1(logS) / (a * (1 - a));
        assertEquals(expected, ScoringOracle.amari(widen(t), widen(s), a, 1), 1e-9 * expected, "oracle");
        double loss = TestBackends.open(backend).alphaDivergence(row(t), row(s), alphaF, LossOptions.defaults(), null, null);
        Spec5.check(Kind.LOSS, loss, expected, backend + " α = 0.999");
    }

    /**
     * The teacher is one-hot on token 2 and ranks it right after the label (11); the student ties tokens 1
     * and 2 at 1.05e37, far above the rest: that rank's term is {@code log(e^{s_1} + e^{s_2}) − s_2 = ln 2}.
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void pldOfATieAt1e37IsLn2(String backend) {
        float[] s = {-2.6300003E30f, 1.0530914E37f, 1.0530914E37f, 1.657E30f, -2.649E30f, 1.506E30f, -1.733E30f,
            -2.534E30f, 1.03E30f, -3.8638326E31f, 1.1754944E-38f, 1.81E30f, 2.968E30f, 1.474E30f};
        float[] t = {1.5000001E30f, -9.3100004E29f, 3.4028235E38f, -2.155E30f, NEG_INF, 7.3E29f, -2.241E30f,
            -2.0420001E30f, -8.99E29f, 88.7f, 2.7249998E30f, -2.3229999E30f, -5.308706E-15f, -2.854E30f};
        assertEquals(Math.log(2), ScoringOracle.pld(widen(t), widen(s), 11, 1), 1e-12, "oracle");
        double loss = TestBackends.open(backend).pld(row(t), row(s), Tensor.of(new int[] {11}), LossOptions.defaults(),
                null, null);
        Spec5.check(Kind.LOSS, loss, Math.log(2), backend + " PLD");
    }

    /** The last rank is a token the student masks under a live teacher weight: {@code +inf}, as documented. */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void pldWithAStudentMaskedLastRankIsInfinite(String backend) {
        float[] s = {0f, NEG_INF};
        float[] t = {0f, 1f};
        assertEquals(Double.POSITIVE_INFINITY, ScoringOracle.pld(widen(t), widen(s), 0, 1), "oracle");
        assertEquals(Double.POSITIVE_INFINITY, TestBackends.open(backend).pld(row(t), row(s), Tensor.of(new int[] {0}),
                LossOptions.defaults(), null, null), backend);
    }

    /** The log-domain oracle against closed forms where nothing underflows. */
    @Test
    void oracleMatchesClosedForms() {
        double[] t = {Math.log(0.5), Math.log(0.5)};
        double[] s = {Math.log(0.25), Math.log(0.75)};
        double s2 = 0.25 / 0.25 + 0.25 / 0.75; // Σ p²/q
        assertEquals(s2 - 1, ScoringOracle.chi2(t, s, 1), 1e-15);
        assertEquals((s2 - 1) / 2, ScoringOracle.amari(t, s, 2, 1), 1e-15);
        assertEquals(Math.log(s2), ScoringOracle.renyi(t, s, 2, 1), 1e-15);
        double half = Math.sqrt(0.5 * 0.25) + Math.sqrt(0.5 * 0.75);
        assertEquals((1 - half) / 0.25, ScoringOracle.amari(t, s, 0.5, 1), 1e-15);
        assertEquals(-2 * Math.log(half), ScoringOracle.renyi(t, s, 0.5, 1), 1e-15);
        // Masks: a teacher-masked token adds 0; a student-masked one 0 below α = 1 and +inf above.
        double[] tm = {0, NEG_INF};
        double[] sm = {0, NEG_INF};
        assertEquals(3, ScoringOracle.chi2(tm, s, 1), 1e-15); // Σ p²/q − 1 = 1/¼ − 1
        assertEquals(Double.POSITIVE_INFINITY, ScoringOracle.chi2(t, sm, 1));
        assertEquals(Double.POSITIVE_INFINITY, ScoringOracle.renyi(t, sm, 2, 1));
        assertEquals(Double.POSITIVE_INFINITY, ScoringOracle.amari(t, sm, 3, 1));
        assertEquals(Math.log(2), ScoringOracle.renyi(t, sm, 0.5, 1), 1e-15); // log √½ / (½ − 1)
    }
}
