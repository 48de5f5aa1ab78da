package dev.entrokit.internal;

import dev.entrokit.DType;
import dev.entrokit.SamplingFilters;
import dev.entrokit.internal.scalar.ScalarHalfKernels;
import java.lang.foreign.MemorySegment;

/**
 * The per-row kernels of SPEC §2 (selection and sampling). As with {@link SoftmaxKernels}, the
 * façade has checked shapes and parameters already; a kernel sees one row of {@code n} float32 logits
 * at element offset {@code xOff}.
 *
 * <p>Order is SPEC order: probability descending, equal logits by ascending index. Probabilities are
 * {@code softmax(x/T)} over the whole row ({@code -inf} logits have probability 0), accumulated in
 * float64. A <em>special row</em> (a NaN or {@code +inf} logit, or every logit {@code -inf}) has no
 * distribution (SPEC §1): top-k writes indices {@code -1}, values and probabilities NaN; the mask is
 * all false; masked logits are all NaN; the sampled token is {@code -1}.
 */
public interface SelectionKernels {

    /**
     * The first {@code k} tokens in SPEC order: their indices ({@code int32}), their logits, and their
     * {@code softmax(x/T)} probabilities over the whole row ({@code probs} may be null: then the
     * row's mass is not needed). Requires {@code temperature > 0}.
     */
    void topK(MemorySegment x, long xOff, int n, float temperature, int k, MemorySegment indices, long indicesOff,
              MemorySegment values, long valuesOff, MemorySegment probs, long probsOff);

    /**
     * Writes one byte per token (1 kept, 0 not) after the pipeline {@code f} (temperature {@code > 0});
     * returns how many are kept (0 for a special row).
     */
    int keptMask(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment mask, long maskOff);

    /**
     * The kept tokens in SPEC order with their renormalized probabilities (float64 weights over
     * their float64 sum): the first {@code min(kept, capacity)} slots hold them, the rest id -1 and
     * probability 0. Returns how many are kept (0 for a special row), which may exceed {@code capacity}.
     */
    int keptTokens(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment indices, long indicesOff,
                   MemorySegment probs, long probsOff, int capacity);

    /** {@code out_i = x_i} for kept tokens, {@code -inf} elsewhere; {@code out} may alias {@code x}. */
    void maskLogits(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment out, long outOff);

    /**
     * One token drawn from the kept, renormalized distribution with the uniform
     * {@link Philox#uniform(long, int, long) Philox.uniform(seed, row, step)}; temperature 0 is the
     * argmax (lowest index on ties). Returns {@code -1} for a special row.
     */
    int sample(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step);

    /**
     * {@link #sample} for a pipeline with an entropy-shaped step ({@link DecodingSteps#needed}) and a
     * temperature {@code > 0}, which also writes the drawn token's renormalized probability in the kept
     * distribution into {@code prob[at]} (NaN for a special row): what Mirostat's update needs.
     */
    int sample(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step, double[] prob, int at);

    /**
     * {@link #topK(MemorySegment, long, int, float, int, MemorySegment, long, MemorySegment, long, MemorySegment, long)}
     * on a row of {@code type} elements ({@link DType#F32}, {@link DType#BF16} or {@link DType#F16}; {@code xOff} counts
     * elements of that type), giving the bits that the float32 method gives on the row widened to float32. By default
     * a half row is widened into a per-thread buffer ({@link HalfRows#kernelRow}) first; a backend reads it in registers
     * where it can.
     */
    default void topK(DType type, MemorySegment x, long xOff, int n, float temperature, int k, MemorySegment indices,
                      long indicesOff, MemorySegment values, long valuesOff, MemorySegment probs, long probsOff) {
        boolean half = type.isHalf();
        topK(half ? widened(type, x, xOff, n) : x, half ? 0 : xOff, n, temperature, k, indices, indicesOff, values,
                valuesOff, probs, probsOff);
    }

    /** {@link #keptMask(MemorySegment, long, int, SamplingFilters, MemorySegment, long)} on a row of {@code type}, as {@link #topK(DType, MemorySegment, long, int, float, int, MemorySegment, long, MemorySegment, long, MemorySegment, long)}. */
    default int keptMask(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment mask,
                         long maskOff) {
        boolean half = type.isHalf();
        return keptMask(half ? widened(type, x, xOff, n) : x, half ? 0 : xOff, n, f, mask, maskOff);
    }

    /** {@link #keptTokens(MemorySegment, long, int, SamplingFilters, MemorySegment, long, MemorySegment, long, int)} on a row of {@code type}, as {@link #topK(DType, MemorySegment, long, int, float, int, MemorySegment, long, MemorySegment, long, MemorySegment, long)}. */
    default int keptTokens(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment indices,
                           long indicesOff, MemorySegment probs, long probsOff, int capacity) {
        boolean half = type.isHalf();
        return keptTokens(half ? widened(type, x, xOff, n) : x, half ? 0 : xOff, n, f, indices, indicesOff, probs,
                probsOff, capacity);
    }

    /** {@link #sample(MemorySegment, long, int, SamplingFilters, long, int, long)} on a row of {@code type}, as {@link #topK(DType, MemorySegment, long, int, float, int, MemorySegment, long, MemorySegment, long, MemorySegment, long)}. */
    default int sample(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step) {
        boolean half = type.isHalf();
        return sample(half ? widened(type, x, xOff, n) : x, half ? 0 : xOff, n, f, seed, row, step);
    }

    /**
     * {@link #sample(DType, MemorySegment, long, int, SamplingFilters, long, int, long)} with the row's chunks
     * ({@link RowSplit}) run by {@code split} where the backend cuts a row: the same token whoever runs them. The
     * default runs the row on the calling thread.
     */
    default int sample(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step,
                       RowSplit split) {
        return sample(type, x, xOff, n, f, seed, row, step);
    }

    /**
     * {@link #maskLogits(MemorySegment, long, int, SamplingFilters, MemorySegment, long)} on a row of {@code type}
     * elements (as {@link #topK(DType, MemorySegment, long, int, float, int, MemorySegment, long, MemorySegment, long,
     * MemorySegment, long)}), written as {@code outType} elements at element {@code outOff} of {@code out}: F32, or the
     * half type of the input ({@code out} may then alias {@code x}). The bits are those of the float32 method on the
     * widened row, rounded to {@code outType} (exact: every value written is an input element, {@code -inf} or NaN).
     * By default a half row is widened into the thread's kernel buffer, masked there in place, and copied or narrowed
     * into {@code out}.
     */
    default void maskLogits(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, DType outType,
                            MemorySegment out, long outOff) {
        if (!type.isHalf() && !outType.isHalf()) {
            maskLogits(x, xOff, n, f, out, outOff);
            return;
        }
        MemorySegment row = type.isHalf() ? widened(type, x, xOff, n) : x;
        long rowOff = type.isHalf() ? 0 : xOff;
        if (outType.isHalf()) {
            MemorySegment masked = row == x ? HalfRows.kernelRow(n) : row;
            maskLogits(row, rowOff, n, f, masked, 0);
            ScalarHalfKernels.INSTANCE.narrow(outType, masked, 0, out, outOff, n);
        } else {
            maskLogits(row, rowOff, n, f, out, outOff);
        }
    }

    /**
     * {@link #sample(MemorySegment, long, int, SamplingFilters, long, int, long, double[], int)} on a row of
     * {@code type}, as {@link #topK(DType, MemorySegment, long, int, float, int, MemorySegment, long, MemorySegment, long, MemorySegment, long)}.
     */
    default int sample(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step,
                       double[] prob, int at) {
        boolean half = type.isHalf();
        return sample(half ? widened(type, x, xOff, n) : x, half ? 0 : xOff, n, f, seed, row, step, prob, at);
    }

    /**
     * {@link #sampleConstrained(MemorySegment, long, int, SamplingFilters, long, int, long, java.util.function.IntPredicate, double[], int)}
     * on a row of {@code type}, as {@link #topK(DType, MemorySegment, long, int, float, int, MemorySegment, long, MemorySegment, long, MemorySegment, long)}.
     */
    default int sampleConstrained(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row,
                                  long step, java.util.function.IntPredicate allowed, double[] stats, int at) {
        boolean half = type.isHalf();
        return sampleConstrained(half ? widened(type, x, xOff, n) : x, half ? 0 : xOff, n, f, seed, row, step, allowed,
                stats, at);
    }

    /**
     * {@link #countAtLeast(MemorySegment, long, int, float)} on a row of {@code type}, as
     * {@link #topK(DType, MemorySegment, long, int, float, int, MemorySegment, long, MemorySegment, long, MemorySegment, long)}.
     */
    default int countAtLeast(DType type, MemorySegment x, long xOff, int n, float value) {
        boolean half = type.isHalf();
        return countAtLeast(half ? widened(type, x, xOff, n) : x, half ? 0 : xOff, n, value);
    }

    /** The half row widened by the scalar conversions into this thread's kernel buffer, from its element 0. */
    private static MemorySegment widened(DType type, MemorySegment x, long xOff, int n) {
        MemorySegment row = HalfRows.kernelRow(n);
        ScalarHalfKernels.INSTANCE.widen(type, x, xOff, row, 0, n);
        return row;
    }

    /** How many logits of the row are {@code ≥ value} (vLLM's rank of a token with that logit); 0 for NaN. */
    int countAtLeast(MemorySegment x, long xOff, int n, float value);

    /**
     * Constrained sampling by rejection on the kept distribution of {@code f} (temperature {@code > 0}):
     * see {@link DecodingSteps#sampleConstrained}; {@code stats[2·at]} and {@code stats[2·at + 1]} get the
     * number of rejections and the rejected probability mass.
     */
    int sampleConstrained(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step,
                          java.util.function.IntPredicate allowed, double[] stats, int at);
}
