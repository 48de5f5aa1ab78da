package dev.entrokit;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * An independent float64 reference for the scoring helpers (SPEC §4) and the α-family, written from the
 * definitions (on {@link Float64Oracle}'s log-softmax) and not from the library's kernels: sums of
 * probabilities where the kernels use log-sum-exps, an explicit ranking where PLD's kernel uses sort keys,
 * a quadratic PLD sum where the kernel uses a suffix log-sum-exp.
 */
final class ScoringOracle {
    private ScoringOracle() {
    }

    static double tokenLogprob(double[] x, int id) {
        return Float64Oracle.logSoftmax(x, 1)[id];
    }

    /** {@code {ℓ, μ, σ²}} straight from the definitions. */
    static double[] moments(double[] x, int id) {
        double[] lp = Float64Oracle.logSoftmax(x, 1);
        double mu = 0;
        double second = 0;
        for (double l : lp) {
            if (l != Double.NEGATIVE_INFINITY) {
                mu += Math.exp(l) * l;
                second += Math.exp(l) * l * l;
            }
        }
        return new double[] {lp[id], mu, second - mu * mu};
    }

    static int kCount(double k, int length) {
        return Math.max(1, (int) Math.floor(k * length + 1e-9));
    }

    static double meanOfSmallest(double[] v, int k) {
        double[] s = v.clone();
        Arrays.sort(s);
        return Arrays.stream(s, 0, k).sum() / k;
    }

    static double zScore(double[] x, int id) {
        double[] m = moments(x, id);
        return (m[0] - m[1]) / Math.sqrt(m[2]);
    }

    /** DC-PDD of one sequence: rows {@code x[t]}, ids {@code y[t]}. */
    static double dcpdd(double[][] x, int[] y, double[] freq, double a) {
        double sum = 0;
        int count = 0;
        for (int t = 0; t < y.length; t++) {
            int yt = y[t];
            if (IntStream.range(0, t).anyMatch(u -> y[u] == yt)) {
                continue;
            }
            sum += Math.min(a, Math.exp(tokenLogprob(x[t], yt)) * -Math.log(freq[yt]));
            count++;
        }
        return sum / count;
    }

    /**
     * {@code log S(α)}, {@code S(α) = Σ_{p_i > 0} p_i^α q_i^{1−α}}, each term {@code exp(α log p_i + (1−α) log q_i)}
     * from the log-probabilities. Not from the probabilities: a term whose {@code p_i} or {@code q_i} underflows
     * float64 can still be large ({@code p²/q} with {@code p = e^−1e40}, {@code q = e^−3e42}) or weigh in
     * ({@code q^{0.001}} with {@code q = e^−10000} is {@code e^−10}), and {@code S} itself can exceed float64
     * while its log, which Rényi needs, is ordinary. A student-masked token under a live teacher token
     * gives {@code q^{1−α}} = 0, 1 or {@code +inf} as {@code α} is below, at or above 1.
     */
    static double logAlphaSum(double[] t, double[] s, double alpha, double temp) {
        double[] lp = Float64Oracle.logSoftmax(t, temp);
        double[] lq = Float64Oracle.logSoftmax(s, temp);
        double[] terms = new double[lp.length];
        boolean any = false;
        for (int i = 0; i < lp.length; i++) {
            if (lp[i] == Double.NEGATIVE_INFINITY) {
                terms[i] = Double.NEGATIVE_INFINITY;
            } else if (lq[i] == Double.NEGATIVE_INFINITY) {
                if (alpha > 1) {
                    return Double.POSITIVE_INFINITY;
                }
                terms[i] = alpha == 1 ? lp[i] : Double.NEGATIVE_INFINITY;
            } else {
                terms[i] = alpha * lp[i] + (1 - alpha) * lq[i];
            }
            any |= terms[i] != Double.NEGATIVE_INFINITY;
        }
        return any ? Float64Oracle.logSumExp(terms, 1) : Double.NEGATIVE_INFINITY;
    }

    /** Amari {@code (1 − S)/(α(1−α))}; the two KLs at the ends. */
    static double amari(double[] t, double[] s, double alpha, double temp) {
        if (alpha == 0) {
            return Float64Oracle.rkl(t, s, temp);
        }
        if (alpha == 1) {
            return Float64Oracle.kl(t, s, temp);
        }
        return -Math.expm1(logAlphaSum(t, s, alpha, temp)) / (alpha * (1 - alpha));
    }

    static double renyi(double[] t, double[] s, double alpha, double temp) {
        if (alpha == 1) {
            return Float64Oracle.kl(t, s, temp);
        }
        return logAlphaSum(t, s, alpha, temp) / (alpha - 1);
    }

    /**
     * {@code Σ (p_i − q_i)²/q_i}, each term {@code q_i (p_i/q_i − 1)² = exp(log q_i + 2 log|e^{d_i} − 1|)},
     * {@code d_i = log p_i − log q_i}: from the log-probabilities, for the reasons of {@link #logAlphaSum}, and
     * with nothing that cancels when {@code p ≈ q}.
     */
    static double chi2(double[] t, double[] s, double temp) {
        double[] lp = Float64Oracle.logSoftmax(t, temp);
        double[] lq = Float64Oracle.logSoftmax(s, temp);
        double sum = 0;
        for (int i = 0; i < lp.length; i++) {
            if (lq[i] == Double.NEGATIVE_INFINITY) {
                if (lp[i] != Double.NEGATIVE_INFINITY) {
                    return Double.POSITIVE_INFINITY;
                }
                continue;
            }
            double d = lp[i] - lq[i];
            double logAbs = d > 0 ? d + Math.log(-Math.expm1(-d)) : Math.log(-Math.expm1(d));
            sum += Math.exp(lq[i] + 2 * logAbs);
        }
        return sum;
    }

    /**
     * PLD with the ranking built by a comparator and the suffix sums recomputed for every rank, on the
     * student's log-probabilities: the loss depends on logit differences only, and {@code log Σ e^{s_j} − s_k}
     * on raw logits near 1e37 loses everything below their ulp (a tie of two such logits is {@code ln 2}).
     */
    static double pld(double[] t, double[] s, int label, double temp) {
        int n = t.length;
        Integer[] order = IntStream.range(0, n).boxed().filter(i -> i != label)
                // Equal logits by index; Double.compare would put −0.0 after +0.0, which SPEC §2 ties.
                .sorted((a, b) -> t[a] != t[b] ? Double.compare(t[b], t[a]) : Integer.compare(a, b)).toArray(Integer[]::new);
        int[] pi = new int[n];
        pi[0] = label;
        for (int k = 1; k < n; k++) {
            pi[k] = order[k - 1];
        }
        double[] p = Float64Oracle.softmax(t, temp);
        double[] lq = Float64Oracle.logSoftmax(s, temp);
        double loss = 0;
        for (int k = 0; k < n; k++) {
            if (p[pi[k]] == 0) {
                continue;
            }
            if (lq[pi[k]] == Double.NEGATIVE_INFINITY) {
                return Double.POSITIVE_INFINITY; // the ranking puts a token of probability 0 at rank k
            }
            double[] rest = new double[n - k];
            for (int j = k; j < n; j++) {
                rest[j - k] = lq[pi[j]];
            }
            loss += p[pi[k]] * (Float64Oracle.logSumExp(rest, 1) - lq[pi[k]]);
        }
        return loss;
    }

    /** Contrastive decoding of one row ({@code ENTROPY} or {@code JSD} uncertainty). */
    static double[] contrastive(double[] x, double[] lame, double lambda, double threshold, Uncertainty u) {
        double unc = u == Uncertainty.ENTROPY ? Float64Oracle.entropy(x, 1) : Float64Oracle.jsd(x, lame, 0.5, 1);
        if (!(unc >= threshold)) {
            return x.clone();
        }
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            boolean masked = x[i] == Double.NEGATIVE_INFINITY || lame[i] == Double.NEGATIVE_INFINITY;
            out[i] = masked ? Double.NEGATIVE_INFINITY : (1 + lambda) * x[i] - lambda * lame[i];
        }
        return out;
    }
}
