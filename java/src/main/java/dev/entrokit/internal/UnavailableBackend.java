package dev.entrokit.internal;

import java.util.List;

/** A backend that could not load: every kernel request fails with the reasons it carries. */
public record UnavailableBackend(String name, List<String> reasons) implements Backend {

    public UnavailableBackend {
        reasons = List.copyOf(reasons);
    }

    @Override
    public boolean available() {
        return false;
    }

    @Override
    public String description() {
        return "unavailable: " + String.join("; ", reasons);
    }

    @Override
    public SoftmaxKernels softmax() {
        throw unavailable();
    }

    @Override
    public DivergenceKernels divergences() {
        throw unavailable();
    }

    @Override
    public SelectionKernels selection() {
        throw unavailable();
    }

    @Override
    public ShardKernels shards() {
        throw unavailable();
    }

    @Override
    public ScoringKernels scoring() {
        throw unavailable();
    }

    @Override
    public SinkhornSolver transport() {
        throw unavailable();
    }

    @Override
    public PolicyKernels policy() {
        throw unavailable();
    }

    @Override
    public HalfKernels half() {
        throw unavailable();
    }

    /** The exception every use of this backend throws. */
    public IllegalStateException unavailable() {
        return new IllegalStateException("backend '" + name + "' is unavailable: " + String.join("; ", reasons));
    }
}
