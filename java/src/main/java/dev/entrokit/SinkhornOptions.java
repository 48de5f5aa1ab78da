package dev.entrokit;

/**
 * Settings of the batched Sinkhorn solver (SPEC §3). Immutable; start from {@link #defaults()}:
 * {@code SinkhornOptions.defaults().epsilon(0.05).maxIter(100).tol(0)}.
 *
 * @param epsilon      entropic regularization {@code ε > 0}, in the units of the cost; a normal double,
 *                     and the solver refuses it when the largest cost over ε exceeds {@code 2^40}
 *                     (float64 no longer resolves the plan there). The simd backend runs problems
 *                     with {@code max C/ε > 1024} in float64, since float32 would miss SPEC §5's
 *                     1e−4 there
 * @param maxIter      iterations at most (one iteration updates {@code f}, then {@code g})
 * @param tol          stop a problem once the L1 error of its row marginal is {@code ≤ tol}; 0 runs
 *                     exactly {@code maxIter} iterations
 * @param checkEvery   the error is checked every this many iterations (as POT does, every 10)
 * @param rho          KL penalty of unbalanced transport; {@code +∞} (the default) is balanced
 * @param epsilonStart ε-annealing: iteration {@code k} uses {@code max(ε, epsilonStart·decay^k)};
 *                     0 (the default) turns annealing off
 * @param epsilonDecay the annealing factor per iteration, in {@code (0, 1)}
 * @param plan         whether to return the plans {@code P} ({@code [B,n,m]} doubles)
 * @param gradients    whether to return the envelope gradients (see {@link SinkhornResult})
 */
public record SinkhornOptions(double epsilon, int maxIter, double tol, int checkEvery, double rho, double epsilonStart,
                              double epsilonDecay, boolean plan, boolean gradients) {

    /** Validates every field; the message names the field and the value. */
    public SinkhornOptions {
        if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
            throw new IllegalArgumentException("epsilon: must be finite and > 0, got " + epsilon);
        }
        if (epsilon < Double.MIN_NORMAL) {
            throw new IllegalArgumentException("epsilon: " + epsilon + " is subnormal (below " + Double.MIN_NORMAL
                    + "); epsilon·log(a) and the potentials lose their digits there");
        }
        if (maxIter < 0) {
            throw new IllegalArgumentException("maxIter: must be >= 0, got " + maxIter);
        }
        if (!(tol >= 0) || Double.isInfinite(tol)) {
            throw new IllegalArgumentException("tol: must be finite and >= 0, got " + tol);
        }
        if (checkEvery < 1) {
            throw new IllegalArgumentException("checkEvery: must be >= 1, got " + checkEvery);
        }
        if (!(rho > 0)) {
            throw new IllegalArgumentException("rho: must be > 0 (+inf for balanced transport), got " + rho);
        }
        if (!(epsilonStart == 0 || (epsilonStart >= epsilon && Double.isFinite(epsilonStart)))) {
            throw new IllegalArgumentException("epsilonStart: must be 0 (no annealing) or finite and >= epsilon ("
                    + epsilon + "), got " + epsilonStart);
        }
        if (!(epsilonDecay > 0 && epsilonDecay < 1)) {
            throw new IllegalArgumentException("epsilonDecay: must be in (0, 1), got " + epsilonDecay);
        }
    }

    /** ε = 0.05, 1000 iterations, tol 1e-9 checked every 10 (POT's defaults), balanced, no annealing, no plan. */
    public static SinkhornOptions defaults() {
        return new SinkhornOptions(0.05, 1000, 1e-9, 10, Double.POSITIVE_INFINITY, 0, 0.9, false, false);
    }

    /** Whether the marginals are relaxed ({@code ρ < ∞}). */
    public boolean unbalanced() {
        return rho != Double.POSITIVE_INFINITY;
    }

    /** The ε of iteration {@code k} (0-based): {@code max(ε, epsilonStart·decay^k)}, or ε without annealing. */
    public double epsilonAt(int k) {
        return epsilonStart == 0 ? epsilon : Math.max(epsilon, epsilonStart * Math.pow(epsilonDecay, k));
    }

    /** A copy with another ε. */
    public SinkhornOptions epsilon(double e) {
        return new SinkhornOptions(e, maxIter, tol, checkEvery, rho, epsilonStart, epsilonDecay, plan, gradients);
    }

    /** A copy with another iteration limit. */
    public SinkhornOptions maxIter(int n) {
        return new SinkhornOptions(epsilon, n, tol, checkEvery, rho, epsilonStart, epsilonDecay, plan, gradients);
    }

    /** A copy with another tolerance (0: always run {@code maxIter} iterations). */
    public SinkhornOptions tol(double t) {
        return new SinkhornOptions(epsilon, maxIter, t, checkEvery, rho, epsilonStart, epsilonDecay, plan, gradients);
    }

    /** A copy that checks the error every {@code k} iterations. */
    public SinkhornOptions checkEvery(int k) {
        return new SinkhornOptions(epsilon, maxIter, tol, k, rho, epsilonStart, epsilonDecay, plan, gradients);
    }

    /** A copy with unbalanced marginals of KL penalty {@code ρ} ({@code +∞}: balanced). */
    public SinkhornOptions rho(double r) {
        return new SinkhornOptions(epsilon, maxIter, tol, checkEvery, r, epsilonStart, epsilonDecay, plan, gradients);
    }

    /** A copy with ε-annealing from {@code start} by {@code decay} per iteration ({@code start = 0}: off). */
    public SinkhornOptions annealing(double start, double decay) {
        return new SinkhornOptions(epsilon, maxIter, tol, checkEvery, rho, start, decay, plan, gradients);
    }

    /** A copy that does or does not return the plans. */
    public SinkhornOptions plan(boolean p) {
        return new SinkhornOptions(epsilon, maxIter, tol, checkEvery, rho, epsilonStart, epsilonDecay, p, gradients);
    }

    /** A copy that does or does not return the envelope gradients. */
    public SinkhornOptions gradients(boolean g) {
        return new SinkhornOptions(epsilon, maxIter, tol, checkEvery, rho, epsilonStart, epsilonDecay, plan, g);
    }
}
