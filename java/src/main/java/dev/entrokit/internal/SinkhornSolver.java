package dev.entrokit.internal;

import dev.entrokit.SinkhornOptions;
import dev.entrokit.SinkhornResult;
import java.util.Arrays;

/**
 * The log-domain iteration of SPEC §3 for one problem, shared by the backends; each backend supplies
 * the two log-sum-exp passes over the cost ({@link Passes}). Potentials live in float64 here, start at
 * 0, and are updated {@code f} first:
 * <pre>
 *   f_i ← λ(ε log a_i − ε LSE_j((g_j − C_ij)/ε))
 *   g_j ← λ(ε log b_j − ε LSE_i((f_i − C_ij)/ε))      λ = ρ/(ρ + ε), 1 when balanced
 * </pre>
 * The row pass that starts iteration {@code k} also gives the row marginal of the plan after
 * iteration {@code k − 1}, {@code r_i = exp(f_i/ε + LSE_i)}, so checking the error costs no extra pass:
 * when it is due and within {@code tol} the problem stops before updating {@code f}.
 *
 * <p>The reported error is always that of the plan returned, {@code exp((f_i + g_j − C_ij)/ε)} in
 * float64. Passes that are not float64 ({@link Passes#exact()}) measure it only as finely as their own
 * rounding (float32 logs show a converged row as converged to 1e-16 while it is 1e-8 off), so when
 * their check says "stop", or at the last iteration, the row pass is redone in float64 and that error
 * is the one reported. When the float64 error is still above {@code tol} the fast passes have reached
 * their resolution, and the problem goes on with the float64 passes.
 */
public abstract class SinkhornSolver {

    /** The cost passes of one problem, opened on the thread that solves it. */
    public interface Passes {
        /** {@code out_i = LSE_j((g_j − C_ij)/ε)}; {@code f} is the potential about to be replaced. */
        void rowLse(double[] f, double[] g, double eps, double[] out);

        /** {@code out_j = LSE_i((f_i − C_ij)/ε)}; {@code g} is the potential about to be replaced. */
        void colLse(double[] f, double[] g, double eps, double[] out);

        /** Returns {@code ⟨P, C⟩} and writes the column sums of {@code P = exp((f_i + g_j − C_ij)/ε)}. */
        double transportCost(double[] f, double[] g, double eps, double[] colSums);

        /**
         * Passes over the same problem whose row pass is float64, as the returned plan is; these
         * passes themselves when they are.
         */
        Passes exact();
    }

    /**
     * The passes of problem {@code p}.
     *
     * @param balanced   whether the updates are undamped (the backend may rely on SPEC §3's balanced
     *                   updates keeping every plan entry below its marginal)
     * @param minEpsilon the smallest ε the iteration will use (the target ε when annealing)
     */
    protected abstract Passes open(TransportProblem problem, int p, boolean balanced, double minEpsilon);

    /** Solves problem {@code p} and writes its outputs into {@code out}. */
    public final void solve(TransportProblem problem, int p, SinkhornOptions o, SinkhornResult out) {
        int n = problem.n();
        int m = problem.m();
        double[] wa = weights(problem, p, true, !o.unbalanced());
        double[] wb = weights(problem, p, false, !o.unbalanced());
        double[] logA = new double[n];
        double[] logB = new double[m];
        for (int i = 0; i < n; i++) {
            logA[i] = Math.log(wa[i]);
        }
        for (int j = 0; j < m; j++) {
            logB[j] = Math.log(wb[j]);
        }
        double[] f = new double[n];
        double[] g = new double[m];
        double[] rowLse = new double[n];
        double[] colLse = new double[m];
        Passes passes = open(problem, p, !o.unbalanced(), o.epsilon());
        double rho = o.rho();
        int it = 0;
        double err;
        while (true) {
            boolean last = it == o.maxIter();
            // The last check measures the plan of the last iteration, so it uses that iteration's ε.
            double eps = o.epsilonAt(last ? Math.max(it - 1, 0) : it);
            passes.rowLse(f, g, eps, rowLse);
            boolean annealing = o.epsilonAt(Math.max(it - 1, 0)) != o.epsilon();
            if (last || (it > 0 && it % o.checkEvery() == 0 && !annealing && o.tol() > 0)) {
                err = rowError(wa, f, rowLse, eps, rho);
                if (last || err <= o.tol()) {
                    Passes exact = passes.exact();
                    if (exact == passes) {
                        break;
                    }
                    exact.rowLse(f, g, eps, rowLse);
                    err = rowError(wa, f, rowLse, eps, rho);
                    if (last || err <= o.tol()) {
                        break;
                    }
                    passes = exact;
                }
            }
            double lambda = o.unbalanced() ? rho / (rho + eps) : 1;
            for (int i = 0; i < n; i++) {
                f[i] = lambda * (eps * logA[i] - eps * rowLse[i]);
            }
            passes.colLse(f, g, eps, colLse);
            for (int j = 0; j < m; j++) {
                g[j] = lambda * (eps * logB[j] - eps * colLse[j]);
            }
            it++;
        }
        double eps = o.epsilonAt(Math.max(it - 1, 0));
        double[] colSums = new double[m];
        double cost = passes.transportCost(f, g, eps, colSums);
        double primal = 0;
        double mass = 0;
        for (int i = 0; i < n; i++) {
            double r = Math.exp(f[i] / eps + rowLse[i]);
            primal += f[i] * r;
            mass += r;
        }
        for (int j = 0; j < m; j++) {
            primal += g[j] * colSums[j];
        }
        primal -= eps * mass;
        if (o.unbalanced()) {
            for (int i = 0; i < n; i++) {
                primal += rho * kl(Math.exp(f[i] / eps + rowLse[i]), wa[i]);
            }
            for (int j = 0; j < m; j++) {
                primal += rho * kl(colSums[j], wb[j]);
            }
        }
        System.arraycopy(f, 0, out.f(), p * n, n);
        System.arraycopy(g, 0, out.g(), p * m, m);
        out.cost()[p] = cost;
        out.objective()[p] = primal;
        out.iterations()[p] = it;
        out.marginalError()[p] = err;
        if (out.plan() != null) {
            writePlan(problem, p, f, g, eps, out.plan());
        }
        if (out.gradA() != null) {
            writeGradients(problem, p, f, g, eps, rho, out);
        }
    }

    /**
     * The marginal of problem {@code p}'s rows ({@code rows}) or columns in float64. Balanced ones are
     * divided by their sum: float32 weights sum to 1 only within rounding, and two marginals of
     * different mass would make the problem infeasible (the error would stall at the difference).
     */
    private static double[] weights(TransportProblem problem, int p, boolean rows, boolean normalize) {
        double[] w = new double[rows ? problem.n() : problem.m()];
        double sum = 0;
        for (int k = 0; k < w.length; k++) {
            w[k] = rows ? problem.a(p, k) : problem.b(p, k);
            sum += w[k];
        }
        for (int k = 0; normalize && k < w.length; k++) {
            w[k] /= sum;
        }
        return w;
    }

    /** {@code ‖r − target‖₁} with {@code r_i = exp(f_i/ε + LSE_i)} and target {@code a} (or {@code a e^{−f/ρ}}). */
    private static double rowError(double[] a, double[] f, double[] rowLse, double eps, double rho) {
        double err = 0;
        for (int i = 0; i < f.length; i++) {
            double target = a[i];
            if (rho != Double.POSITIVE_INFINITY) {
                target *= Math.exp(-f[i] / rho);
            }
            err += Math.abs(Math.exp(f[i] / eps + rowLse[i]) - target);
        }
        return err;
    }

    /** Generalized KL {@code p log(p/q) − p + q} of one entry. */
    private static double kl(double p, double q) {
        return (p > 0 ? p * Math.log(p / q) : 0) - p + q;
    }

    private static void writePlan(TransportProblem problem, int p, double[] f, double[] g, double eps, double[] plan) {
        int n = problem.n();
        int m = problem.m();
        double[] row = new double[m];
        long base = (long) p * n * m;
        for (int i = 0; i < n; i++) {
            problem.costRow(p, i, row);
            for (int j = 0; j < m; j++) {
                plan[(int) (base + (long) i * m + j)] = Math.exp((f[i] + g[j] - row[j]) / eps);
            }
        }
    }

    private static void writeGradients(TransportProblem problem, int p, double[] f, double[] g, double eps, double rho,
                                       SinkhornResult out) {
        int n = problem.n();
        int m = problem.m();
        potentialGradient(f, rho, out.gradA(), p * n);
        potentialGradient(g, rho, out.gradB(), p * m);
        if (out.gradX() == null) {
            return;
        }
        int d = problem.d();
        double[] row = new double[m];
        double[] col = new double[n];
        double[] grad = new double[d];
        for (int i = 0; i < n; i++) {
            problem.costRow(p, i, row);
            Arrays.fill(grad, 0);
            for (int j = 0; j < m; j++) {
                problem.addCostGradient(p, i, j, Math.exp((f[i] + g[j] - row[j]) / eps), grad);
            }
            System.arraycopy(grad, 0, out.gradX(), (p * n + i) * d, d);
        }
        for (int j = 0; j < m; j++) {
            problem.costColumn(p, j, col);
            Arrays.fill(grad, 0);
            for (int i = 0; i < n; i++) {
                problem.addCostGradient(p, i, j, -Math.exp((f[i] + g[j] - col[i]) / eps), grad);
            }
            System.arraycopy(grad, 0, out.gradY(), (p * m + j) * d, d);
        }
    }

    /** Balanced: the potential minus its mean; unbalanced: {@code ρ(1 − e^{−f/ρ})}. */
    private static void potentialGradient(double[] pot, double rho, double[] out, int off) {
        double mean = 0;
        for (double v : pot) {
            mean += v;
        }
        mean /= pot.length;
        for (int i = 0; i < pot.length; i++) {
            out[off + i] = rho == Double.POSITIVE_INFINITY ? pot[i] - mean : rho * -Math.expm1(-pot[i] / rho);
        }
    }
}
