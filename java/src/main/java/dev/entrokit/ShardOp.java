package dev.entrokit;

/**
 * What a {@link ShardStates} summarizes of each row (SPEC §8). The single-row ops read the logits of a
 * shard; the pair ops read a teacher and a student shard of the same columns.
 */
public enum ShardOp {
    /** {@code logsumexp}, and the statistics softmax and log-softmax are written from. */
    LOG_SUM_EXP(false),
    /** Shannon entropy of {@code softmax(x/T)}. */
    ENTROPY(false),
    /** Hard-label cross-entropy, with {@code ignoreIndex} and label smoothing. */
    CROSS_ENTROPY_LABELS(false),
    /** The log-probability of one token id per row ({@code token_logprob}, SPEC §4). */
    TOKEN_LOGPROB(false),
    /** Soft-target cross-entropy {@code −Σ p log q}. */
    CROSS_ENTROPY(true),
    /** Forward KL {@code KL(p‖q)}. */
    KL(true),
    /** Reverse KL {@code KL(q‖p)}. */
    RKL(true),
    /** Generalized JSD with β: two rounds of exchange (normalizers, then the terms). */
    JSD(true);

    private final boolean pair;

    ShardOp(boolean pair) {
        this.pair = pair;
    }

    /** Whether the op reads a teacher and a student shard. */
    public boolean pair() {
        return pair;
    }
}
