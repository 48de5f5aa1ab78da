package dev.entrokit.internal.scalar;

import static dev.entrokit.internal.scalar.ScalarRows.fill;
import static dev.entrokit.internal.scalar.ScalarRows.get;
import static dev.entrokit.internal.scalar.ScalarRows.put;
import static dev.entrokit.internal.scalar.ScalarRows.rowMax;
import static dev.entrokit.internal.scalar.ScalarRows.sumExp;

import dev.entrokit.internal.PolicyKernels;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The float64 reference of the policy and sparse-teacher losses, written for clarity; the SIMD backend is
 * tested against it and hands it the rows float lanes cannot serve.
 *
 * <p>Both losses are written in terms of buckets: the sparse teacher's divergence compares two distributions
 * over {@code K} buckets (the {@code k} ids, plus the rest in that convention), and with {@code E_b} the
 * student's mass {@code Σ_{i∈b} e^{z_i}} the bucket probabilities are {@code Q_b = E_b / Σ_b' E_b'}. So the
 * gradient w.r.t. a token {@code i} of bucket {@code b} is {@code ρ_i·(u_b − Σ_b' Q_b' u_b')} with
 * {@code u = ∂L/∂Q} and {@code ρ_i = e^{z_i}/Σ_b' E_b'}, its share of the compared mass; tokens in no bucket
 * (outside the ids, renormalized) get 0.
 */
public final class ScalarPolicyKernels implements PolicyKernels {

    // ---------------------------------------------------------------- token log-prob, entropy, k3

    @Override
    public void logprobEntropy(MemorySegment x, long xOff, int n, int id, float invT, double ref, double[] out,
                               MemorySegment grad, long gradOff, double wLogprob, double wEntropy, double wK3) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            Arrays.fill(out, 0, 3, Double.NaN);
            fill(grad, gradOff, n, Double.NaN);
            return;
        }
        // a_i = (x_i − m)/T ≤ 0: d = Σ e^a, t = Σ e^a·a, H = log d − t/d (masked tokens add 0, not 0·−inf).
        double d = 0;
        double t = 0;
        for (int i = 0; i < n; i++) {
            double a = (get(x, xOff + i) - m) * invT;
            double e = Math.exp(a);
            d += e;
            t += e == 0 ? 0 : e * a;
        }
        double logD = Math.log(d);
        double h = logD - t / d;
        double l = (get(x, xOff + id) - m) * invT - logD;
        out[0] = l;
        out[1] = h;
        out[2] = Double.isNaN(ref) ? Double.NaN : k3(ref - l);
        if (grad == null) {
            return;
        }
        boolean infinite = wLogprob != 0 && !Double.isFinite(l) || wK3 != 0 && !Double.isFinite(out[2]);
        if (infinite) {
            fill(grad, gradOff, n, Double.NaN);
            return;
        }
        // ∂k3/∂ℓ = 1 − e^δ = −expm1(δ): the k3 term only changes the weight of ℓ's gradient.
        double a = wLogprob + (wK3 == 0 ? 0 : wK3 * -Math.expm1(ref - l));
        for (int i = 0; i < n; i++) {
            double ai = (get(x, xOff + i) - m) * invT;
            double p = Math.exp(ai - logD);
            double g = p == 0 ? 0 : -a * p - wEntropy * p * (ai - logD + h);
            put(grad, gradOff + i, (i == id ? g + a : g) * invT);
        }
    }

    /** {@code e^δ − δ − 1} without cancellation near 0; {@code +inf} for {@code δ = ±inf}. */
    static double k3(double delta) {
        return Double.isInfinite(delta) ? Double.POSITIVE_INFINITY : Math.expm1(delta) - delta;
    }

    // ---------------------------------------------------------------- sparse teacher

    /** The largest logit outside the sorted ids ({@code −inf} when there is none). */
    static double restMax(MemorySegment s, long sOff, int n, int[] sorted, int k) {
        double rm = Double.NEGATIVE_INFINITY;
        int from = 0;
        for (int j = 0; j <= k; j++) {
            int to = j < k ? sorted[j] : n;
            for (int i = from; i < to; i++) {
                rm = Math.max(rm, get(s, sOff + i));
            }
            from = to + 1;
        }
        return rm;
    }

    /** {@code Σ_{i∉ids} e^{(s_i − rm)/T}} over the gaps between the sorted ids. */
    static double restSum(MemorySegment s, long sOff, int n, int[] sorted, int k, double rm, float invT) {
        double sum = 0;
        int from = 0;
        for (int j = 0; j <= k; j++) {
            int to = j < k ? sorted[j] : n;
            sum += sumExp(s, sOff + from, to - from, rm, invT);
            from = to + 1;
        }
        return sum;
    }

    @Override
    public double sparseDivergence(int op, boolean rest, MemorySegment ids, long idOff, MemorySegment logprobs,
                                   long lpOff, int k, MemorySegment s, long sOff, int n, float invT, float beta,
                                   MemorySegment grad, long gradOff, float gradScale) {
        double m = rowMax(s, sOff, n);
        if (Double.isNaN(m)) {
            fill(grad, gradOff, n, Double.NaN);
            return Double.NaN;
        }
        double logZ = Math.log(sumExp(s, sOff, n, m, invT));
        SparseBuckets b = SparseBuckets.load(ids, idOff, logprobs, lpOff, k, s, sOff, m, invT, logZ);
        rest &= k < n; // every token an id: no rest bucket, the teacher's residue is rounding (SPEC §1)
        // The rest is summed relative to its own maximum rm: it may lie so far below m that every term
        // underflows while its log is finite, and σ_i = e^{(s_i − rm)/T}/Σ_rest is then still exact.
        double rm = Double.NEGATIVE_INFINITY;
        double logRestRel = Double.NEGATIVE_INFINITY;
        if (rest) {
            int[] sorted = b.sortedIds();
            rm = restMax(s, sOff, n, sorted, k);
            if (rm != Double.NEGATIVE_INFINITY) {
                logRestRel = Math.log(restSum(s, sOff, n, sorted, k, rm, invT));
            }
            b.addRest(rm == Double.NEGATIVE_INFINITY ? rm : (rm - m) * invT + logRestRel, logZ);
        } else if (!b.renormalize()) {
            fill(grad, gradOff, n, Double.NaN);
            return Double.NaN;
        }
        double loss = b.loss(op, beta);
        if (grad == null) {
            return loss;
        }
        if (!b.hasGradient()) {
            fill(grad, gradOff, n, Double.NaN);
            return loss;
        }
        double scale = (double) gradScale * invT;
        // Outside the ids: 0 when renormalized, else c1·q_i + c2·σ_i with σ_i = e^{a_i}/Σ_rest (SparseBuckets).
        double c1 = b.restQ() * scale;
        double c2 = b.restSigma() * scale;
        for (int i = 0; i < n; i++) {
            double x = get(s, sOff + i);
            double g = 0;
            if (rest && x != Double.NEGATIVE_INFINITY) {
                g = c1 * Math.exp((x - m) * invT - logZ) + (c2 == 0 ? 0 : c2 * Math.exp((x - rm) * invT - logRestRel));
            }
            put(grad, gradOff + i, g);
        }
        for (int j = 0; j < k; j++) {
            put(grad, gradOff + b.id(j), b.idGradient(j) * scale);
        }
        return loss;
    }

    // ---------------------------------------------------------------- cross-entropy with options

    /** {@code c·tanh(x/c)}, with {@code −inf} kept (a masked token stays masked); {@code c = 0} leaves x. */
    static double cap(double x, double c) {
        return c == 0 || x == Double.NEGATIVE_INFINITY ? x : c * Math.tanh(x / c);
    }

    @Override
    public void crossEntropyOptions(MemorySegment x, long xOff, int n, int label, float invT, float smoothing,
                                    float zLoss, float softcap, MemorySegment weights, long wOff, double[] out,
                                    MemorySegment grad, long gradOff, double gCe, double gZ) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            Arrays.fill(out, 0, 2, Double.NaN);
            out[2] = -1;
            fill(grad, gradOff, n, Double.NaN);
            return;
        }
        int argmax = 0;
        while (get(x, xOff + argmax) != m) {
            argmax++;
        }
        double c = softcap;
        double cm = cap(m, c); // cap is increasing: the capped maximum is the cap of the maximum
        double d = 0;
        double wSum = 0; // Σ w_i
        double wz = 0; // Σ w_i·(z_i − zMax), −inf when a weighted token is masked
        for (int i = 0; i < n; i++) {
            double a = (cap(get(x, xOff + i), c) - cm) * invT;
            double w = weights == null ? 1 : get(weights, wOff + i);
            d += Math.exp(a);
            wSum += w;
            wz += w == 0 ? 0 : w * a;
        }
        double logD = Math.log(d);
        double lse = cm * invT + logD;
        double wy = weights == null ? 1 : get(weights, wOff + label);
        double ay = (cap(get(x, xOff + label), c) - cm) * invT;
        // −log p_i = logD − a_i: the label term, and the smoothing term Σ w_i (logD − a_i)/n.
        double ce = smoothing == 1f ? 0 : (1.0 - smoothing) * wy * (logD - ay);
        if (smoothing > 0) {
            ce += smoothing * (wSum * logD - wz) / n;
        }
        out[0] = ce;
        out[1] = zLoss == 0 ? 0 : zLoss * lse * lse;
        out[2] = argmax;
        if (grad == null) {
            return;
        }
        if (!Double.isFinite(ce) || !Double.isFinite(out[1])) {
            fill(grad, gradOff, n, Double.NaN);
            return;
        }
        // ∂/∂z_i: gCe·[(1−ε) w_y (p_i − [i=y]) + (ε/n)(p_i Σw − w_i)] + gZ·2λ·lse·p_i, then ·cap'(x_i)/T.
        double pCoef = gCe * ((1.0 - smoothing) * wy + smoothing * wSum / n) + gZ * 2 * zLoss * lse;
        for (int i = 0; i < n; i++) {
            double xi = get(x, xOff + i);
            double a = (cap(xi, c) - cm) * invT;
            double p = Math.exp(a - logD);
            double w = weights == null ? 1 : get(weights, wOff + i);
            double g = p * pCoef - gCe * smoothing * w / n - (i == label ? gCe * (1.0 - smoothing) * wy : 0);
            if (c != 0) {
                double t = xi == Double.NEGATIVE_INFINITY ? -1 : Math.tanh(xi / c);
                g *= 1 - t * t;
            }
            put(grad, gradOff + i, g * invT);
        }
    }
}
