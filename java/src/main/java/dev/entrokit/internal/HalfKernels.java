package dev.entrokit.internal;

import dev.entrokit.DType;
import java.lang.foreign.MemorySegment;

/**
 * The memory-bound SPEC §1 ops on rows of bfloat16 or binary16 logits, each element widened to float32 as it
 * is read (no float32 copy of the row). Each method means what its {@link SoftmaxKernels} namesake means,
 * and gives the same bits as that namesake run by the same backend on the row widened to float32: only the
 * load differs. Outputs are float32 or a half type; a half output is the float32 output rounded once, to
 * nearest even, at the store (NaN stays NaN, overflow gives ±inf).
 *
 * <p>{@code type} is the row's element type, {@link DType#BF16} or {@link DType#F16}; {@code outType} is
 * {@link DType#F32}, {@link DType#BF16} or {@link DType#F16}. Offsets count elements of the segment's own type.
 * {@code out} may alias {@code x} only as the same elements ({@code outType == type}, {@code outOff == xOff}).
 * The caller has checked shapes, types and parameters, as for {@link SoftmaxKernels}.
 */
public interface HalfKernels {

    /** {@code log Σ exp(x_i/T)}, as {@link SoftmaxKernels#logSumExp}. */
    double logSumExp(DType type, MemorySegment x, long xOff, int n, float invT);

    /** {@code out = softmax(x/T)}, as {@link SoftmaxKernels#softmax}. */
    void softmax(DType type, MemorySegment x, long xOff, DType outType, MemorySegment out, long outOff, int n,
                 float invT);

    /** {@code out = (x − m)/T − log d}, as {@link SoftmaxKernels#logSoftmax}. */
    void logSoftmax(DType type, MemorySegment x, long xOff, DType outType, MemorySegment out, long outOff, int n,
                    float invT);

    /**
     * Softmax ({@code log == false}) or log-softmax with the row's maximum, log-sum-exp and entropy in
     * {@code stats[0..2]}, as {@link SoftmaxKernels#softmaxStats}.
     */
    void softmaxStats(DType type, MemorySegment x, long xOff, DType outType, MemorySegment out, long outOff, int n,
                      float invT, boolean log, double[] stats);

    /** Shannon entropy of {@code softmax(x/T)}, as {@link SoftmaxKernels#entropy} without a gradient. */
    double entropy(DType type, MemorySegment x, long xOff, int n, float invT);

    /**
     * Greedy selection (the temperature-0 sample of {@link SelectionKernels#sample}): the lowest index of the largest
     * logit, or −1 for a special row (a NaN or {@code +inf} logit, or every logit {@code −inf}).
     */
    int argmax(DType type, MemorySegment x, long xOff, int n);

    /**
     * Widens {@code n} elements of the half {@code type} from element {@code srcOff} of {@code src} into float32 from
     * element {@code dstOff} of {@code dst}: each element exactly as {@link DType#widen} gives it (NaN payloads
     * included), on every backend. {@code dst} is a native segment; {@code src} may be on the heap.
     */
    void widen(DType type, MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n);

    /**
     * Narrows {@code n} float32 elements from element {@code srcOff} of {@code src} into the half {@code type} from
     * element {@code dstOff} of {@code dst}: each element exactly as {@link DType#narrow} gives it (ties to even,
     * overflow to ±inf, NaN payloads as it keeps them), on every backend. {@code src} is a native segment; {@code dst}
     * may be on the heap.
     */
    void narrow(DType type, MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n);

    /**
     * {@code log_softmax(x)[id]}, as {@link ScoringKernels#tokenLogprob}: the same bits as the backend's scoring
     * kernel on the row widened to float32.
     */
    double tokenLogprob(DType type, MemorySegment x, long xOff, int n, int id);
}
