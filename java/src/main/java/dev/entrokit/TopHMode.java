package dev.entrokit;

/**
 * The two definitions of the Top-H filter in SPEC §2, implemented exactly as written. One consequence:
 * tokens of probability 0 add nothing to {@code S}, so where {@code S} already meets {@code τ} (a
 * one-hot row, or {@code α = 1}) the zero-probability tokens among the first {@code n} are kept too;
 * they are never sampled and their masked logits stay {@code -inf}.
 */
public enum TopHMode {
    /**
     * The Top-H paper's reference code: the first {@code n} probabilities in SPEC order, not
     * renormalized; {@code τ = α · S(n)} with {@code S(m) = Σ_{i≤m} −p_i log p_i}; keep the longest
     * prefix with {@code S(m) ≤ τ}, at least one token.
     */
    PAPER,
    /**
     * The Transformers {@code TopHLogitsWarper}: {@code q} = softmax over the first {@code n} logits
     * only; {@code τ = α · H(q)}; keep while {@code Σ_{i≤m} −q_i log q_i ≤ τ}, at least one token.
     */
    NORMALIZED
}
