package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static dev.entrokit.PolicyLossTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.entrokit.Spec5.Kind;
import java.lang.foreign.MemorySegment;
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
 * Cross-entropy with z-loss, soft-capping, class weights and the predicted token, on every backend and SIMD
 * width, against a float64 oracle written here from the definitions (PyTorch's weighted cross-entropy with
 * label smoothing, plus {@code λ·lse²}, on {@code c·tanh(x/c)}), its gradient against central differences,
 * ignored rows, masked tokens and the adversarial rows.
 */
@Tag("simd-width")
class CrossEntropyOptionsTest {
    static final int IGNORE = LossOptions.DEFAULT_IGNORE_INDEX;

    static Stream<Arguments> backendSizes() {
        return SparseDistillTest.backendSizes();
    }

    static Stream<Arguments> backendSmall() {
        return Cases.backendSizeTemperature(new int[] {7, 16, 33}, new float[] {1f, 0.7f});
    }

    // ------------------------------------------------------------------ the oracle

    static double cap(double x, double c) {
        return c == 0 || x == Double.NEGATIVE_INFINITY ? x : c * Math.tanh(x / c);
    }

    static double[] capped(double[] x, double c) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = cap(x[i], c);
        }
        return y;
    }

    /** {@code (1−ε) w_y (−log p_y) + (ε/V) Σ w_i (−log p_i)}, {@code p = softmax(cap(x)/T)}. */
    static double ce(double[] x, int y, double t, double eps, double c, double[] w) {
        if (Float64Oracle.invalid(x)) {
            return Double.NaN; // SPEC §1 judges the raw row: a +inf logit is not capped into a live one
        }
        double[] lp = Float64Oracle.logSoftmax(capped(x, c), t);
        int v = x.length;
        double wy = w == null ? 1 : w[y];
        double loss = eps == 1 ? 0 : (1 - eps) * wy * -lp[y];
        if (eps > 0) {
            for (int i = 0; i < v; i++) {
                double wi = w == null ? 1 : w[i];
                loss += wi == 0 ? 0 : eps / v * wi * -lp[i];
            }
        }
        return loss;
    }

    /** The z-loss {@code λ·lse(cap(x)/T)²}; NaN for a special row (SPEC §1), whatever λ. */
    static double z(double[] x, double t, double c, double lambda) {
        if (Float64Oracle.invalid(x)) {
            return Double.NaN;
        }
        double lse = Float64Oracle.logSumExp(capped(x, c), t);
        return lambda == 0 && !Double.isNaN(lse) ? 0 : lambda * lse * lse; // a special row is NaN throughout
    }

    /** {@code ∂(gCe·ce + gZ·z)/∂x} from the probabilities, with {@code cap'(x) = 1 − tanh²(x/c)}. */
    static double[] grad(double[] x, int y, double t, double eps, double c, double[] w, double lambda, double gCe,
                         double gZ) {
        int v = x.length;
        double[] out = new double[v];
        if (Float64Oracle.invalid(x) || !Double.isFinite(ce(x, y, t, eps, c, w)) || !Double.isFinite(z(x, t, c, lambda))) {
            Arrays.fill(out, Double.NaN);
            return out;
        }
        double[] p = Float64Oracle.softmax(capped(x, c), t);
        double lse = Float64Oracle.logSumExp(capped(x, c), t);
        double wSum = 0;
        for (int i = 0; i < v; i++) {
            wSum += w == null ? 1 : w[i];
        }
        double wy = w == null ? 1 : w[y];
        for (int i = 0; i < v; i++) {
            double wi = w == null ? 1 : w[i];
            double dz = gCe * ((1 - eps) * wy * (p[i] - (i == y ? 1 : 0)) + eps / v * (p[i] * wSum - wi))
                    + gZ * 2 * lambda * lse * p[i];
            double th = x[i] == Double.NEGATIVE_INFINITY ? -1 : c == 0 ? 0 : Math.tanh(x[i] / c);
            out[i] = dz * (c == 0 ? 1 : 1 - th * th) / t;
        }
        return out;
    }

    static int argmax(double[] x) {
        if (Float64Oracle.invalid(x)) {
            return -1;
        }
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    static float[] weights(long seed, int v) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] w = new float[v];
        for (int i = 0; i < v; i++) {
            w[i] = i % 5 == 3 ? 0f : (float) (2 * rnd.nextDouble());
        }
        return w;
    }

    // ------------------------------------------------------------------ the tests

    private static void run(Entrokit ek, float[] x, int[] y, int rows, int v, float t, float eps, float lambda,
                            float c, float[] w, String what) {
        double g = 0.8;
        LossOptions o = LossOptions.defaults().temperature(t).labelSmoothing(eps).gradScale((float) g)
                .reduction(Reduction.NONE);
        CrossEntropyOptions ce = CrossEntropyOptions.none().zLoss(lambda).softcap(c)
                .classWeights(w == null ? null : Tensor.of(w));
        float[] loss = new float[rows];
        float[] zl = new float[rows];
        float[] grad = new float[rows * v];
        int[] predicted = new int[rows];
        byte[] correct = new byte[rows];
        ek.crossEntropyLabels(Tensor.of(y), Tensor.of(x, rows, v), o, ce, Tensor.of(loss), Tensor.of(zl),
                Tensor.of(grad, rows, v), Tensor.of(predicted), Tensor.of(MemorySegment.ofArray(correct), DType.BOOL, rows));
        double[] wd = w == null ? null : widen(w);
        double ceSum = 0;
        double weightSum = 0;
        double zSum = 0;
        int counted = 0;
        for (int r = 0; r < rows; r++) {
            double[] xr = widen(x, r * v, v);
            String at = what + " ε=" + eps + " λ=" + lambda + " c=" + c + (w == null ? "" : " weighted") + " row " + r;
            assertEquals(argmax(xr), predicted[r], "predicted " + at);
            if (y[r] == IGNORE) {
                assertEquals(0f, loss[r], at);
                assertEquals(0, correct[r], at);
                Spec5.check(Kind.GRAD, grad, r * v, new double[v], "ignored " + at);
                continue;
            }
            assertEquals(predicted[r] == y[r] ? 1 : 0, correct[r], "correct " + at);
            double ceR = ce(xr, y[r], t, eps, c, wd);
            double zR = z(xr, t, c, lambda);
            Spec5.check(Kind.LOSS, loss[r], ceR + zR, "loss " + at);
            Spec5.check(Kind.LOSS, zl[r], zR, "z-loss " + at);
            Spec5.check(Kind.GRAD, grad, r * v, grad(xr, y[r], t, eps, c, wd, lambda, g, g), "grad " + at);
            ceSum += ceR;
            zSum += zR;
            weightSum += wd == null ? 1 : wd[y[r]];
            counted++;
        }
        if (Double.isFinite(ceSum + zSum) && weightSum > 0) {
            // PyTorch's weighted mean: Σ w_y·ce / Σ w_y, and the z-loss over the counted rows (as Liger).
            double mean = ek.crossEntropyLabels(Tensor.of(y), Tensor.of(x, rows, v), o.reduction(Reduction.MEAN), ce,
                    null, null, null, null, null);
            double want = ceSum / weightSum + zSum / counted;
            Spec5.check(Kind.LOSS, mean, want, "MEAN " + what);
        }
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("backendSizes")
    void everyOptionMatchesTheOracle(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        int rows = v >= 32001 ? 4 : 8;
        long seed = TestLogits.seed("ce-options", v, t);
        float[] x = TestLogits.batch(seed, rows, v);
        int[] y = TestLogits.labels(seed, x, rows, v, IGNORE);
        float[] w = weights(seed, v);
        String what = backend + " V=" + v + " T=" + t;
        for (float lambda : new float[] {0f, 1e-4f, 0.1f}) {
            for (float c : new float[] {0f, 5f}) {
                for (float[] weights : Arrays.asList(null, w)) {
                    for (float eps : new float[] {0f, 0.1f}) {
                        run(ek, x, y, rows, v, t, eps, lambda, c, weights, what);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("backendSmall")
    void gradientsAreTheDerivatives(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        int rows = 3;
        long seed = TestLogits.seed("ce-options-fd", v, t);
        float[] x = TestLogits.batch(seed, rows, v);
        for (int i = 0; i < x.length; i++) {
            x[i] *= 0.6f;
        }
        int[] y = {1, v - 1, 2};
        for (int r = 0; r < rows; r++) {
            x[r * v + y[r]] = Math.max(x[r * v + y[r]], 0f); // a live label
        }
        float[] w = weights(seed, v);
        double g = 0.8;
        for (float c : new float[] {0f, 2f}) {
            for (float[] weights : Arrays.asList(null, w)) {
                float eps = 0.1f;
                float lambda = 0.05f;
                double[] wd = weights == null ? null : widen(weights);
                float[] grad = new float[rows * v];
                float[] masked = x.clone();
                for (int i = 0; i < masked.length; i++) {
                    masked[i] = masked[i] == Float.NEGATIVE_INFINITY ? -30f : masked[i]; // smoothing needs live tokens
                }
                ek.crossEntropyLabels(Tensor.of(y), Tensor.of(masked, rows, v),
                        LossOptions.defaults().temperature(t).labelSmoothing(eps).gradScale((float) g),
                        new CrossEntropyOptions(lambda, c, weights == null ? null : Tensor.of(weights)), null, null,
                        Tensor.of(grad, rows, v), null, null);
                for (int r = 0; r < rows; r++) {
                    double[] xr = widen(masked, r * v, v);
                    int yr = y[r];
                    double[] fd = CentralDifferences.scale(CentralDifferences.gradient(
                            z -> ce(z, yr, t, eps, c, wd) + z(z, t, c, lambda), xr), g);
                    String at = backend + " c=" + c + (weights == null ? "" : " weighted") + " row " + r + " V=" + v;
                    Spec5.check(Kind.GRAD, PolicyLossTest.toFloat(grad(xr, yr, t, eps, c, wd, lambda, g, g)), 0, fd,
                            "oracle grad vs central differences " + at);
                    Spec5.check(Kind.GRAD, grad, r * v, fd, "kernel grad vs central differences " + at);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("backendSmall")
    void adversarialRowsMatchTheOracle(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        List<AdversarialRows.Named> named = AdversarialRows.all(v, TestLogits.seed("ce-options-adv", v));
        int rows = named.size();
        float[] x = AdversarialRows.batch(named);
        int[] y = new int[rows];
        SplittableRandom rnd = new SplittableRandom(TestLogits.seed("ce-options-adv-y", v));
        for (int r = 0; r < rows; r++) {
            y[r] = r == rows - 1 ? IGNORE : rnd.nextInt(v);
        }
        for (float c : new float[] {0f, 30f}) {
            run(ek, x, y, rows, v, t, 0f, 1e-3f, c, weights(7, v), backend + " adversarial V=" + v + " T=" + t);
            run(ek, x, y, rows, v, t, 0f, 0f, c, null, backend + " adversarial V=" + v + " T=" + t);
        }
    }

    @Test
    void badOptionsAreRefusedByName() {
        Entrokit ek = TestBackends.scalarReference();
        int v = 4;
        Tensor s = Tensor.of(new float[2 * v], 2, v);
        Tensor y = Tensor.of(new int[] {0, 3});
        LossOptions o = LossOptions.defaults();
        assertMessage("zLoss: must be finite and >= 0, got -1.0", () -> CrossEntropyOptions.none().zLoss(-1f));
        assertMessage("softcap: must be finite and > 0, got NaN", () -> CrossEntropyOptions.none().softcap(Float.NaN));
        assertMessage("classWeights: expected a rank-1 float tensor of V = 4 weights", () -> ek.crossEntropyLabels(y, s, o,
                CrossEntropyOptions.none().classWeights(Tensor.of(new float[3])), null, null, null, null, null));
        assertMessage("classWeights: -0.5 at class 2 must be finite and >= 0", () -> ek.crossEntropyLabels(y, s, o,
                CrossEntropyOptions.none().classWeights(Tensor.of(new float[] {1f, 1f, -0.5f, 1f})), null, null, null,
                null, null));
        assertMessage("predicted: expected a rank-1 I32 tensor", () -> ek.crossEntropyLabels(y, s, o,
                CrossEntropyOptions.none(), null, null, null, Tensor.of(new float[2]), null));
        assertMessage("labels: 4 at row 1 is outside [0, 4)", () -> ek.crossEntropyLabels(Tensor.of(new int[] {0, 4}), s,
                o, CrossEntropyOptions.none(), null, null, null, null, null));
    }
}
