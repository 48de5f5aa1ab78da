package dev.entrokit;

import java.util.ArrayList;
import java.util.List;

/**
 * A decoding pipeline: a temperature, then filters applied in the order they were added, each on the
 * renormalized survivors of the one before (SPEC §2). Immutable; every method returns a new value:
 * {@code SamplingFilters.temperature(0.8f).topK(50).topP(0.9f)}.
 *
 * <p>Every filter keeps a prefix of the row in SPEC order (probability descending, ties by ascending
 * index), so the kept set of a pipeline is a prefix too. Parameters are checked here; {@code k ≤ V} is
 * checked by the {@link Entrokit} method that knows {@code V}.
 */
public final class SamplingFilters {

    /** Default {@code n} of {@link #topH(float)}: the Top-H paper and Transformers both use 100. */
    public static final int DEFAULT_TOP_H_N = 100;

    /** Which filter a {@link Filter} is. */
    public enum Kind { TOP_K, TOP_P, MIN_P, TOP_H }

    /**
     * One filter of the pipeline.
     *
     * @param kind  which filter
     * @param k     {@code k} of top-k (0 otherwise)
     * @param value {@code p} of top-p, {@code r} of min-p, {@code α} of top-H (0 for top-k)
     * @param n     {@code n} of top-H (0 otherwise)
     * @param mode  the top-H mode (null otherwise)
     */
    public record Filter(Kind kind, int k, float value, int n, TopHMode mode) {
    }

    private final float temperature;
    private final List<Filter> filters;

    private SamplingFilters(float temperature, List<Filter> filters) {
        this.temperature = temperature;
        this.filters = List.copyOf(filters);
    }

    /**
     * A pipeline with no filter yet: logits are divided by {@code t > 0}; {@code t = 0} means greedy
     * (argmax, lowest index on ties), which only {@link Entrokit#sample} accepts.
     */
    public static SamplingFilters temperature(float t) {
        if (!(t >= 0f) || Float.isInfinite(t)) {
            throw new IllegalArgumentException("temperature: must be finite and >= 0 (0 = greedy), got " + t);
        }
        return new SamplingFilters(t, List.of());
    }

    /** Keeps the first {@code k ≥ 1} tokens in SPEC order. */
    public SamplingFilters topK(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("k: must be >= 1, got " + k);
        }
        return with(new Filter(Kind.TOP_K, k, 0f, 0, null));
    }

    /** Keeps the shortest prefix whose cumulative probability is {@code ≥ p}, {@code p ∈ (0, 1]}. */
    public SamplingFilters topP(float p) {
        if (!(p > 0f && p <= 1f)) {
            throw new IllegalArgumentException("p: must be in (0, 1], got " + p);
        }
        return with(new Filter(Kind.TOP_P, 0, p, 0, null));
    }

    /** Keeps every token with {@code p_i ≥ r · max p}, {@code r ∈ (0, 1]}. */
    public SamplingFilters minP(float r) {
        if (!(r > 0f && r <= 1f)) {
            throw new IllegalArgumentException("min_p: must be in (0, 1], got " + r);
        }
        return with(new Filter(Kind.MIN_P, 0, r, 0, null));
    }

    /** Top-H with {@code n = 100} in {@link TopHMode#PAPER} mode. */
    public SamplingFilters topH(float alpha) {
        return topH(alpha, DEFAULT_TOP_H_N, TopHMode.PAPER);
    }

    /** Top-H with {@code α ∈ (0, 1]} over the first {@code n ≥ 1} tokens (fewer when the row is shorter). */
    public SamplingFilters topH(float alpha, int n, TopHMode mode) {
        if (!(alpha > 0f && alpha <= 1f)) {
            throw new IllegalArgumentException("alpha: must be in (0, 1], got " + alpha);
        }
        if (n < 1) {
            throw new IllegalArgumentException("n: must be >= 1, got " + n);
        }
        if (mode == null) {
            throw new IllegalArgumentException("mode: must not be null");
        }
        return with(new Filter(Kind.TOP_H, 0, alpha, n, mode));
    }

    /** The temperature; 0 means greedy. */
    public float temperature() {
        return temperature;
    }

    /** The filters, in the order they apply. */
    public List<Filter> filters() {
        return filters;
    }

    private SamplingFilters with(Filter f) {
        List<Filter> l = new ArrayList<>(filters);
        l.add(f);
        return new SamplingFilters(temperature, l);
    }

    @Override
    public String toString() {
        return "SamplingFilters[temperature=" + temperature + ", filters=" + filters + "]";
    }
}
