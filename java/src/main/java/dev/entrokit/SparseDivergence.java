package dev.entrokit;

/**
 * Which divergence {@link Entrokit#sparseDistill} takes between a sparse (top-k) teacher {@code P} and the
 * student {@code Q}, both over the buckets of a {@link TeacherMass} convention.
 */
public enum SparseDivergence {
    /** {@code KL(P‖Q)}. */
    FORWARD_KL,
    /** {@code KL(Q‖P)}. */
    REVERSE_KL,
    /**
     * Generalized JSD with {@code LossOptions.beta()}: {@code β·KL(P‖M) + (1−β)·KL(Q‖M)},
     * {@code M = βP + (1−β)Q}; β = 0 gives {@code KL(P‖Q)}, β = 1 gives {@code KL(Q‖P)} (as SPEC §1's {@code jsd}).
     */
    JSD
}
