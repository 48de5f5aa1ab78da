package dev.entrokit.internal;

import java.lang.foreign.MemorySegment;

/**
 * The divergences of SPEC §1 between a teacher and a student row, with their gradients.
 */
public interface DivergenceKernels {
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

    /** Amari α-divergence {@code (1 − S)/(α(1−α))} for {@code α ≥ 0}, {@code α ∉ {0, 1}}; {@code K = S/α}. */
    double alphaDivergence(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float alpha,
                           MemorySegment grad, long gradOff, float gradScale);

    /** Rényi divergence {@code log S/(α − 1)} for {@code α ≥ 0}, {@code α ≠ 1}; {@code K = 1}. */
    double renyi(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float alpha,
                 MemorySegment grad, long gradOff, float gradScale);

    /** Pearson {@code χ²(p‖q) = Σ (p − q)²/q = S(2) − 1}; {@code K = S}. */
    double chi2(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                MemorySegment grad, long gradOff, float gradScale);

    /**
     * Plackett–Luce distillation loss for one row with label {@code 0 ≤ label < n}: ranking {@code π} =
     * the label, then the other tokens by teacher logit descending (ties by ascending index),
     * {@code L = Σ_k α_k (log Σ_{j≥k} e^{s_{π_j}/T} − s_{π_k}/T)}, {@code α_k = softmax(t/T)_{π_k}}.
     */
    double pld(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, int label, float invT,
               MemorySegment grad, long gradOff, float gradScale);
}
