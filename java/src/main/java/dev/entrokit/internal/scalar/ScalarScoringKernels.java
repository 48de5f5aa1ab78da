package dev.entrokit.internal.scalar;

import static dev.entrokit.internal.scalar.ScalarDistributionKernels.logAddExp;
import static dev.entrokit.internal.scalar.ScalarDistributionKernels.rowMax;
import static dev.entrokit.internal.scalar.ScalarDistributionKernels.sumExp;

import dev.entrokit.internal.ScoringKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The reference for the scoring helpers and the α-family, accumulating in float64 and written for
 * clarity; every other backend is tested against it. PLD's sort also serves the SIMD backend.
 */
public final class ScalarScoringKernels implements ScoringKernels {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** PLD's rows for one row of tokens: sort keys and suffix log-sum-exps. */
    private record PldScratch(long[] keys, double[] suffix) {
        PldScratch(int n) {
            this(new long[n], new double[n]);
        }
    }

    /** Per-thread PLD scratch, so that a row allocates nothing. */
    private static final ThreadLocal<PldScratch> SCRATCH = ThreadLocal.withInitial(() -> new PldScratch(0));

    static double get(MemorySegment seg, long i) {
        return seg.getAtIndex(F32, i);
    }

    static void put(MemorySegment seg, long i, double v) {
        seg.setAtIndex(F32, i, (float) v);
    }

    static void fill(MemorySegment out, long off, int n, double v) {
        if (out != null) {
            for (int i = 0; i < n; i++) {
                put(out, off + i, v);
            }
        }
    }

    @Override
    public double tokenLogprob(MemorySegment x, long xOff, int n, int id) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            return Double.NaN;
        }
        return (get(x, xOff + id) - m) - Math.log(sumExp(x, xOff, n, m, 1.0));
    }

    @Override
    public void tokenLogprobMoments(MemorySegment x, long xOff, int n, int id, double[] out) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            Arrays.fill(out, 0, 3, Double.NaN);
            return;
        }
        // With a = x − m: log p = a − log d, so μ = E[a] − log d and σ² = Var[a] = E[a²] − E[a]².
        double d = 0;
        double t1 = 0;
        double t2 = 0;
        for (int i = 0; i < n; i++) {
            double a = get(x, xOff + i) - m;
            if (a != Double.NEGATIVE_INFINITY) { // 0 · log 0 = 0
                double e = Math.exp(a);
                d += e;
                t1 += e * a;
                t2 += e * a * a;
            }
        }
        double logD = Math.log(d);
        double mean = t1 / d;
        out[0] = (get(x, xOff + id) - m) - logD;
        out[1] = mean - logD;
        out[2] = Math.max(0, t2 / d - mean * mean);
    }

    // ---------------------------------------------------------------- the α-family

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

    // ---------------------------------------------------------------- decoding-time logit transforms

    @Override
    public void contrastive(MemorySegment x, long xOff, MemorySegment lame, long lameOff, MemorySegment out,
                            long outOff, int n, float lambda, double u, float threshold) {
        if (Double.isNaN(u)) {
            fill(out, outOff, n, Double.NaN);
            return;
        }
        if (!(u >= threshold)) {
            if (out != x || outOff != xOff) {
                for (int i = 0; i < n; i++) {
                    put(out, outOff + i, get(x, xOff + i));
                }
            }
            return;
        }
        if (Double.isNaN(rowMax(lame, lameOff, n))) {
            fill(out, outOff, n, Double.NaN);
            return;
        }
        for (int i = 0; i < n; i++) {
            double xi = get(x, xOff + i);
            double li = get(lame, lameOff + i);
            boolean masked = xi == Double.NEGATIVE_INFINITY || li == Double.NEGATIVE_INFINITY;
            put(out, outOff + i, masked ? Double.NEGATIVE_INFINITY : (1.0 + lambda) * xi - (double) lambda * li);
        }
    }

    @Override
    public void injectPrior(MemorySegment x, long xOff, MemorySegment prior, long priorOff, MemorySegment out,
                            long outOff, int n, float lambda) {
        boolean bad = Double.isNaN(rowMax(x, xOff, n));
        for (int i = 0; i < n && !bad; i++) {
            double p = get(prior, priorOff + i);
            bad = !(p >= 0) || p == Double.POSITIVE_INFINITY;
        }
        if (bad) {
            fill(out, outOff, n, Double.NaN);
            return;
        }
        for (int i = 0; i < n; i++) {
            put(out, outOff + i, get(x, xOff + i) + lambda * Math.log(get(prior, priorOff + i)));
        }
    }

    // ---------------------------------------------------------------- list-wise distillation

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

    /**
     * Rows up to this many tokens keep their PLD scratch on the thread (16 MiB at most); a longer row's
     * scratch is the call's own, so that one long row does not pin its size on every worker thread.
     */
    static final int KEEP_SCRATCH = 1 << 20;

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
