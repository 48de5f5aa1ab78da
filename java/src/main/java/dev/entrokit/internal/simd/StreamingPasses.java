package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.D;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.VectorExp2.exp2;
import static jdk.incubator.vector.VectorOperators.GT;

import dev.entrokit.Metric;
import dev.entrokit.internal.SinkhornSolver.Passes;
import dev.entrokit.internal.TransportProblem;
import java.util.Arrays;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * SPEC §3's passes for point clouds that never hold the {@code n × m} cost: every pass recomputes
 * the costs it needs from the points, block by block, in registers. Memory is the points twice in
 * float32 (a row-broadcast copy and a column-vector copy of each cloud, padded to whole vectors),
 * their float64 copies for the exact row pass, and a few vectors of length {@code max(n, m)}:
 * O((n + m)·d) per problem, where the dense passes of {@link SimdSinkhorn} hold O(n·m) per thread.
 *
 * <p>Both log-sum-exps have the shape of {@link SimdSinkhorn#sumExp}: one vector of columns at a
 * time, down the rows in blocks of {@code BLOCK_ROWS} summed in float lanes and then in double, the
 * cost of each (row, column vector) computed from the row's point (broadcast) and the columns'
 * coordinates. The row pass runs with {@code y} as the rows and {@code x} as the columns, the
 * column pass the other way round, so nothing is reduced across lanes. The shifts are
 * {@link SimdSinkhorn}'s: the potential being replaced when balanced (every term is then a plan
 * entry ≤ 1), redone with each column's maximum when a sum comes out below {@code TINY}; always the
 * maximum when unbalanced. There is no kernel absorption: a matrix-vector product needs the matrix,
 * so each pass costs {@code n·m} exps here (as the dense passes do whenever they absorb anew).
 *
 * <p>float32 holds only while {@code max C/ε ≤ F32_RANGE} (see {@link SimdSinkhorn}); the largest
 * cost is computed by one streaming pass when the problem is opened, and a problem beyond that range
 * runs the scalar passes (also O(n + m) memory). The costs computed here differ from the float64
 * ones by a few float32 roundings of the coordinate differences, of the order of the float32 cost
 * the dense passes store.
 *
 * <p>{@link #exact()} computes the row pass in float64 from float64 copies of the points, with the
 * arithmetic of {@link TransportProblem#cost} lane by lane (so the costs are bitwise the scalar
 * backend's); the other two exact passes are the scalar backend's.
 */
final class StreamingPasses implements Passes {
    private static final double LN2 = 0.6931471805599453;
    private static final int BLOCK_ROWS = 256;

    private final int n;
    private final int m;
    private final int d;
    private final int ldn;
    private final int ldm;
    private final boolean l1;
    private final boolean root;
    private final boolean balanced;
    /** {@code x [n, d]} and {@code y [m, d]} row by row, for broadcasting one point at a time. */
    private final float[] xRows;
    private final float[] yRows;
    /** {@code xᵀ [d, ldn]} and {@code yᵀ [d, ldm]}, coordinate by coordinate, for column vectors. */
    private final float[] xCols;
    private final float[] yCols;
    private final float[] rowPot;
    private final float[] shift;
    private final double[] sums;
    private final float[] logs;
    private final float[] lanes = new float[L];
    private final Passes exact;

    private StreamingPasses(TransportProblem problem, int p, boolean balanced, Passes scalar) {
        this.n = problem.n();
        this.m = problem.m();
        this.d = problem.d();
        this.ldn = padded(n, L);
        this.ldm = padded(m, L);
        this.l1 = problem.metric() == Metric.L1;
        this.root = problem.metric() == Metric.EUCLIDEAN;
        this.balanced = balanced;
        this.xRows = new float[n * d];
        this.yRows = new float[m * d];
        this.xCols = new float[d * ldn];
        this.yCols = new float[d * ldm];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < d; k++) {
                xRows[i * d + k] = (float) problem.x(p, i, k);
                xCols[k * ldn + i] = xRows[i * d + k];
            }
        }
        for (int j = 0; j < m; j++) {
            for (int k = 0; k < d; k++) {
                yRows[j * d + k] = (float) problem.y(p, j, k);
                yCols[k * ldm + j] = yRows[j * d + k];
            }
        }
        int k = Math.max(ldn, ldm);
        this.rowPot = new float[k];
        this.shift = new float[k];
        this.sums = new double[k];
        this.logs = new float[k];
        this.exact = new Exact(problem, p, scalar, l1, root);
    }

    /**
     * The streaming passes of point-cloud problem {@code p}, or {@code scalar} when its largest cost
     * over {@code minEpsilon} leaves float32's range or its copies would not fit in arrays.
     */
    static Passes open(TransportProblem problem, int p, boolean balanced, double minEpsilon, Passes scalar) {
        long longest = (long) problem.d() * padded(Math.max(problem.n(), problem.m()), Math.max(L, D.length()));
        if (longest > Integer.MAX_VALUE - 8) {
            return scalar;
        }
        StreamingPasses s = new StreamingPasses(problem, p, balanced, scalar);
        Arrays.fill(s.shift, 0f);
        columnMaxCost(s.xRows, s.n, s.d, s.yCols, s.ldm, s.l1, s.root, s.shift);
        float max = 0;
        for (int j = 0; j < s.m; j++) {
            max = Math.max(max, s.shift[j]);
        }
        return max <= SimdSinkhorn.F32_RANGE * minEpsilon ? s : scalar;
    }

    private static int padded(int k, int lanes) {
        return (k + lanes - 1) / lanes * lanes;
    }

    @Override
    public void rowLse(double[] f, double[] g, double eps, double[] out) {
        lse(yRows, m, xCols, ldn, n, g, f, eps, out);
    }

    @Override
    public void colLse(double[] f, double[] g, double eps, double[] out) {
        lse(xRows, n, yCols, ldm, m, f, g, eps, out);
    }

    @Override
    public double transportCost(double[] f, double[] g, double eps, double[] colSums) {
        float neg = prepare(f, n, g, m, ldm, eps);
        Arrays.fill(sums, 0, ldm, 0);
        double cost = sumExpCost(xRows, n, d, yCols, ldm, l1, root, rowPot, shift, neg, sums, lanes);
        System.arraycopy(sums, 0, colSums, 0, m);
        return cost;
    }

    @Override
    public Passes exact() {
        return exact;
    }

    /**
     * {@code out_c = LSE_r((pot_r − C_rc)/ε)} over the {@code rows} points {@code rowPts} for each of
     * the {@code cols} points of {@code colPts}, shifted by {@code old} (the potential being replaced)
     * when that is safe.
     */
    private void lse(float[] rowPts, int rows, float[] colPts, int ld, int cols, double[] pot, double[] old,
                     double eps, double[] out) {
        float neg = prepare(pot, rows, old, cols, ld, eps);
        boolean shifted = !balanced;
        if (shifted) {
            columnMax(rowPts, rows, d, colPts, ld, l1, root, rowPot, neg, shift);
        }
        Arrays.fill(sums, 0, ld, 0);
        sumExp(rowPts, rows, d, colPts, ld, l1, root, rowPot, shift, neg, sums, lanes);
        if (!shifted && !SimdSinkhorn.allAbove(sums, cols, SimdSinkhorn.TINY)) {
            columnMax(rowPts, rows, d, colPts, ld, l1, root, rowPot, neg, shift);
            Arrays.fill(sums, 0, ld, 0);
            sumExp(rowPts, rows, d, colPts, ld, l1, root, rowPot, shift, neg, sums, lanes);
        }
        SimdSinkhorn.logs(sums, ld, logs);
        for (int k = 0; k < cols; k++) {
            out[k] = logs[k] - shift[k] * LN2;
        }
    }

    private float prepare(double[] pot, int rows, double[] old, int cols, int ld, double eps) {
        return SimdSinkhorn.scaled(pot, rows, old, cols, ld, eps, rowPot, shift);
    }

    // ---------------------------------------------------------------- kernels, one hot loop each

    /**
     * The costs between row point {@code at/d} of {@code rowPts} and the {@link SimdConstants#L} column
     * points from {@code c} of {@code colPts} ({@code [d, ld]}): small enough to be inlined into each
     * kernel, and free of exps.
     */
    private static FloatVector cost(float[] rowPts, int at, int d, float[] colPts, int ld, int c, boolean l1,
                                    boolean root) {
        // Metrics by blends, not by branches: a vector chosen by a conditional reaches C2 as a phi it
        // may not unbox, and then every vector of the pass is allocated (measured: 130 MB per solve
        // at 2500², twice the time). |Δ|·|Δ| is the square, |Δ|·1 the L1 term.
        VectorMask<Float> linear = F.maskAll(l1);
        FloatVector one = FloatVector.broadcast(F, 1f);
        FloatVector acc = FloatVector.zero(F);
        for (int k = 0; k < d; k++) {
            FloatVector diff = FloatVector.fromArray(F, colPts, k * ld + c).sub(rowPts[at + k]).abs();
            acc = diff.fma(diff.blend(one, linear), acc);
        }
        return acc.blend(acc.sqrt(), F.maskAll(root));
    }

    /** {@code sums_c += Σ_r 2^(shift_c + rowPot_r + neg·C_rc)}, the costs computed on the way. */
    static void sumExp(float[] rowPts, int rows, int d, float[] colPts, int ld, boolean l1, boolean root,
                       float[] rowPot, float[] shift, float neg, double[] sums, float[] lanes) {
        FloatVector nv = FloatVector.broadcast(F, neg);
        for (int c = 0; c < ld; c += L) {
            FloatVector s = FloatVector.fromArray(F, shift, c);
            for (int r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
                int r1 = Math.min(rows, r0 + BLOCK_ROWS);
                FloatVector acc = FloatVector.zero(F);
                for (int r = r0; r < r1; r++) {
                    FloatVector cost = cost(rowPts, r * d, d, colPts, ld, c, l1, root);
                    acc = acc.add(exp2(cost.fma(nv, s.add(rowPot[r]))));
                }
                SimdSinkhorn.flush(acc, sums, c, lanes);
            }
        }
    }

    /** {@code shift_c = −max_r (rowPot_r + neg·C_rc)}: the shift that makes each column's largest term 1. */
    static void columnMax(float[] rowPts, int rows, int d, float[] colPts, int ld, boolean l1, boolean root,
                          float[] rowPot, float neg, float[] shift) {
        FloatVector nv = FloatVector.broadcast(F, neg);
        for (int c = 0; c < ld; c += L) {
            FloatVector mx = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (int r = 0; r < rows; r++) {
                FloatVector x = cost(rowPts, r * d, d, colPts, ld, c, l1, root).fma(nv, FloatVector.broadcast(F, rowPot[r]));
                mx = mx.blend(x, x.compare(GT, mx));
            }
            mx.neg().intoArray(shift, c);
        }
    }

    /** {@code out_c = max_r C_rc}: the largest cost of each column (padding columns included). */
    static void columnMaxCost(float[] rowPts, int rows, int d, float[] colPts, int ld, boolean l1, boolean root,
                              float[] out) {
        for (int c = 0; c < ld; c += L) {
            FloatVector mx = FloatVector.zero(F);
            for (int r = 0; r < rows; r++) {
                FloatVector x = cost(rowPts, r * d, d, colPts, ld, c, l1, root);
                mx = mx.blend(x, x.compare(GT, mx));
            }
            mx.intoArray(out, c);
        }
    }

    /** As {@link #sumExp} without a shift's safety net, also returning {@code Σ P_rc C_rc}. */
    static double sumExpCost(float[] rowPts, int rows, int d, float[] colPts, int ld, boolean l1, boolean root,
                             float[] rowPot, float[] shift, float neg, double[] sums, float[] lanes) {
        FloatVector nv = FloatVector.broadcast(F, neg);
        double total = 0;
        for (int c = 0; c < ld; c += L) {
            FloatVector s = FloatVector.fromArray(F, shift, c);
            for (int r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
                int r1 = Math.min(rows, r0 + BLOCK_ROWS);
                FloatVector acc = FloatVector.zero(F);
                FloatVector weighted = FloatVector.zero(F);
                for (int r = r0; r < r1; r++) {
                    FloatVector cost = cost(rowPts, r * d, d, colPts, ld, c, l1, root);
                    FloatVector e = exp2(cost.fma(nv, s.add(rowPot[r])));
                    acc = acc.add(e);
                    weighted = e.fma(cost, weighted);
                }
                SimdSinkhorn.flush(acc, sums, c, lanes);
                weighted.intoArray(lanes, 0);
                for (int k = 0; k < L; k++) {
                    total += lanes[k];
                }
            }
        }
        return total;
    }

    /**
     * The float64 passes: the row pass from float64 copies of the points ({@code x} row by row,
     * {@code yᵀ} padded to whole double vectors), each row's LSE shifted by its maximum as the scalar
     * passes do; the rest from the scalar passes (used only once a problem has gone on in float64).
     */
    private static final class Exact implements Passes {
        private final int n;
        private final int m;
        private final int d;
        private final int ld;
        private final boolean l1;
        private final boolean root;
        private final double[] xRows;
        private final double[] yCols;
        private final double[] terms;
        private final Passes scalar;

        Exact(TransportProblem problem, int p, Passes scalar, boolean l1, boolean root) {
            this.n = problem.n();
            this.m = problem.m();
            this.d = problem.d();
            this.ld = padded(m, D.length());
            this.l1 = l1;
            this.root = root;
            this.scalar = scalar;
            this.xRows = new double[n * d];
            this.yCols = new double[d * ld];
            this.terms = new double[ld];
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < d; k++) {
                    xRows[i * d + k] = problem.x(p, i, k);
                }
            }
            for (int j = 0; j < m; j++) {
                for (int k = 0; k < d; k++) {
                    yCols[k * ld + j] = problem.y(p, j, k);
                }
            }
        }

        @Override
        public void rowLse(double[] f, double[] g, double eps, double[] out) {
            for (int i = 0; i < n; i++) {
                double max = rowTerms(xRows, i * d, d, yCols, ld, m, g, eps, l1, root, terms);
                out[i] = max + Math.log(SimdSinkhorn.sumExpShifted(terms, m, max));
            }
        }

        @Override
        public void colLse(double[] f, double[] g, double eps, double[] out) {
            scalar.colLse(f, g, eps, out);
        }

        @Override
        public double transportCost(double[] f, double[] g, double eps, double[] colSums) {
            return scalar.transportCost(f, g, eps, colSums);
        }

        @Override
        public Passes exact() {
            return this;
        }
    }

    /**
     * {@code terms_j = (g_j − C_ij)/ε} for {@code j < m}, returning their maximum. {@code C_ij} is formed
     * lane by lane with {@link TransportProblem#cost}'s operations in its order (difference, square or
     * absolute value, sum over {@code k}, square root), so it is bitwise the scalar backend's cost. No
     * double blends: at 128 bits C2 does not intrinsify them, and the pass then allocated 1.5 GB per solve
     * at 2300².
     */
    static double rowTerms(double[] xRows, int at, int d, double[] yCols, int ld, int m, double[] g, double eps,
                           boolean l1, boolean root, double[] terms) {
        // |Δ|·w with w = |Δ|·a + b: a = 1, b = 0 gives Δ·Δ (|Δ|·|Δ| rounds as Δ·Δ does); a = 0, b = 1 gives |Δ|.
        DoubleVector a = DoubleVector.broadcast(D, l1 ? 0 : 1);
        DoubleVector b = DoubleVector.broadcast(D, l1 ? 1 : 0);
        int j = 0;
        for (; j + D.length() <= m; j += D.length()) {
            DoubleVector s = DoubleVector.zero(D);
            for (int k = 0; k < d; k++) {
                DoubleVector diff = DoubleVector.broadcast(D, xRows[at + k]).sub(DoubleVector.fromArray(D, yCols, k * ld + j)).abs();
                s = s.add(diff.mul(diff.fma(a, b)));
            }
            s.intoArray(terms, j);
        }
        for (; j < m; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) {
                double diff = xRows[at + k] - yCols[k * ld + j];
                s += l1 ? Math.abs(diff) : diff * diff;
            }
            terms[j] = s;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (j = 0; j < m; j++) {
            terms[j] = (g[j] - (root ? Math.sqrt(terms[j]) : terms[j])) / eps;
            max = Math.max(max, terms[j]);
        }
        return max;
    }
}
