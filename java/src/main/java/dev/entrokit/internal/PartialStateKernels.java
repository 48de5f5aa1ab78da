package dev.entrokit.internal;

import java.lang.foreign.MemorySegment;

/**
 * The per-shard halves of the SPEC §8 partial states: the statistics of one contiguous piece of a row
 * (phase 1), and the outputs and gradients of that piece from the row's merged statistics (phase 2).
 * Merging and finishing are backend-independent float64 arithmetic in {@link PartialStates}.
 *
 * <p>A state is a record of {@link #WIDTH} doubles at {@code st[base..]}. Logit maxima are raw logits (not
 * divided by {@code T}), so the shift {@code (x − m)/T} of a piece is the same as the whole row's; every sum
 * is relative to the piece's own maxima. Fields ({@code a = (t − M)/T}, {@code b = (s − MS)/T}, teacher or
 * single row {@code t}, student {@code s}):
 * <ul>
 * <li>{@link #COUNT} elements covered; {@link #FLAGS} the bits below;
 * <li>{@link #M}, {@link #D}: the teacher's (or the single row's) maximum and {@code Σ e^a};
 * <li>{@link #U}: entropy {@code Σ e^a a}; soft cross-entropy {@code Σ e^a b}; KL {@code Σ e^a (a − b)};
 *     reverse KL {@code Σ e^b c}, {@code c = (s − s_k)/T − (t − t_k)/T} relative to the student's argmax
 *     {@code k}; hard labels the target's raw logit; JSD terms {@code Σ p log(p/M)};
 * <li>{@link #MS}, {@link #DS}: the student's maximum and {@code Σ e^b};
 * <li>{@link #V}: hard labels {@code Σ a} (label smoothing); reverse KL {@code t_k}; JSD terms
 *     {@code Σ q log(q/M)};
 * <li>{@link #K}: global index of the student's (single row's) first maximum, for reverse KL;
 * <li>{@link #LO}, {@link #LOS}: the smallest live teacher/student logit (merged by min), so that phase 2
 *     can tell a row whose spread float lanes cannot serve ({@code extreme} below) as the whole-row kernels do.
 * </ul>
 * Phase-2 methods take {@code extreme}, which {@link PartialStates#extreme} derives from the merged record: a
 * SIMD implementation then runs the float64 reference, as its whole-row kernels do for such rows.
 */
public interface PartialStateKernels {
    int COUNT = 0;
    int FLAGS = 1;
    int M = 2;
    int D = 3;
    int U = 4;
    int MS = 5;
    int DS = 6;
    int V = 7;
    int K = 8;
    int LO = 9;
    int LOS = 10;
    /** Doubles per record in memory. */
    int WIDTH = 11;

    /** A NaN or {@code +inf} logit: the row is a NaN row. */
    int BAD = 1;
    /** A live teacher token under a masked student token: soft CE and KL are {@code +inf}. */
    int INF_FWD = 2;
    /** A live student token under a masked teacher token: reverse KL is {@code +inf}. */
    int INF_REV = 4;
    /** The label falls in this piece; {@link #U} holds its raw logit. */
    int TARGET = 8;
    /** The row's label is the ignore index: loss 0, gradient 0. */
    int IGNORED = 16;
    /** JSD's second stage: {@link #U} and {@link #V} are plain sums. */
    int TERMS = 32;

    /**
     * Single-row statistics: {@code M}, {@code D}, {@code K}, {@code LO}; with {@code entropy} also {@code U = Σ e^a a};
     * with {@code label ≥ 0} (an index into this piece) the target into {@code U}; with {@code sumShifted}
     * {@code V = Σ a}. {@code globalOffset} is the piece's first column in the row.
     */
    void single(MemorySegment x, long off, int n, long globalOffset, float invT, boolean entropy, int label,
                boolean sumShifted, double[] st, int base);

    /** Pair statistics of {@code op} (CROSS_ENTROPY, KL, RKL, or JSD's normalizers). */
    void pair(dev.entrokit.ShardOp op, MemorySegment t, long tOff, MemorySegment s, long sOff, int n,
              long globalOffset, float invT, double[] st, int base);

    /** JSD's {@code Σ p log(p/M)} and {@code Σ q log(q/M)} over the piece into {@code out[0..1]}, from the row's normalizers. */
    void jsdTerms(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta, double mt,
                  double logDt, double ms, double logDs, boolean extreme, double[] out);

    /**
     * Softmax's phase 1 keeping its exponentials: the {@code LOG_SUM_EXP} record of {@link #single}, and
     * {@code e_i = exp((x_i − m)/T)} (the piece's own maximum) written to {@code out}. Returns true when it wrote
     * them (phase 2 then {@link #scale}s them by {@code e^{(m − M)/T}/D}), false when {@code out} is untouched and
     * phase 2 writes {@link #softmax} from {@code x}. {@code out} may be {@code x} (in place).
     */
    boolean expStats(MemorySegment x, long off, int n, long globalOffset, float invT, MemorySegment out, long outOff,
                     double[] st, int base);

    /** {@code out_i *= factor}. */
    void scale(MemorySegment out, long off, int n, double factor);

    /** {@code out = exp((x − m)/T − logD)}. */
    void softmax(MemorySegment x, long off, int n, float invT, double m, double logD, MemorySegment out, long outOff);

    /** {@code out = (x − m)/T − logD}. */
    void logSoftmax(MemorySegment x, long off, int n, float invT, double m, double logD, MemorySegment out,
                    long outOff);

    /** Entropy gradient {@code −p (log p + H) · g/T}. */
    void entropyGrad(MemorySegment x, long off, int n, float invT, double m, double logD, double h,
                     boolean extreme, MemorySegment grad, long gOff, float gradScale);

    /**
     * Hard-label gradient {@code (q − (1−ε)·onehot − ε/V) · g/T}; {@code label} is an index into this piece or
     * −1, {@code rowLength} the whole row's {@code V}.
     */
    void labelGrad(MemorySegment s, long off, int n, float invT, double m, double logD, int label, float smoothing,
                   long rowLength, boolean extreme, MemorySegment grad, long gOff, float gradScale);

    /** {@code (q − p) · g/T}: the gradient of soft CE and KL. */
    void qMinusP(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, double mt, double logDt,
                 double ms, double logDs, boolean extreme, MemorySegment grad, long gOff, float gradScale);

    /**
     * Reverse-KL gradient {@code q (c − mean) · g/T}, {@code c = (s − ms)/T − (t − tk)/T} (SPEC §1;
     * {@code ms} is the student's maximum, {@code tk} the teacher logit at its first occurrence).
     */
    void rklGrad(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, double ms, double logDs,
                 double tk, double mean, boolean extreme, MemorySegment grad, long gOff, float gradScale);

    /** JSD gradient {@code (1−β) q (log q − log M − towardQ) · g/T}. */
    void jsdGrad(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta, double mt,
                 double logDt, double ms, double logDs, double towardQ, boolean extreme, MemorySegment grad,
                 long gOff, float gradScale);
}
