package dev.entrokit;

import java.util.ArrayList;
import java.util.List;

/**
 * A decoding pipeline: a temperature, then filters applied in the order they were added, each on the
 * renormalized survivors of the one before (SPEC §2). Immutable; every method returns a new value:
 * {@code SamplingFilters.temperature(0.8f).topK(50).topP(0.9f)}.
 *
 * <p>Top-k, top-p, min-p and top-H keep a prefix of the row in SPEC order (probability descending, ties
 * by ascending index). The entropy-shaped steps (SPEC §2, "Entropy-based truncation and temperature")
 * compose the same way: ε, η and top-nσ keep a prefix too, locally typical sampling keeps the tokens
 * whose surprise is nearest the entropy (not a prefix), and the dynamic temperature rescales the
 * survivors without removing any. Parameters are checked here; {@code k ≤ V} is checked by the
 * {@link Entrokit} method that knows {@code V}.
 */
public final class SamplingFilters {

    /** Default {@code n} of {@link #topH(float)}: the Top-H paper and Transformers both use 100. */
    public static final int DEFAULT_TOP_H_N = 100;

    /**
     * Which filter a {@link Filter} is: the prefix filters {@code TOP_K, TOP_P, MIN_P, TOP_H}, then the
     * entropy-shaped steps {@code TYPICAL, EPSILON, ETA, TOP_N_SIGMA, DYNAMIC_TEMPERATURE}, and Mirostat's
     * truncation {@code MIROSTAT}, and {@code XTC}.
     */
    public enum Kind { TOP_K, TOP_P, MIN_P, TOP_H, TYPICAL, EPSILON, ETA, TOP_N_SIGMA, DYNAMIC_TEMPERATURE, MIROSTAT, XTC }

    /**
     * One filter of the pipeline.
     *
     * @param kind    which filter
     * @param k       {@code k} of top-k (0 otherwise)
     * @param value   {@code p} of top-p, {@code r} of min-p, {@code α} of top-H, the mass of typical,
     *                {@code ε} of ε- and η-sampling, {@code n} of top-nσ, {@code T_min} of the dynamic
     *                temperature, {@code μ} of Mirostat, the threshold of XTC (0 for top-k)
     * @param n       {@code n} of top-H (0 otherwise)
     * @param mode    the top-H mode (null otherwise)
     * @param minKeep {@code min_tokens_to_keep} of every truncation step (1 for the dynamic temperature)
     * @param second  {@code T_max} of the dynamic temperature, the probability of XTC (0 otherwise)
     * @param third   the exponent {@code κ} of the dynamic temperature (0 otherwise)
     */
    public record Filter(Kind kind, int k, float value, int n, TopHMode mode, int minKeep, float second, float third) {
        /** A prefix filter as before the entropy-shaped steps: {@code minKeep = 1}, no second or third value. */
        public Filter(Kind kind, int k, float value, int n, TopHMode mode) {
            this(kind, k, value, n, mode, 1, 0f, 0f);
        }
    }

    private final float temperature;
    private final List<Filter> filters;

    private SamplingFilters(float temperature, List<Filter> filters) {
        this.temperature = temperature;
        this.filters = List.copyOf(filters);
    }

    /**
     * A pipeline with no filter yet: logits are divided by {@code t > 0}; {@code t = 0} means greedy
     * (argmax, lowest index on ties), which only {@link Decoding#sample} accepts.
     */
    public static SamplingFilters temperature(float t) {
        if (!(t >= 0f) || Float.isInfinite(t)) {
            throw new IllegalArgumentException("temperature: must be finite and >= 0 (0 = greedy), got " + t);
        }
        return new SamplingFilters(t, List.of());
    }

    /** Keeps the first {@code k ≥ 1} tokens in SPEC order. */
    public SamplingFilters topK(int k) {
        return topK(k, 1);
    }

    /**
     * Keeps the first {@code max(k, minKeep)} tokens in SPEC order (Transformers' {@code TopKLogitsWarper}
     * with {@code min_tokens_to_keep}), never a masked one: {@code k ≥ 1}, {@code minKeep ≥ 1}.
     */
    public SamplingFilters topK(int k, int minKeep) {
        if (k < 1) {
            throw new IllegalArgumentException("k: must be >= 1, got " + k);
        }
        return with(new Filter(Kind.TOP_K, k, 0f, 0, null, checkMinKeep(minKeep), 0f, 0f));
    }

    /** Keeps the shortest prefix whose cumulative probability is {@code ≥ p}, {@code p ∈ (0, 1]}. */
    public SamplingFilters topP(float p) {
        return topP(p, 1);
    }

    /**
     * Top-p with {@code min_tokens_to_keep}: the shortest prefix whose cumulative probability is
     * {@code ≥ p}, extended to the first {@code minKeep ≥ 1} survivors in SPEC order when shorter (ties by
     * ascending index; never a masked token, so at most the live survivors).
     */
    public SamplingFilters topP(float p, int minKeep) {
        if (!(p > 0f && p <= 1f)) {
            throw new IllegalArgumentException("p: must be in (0, 1], got " + p);
        }
        return with(new Filter(Kind.TOP_P, 0, p, 0, null, checkMinKeep(minKeep), 0f, 0f));
    }

    /** Keeps every token with {@code p_i ≥ r · max p}, {@code r ∈ (0, 1]}. */
    public SamplingFilters minP(float r) {
        return minP(r, 1);
    }

    /**
     * Min-p with {@code min_tokens_to_keep}: every survivor with {@code p_i ≥ r · max p}, and at least the
     * first {@code minKeep ≥ 1} survivors in SPEC order (never a masked token).
     */
    public SamplingFilters minP(float r, int minKeep) {
        if (!(r > 0f && r <= 1f)) {
            throw new IllegalArgumentException("min_p: must be in (0, 1], got " + r);
        }
        return with(new Filter(Kind.MIN_P, 0, r, 0, null, checkMinKeep(minKeep), 0f, 0f));
    }

    /** Top-H with {@code n = 100} in {@link TopHMode#PAPER} mode. */
    public SamplingFilters topH(float alpha) {
        return topH(alpha, DEFAULT_TOP_H_N, TopHMode.PAPER);
    }

    /** Top-H with {@code α ∈ (0, 1]} over the first {@code n ≥ 1} tokens (fewer when the row is shorter). */
    public SamplingFilters topH(float alpha, int n, TopHMode mode) {
        return topH(alpha, n, mode, 1);
    }

    /**
     * Top-H with {@code min_tokens_to_keep}: the prefix top-H keeps, extended to the first
     * {@code minKeep ≥ 1} survivors in SPEC order when shorter (never a masked token).
     */
    public SamplingFilters topH(float alpha, int n, TopHMode mode, int minKeep) {
        if (!(alpha > 0f && alpha <= 1f)) {
            throw new IllegalArgumentException("alpha: must be in (0, 1], got " + alpha);
        }
        if (n < 1) {
            throw new IllegalArgumentException("n: must be >= 1, got " + n);
        }
        if (mode == null) {
            throw new IllegalArgumentException("mode: must not be null");
        }
        return with(new Filter(Kind.TOP_H, 0, alpha, n, mode, checkMinKeep(minKeep), 0f, 0f));
    }

    /**
     * Locally typical sampling (Meister et al.; Transformers' {@code TypicalLogitsWarper}) with
     * {@code min_tokens_to_keep = 1}: see {@link #typical(float, int)}.
     */
    public SamplingFilters typical(float mass) {
        return typical(mass, 1);
    }

    /**
     * Locally typical sampling: ranks the survivors by {@code |−log p_i − H|} (ties by ascending index)
     * and keeps every token whose rank key is at most that of the token where the cumulative probability
     * in that order reaches {@code mass ∈ (0, 1]}, plus the first {@code minKeep ≥ 1} of that order.
     */
    public SamplingFilters typical(float mass, int minKeep) {
        if (!(mass > 0f && mass <= 1f)) {
            throw new IllegalArgumentException("typical_p: must be in (0, 1], got " + mass);
        }
        return with(new Filter(Kind.TYPICAL, 0, mass, 0, null, checkMinKeep(minKeep), 0f, 0f));
    }

    /** ε-sampling with {@code min_tokens_to_keep = 1}: see {@link #epsilon(float, int)}. */
    public SamplingFilters epsilon(float epsilon) {
        return epsilon(epsilon, 1);
    }

    /**
     * ε-sampling (Hewitt et al.; Transformers' {@code EpsilonLogitsWarper}): keeps every survivor with
     * {@code p_i ≥ ε}, {@code ε ∈ (0, 1)}, and every survivor whose logit is at least the
     * {@code minKeep}-th largest.
     */
    public SamplingFilters epsilon(float epsilon, int minKeep) {
        return with(new Filter(Kind.EPSILON, 0, checkCutoff("epsilon", epsilon), 0, null, checkMinKeep(minKeep), 0f, 0f));
    }

    /** η-sampling with {@code min_tokens_to_keep = 1}: see {@link #eta(float, int)}. */
    public SamplingFilters eta(float epsilon) {
        return eta(epsilon, 1);
    }

    /**
     * η-sampling (Hewitt et al.; Transformers' {@code EtaLogitsWarper}): keeps every survivor with
     * {@code p_i ≥ min(ε, √ε·e^{−H})}, {@code H} the survivors' entropy and {@code ε ∈ (0, 1)}, and
     * every survivor whose logit is at least the {@code minKeep}-th largest.
     */
    public SamplingFilters eta(float epsilon, int minKeep) {
        return with(new Filter(Kind.ETA, 0, checkCutoff("eta", epsilon), 0, null, checkMinKeep(minKeep), 0f, 0f));
    }

    /** Top-nσ with {@code min_tokens_to_keep = 1}: see {@link #topNSigma(float, int)}. */
    public SamplingFilters topNSigma(float n) {
        return topNSigma(n, 1);
    }

    /**
     * Top-nσ (Tang et al., arXiv 2411.07641; llama.cpp's {@code top_n_sigma}): keeps every survivor whose
     * logit is {@code ≥ max − n·σ}, {@code σ} the population standard deviation of the survivors' logits
     * and {@code n ≥ 0} finite, and every survivor whose logit is at least the {@code minKeep}-th largest.
     * The rule reads the same on {@code x} as on {@code x/T}, so it does not depend on the temperature.
     */
    public SamplingFilters topNSigma(float n, int minKeep) {
        if (!(n >= 0f) || Float.isInfinite(n)) {
            throw new IllegalArgumentException("top_n_sigma: must be finite and >= 0, got " + n);
        }
        return with(new Filter(Kind.TOP_N_SIGMA, 0, n, 0, null, checkMinKeep(minKeep), 0f, 0f));
    }

    /**
     * Dynamic (entropy) temperature as llama.cpp's {@code temp_ext}: over the {@code m} survivors, with
     * {@code H} their entropy at the pipeline's temperature so far, divides their logits further by
     * {@code T = T_min + (T_max − T_min)·(H / log m)^κ} (nothing changes when {@code m ≤ 1}). llama.cpp's
     * {@code (temp, delta, exponent)} is {@code T_min = max(0, temp − delta)}, {@code T_max = temp + delta},
     * {@code κ = exponent}, after {@code temperature(1)}. {@code T = 0} is the limit: the survivors with
     * the largest logit share the mass. Removes no token.
     *
     * @param tMin  {@code T_min ≥ 0}
     * @param tMax  {@code T_max ≥ T_min}, finite and {@code > 0}
     * @param kappa {@code κ ≥ 0}, finite
     */
    public SamplingFilters dynamicTemperature(float tMin, float tMax, float kappa) {
        if (!(tMin >= 0f)) {
            throw new IllegalArgumentException("t_min: must be >= 0, got " + tMin);
        }
        if (!(tMax >= tMin) || !(tMax > 0f) || Float.isInfinite(tMax)) {
            throw new IllegalArgumentException("t_max: must be finite, > 0 and >= t_min = " + tMin + ", got " + tMax);
        }
        if (!(kappa >= 0f) || Float.isInfinite(kappa)) {
            throw new IllegalArgumentException("kappa: must be finite and >= 0, got " + kappa);
        }
        return with(new Filter(Kind.DYNAMIC_TEMPERATURE, 0, tMin, 0, null, 1, tMax, kappa));
    }

    /**
     * Mirostat's truncation (Basu et al., v2 as llama.cpp runs it): keeps the survivors whose surprise
     * {@code −log₂ q_i} is at most {@code μ} (finite), at least the first. {@link Decoding#mirostatV2}
     * adds this step with each row's own {@code μ} and updates {@code μ} from the sampled token.
     */
    public SamplingFilters mirostat(float mu) {
        return mirostat(mu, 1);
    }

    /**
     * Mirostat's truncation with {@code min_tokens_to_keep}: as {@link #mirostat(float)}, and every survivor
     * whose logit is at least the {@code minKeep}-th largest (as ε-sampling keeps them).
     */
    public SamplingFilters mirostat(float mu, int minKeep) {
        if (!Float.isFinite(mu)) {
            throw new IllegalArgumentException("mu: must be finite, got " + mu);
        }
        return with(new Filter(Kind.MIROSTAT, 0, mu, 0, null, checkMinKeep(minKeep), 0f, 0f));
    }

    /** XTC with {@code min_keep = 1}: see {@link #xtc(float, float, int)}. */
    public SamplingFilters xtc(float threshold, float probability) {
        return xtc(threshold, probability, 1);
    }

    /**
     * XTC, "exclude top choices" (llama.cpp's {@code xtc}): with probability {@code probability ∈ [0, 1]}
     * (a Philox draw keyed like the sampler's, so only {@link Decoding#sample} and
     * {@link Decoding#mirostatV2} take it), drops every survivor with {@code q ≥ threshold} except the
     * least likely of them, when at least two pass and at least {@code minKeep} survivors remain; a
     * threshold above 0.5 never fires (one token at most can pass it). {@code threshold ∈ [0, 1]}.
     */
    public SamplingFilters xtc(float threshold, float probability, int minKeep) {
        if (!(threshold >= 0f && threshold <= 1f)) {
            throw new IllegalArgumentException("xtc_threshold: must be in [0, 1], got " + threshold);
        }
        if (!(probability >= 0f && probability <= 1f)) {
            throw new IllegalArgumentException("xtc_probability: must be in [0, 1], got " + probability);
        }
        return with(new Filter(Kind.XTC, 0, threshold, 0, null, checkMinKeep(minKeep), probability, 0f));
    }

    private static int checkMinKeep(int minKeep) {
        if (minKeep < 1) {
            throw new IllegalArgumentException("min_tokens_to_keep: must be >= 1, got " + minKeep);
        }
        return minKeep;
    }

    private static float checkCutoff(String name, float epsilon) {
        if (!(epsilon > 0f && epsilon < 1f)) {
            throw new IllegalArgumentException(name + ": must be in (0, 1), got " + epsilon);
        }
        return epsilon;
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
