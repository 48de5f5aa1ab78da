package dev.entrokit.internal;

import java.lang.foreign.MemorySegment;

/**
 * The softmax family of SPEC §1, one row at a time: {@code (segment, element offset, n)} per row.
 */
public interface SoftmaxKernels {

    /** {@code log Σ exp(x_i/T)}. */
    double logSumExp(MemorySegment x, long xOff, int n, float invT);

    /** {@link #logSumExp(MemorySegment, long, int, float)} with the row's chunks run by {@code split} ({@link RowSplit}). */
    default double logSumExp(MemorySegment x, long xOff, int n, float invT, RowSplit split) {
        return logSumExp(x, xOff, n, invT);
    }

    /** {@code out = softmax(x/T)}; {@code out} may alias {@code x}. */
    void softmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT);

    /**
     * {@link #softmax(MemorySegment, long, MemorySegment, long, int, float)} with the row's chunks run by {@code split}
     * ({@link RowSplit}): the same bits whoever runs them. The default runs the row on the calling thread.
     */
    default void softmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT,
                         RowSplit split) {
        softmax(x, xOff, out, outOff, n, invT);
    }

    /** {@code out = (x − m)/T − log d}; {@code out} may alias {@code x}. */
    void logSoftmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT);

    /** {@link #logSoftmax(MemorySegment, long, MemorySegment, long, int, float)} with the row's chunks run by {@code split}. */
    default void logSoftmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT,
                            RowSplit split) {
        logSoftmax(x, xOff, out, outOff, n, invT);
    }

    /**
     * Softmax ({@code log == false}) or log-softmax of {@code x/T} written to {@code out} (which may alias
     * {@code x}), with the row's statistics from the same exps: {@code stats[0]} the largest logit,
     * {@code stats[1]} {@code log Σ exp(x_i/T)}, {@code stats[2]} the entropy of the softmax. A special row
     * gives NaN outputs and NaN statistics. Outputs and statistics equal those of {@link #softmax} /
     * {@link #logSoftmax}, {@link #logSumExp} and {@link #entropy} bitwise on the same backend.
     */
    void softmaxStats(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT, boolean log,
                      double[] stats);

    /**
     * {@link #softmaxStats(MemorySegment, long, MemorySegment, long, int, float, boolean, double[])} with the row's
     * chunks ({@link RowSplit}) run by {@code split}: the same bits whoever runs them. The default runs the row on
     * the calling thread.
     */
    default void softmaxStats(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT,
                              boolean log, double[] stats, RowSplit split) {
        softmaxStats(x, xOff, out, outOff, n, invT, log, stats);
    }

    /** {@code dx = p ⊙ (dy − Σ dy·p) / T} from the softmax output {@code p}. */
    void softmaxBackward(MemorySegment p, long pOff, MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                         int n, float invT);

    /** {@code dx = (dy − exp(y) · Σ dy) / T} from the log-softmax output {@code y}. */
    void logSoftmaxBackward(MemorySegment y, long yOff, MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                            int n, float invT);

    /** Shannon entropy of {@code softmax(x/T)}; gradient {@code −p ⊙ (log p + H)}. */
    double entropy(MemorySegment x, long xOff, int n, float invT, MemorySegment grad, long gradOff, float gradScale);
}
