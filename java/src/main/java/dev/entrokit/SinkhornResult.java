package dev.entrokit;

/**
 * What the Sinkhorn solver returns for {@code B} problems of size {@code n × m}, all in float64, flat
 * in C order (problem first). The arrays are the result's own, not copies.
 *
 * <p>{@code P_ij = exp((f_i + g_j − C_ij)/ε)} with the final potentials and the final ε.
 * The objective is the primal entropic one, {@code ⟨P, C⟩ + ε Σ P_ij (log P_ij − 1)}, plus
 * {@code ρ·(KL(P1‖a) + KL(Pᵀ1‖b))} (generalized KL) when unbalanced; at the potentials it equals
 * {@code ⟨f, P1⟩ + ⟨g, Pᵀ1⟩ − ε Σ P}, which is how it is computed.
 *
 * <p>Gradients by the envelope theorem (exact at convergence): {@code ∂OT/∂C = P} (ask for the
 * plan), {@code ∂OT/∂a = f − mean(f)} (balanced; marginals live on the simplex, so the gradient is
 * centered) or {@code ρ(1 − e^{−f/ρ})} (unbalanced), the same with {@code g} for {@code b}, and for
 * point clouds {@code ∂OT/∂x_i = Σ_j P_ij ∂C(x_i, y_j)/∂x_i}, {@code ∂OT/∂y_j = Σ_i P_ij ∂C/∂y_j}.
 */
public final class SinkhornResult {
    private final int batch;
    private final int n;
    private final int m;
    private final int d;
    private final double[] f;
    private final double[] g;
    private final double[] cost;
    private final double[] objective;
    private final int[] iterations;
    private final double[] marginalError;
    private final double[] plan;
    private final double[] gradA;
    private final double[] gradB;
    private final double[] gradX;
    private final double[] gradY;

    /**
     * Allocates the outputs of {@code batch} problems; the plan and the gradients only when asked
     * ({@code d > 0}: point clouds of dimension {@code d}, which have point gradients).
     */
    public SinkhornResult(int batch, int n, int m, int d, boolean withPlan, boolean withGradients) {
        this.batch = batch;
        this.n = n;
        this.m = m;
        this.d = d;
        this.f = new double[Math.multiplyExact(batch, n)];
        this.g = new double[Math.multiplyExact(batch, m)];
        this.cost = new double[batch];
        this.objective = new double[batch];
        this.iterations = new int[batch];
        this.marginalError = new double[batch];
        this.plan = withPlan ? new double[Math.multiplyExact(batch, Math.multiplyExact(n, m))] : null;
        this.gradA = withGradients ? new double[f.length] : null;
        this.gradB = withGradients ? new double[g.length] : null;
        this.gradX = withGradients && d > 0 ? new double[Math.multiplyExact(f.length, d)] : null;
        this.gradY = withGradients && d > 0 ? new double[Math.multiplyExact(g.length, d)] : null;
    }

    /** Number of problems {@code B}. */
    public int batch() {
        return batch;
    }

    /** Points on the first side, {@code n}. */
    public int n() {
        return n;
    }

    /** Points on the second side, {@code m}. */
    public int m() {
        return m;
    }

    /** Point dimension {@code d} (0 when the cost was given). */
    public int dim() {
        return d;
    }

    /** Potentials {@code f}, {@code [B, n]}. */
    public double[] f() {
        return f;
    }

    /** Potentials {@code g}, {@code [B, m]}. */
    public double[] g() {
        return g;
    }

    /** Transport cost {@code ⟨P, C⟩} per problem. */
    public double[] cost() {
        return cost;
    }

    /** Entropic objective per problem (see the class comment). */
    public double[] objective() {
        return objective;
    }

    /** Iterations each problem ran. */
    public int[] iterations() {
        return iterations;
    }

    /**
     * Final L1 error of each row marginal {@code ‖P1 − a‖₁}; unbalanced, the distance from its
     * fixed-point target {@code ‖P1 − a ⊙ e^{−f/ρ}‖₁}, which is what {@code tol} is compared with.
     */
    public double[] marginalError() {
        return marginalError;
    }

    /** Plans {@code [B, n, m]}, or null when not asked for. Also {@code ∂OT/∂C}. */
    public double[] plan() {
        return plan;
    }

    /** {@code ∂OT/∂a}, {@code [B, n]}, or null when gradients were not asked for. */
    public double[] gradA() {
        return gradA;
    }

    /** {@code ∂OT/∂b}, {@code [B, m]}, or null. */
    public double[] gradB() {
        return gradB;
    }

    /** {@code ∂OT/∂x}, {@code [B, n, d]}, or null (no gradients, or the cost was given). */
    public double[] gradX() {
        return gradX;
    }

    /** {@code ∂OT/∂y}, {@code [B, m, d]}, or null. */
    public double[] gradY() {
        return gradY;
    }
}
