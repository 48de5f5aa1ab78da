package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdRows.load;
import static dev.entrokit.internal.simd.VectorExp2.exp2;
import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LT;

import dev.entrokit.internal.SinkhornSolver;
import dev.entrokit.internal.TransportProblem;
import dev.entrokit.internal.scalar.ScalarSinkhorn;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * SPEC §3's passes with the Vector API; same pass names as {@code ScalarSinkhorn}.
 *
 * <p>Each problem's cost is copied once per solve into a per-thread workspace as float32 {@code C}
 * and {@code Cᵀ}, rows padded to whole vectors. Both log-sum-exps then have one shape: a sum down the
 * rows of a matrix, one vector of columns at a time, with the accumulator in a register
 * ({@link #sumExp}); the row LSE of {@code f} runs down {@code Cᵀ}, the column LSE of {@code g} down
 * {@code C}, and nothing is reduced across lanes. For point clouds the cost is computed into the
 * same workspace, so memory is O(n·m) per thread, not per problem. Beyond {@link #MAX_WORKSPACE}
 * floats, point clouds take {@link StreamingPasses} (the costs recomputed in every pass, O((n + m)·d)
 * memory) and given costs the scalar passes (O(n + m) memory).
 *
 * <p>float32 holds the iteration only while the exponents stay small: they reach about
 * {@code log2 e · max C/ε}, and float32 rounds them by {@code 2^−24} of that, a relative error of
 * roughly {@code 4e−8 · max C/ε} in every plan entry (measured against the scalar backend: 1e−5 at
 * {@code max C/ε = 1000}, 8e−5 at 1e4, 1e−3 at 2e5, where SPEC §5 allows 1e−4). A problem whose
 * {@code max C/ε} exceeds {@link #F32_RANGE} (or whose ε is below {@code Float.MIN_NORMAL}, where
 * {@code 1/ε} leaves float32) runs the scalar passes instead.
 *
 * <p>{@link Passes#exact()} gives {@link ExactPasses}: the row pass in float64 over the workspace's
 * cost, so that the error reported is the returned plan's at a fraction of the scalar pass's price.
 * A cost given as float32 is exact in the workspace; a cost computed from points is kept as that
 * float32 plus the float32 of what it rounded off ({@code lo}), 48 bits of the float64 cost.
 *
 * <p>No max pass. Each LSE is shifted by the potential it replaces: with balanced updates every term
 * is then an entry of the current plan, which the previous update bounded by a marginal ≤ 1 (and the
 * first pass sees {@code −C/ε ≤ 0}). A column whose sum comes out below {@link #TINY} (every term
 * far below 1, e.g. at small ε in the first iterations) would lose its tail to the exp's floor, so
 * the pass is redone with each column shifted by its own maximum; unbalanced updates have no such
 * bound and always shift by the maximum. Arguments are kept in log2 units ({@code ×log2 e}), so
 * one FMA forms them and {@link VectorExp2} needs no {@code ln 2} reduction.
 *
 * <p>Balanced problems mostly skip even that: the exps depend on the potentials only through
 * {@code exp((f_i + g_j − C_ij)/ε) = K̃_ij · e^{(f_i − f̄_i)/ε} · e^{(g_j − ḡ_j)/ε}}, so the kernel
 * {@code K̃} of some recent potentials {@code f̄, ḡ} (and its transpose) is kept, and each LSE is a
 * matrix-vector product plus {@code n} exps and logs: the absorption of Schmitzer's stabilized
 * Sinkhorn. The kernel is remade when the potentials drift more than {@link #DRIFT}·ε from it (a few
 * times per problem: measured 3.5 times in 100 iterations at 128 × 128, ε = 0.05), and a pass whose
 * sums come out tiny falls back to the log-sum-exp. The iterates are SPEC §3's, computed another way:
 * at 64 × 128 × 128 and 100 iterations this took one thread from 33 to 18 ms (CPU time).
 */
public final class SimdSinkhorn extends SinkhornSolver {
    private static final double LOG2E = 1.4426950408889634;
    private static final double LN2 = 0.6931471805599453;
    /** Shift of the padding columns: their terms are all at the exp's floor, and their cost is 0. */
    private static final float PAD_SHIFT = -1e30f;
    /** Below this a shifted sum may have lost terms to the exp's floor (2^−115 each). */
    static final double TINY = 0x1p-40;
    /** Floats of {@code C}, {@code Cᵀ} and the kernels one thread may hold (64 MiB). */
    static final long MAX_WORKSPACE = 1L << 24;
    /** The largest {@code max C/ε} run in float32 (see the class comment). */
    static final double F32_RANGE = 1024;
    /** How far (in units of ε) the potentials may move from the kernels' before they are remade. */
    private static final double DRIFT = 30;
    /**
     * Below this a kernel sum may miss terms the kernel flushed to 0 (each below {@code e^−80} times a
     * factor up to {@code e^DRIFT}), so the pass falls back to the log-sum-exp.
     */
    private static final double KERNEL_TINY = 0x1p-20;
    /** Rows summed in float lanes before they join the double sums. */
    private static final int BLOCK_ROWS = 256;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ThreadLocal<Matrices> WORK = ThreadLocal.withInitial(Matrices::new);

    /** Whether point clouds always take the streaming passes, whatever their size. */
    private final boolean streamPoints;

    /** The solver the simd backend uses: point clouds beyond {@link #MAX_WORKSPACE} stream. */
    public SimdSinkhorn() {
        this(false);
    }

    private SimdSinkhorn(boolean streamPoints) {
        this.streamPoints = streamPoints;
    }

    /**
     * A solver whose point-cloud problems always take {@link StreamingPasses}, as the default one does
     * only beyond {@link #MAX_WORKSPACE}: for comparing the two paths on problems the dense one holds.
     */
    public static SimdSinkhorn streaming() {
        return new SimdSinkhorn(true);
    }

    @Override
    protected Passes open(TransportProblem problem, int p, boolean balanced, double minEpsilon) {
        int n = problem.n();
        int m = problem.m();
        int ldm = padded(m);
        int ldn = padded(n);
        Passes exact = new ScalarSinkhorn.ScalarPasses(problem, p);
        long floats = (problem.points() ? 3L : 2L) * n * ldm + 2L * m * ldn;
        if (!(minEpsilon >= Float.MIN_NORMAL)) {
            return exact;
        }
        if (problem.points() && (streamPoints || floats > MAX_WORKSPACE)) {
            return StreamingPasses.open(problem, p, balanced, minEpsilon, exact);
        }
        if (floats > MAX_WORKSPACE) {
            return exact;
        }
        Matrices w = WORK.get();
        w.ensure(n, m, ldn, ldm, problem.points());
        float maxCost = w.load(problem, p, n, m, ldn, ldm);
        if (!(maxCost <= F32_RANGE * minEpsilon)) {
            return exact;
        }
        return new SimdPasses(w, n, m, ldn, ldm, balanced, new ExactPasses(w, n, m, ldm, problem.points(), exact));
    }

    private static int padded(int k) {
        return (k + L - 1) / L * L;
    }

    /** The per-thread workspace: the cost, its transpose and the vectors the passes exchange. */
    private static final class Matrices {
        float[] c = new float[0];
        float[] ct = new float[0];
        float[] k = new float[0];
        float[] kt = new float[0];
        /** What float32 rounded off a cost computed from points (unused for a given cost). */
        float[] lo = new float[0];
        float[] rowPot = new float[0];
        float[] shift = new float[0];
        double[] sums = new double[0];
        float[] logs = new float[0];
        float[] lanes = new float[L];
        double[] line = new double[0];

        void ensure(int n, int m, int ldn, int ldm, boolean points) {
            if (c.length < n * ldm) {
                c = new float[n * ldm];
                k = new float[n * ldm];
            }
            if (points && lo.length < n * ldm) {
                lo = new float[n * ldm];
            }
            if (ct.length < m * ldn) {
                ct = new float[m * ldn];
                kt = new float[m * ldn];
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

        /**
         * {@code C} (from the tensor, or computed from the points) and {@code Cᵀ}, padding 0; returns the
         * largest cost.
         */
        float load(TransportProblem problem, int p, int n, int m, int ldn, int ldm) {
            for (int i = 0; i < n; i++) {
                int row = i * ldm;
                if (problem.points()) {
                    problem.costRow(p, i, line);
                    for (int j = 0; j < m; j++) {
                        c[row + j] = (float) line[j];
                        lo[row + j] = (float) (line[j] - c[row + j]);
                    }
                } else {
                    var t = problem.cost();
                    long from = (t.offset() + p * t.batchStride() + i * t.rowStride()) * Float.BYTES;
                    MemorySegment.copy(t.segment(), F32, from, c, row, m);
                }
                Arrays.fill(c, row + m, row + ldm, 0f);
            }
            float max = 0;
            for (int j = 0; j < m; j++) {
                int row = j * ldn;
                for (int i = 0; i < n; i++) {
                    float cij = c[i * ldm + j];
                    ct[row + i] = cij;
                    max = Math.max(max, cij);
                }
                Arrays.fill(ct, row + n, row + ldn, 0f);
            }
            return max;
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
        private final Passes exact;
        /** The potentials the kernels were made with, and their ε (0: no kernel yet, or a stale one). */
        private final double[] fBar;
        private final double[] gBar;
        private double kernelEps;

        SimdPasses(Matrices w, int n, int m, int ldn, int ldm, boolean balanced, Passes exact) {
            this.exact = exact;
            this.w = w;
            this.n = n;
            this.m = m;
            this.ldn = ldn;
            this.ldm = ldm;
            this.balanced = balanced;
            this.fBar = new double[n];
            this.gBar = new double[m];
        }

        @Override
        public void rowLse(double[] f, double[] g, double eps, double[] out) {
            if (!balanced || !kernelLse(w.kt, m, ldn, n, g, gBar, fBar, f, g, eps, out)) {
                lse(w.ct, m, ldn, n, g, f, eps, out);
            }
        }

        @Override
        public void colLse(double[] f, double[] g, double eps, double[] out) {
            if (!balanced || !kernelLse(w.k, n, ldm, m, f, fBar, gBar, f, g, eps, out)) {
                lse(w.c, n, ldm, m, f, g, eps, out);
            }
        }

        /**
         * The LSE from the kernel {@code K̃ = exp((f̄ ⊕ ḡ − C)/ε)}: with {@code w_r = exp((pot_r − pot̄_r)/ε)},
         * {@code LSE_r((pot_r − M_rc)/ε) = log Σ_r K̃_rc w_r − own̄_c/ε}, a matrix-vector product. The
         * kernels are remade from the current potentials first when they are missing, made at another
         * ε, or when a factor {@code w} would leave {@code e^±}{@link #DRIFT}. Returns false, and marks
         * the kernels stale, when a sum is below {@link #KERNEL_TINY} (terms the kernel flushed to 0
         * might matter there, e.g. right after the first absorption at {@code f = g = 0}).
         */
        private boolean kernelLse(float[] kernel, int rows, int ld, int cols, double[] pot, double[] potBar,
                                  double[] ownBar, double[] f, double[] g, double eps, double[] out) {
            if (kernelEps != eps || drift(pot, potBar, rows, eps) > DRIFT) {
                absorb(f, g, eps);
            }
            double s = LOG2E / eps;
            for (int r = 0; r < rows; r++) {
                w.rowPot[r] = (float) ((pot[r] - potBar[r]) * s);
            }
            exp2All(w.rowPot, rows);
            Arrays.fill(w.sums, 0, ld, 0);
            weightedColumnSums(kernel, rows, ld, w.rowPot, w.sums, w.lanes);
            if (!allAbove(w.sums, cols, KERNEL_TINY)) {
                kernelEps = 0;
                return false;
            }
            logs(w.sums, ld, w.logs);
            double invEps = 1 / eps;
            for (int c = 0; c < cols; c++) {
                out[c] = w.logs[c] - ownBar[c] * invEps;
            }
            return true;
        }

        /** Makes {@code K̃} and {@code K̃ᵀ} from the current potentials (whose plan has entries ≤ 1). */
        private void absorb(double[] f, double[] g, double eps) {
            System.arraycopy(f, 0, fBar, 0, n);
            System.arraycopy(g, 0, gBar, 0, m);
            float neg = prepare(f, n, g, m, ldm, eps);
            expInto(w.c, n, ldm, w.rowPot, w.shift, neg, w.k);
            prepare(g, m, f, n, ldn, eps);
            expInto(w.ct, m, ldn, w.rowPot, w.shift, neg, w.kt);
            kernelEps = eps;
        }

        private static double drift(double[] pot, double[] potBar, int len, double eps) {
            double max = 0;
            for (int r = 0; r < len; r++) {
                max = Math.max(max, Math.abs(pot[r] - potBar[r]));
            }
            return max / eps;
        }

        @Override
        public Passes exact() {
            return exact;
        }

        @Override
        public double transportCost(double[] f, double[] g, double eps, double[] colSums) {
            float neg = prepare(f, n, g, m, ldm, eps);
            Arrays.fill(w.sums, 0, ldm, 0);
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
            Arrays.fill(w.sums, 0, ld, 0);
            sumExp(mat, rows, ld, w.rowPot, w.shift, neg, w.sums, w.lanes);
            if (!shifted && !allAbove(w.sums, cols, TINY)) {
                columnMax(mat, rows, ld, w.rowPot, neg, w.shift);
                Arrays.fill(w.sums, 0, ld, 0);
                sumExp(mat, rows, ld, w.rowPot, w.shift, neg, w.sums, w.lanes);
            }
            logs(w.sums, ld, w.logs);
            for (int k = 0; k < cols; k++) {
                out[k] = w.logs[k] - w.shift[k] * LN2;
            }
        }

        private float prepare(double[] rowPot, int rows, double[] shift, int cols, int ld, double eps) {
            return scaled(rowPot, rows, shift, cols, ld, eps, w.rowPot, w.shift);
        }
    }

    /**
     * The float64 passes of a problem the workspace holds: the row pass over the workspace's cost, each
     * row's LSE shifted by its maximum as the scalar passes do; the rest (used only once a problem has
     * gone on in float64) from the scalar passes.
     */
    private static final class ExactPasses implements Passes {
        private final Matrices w;
        private final int n;
        private final int m;
        private final int ldm;
        private final boolean points;
        private final Passes scalar;

        ExactPasses(Matrices w, int n, int m, int ldm, boolean points, Passes scalar) {
            this.w = w;
            this.n = n;
            this.m = m;
            this.ldm = ldm;
            this.points = points;
            this.scalar = scalar;
        }

        @Override
        public void rowLse(double[] f, double[] g, double eps, double[] out) {
            double[] t = w.line;
            double invEps = 1 / eps;
            for (int i = 0; i < n; i++) {
                int row = i * ldm;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < m; j++) {
                    double cij = points ? (double) w.c[row + j] + w.lo[row + j] : w.c[row + j];
                    t[j] = (g[j] - cij) * invEps;
                    max = Math.max(max, t[j]);
                }
                out[i] = max + Math.log(sumExpShifted(t, m, max));
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
     * Scales the potentials to log2 units, {@code rowPot} into {@code rowOut} and the shift into
     * {@code shiftOut} (padding {@link #PAD_SHIFT}); returns {@code −log2 e/ε}, the factor of the cost.
     */
    static float scaled(double[] rowPot, int rows, double[] shift, int cols, int ld, double eps, float[] rowOut,
                        float[] shiftOut) {
        double s = LOG2E / eps;
        for (int r = 0; r < rows; r++) {
            rowOut[r] = (float) (rowPot[r] * s);
        }
        for (int k = 0; k < cols; k++) {
            shiftOut[k] = (float) (shift[k] * s);
        }
        Arrays.fill(shiftOut, cols, ld, PAD_SHIFT);
        return (float) -s;
    }

    /** Whether the first {@code cols} sums are finite and at least {@code tiny}. */
    static boolean allAbove(double[] sums, int cols, double tiny) {
        for (int k = 0; k < cols; k++) {
            if (!(sums[k] >= tiny && sums[k] < Double.POSITIVE_INFINITY)) {
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- kernels, one hot loop each

    /**
     * {@code Σ_k exp(t_k − max)} for {@code k < len} in float64, in index order with {@code Math.exp}. Not
     * {@code VectorOperators.EXP} and {@code reduceLanes(ADD)}: their results depend on whether C2 has
     * compiled the loop yet (SVML against the per-lane fallback, and another summation order), and the same
     * problem solved twice in one JVM reported objectives 1 ulp apart. The row pass that measures the
     * returned plan runs once per check, so its exps may cost scalar time.
     */
    static double sumExpShifted(double[] t, int len, double max) {
        double s = 0;
        for (int k = 0; k < len; k++) {
            s += Math.exp(t[k] - max);
        }
        return s;
    }

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

    /** {@code out = 2^(shift_c + rowPot_r + neg·M_rc)}, with what falls below the exp's floor set to 0. */
    static void expInto(float[] mat, int rows, int ld, float[] rowPot, float[] shift, float neg, float[] out) {
        FloatVector nv = FloatVector.broadcast(F, neg);
        for (int r = 0; r < rows; r++) {
            FloatVector pot = FloatVector.broadcast(F, rowPot[r]);
            for (int c = 0; c < ld; c += L) {
                FloatVector x = FloatVector.fromArray(F, mat, r * ld + c).fma(nv, FloatVector.fromArray(F, shift, c).add(pot));
                exp2(x).blend(0f, x.compare(LT, VectorExp2.LOW)).intoArray(out, r * ld + c);
            }
        }
    }

    /** {@code v_r = 2^(v_r)} for {@code r < len}, in place. */
    static void exp2All(float[] v, int len) {
        int r = 0;
        for (; r + L <= len; r += L) {
            exp2(FloatVector.fromArray(F, v, r)).intoArray(v, r);
        }
        for (; r < len; r++) {
            v[r] = (float) Math.pow(2, v[r]);
        }
    }

    /**
     * {@code sums_c += Σ_r M_rc weight_r} down the rows, one vector of columns at a time; four rows per
     * step in four chains, since one FMA per row would wait on the previous one's latency.
     */
    static void weightedColumnSums(float[] mat, int rows, int ld, float[] weight, double[] sums, float[] lanes) {
        for (int c = 0; c < ld; c += L) {
            for (int r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
                int r1 = Math.min(rows, r0 + BLOCK_ROWS);
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                int r = r0;
                for (; r + 4 <= r1; r += 4) {
                    int at = r * ld + c;
                    a0 = FloatVector.fromArray(F, mat, at).fma(FloatVector.broadcast(F, weight[r]), a0);
                    a1 = FloatVector.fromArray(F, mat, at + ld).fma(FloatVector.broadcast(F, weight[r + 1]), a1);
                    a2 = FloatVector.fromArray(F, mat, at + 2 * ld).fma(FloatVector.broadcast(F, weight[r + 2]), a2);
                    a3 = FloatVector.fromArray(F, mat, at + 3 * ld).fma(FloatVector.broadcast(F, weight[r + 3]), a3);
                }
                for (; r < r1; r++) {
                    a0 = FloatVector.fromArray(F, mat, r * ld + c).fma(FloatVector.broadcast(F, weight[r]), a0);
                }
                flush(a0.add(a1).add(a2.add(a3)), sums, c, lanes);
            }
        }
    }

    /** {@code sums[c..c+L) += v}, lane by lane in double. */
    static void flush(FloatVector v, double[] sums, int c, float[] lanes) {
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
