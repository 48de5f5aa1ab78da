package dev.entrokit.internal.simd;

import dev.entrokit.internal.Backend;
import dev.entrokit.internal.DivergenceKernels;
import dev.entrokit.internal.SoftmaxKernels;
import dev.entrokit.internal.HalfKernels;
import dev.entrokit.internal.PartialStateKernels;
import dev.entrokit.internal.PolicyKernels;
import dev.entrokit.internal.ScoringKernels;
import dev.entrokit.internal.SelectionKernels;
import dev.entrokit.internal.ShardKernels;
import dev.entrokit.internal.SinkhornSolver;
import java.util.List;

/** Hand-written {@code jdk.incubator.vector} kernels; loaded reflectively by {@code Backends}. */
public final class SimdBackend implements Backend {
    private final SoftmaxKernels softmax;
    private final DivergenceKernels divergences;
    private final SelectionKernels selection = new SimdSelectionKernels();
    private final ScoringKernels scoring;
    private final SinkhornSolver transport = new SimdSinkhorn();
    private final ShardKernels shards = new SimdShardKernels();
    private final PolicyKernels policy = new SimdPolicyKernels();
    private final PartialStateKernels partialStates = new SimdPartialStates();
    private final HalfKernels half = new SimdHalfKernels();

    /** @throws UnsupportedOperationException when the species is too narrow or the forced width is unusable */
    public SimdBackend() {
        if (SimdConstants.F.vectorBitSize() < 128) {
            throw new UnsupportedOperationException("vectors of " + SimdConstants.F.vectorBitSize()
                    + " bits are too narrow to be worth it (need at least 128)");
        }
        softmax = new SimdSoftmaxKernels();
        divergences = new SimdDivergenceKernels();
        scoring = new SimdScoringKernels();
    }

    @Override
    public String name() {
        return "simd";
    }

    @Override
    public boolean available() {
        return true;
    }

    @Override
    public List<String> reasons() {
        return List.of();
    }

    @Override
    public String description() {
        return "Vector API, " + SimdConstants.F.vectorBitSize() + "-bit species (" + SimdConstants.L + " floats)";
    }

    @Override
    public SoftmaxKernels softmax() {
        return softmax;
    }

    @Override
    public DivergenceKernels divergences() {
        return divergences;
    }

    @Override
    public SelectionKernels selection() {
        return selection;
    }

    /** Scoring helpers and the α-family; PLD runs the scalar kernel (see {@link SimdDivergenceKernels#pld}). */
    @Override
    public ScoringKernels scoring() {
        return scoring;
    }

    @Override
    public SinkhornSolver transport() {
        return transport;
    }

    @Override
    public ShardKernels shards() {
        return shards;
    }

    @Override
    public PolicyKernels policy() {
        return policy;
    }

    @Override
    public PartialStateKernels partialStates() {
        return partialStates;
    }

    @Override
    public HalfKernels half() {
        return half;
    }
}
