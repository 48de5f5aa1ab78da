package dev.entrokit.internal;

import java.util.List;

/**
 * One way of running the kernels. Every backend the library knows about exists as an object, even
 * one that cannot run here: then {@link #available()} is false and {@link #reasons()} says why.
 */
public interface Backend {

    /** {@code scalar}, {@code simd} or {@code cuda}. */
    String name();

    /** Whether this backend can run kernels in this JVM. */
    boolean available();

    /** Why the backend is unavailable (empty when it is available). */
    List<String> reasons();

    /** One line about the backend's configuration, e.g. the SIMD species. */
    String description();

    /** The softmax family of SPEC §1: log-sum-exp, softmax, log-softmax, their backward passes, entropy. */
    SoftmaxKernels softmax();

    /** The divergences of SPEC §1: cross-entropy, KL, reverse KL, JSD, Jeffreys, TV, Hellinger, α, Rényi, χ², PLD. */
    DivergenceKernels divergences();

    /** The SPEC §2 kernels (selection and sampling). */
    SelectionKernels selection();

    /** The SPEC §4 scoring kernels. */
    ScoringKernels scoring();
    /** The SPEC §3 Sinkhorn solver. */
    SinkhornSolver transport();

    /** The kernels of sharded selection and of the exponential race (SPEC §2); the float64 ones unless overridden. */
    default ShardKernels shards() {
        return SCALAR_SHARDS;
    }

    /** The scalar shard kernels, shared: they hold no state. */
    ShardKernels SCALAR_SHARDS = new dev.entrokit.internal.scalar.ScalarShardKernels();

    /** The policy (token log-prob, entropy, k3) and sparse-teacher losses of SPEC §1. */
    PolicyKernels policy();

    /** The per-shard halves of the SPEC §8 partial states; the float64 reference unless a backend has its own. */
    default PartialStateKernels partialStates() {
        return dev.entrokit.internal.scalar.ScalarPartialStates.INSTANCE;
    }

    /** The softmax family on bfloat16 / binary16 rows widened as they are read; the float64 ones unless overridden. */
    default HalfKernels half() {
        return dev.entrokit.internal.scalar.ScalarHalfKernels.INSTANCE;
    }
}
