package dev.entrokit;

import java.util.Arrays;

/**
 * An independent float64 reference for SPEC §1, written from the specification and not from the
 * library's scalar kernels. Every method takes one row of logits as {@code double[]} (callers widen
 * the very float32 values they hand to a backend) and a temperature {@code T}; {@code z = x / T}.
 *
 * <p>Special values (SPEC §1): a NaN or {@code +inf} anywhere in a row, or a row whose logits are all
 * {@code -inf}, makes every output of that row NaN ({@link #invalid}); {@code -inf} is a masked token
 * with probability 0; {@code 0 · log 0 = 0}; {@code p > 0} where {@code q = 0} makes KL {@code +inf}.
 *
 * <p>Everything is computed in the log domain: {@code log p_i = (x_i − m)/T − log Σ_j exp((x_j − m)/T)}
 * with {@code m} the row maximum, so a probability is "zero" exactly when its logit is {@code -inf}.
 */
public final class Float64Oracle {
    private Float64Oracle() {
    }

    // ------------------------------------------------------------------ helpers

    /** Widens a float32 row (or a slice of a batch) to float64. */
    public static double[] widen(float[] x, int off, int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = x[off + i];
        }
        return d;
    }

    /** Widens a whole float32 array. */
    public static double[] widen(float[] x) {
        return widen(x, 0, x.length);
    }

    /** Whether SPEC §1 makes the whole row NaN: a NaN, a {@code +inf}, or every logit {@code -inf}. */
    public static boolean invalid(double[] x) {
        boolean anyFinite = false;
        for (double v : x) {
            if (Double.isNaN(v) || v == Double.POSITIVE_INFINITY) {
                return true;
            }
            if (v != Double.NEGATIVE_INFINITY) {
                anyFinite = true;
            }
        }
        return !anyFinite;
    }

    private static double[] nanRow(int n) {
        double[] r = new double[n];
        Arrays.fill(r, Double.NaN);
        return r;
    }

    private static double max(double[] x) {
        double m = Double.NEGATIVE_INFINITY;
        for (double v : x) {
            if (v > m) {
                m = v;
            }
        }
        return m;
    }

    /** {@code log(e^a + e^b)} with {@code -inf} handled. */
    static double logAddExp(double a, double b) {
        if (a == Double.NEGATIVE_INFINITY) {
            return b;
        }
        if (b == Double.NEGATIVE_INFINITY) {
            return a;
        }
        double hi = Math.max(a, b);
        double lo = Math.min(a, b);
        return hi + Math.log1p(Math.exp(lo - hi));
    }

    // ------------------------------------------------------------------ softmax family

    /** {@code log Σ exp(x_i / T)}; NaN for an invalid row. */
    public static double logSumExp(double[] x, double t) {
        if (invalid(x)) {
            return Double.NaN;
        }
        double m = max(x);
        double d = 0;
        for (double v : x) {
            if (v != Double.NEGATIVE_INFINITY) {
                d += Math.exp((v - m) / t);
            }
        }
        return m / t + Math.log(d);
    }

    /** {@code log_softmax(x/T)} as {@code (x − m)/T − log d}; masked entries give {@code -inf}. */
    public static double[] logSoftmax(double[] x, double t) {
        int n = x.length;
        if (invalid(x)) {
            return nanRow(n);
        }
        double m = max(x);
        double d = 0;
        for (double v : x) {
            if (v != Double.NEGATIVE_INFINITY) {
                d += Math.exp((v - m) / t);
            }
        }
        double logD = Math.log(d);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = x[i] == Double.NEGATIVE_INFINITY ? Double.NEGATIVE_INFINITY : (x[i] - m) / t - logD;
        }
        return out;
    }

    /** {@code softmax(x/T)}; masked entries give 0. */
    public static double[] softmax(double[] x, double t) {
        double[] lp = logSoftmax(x, t);
        double[] p = new double[lp.length];
        for (int i = 0; i < lp.length; i++) {
            p[i] = Math.exp(lp[i]);
        }
        return p;
    }

    /** Softmax backward w.r.t. the logits {@code x} (with the chain rule's {@code 1/T}): {@code p ⊙ (dy − Σ dy·p) / T}. */
    public static double[] softmaxBackward(double[] p, double[] dy, double t) {
        double dot = 0;
        for (int i = 0; i < p.length; i++) {
            dot += dy[i] * p[i];
        }
        double[] dx = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            dx[i] = p[i] * (dy[i] - dot) / t;
        }
        return dx;
    }

    /** Log-softmax backward w.r.t. {@code x}: {@code (dy − p · Σ dy) / T} with {@code p = exp(logp)}. */
    public static double[] logSoftmaxBackward(double[] logp, double[] dy, double t) {
        double sum = 0;
        for (double v : dy) {
            sum += v;
        }
        double[] dx = new double[logp.length];
        for (int i = 0; i < logp.length; i++) {
            dx[i] = (dy[i] - Math.exp(logp[i]) * sum) / t;
        }
        return dx;
    }

    // ------------------------------------------------------------------ entropy

    /** Shannon entropy {@code −Σ p log p} (nats) with {@code 0·log 0 = 0}. */
    public static double entropy(double[] x, double t) {
        if (invalid(x)) {
            return Double.NaN;
        }
        double[] lp = logSoftmax(x, t);
        double h = 0;
        for (double l : lp) {
            if (l != Double.NEGATIVE_INFINITY) {
                h -= Math.exp(l) * l;
            }
        }
        return h;
    }

    /** {@code ∂H/∂x = −p ⊙ (log p + H) / T}, times {@code g}; masked entries 0. */
    public static double[] entropyGrad(double[] x, double t, double g) {
        int n = x.length;
        if (invalid(x)) {
            return nanRow(n);
        }
        double[] lp = logSoftmax(x, t);
        double h = entropy(x, t);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = lp[i] == Double.NEGATIVE_INFINITY ? 0 : -Math.exp(lp[i]) * (lp[i] + h) * g / t;
        }
        return out;
    }

    // ------------------------------------------------------------------ cross-entropy

    /** Soft-target {@code CE = −Σ p_i log q_i}; {@code +inf} when {@code q_i = 0} where {@code p_i > 0}. */
    public static double crossEntropy(double[] teacher, double[] student, double t) {
        if (invalid(teacher) || invalid(student)) {
            return Double.NaN;
        }
        double[] lp = logSoftmax(teacher, t);
        double[] lq = logSoftmax(student, t);
        double ce = 0;
        for (int i = 0; i < lp.length; i++) {
            if (lp[i] == Double.NEGATIVE_INFINITY) {
                continue;
            }
            if (lq[i] == Double.NEGATIVE_INFINITY) {
                return Double.POSITIVE_INFINITY;
            }
            ce -= Math.exp(lp[i]) * lq[i];
        }
        return ce;
    }

    /** {@code ∂CE/∂s = (q − p) · g / T} (also the forward-KL gradient). */
    public static double[] qMinusPGrad(double[] teacher, double[] student, double t, double g) {
        int n = student.length;
        if (invalid(teacher) || invalid(student)) {
            return nanRow(n);
        }
        double[] p = softmax(teacher, t);
        double[] q = softmax(student, t);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = (q[i] - p[i]) * g / t;
        }
        return out;
    }

    /**
     * Hard-label CE with label smoothing {@code ε}: {@code (1−ε)(−log q_y) + ε·mean_i(−log q_i)}.
     * A term whose weight is exactly 0 is left out (so ε = 0 does not see masked logits).
     * The caller handles {@code ignore_index} (see {@link #crossEntropyLabelRow}).
     */
    public static double crossEntropyLabel(double[] student, int label, double eps, double t) {
        if (invalid(student)) {
            return Double.NaN;
        }
        double[] lq = logSoftmax(student, t);
        double loss = 0;
        if (eps < 1) {
            loss += (1 - eps) * -lq[label];
        }
        if (eps > 0) {
            double sum = 0;
            for (double l : lq) {
                sum -= l;
            }
            loss += eps * sum / lq.length;
        }
        return loss;
    }

    /** The row loss including {@code ignore_index}: an ignored row gives 0. */
    public static double crossEntropyLabelRow(double[] student, int label, int ignoreIndex, double eps, double t) {
        return label == ignoreIndex ? 0 : crossEntropyLabel(student, label, eps, t);
    }

    /** {@code ∂/∂s = (q − (1−ε)·onehot(y) − ε/V) · g / T}; an ignored row gets zeros. */
    public static double[] crossEntropyLabelGrad(double[] student, int label, int ignoreIndex, double eps, double t,
                                                 double g) {
        int n = student.length;
        if (label == ignoreIndex) {
            return new double[n];
        }
        if (invalid(student)) {
            return nanRow(n);
        }
        double[] q = softmax(student, t);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double target = eps / n + (i == label ? 1 - eps : 0);
            out[i] = (q[i] - target) * g / t;
        }
        return out;
    }

    // ------------------------------------------------------------------ divergences

    /** {@code KL(a‖b) = Σ a_i (log a_i − log b_i)} from log-probabilities; {@code +inf} when {@code b_i = 0 < a_i}. */
    static double klFromLogs(double[] la, double[] lb) {
        double kl = 0;
        for (int i = 0; i < la.length; i++) {
            if (la[i] == Double.NEGATIVE_INFINITY) {
                continue;
            }
            if (lb[i] == Double.NEGATIVE_INFINITY) {
                return Double.POSITIVE_INFINITY;
            }
            kl += Math.exp(la[i]) * (la[i] - lb[i]);
        }
        return kl;
    }

    /** Forward {@code KL(p‖q)}, {@code p = softmax(teacher/T)}, {@code q = softmax(student/T)}. */
    public static double kl(double[] teacher, double[] student, double t) {
        if (invalid(teacher) || invalid(student)) {
            return Double.NaN;
        }
        return klFromLogs(logSoftmax(teacher, t), logSoftmax(student, t));
    }

    /** Reverse {@code KL(q‖p)}. */
    public static double rkl(double[] teacher, double[] student, double t) {
        if (invalid(teacher) || invalid(student)) {
            return Double.NaN;
        }
        return klFromLogs(logSoftmax(student, t), logSoftmax(teacher, t));
    }

    /**
     * {@code ∂KL(q‖p)/∂s = (q ⊙ (log q − log p) − q · KL(q‖p)) · g / T}; {@code q_i = 0} gives 0.
     *
     * <p>Written as {@code q_i (d_i − Σ_j q_j d_j)} with {@code d_i = log q_i − log p_i}, and evaluated with
     * every {@code d} shifted by {@code d_k} at the student's argmax {@code k}:
     * {@code d_i − d_k = ((s_i − s_k) − (t_i − t_k)) / T}, straight from the logits. That avoids the
     * cancellation of {@code KL(q‖p)} against {@code log q − log p} when both are huge (e.g. teacher logits at
     * {@code Float.MAX_VALUE}, where {@code KL ≈ 5e38} and the gradient is ~1e9). Where {@code p_i = 0 < q_i}
     * the loss is {@code +inf} and has no derivative: the whole row is NaN (SPEC §1).
     */
    public static double[] rklGrad(double[] teacher, double[] student, double t, double g) {
        int n = student.length;
        if (invalid(teacher) || invalid(student)) {
            return nanRow(n);
        }
        double[] lq = logSoftmax(student, t);
        int k = 0;
        for (int i = 1; i < n; i++) {
            if (student[i] > student[k]) {
                k = i;
            }
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            if (student[i] != Double.NEGATIVE_INFINITY && teacher[i] == Double.NEGATIVE_INFINITY) {
                Arrays.fill(out, Double.NaN);
                return out;
            }
        }
        double[] shifted = new double[n];
        double mean = 0;
        for (int i = 0; i < n; i++) {
            if (lq[i] == Double.NEGATIVE_INFINITY) {
                continue;
            }
            shifted[i] = ((student[i] - student[k]) - (teacher[i] - teacher[k])) / t;
            mean += Math.exp(lq[i]) * shifted[i];
        }
        for (int i = 0; i < n; i++) {
            if (lq[i] != Double.NEGATIVE_INFINITY) {
                out[i] = Math.exp(lq[i]) * (shifted[i] - mean) * g / t;
            }
        }
        return out;
    }

    /** {@code log M_i = log(β p_i + (1−β) q_i)} in the log domain. */
    private static double[] logMixture(double[] lp, double[] lq, double beta) {
        double lb = Math.log(beta);
        double l1b = Math.log1p(-beta);
        double[] lm = new double[lp.length];
        for (int i = 0; i < lp.length; i++) {
            lm[i] = logAddExp(lb + lp[i], l1b + lq[i]);
        }
        return lm;
    }

    /**
     * Generalized JSD: {@code β KL(P‖M) + (1−β) KL(Q‖M)}, {@code M = βP + (1−β)Q}, for {@code 0 < β < 1};
     * β = 0 gives {@code KL(P‖Q)} and β = 1 gives {@code KL(Q‖P)} (Liger/TRL convention, SPEC §1).
     */
    public static double jsd(double[] teacher, double[] student, double beta, double t) {
        if (beta == 0) {
            return kl(teacher, student, t);
        }
        if (beta == 1) {
            return rkl(teacher, student, t);
        }
        if (invalid(teacher) || invalid(student)) {
            return Double.NaN;
        }
        double[] lp = logSoftmax(teacher, t);
        double[] lq = logSoftmax(student, t);
        double[] lm = logMixture(lp, lq, beta);
        return beta * klFromLogs(lp, lm) + (1 - beta) * klFromLogs(lq, lm);
    }

    /** {@code ∂JSD_β/∂s = (1−β)(q ⊙ (log q − log M) − q Σ q (log q − log M)) · g / T}; endpoints as KL / RKL. */
    public static double[] jsdGrad(double[] teacher, double[] student, double beta, double t, double g) {
        if (beta == 0) {
            return qMinusPGrad(teacher, student, t, g);
        }
        if (beta == 1) {
            return rklGrad(teacher, student, t, g);
        }
        int n = student.length;
        if (invalid(teacher) || invalid(student)) {
            return nanRow(n);
        }
        double[] lp = logSoftmax(teacher, t);
        double[] lq = logSoftmax(student, t);
        double[] lm = logMixture(lp, lq, beta);
        double kqm = klFromLogs(lq, lm);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            if (lq[i] == Double.NEGATIVE_INFINITY) {
                continue;
            }
            double q = Math.exp(lq[i]);
            out[i] = (1 - beta) * (q * (lq[i] - lm[i]) - q * kqm) * g / t;
        }
        return out;
    }

    /** Jeffreys {@code KL(p‖q) + KL(q‖p)}. */
    public static double jeffreys(double[] teacher, double[] student, double t) {
        return kl(teacher, student, t) + rkl(teacher, student, t);
    }

    /** Sum of the KL and RKL gradients. */
    public static double[] jeffreysGrad(double[] teacher, double[] student, double t, double g) {
        double[] a = qMinusPGrad(teacher, student, t, g);
        double[] b = rklGrad(teacher, student, t, g);
        for (int i = 0; i < a.length; i++) {
            a[i] += b[i];
        }
        return a;
    }

    /** Total variation {@code ½ Σ |p − q|}. */
    public static double tv(double[] teacher, double[] student, double t) {
        if (invalid(teacher) || invalid(student)) {
            return Double.NaN;
        }
        double[] p = softmax(teacher, t);
        double[] q = softmax(student, t);
        double s = 0;
        for (int i = 0; i < p.length; i++) {
            s += Math.abs(p[i] - q[i]);
        }
        return 0.5 * s;
    }

    /** Hellinger {@code sqrt(½ Σ (√p − √q)²)}. */
    public static double hellinger(double[] teacher, double[] student, double t) {
        if (invalid(teacher) || invalid(student)) {
            return Double.NaN;
        }
        double[] lp = logSoftmax(teacher, t);
        double[] lq = logSoftmax(student, t);
        double s = 0;
        for (int i = 0; i < lp.length; i++) {
            double d = Math.exp(0.5 * lp[i]) - Math.exp(0.5 * lq[i]);
            s += d * d;
        }
        return Math.sqrt(0.5 * s);
    }
}
