package dev.entrokit.internal.scalar;

import dev.entrokit.internal.DistributionKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The reference: SPEC §1 written out as plainly as possible, accumulating in float64. Every other
 * backend is tested against this class, so clarity wins over speed here.
 *
 * <p>Each row is shifted by its maximum logit {@code m}: {@code a_i = (x_i − m)/T ≤ 0}, so
 * {@code e_i = exp(a_i)} never overflows, {@code d = Σ e_i}, {@code log p_i = a_i − log d}.
 */
public final class ScalarDistributionKernels implements DistributionKernels {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private static double get(MemorySegment seg, long i) {
        return seg.getAtIndex(F32, i);
    }

    private static void put(MemorySegment seg, long i, double v) {
        seg.setAtIndex(F32, i, (float) v);
    }

    /** The row's maximum, or NaN when SPEC §1 makes the whole row NaN (a NaN, a +inf, or all -inf). */
    static double rowMax(MemorySegment x, long off, int n) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            double v = get(x, off + i);
            if (Double.isNaN(v) || v == Double.POSITIVE_INFINITY) {
                return Double.NaN;
            }
            m = Math.max(m, v);
        }
        return m == Double.NEGATIVE_INFINITY ? Double.NaN : m;
    }

    /** {@code d = Σ exp((x_i − m)/T)}. */
    static double sumExp(MemorySegment x, long off, int n, double m, double invT) {
        double d = 0;
        for (int i = 0; i < n; i++) {
            d += Math.exp((get(x, off + i) - m) * invT);
        }
        return d;
    }

    private static void fillNaN(MemorySegment out, long off, int n) {
        if (out != null) {
            for (int i = 0; i < n; i++) {
                put(out, off + i, Double.NaN);
            }
        }
    }

    @Override
    public double logSumExp(MemorySegment x, long xOff, int n, float invT) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            return Double.NaN;
        }
        return m * invT + Math.log(sumExp(x, xOff, n, m, invT));
    }

    @Override
    public void softmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            fillNaN(out, outOff, n);
            return;
        }
        double d = sumExp(x, xOff, n, m, invT);
        for (int i = 0; i < n; i++) {
            put(out, outOff + i, Math.exp((get(x, xOff + i) - m) * invT) / d);
        }
    }

    @Override
    public void logSoftmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            fillNaN(out, outOff, n);
            return;
        }
        double logD = Math.log(sumExp(x, xOff, n, m, invT));
        for (int i = 0; i < n; i++) {
            put(out, outOff + i, (get(x, xOff + i) - m) * invT - logD);
        }
    }

    @Override
    public void softmaxStats(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT, boolean log,
                             double[] stats) {
        // Statistics first: out may alias x. Each one is the standalone op's own arithmetic, so the fused
        // call agrees with the separate ones bitwise; the scalar backend is the reference, not the fast path.
        double h = entropy(x, xOff, n, invT, null, 0, 0f);
        double lse = logSumExp(x, xOff, n, invT);
        double m = rowMax(x, xOff, n);
        stats[0] = Double.isNaN(h) ? Double.NaN : m;
        stats[1] = Double.isNaN(h) ? Double.NaN : lse;
        stats[2] = h;
        if (log) {
            logSoftmax(x, xOff, out, outOff, n, invT);
        } else {
            softmax(x, xOff, out, outOff, n, invT);
        }
    }

    @Override
    public void softmaxBackward(MemorySegment p, long pOff, MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                                int n, float invT) {
        double dot = 0;
        for (int i = 0; i < n; i++) {
            dot += get(dy, dyOff + i) * get(p, pOff + i);
        }
        for (int i = 0; i < n; i++) {
            put(dx, dxOff + i, get(p, pOff + i) * (get(dy, dyOff + i) - dot) * invT);
        }
    }

    @Override
    public void logSoftmaxBackward(MemorySegment y, long yOff, MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                                   int n, float invT) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += get(dy, dyOff + i);
        }
        for (int i = 0; i < n; i++) {
            put(dx, dxOff + i, (get(dy, dyOff + i) - Math.exp(get(y, yOff + i)) * sum) * invT);
        }
    }

    @Override
    public double entropy(MemorySegment x, long xOff, int n, float invT, MemorySegment grad, long gradOff, float gradScale) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            fillNaN(grad, gradOff, n);
            return Double.NaN;
        }
        double logD = Math.log(sumExp(x, xOff, n, m, invT));
        double h = 0;
        for (int i = 0; i < n; i++) {
            double logP = (get(x, xOff + i) - m) * invT - logD;
            if (logP != Double.NEGATIVE_INFINITY) { // 0 · log 0 = 0
                h -= Math.exp(logP) * logP;
            }
        }
        if (grad != null) {
            double scale = (double) gradScale * invT;
            for (int i = 0; i < n; i++) {
                double logP = (get(x, xOff + i) - m) * invT - logD;
                double g = logP == Double.NEGATIVE_INFINITY ? 0 : -Math.exp(logP) * (logP + h);
                put(grad, gradOff + i, g * scale);
            }
        }
        return h;
    }

    @Override
    public double crossEntropy(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                               MemorySegment grad, long gradOff, float gradScale) {
        double mt = rowMax(t, tOff, n);
        double ms = rowMax(s, sOff, n);
        if (Double.isNaN(mt) || Double.isNaN(ms)) {
            fillNaN(grad, gradOff, n);
            return Double.NaN;
        }
        double logDt = Math.log(sumExp(t, tOff, n, mt, invT));
        double logDs = Math.log(sumExp(s, sOff, n, ms, invT));
        double ce = 0;
        for (int i = 0; i < n; i++) {
            double logP = (get(t, tOff + i) - mt) * invT - logDt;
            double logQ = (get(s, sOff + i) - ms) * invT - logDs;
            if (logP != Double.NEGATIVE_INFINITY) {
                ce -= logQ == Double.NEGATIVE_INFINITY ? Double.NEGATIVE_INFINITY : Math.exp(logP) * logQ;
            }
        }
        writeQMinusP(t, tOff, mt, logDt, s, sOff, ms, logDs, n, invT, grad, gradOff, gradScale);
        return ce;
    }

    /** {@code grad = (q − p) · gradScale / T}, the gradient of CE and KL. */
    private static void writeQMinusP(MemorySegment t, long tOff, double mt, double logDt, MemorySegment s, long sOff,
                                     double ms, double logDs, int n, float invT, MemorySegment grad, long gradOff,
                                     float gradScale) {
        if (grad == null) {
            return;
        }
        double scale = (double) gradScale * invT;
        for (int i = 0; i < n; i++) {
            double p = Math.exp((get(t, tOff + i) - mt) * invT - logDt);
            double q = Math.exp((get(s, sOff + i) - ms) * invT - logDs);
            put(grad, gradOff + i, (q - p) * scale);
        }
    }

    @Override
    public double crossEntropyLabel(MemorySegment s, long sOff, int n, int label, float smoothing, float invT,
                                    MemorySegment grad, long gradOff, float gradScale) {
        double ms = rowMax(s, sOff, n);
        if (Double.isNaN(ms)) {
            fillNaN(grad, gradOff, n);
            return Double.NaN;
        }
        double logDs = Math.log(sumExp(s, sOff, n, ms, invT));
        // ε = 1 drops the label term entirely (0 · inf would be NaN for a masked label).
        double loss = smoothing == 1f ? 0 : (1.0 - smoothing) * -((get(s, sOff + label) - ms) * invT - logDs);
        if (smoothing > 0) {
            double sumNegLogQ = 0;
            for (int i = 0; i < n; i++) {
                sumNegLogQ -= (get(s, sOff + i) - ms) * invT - logDs;
            }
            loss += smoothing * sumNegLogQ / n;
        }
        if (grad != null) {
            double scale = (double) gradScale * invT;
            double uniform = (double) smoothing / n;
            for (int i = 0; i < n; i++) {
                double q = Math.exp((get(s, sOff + i) - ms) * invT - logDs);
                double target = uniform + (i == label ? 1.0 - smoothing : 0.0);
                put(grad, gradOff + i, (q - target) * scale);
            }
        }
        return loss;
    }

    /** {@code KL(p‖q)} for rows already known to be valid; {@code +inf} when q = 0 where p > 0. */
    private static double klValue(MemorySegment t, long tOff, double mt, double logDt, MemorySegment s, long sOff,
                                  double ms, double logDs, int n, float invT) {
        double kl = 0;
        for (int i = 0; i < n; i++) {
            double logP = (get(t, tOff + i) - mt) * invT - logDt;
            double logQ = (get(s, sOff + i) - ms) * invT - logDs;
            if (logP == Double.NEGATIVE_INFINITY) {
                continue;
            }
            if (logQ == Double.NEGATIVE_INFINITY) {
                return Double.POSITIVE_INFINITY;
            }
            kl += Math.exp(logP) * (logP - logQ);
        }
        return kl;
    }

    /**
     * Writes the reverse-KL gradient {@code q_i (c_i − Σ_j q_j c_j)}, scaled, plus, when {@code withForward}
     * (Jeffreys), the forward-KL gradient {@code q_i − p_i}: summed in float64 and rounded once, since either
     * part alone can overflow float with the opposite sign of their sum.
     * {@code c_i = log q_i − log p_i} would do, but when a logit is near {@code ±Float.MAX_VALUE} the
     * two terms are ~1e38 and their difference ~1e23: so {@code c} is taken relative to its value at the
     * student's argmax {@code k}, straight from logit differences, {@code c_i = (s_i − s_k)/T − (t_i − t_k)/T},
     * which leaves nothing large to cancel.
     *
     * <p>Where {@code rkl} is {@code +inf} (the teacher masks a token the student keeps) the loss has no
     * derivative and the formula gives {@code ∞ − ∞} at that token and {@code −inf} elsewhere: the whole row
     * is NaN instead, so that no finite-looking entry suggests a direction (SPEC §1).
     */
    private static void writeRklGrad(MemorySegment t, long tOff, double mt, double logDt, MemorySegment s, long sOff,
                                     double ms, double logDs, int n, float invT, double rkl, MemorySegment grad,
                                     long gradOff, float gradScale, boolean withForward) {
        if (rkl == Double.POSITIVE_INFINITY) {
            fillNaN(grad, gradOff, n);
            return;
        }
        int k = 0;
        while (get(s, sOff + k) != ms) {
            k++;
        }
        double sk = get(s, sOff + k);
        double tk = get(t, tOff + k);
        double mean = 0;
        for (int i = 0; i < n; i++) {
            double logQ = (get(s, sOff + i) - ms) * invT - logDs;
            if (logQ != Double.NEGATIVE_INFINITY) {
                mean += Math.exp(logQ) * ((get(s, sOff + i) - sk) * invT - (get(t, tOff + i) - tk) * invT);
            }
        }
        double scale = (double) gradScale * invT;
        for (int i = 0; i < n; i++) {
            double logQ = (get(s, sOff + i) - ms) * invT - logDs;
            double c = (get(s, sOff + i) - sk) * invT - (get(t, tOff + i) - tk) * invT;
            double g = logQ == Double.NEGATIVE_INFINITY ? 0 : Math.exp(logQ) * (c - mean);
            if (withForward) {
                g += Math.exp(logQ) - Math.exp((get(t, tOff + i) - mt) * invT - logDt);
            }
            put(grad, gradOff + i, g * scale);
        }
    }

    @Override
    public double kl(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                     MemorySegment grad, long gradOff, float gradScale) {
        double mt = rowMax(t, tOff, n);
        double ms = rowMax(s, sOff, n);
        if (Double.isNaN(mt) || Double.isNaN(ms)) {
            fillNaN(grad, gradOff, n);
            return Double.NaN;
        }
        double logDt = Math.log(sumExp(t, tOff, n, mt, invT));
        double logDs = Math.log(sumExp(s, sOff, n, ms, invT));
        writeQMinusP(t, tOff, mt, logDt, s, sOff, ms, logDs, n, invT, grad, gradOff, gradScale);
        return klValue(t, tOff, mt, logDt, s, sOff, ms, logDs, n, invT);
    }

    @Override
    public double rkl(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                      MemorySegment grad, long gradOff, float gradScale) {
        double mt = rowMax(t, tOff, n);
        double ms = rowMax(s, sOff, n);
        if (Double.isNaN(mt) || Double.isNaN(ms)) {
            fillNaN(grad, gradOff, n);
            return Double.NaN;
        }
        double logDt = Math.log(sumExp(t, tOff, n, mt, invT));
        double logDs = Math.log(sumExp(s, sOff, n, ms, invT));
        double rkl = klValue(s, sOff, ms, logDs, t, tOff, mt, logDt, n, invT);
        if (grad != null) {
            writeRklGrad(t, tOff, mt, logDt, s, sOff, ms, logDs, n, invT, rkl, grad, gradOff, gradScale, false);
        }
        return rkl;
    }

    @Override
    public double jeffreys(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                           MemorySegment grad, long gradOff, float gradScale) {
        double mt = rowMax(t, tOff, n);
        double ms = rowMax(s, sOff, n);
        if (Double.isNaN(mt) || Double.isNaN(ms)) {
            fillNaN(grad, gradOff, n);
            return Double.NaN;
        }
        double logDt = Math.log(sumExp(t, tOff, n, mt, invT));
        double logDs = Math.log(sumExp(s, sOff, n, ms, invT));
        double kl = klValue(t, tOff, mt, logDt, s, sOff, ms, logDs, n, invT);
        double rkl = klValue(s, sOff, ms, logDs, t, tOff, mt, logDt, n, invT);
        if (grad != null) {
            writeRklGrad(t, tOff, mt, logDt, s, sOff, ms, logDs, n, invT, rkl, grad, gradOff, gradScale, true);
        }
        return kl + rkl;
    }

    @Override
    public double jsd(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta,
                      MemorySegment grad, long gradOff, float gradScale) {
        double mt = rowMax(t, tOff, n);
        double ms = rowMax(s, sOff, n);
        if (Double.isNaN(mt) || Double.isNaN(ms)) {
            fillNaN(grad, gradOff, n);
            return Double.NaN;
        }
        double logDt = Math.log(sumExp(t, tOff, n, mt, invT));
        double logDs = Math.log(sumExp(s, sOff, n, ms, invT));
        double b = beta;
        double logB = Math.log(b);
        double log1mB = Math.log1p(-b);
        double towardP = 0; // Σ p log(p/M)
        double towardQ = 0; // Σ q log(q/M)
        for (int i = 0; i < n; i++) {
            double logP = (get(t, tOff + i) - mt) * invT - logDt;
            double logQ = (get(s, sOff + i) - ms) * invT - logDs;
            double p = Math.exp(logP);
            double q = Math.exp(logQ);
            double logM = logAddExp(logB + logP, log1mB + logQ);
            if (p > 0) {
                towardP += p * (logP - logM);
            }
            if (q > 0) {
                towardQ += q * (logQ - logM);
            }
        }
        if (grad != null) {
            double scale = (double) gradScale * invT * (1 - b);
            for (int i = 0; i < n; i++) {
                double logP = (get(t, tOff + i) - mt) * invT - logDt;
                double logQ = (get(s, sOff + i) - ms) * invT - logDs;
                double q = Math.exp(logQ);
                double logM = logAddExp(logB + logP, log1mB + logQ);
                double g = q > 0 ? q * (logQ - logM - towardQ) : 0;
                put(grad, gradOff + i, g * scale);
            }
        }
        return b * towardP + (1 - b) * towardQ;
    }

    /**
     * {@code log(e^a + e^b)} with {@code −inf} handled, without forming {@code e^a + e^b}: JSD's mixture
     * {@code βp + (1−β)q} of a token subnormal in both rows rounds to 0, so {@code log M = −inf} and
     * {@code p·log(p/M)} was {@code +inf} (JSD, at most ln 2, returned {@code +inf} on rows spread over 5e4
     * temperature units; found by the façade fuzzer). PLD's suffix sums use it too.
     */
    static double logAddExp(double a, double b) {
        if (a == Double.NEGATIVE_INFINITY) {
            return b;
        }
        if (b == Double.NEGATIVE_INFINITY) {
            return a;
        }
        return Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
    }

    @Override
    public double tv(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT) {
        double mt = rowMax(t, tOff, n);
        double ms = rowMax(s, sOff, n);
        if (Double.isNaN(mt) || Double.isNaN(ms)) {
            return Double.NaN;
        }
        double logDt = Math.log(sumExp(t, tOff, n, mt, invT));
        double logDs = Math.log(sumExp(s, sOff, n, ms, invT));
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double p = Math.exp((get(t, tOff + i) - mt) * invT - logDt);
            double q = Math.exp((get(s, sOff + i) - ms) * invT - logDs);
            sum += Math.abs(p - q);
        }
        return 0.5 * sum;
    }

    @Override
    public double hellinger(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT) {
        double mt = rowMax(t, tOff, n);
        double ms = rowMax(s, sOff, n);
        if (Double.isNaN(mt) || Double.isNaN(ms)) {
            return Double.NaN;
        }
        double logDt = Math.log(sumExp(t, tOff, n, mt, invT));
        double logDs = Math.log(sumExp(s, sOff, n, ms, invT));
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double sqrtP = Math.exp(0.5 * ((get(t, tOff + i) - mt) * invT - logDt));
            double sqrtQ = Math.exp(0.5 * ((get(s, sOff + i) - ms) * invT - logDs));
            double diff = sqrtP - sqrtQ;
            sum += diff * diff;
        }
        return Math.sqrt(0.5 * sum);
    }
}
