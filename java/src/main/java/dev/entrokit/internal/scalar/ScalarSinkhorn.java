package dev.entrokit.internal.scalar;

import dev.entrokit.internal.SinkhornSolver;
import dev.entrokit.internal.TransportProblem;
import java.util.Arrays;

/**
 * SPEC §3's passes in float64, exactly as written: each log-sum-exp shifted by its own maximum. The
 * cost is read one row or one column at a time (computed from the points when there are points), so
 * memory stays O(n + m) per problem.
 */
public final class ScalarSinkhorn extends SinkhornSolver {

    @Override
    protected Passes open(TransportProblem problem, int p, boolean balanced, double minEpsilon) {
        return new ScalarPasses(problem, p);
    }

    /** The passes of one problem; {@code line} holds the cost row or column in use. */
    public static final class ScalarPasses implements Passes {
        private final TransportProblem problem;
        private final int p;
        private final double[] line;

        /** Passes over problem {@code p}. */
        public ScalarPasses(TransportProblem problem, int p) {
            this.problem = problem;
            this.p = p;
            this.line = new double[Math.max(problem.n(), problem.m())];
        }

        @Override
        public void rowLse(double[] f, double[] g, double eps, double[] out) {
            for (int i = 0; i < problem.n(); i++) {
                problem.costRow(p, i, line);
                out[i] = lse(g, line, problem.m(), eps);
            }
        }

        @Override
        public void colLse(double[] f, double[] g, double eps, double[] out) {
            for (int j = 0; j < problem.m(); j++) {
                problem.costColumn(p, j, line);
                out[j] = lse(f, line, problem.n(), eps);
            }
        }

        @Override
        public double transportCost(double[] f, double[] g, double eps, double[] colSums) {
            double cost = 0;
            Arrays.fill(colSums, 0);
            for (int i = 0; i < problem.n(); i++) {
                problem.costRow(p, i, line);
                for (int j = 0; j < problem.m(); j++) {
                    double pij = Math.exp((f[i] + g[j] - line[j]) / eps);
                    cost += pij * line[j];
                    colSums[j] += pij;
                }
            }
            return cost;
        }

        @Override
        public Passes exact() {
            return this;
        }

        /** {@code LSE_k((pot_k − c_k)/ε)} over {@code k < len}, shifted by the maximum. */
        private static double lse(double[] pot, double[] c, int len, double eps) {
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < len; k++) {
                max = Math.max(max, (pot[k] - c[k]) / eps);
            }
            double s = 0;
            for (int k = 0; k < len; k++) {
                s += Math.exp((pot[k] - c[k]) / eps - max);
            }
            return max + Math.log(s);
        }
    }
}
