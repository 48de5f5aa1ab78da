package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.VectorExp2.exp2;
import static jdk.incubator.vector.VectorOperators.GT;

import dev.entrokit.internal.SinkhornSolver;
import dev.entrokit.internal.TransportProblem;
import dev.entrokit.internal.scalar.ScalarSinkhorn;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;

/**
 * SPEC §3's passes with the Vector API; same pass names as {@code ScalarSinkhorn}.
 *
 * <p>Each problem's cost is copied once per solve into a per-thread workspace as float32 {@code C}
 * and {@code Cᵀ}, rows padded to whole vectors. Both log-sum-exps then have one shape: a sum down the
 * rows of a matrix, one vector of columns at a time, with the accumulator in a register
 * ({@link #sumExp}); the row LSE of {@code f} runs down {@code Cᵀ}, the column LSE of {@code g} down
 * {@code C}, and nothing is reduced across lanes. For point clouds the cost is computed into the
 * same workspace, so memory is O(n·m) per thread, not per problem; problems beyond
 * {@link #MAX_WORKSPACE} floats run the scalar passes (O(n + m) memory).
 *
 * <p>No max pass. Each LSE is shifted by the potential it replaces: with balanced updates every term
 * is then an entry of the current plan, which the previous update bounded by a marginal ≤ 1 (and the
 * first pass sees {@code −C/ε ≤ 0}). A column whose sum comes out below {@link #TINY} (every term
 * far below 1, e.g. at small ε in the first iterations) would lose its tail to the exp's floor, so
 * the pass is redone with each column shifted by its own maximum; unbalanced updates have no such
 * bound and always shift by the maximum. Arguments are kept in log2 units ({@code ×log2 e}), so
 * one FMA forms them and {@link VectorExp2} needs no {@code ln 2} reduction.
 */
public final class SimdSinkhorn extends SinkhornSolver {
    private static final double LOG2E = 1.4426950408889634;
    private static final double LN2 = 0.6931471805599453;
    /** Shift of the padding columns: their terms are all at the exp's floor, and their cost is 0. */
    private static final float PAD_SHIFT = -1e30f;
    /** Below this a shifted sum may have lost terms to the exp's floor (2^−115 each). */
    private static final double TINY = 0x1p-40;
    /** Floats of {@code C} and {@code Cᵀ} one thread may hold (64 MiB). */
    static final long MAX_WORKSPACE = 1L << 24;
    /** Rows summed in float lanes before they join the double sums. */
    private static final int BLOCK_ROWS = 256;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ThreadLocal<Matrices> WORK = ThreadLocal.withInitial(Matrices::new);

    @Override
    protected Passes open(TransportProblem problem, int p, boolean balanced) {
        int n = problem.n();
        int m = problem.m();
        int ldm = padded(m);
        int ldn = padded(n);
        if ((long) n * ldm + (long) m * ldn > MAX_WORKSPACE) {
            return new ScalarSinkhorn.ScalarPasses(problem, p);
        }
        Matrices w = WORK.get();
        w.ensure(n, m, ldn, ldm);
        w.load(problem, p, n, m, ldn, ldm);
        return new SimdPasses(w, n, m, ldn, ldm, balanced);
    }

    private static int padded(int k) {
        return (k + L - 1) / L * L;
    }

    /** The per-thread workspace: the cost, its transpose and the vectors the passes exchange. */
    private static final class Matrices {
        float[] c = new float[0];
        float[] ct = new float[0];
        float[] rowPot = new float[0];
        float[] shift = new float[0];
        double[] sums = new double[0];
        float[] logs = new float[0];
        float[] lanes = new float[L];
        double[] line = new double[0];

        void ensure(int n, int m, int ldn, int ldm) {
            if (c.length < n * ldm) {
                c = new float[n * ldm];
            }
            if (ct.length < m * ldn) {
                ct = new float[m * ldn];
            }
            int k = Math.max(ldn, ldm);
            if (shift.length < k) {
                rowPot = new float[k];
                shift = new float[k];
                sums = new double[k];
                logs = new float[k];
                line = new double[k];
            }
        }

        /** {@code C} (from the tensor, or computed from the points) and {@code Cᵀ}, padding 0. */
        void load(TransportProblem problem, int p, int n, int m, int ldn, int ldm) {
            for (int i = 0; i < n; i++) {
                int row = i * ldm;
                if (problem.points()) {
                    problem.costRow(p, i, line);
                    for (int j = 0; j < m; j++) {
                        c[row + j] = (float) line[j];
                    }
                } else {
                    var t = problem.cost();
                    long from = (t.offset() + p * t.batchStride() + i * t.rowStride()) * Float.BYTES;
                    java.lang.foreign.MemorySegment.copy(t.segment(), F32, from, c, row, m);
                }
                java.util.Arrays.fill(c, row + m, row + ldm, 0f);
            }
            for (int j = 0; j < m; j++) {
                int row = j * ldn;
                for (int i = 0; i < n; i++) {
                    ct[row + i] = c[i * ldm + j];
                }
                java.util.Arrays.fill(ct, row + n, row + ldn, 0f);
            }
        }
    }

    /** The passes of one problem over the thread's workspace. */
    private static final class SimdPasses implements Passes {
        private final Matrices w;
        private final int n;
        private final int m;
        private final int ldn;
        private final int ldm;
        private final boolean balanced;

        SimdPasses(Matrices w, int n, int m, int ldn, int ldm, boolean balanced) {
            this.w = w;
            this.n = n;
            this.m = m;
            this.ldn = ldn;
            this.ldm = ldm;
            this.balanced = balanced;
        }

        @Override
        public void rowLse(double[] f, double[] g, double eps, double[] out) {
            lse(w.ct, m, ldn, n, g, f, eps, out);
        }

        @Override
        public void colLse(double[] f, double[] g, double eps, double[] out) {
            lse(w.c, n, ldm, m, f, g, eps, out);
        }

        @Override
        public double transportCost(double[] f, double[] g, double eps, double[] colSums) {
            float neg = prepare(f, n, g, m, ldm, eps);
            java.util.Arrays.fill(w.sums, 0, ldm, 0);
            double cost = sumExpCost(w.c, n, ldm, w.rowPot, w.shift, neg, w.sums, w.lanes);
            System.arraycopy(w.sums, 0, colSums, 0, m);
            return cost;
        }

        /**
         * {@code out_c = LSE_r((rowPot_r − M_rc)/ε)} for the {@code cols} columns of {@code mat}
         * ({@code rows × ld}), shifted by {@code old} (the potential being replaced) when that is safe.
         */
        private void lse(float[] mat, int rows, int ld, int cols, double[] rowPot, double[] old, double eps,
                         double[] out) {
            float neg = prepare(rowPot, rows, old, cols, ld, eps);
            boolean shifted = !balanced;
            if (shifted) {
                columnMax(mat, rows, ld, w.rowPot, neg, w.shift);
            }
            java.util.Arrays.fill(w.sums, 0, ld, 0);
            sumExp(mat, rows, ld, w.rowPot, w.shift, neg, w.sums, w.lanes);
            if (!shifted && !allAbove(w.sums, cols)) {
                columnMax(mat, rows, ld, w.rowPot, neg, w.shift);
                java.util.Arrays.fill(w.sums, 0, ld, 0);
                sumExp(mat, rows, ld, w.rowPot, w.shift, neg, w.sums, w.lanes);
            }
            logs(w.sums, ld, w.logs);
            for (int k = 0; k < cols; k++) {
                out[k] = w.logs[k] - w.shift[k] * LN2;
            }
        }

        /**
         * Scales the potentials to log2 units, {@code rowPot} into {@code w.rowPot} and the shift into
         * {@code w.shift} (padding {@link #PAD_SHIFT}); returns {@code −log2 e/ε}, the factor of the cost.
         */
        private float prepare(double[] rowPot, int rows, double[] shift, int cols, int ld, double eps) {
            double s = LOG2E / eps;
            for (int r = 0; r < rows; r++) {
                w.rowPot[r] = (float) (rowPot[r] * s);
            }
            for (int k = 0; k < cols; k++) {
                w.shift[k] = (float) (shift[k] * s);
            }
            java.util.Arrays.fill(w.shift, cols, ld, PAD_SHIFT);
            return (float) -s;
        }

        private static boolean allAbove(double[] sums, int cols) {
            for (int k = 0; k < cols; k++) {
                if (!(sums[k] >= TINY && sums[k] < Double.POSITIVE_INFINITY)) {
                    return false;
                }
            }
            return true;
        }
    }

    // ---------------------------------------------------------------- kernels, one hot loop each

    /**
     * {@code sums_c += Σ_r 2^(shift_c + rowPot_r + neg·M_rc)} down the rows of {@code mat}, one vector of
     * columns at a time; float lanes for up to {@link #BLOCK_ROWS} rows, then double.
     */
    static void sumExp(float[] mat, int rows, int ld, float[] rowPot, float[] shift, float neg, double[] sums,
                       float[] lanes) {
        FloatVector nv = FloatVector.broadcast(F, neg);
        for (int c = 0; c < ld; c += L) {
            FloatVector s = FloatVector.fromArray(F, shift, c);
            for (int r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
                int r1 = Math.min(rows, r0 + BLOCK_ROWS);
                FloatVector acc = FloatVector.zero(F);
                for (int r = r0; r < r1; r++) {
                    acc = acc.add(exp2(FloatVector.fromArray(F, mat, r * ld + c).fma(nv, s.add(rowPot[r]))));
                }
                flush(acc, sums, c, lanes);
            }
        }
    }

    /** {@code sums[c..c+L) += v}, lane by lane in double. */
    private static void flush(FloatVector v, double[] sums, int c, float[] lanes) {
        v.intoArray(lanes, 0);
        for (int k = 0; k < L; k++) {
            sums[c + k] += lanes[k];
        }
    }

    /**
     * As {@link #sumExp} without a shift's safety net (the final plan's entries are what they are),
     * also returning {@code Σ P_rc M_rc}, summed in double per block.
     */
    static double sumExpCost(float[] mat, int rows, int ld, float[] rowPot, float[] shift, float neg, double[] sums,
                             float[] lanes) {
        FloatVector nv = FloatVector.broadcast(F, neg);
        double cost = 0;
        for (int c = 0; c < ld; c += L) {
            FloatVector s = FloatVector.fromArray(F, shift, c);
            for (int r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
                int r1 = Math.min(rows, r0 + BLOCK_ROWS);
                FloatVector acc = FloatVector.zero(F);
                FloatVector weighted = FloatVector.zero(F);
                for (int r = r0; r < r1; r++) {
                    FloatVector cost0 = FloatVector.fromArray(F, mat, r * ld + c);
                    FloatVector e = exp2(cost0.fma(nv, s.add(rowPot[r])));
                    acc = acc.add(e);
                    weighted = e.fma(cost0, weighted);
                }
                flush(acc, sums, c, lanes);
                weighted.intoArray(lanes, 0);
                for (int k = 0; k < L; k++) {
                    cost += lanes[k];
                }
            }
        }
        return cost;
    }

    /**
     * {@code out = log(sums)} in float lanes: one {@code Math.log} per column and pass cost as much as a
     * third of the pass itself at n = 128. The sums are at least {@link #TINY} (or the pass is redone
     * shifted, which makes them at least 1), so float is enough: about 1 ulp of the log.
     */
    static void logs(double[] sums, int ld, float[] out) {
        for (int k = 0; k < ld; k++) {
            out[k] = (float) sums[k];
        }
        for (int k = 0; k < ld; k += L) {
            VectorLog.log(FloatVector.fromArray(F, out, k)).intoArray(out, k);
        }
    }

    /** {@code shift_c = −max_r (rowPot_r + neg·M_rc)}: the shift that makes each column's largest term 1. */
    static void columnMax(float[] mat, int rows, int ld, float[] rowPot, float neg, float[] shift) {
        FloatVector nv = FloatVector.broadcast(F, neg);
        for (int c = 0; c < ld; c += L) {
            FloatVector mx = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (int r = 0; r < rows; r++) {
                FloatVector x = FloatVector.fromArray(F, mat, r * ld + c).fma(nv, FloatVector.broadcast(F, rowPot[r]));
                mx = mx.blend(x, x.compare(GT, mx));
            }
            mx.neg().intoArray(shift, c);
        }
    }
}
