package dev.entrokit.internal;

import java.util.Arrays;

/**
 * SinKD's batch-wise loss (SPEC §3), in float64 on every backend: its work is {@code O(B²V)} for the
 * cost and {@code O(B²)} per iteration, small next to a distillation step's logits.
 *
 * <p>As the paper's code: probabilities {@code S = softmax(s/T)}, {@code Q = softmax(t/T)},
 * {@code W_ij = ‖S_i − Q_j‖₁}, {@code K = exp(−W/ε)}, then {@code iterations} times a row
 * normalization followed by a column normalization, and the loss {@code Σ P ⊙ W}. Every iterate has
 * the form {@code diag(u) K diag(v)}, so the scalings are kept instead of the matrices, and the
 * gradient (the reverse of exactly those steps, as autograd computes it) recomputes entries from them:
 * memory {@code O(B²)} for the loss and {@code O(B² + iterations·B)} with the gradient.
 */
public final class SinkdLoss {
    private SinkdLoss() {
    }

    /**
     * Bytes of the arrays one call holds at its peak, for {@code rows × v} logits: the logits and
     * probabilities, the cost and kernel ({@code rows²} each), the log-domain solver's float32 cost
     * and workspace, and for the gradient its adjoints and the scalings of every iteration.
     */
    public static double workspaceBytes(long rows, long v, int iterations, boolean logDomain, boolean gradient) {
        double cells = (double) rows * rows;
        double bytes = 24.0 * rows * v + 16 * cells;
        if (logDomain) {
            bytes += 24 * cells;
        }
        if (gradient) {
            bytes += 16 * cells + 4.0 * rows * v + 16.0 * (iterations + 1.0) * rows;
        }
        return bytes;
    }

    /** {@code softmax(x/T)} of {@code rows} rows of {@code v} values, in float64. */
    public static double[] softmax(float[] logits, int rows, int v, float temperature) {
        double[] p = new double[rows * v];
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < v; k++) {
                max = Math.max(max, logits[r * v + k] / (double) temperature);
            }
            double sum = 0;
            for (int k = 0; k < v; k++) {
                double e = Math.exp(logits[r * v + k] / (double) temperature - max);
                p[r * v + k] = e;
                sum += e;
            }
            for (int k = 0; k < v; k++) {
                p[r * v + k] /= sum;
            }
        }
        return p;
    }

    /** {@code W_ij = Σ_k |s_ik − q_jk|}, {@code [B, B]}. */
    public static double[] l1Cost(double[] s, double[] q, int rows, int v) {
        double[] w = new double[rows * rows];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < rows; j++) {
                double d = 0;
                for (int k = 0; k < v; k++) {
                    d += Math.abs(s[i * v + k] - q[j * v + k]);
                }
                w[i * rows + j] = d;
            }
        }
        return w;
    }

    /**
     * The scalings of the plain iterations: {@code u[t]} after the row step of iteration {@code t},
     * {@code v[t + 1]} after its column step ({@code v[0] = 1}).
     */
    record Scalings(double[] k, double[][] u, double[][] v) {
        double entry(int t, int i, int j, boolean afterColumn, int b) {
            return u[t][i] * k[i * b + j] * v[afterColumn ? t + 1 : t][j];
        }

        /** An entry of the last iterate ({@code K} itself after 0 iterations). */
        double last(int i, int j, int b) {
            return u[u.length - 1][i] * k[i * b + j] * v[v.length - 1][j];
        }
    }

    /**
     * The plain iterations. With {@code history} every step's scalings are kept (the gradient walks
     * them backwards); without, one {@code u} and one {@code v} are updated in place, so the loss
     * needs {@code O(B²)} memory whatever the number of iterations.
     */
    private static Scalings iterate(double[] w, int b, double eps, int iterations, boolean history) {
        double[] k = new double[b * b];
        for (int i = 0; i < k.length; i++) {
            k[i] = Math.exp(-w[i] / eps);
        }
        double[][] u = new double[history ? Math.max(iterations, 1) : 1][b];
        double[][] v = new double[history ? iterations + 1 : 1][b];
        Arrays.fill(v[0], 1);
        Arrays.fill(u[0], 1);
        for (int t = 0; t < iterations; t++) {
            double[] uIn = history && t > 0 ? u[t - 1] : u[0];
            double[] uOut = history ? u[t] : u[0];
            double[] vIn = history ? v[t] : v[0];
            double[] vOut = history ? v[t + 1] : v[0];
            for (int i = 0; i < b; i++) {
                double s = 0;
                double ui = t == 0 ? 1 : uIn[i];
                for (int j = 0; j < b; j++) {
                    s += ui * k[i * b + j] * vIn[j];
                }
                uOut[i] = ui / s;
            }
            for (int j = 0; j < b; j++) {
                double s = 0;
                for (int i = 0; i < b; i++) {
                    s += uOut[i] * k[i * b + j] * vIn[j];
                }
                vOut[j] = vIn[j] / s;
            }
        }
        return new Scalings(k, u, v);
    }

    /** The paper's loss {@code Σ P ⊙ W} after {@code iterations} plain normalizations of {@code exp(−W/ε)}. */
    public static double paperLoss(double[] w, int b, double eps, int iterations) {
        Scalings sc = iterate(w, b, eps, iterations, false);
        double loss = 0;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < b; j++) {
                loss += sc.last(i, j, b) * w[i * b + j];
            }
        }
        return loss;
    }

    /**
     * {@code ∂loss/∂s} into {@code grad} ({@code [B, V]}, float32, times {@code scale}): the reverse of
     * the plain iterations, then of {@code W}, then of the tempered softmax.
     */
    public static void gradient(double[] s, double[] q, double[] w, int b, int v, double eps, int iterations,
                                float temperature, double scale, float[] grad) {
        Scalings sc = iterate(w, b, eps, iterations, true);
        double[] bar = w.clone(); // ∂loss/∂P
        double[] wBar = new double[b * b];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < b; j++) {
                wBar[i * b + j] = sc.last(i, j, b);
            }
        }
        double[] tmp = new double[b];
        for (int t = iterations - 1; t >= 0; t--) {
            // Column step Z = Y / colsum(Y): Ȳ_ij = (Z̄_ij − Σ_k Z̄_kj Z_kj) / c_j, and c_j = v_before / v_after.
            for (int j = 0; j < b; j++) {
                double dot = 0;
                for (int i = 0; i < b; i++) {
                    dot += bar[i * b + j] * sc.entry(t, i, j, true, b);
                }
                tmp[j] = dot;
            }
            for (int i = 0; i < b; i++) {
                for (int j = 0; j < b; j++) {
                    double c = sc.v()[t][j] / sc.v()[t + 1][j];
                    bar[i * b + j] = (bar[i * b + j] - tmp[j]) / c;
                }
            }
            // Row step Y = X / rowsum(X): X̄_ij = (Ȳ_ij − Σ_k Ȳ_ik Y_ik) / r_i, and r_i = u_before / u_after.
            for (int i = 0; i < b; i++) {
                double dot = 0;
                for (int j = 0; j < b; j++) {
                    dot += bar[i * b + j] * sc.entry(t, i, j, false, b);
                }
                double r = (t == 0 ? 1 : sc.u()[t - 1][i]) / sc.u()[t][i];
                for (int j = 0; j < b; j++) {
                    bar[i * b + j] = (bar[i * b + j] - dot) / r;
                }
            }
        }
        for (int i = 0; i < b * b; i++) {
            wBar[i] -= bar[i] * sc.k()[i] / eps; // K = exp(−W/ε)
        }
        double[] sBar = new double[v];
        for (int i = 0; i < b; i++) {
            Arrays.fill(sBar, 0);
            for (int j = 0; j < b; j++) {
                double wb = wBar[i * b + j];
                for (int k = 0; k < v; k++) {
                    sBar[k] += wb * Math.signum(s[i * v + k] - q[j * v + k]);
                }
            }
            double dot = 0;
            for (int k = 0; k < v; k++) {
                dot += sBar[k] * s[i * v + k];
            }
            for (int k = 0; k < v; k++) {
                grad[i * v + k] = (float) (scale * s[i * v + k] * (sBar[k] - dot) / temperature);
            }
        }
    }
}
