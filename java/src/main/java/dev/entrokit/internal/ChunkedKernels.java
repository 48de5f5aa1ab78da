package dev.entrokit.internal;

import static dev.entrokit.internal.PartialStateKernels.BAD;
import static dev.entrokit.internal.PartialStateKernels.D;
import static dev.entrokit.internal.PartialStateKernels.DS;
import static dev.entrokit.internal.PartialStateKernels.FLAGS;
import static dev.entrokit.internal.PartialStateKernels.INF_REV;
import static dev.entrokit.internal.PartialStateKernels.M;
import static dev.entrokit.internal.PartialStateKernels.MS;
import static dev.entrokit.internal.PartialStateKernels.U;
import static dev.entrokit.internal.PartialStateKernels.V;
import static dev.entrokit.internal.PartialStateKernels.WIDTH;

import dev.entrokit.ShardOp;
import java.lang.foreign.MemorySegment;

/**
 * Rows longer than {@link #CHUNK} run as fixed chunks of {@link #CHUNK} elements: each chunk's partial state
 * (SPEC §8), merged in chunk order, then each chunk's outputs or gradient from the merged state. The chunks
 * do not depend on the thread count, and neither does the merge order, so a row gives the same bits on 1 or
 * N threads; {@link RowExecutor#forEachChunk} spreads a row's chunks over the pool when the batch has fewer
 * rows than threads (batch-1 decoding), and runs them in turn on the row's thread otherwise. Shorter rows,
 * and the ops without partial states (Jeffreys, TV, Hellinger, the backward passes), go to the backend's
 * whole-row kernels.
 *
 * <p>Chunking changes a long row's rounding against the whole-row kernels (a sum per chunk, merged in
 * float64), within SPEC §5, and the same on every thread count. A row allocates its chunk records (a few
 * doubles per 32768 elements), not per element.
 */
public final class ChunkedKernels implements DistributionKernels {
    /**
     * Elements per chunk: 128 KiB of float32 stays in L2 between a chunk's statistics and its output pass,
     * and a 128256-token row makes four chunks, enough for two to four threads.
     */
    public static final int CHUNK = 1 << 15;

    private final DistributionKernels inner;
    private final PartialStateKernels ps;
    private final RowExecutor exec;

    private ChunkedKernels(DistributionKernels inner, PartialStateKernels ps, RowExecutor exec) {
        this.inner = inner;
        this.ps = ps;
        this.exec = exec;
    }

    /** The backend's SPEC §1 kernels, with rows longer than {@link #CHUNK} chunked over {@code exec}. */
    public static DistributionKernels wrap(Backend backend, RowExecutor exec) {
        return new ChunkedKernels(backend.distribution(), backend.partialStates(), exec);
    }

    /** Whether a row of {@code n} elements runs in chunks. */
    public static boolean chunked(long n) {
        return n > CHUNK;
    }

    private static int chunks(int n) {
        return (int) (((long) n + CHUNK - 1) / CHUNK);
    }

    private static int length(int n, int c) {
        return Math.min(CHUNK, n - c * CHUNK);
    }

    /** One chunk's phase-1 record. */
    @FunctionalInterface
    private interface ChunkState {
        void run(int start, int len, double[] st, int base);
    }

    /** Chunk records in parallel, then merged in chunk order into the record at {@code chunks·WIDTH}. */
    private double[] states(ShardOp op, int n, float invT, ChunkState task) {
        int c = chunks(n);
        double[] st = new double[(c + 1) * WIDTH];
        exec.forEachChunk(c, i -> task.run(i * CHUNK, length(n, i), st, i * WIDTH));
        int merged = c * WIDTH;
        PartialStates.copy(st, 0, st, merged);
        for (int i = 1; i < c; i++) {
            PartialStates.merge(op, invT, st, merged, st, i * WIDTH, st, merged);
        }
        return st;
    }

    private static int merged(int n) {
        return chunks(n) * WIDTH;
    }

    private static boolean nanRow(boolean pair, double[] st, int b) {
        return ((int) st[b + FLAGS] & BAD) != 0 || st[b + M] == Double.NEGATIVE_INFINITY
                || (pair && st[b + MS] == Double.NEGATIVE_INFINITY);
    }

    /** NaN in every entry of {@code out}: the log-softmax writer with {@code log d = NaN}. */
    private void fillNaN(MemorySegment x, long xOff, MemorySegment out, long outOff, int n) {
        exec.forEachChunk(chunks(n), i -> ps.logSoftmax(x, xOff + (long) i * CHUNK, length(n, i), 1f, 0, Double.NaN, out,
                outOff + (long) i * CHUNK));
    }

    private double[] singleStates(ShardOp op, MemorySegment x, long xOff, int n, float invT, boolean entropy,
                                  int label, boolean sumShifted) {
        return states(op, n, invT, (start, len, st, b) -> ps.single(x, xOff + start, len, start, invT, entropy,
                label >= start && label < start + len ? label - start : -1, sumShifted, st, b));
    }

    private double[] pairStates(ShardOp op, MemorySegment t, long tOff, MemorySegment s, long sOff, int n,
                                float invT) {
        return states(op, n, invT, (start, len, st, b) -> ps.pair(op, t, tOff + start, s, sOff + start, len, start,
                invT, st, b));
    }

    @Override
    public double logSumExp(MemorySegment x, long xOff, int n, float invT) {
        if (!chunked(n)) {
            return inner.logSumExp(x, xOff, n, invT);
        }
        double[] st = singleStates(ShardOp.LOG_SUM_EXP, x, xOff, n, invT, false, -1, false);
        return PartialStates.finish(ShardOp.LOG_SUM_EXP, invT, 0, 0, n, st, merged(n));
    }

    @Override
    public void softmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
        if (!chunked(n)) {
            inner.softmax(x, xOff, out, outOff, n, invT);
            return;
        }
        writeSoftmax(x, xOff, out, outOff, n, invT, false);
    }

    @Override
    public void logSoftmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
        if (!chunked(n)) {
            inner.logSoftmax(x, xOff, out, outOff, n, invT);
            return;
        }
        writeSoftmax(x, xOff, out, outOff, n, invT, true);
    }

    /**
     * Long rows: the statistics from the same chunked passes as {@link #logSumExp} and {@link #entropy} (so the
     * same bits), read before the output is written ({@code out} may be {@code x}); not yet one pass.
     */
    @Override
    public void softmaxStats(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT,
                             boolean log, double[] stats) {
        if (!chunked(n)) {
            inner.softmaxStats(x, xOff, out, outOff, n, invT, log, stats);
            return;
        }
        double[] st = singleStates(ShardOp.ENTROPY, x, xOff, n, invT, true, -1, false);
        int b = merged(n);
        stats[0] = nanRow(false, st, b) ? Double.NaN : st[b + M];
        stats[1] = logSumExp(x, xOff, n, invT);
        stats[2] = PartialStates.finish(ShardOp.ENTROPY, invT, 0, 0, n, st, b);
        writeSoftmax(x, xOff, out, outOff, n, invT, log);
    }

    /**
     * Softmax keeps each chunk's exponentials where the backend can ({@link PartialStateKernels#expStats}) and then
     * only rescales them: one exp per element, as the whole-row kernel; log-softmax needs no exponentials.
     */
    private void writeSoftmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT,
                              boolean log) {
        boolean[] kept = new boolean[chunks(n)];
        double[] st = log ? singleStates(ShardOp.LOG_SUM_EXP, x, xOff, n, invT, false, -1, false)
                : states(ShardOp.LOG_SUM_EXP, n, invT, (start, len, s, b) ->
                        kept[start / CHUNK] = ps.expStats(x, xOff + start, len, start, invT, out, outOff + start, s, b));
        int b = merged(n);
        if (nanRow(false, st, b)) {
            fillNaN(x, xOff, out, outOff, n);
            return;
        }
        double m = st[b + M];
        double logD = Math.log(st[b + D]);
        exec.forEachChunk(chunks(n), i -> {
            long at = (long) i * CHUNK;
            if (log) {
                ps.logSoftmax(x, xOff + at, length(n, i), invT, m, logD, out, outOff + at);
            } else if (kept[i]) {
                double mi = st[i * WIDTH + M];
                double factor = mi == Double.NEGATIVE_INFINITY ? 0 : Math.exp((mi - m) * invT - logD);
                ps.scale(out, outOff + at, length(n, i), factor);
            } else {
                ps.softmax(x, xOff + at, length(n, i), invT, m, logD, out, outOff + at);
            }
        });
    }

    @Override
    public void softmaxBackward(MemorySegment p, long pOff, MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                                int n, float invT) {
        inner.softmaxBackward(p, pOff, dy, dyOff, dx, dxOff, n, invT);
    }

    @Override
    public void logSoftmaxBackward(MemorySegment y, long yOff, MemorySegment dy, long dyOff, MemorySegment dx,
                                   long dxOff, int n, float invT) {
        inner.logSoftmaxBackward(y, yOff, dy, dyOff, dx, dxOff, n, invT);
    }

    @Override
    public double entropy(MemorySegment x, long xOff, int n, float invT, MemorySegment grad, long gradOff,
                          float gradScale) {
        if (!chunked(n)) {
            return inner.entropy(x, xOff, n, invT, grad, gradOff, gradScale);
        }
        double[] st = singleStates(ShardOp.ENTROPY, x, xOff, n, invT, true, -1, false);
        int b = merged(n);
        double h = PartialStates.finish(ShardOp.ENTROPY, invT, 0, 0, n, st, b);
        if (grad != null) {
            if (nanRow(false, st, b)) {
                fillNaN(x, xOff, grad, gradOff, n);
            } else {
                double m = st[b + M];
                double logD = Math.log(st[b + D]);
                boolean extreme = PartialStates.extreme(false, invT, st, b);
                exec.forEachChunk(chunks(n), i -> ps.entropyGrad(x, xOff + (long) i * CHUNK, length(n, i), invT, m,
                        logD, h, extreme, grad, gradOff + (long) i * CHUNK, gradScale));
            }
        }
        return h;
    }

    @Override
    public double crossEntropy(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                               MemorySegment grad, long gradOff, float gradScale) {
        if (!chunked(n)) {
            return inner.crossEntropy(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        return qMinusPLoss(ShardOp.CROSS_ENTROPY, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
    }

    @Override
    public double kl(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, MemorySegment grad,
                     long gradOff, float gradScale) {
        if (!chunked(n)) {
            return inner.kl(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        return qMinusPLoss(ShardOp.KL, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
    }

    /** Soft CE and KL: their gradient is {@code q − p}, finite where the loss is {@code +inf} (SPEC §1). */
    private double qMinusPLoss(ShardOp op, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                               MemorySegment grad, long gradOff, float gradScale) {
        double[] st = pairStates(op, t, tOff, s, sOff, n, invT);
        int b = merged(n);
        double value = PartialStates.finish(op, invT, 0, 0, n, st, b);
        if (grad != null) {
            if (nanRow(true, st, b)) {
                fillNaN(s, sOff, grad, gradOff, n);
            } else {
                double mt = st[b + M];
                double logDt = Math.log(st[b + D]);
                double ms = st[b + MS];
                double logDs = Math.log(st[b + DS]);
                boolean extreme = PartialStates.extreme(true, invT, st, b);
                exec.forEachChunk(chunks(n), i -> {
                    long at = (long) i * CHUNK;
                    ps.qMinusP(t, tOff + at, s, sOff + at, length(n, i), invT, mt, logDt, ms, logDs, extreme, grad,
                            gradOff + at, gradScale);
                });
            }
        }
        return value;
    }

    @Override
    public double crossEntropyLabel(MemorySegment s, long sOff, int n, int label, float smoothing, float invT,
                                    MemorySegment grad, long gradOff, float gradScale) {
        if (!chunked(n)) {
            return inner.crossEntropyLabel(s, sOff, n, label, smoothing, invT, grad, gradOff, gradScale);
        }
        double[] st = singleStates(ShardOp.CROSS_ENTROPY_LABELS, s, sOff, n, invT, false, label, smoothing > 0);
        int b = merged(n);
        double value = PartialStates.finish(ShardOp.CROSS_ENTROPY_LABELS, invT, 0, smoothing, n, st, b);
        if (grad != null) {
            if (nanRow(false, st, b)) {
                fillNaN(s, sOff, grad, gradOff, n);
            } else {
                double m = st[b + M];
                double logD = Math.log(st[b + D]);
                exec.forEachChunk(chunks(n), i -> {
                    long at = (long) i * CHUNK;
                    int len = length(n, i);
                    int local = label >= at && label < at + len ? (int) (label - at) : -1;
                    ps.labelGrad(s, sOff + at, len, invT, m, logD, local, smoothing, n, false, grad, gradOff + at,
                            gradScale);
                });
            }
        }
        return value;
    }

    @Override
    public double rkl(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, MemorySegment grad,
                      long gradOff, float gradScale) {
        if (!chunked(n)) {
            return inner.rkl(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        double[] st = pairStates(ShardOp.RKL, t, tOff, s, sOff, n, invT);
        int b = merged(n);
        double value = PartialStates.finish(ShardOp.RKL, invT, 0, 0, n, st, b);
        if (grad != null) {
            // An infinite reverse KL has no derivative: NaN in every entry (SPEC §1).
            if (nanRow(true, st, b) || ((int) st[b + FLAGS] & INF_REV) != 0) {
                fillNaN(s, sOff, grad, gradOff, n);
            } else {
                double ms = st[b + MS];
                double logDs = Math.log(st[b + DS]);
                double tk = st[b + V];
                double mean = st[b + U] / st[b + DS];
                boolean extreme = PartialStates.extreme(true, invT, st, b);
                exec.forEachChunk(chunks(n), i -> {
                    long at = (long) i * CHUNK;
                    ps.rklGrad(t, tOff + at, s, sOff + at, length(n, i), invT, ms, logDs, tk, mean, extreme, grad,
                            gradOff + at, gradScale);
                });
            }
        }
        return value;
    }

    @Override
    public double jsd(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta,
                      MemorySegment grad, long gradOff, float gradScale) {
        if (!chunked(n)) {
            return inner.jsd(t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        double[] st = pairStates(ShardOp.JSD, t, tOff, s, sOff, n, invT);
        int b = merged(n);
        if (nanRow(true, st, b)) {
            if (grad != null) {
                fillNaN(s, sOff, grad, gradOff, n);
            }
            return Double.NaN;
        }
        double mt = st[b + M];
        double logDt = Math.log(st[b + D]);
        double ms = st[b + MS];
        double logDs = Math.log(st[b + DS]);
        boolean extreme = PartialStates.extreme(true, invT, st, b);
        int c = chunks(n);
        double[] terms = new double[2 * c];
        exec.forEachChunk(c, i -> {
            long at = (long) i * CHUNK;
            double[] two = new double[2];
            ps.jsdTerms(t, tOff + at, s, sOff + at, length(n, i), invT, beta, mt, logDt, ms, logDs, extreme, two);
            terms[2 * i] = two[0];
            terms[2 * i + 1] = two[1];
        });
        double towardP = 0;
        double towardQ = 0;
        for (int i = 0; i < c; i++) {
            towardP += terms[2 * i];
            towardQ += terms[2 * i + 1];
        }
        double value = beta * towardP + (1.0 - beta) * towardQ;
        if (grad != null) {
            double q = towardQ;
            exec.forEachChunk(c, i -> {
                long at = (long) i * CHUNK;
                ps.jsdGrad(t, tOff + at, s, sOff + at, length(n, i), invT, beta, mt, logDt, ms, logDs, q, extreme,
                        grad, gradOff + at, gradScale);
            });
        }
        return value;
    }

    @Override
    public double jeffreys(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                           MemorySegment grad, long gradOff, float gradScale) {
        return inner.jeffreys(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
    }

    @Override
    public double tv(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT) {
        return inner.tv(t, tOff, s, sOff, n, invT);
    }

    @Override
    public double hellinger(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT) {
        return inner.hellinger(t, tOff, s, sOff, n, invT);
    }
}
