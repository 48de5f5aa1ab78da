package dev.entrokit;

import dev.entrokit.internal.Checks;
import dev.entrokit.internal.HalfRows;
import dev.entrokit.internal.RowExecutor;
import dev.entrokit.internal.SinkdLoss;
import dev.entrokit.internal.SinkhornSolver;
import dev.entrokit.internal.TransportProblem;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

/**
 * The argument checks and the batch loop behind the optimal-transport view {@link Transport} (SPEC §3),
 * kept apart from the per-row ops. Everything is checked before any work: shapes, finite non-negative
 * costs, finite points, positive marginals that sum to 1 (balanced) within {@link #MASS_TOLERANCE},
 * and an ε that float64 can resolve against the costs ({@link #MAX_COST_OVER_EPSILON}).
 */
final class TransportDriver {
    /** How far from 1 a balanced marginal's sum may be. */
    static final double MASS_TOLERANCE = 1e-5;
    /**
     * The largest {@code max C/ε} accepted. The plan's exponents {@code (f_i + g_j − C_ij)/ε} are formed
     * from terms as large as {@code C/ε}, and float64 rounds them by {@code 2^−53} of that: at
     * {@code 2^40} a plan entry is off by about 1e−4 (SPEC §5's Sinkhorn tolerance) on every backend,
     * and beyond it the result is noise (rows of zero mass, or NaN once {@code C/ε} overflows).
     */
    static final double MAX_COST_OVER_EPSILON = 0x1p40;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private TransportDriver() {
    }

    /** Solves every problem of {@code problem} on {@code solver}, one problem per task. */
    static SinkhornResult solve(SinkhornSolver solver, RowExecutor rows, TransportProblem problem, SinkhornOptions o,
                                boolean shareable) {
        if (o == null) {
            throw new IllegalArgumentException("options: must not be null");
        }
        checkSolvable(problem, o, 0);
        SinkhornResult out = new SinkhornResult(problem.batch(), problem.n(), problem.m(), problem.d(), o.plan(),
                o.gradients());
        long work = (long) problem.n() * problem.m() * Math.max(1, Math.min(o.maxIter(), 1000));
        rows.forEachRow(problem.batch(), work, shareable, p -> solver.solve(problem, p, o, out));
        return out;
    }

    /**
     * Solves a ragged batch: each problem its own sizes and ε ({@code o} with that ε), one problem per
     * task, one result each. Every problem is checked before any runs; a refusal names the problem as
     * {@code problems[i]} before the argument.
     */
    static SinkhornResult[] solveRagged(SinkhornSolver solver, RowExecutor rows, List<SinkhornProblem> problems,
                                        SinkhornOptions o) {
        if (o == null) {
            throw new IllegalArgumentException("options: must not be null");
        }
        if (problems == null) {
            throw new IllegalArgumentException("problems: must not be null");
        }
        int count = problems.size();
        TransportProblem[] checked = new TransportProblem[count];
        SinkhornOptions[] options = new SinkhornOptions[count];
        boolean shareable = true;
        long work = 0;
        for (int i = 0; i < count; i++) {
            String name = "problems[" + i + "]";
            SinkhornProblem q = problems.get(i);
            if (q == null) {
                throw new IllegalArgumentException(name + ": must not be null");
            }
            try {
                if (q.cost() != null && (q.x() != null || q.y() != null)) {
                    throw new IllegalArgumentException("cost: give a cost or two point clouds, not both");
                }
                shareable &= shareable("cost", q.cost()) & shareable("x", q.x()) & shareable("y", q.y())
                        & shareable("a", q.a()) & shareable("b", q.b());
                TransportProblem t = q.points() ? ofPoints(q.x(), q.y(), q.metric(), q.a(), q.b())
                        : ofCost(q.cost(), q.a(), q.b());
                Tensor shaped = q.points() ? q.x() : q.cost();
                if (shaped.rank() != 2) {
                    throw new IllegalArgumentException((q.points() ? "x" : "cost") + ": a problem of a ragged batch is "
                            + "one problem, [n, " + (q.points() ? "d" : "m") + "], got " + Arrays.toString(shaped.shape()));
                }
                options[i] = o.epsilon(q.epsilon());
                checkSolvable(t, options[i], i);
                checked[i] = t;
                work += (long) t.n() * t.m();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + "." + e.getMessage(), e);
            }
        }
        SinkhornResult[] out = new SinkhornResult[count];
        for (int i = 0; i < count; i++) {
            TransportProblem t = checked[i];
            out[i] = new SinkhornResult(1, t.n(), t.m(), t.d(), o.plan(), o.gradients());
        }
        long perProblem = count == 0 ? 0 : work / count * Math.max(1, Math.min(o.maxIter(), 1000));
        rows.forEachRow(count, perProblem, shareable, i -> solver.solve(checked[i], 0, options[i], out[i]));
        return out;
    }

    /**
     * The checks of a solve that need the options: marginals, the plan's size, and ε against each
     * problem's costs ({@code first} numbers the problems in the message).
     */
    private static void checkSolvable(TransportProblem problem, SinkhornOptions o, int first) {
        checkMarginal("a", problem.a(), problem.batch(), problem.n(), o, first);
        checkMarginal("b", problem.b(), problem.batch(), problem.m(), o, first);
        if (o.plan() && (long) problem.batch() * problem.n() * problem.m() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("plan: [" + problem.batch() + ", " + problem.n() + ", " + problem.m()
                    + "] has more than 2^31 elements; solve without the plan or in smaller batches");
        }
        for (int p = 0; p < problem.batch(); p++) {
            double bound = problem.costBound(p);
            if (!(bound <= MAX_COST_OVER_EPSILON * o.epsilon())) {
                throw new IllegalArgumentException("epsilon: " + o.epsilon() + " is too small for the costs of problem "
                        + (first + p) + " (up to " + bound + "): max cost / epsilon = " + bound / o.epsilon() + " exceeds 2^40, "
                        + "where float64 no longer resolves the plan's exponents (f + g - C)/epsilon; raise epsilon or "
                        + "scale the costs down");
            }
        }
    }

    /** A checked cost-given problem. */
    static TransportProblem ofCost(Tensor cost, Tensor a, Tensor b) {
        checkFloat("cost", cost);
        // Half inputs are widened once (exactly): the solver reads costs and weights many times over.
        cost = HalfRows.widened(cost);
        a = HalfRows.widened(a);
        b = HalfRows.widened(b);
        if (cost.rank() < 2) {
            throw new IllegalArgumentException("cost: expected [B, n, m] or [n, m], got " + Arrays.toString(cost.shape()));
        }
        int batch = dim("cost", cost.batch());
        int n = dim("cost", cost.rows());
        int m = dim("cost", cost.cols());
        checkPositiveSizes("cost", cost, n, m);
        for (int p = 0; p < batch; p++) {
            for (int i = 0; i < n; i++) {
                long base = cost.offset() + p * cost.batchStride() + i * cost.rowStride();
                for (int j = 0; j < m; j++) {
                    float c = cost.segment().getAtIndex(F32, base + j);
                    if (!(c >= 0f) || c == Float.POSITIVE_INFINITY) {
                        throw new IllegalArgumentException("cost: entries must be finite and >= 0, got " + c + " at ["
                                + p + ", " + i + ", " + j + "]");
                    }
                }
            }
        }
        checkMarginalShape("a", a, cost, batch, n);
        checkMarginalShape("b", b, cost, batch, m);
        return new TransportProblem(cost, null, null, null, a, b, batch, n, m, 0);
    }

    /** A checked point-cloud problem. */
    static TransportProblem ofPoints(Tensor x, Tensor y, Metric metric, Tensor a, Tensor b) {
        checkFloat("x", x);
        checkFloat("y", y);
        x = HalfRows.widened(x);
        y = HalfRows.widened(y);
        a = HalfRows.widened(a);
        b = HalfRows.widened(b);
        if (metric == null) {
            throw new IllegalArgumentException("metric: must not be null");
        }
        if (x.rank() < 2 || y.rank() != x.rank()) {
            throw new IllegalArgumentException("x, y: expected [B, n, d] and [B, m, d] (or [n, d] and [m, d]), got "
                    + Arrays.toString(x.shape()) + " and " + Arrays.toString(y.shape()));
        }
        if (x.batch() != y.batch() || x.cols() != y.cols()) {
            throw new IllegalArgumentException("y: shape " + Arrays.toString(y.shape()) + " does not match x "
                    + Arrays.toString(x.shape()) + " (same batch and point dimension d needed)");
        }
        int batch = dim("x", x.batch());
        int n = dim("x", x.rows());
        int m = dim("y", y.rows());
        int d = dim("x", x.cols());
        checkPositiveSizes("x", x, n, d);
        checkPositiveSizes("y", y, m, d);
        checkFinite("x", x);
        checkFinite("y", y);
        checkMarginalShape("a", a, x, batch, n);
        checkMarginalShape("b", b, x, batch, m);
        return new TransportProblem(null, x, y, metric, a, b, batch, n, m, d);
    }

    /** The debiased divergence {@code OT(a,b) − ½OT(a,a) − ½OT(b,b)} of each problem, from the objectives. */
    static double[] divergence(SinkhornSolver solver, RowExecutor rows, Tensor x, Tensor y, Metric metric, Tensor a,
                               Tensor b, SinkhornOptions o, boolean shareable) {
        if (o == null) {
            throw new IllegalArgumentException("options: must not be null");
        }
        SinkhornOptions plain = o.plan(false).gradients(false);
        double[] xy = solve(solver, rows, ofPoints(x, y, metric, a, b), plain, shareable).objective();
        double[] xx = solve(solver, rows, ofPoints(x, x, metric, a, a), plain, shareable).objective();
        double[] yy = solve(solver, rows, ofPoints(y, y, metric, b, b), plain, shareable).objective();
        double[] s = new double[xy.length];
        for (int p = 0; p < s.length; p++) {
            s[p] = xy[p] - 0.5 * xx[p] - 0.5 * yy[p];
        }
        return s;
    }

    /** SinKD's loss, and its gradient w.r.t. the student logits into {@code grad} when not null. */
    static double sinkd(SinkhornSolver solver, RowExecutor rows, Tensor teacher, Tensor student, SinkdOptions o,
                        Tensor grad) {
        if (o == null) {
            throw new IllegalArgumentException("options: must not be null");
        }
        checkFloat("teacher", teacher);
        checkFloat("student", student);
        // The rows are read on this thread (and copied before any solver thread sees them).
        shareable("teacher", teacher);
        shareable("student", student);
        teacher = HalfRows.widened(teacher);
        student = HalfRows.widened(student);
        if (student.rank() != 2 || !Arrays.equals(student.shape(), teacher.shape())) {
            throw new IllegalArgumentException("teacher, student: expected two [B, V] tensors of the same shape, got "
                    + Arrays.toString(teacher.shape()) + " and " + Arrays.toString(student.shape()));
        }
        int batch = dim("student", student.rows());
        int v = dim("student", student.cols());
        if (batch < 1 || v < 1 || (long) batch * v > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("student: need 1 <= B and 1 <= V with B*V < 2^31, got " + batch + " x " + v);
        }
        if ((long) batch * batch > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("teacher, student: B = " + batch + " rows make a B x B cost of "
                    + (long) batch * batch + " entries, more than an array holds (2^31 - 9); use smaller batches");
        }
        if (grad != null) {
            if (grad.dtype() != DType.F32 || !Arrays.equals(grad.shape(), student.shape())) {
                throw new IllegalArgumentException("grad: expected an F32 tensor of shape " + Arrays.toString(student.shape())
                        + ", got " + grad);
            }
            shareable("grad", grad);
            if (grad.segment().isReadOnly()) {
                throw new IllegalArgumentException("grad: segment is read-only");
            }
        }
        double need = SinkdLoss.workspaceBytes(batch, v, o.iterations(), o.logDomain(), grad != null);
        long heap = Runtime.getRuntime().maxMemory();
        if (need > heap || (grad != null && o.iterations() > Integer.MAX_VALUE - 8)) {
            String what = grad == null ? "teacher, student: B = " + batch + ", V = " + v
                    : "teacher, student, options.iterations: B = " + batch + ", V = " + v + " and " + o.iterations()
                    + " iterations with the gradient (which keeps every iteration's scalings)";
            throw new IllegalArgumentException(String.format("%s need %.0f MiB of workspace, more than this JVM's heap "
                    + "can hold (%d MiB)", what, need / (1 << 20), heap >> 20));
        }
        float[] s = copyRows(student);
        float[] t = copyRows(teacher);
        double[] sp = SinkdLoss.softmax(s, batch, v, o.temperature());
        double[] tp = SinkdLoss.softmax(t, batch, v, o.temperature());
        double[] w = SinkdLoss.l1Cost(sp, tp, batch, v);
        if (!allFinite(w)) {
            // A NaN row (a NaN or +inf logit, or all -inf) reaches every plan entry through the
            // normalizations, so the whole batch is NaN, in either domain.
            if (grad != null) {
                float[] nan = new float[v];
                Arrays.fill(nan, Float.NaN);
                for (int r = 0; r < batch; r++) {
                    MemorySegment.copy(nan, 0, grad.segment(), F32, grad.index(r, 0) * Float.BYTES, v);
                }
            }
            return Double.NaN;
        }
        double loss;
        if (o.logDomain()) {
            float[] wf = new float[w.length];
            for (int i = 0; i < w.length; i++) {
                wf[i] = (float) w[i];
            }
            SinkhornOptions so = SinkhornOptions.defaults().epsilon(o.epsilon()).maxIter(o.iterations()).tol(0);
            SinkhornResult r = solve(solver, rows, ofCost(Tensor.of(wf, batch, batch), null, null), so, true);
            loss = batch * r.cost()[0]; // uniform marginals 1/B; the paper's all-ones plan is B times larger
        } else {
            loss = SinkdLoss.paperLoss(w, batch, o.epsilon(), o.iterations());
        }
        if (grad != null) {
            float[] gr = new float[batch * v];
            SinkdLoss.gradient(sp, tp, w, batch, v, o.epsilon(), o.iterations(), o.temperature(), 1, gr);
            for (int r = 0; r < batch; r++) {
                MemorySegment.copy(gr, r * v, grad.segment(), F32, grad.index(r, 0) * Float.BYTES, v);
            }
        }
        return loss;
    }

    private static boolean allFinite(double[] x) {
        for (double e : x) {
            if (!Double.isFinite(e)) {
                return false;
            }
        }
        return true;
    }

    private static float[] copyRows(Tensor t) {
        int rows = (int) t.rows();
        int cols = (int) t.cols();
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(t.segment(), F32, t.index(r, 0) * Float.BYTES, out, r * cols, cols);
        }
        return out;
    }

    /** Whether worker threads may read {@code t} (null counts as yes); see {@link Checks#shareable}. */
    static boolean shareable(String name, Tensor t) {
        return t == null || Checks.shareable(name, t);
    }

    private static void checkFloat(String name, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": must not be null");
        }
        Checks.floatType(name, t);
    }

    private static int dim(String name, long size) {
        if (size > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException(name + ": dimension " + size + " is too large");
        }
        return (int) size;
    }

    private static void checkPositiveSizes(String name, Tensor t, int rows, int cols) {
        if (rows < 1 || cols < 1) {
            throw new IllegalArgumentException(name + ": every problem needs at least one point, got shape "
                    + Arrays.toString(t.shape()));
        }
    }

    private static void checkFinite(String name, Tensor t) {
        for (int p = 0; p < t.batch(); p++) {
            for (int i = 0; i < t.rows(); i++) {
                long base = t.offset() + p * t.batchStride() + i * t.rowStride();
                for (int k = 0; k < t.cols(); k++) {
                    float v = t.segment().getAtIndex(F32, base + k);
                    if (!Float.isFinite(v)) {
                        throw new IllegalArgumentException(name + ": coordinates must be finite, got " + v + " at ["
                                + p + ", " + i + ", " + k + "]");
                    }
                }
            }
        }
    }

    /** {@code [B, k]}, or {@code [k]} for a rank-2 problem (one problem). */
    private static void checkMarginalShape(String name, Tensor w, Tensor ref, int batch, int k) {
        if (w == null) {
            return;
        }
        checkFloat(name, w);
        long[] expected = ref.rank() == 3 ? new long[] {batch, k} : new long[] {k};
        if (!Arrays.equals(w.shape(), expected)) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(w.shape()) + " does not match "
                    + Arrays.toString(expected) + " (one weight per point of each problem)");
        }
    }

    /** Entries finite and {@code > 0}; balanced: each problem's sum within {@link #MASS_TOLERANCE} of 1. */
    private static void checkMarginal(String name, Tensor w, int batch, int k, SinkhornOptions o, int first) {
        if (w == null) {
            return;
        }
        for (int p = 0; p < batch; p++) {
            double sum = 0;
            for (int i = 0; i < k; i++) {
                float v = w.segment().getAtIndex(F32, w.index(p, i));
                if (!(v > 0f) || v == Float.POSITIVE_INFINITY) {
                    throw new IllegalArgumentException(name + ": weights must be finite and > 0 (drop points of zero "
                            + "mass), got " + v + " at [" + p + ", " + i + "]");
                }
                sum += v;
            }
            if (!o.unbalanced() && Math.abs(sum - 1) > MASS_TOLERANCE) {
                throw new IllegalArgumentException(name + ": weights of problem " + (first + p) + " sum to " + sum
                        + ", not 1 (within " + MASS_TOLERANCE + "); balanced transport needs probability vectors");
            }
        }
    }
}
