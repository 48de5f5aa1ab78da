package dev.entrokit.internal;

import java.lang.foreign.MemorySegment;

/**
 * The per-row kernels of SPEC §4 and of the divergences beyond SPEC §1 (α, Rényi, χ², PLD), shared by every
 * backend so that the scalar and SIMD versions read side by side. As in {@link SoftmaxKernels},
 * the façade has checked shapes and parameters, a kernel sees one row of {@code n} float32 logits at
 * element offset {@code off}, {@code grad == null} skips the gradient, and a special row (a NaN or
 * {@code +inf} logit, or every logit {@code -inf}) gives NaN values and NaN outputs.
 *
 * <p>The α-family below shares one sum, {@code S(α) = Σ p_i^α q_i^{1−α}} with {@code p = softmax(t/T)}
 * (teacher), {@code q = softmax(s/T)} (student), computed in the log domain as the log-sum-exp of
 * {@code c_i = α log p_i + (1−α) log q_i}; {@code c_i = −inf} where the teacher is masked ({@code p_i^α = 0},
 * and for α = 0 the support convention {@code 0^0 = 0}). Every gradient w.r.t. the student is then
 * {@code K·(q − r)} with {@code r_i = e^{c_i}/S} and a per-op factor {@code K}; a loss that is not
 * finite gets a NaN gradient.
 */
public interface ScoringKernels {

    /** {@code ℓ = log_softmax(x)[id]}, from the row maximum and {@code log Σ e^{x−m}}: no softmax is written. */
    double tokenLogprob(MemorySegment x, long xOff, int n, int id);

    /**
     * Min-K%++'s statistics of one position, from one pass after the max: {@code out[0] = ℓ},
     * {@code out[1] = μ = Σ p log p}, {@code out[2] = σ² = Σ p (log p)² − μ²} (clamped at 0).
     */
    void tokenLogprobMoments(MemorySegment x, long xOff, int n, int id, double[] out);

    /**
     * USCD-style contrast: {@code out = (1+λ)·x − λ·lame} when the row's uncertainty {@code u} (computed by
     * the caller with the SPEC §1 kernels) is {@code ≥ threshold}, else {@code out = x}. Masked tokens
     * ({@code −inf} in either row) stay {@code −inf} when contrasted; a NaN {@code u}, or an invalid lame
     * row that would be used, makes the row NaN. {@code out} may be {@code x} itself.
     */
    void contrastive(MemorySegment x, long xOff, MemorySegment lame, long lameOff, MemorySegment out, long outOff,
                     int n, float lambda, double u, float threshold);

    /**
     * Prior injection {@code out = x + λ·log prior} ({@code λ > 0}; {@code prior = 0} masks the token). A
     * row with an invalid logit, or a prior entry that is NaN, negative or {@code +inf}, is NaN. {@code out}
     * may be {@code x} itself.
     */
    void injectPrior(MemorySegment x, long xOff, MemorySegment prior, long priorOff, MemorySegment out, long outOff,
                     int n, float lambda);
}
