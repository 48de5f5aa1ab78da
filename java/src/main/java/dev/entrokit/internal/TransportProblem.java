package dev.entrokit.internal;

import dev.entrokit.Metric;
import dev.entrokit.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A batch of {@code B} transport problems of size {@code n × m}, as the façade has checked it: either
 * a float32 cost {@code [B,n,m]} (rank 2 for one problem), or float32 point clouds {@code x [B,n,d]},
 * {@code y [B,m,d]} with a {@link Metric}. Marginals {@code a [B,n]}, {@code b [B,m]} are float32
 * tensors (rank 1 for one problem), or null for uniform ones. Every read widens to float64.
 *
 * <p>Rows and columns of the cost are produced on demand ({@link #costRow}, {@link #costColumn}), so a
 * solver that reads them keeps O(n + m) memory per problem even for point clouds.
 */
public record TransportProblem(Tensor cost, Tensor x, Tensor y, Metric metric, Tensor a, Tensor b,
                               int batch, int n, int m, int d) {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Whether the cost comes from point clouds. */
    public boolean points() {
        return cost == null;
    }

    /** Element index of {@code [p, r, c]} in a rank-2 or rank-3 tensor (rank 2: {@code p} is 0). */
    private static long at(Tensor t, int p, int r, int c) {
        return t.offset() + p * t.batchStride() + r * t.rowStride() + c;
    }

    /** {@code a_i} of problem {@code p}: the given marginal or {@code 1/n}. */
    public double a(int p, int i) {
        return a == null ? 1.0 / n : a.segment().getAtIndex(F32, a.index(p, i));
    }

    /** {@code b_j} of problem {@code p}: the given marginal or {@code 1/m}. */
    public double b(int p, int j) {
        return b == null ? 1.0 / m : b.segment().getAtIndex(F32, b.index(p, j));
    }

    /** Coordinate {@code k} of point {@code i} of {@code x}, problem {@code p}. */
    public double x(int p, int i, int k) {
        return x.segment().getAtIndex(F32, at(x, p, i, k));
    }

    /** Coordinate {@code k} of point {@code j} of {@code y}, problem {@code p}. */
    public double y(int p, int j, int k) {
        return y.segment().getAtIndex(F32, at(y, p, j, k));
    }

    /** {@code C_ij} of problem {@code p}. */
    public double cost(int p, int i, int j) {
        if (cost != null) {
            return cost.segment().getAtIndex(F32, at(cost, p, i, j));
        }
        MemorySegment xs = x.segment();
        MemorySegment ys = y.segment();
        long xi = at(x, p, i, 0);
        long yj = at(y, p, j, 0);
        double s = 0;
        for (int k = 0; k < d; k++) {
            double diff = (double) xs.getAtIndex(F32, xi + k) - ys.getAtIndex(F32, yj + k);
            s += metric == Metric.L1 ? Math.abs(diff) : diff * diff;
        }
        return metric == Metric.EUCLIDEAN ? Math.sqrt(s) : s;
    }

    /**
     * An upper bound of problem {@code p}'s costs, read without forming the cost matrix of point
     * clouds: the largest entry of a given cost; for points, the cost between the opposite corners of
     * the box that holds both clouds.
     */
    public double costBound(int p) {
        double bound = 0;
        if (cost != null) {
            float[] row = new float[m];
            float max = 0;
            for (int i = 0; i < n; i++) {
                MemorySegment.copy(cost.segment(), F32, at(cost, p, i, 0) * Float.BYTES, row, 0, m);
                for (float c : row) {
                    max = Math.max(max, c);
                }
            }
            return max;
        }
        for (int k = 0; k < d; k++) {
            double lo = Double.POSITIVE_INFINITY;
            double hi = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                lo = Math.min(lo, x(p, i, k));
                hi = Math.max(hi, x(p, i, k));
            }
            for (int j = 0; j < m; j++) {
                lo = Math.min(lo, y(p, j, k));
                hi = Math.max(hi, y(p, j, k));
            }
            bound += metric == Metric.L1 ? hi - lo : (hi - lo) * (hi - lo);
        }
        return metric == Metric.EUCLIDEAN ? Math.sqrt(bound) : bound;
    }

    /** Row {@code i} of problem {@code p}'s cost into {@code out[0..m)}. */
    public void costRow(int p, int i, double[] out) {
        for (int j = 0; j < m; j++) {
            out[j] = cost(p, i, j);
        }
    }

    /** Column {@code j} of problem {@code p}'s cost into {@code out[0..n)}. */
    public void costColumn(int p, int j, double[] out) {
        for (int i = 0; i < n; i++) {
            out[i] = cost(p, i, j);
        }
    }

    /**
     * {@code w · ∂C(x_i, y_j)/∂x_i} added into {@code out[0..d)} (the gradient w.r.t. {@code y_j} is its
     * negative). L1 uses {@code sign(x − y)} and Euclidean {@code (x − y)/‖x − y‖}, both 0 where
     * undefined, as autograd does.
     */
    public void addCostGradient(int p, int i, int j, double w, double[] out) {
        double norm = metric == Metric.EUCLIDEAN ? cost(p, i, j) : 1;
        for (int k = 0; k < d; k++) {
            double diff = x(p, i, k) - y(p, j, k);
            double dc = switch (metric) {
                case SQEUCLIDEAN -> 2 * diff;
                case L1 -> Math.signum(diff);
                case EUCLIDEAN -> norm == 0 ? 0 : diff / norm;
            };
            out[k] += w * dc;
        }
    }
}
