package dev.entrokit.internal;

import dev.entrokit.DType;
import dev.entrokit.internal.scalar.ScalarHalfKernels;
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

    /**
     * {@link #crossEntropy(MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)} on a
     * teacher and a student row of {@code type} elements ({@link DType#F32}, {@link DType#BF16} or {@link DType#F16},
     * both rows the same; the offsets count elements of that type; the gradient stays float32), giving the bits that
     * the float32 method gives on the rows widened to float32. By default a half pair is widened into this thread's
     * kernel buffers ({@link HalfRows#kernelRow(int, int)}) first; a backend reads it in registers where it can.
     */
    default double crossEntropy(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                                MemorySegment grad, long gradOff, float gradScale) {
        boolean half = type.isHalf();
        return crossEntropy(half ? widened(type, t, tOff, n, 0) : t, half ? 0 : tOff,
                half ? widened(type, s, sOff, n, 1) : s, half ? 0 : sOff, n, invT, grad, gradOff, gradScale);
    }

    /** {@link #kl(MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)} on rows of {@code type}, as the typed {@link #crossEntropy(DType, MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)}. */
    default double kl(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                      MemorySegment grad, long gradOff, float gradScale) {
        boolean half = type.isHalf();
        return kl(half ? widened(type, t, tOff, n, 0) : t, half ? 0 : tOff, half ? widened(type, s, sOff, n, 1) : s,
                half ? 0 : sOff, n, invT, grad, gradOff, gradScale);
    }

    /** {@link #rkl(MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)} on rows of {@code type}, as the typed {@link #crossEntropy(DType, MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)}. */
    default double rkl(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                       MemorySegment grad, long gradOff, float gradScale) {
        boolean half = type.isHalf();
        return rkl(half ? widened(type, t, tOff, n, 0) : t, half ? 0 : tOff, half ? widened(type, s, sOff, n, 1) : s,
                half ? 0 : sOff, n, invT, grad, gradOff, gradScale);
    }

    /** {@link #jsd(MemorySegment, long, MemorySegment, long, int, float, float, MemorySegment, long, float)} on rows of {@code type}, as the typed {@link #crossEntropy(DType, MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)}. */
    default double jsd(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                       float beta, MemorySegment grad, long gradOff, float gradScale) {
        boolean half = type.isHalf();
        return jsd(half ? widened(type, t, tOff, n, 0) : t, half ? 0 : tOff, half ? widened(type, s, sOff, n, 1) : s,
                half ? 0 : sOff, n, invT, beta, grad, gradOff, gradScale);
    }

    /** {@link #jeffreys(MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)} on rows of {@code type}, as the typed {@link #crossEntropy(DType, MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)}. */
    default double jeffreys(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                            MemorySegment grad, long gradOff, float gradScale) {
        boolean half = type.isHalf();
        return jeffreys(half ? widened(type, t, tOff, n, 0) : t, half ? 0 : tOff,
                half ? widened(type, s, sOff, n, 1) : s, half ? 0 : sOff, n, invT, grad, gradOff, gradScale);
    }

    /** The half row widened by the scalar conversions into this thread's kernel buffer {@code which}, from its element 0. */
    private static MemorySegment widened(DType type, MemorySegment x, long xOff, int n, int which) {
        MemorySegment row = HalfRows.kernelRow(which, n);
        ScalarHalfKernels.INSTANCE.widen(type, x, xOff, row, 0, n);
        return row;
    }
}
