package dev.entrokit;

import dev.entrokit.internal.Checks;

/**
 * The cross-entropy options of Liger-Kernel's fused CE, for
 * {@link Entrokit#crossEntropyLabels(Tensor, Tensor, LossOptions, CrossEntropyOptions, Tensor, Tensor, Tensor, Tensor, Tensor)}.
 * Immutable; start from {@link #none()}.
 *
 * @param zLoss        {@code λ ≥ 0}: adds {@code λ·lse(z)²} per row (PaLM's z-loss; Liger's {@code lse_square_scale})
 * @param softcap      {@code c ≥ 0}: logits become {@code c·tanh(x/c)} before the softmax (0 = off; Gemma 2's
 *                     final-logit soft-capping, Liger's {@code softcap})
 * @param classWeights rank-1 F32 with one finite weight {@code ≥ 0} per class, or null (PyTorch's {@code weight})
 */
public record CrossEntropyOptions(float zLoss, float softcap, Tensor classWeights) {

    /** Validates the scalars; the weights are checked against the logits when used. */
    public CrossEntropyOptions {
        if (!(zLoss >= 0f) || Float.isInfinite(zLoss)) {
            throw new IllegalArgumentException("zLoss: must be finite and >= 0, got " + zLoss);
        }
        if (softcap != 0f) {
            Checks.positiveFinite("softcap", softcap);
        }
    }

    /** No z-loss, no soft-capping, no class weights: plain cross-entropy. */
    public static CrossEntropyOptions none() {
        return new CrossEntropyOptions(0f, 0f, null);
    }

    /** A copy with another z-loss scale {@code λ}. */
    public CrossEntropyOptions zLoss(float lambda) {
        return new CrossEntropyOptions(lambda, softcap, classWeights);
    }

    /** A copy with another soft-cap {@code c} (0 = off). */
    public CrossEntropyOptions softcap(float c) {
        return new CrossEntropyOptions(zLoss, c, classWeights);
    }

    /** A copy with class weights (null = none). */
    public CrossEntropyOptions classWeights(Tensor w) {
        return new CrossEntropyOptions(zLoss, softcap, w);
    }
}
