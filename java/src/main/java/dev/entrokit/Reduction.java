package dev.entrokit;

/** How per-row losses are combined into the value a loss method returns. */
public enum Reduction {
    /** No reduction: per-row losses go to the caller's buffer; the method returns their sum. */
    NONE,
    /** Sum over rows. */
    SUM,
    /** Mean over the rows that take part (rows whose label is {@code ignore_index} do not). */
    MEAN,
    /** Sum divided by the number of rows, ignored rows included (PyTorch's {@code batchmean}). */
    BATCHMEAN
}
