package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;

import dev.entrokit.Spec5.Kind;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Rows where an entry whose exp underflows float still carries loss: teacher mass e^−85 times a student
 * log-probability near −3e38 (36.48 nats), or the same through a tiny temperature. Float kernels must
 * not drop it (the SIMD backend routes such rows to the float64 path).
 */
@Tag("simd-width")
class ExtremeSpreadTest {
    private static final int V = 16;

    private static float[][] bigNegative() {
        float[] t = new float[V];
        float[] s = new float[V];
        t[1] = -85f;
        s[1] = -3e38f;
        for (int i = 2; i < V; i++) {
            t[i] = -1000f;
            s[i] = -1000f;
        }
        return new float[][] {t, s};
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void flushedTeacherMassStillCounts(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[][] ts = bigNegative();
        double[] t = widen(ts[0]);
        double[] s = widen(ts[1]);
        LossOptions o = LossOptions.defaults();
        for (PairOp op : new PairOp[] {PairOp.KL, PairOp.CROSS_ENTROPY, PairOp.JEFFREYS}) {
            Run run = Run.pair(ek, op, ts[0], ts[1], 1, V, o);
            double ref = switch (op) {
                case KL -> Float64Oracle.kl(t, s, 1);
                case CROSS_ENTROPY -> Float64Oracle.crossEntropy(t, s, 1);
                default -> Float64Oracle.kl(t, s, 1) + Float64Oracle.rkl(t, s, 1);
            };
            Spec5.check(Kind.LOSS, run.rowLoss()[0], ref, backend + " " + op + " with a flushed teacher entry");
        }
        Run reverse = Run.pair(ek, PairOp.RKL, ts[1], ts[0], 1, V, o);
        Spec5.check(Kind.LOSS, reverse.rowLoss()[0], Float64Oracle.rkl(s, t, 1), backend + " RKL, rows swapped");
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void tinyTemperatureDoesNotDropMass(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float temperature = 1e-36f;
        float[] t = new float[V];
        float[] s = new float[V];
        t[1] = -85e-36f;
        s[1] = -100f;
        for (int i = 2; i < V; i++) {
            t[i] = -1f;
            s[i] = -1f;
        }
        Run run = Run.pair(ek, PairOp.KL, t, s, 1, V, LossOptions.defaults().temperature(temperature));
        Spec5.check(Kind.LOSS, run.rowLoss()[0], Float64Oracle.kl(widen(t), widen(s), temperature),
                backend + " KL at T = 1e-36");
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void fullLabelSmoothingOverAMaskedLabelIsInfinite(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] s = new float[V];
        for (int i = 0; i < V; i++) {
            s[i] = (float) Math.sin(i);
        }
        s[3] = Float.NEGATIVE_INFINITY;
        double loss = ek.crossEntropyLabels(new int[] {3}, s, V, LossOptions.defaults().labelSmoothing(1f), null, null);
        org.junit.jupiter.api.Assertions.assertEquals(Double.POSITIVE_INFINITY, loss,
                backend + ": ε = 1 leaves only the uniform term, which is +inf over a masked token");
    }

    /**
     * Subnormal temperatures: the SIMD kernels scale by {@code 2·log2(e)/T}, so a T where that overflows float is
     * refused by name (it used to be accepted down to 2/T overflowing, and the SIMD kernels then ran at about
     * 8.5e-39 whatever T was: KL 0.773 against 1.261 at T = 6e-39); just above the bound, a row spread over a few
     * temperature units matches the float64 reference on every backend, with and without the gradient.
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void subnormalTemperaturesAreRefusedBelowTheLog2ScaleAndExactAbove(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int n = 32;
        float[] t = new float[n];
        float[] s = new float[n];
        for (int i = 0; i < n; i++) {
            t[i] = -i * 1e-39f;
            s[i] = -((7 * i) % 32) * 1e-39f;
        }
        for (float tiny : new float[] {6e-39f, 8.4e-39f}) {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> Run.pair(ek, PairOp.KL, t, s, 1, n, LossOptions.defaults().temperature(tiny)));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().startsWith("temperature: too small"), e.getMessage());
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> ek.softmax(t, n, new float[n], tiny));
        }
        for (float temp : new float[] {8.5e-39f, 1e-38f}) {
            LossOptions o = LossOptions.defaults().temperature(temp);
            double ref = Float64Oracle.kl(widen(t), widen(s), temp);
            Spec5.check(Kind.LOSS, Run.pair(ek, PairOp.KL, t, s, 1, n, o).rowLoss()[0], ref, backend + " KL at T=" + temp);
            float[] p = new float[n];
            ek.softmax(t, n, p, temp);
            double[] pRef = Float64Oracle.softmax(widen(t), temp);
            for (int i = 0; i < n; i++) {
                Spec5.check(Kind.PROB, p[i], pRef[i], backend + " softmax[" + i + "] at T=" + temp);
            }
        }
    }
}
