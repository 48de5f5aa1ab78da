package dev.entrokit.internal;

import java.lang.foreign.MemorySegment;

/**
 * The per-row kernels of the RL and distillation losses (SPEC §1, "Policy and sparse-teacher losses"): the
 * token log-probability with the entropy and the k3 estimator of KL at a temperature, and the divergences to a
 * sparse (top-k) teacher. As in {@link SoftmaxKernels}, the façade has checked shapes and parameters, a
 * kernel sees one row of {@code n} float32 logits at element offset {@code off}, {@code grad == null} skips the
 * gradient, the kernel applies {@code 1/T} itself, and a special row (a NaN or {@code +inf} logit, or every
 * logit {@code −inf}) gives NaN values and a NaN gradient.
 */
public interface PolicyKernels {

    /**
     * One token of a policy: with {@code z = x/T}, {@code p = softmax(z)}, writes {@code out[0] = ℓ = log p_id},
     * {@code out[1] = H = −Σ p log p} and, when {@code ref} is not NaN, {@code out[2] = k3 = e^δ − δ − 1} with
     * {@code δ = ref − ℓ} (else {@code out[2]} is NaN). The gradient is that of
     * {@code wLogprob·ℓ + wEntropy·H + wK3·k3} w.r.t. {@code x}:
     * {@code (1/T)·[a·(onehot(id) − p) − wEntropy·p ⊙ (log p + H)]} with {@code a = wLogprob + wK3·(1 − e^δ)};
     * NaN in every entry when a term with a non-zero weight is not finite (SPEC §1: an infinite loss has no
     * derivative). The weights already carry the upstream gradient.
     */
    void logprobEntropy(MemorySegment x, long xOff, int n, int id, float invT, double ref, double[] out,
                        MemorySegment grad, long gradOff, double wLogprob, double wEntropy, double wK3);

    /**
     * A divergence between a sparse teacher, {@code k} distinct ids in {@code [0, n)} with log-probabilities
     * {@code ≤ 0}, and the student {@code q = softmax(s/T)}, in one of two conventions: {@code rest = false}
     * compares the two distributions renormalized over the {@code k} ids; {@code rest = true} adds one bucket
     * holding the teacher's missing mass {@code 1 − Σ e^{lp}} and the student's mass outside the ids. {@code op}
     * is 0 (forward KL), 1 (reverse KL) or 2 (JSD with {@code 0 < β < 1}). Returns the row's loss and writes
     * {@code gradScale}·its gradient w.r.t. {@code s}.
     *
     * @param ids      I32 ids at element offset {@code idOff}
     * @param logprobs F32 teacher log-probabilities at element offset {@code lpOff}
     */
    double sparseDivergence(int op, boolean rest, MemorySegment ids, long idOff, MemorySegment logprobs, long lpOff,
                            int k, MemorySegment s, long sOff, int n, float invT, float beta, MemorySegment grad,
                            long gradOff, float gradScale);

    /**
     * Hard-label cross-entropy with Liger's options, for one row with label {@code 0 ≤ label < n}: logits
     * soft-capped {@code y = c·tanh(x/c)} when {@code softcap > 0} ({@code −inf} stays {@code −inf}), then
     * {@code z = y/T}, {@code p = softmax(z)}; writes {@code out[0] = (1−ε)·w_label·(−log p_label) +
     * (ε/n)·Σ_i w_i·(−log p_i)} (class weights {@code w}, 1 when {@code weights} is null),
     * {@code out[1] = λ·lse(z)²} (the z-loss) and {@code out[2]} = the index of the largest logit (lowest on
     * ties; −1 for a special row). The gradient is {@code gCe·∂out[0]/∂x + gZ·∂out[1]/∂x}, each entry times
     * {@code cap'(x_i) = 1 − tanh²(x_i/c)}; NaN in every entry where {@code out[0]} is not finite.
     *
     * @param weights F32 class weights at element offset {@code wOff}, or null
     */
    void crossEntropyOptions(MemorySegment x, long xOff, int n, int label, float invT, float smoothing, float zLoss,
                             float softcap, MemorySegment weights, long wOff, double[] out, MemorySegment grad,
                             long gradOff, double gCe, double gZ);
}
