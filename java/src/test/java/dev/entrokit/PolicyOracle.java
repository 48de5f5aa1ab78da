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

    /** The two bucket distributions of one row: {@code P}, {@code Q}, and each token's bucket (−1: none). */
    record Buckets(double[] p, double[] q, int[] bucketOf, double[] rho) {
    }

    /**
     * Buckets from the definitions: renormalized, {@code P_j = e^{lp_j}/Σ e^{lp}} and
     * {@code Q_j = q_{id_j}/Σ_j q_{id_j}}; with the rest bucket, {@code P_r = 1 − Σ e^{lp}} and
     * {@code Q_r = Σ_{i∉ids} q_i}. {@code rho} is each token's share of the compared student mass.
     */
    static Buckets buckets(int[] ids, double[] lp, double[] s, double t, boolean rest) {
        int k = ids.length;
        int n = s.length;
        double[] q = Float64Oracle.softmax(s, t);
        int[] bucketOf = new int[n];
        Arrays.fill(bucketOf, rest ? k : -1);
        double[] p = new double[rest ? k + 1 : k];
        double[] qq = new double[p.length];
        double pSum = 0;
        double qSum = 0;
        for (int j = 0; j < k; j++) {
            bucketOf[ids[j]] = j;
            p[j] = Math.exp(lp[j]);
            qq[j] = q[ids[j]];
            pSum += p[j];
            qSum += qq[j];
        }
        double[] rho = new double[n];
        if (rest) {
            p[k] = Math.max(0, 1 - pSum);
            double restMass = 0;
            for (int i = 0; i < n; i++) {
                if (bucketOf[i] == k) {
                    restMass += q[i];
                }
            }
            qq[k] = restMass;
            for (int i = 0; i < n; i++) {
                rho[i] = q[i];
            }
        } else {
            for (int j = 0; j < k; j++) {
                p[j] /= pSum;
                qq[j] /= qSum;
                rho[ids[j]] = q[ids[j]] / qSum;
            }
        }
        return new Buckets(p, qq, bucketOf, rho);
    }

    private static double xlogxy(double x, double y) {
        return x == 0 ? 0 : x * Math.log(x / y);
    }

    /** The divergence ({@code op}: 0 forward KL, 1 reverse KL, 2 JSD(β)) over the buckets. */
    static double divergence(int op, double[] p, double[] q, double beta) {
        double l = 0;
        for (int b = 0; b < p.length; b++) {
            l += switch (op) {
                case 0 -> xlogxy(p[b], q[b]);
                case 1 -> xlogxy(q[b], p[b]);
                default -> {
                    double m = beta * p[b] + (1 - beta) * q[b];
                    yield beta * xlogxy(p[b], m) + (1 - beta) * xlogxy(q[b], m);
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
        for (double v : b.p()) {
            if (Double.isNaN(v)) {
                return Double.NaN;
            }
        }
        for (double v : b.q()) {
            if (Double.isNaN(v)) {
                return Double.NaN;
            }
        }
        return divergence(op, b.p(), b.q(), beta);
    }

    /**
     * {@code g·∂L/∂s} by the chain rule through the buckets: {@code (g/T)·ρ_i·(u_b − Σ_b Q_b u_b)} with
     * forward KL {@code u = −P/Q}, reverse KL {@code u = log(Q/P) + 1}, JSD {@code u = (1−β) log(Q/M)}; a
     * bucket with {@code Q = 0} has no live token. NaN where the loss is NaN, or infinite with reverse KL.
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
        double[] p = b.p();
        double[] q = b.q();
        double[] u = new double[p.length];
        double mean = 0;
        for (int k = 0; k < p.length; k++) {
            if (q[k] == 0) {
                mean += op == 0 ? -p[k] : 0; // the limit of Q·u as Q → 0: −P for forward KL, 0 otherwise
                continue;
            }
            u[k] = switch (op) {
                case 0 -> -p[k] / q[k];
                case 1 -> Math.log(q[k] / p[k]) + 1;
                default -> (1 - beta) * Math.log(q[k] / (beta * p[k] + (1 - beta) * q[k]));
            };
            mean += q[k] * u[k];
        }
        for (int i = 0; i < n; i++) {
            int k = b.bucketOf()[i];
            out[i] = k < 0 || b.rho()[i] == 0 ? 0 : b.rho()[i] * (u[k] - mean) * g / t;
        }
        return out;
    }
}
