package dev.entrokit;

/** What {@link Decoding#contrastive} measures to decide whether a row is uncertain enough to contrast. */
public enum Uncertainty {
    /** Shannon entropy of the standard prediction {@code softmax(x)}, in nats. */
    ENTROPY,
    /** Jensen–Shannon divergence (β = ½) between the standard and the lame prediction, in nats (≤ ln 2). */
    JSD
}
