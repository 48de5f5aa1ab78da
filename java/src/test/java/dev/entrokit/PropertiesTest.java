package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Spec5.Kind;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Properties of SPEC §1 on every available backend (jqwik, modest tries): shift invariance, softmax sums
 * to 1, {@code 0 ≤ H ≤ log V}, {@code KL ≥ 0}, {@code JSD₀.₅ ≤ ln 2}, {@code TV ≤ 1}, Hellinger in [0, 1].
 * Rounding slack is 1e-6 where a bound is exact in theory.
 */
class PropertiesTest {
    static final double SLACK = 1e-6;

    /** Kinds of rows: ordinary, very peaked, near-identical teacher/student, complementary masks, ties. */
    enum Mode { ORDINARY, PEAKED, IDENTICAL, DISJOINT, TIES }

    @Provide
    Arbitrary<Float> temperatures() {
        return Arbitraries.of(1f, 0.7f, 2f);
    }

    /**
     * Logits on the grid {@code k · 2^-10} with {@code |x| < 2^9}, so that adding a shift on the same grid with
     * {@code |c| ≤ 2^11} is exact in float32: shift invariance then tests the kernels, not the input rounding.
     */
    static float[] gridRow(SplittableRandom rnd, int v, Mode mode, double scale) {
        float[] x = new float[v];
        for (int i = 0; i < v; i++) {
            double g = switch (mode) {
                case TIES -> rnd.nextInt(3);
                default -> scale * (2 * rnd.nextDouble() - 1) * (rnd.nextInt(20) == 0 ? 4 : 1);
            };
            x[i] = (float) (Math.rint(Math.max(-500, Math.min(500, g)) * 1024) / 1024);
        }
        return x;
    }

    static float[][] pair(long seed, int v, Mode mode) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double scale = mode == Mode.PEAKED ? 60 : 5;
        float[] t = gridRow(rnd, v, mode, scale);
        float[] s = mode == Mode.IDENTICAL ? t.clone() : gridRow(rnd, v, mode, scale);
        if (mode == Mode.IDENTICAL) {
            for (int i = 0; i < v; i++) {
                s[i] += (float) ((rnd.nextInt(3) - 1) / 1024.0);
            }
        }
        if (mode == Mode.DISJOINT && v >= 2) {
            int cut = 1 + rnd.nextInt(v - 1);
            for (int i = 0; i < v; i++) {
                if (i < cut) {
                    s[i] = Float.NEGATIVE_INFINITY;
                } else {
                    t[i] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        return new float[][] {t, s};
    }

    static float one(Entrokit ek, PairOp op, float[] t, float[] s, LossOptions o) {
        float[] l = new float[1];
        op.run(ek, Tensor.of(t, 1, t.length), Tensor.of(s, 1, s.length), o, Tensor.of(l), null);
        return l[0];
    }

    @Property(tries = 60)
    void shiftInvariance(@ForAll long seed, @ForAll @IntRange(min = 1, max = 300) int v,
                         @ForAll("temperatures") float t, @ForAll Mode mode,
                         @ForAll @IntRange(min = -2048, max = 2048) int shiftT,
                         @ForAll @IntRange(min = -2048 * 1024, max = 2048 * 1024) int shiftS) {
        float[][] ts = pair(seed, v, mode);
        float ct = shiftT;
        float cs = shiftS / 1024f;
        float[] t2 = ts[0].clone();
        float[] s2 = ts[1].clone();
        for (int i = 0; i < v; i++) {
            t2[i] += ct;
            s2[i] += cs;
        }
        for (String name : TestBackends.availableNames()) {
            Entrokit ek = TestBackends.instance(name);
            String at = name + " V=" + v + " T=" + t + " " + mode + " shifts " + ct + ", " + cs;
            float[] a = new float[v];
            float[] b = new float[v];
            ek.softmax(Tensor.of(ts[1], 1, v), Tensor.of(a, 1, v), t);
            ek.softmax(Tensor.of(s2, 1, v), Tensor.of(b, 1, v), t);
            Spec5.check(Kind.PROB, b, 0, a, 0, v, "softmax shift " + at);
            ek.logSoftmax(Tensor.of(ts[1], 1, v), Tensor.of(a, 1, v), t);
            ek.logSoftmax(Tensor.of(s2, 1, v), Tensor.of(b, 1, v), t);
            Spec5.check(Kind.LOG, b, 0, a, 0, v, "log_softmax shift " + at);
            float[] l1 = new float[1];
            float[] l2 = new float[1];
            ek.logSumExp(Tensor.of(ts[1], 1, v), Tensor.of(l1), t);
            ek.logSumExp(Tensor.of(s2, 1, v), Tensor.of(l2), t);
            if (Float.isFinite(l1[0])) {
                Spec5.check(Kind.LOG, l2[0], l1[0] + (double) cs / t, "logsumexp moves by c/T " + at);
            }
            LossOptions o = LossOptions.defaults().temperature(t).reduction(Reduction.NONE).beta(0.4f);
            Run e1 = Run.entropy(ek, ts[1], 1, v, o);
            Run e2 = Run.entropy(ek, s2, 1, v, o);
            Spec5.check(Kind.LOSS, e2.rowLoss()[0], e1.rowLoss()[0], "entropy shift " + at);
            Spec5.check(Kind.GRAD, e2.grad(), 0, e1.grad(), 0, v, "entropy grad shift " + at);
            for (PairOp op : PairOp.values()) {
                Run r1 = Run.pair(ek, op, ts[0], ts[1], 1, v, o);
                Run r2 = Run.pair(ek, op, t2, s2, 1, v, o);
                Spec5.check(Kind.LOSS, r2.rowLoss()[0], r1.rowLoss()[0], op + " shift " + at);
                if (op.hasGrad() && Float.isFinite(r1.rowLoss()[0])) {
                    Spec5.check(Kind.GRAD, r2.grad(), 0, r1.grad(), 0, v, op + " grad shift " + at);
                }
            }
        }
    }

    @Property(tries = 60)
    void softmaxSumsToOne(@ForAll long seed, @ForAll @IntRange(min = 1, max = 5000) int v,
                          @ForAll("temperatures") float t, @ForAll Mode mode) {
        float[] x = pair(seed, v, mode)[1];
        if (Float64Oracle.invalid(Float64Oracle.widen(x))) {
            return;
        }
        for (String name : TestBackends.availableNames()) {
            float[] p = new float[v];
            TestBackends.instance(name).softmax(Tensor.of(x, 1, v), Tensor.of(p, 1, v), t);
            double sum = 0;
            for (float f : p) {
                assertTrue(f >= 0 && f <= 1, name + " probability outside [0, 1]: " + f);
                sum += f;
            }
            assertTrue(Math.abs(sum - 1) <= 1e-6, name + " softmax sums to " + sum + " (V=" + v + ", T=" + t + ", " + mode + ")");
        }
    }

    @Property(tries = 60)
    void entropyBetweenZeroAndLogV(@ForAll long seed, @ForAll @IntRange(min = 1, max = 5000) int v,
                                   @ForAll("temperatures") float t, @ForAll Mode mode) {
        float[] x = pair(seed, v, mode)[1];
        for (String name : TestBackends.availableNames()) {
            float[] h = new float[1];
            TestBackends.instance(name).entropy(Tensor.of(x, 1, v), LossOptions.defaults().temperature(t), Tensor.of(h), null);
            double logV = Math.log(v);
            assertTrue(h[0] >= -SLACK && h[0] <= logV + SLACK * Math.max(1, logV),
                    name + " entropy " + h[0] + " outside [0, ln V = " + logV + "] (" + mode + ", T=" + t + ")");
        }
    }

    @Property(tries = 80)
    void divergenceBounds(@ForAll long seed, @ForAll @IntRange(min = 1, max = 2000) int v,
                          @ForAll("temperatures") float t, @ForAll Mode mode) {
        float[][] ts = pair(seed, v, mode);
        LossOptions o = LossOptions.defaults().temperature(t);
        for (String name : TestBackends.availableNames()) {
            Entrokit ek = TestBackends.instance(name);
            String at = name + " V=" + v + " T=" + t + " " + mode;
            float kl = one(ek, PairOp.KL, ts[0], ts[1], o);
            float rkl = one(ek, PairOp.RKL, ts[0], ts[1], o);
            float jeffreys = one(ek, PairOp.JEFFREYS, ts[0], ts[1], o);
            assertTrue(kl >= -SLACK && rkl >= -SLACK && jeffreys >= -SLACK,
                    "KL, RKL, Jeffreys ≥ 0: " + kl + ", " + rkl + ", " + jeffreys + " " + at);
            float ce = one(ek, PairOp.CROSS_ENTROPY, ts[0], ts[1], o);
            float[] h = new float[1];
            ek.entropy(Tensor.of(ts[0], 1, v), o, Tensor.of(h), null);
            assertTrue(ce >= h[0] - SLACK * Math.max(1, Math.abs(h[0])), "CE(p, q) ≥ H(p): " + ce + " < " + h[0] + " " + at);
            for (float beta : new float[] {0.1f, 0.5f, 0.9f}) {
                float jsd = one(ek, PairOp.JSD, ts[0], ts[1], o.beta(beta));
                // JSD_β ≤ h(β) (binary entropy), ln 2 at β = ½.
                double bound = -(beta * Math.log(beta) + (1 - beta) * Math.log1p(-beta));
                assertTrue(jsd >= -SLACK && jsd <= bound + SLACK, "0 ≤ JSD_" + beta + " = " + jsd + " ≤ " + bound + " " + at);
            }
            float tv = one(ek, PairOp.TV, ts[0], ts[1], o);
            float hel = one(ek, PairOp.HELLINGER, ts[0], ts[1], o);
            assertTrue(tv >= 0 && tv <= 1 + SLACK, "0 ≤ TV = " + tv + " ≤ 1 " + at);
            assertTrue(hel >= 0 && hel <= 1 + SLACK, "0 ≤ Hellinger = " + hel + " ≤ 1 " + at);
            // Le Cam: H² ≤ TV ≤ √2 H.
            assertTrue(hel * hel <= tv + SLACK && tv <= Math.sqrt(2) * hel + SLACK, "H² ≤ TV ≤ √2·H: H=" + hel + " TV=" + tv + " " + at);
        }
    }
}
