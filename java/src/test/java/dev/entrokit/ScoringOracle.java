package dev.entrokit;

import java.util.Arrays;
import java.util.Comparator;
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

    /** {@code S(α) = Σ p^α q^{1−α}} over the teacher's support. */
    static double alphaSum(double[] t, double[] s, double alpha, double temp) {
        double[] p = Float64Oracle.softmax(t, temp);
        double[] q = Float64Oracle.softmax(s, temp);
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                sum += Math.pow(p[i], alpha) * Math.pow(q[i], 1 - alpha);
            }
        }
        return sum;
    }

    static double amari(double[] t, double[] s, double alpha, double temp) {
        if (alpha == 0) {
            return Float64Oracle.rkl(t, s, temp);
        }
        if (alpha == 1) {
            return Float64Oracle.kl(t, s, temp);
        }
        return (1 - alphaSum(t, s, alpha, temp)) / (alpha * (1 - alpha));
    }

    static double renyi(double[] t, double[] s, double alpha, double temp) {
        if (alpha == 1) {
            return Float64Oracle.kl(t, s, temp);
        }
        return Math.log(alphaSum(t, s, alpha, temp)) / (alpha - 1);
    }

    static double chi2(double[] t, double[] s, double temp) {
        double[] p = Float64Oracle.softmax(t, temp);
        double[] q = Float64Oracle.softmax(s, temp);
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0 || q[i] > 0) {
                sum += (p[i] - q[i]) * (p[i] - q[i]) / q[i];
            }
        }
        return sum;
    }

    /** PLD with the ranking built by a comparator and the suffix sums recomputed for every rank. */
    static double pld(double[] t, double[] s, int label, double temp) {
        int n = t.length;
        Integer[] order = IntStream.range(0, n).boxed().filter(i -> i != label)
                .sorted(Comparator.<Integer>comparingDouble(i -> -t[i]).thenComparingInt(i -> i)).toArray(Integer[]::new);
        int[] pi = new int[n];
        pi[0] = label;
        for (int k = 1; k < n; k++) {
            pi[k] = order[k - 1];
        }
        double[] p = Float64Oracle.softmax(t, temp);
        double loss = 0;
        for (int k = 0; k < n; k++) {
            if (p[pi[k]] == 0) {
                continue;
            }
            double[] rest = new double[n - k];
            for (int j = k; j < n; j++) {
                rest[j - k] = s[pi[j]];
            }
            loss += p[pi[k]] * (Float64Oracle.logSumExp(rest, temp) - s[pi[k]] / temp);
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
