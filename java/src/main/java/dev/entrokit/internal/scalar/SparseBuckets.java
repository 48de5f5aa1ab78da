package dev.entrokit.internal.scalar;

import static dev.entrokit.internal.scalar.ScalarDivergenceKernels.logAddExp;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The float64 part of a sparse-teacher divergence, shared by every backend: a backend supplies the student's
 * row sums (the full {@code log Σ e^{a}} and, with the rest bucket, the sum outside the ids), this class
 * does the {@code K}-bucket arithmetic and the per-bucket gradient coefficients.
 *
 * <p>With {@code E_b} the student's mass {@code Σ_{i∈b} e^{z_i}} in bucket {@code b}, the compared student
 * probabilities are {@code Q_b = E_b / Σ_b' E_b'}, so the gradient w.r.t. token {@code i} of bucket {@code b}
 * is {@code ρ_i·(u_b − Σ_b' Q_b' u_b')} with {@code u = ∂L/∂Q} and {@code ρ_i = e^{z_i}/Σ_b' E_b'}; tokens in
 * no bucket (outside the ids, renormalized) get 0. Forward KL gives {@code Q_b − P_b} per bucket; reverse KL
 * {@code Q_b (log Q_b − log P_b − L)}; JSD {@code (1−β) Q_b (log Q_b − log M_b − S)} with
 * {@code S = Σ Q (log Q − log M)}. Op codes: {@link #FORWARD_KL}, {@link #REVERSE_KL}, {@link #JSD}.
 *
 * <p>One instance per thread, reused: a row allocates nothing once its {@code k} has been seen.
 */
public final class SparseBuckets {
    /** Forward KL {@code KL(P‖Q)}. */
    public static final int FORWARD_KL = 0;
    /** Reverse KL {@code KL(Q‖P)}. */
    public static final int REVERSE_KL = 1;
    /** JSD(β) for {@code 0 < β < 1}. */
    public static final int JSD = 2;

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ThreadLocal<SparseBuckets> CURRENT = ThreadLocal.withInitial(SparseBuckets::new);

    private int[] ids = new int[0];
    private int[] sorted = new int[0];
    private double[] logP = new double[1];
    private double[] logQ = new double[1];
    private double[] logits = new double[0];
    private int k;
    private int buckets;
    private double lseP;
    private float invT;
    private double logRestSum = Double.NEGATIVE_INFINITY;
    private int op;
    private double beta;
    private double loss;
    private double sq;

    private SparseBuckets() {
    }

    /**
     * This thread's buckets, loaded with the teacher's ids and log-probabilities and the student's full-row
     * log-probabilities of those ids, {@code log q_j = (s_id − m)/T − logZ} with {@code logZ = log Σ e^{(s−m)/T}}.
     */
    public static SparseBuckets load(MemorySegment idSeg, long idOff, MemorySegment lpSeg, long lpOff, int k,
                                     MemorySegment s, long sOff, double m, float invT, double logZ) {
        SparseBuckets b = CURRENT.get();
        if (b.ids.length < k) {
            b.ids = new int[k];
            b.sorted = new int[k];
            b.logP = new double[k + 1];
            b.logQ = new double[k + 1];
            b.logits = new double[k];
        }
        b.k = k;
        b.buckets = k;
        b.logRestSum = Double.NEGATIVE_INFINITY;
        b.lseP = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < k; j++) {
            int id = idSeg.getAtIndex(I32, idOff + j);
            b.ids[j] = id;
            b.sorted[j] = id;
            b.logP[j] = lpSeg.getAtIndex(F32, lpOff + j);
            b.logits[j] = s.getAtIndex(F32, sOff + id);
            b.logQ[j] = (b.logits[j] - m) * invT - logZ;
            b.lseP = logAddExp(b.lseP, b.logP[j]);
        }
        b.invT = invT;
        return b;
    }

    /** The ids in ascending order (for the sums between them). */
    public int[] sortedIds() {
        Arrays.sort(sorted, 0, k);
        return sorted;
    }

    /** Token id of bucket {@code j < k}. */
    public int id(int j) {
        return ids[j];
    }

    /**
     * Adds the rest bucket: the teacher's missing mass {@code 1 − Σ e^{lp}} (0 where rounding took the sum
     * past 1; the façade refuses more than that) against the student's {@code Σ_{i∉ids} e^{a_i}}, given as its
     * log relative to the same shift as {@code logZ}.
     */
    public void addRest(double logRestSum, double logZ) {
        this.logRestSum = logRestSum;
        logP[k] = lseP >= 0 ? Double.NEGATIVE_INFINITY : Math.log(-Math.expm1(lseP));
        logQ[k] = logRestSum - logZ;
        buckets = k + 1;
    }

    /**
     * Renormalizes both sides over the ids; false when a side has no mass there (the row is then NaN). Each side
     * is shifted by its own maximum over the ids, so the ids' logit differences stay exact however far below the
     * row's maximum they lie (the student's {@code log q} there may be −2e31, where a double's ulp is 4e15).
     */
    public boolean renormalize() {
        double mp = Double.NEGATIVE_INFINITY;
        double mq = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < k; j++) {
            mp = Math.max(mp, logP[j]);
            mq = Math.max(mq, logits[j]);
        }
        if (mp == Double.NEGATIVE_INFINITY || mq == Double.NEGATIVE_INFINITY) {
            return false;
        }
        double sp = 0;
        double sq = 0;
        for (int j = 0; j < k; j++) {
            sp += Math.exp(logP[j] - mp);
            sq += Math.exp((logits[j] - mq) * invT);
        }
        double logSp = Math.log(sp);
        double logSq = Math.log(sq);
        for (int j = 0; j < k; j++) {
            logP[j] = (logP[j] - mp) - logSp;
            logQ[j] = (logits[j] - mq) * invT - logSq;
        }
        return true;
    }

    private double logM(int b) {
        return logAddExp(Math.log(beta) + logP[b], Math.log1p(-beta) + logQ[b]);
    }

    /** The loss over the buckets; buckets with {@code P = 0} (or {@code Q = 0}) add 0 where they weigh. */
    public double loss(int op, float beta) {
        this.op = op;
        this.beta = beta;
        double l = 0;
        double s = 0;
        for (int b = 0; b < buckets; b++) {
            double lp = logP[b];
            double lq = logQ[b];
            switch (op) {
                case FORWARD_KL -> l += lp == Double.NEGATIVE_INFINITY ? 0 : Math.exp(lp) * (lp - lq);
                case REVERSE_KL -> l += lq == Double.NEGATIVE_INFINITY ? 0 : Math.exp(lq) * (lq - lp);
                default -> {
                    double lm = logM(b);
                    double tp = lp == Double.NEGATIVE_INFINITY ? 0 : Math.exp(lp) * (lp - lm);
                    double tq = lq == Double.NEGATIVE_INFINITY ? 0 : Math.exp(lq) * (lq - lm);
                    l += this.beta * tp + (1.0 - this.beta) * tq;
                    s += tq;
                }
            }
        }
        loss = l;
        sq = s;
        return l;
    }

    /**
     * Whether the loss has a gradient: reverse KL is {@code +inf} where the teacher gives 0 to a bucket the
     * student keeps, and then has none (SPEC §1); forward KL keeps its finite {@code Q − P}.
     */
    public boolean hasGradient() {
        return op != REVERSE_KL || Double.isFinite(loss);
    }

    /** {@code ∂L/∂z} of bucket {@code j < k} (one token: {@code ρ = Q_j}), before {@code gradScale/T}. */
    public double idGradient(int j) {
        return coefficient(j, Math.exp(logQ[j]));
    }

    private double coefficient(int b, double q) {
        return switch (op) {
            case FORWARD_KL -> q - Math.exp(logP[b]);
            case REVERSE_KL -> q == 0 ? 0 : q * (logQ[b] - logP[b] - loss);
            default -> q == 0 ? 0 : (1.0 - beta) * q * (logQ[b] - logM(b) - sq);
        };
    }

    /**
     * For a token outside the ids with the rest bucket: its gradient is {@code restQ()·q_i + restSigma()·σ_i},
     * {@code q_i} its full softmax and {@code σ_i = e^{a_i}/Σ_rest} its share of the rest. Forward KL's
     * {@code q_i (1 − P_r/Q_r)} is written {@code q_i − P_r σ_i}, finite however small {@code Q_r} is. Both 0
     * without the rest bucket.
     */
    public double restQ() {
        if (buckets == k || logQ[k] == Double.NEGATIVE_INFINITY) {
            return 0;
        }
        return op == FORWARD_KL ? 1 : coefficient(k, 1);
    }

    /** See {@link #restQ()}. */
    public double restSigma() {
        if (buckets == k || logQ[k] == Double.NEGATIVE_INFINITY) {
            return 0;
        }
        return op == FORWARD_KL ? -Math.exp(logP[k]) : 0;
    }

    /** {@code log Σ_{i∉ids} e^{a_i}} as given to {@link #addRest}; {@code −inf} without it. */
    public double logRestSum() {
        return logRestSum;
    }
}
