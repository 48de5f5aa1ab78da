package dev.entrokit.internal.scalar;

import dev.entrokit.internal.Backend;
import dev.entrokit.internal.DivergenceKernels;
import dev.entrokit.internal.SoftmaxKernels;
import dev.entrokit.internal.PolicyKernels;
import dev.entrokit.internal.ScoringKernels;
import dev.entrokit.internal.SelectionKernels;
import dev.entrokit.internal.SinkhornSolver;
import java.util.List;

/** Pure Java, float64 accumulation: the reference and the fallback. Always available. */
public final class ScalarBackend implements Backend {
    private final SoftmaxKernels softmax = new ScalarSoftmaxKernels();
    private final DivergenceKernels divergences = new ScalarDivergenceKernels();
    private final SelectionKernels selection = new ScalarSelectionKernels();
    private final ScoringKernels scoring = new ScalarScoringKernels();
    private final SinkhornSolver transport = new ScalarSinkhorn();
    private final PolicyKernels policy = new ScalarPolicyKernels();

    @Override
    public String name() {
        return "scalar";
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
        return "pure Java, float64 accumulation (the reference)";
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

    @Override
    public ScoringKernels scoring() {
        return scoring;
    }

    @Override
    public SinkhornSolver transport() {
        return transport;
    }

    @Override
    public PolicyKernels policy() {
        return policy;
    }
}
