package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * The token log-probability with entropy and k3 ({@code logprobEntropy}, {@code k3Kl}) on every backend and
 * SIMD width: values and gradients against {@link PolicyOracle} at the SPEC §5 tolerances, on ordinary rows
 * with masked tokens and ignored rows, on the adversarial rows, and the oracle's and the kernels' gradients
 * against central differences.
 */
@Tag("simd-width")
class PolicyLossTest {
    static final int IGNORE = LossOptions.DEFAULT_IGNORE_INDEX;

    static Stream<Arguments> backendSizes() {
        return Cases.backendSizeTemperature(new int[] {1, 7, 16, 33, 1000, 4099, 32001}, new float[] {1f, 0.7f, 2f});
    }

    static Stream<Arguments> backendSmall() {
        return Cases.backendSizeTemperature(new int[] {7, 16, 33}, new float[] {1f, 0.7f, 2f});
    }

    /** Reference log-probabilities within about one nat of the policy's, all ≤ 0, one masked by the reference. */
    static float[] refLogprobs(long seed, float[] x, int[] ids, int rows, int v, double t) {
        SplittableRandom rnd = new SplittableRandom(seed ^ 0xF00DL);
        float[] ref = new float[rows];
        for (int r = 0; r < rows; r++) {
            double l = ids[r] == IGNORE ? -1 : PolicyOracle.logprob(widen(x, r * v, v), ids[r], t);
            ref[r] = (float) Math.min(0, (Double.isFinite(l) ? l : -3) + 2 * rnd.nextDouble() - 1);
        }
        return ref;
    }

    private static int[] ids(long seed, float[] x, int rows, int v) {
        return TestLogits.labels(seed, x, rows, v, IGNORE);
    }

    // ------------------------------------------------------------------ ordinary rows

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("backendSizes")
    void logprobEntropyAndK3MatchTheOracle(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        int rows = v >= 32001 ? 4 : 9;
        long seed = TestLogits.seed("policy", v, t);
        float[] x = TestLogits.batch(seed, rows, v);
        int[] y = ids(seed, x, rows, v);
        float[] ref = refLogprobs(seed, x, y, rows, v, t);
        float[] w = TestLogits.uniform(seed + 1, rows);
        float[] c = TestLogits.uniform(seed + 2, rows);
        float[] kappa = TestLogits.uniform(seed + 3, rows);
        double g = 0.8;
        LossOptions o = LossOptions.defaults().temperature(t).gradScale((float) g);

        float[] lp = new float[rows];
        float[] h = new float[rows];
        float[] grad = new float[rows * v];
        double j = ek.logprobEntropy(Tensor.of(x, rows, v), Tensor.of(y), o, Tensor.of(lp), Tensor.of(h), Tensor.of(w),
                Tensor.of(c), Tensor.of(grad, rows, v));
        float[] k3 = new float[rows];
        float[] k3Grad = new float[rows * v];
        double k3Sum = ek.k3Kl(Tensor.of(x, rows, v), Tensor.of(y), Tensor.of(ref), o, Tensor.of(k3), Tensor.of(kappa),
                Tensor.of(k3Grad, rows, v));

        double jRef = 0;
        double k3Ref = 0;
        double allowed = 0;
        for (int r = 0; r < rows; r++) {
            String at = backend + " row " + r + " V=" + v + " T=" + t;
            double[] xr = widen(x, r * v, v);
            if (y[r] == IGNORE) {
                assertEquals(0f, lp[r], at);
                assertEquals(0f, h[r], at);
                assertEquals(0f, k3[r], at);
                Spec5.check(Kind.GRAD, grad, r * v, new double[v], "ignored " + at);
                Spec5.check(Kind.GRAD, k3Grad, r * v, new double[v], "ignored k3 " + at);
                continue;
            }
            double l = PolicyOracle.logprob(xr, y[r], t);
            double hr = Float64Oracle.entropy(xr, t);
            double kr = PolicyOracle.k3(ref[r], l);
            Spec5.check(Kind.LOG, lp[r], l, "logprob " + at);
            Spec5.check(Kind.LOSS, h[r], hr, "entropy " + at);
            Spec5.check(Kind.LOSS, k3[r], kr, "k3 " + at);
            Spec5.check(Kind.GRAD, grad, r * v, PolicyOracle.objectiveGrad(xr, y[r], t, Double.NaN, w[r], c[r], 0, g),
                    "grad of w·ℓ + c·H " + at);
            Spec5.check(Kind.GRAD, k3Grad, r * v, PolicyOracle.objectiveGrad(xr, y[r], t, ref[r], 0, 0, kappa[r], g),
                    "grad of κ·k3 " + at);
            jRef += w[r] * l + c[r] * hr;
            k3Ref += kappa[r] * kr;
            allowed += Math.abs(w[r]) * Kind.LOG.allowed(l) + Math.abs(c[r]) * Kind.LOSS.allowed(hr);
        }
        double jWant = jRef;
        double jAllowed = allowed;
        assertTrue(Math.abs(j - jWant) <= jAllowed, () -> backend + " J = " + j + ", expected " + jWant);
        double k3Want = k3Ref;
        assertTrue(Math.abs(k3Sum - k3Want) <= 1e-5 * Math.max(1, Math.abs(k3Want)) * rows,
                () -> backend + " Σκ·k3 = " + k3Sum + ", expected " + k3Want);
    }

    // ------------------------------------------------------------------ gradients against central differences

    @ParameterizedTest(name = "V={1} T={2}")
    @MethodSource("backendSmall")
    void oracleAndKernelGradientsAreTheDerivatives(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        int rows = 3;
        long seed = TestLogits.seed("policy-fd", v, t);
        float[] x = TestLogits.batch(seed, rows, v);
        for (int i = 0; i < x.length; i++) {
            x[i] *= 0.6f; // scale 2, so that central differences stay accurate
        }
        int[] y = new int[rows];
        for (int r = 0; r < rows; r++) {
            y[r] = (r * 5 + 1) % v;
            while (x[r * v + y[r]] == Float.NEGATIVE_INFINITY) {
                y[r] = (y[r] + 1) % v;
            }
        }
        float[] ref = refLogprobs(seed, x, y, rows, v, t);
        float[] w = {0.7f, -1.3f, 0.25f};
        float[] c = {0.01f, 0.5f, -0.8f};
        float[] kappa = {0.9f, 0.04f, 1.5f};
        double g = 0.8;
        LossOptions o = LossOptions.defaults().temperature(t).gradScale((float) g);
        float[] grad = new float[rows * v];
        float[] k3Grad = new float[rows * v];
        ek.logprobEntropy(Tensor.of(x, rows, v), Tensor.of(y), o, null, null, Tensor.of(w), Tensor.of(c),
                Tensor.of(grad, rows, v));
        ek.k3Kl(Tensor.of(x, rows, v), Tensor.of(y), Tensor.of(ref), o, Tensor.of(new float[rows]), Tensor.of(kappa),
                Tensor.of(k3Grad, rows, v));
        for (int r = 0; r < rows; r++) {
            double[] xr = widen(x, r * v, v);
            int id = y[r];
            double wr = w[r];
            double cr = c[r];
            double kr = kappa[r];
            double rr = ref[r];
            String at = backend + " row " + r + " V=" + v + " T=" + t;
            double[] fd = CentralDifferences.scale(CentralDifferences.gradient(
                    z -> PolicyOracle.objective(z, id, t, Double.NaN, wr, cr, 0), xr), g);
            double[] fdK3 = CentralDifferences.scale(CentralDifferences.gradient(
                    z -> PolicyOracle.objective(z, id, t, rr, 0, 0, kr), xr), g);
            Spec5.check(Kind.GRAD, toFloat(PolicyOracle.objectiveGrad(xr, id, t, Double.NaN, wr, cr, 0, g)), 0, fd,
                    "oracle grad vs central differences " + at);
            Spec5.check(Kind.GRAD, toFloat(PolicyOracle.objectiveGrad(xr, id, t, rr, 0, 0, kr, g)), 0, fdK3,
                    "oracle k3 grad vs central differences " + at);
            Spec5.check(Kind.GRAD, grad, r * v, fd, "kernel grad vs central differences " + at);
            Spec5.check(Kind.GRAD, k3Grad, r * v, fdK3, "kernel k3 grad vs central differences " + at);
        }
    }

    static float[] toFloat(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = (float) x[i];
        }
        return f;
    }

    // ------------------------------------------------------------------ adversarial rows

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("backendSmall")
    void adversarialRowsMatchTheOracleAndStayApart(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        List<AdversarialRows.Named> named = AdversarialRows.all(v, TestLogits.seed("policy-adv", v));
        int rows = named.size();
        float[] x = AdversarialRows.batch(named);
        int[] y = new int[rows];
        float[] ref = new float[rows];
        float[] w = new float[rows];
        float[] c = new float[rows];
        SplittableRandom rnd = new SplittableRandom(TestLogits.seed("policy-adv-ids", v));
        for (int r = 0; r < rows; r++) {
            y[r] = rnd.nextInt(v); // masked targets included: ℓ = −inf, and a NaN gradient with w ≠ 0
            ref[r] = (float) -rnd.nextDouble(3);
            w[r] = (float) (2 * rnd.nextDouble() - 1);
            c[r] = r % 3 == 0 ? 0f : (float) (2 * rnd.nextDouble() - 1);
        }
        y[rows - 1] = IGNORE;
        LossOptions o = LossOptions.defaults().temperature(t);
        float[] lp = new float[rows];
        float[] h = new float[rows];
        float[] grad = new float[rows * v];
        float[] k3 = new float[rows];
        float[] k3Grad = new float[rows * v];
        ek.logprobEntropy(Tensor.of(x, rows, v), Tensor.of(y), o, Tensor.of(lp), Tensor.of(h), Tensor.of(w), Tensor.of(c),
                Tensor.of(grad, rows, v));
        ek.k3Kl(Tensor.of(x, rows, v), Tensor.of(y), Tensor.of(ref), o, Tensor.of(k3), null, Tensor.of(k3Grad, rows, v));
        for (int r = 0; r < rows - 1; r++) {
            double[] xr = widen(x, r * v, v);
            String at = backend + " '" + named.get(r).name() + "' id " + y[r] + " V=" + v + " T=" + t;
            double l = Float64Oracle.invalid(xr) ? Double.NaN : PolicyOracle.logprob(xr, y[r], t);
            Spec5.check(Kind.LOG, lp[r], l, "logprob " + at);
            Spec5.check(Kind.LOSS, h[r], Float64Oracle.entropy(xr, t), "entropy " + at);
            Spec5.check(Kind.LOSS, k3[r], Double.isNaN(l) ? Double.NaN : PolicyOracle.k3(ref[r], l), "k3 " + at);
            Spec5.check(Kind.GRAD, grad, r * v, PolicyOracle.objectiveGrad(xr, y[r], t, Double.NaN, w[r], c[r], 0, 1),
                    "grad " + at);
            Spec5.check(Kind.GRAD, k3Grad, r * v, PolicyOracle.objectiveGrad(xr, y[r], t, ref[r], 0, 0, 1, 1),
                    "k3 grad " + at);
            // A row computed alone equals the same row in the mixed batch, bit for bit.
            float[] alone = new float[v];
            float[] aloneLp = new float[1];
            ek.logprobEntropy(Tensor.of(TestLogits.row(x, r, v), 1, v), Tensor.of(new int[] {y[r]}), o, Tensor.of(aloneLp),
                    null, Tensor.of(new float[] {w[r]}), Tensor.of(new float[] {c[r]}), Tensor.of(alone, 1, v));
            assertEquals(Float.floatToIntBits(lp[r]), Float.floatToIntBits(aloneLp[0]), "alone vs batch " + at);
            assertArrayEquals(Arrays.copyOfRange(grad, r * v, (r + 1) * v), alone, "alone vs batch grad " + at);
        }
        assertEquals(0f, lp[rows - 1]);
        Spec5.check(Kind.GRAD, grad, (rows - 1) * v, new double[v], backend + " ignored row");
    }

    // ------------------------------------------------------------------ refusals

    @Test
    void badArgumentsAreRefusedByName() {
        Entrokit ek = TestBackends.scalarReference();
        int v = 5;
        Tensor x = Tensor.of(new float[2 * v], 2, v);
        LossOptions o = LossOptions.defaults();
        Tensor out = Tensor.of(new float[2]);
        assertMessage("ids: 5 at row 1 is outside [0, 5)", () -> ek.logprobEntropy(x, Tensor.of(new int[] {0, 5}), o,
                out, null, null, null, null));
        assertMessage("ids: expected a rank-1 I32 tensor of 2 ids", () -> ek.logprobEntropy(x, Tensor.of(new int[] {0}),
                o, out, null, null, null, null));
        assertMessage("refLogprobs: 0.5 at row 1 is not a log-probability", () -> ek.k3Kl(x, Tensor.of(new int[] {0, 1}),
                Tensor.of(new float[] {-1f, 0.5f}), o, out, null, null));
        assertMessage("refLogprobs: NaN at row 0", () -> ek.k3Kl(x, Tensor.of(new int[] {0, 1}),
                Tensor.of(new float[] {Float.NaN, 0f}), o, out, null, null));
        assertMessage("logprobWeights: Infinity at row 1 is not finite", () -> ek.logprobEntropy(x,
                Tensor.of(new int[] {0, 1}), o, out, null, Tensor.of(new float[] {1f, Float.POSITIVE_INFINITY}), null, null));
        assertMessage("reduction: the policy losses return the weighted sum", () -> ek.logprobEntropy(x,
                Tensor.of(new int[] {0, 1}), o.reduction(Reduction.MEAN), out, null, null, null, null));
        assertMessage("grad: shape [2, 4] does not match logits [2, 5]", () -> ek.logprobEntropy(x,
                Tensor.of(new int[] {0, 1}), o, out, null, null, null, Tensor.of(new float[8], 2, 4)));
        assertMessage("kl: must not be null", () -> ek.k3Kl(x, Tensor.of(new int[] {0, 1}),
                Tensor.of(new float[] {-1f, -1f}), o, null, null, null));
    }

    static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(expected), () -> "message '" + e.getMessage() + "' does not start with '"
                + expected + "'");
    }
}
