package dev.entrokit.internal.scalar;

import static dev.entrokit.internal.scalar.ScalarDivergenceKernels.logAddExp;
import static dev.entrokit.internal.scalar.ScalarRows.fill;
import static dev.entrokit.internal.scalar.ScalarRows.fillNaN;
import static dev.entrokit.internal.scalar.ScalarRows.get;
import static dev.entrokit.internal.scalar.ScalarRows.put;
import static dev.entrokit.internal.scalar.ScalarRows.rowMax;
import static dev.entrokit.internal.scalar.ScalarRows.sumExp;

import dev.entrokit.internal.DivergenceKernels;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The divergence family, float64 reference (cross-entropy, KL, reverse KL, JSD, Jeffreys, TV,
 * Hellinger, the α-family, Rényi, χ², PLD). Same row shift as {@link ScalarSoftmaxKernels}.
 */
public final class ScalarDivergenceKernels implements DivergenceKernels {
    /** Per-thread PLD scratch, so that a row allocates nothing. */
    private static final ThreadLocal<PldScratch> SCRATCH = ThreadLocal.withInitial(() -> new PldScratch(0));

    /**
     * Rows up to this many tokens keep their PLD scratch on the thread (16 MiB at most); a longer row's
     * scratch is the call's own, so that one long row does not pin its size on every worker thread.
     */
    static final int KEEP_SCRATCH = 1 << 20;

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

    /** PLD's rows for one row of tokens: sort keys and suffix log-sum-exps. */
    private record PldScratch(long[] keys, double[] suffix) {
        PldScratch(int n) {
            this(new long[n], new double[n]);
        }
    }


    /** Which member of the α-family: they differ only in how {@code S} becomes a loss and a gradient factor. */
    private enum Family { AMARI, RENYI, CHI2 }

    @Override
    public double alphaDivergence(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                                  float alpha, MemorySegment grad, long gradOff, float gradScale) {
        return alphaFamily(Family.AMARI, t, tOff, s, sOff, n, invT, alpha, grad, gradOff, gradScale);
    }

    @Override
    public double renyi(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float alpha,
                        MemorySegment grad, long gradOff, float gradScale) {
        return alphaFamily(Family.RENYI, t, tOff, s, sOff, n, invT, alpha, grad, gradOff, gradScale);
    }

    @Override
    public double chi2(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                       MemorySegment grad, long gradOff, float gradScale) {
        return alphaFamily(Family.CHI2, t, tOff, s, sOff, n, invT, 2f, grad, gradOff, gradScale);
    }

    /** {@code c_i = α log p_i + (1−α) log q_i}, {@code −inf} where the teacher is masked (no {@code 0·inf}). */
    private static double c(double logP, double logQ, double alpha) {
        return logP == Double.NEGATIVE_INFINITY ? Double.NEGATIVE_INFINITY : alpha * logP + (1 - alpha) * logQ;
    }

    private static double alphaFamily(Family family, MemorySegment t, long tOff, MemorySegment s, long sOff, int n,
                                      float invT, float alphaF, MemorySegment grad, long gradOff, float gradScale) {
        double mt = rowMax(t, tOff, n);
        double ms = rowMax(s, sOff, n);
        if (Double.isNaN(mt) || Double.isNaN(ms)) {
            fill(grad, gradOff, n, Double.NaN);
            return Double.NaN;
        }
        double alpha = alphaF;
        double logDt = Math.log(sumExp(t, tOff, n, mt, invT));
        double logDs = Math.log(sumExp(s, sOff, n, ms, invT));
        // log S as a log-sum-exp over c: for α > 1 the terms p^α q^{1−α} can exceed any float.
        double mc = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            mc = Math.max(mc, c((get(t, tOff + i) - mt) * invT - logDt, (get(s, sOff + i) - ms) * invT - logDs, alpha));
        }
        double logS;
        if (Double.isInfinite(mc)) {
            logS = mc; // disjoint supports (S = 0), or q = 0 under p > 0 at α > 1 (S = +inf)
        } else {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += Math.exp(c((get(t, tOff + i) - mt) * invT - logDt, (get(s, sOff + i) - ms) * invT - logDs, alpha) - mc);
            }
            logS = mc + Math.log(sum);
        }
        // expm1 keeps 1 − S exact when p ≈ q, where S rounds to 1.
        double value = switch (family) {
            case AMARI -> -Math.expm1(logS) / (alpha * (1 - alpha));
            case RENYI -> logS / (alpha - 1);
            case CHI2 -> Math.expm1(logS);
        };
        if (grad != null) {
            if (!Double.isFinite(value)) {
                fill(grad, gradOff, n, Double.NaN);
                return value;
            }
            double k = switch (family) {
                case AMARI -> Math.exp(logS) / alpha;
                case RENYI -> 1;
                case CHI2 -> Math.exp(logS);
            };
            double scale = k * gradScale * invT;
            for (int i = 0; i < n; i++) {
                double logP = (get(t, tOff + i) - mt) * invT - logDt;
                double logQ = (get(s, sOff + i) - ms) * invT - logDs;
                double r = Math.exp(c(logP, logQ, alpha) - logS);
                double diff = Math.exp(logQ) - r;
                // K = S reaches 1e308 for χ², so the scale can overflow double: a zero entry stays 0, not 0·inf.
                put(grad, gradOff + i, diff == 0 ? 0 : diff * scale);
            }
        }
        return value;
    }


    /**
     * A sort key that orders by teacher logit descending, then index ascending: the high half is the
     * negated logit as an order-preserving int, the low half the index.
     */
    private static long rankKey(double teacherLogit, int index) {
        int bits = Float.floatToRawIntBits(-(float) teacherLogit + 0f); // + 0f: −0 and +0 tie
        int ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF);
        return ((long) ordered << 32) | index;
    }

    @Override
    public double pld(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, int label, float invT,
                      MemorySegment grad, long gradOff, float gradScale) {
        double mt = rowMax(t, tOff, n);
        double ms = rowMax(s, sOff, n);
        if (Double.isNaN(mt) || Double.isNaN(ms)) {
            fill(grad, gradOff, n, Double.NaN);
            return Double.NaN;
        }
        PldScratch scratch = scratch(n);
        long[] keys = scratch.keys();
        double[] suffix = scratch.suffix();
        // π: the label first, then the others by teacher logit (keys[k] for rank k + 1).
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (i != label) {
                keys[m++] = rankKey(get(t, tOff + i), i);
            }
        }
        Arrays.sort(keys, 0, m);
        double logDt = Math.log(sumExp(t, tOff, n, mt, invT));
        // suffix[k] = log Σ_{j≥k} e^{b_{π_j}}, b = (s − m_s)/T, built from the last rank up.
        double running = Double.NEGATIVE_INFINITY;
        for (int k = n - 1; k >= 0; k--) {
            running = logAddExp(running, (get(s, sOff + rank(keys, label, k)) - ms) * invT);
            suffix[k] = running;
        }
        double loss = 0;
        for (int k = 0; k < n; k++) {
            int i = rank(keys, label, k);
            double w = Math.exp((get(t, tOff + i) - mt) * invT - logDt);
            double b = (get(s, sOff + i) - ms) * invT;
            if (w > 0) { // masked teacher tokens weigh 0, even where the student is masked too
                // A student-masked token the teacher ranks can never be chosen: probability 0.
                loss += b == Double.NEGATIVE_INFINITY ? Double.POSITIVE_INFINITY : w * (suffix[k] - b);
            }
        }
        if (grad != null && !Double.isFinite(loss)) {
            fill(grad, gradOff, n, Double.NaN);
        } else if (grad != null) {
            // ∂L/∂b_i = e^{b_i} Σ_{k ≤ rank(i)} α_k e^{−suffix_k} − α_{rank(i)}; the prefix sum runs in logs
            // (b_i ≤ suffix_k for those k, so the exponent stays ≤ 0).
            double scale = (double) gradScale * invT;
            double logC = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < n; k++) {
                int i = rank(keys, label, k);
                double logW = (get(t, tOff + i) - mt) * invT - logDt;
                // Exactly the ranks the loss sums (w > 0) start a term: a weight that underflows to 0 there
                // may sit over a suffix of student-masked tokens (suffix −inf), and logW − suffix would be
                // +inf, so e^{b_i + logC} NaN for the masked tokens after it.
                if (Math.exp(logW) > 0) {
                    logC = logAddExp(logC, logW - suffix[k]);
                }
                double b = (get(s, sOff + i) - ms) * invT;
                put(grad, gradOff + i, (Math.exp(b + logC) - Math.exp(logW)) * scale);
            }
        }
        return loss;
    }

    /** The token at rank {@code k} of π. */
    private static int rank(long[] keys, int label, int k) {
        return k == 0 ? label : (int) keys[k - 1];
    }

    private static PldScratch scratch(int n) {
        PldScratch kept = SCRATCH.get();
        if (kept.keys().length >= n) {
            return kept;
        }
        PldScratch fresh = new PldScratch(n);
        if (n <= KEEP_SCRATCH) {
            SCRATCH.set(fresh);
        }
        return fresh;
    }
}
