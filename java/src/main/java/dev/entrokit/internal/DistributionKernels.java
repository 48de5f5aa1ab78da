package dev.entrokit.internal;

import java.lang.foreign.MemorySegment;

/**
 * The per-row kernels of SPEC §1, one method per op, shared by every backend so that the scalar and
 * SIMD versions read side by side. The façade has already checked shapes and parameters; a kernel
 * sees one row of {@code n} float32 logits at element offset {@code off} of a segment.
 *
 * <p>{@code invT} is {@code 1/temperature}. Gradient outputs are optional: pass {@code grad == null}
 * to skip them. {@code gradScale} is the upstream gradient of this row's loss; the kernel applies the
 * {@code 1/T} of the chain rule itself. Special rows (a NaN or {@code +inf} logit, or every logit
 * {@code -inf}) give NaN losses and NaN outputs, as SPEC §1 says.
 */
public interface DistributionKernels {

    /** {@code log Σ exp(x_i/T)}. */
    double logSumExp(MemorySegment x, long xOff, int n, float invT);

    /** {@code out = softmax(x/T)}; {@code out} may alias {@code x}. */
    void softmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT);

    /** {@code out = (x − m)/T − log d}; {@code out} may alias {@code x}. */
    void logSoftmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT);

    /**
     * Softmax ({@code log == false}) or log-softmax of {@code x/T} written to {@code out} (which may alias
     * {@code x}), with the row's statistics from the same exps: {@code stats[0]} the largest logit,
     * {@code stats[1]} {@code log Σ exp(x_i/T)}, {@code stats[2]} the entropy of the softmax. A special row
     * gives NaN outputs and NaN statistics. Outputs and statistics equal those of {@link #softmax} /
     * {@link #logSoftmax}, {@link #logSumExp} and {@link #entropy} bitwise on the same backend.
     */
    void softmaxStats(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT, boolean log,
                      double[] stats);

    /** {@code dx = p ⊙ (dy − Σ dy·p) / T} from the softmax output {@code p}. */
    void softmaxBackward(MemorySegment p, long pOff, MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                         int n, float invT);

    /** {@code dx = (dy − exp(y) · Σ dy) / T} from the log-softmax output {@code y}. */
    void logSoftmaxBackward(MemorySegment y, long yOff, MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                            int n, float invT);

    /** Shannon entropy of {@code softmax(x/T)}; gradient {@code −p ⊙ (log p + H)}. */
    double entropy(MemorySegment x, long xOff, int n, float invT, MemorySegment grad, long gradOff, float gradScale);

    /** Soft-target cross-entropy {@code −Σ p log q}; gradient w.r.t. the student {@code q − p}. */
    double crossEntropy(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                        MemorySegment grad, long gradOff, float gradScale);

    /**
     * Hard-label cross-entropy {@code (1−ε)(−log q_y) + ε·mean_i(−log q_i)}; the façade handles
     * ignored rows, so {@code 0 ≤ label < n} here.
     */
    double crossEntropyLabel(MemorySegment s, long sOff, int n, int label, float smoothing, float invT,
                             MemorySegment grad, long gradOff, float gradScale);

    /** {@code KL(p‖q)}, p from the teacher {@code t}, q from the student {@code s}; gradient {@code q − p}. */
    double kl(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
              MemorySegment grad, long gradOff, float gradScale);

    /** {@code KL(q‖p)}; gradient {@code q ⊙ (log q − log p) − q · KL(q‖p)}. */
    double rkl(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
               MemorySegment grad, long gradOff, float gradScale);

    /** Generalized JSD for {@code 0 < β < 1} (the façade maps β = 0 and 1 to kl and rkl). */
    double jsd(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta,
               MemorySegment grad, long gradOff, float gradScale);

    /** {@code KL(p‖q) + KL(q‖p)}; gradient the sum of both. */
    double jeffreys(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                    MemorySegment grad, long gradOff, float gradScale);

    /** Total variation {@code ½ Σ |p − q|}. */
    double tv(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT);

    /** Hellinger distance {@code sqrt(½ Σ (√p − √q)²)}. */
    double hellinger(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT);
}
