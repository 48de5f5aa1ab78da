package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;

import dev.entrokit.Spec5.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every gradient of SPEC §1 against central differences of the oracle's float64 forward loss: first the
 * oracle's analytic gradients (so the oracle itself is checked), then each backend's fused gradients,
 * both at the gradient tolerance of SPEC §5, with temperature (the 1/T of the chain rule) and an upstream
 * scale. Small V, a few rows, shared masks so every loss stays finite.
 */
@Tag("simd-width")
class GradientCheckTest {
    static final int ROWS = 3;
    static final float[] BETAS = {0f, 0.25f, 0.5f, 0.75f, 1f};

    static Stream<Arguments> sizes() {
        List<Arguments> out = new ArrayList<>();
        for (int v : new int[] {7, 16, 33}) {
            for (float t : new float[] {1f, 0.7f, 2f}) {
                out.add(Arguments.of(v, t));
            }
        }
        return out.stream();
    }

    static Stream<Arguments> backendSizes() {
        List<Arguments> out = new ArrayList<>();
        for (String b : TestBackends.NAMES) {
            sizes().forEach(a -> out.add(Arguments.of(b, a.get()[0], a.get()[1])));
        }
        return out.stream();
    }

    /** Logits of scale 2 (so central differences stay accurate), row 2 with some masked entries. */
    static float[] logits(long seed, int v) {
        float[] x = TestLogits.batch(seed, ROWS, v);
        for (int i = 0; i < x.length; i++) {
            x[i] *= 0.6f;
        }
        return x;
    }

    static float[] student(float[] teacher, long seed, int v) {
        return TestLogits.studentFor(teacher, seed, ROWS, v);
    }

    private static double[] fd(java.util.function.ToDoubleFunction<double[]> f, double[] x, double g) {
        return CentralDifferences.scale(CentralDifferences.gradient(f, x), g);
    }

    // ------------------------------------------------------------------ the oracle against central differences

    @ParameterizedTest(name = "V={0} T={1}")
    @MethodSource("sizes")
    void oracleSoftmaxFamilyBackwardIsTheDerivative(int v, float t) {
        float[] x = TestLogits.batch(TestLogits.seed("fd-sm", v, t), 1, v);
        double[] xr = widen(x);
        double[] dy = widen(TestLogits.uniform(TestLogits.seed("fd-dy", v), v));
        double[] sm = Float64Oracle.softmaxBackward(Float64Oracle.softmax(xr, t), dy, t);
        check(sm, fd(z -> dot(dy, Float64Oracle.softmax(z, t)), xr, 1), "oracle softmax backward vs central differences");
        double[] lsm = Float64Oracle.logSoftmaxBackward(Float64Oracle.logSoftmax(xr, t), dy, t);
        check(lsm, fd(z -> dot(dy, Float64Oracle.logSoftmax(z, t)), xr, 1),
                "oracle log_softmax backward vs central differences");
        check(Float64Oracle.softmax(xr, t), fd(z -> Float64Oracle.logSumExp(z, t), xr, t), "T · ∂lse/∂x is softmax");
    }

    @ParameterizedTest(name = "V={0} T={1}")
    @MethodSource("sizes")
    void oracleLossGradientsAreTheDerivatives(int v, float t) {
        long seed = TestLogits.seed("fd-oracle", v, t);
        float[] teacher = logits(seed, v);
        float[] student = student(teacher, seed, v);
        double g = 0.8;
        for (int r = 0; r < ROWS; r++) {
            double[] tr = widen(teacher, r * v, v);
            double[] sr = widen(student, r * v, v);
            String at = "row " + r + " V=" + v + " T=" + t;
            check(Float64Oracle.entropyGrad(sr, t, g), fd(z -> Float64Oracle.entropy(z, t), sr, g), "oracle entropy " + at);
            for (PairOp op : PairOp.values()) {
                if (!op.hasGrad()) {
                    continue;
                }
                for (float beta : op == PairOp.JSD ? BETAS : new float[] {0.5f}) {
                    check(op.oracleGrad(tr, sr, t, beta, g), fd(z -> op.oracle(tr, z, t, beta), sr, g),
                            "oracle " + op + " β=" + beta + " " + at);
                }
            }
            for (float eps : new float[] {0f, 0.1f, 1f}) {
                int label = (r * 5 + 1) % v;
                if (sr[label] == Double.NEGATIVE_INFINITY) {
                    label = 0;
                }
                int y = label;
                if (eps > 0 && hasMasked(sr)) {
                    continue; // the smoothed loss is +inf there: no derivative to take
                }
                check(Float64Oracle.crossEntropyLabelGrad(sr, y, -100, eps, t, g),
                        fd(z -> Float64Oracle.crossEntropyLabel(z, y, eps, t), sr, g), "oracle CE label ε=" + eps + " " + at);
            }
        }
    }

    // ------------------------------------------------------------------ the backends against central differences

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("backendSizes")
    void backendGradientsMatchCentralDifferences(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        long seed = TestLogits.seed("fd-backend", v, t);
        float[] teacher = logits(seed, v);
        float[] student = student(teacher, seed, v);
        float g = -1.5f;
        LossOptions base = LossOptions.defaults().temperature(t).gradScale(g).reduction(Reduction.SUM);

        Run e = Run.entropy(ek, student, ROWS, v, base);
        for (int r = 0; r < ROWS; r++) {
            double[] sr = widen(student, r * v, v);
            Spec5.check(Kind.GRAD, e.grad(), r * v, fd(z -> Float64Oracle.entropy(z, t), sr, g),
                    backend + " entropy grad vs central differences, row " + r);
        }
        for (PairOp op : PairOp.values()) {
            if (!op.hasGrad()) {
                continue;
            }
            for (float beta : op == PairOp.JSD ? BETAS : new float[] {0.5f}) {
                Run run = Run.pair(ek, op, teacher, student, ROWS, v, base.beta(beta));
                for (int r = 0; r < ROWS; r++) {
                    double[] tr = widen(teacher, r * v, v);
                    double[] sr = widen(student, r * v, v);
                    Spec5.check(Kind.GRAD, run.grad(), r * v, fd(z -> op.oracle(tr, z, t, beta), sr, g),
                            backend + " " + op + " β=" + beta + " grad vs central differences, row " + r);
                }
            }
        }
        int[] labels = {3 % v, LossOptions.DEFAULT_IGNORE_INDEX, 0};
        for (float eps : new float[] {0f, 0.2f}) {
            float[] unmasked = logits(seed + 99, v);
            for (int i = 0; i < unmasked.length; i++) {
                if (unmasked[i] == Float.NEGATIVE_INFINITY) {
                    unmasked[i] = -4f;
                }
            }
            Run run = Run.labels(ek, labels, unmasked, ROWS, v, base.labelSmoothing(eps));
            for (int r = 0; r < ROWS; r++) {
                double[] sr = widen(unmasked, r * v, v);
                int y = labels[r];
                double[] ref = y == LossOptions.DEFAULT_IGNORE_INDEX ? new double[v]
                        : fd(z -> Float64Oracle.crossEntropyLabel(z, y, eps, t), sr, g);
                Spec5.check(Kind.GRAD, run.grad(), r * v, ref,
                        backend + " CE labels ε=" + eps + " grad vs central differences, row " + r + " label " + y);
            }
        }
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("backendSizes")
    void backendSoftmaxBackwardMatchesCentralDifferences(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = TestLogits.batch(TestLogits.seed("fd-sm-backend", v, t), 1, v);
        float[] dy = TestLogits.uniform(TestLogits.seed("fd-dy-backend", v), v);
        double[] xr = widen(x);
        double[] dyr = widen(dy);
        float[] p = new float[v];
        float[] lp = new float[v];
        float[] dx = new float[v];
        ek.softmax(Tensor.of(x, 1, v), Tensor.of(p, 1, v), t);
        ek.softmaxBackward(Tensor.of(p, 1, v), Tensor.of(dy, 1, v), Tensor.of(dx, 1, v), t);
        Spec5.check(Kind.GRAD, dx, 0, fd(z -> dot(dyr, Float64Oracle.softmax(z, t)), xr, 1),
                backend + " softmax backward vs central differences");
        ek.logSoftmax(Tensor.of(x, 1, v), Tensor.of(lp, 1, v), t);
        ek.logSoftmaxBackward(Tensor.of(lp, 1, v), Tensor.of(dy, 1, v), Tensor.of(dx, 1, v), t);
        Spec5.check(Kind.GRAD, dx, 0, fd(z -> dot(dyr, Float64Oracle.logSoftmax(z, t)), xr, 1),
                backend + " log_softmax backward vs central differences");
    }

    /**
     * The temperature's chain rule: with {@code T ∈ {2, 0.5}} (so {@code x/T} is exact in float32), the gradient
     * w.r.t. {@code x} at temperature T is {@code 1/T} times the gradient w.r.t. {@code z = x/T} at temperature 1.
     */
    static Stream<Arguments> backends() {
        List<Arguments> out = new ArrayList<>();
        for (String b : TestBackends.NAMES) {
            for (int v : new int[] {7, 16, 33}) {
                out.add(Arguments.of(b, v));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} V={1}")
    @MethodSource("backends")
    void temperatureChainRule(String backend, int v) {
        Entrokit ek = TestBackends.open(backend);
        long seed = TestLogits.seed("chain", v);
        float[] teacher = logits(seed, v);
        float[] student = student(teacher, seed, v);
        for (float t : new float[] {2f, 0.5f}) {
            float[] tz = divide(teacher, t);
            float[] sz = divide(student, t);
            for (PairOp op : PairOp.values()) {
                if (!op.hasGrad()) {
                    continue;
                }
                LossOptions o = LossOptions.defaults().beta(0.4f);
                Run atT = Run.pair(ek, op, teacher, student, ROWS, v, o.temperature(t));
                Run at1 = Run.pair(ek, op, tz, sz, ROWS, v, o);
                double[] expected = CentralDifferences.scale(widen(at1.grad()), 1 / t);
                Spec5.check(Kind.GRAD, atT.grad(), 0, expected, backend + " " + op + " grad at T=" + t + " = (1/T) grad at 1 of x/T");
                for (int r = 0; r < ROWS; r++) {
                    Spec5.check(Kind.LOSS, atT.rowLoss()[r], at1.rowLoss()[r], backend + " " + op + " loss at T=" + t);
                }
            }
            Run eT = Run.entropy(ek, student, ROWS, v, LossOptions.defaults().temperature(t));
            Run e1 = Run.entropy(ek, sz, ROWS, v, LossOptions.defaults());
            Spec5.check(Kind.GRAD, eT.grad(), 0, CentralDifferences.scale(widen(e1.grad()), 1 / t),
                    backend + " entropy grad at T=" + t);
        }
    }

    // ------------------------------------------------------------------ helpers

    private static float[] divide(float[] x, float t) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] / t;
        }
        return y;
    }

    private static boolean hasMasked(double[] x) {
        for (double v : x) {
            if (v == Double.NEGATIVE_INFINITY) {
                return true;
            }
        }
        return false;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            if (b[i] != Double.NEGATIVE_INFINITY) {
                s += a[i] * b[i];
            }
        }
        return s;
    }

    /** Compares an analytic float64 gradient with central differences at the SPEC §5 gradient tolerance. */
    private static void check(double[] analytic, double[] numeric, String what) {
        for (int i = 0; i < analytic.length; i++) {
            Spec5.check(Kind.GRAD, analytic[i], numeric[i], what + " at " + i);
        }
    }
}
