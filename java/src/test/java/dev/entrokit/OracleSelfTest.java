package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The float64 oracle against closed forms, so that the equivalence tests rest on something checked. */
class OracleSelfTest {
    static final double EPS = 1e-13;
    static final double LN3 = Math.log(3);
    static final double NEG = Double.NEGATIVE_INFINITY;

    /** Logits {0, ln 3}: p = (1/4, 3/4). Logits {0, 0}: q = (1/2, 1/2). */
    static final double[] P = {0, LN3};
    static final double[] Q = {0, 0};

    @Test
    void softmaxFamilyClosedForms() {
        double[] p = Float64Oracle.softmax(P, 1);
        assertEquals(0.25, p[0], EPS);
        assertEquals(0.75, p[1], EPS);
        assertEquals(Math.log(4), Float64Oracle.logSumExp(P, 1), EPS);
        assertEquals(Math.log(0.75), Float64Oracle.logSoftmax(P, 1)[1], EPS);
        // Temperature divides the logits: {0, 2 ln 3} at T = 2 is P.
        assertEquals(0.75, Float64Oracle.softmax(new double[] {0, 2 * LN3}, 2)[1], EPS);
        assertEquals(Math.log(4), Float64Oracle.logSumExp(new double[] {0, 2 * LN3}, 2), EPS);
        // Masked entries and large magnitudes.
        double[] lp = Float64Oracle.logSoftmax(new double[] {NEG, 1e30, 1e30}, 1);
        assertEquals(NEG, lp[0]);
        assertEquals(-Math.log(2), lp[1], EPS);
        assertEquals(1e30 + Math.log(2), Float64Oracle.logSumExp(new double[] {NEG, 1e30, 1e30}, 1), 1e16);
    }

    @Test
    void lossClosedForms() {
        double hp = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
        assertEquals(hp, Float64Oracle.entropy(P, 1), EPS);
        assertEquals(Math.log(5), Float64Oracle.entropy(new double[] {7, 7, 7, 7, 7}, 0.7), EPS);
        assertEquals(0, Float64Oracle.entropy(new double[] {NEG, 3, NEG}, 1), 0);
        assertEquals(Math.log(3), Float64Oracle.entropy(new double[] {3.4028234663852886e38, 0, 3.4028234663852886e38,
                3.4028234663852886e38}, 0.7), EPS);

        double kl = 0.25 * Math.log(0.5) + 0.75 * Math.log(1.5);
        double rkl = 0.5 * Math.log(2) + 0.5 * Math.log(2.0 / 3);
        assertEquals(kl, Float64Oracle.kl(P, Q, 1), EPS);
        assertEquals(rkl, Float64Oracle.rkl(P, Q, 1), EPS);
        assertEquals(kl + rkl, Float64Oracle.jeffreys(P, Q, 1), EPS);
        assertEquals(Math.log(2), Float64Oracle.crossEntropy(P, Q, 1), EPS);
        assertEquals(0.25, Float64Oracle.tv(P, Q, 1), EPS);
        double h = Math.sqrt(0.5 * (Math.pow(0.5 - Math.sqrt(0.5), 2) + Math.pow(Math.sqrt(0.75) - Math.sqrt(0.5), 2)));
        assertEquals(h, Float64Oracle.hellinger(P, Q, 1), EPS);

        // JSD_β with M = βP + (1−β)Q.
        double beta = 0.3;
        double m0 = beta * 0.25 + (1 - beta) * 0.5;
        double m1 = beta * 0.75 + (1 - beta) * 0.5;
        double jsd = beta * (0.25 * Math.log(0.25 / m0) + 0.75 * Math.log(0.75 / m1))
                + (1 - beta) * (0.5 * Math.log(0.5 / m0) + 0.5 * Math.log(0.5 / m1));
        assertEquals(jsd, Float64Oracle.jsd(P, Q, beta, 1), EPS);
        // Endpoints are the KLs (Liger/TRL), not the formula's limit 0.
        assertEquals(kl, Float64Oracle.jsd(P, Q, 0, 1), EPS);
        assertEquals(rkl, Float64Oracle.jsd(P, Q, 1, 1), EPS);
        assertTrue(Float64Oracle.jsd(P, Q, 1e-9, 1) < 1e-8, "the formula itself tends to 0 as β → 0");
        assertEquals(Math.log(2), Float64Oracle.jsd(new double[] {0, NEG}, new double[] {NEG, 0}, 0.5, 1), EPS);
    }

    @Test
    void hardLabelClosedForms() {
        assertEquals(-Math.log(0.75), Float64Oracle.crossEntropyLabel(P, 1, 0, 1), EPS);
        double eps = 0.2;
        double smoothed = (1 - eps) * -Math.log(0.75) + eps * 0.5 * (-Math.log(0.25) - Math.log(0.75));
        assertEquals(smoothed, Float64Oracle.crossEntropyLabel(P, 1, eps, 1), EPS);
        assertEquals(0, Float64Oracle.crossEntropyLabelRow(new double[] {Double.NaN, 1}, -100, -100, 0.1, 1));
        double[] g = Float64Oracle.crossEntropyLabelGrad(P, 1, -100, eps, 1, 2);
        assertEquals(2 * (0.25 - eps / 2), g[0], EPS);
        assertEquals(2 * (0.75 - (1 - eps) - eps / 2), g[1], EPS);
        assertEquals(Double.POSITIVE_INFINITY, Float64Oracle.crossEntropyLabel(new double[] {0, NEG, 1}, 0, 0.1, 1));
    }

    @Test
    void specialValueRules() {
        for (double[] bad : new double[][] {{1, Double.NaN}, {Double.POSITIVE_INFINITY, 1}, {NEG, NEG},
                {NEG, Double.POSITIVE_INFINITY}}) {
            assertTrue(Float64Oracle.invalid(bad));
            assertTrue(Double.isNaN(Float64Oracle.logSumExp(bad, 1)));
            assertTrue(Double.isNaN(Float64Oracle.softmax(bad, 1)[0]));
            assertTrue(Double.isNaN(Float64Oracle.entropy(bad, 1)));
            assertTrue(Double.isNaN(Float64Oracle.kl(bad, Q, 1)));
            assertTrue(Double.isNaN(Float64Oracle.kl(Q, bad, 1)));
            assertTrue(Double.isNaN(Float64Oracle.jsd(P, bad, 0.5, 1)));
            assertTrue(Double.isNaN(Float64Oracle.tv(bad, Q, 1)));
            assertTrue(Double.isNaN(Float64Oracle.hellinger(Q, bad, 1)));
            assertTrue(Double.isNaN(Float64Oracle.entropyGrad(bad, 1, 1)[1]));
        }
        double[] masked = {0, NEG};
        assertEquals(Double.POSITIVE_INFINITY, Float64Oracle.kl(Q, masked, 1), "p > 0 where q = 0");
        assertEquals(0, Float64Oracle.kl(masked, Q, 1) - Math.log(2), EPS, "p = 0 contributes 0");
        assertEquals(Double.POSITIVE_INFINITY, Float64Oracle.rkl(masked, Q, 1));
        assertEquals(Double.POSITIVE_INFINITY, Float64Oracle.crossEntropy(Q, masked, 1));
    }
}
