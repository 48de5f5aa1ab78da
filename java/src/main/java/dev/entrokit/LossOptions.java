package dev.entrokit;

import dev.entrokit.internal.Checks;

/**
 * Settings shared by the loss and divergence ops. Immutable; start from {@link #defaults()} and
 * change what you need: {@code LossOptions.defaults().temperature(2f).reduction(Reduction.SUM)}.
 *
 * @param temperature    {@code T > 0}: logits are divided by it before the softmax
 * @param reduction      how per-row losses combine into the returned value
 * @param gradScale      upstream gradient of the returned (reduced) loss; gradients are multiplied by it
 * @param beta           generalized JSD weight in {@code [0, 1]} (0 gives KL(P‖Q), 1 gives KL(Q‖P))
 * @param ignoreIndex    label value that marks a row as ignored in hard-label cross-entropy
 * @param labelSmoothing {@code ε ∈ [0, 1]} for hard-label cross-entropy
 * @param alpha          the order of the α-divergence and of Rényi's, finite and {@code >= 0}
 */
public record LossOptions(float temperature, Reduction reduction, float gradScale, float beta, int ignoreIndex,
                          float labelSmoothing, float alpha) {

    /** Same default as PyTorch's {@code ignore_index}. */
    public static final int DEFAULT_IGNORE_INDEX = -100;

    /** The default order of the α-family: ½, where Amari's α-divergence is 4·(1 − Bhattacharyya coefficient). */
    public static final float DEFAULT_ALPHA = 0.5f;

    /** Validates every field; the message names the field and the value. */
    public LossOptions {
        checkTemperature(temperature);
        if (reduction == null) {
            throw new IllegalArgumentException("reduction: must not be null");
        }
        if (!Float.isFinite(gradScale)) {
            throw new IllegalArgumentException("gradScale: must be finite, got " + gradScale);
        }
        if (!(beta >= 0f && beta <= 1f)) {
            throw new IllegalArgumentException("beta: must be in [0, 1], got " + beta);
        }
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) {
            throw new IllegalArgumentException("labelSmoothing: must be in [0, 1], got " + labelSmoothing);
        }
        Checks.alpha(alpha);
    }

    /** The options of the releases before {@link #alpha} was one of them: α is {@value #DEFAULT_ALPHA}. */
    public LossOptions(float temperature, Reduction reduction, float gradScale, float beta, int ignoreIndex,
                       float labelSmoothing) {
        this(temperature, reduction, gradScale, beta, ignoreIndex, labelSmoothing, DEFAULT_ALPHA);
    }

    /** Refuses a temperature no op accepts; the one rule every op and the CUDA API share ({@code Checks#temperature}). */
    static void checkTemperature(float temperature) {
        Checks.temperature(temperature);
    }

    /** Temperature 1, reduction {@link Reduction#SUM}, upstream gradient 1, β = 0.5, ignore index -100, no smoothing, α = 0.5. */
    public static LossOptions defaults() {
        return new LossOptions(1f, Reduction.SUM, 1f, 0.5f, DEFAULT_IGNORE_INDEX, 0f, DEFAULT_ALPHA);
    }

    /** A copy with another temperature. */
    public LossOptions temperature(float t) {
        return new LossOptions(t, reduction, gradScale, beta, ignoreIndex, labelSmoothing, alpha);
    }

    /** A copy with another reduction. */
    public LossOptions reduction(Reduction r) {
        return new LossOptions(temperature, r, gradScale, beta, ignoreIndex, labelSmoothing, alpha);
    }

    /** A copy with another upstream gradient. */
    public LossOptions gradScale(float g) {
        return new LossOptions(temperature, reduction, g, beta, ignoreIndex, labelSmoothing, alpha);
    }

    /** A copy with another JSD β. */
    public LossOptions beta(float b) {
        return new LossOptions(temperature, reduction, gradScale, b, ignoreIndex, labelSmoothing, alpha);
    }

    /** A copy with another ignore index. */
    public LossOptions ignoreIndex(int i) {
        return new LossOptions(temperature, reduction, gradScale, beta, i, labelSmoothing, alpha);
    }

    /** A copy with another label smoothing. */
    public LossOptions labelSmoothing(float e) {
        return new LossOptions(temperature, reduction, gradScale, beta, ignoreIndex, e, alpha);
    }

    /** A copy with another α (the order of {@link Loss#ALPHA} and {@link Loss#RENYI}). */
    public LossOptions alpha(float a) {
        return new LossOptions(temperature, reduction, gradScale, beta, ignoreIndex, labelSmoothing, a);
    }
}
