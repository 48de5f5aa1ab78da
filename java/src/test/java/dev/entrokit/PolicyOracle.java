package dev.entrokit;

import java.util.Arrays;

/**
 * The float64 oracle of the policy losses and the sparse-teacher divergences, written from SPEC §1's
 * definitions (not from the kernels) on top of {@link Float64Oracle}'s softmax: probabilities first, then the
 * formulas. The sparse gradients use the generic chain rule through the bucket probabilities
 * ({@code ρ_i·(u_b − Σ Q u)} with {@code u = ∂L/∂Q}), not the kernels' per-op shortcuts.
 */
public final class PolicyOracle {
    private PolicyOracle() {
    }

    /** {@code ℓ = log softmax(x/T)[id]}. */
    public static double logprob(double[] x, int id, double t) {
        return Float64Oracle.logSoftmax(x, t)[id];
    }

    /** {@code k3 = e^δ − δ − 1}, {@code δ = ref − ℓ}; {@code +inf} where {@code δ} is infinite. */
    public static double k3(double ref, double l) {
        double delta = ref - l;
        return Double.isInfinite(delta) ? Double.POSITIVE_INFINITY : Math.exp(delta) - delta - 1;
    }

    /** {@code J = wl·ℓ + wh·H + wk·k3} of one row (a zero weight drops its term); {@code ref} NaN means no k3. */
    public static double objective(double[] x, int id, double t, double ref, double wl, double wh, double wk) {
        double l = logprob(x, id, t);
        double j = (wl == 0 ? 0 : wl * l) + (wh == 0 ? 0 : wh * Float64Oracle.entropy(x, t));
        return Double.isNaN(ref) || wk == 0 ? j : j + wk * k3(ref, l);
    }

    /**
     * {@code ∂J/∂x · g}: {@code (g/T)·[a·(onehot − p) − wh·p ⊙ (log p + H)]}, {@code a = wl + wk·(1 − e^δ)};
     * NaN everywhere when a weighted term is infinite, or for a special row.
     */
    public static double[] objectiveGrad(double[] x, int id, double t, double ref, double wl, double wh, double wk,
                                         double g) {
        int n = x.length;
        double[] out = new double[n];
        double l = logprob(x, id, t);
        double h = Float64Oracle.entropy(x, t);
        boolean hasK3 = !Double.isNaN(ref) && wk != 0;
        if (Float64Oracle.invalid(x) || wl != 0 && Double.isInfinite(l) || hasK3 && Double.isInfinite(k3(ref, l))) {
            Arrays.fill(out, Double.NaN);
            return out;
        }
        double[] lp = Float64Oracle.logSoftmax(x, t);
        double a = wl + (hasK3 ? wk * (1 - Math.exp(ref - l)) : 0);
        for (int i = 0; i < n; i++) {
            double p = Math.exp(lp[i]);
            double gi = (i == id ? a : 0) - a * p - (p == 0 ? 0 : wh * p * (lp[i] + h));
            out[i] = gi * g / t;
        }
        return out;
    }

    // ------------------------------------------------------------------ sparse teacher

    /**
     * The two bucket distributions of one row as log-probabilities (so that tokens far below the row's maximum,
     * whose probabilities underflow float64, keep their finite logs), each token's bucket (−1: none) and the
     * log of its share of the compared student mass.
     */
    record Buckets(double[] logP, double[] logQ, int[] bucketOf, double[] logRho, double[] logSigma) {
    }

    private static double logSum(double[] x) {
        double acc = Double.NEGATIVE_INFINITY;
        for (double v : x) {
            acc = Float64Oracle.logAddExp(acc, v);
        }
        return acc;
    }

    /**
     * Buckets from the definitions: renormalized, {@code P_j = e^{lp_j}/Σ e^{lp}} and
     * {@code Q_j = q_{id_j}/Σ_j q_{id_j}}; with the rest bucket, {@code P_r = 1 − Σ e^{lp}} and
     * {@code Q_r = Σ_{i∉ids} q_i}, unless every token is an id (then as renormalized).
     */
    static Buckets buckets(int[] ids, double[] lp, double[] s, double t, boolean restAsked) {
        int k = ids.length;
        int n = s.length;
        boolean rest = restAsked && k < n; // with every token an id there is no rest: the ids renormalized
        double[] lq = Float64Oracle.logSoftmax(s, t);
        int[] bucketOf = new int[n];
        Arrays.fill(bucketOf, rest ? k : -1);
        double[] logP = new double[rest ? k + 1 : k];
        double[] logQ = new double[logP.length];
        for (int j = 0; j < k; j++) {
            bucketOf[ids[j]] = j;
            logP[j] = lp[j];
            logQ[j] = lq[ids[j]];
        }
        double[] logRho = new double[n];
        Arrays.fill(logRho, Double.NEGATIVE_INFINITY);
        double[] logSigma = logRho.clone(); // a rest token's share of the rest, from logit differences
        if (rest) {
            double rm = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                if (bucketOf[i] == k) {
                    rm = Math.max(rm, s[i]);
                }
            }
            double restRel = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                if (bucketOf[i] == k && s[i] != Double.NEGATIVE_INFINITY) {
                    restRel = Float64Oracle.logAddExp(restRel, (s[i] - rm) / t);
                }
            }
            for (int i = 0; i < n; i++) {
                if (bucketOf[i] == k && s[i] != Double.NEGATIVE_INFINITY) {
                    logSigma[i] = (s[i] - rm) / t - restRel;
                }
            }
            double pSum = 0;
            for (int j = 0; j < k; j++) {
                pSum += Math.exp(lp[j]);
            }
            logP[k] = Math.log(Math.max(0, 1 - pSum));
            double logRest = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                if (bucketOf[i] == k) {
                    logRest = Float64Oracle.logAddExp(logRest, lq[i]);
                }
            }
            logQ[k] = logRest;
            System.arraycopy(lq, 0, logRho, 0, n);
        } else {
            // softmax over the ids' own logits (and log-probabilities), shifted by their maximum: exact where the
            // ids lie far below the row's maximum
            double mp = Double.NEGATIVE_INFINITY;
            double mq = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) {
                mp = Math.max(mp, lp[j]);
                mq = Math.max(mq, s[ids[j]]);
            }
            double[] zp = new double[k];
            double[] zq = new double[k];
            for (int j = 0; j < k; j++) {
                zp[j] = lp[j] - mp;
                zq[j] = (s[ids[j]] - mq) / t;
            }
            double lseP = logSum(zp);
            double lseQ = logSum(zq);
            for (int j = 0; j < k; j++) {
                logP[j] = zp[j] - lseP;
                logQ[j] = zq[j] - lseQ;
                logRho[ids[j]] = logQ[j];
            }
        }
        return new Buckets(logP, logQ, bucketOf, logRho, logSigma);
    }

    /** {@code e^a·(a − b)}, 0 where {@code e^a = 0}. */
    private static double term(double a, double b) {
        return a == Double.NEGATIVE_INFINITY ? 0 : Math.exp(a) * (a - b);
    }

    private static double logM(double lp, double lq, double beta) {
        return Float64Oracle.logAddExp(Math.log(beta) + lp, Math.log(1 - beta) + lq);
    }

    /** The divergence ({@code op}: 0 forward KL, 1 reverse KL, 2 JSD(β)) over the buckets. */
    static double divergence(int op, double[] lp, double[] lq, double beta) {
        double l = 0;
        for (int b = 0; b < lp.length; b++) {
            l += switch (op) {
                case 0 -> term(lp[b], lq[b]);
                case 1 -> term(lq[b], lp[b]);
                default -> {
                    double lm = logM(lp[b], lq[b], beta);
                    yield beta * term(lp[b], lm) + (1 - beta) * term(lq[b], lm);
                }
            };
        }
        return l;
    }

    /** One row's sparse divergence; NaN for a special student row or a renormalized side without mass. */
    public static double sparse(int op, boolean rest, int[] ids, double[] lp, double[] s, double t, double beta) {
        if (Float64Oracle.invalid(s)) {
            return Double.NaN;
        }
        Buckets b = buckets(ids, lp, s, t, rest);
        for (int j = 0; j < b.logP().length; j++) {
            if (Double.isNaN(b.logP()[j]) || Double.isNaN(b.logQ()[j])) {
                return Double.NaN;
            }
        }
        return divergence(op, b.logP(), b.logQ(), beta);
    }

    /**
     * {@code g·∂L/∂s} by the chain rule through the buckets: {@code (g/T)·ρ_i·(u_b − Σ_b Q_b u_b)} with
     * forward KL {@code u = −P/Q}, reverse KL {@code u = log(Q/P) + 1}, JSD {@code u = (1−β) log(Q/M)}.
     * Forward KL's {@code ρ·u = −P·ρ/Q} is its limit {@code −P_j} at an id the student masks (SPEC §1: forward
     * KL keeps its finite {@code q − p} where the loss is {@code +inf}). NaN where the loss is NaN, or infinite
     * with reverse KL.
     */
    public static double[] sparseGrad(int op, boolean rest, int[] ids, double[] lp, double[] s, double t, double beta,
                                      double g) {
        int n = s.length;
        double[] out = new double[n];
        double loss = sparse(op, rest, ids, lp, s, t, beta);
        if (Double.isNaN(loss) || op == 1 && Double.isInfinite(loss)) {
            Arrays.fill(out, Double.NaN);
            return out;
        }
        Buckets b = buckets(ids, lp, s, t, rest);
        double[] logP = b.logP();
        double[] logQ = b.logQ();
        int buckets = logP.length;
        double[] u = new double[buckets];
        double mean = 0;
        for (int k = 0; k < buckets; k++) {
            u[k] = switch (op) {
                case 0 -> 0; // used as −P·ρ/Q below
                case 1 -> logQ[k] - logP[k] + 1;
                default -> (1 - beta) * (logQ[k] - logM(logP[k], logQ[k], beta));
            };
            mean += op == 0 ? -Math.exp(logP[k]) : logQ[k] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(logQ[k]) * u[k];
        }
        for (int i = 0; i < n; i++) {
            int k = b.bucketOf()[i];
            double logRho = b.logRho()[i];
            if (k < 0) {
                continue;
            }
            if (op == 0 && k < ids.length) {
                out[i] = (-Math.exp(logP[k]) - Math.exp(logRho) * mean) * g / t;
            } else if (logRho == Double.NEGATIVE_INFINITY) {
                out[i] = 0;
            } else if (op == 0) {
                // −P_r·ρ_i/Q_r = −P_r·σ_i, σ_i the token's share of the rest
                out[i] = (-Math.exp(logP[k] + b.logSigma()[i]) - Math.exp(logRho) * mean) * g / t;
            } else {
                out[i] = Math.exp(logRho) * (u[k] - mean) * g / t;
            }
        }
        return out;
    }
}
