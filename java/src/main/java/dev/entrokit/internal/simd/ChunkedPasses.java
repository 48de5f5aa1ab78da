package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.F;

import dev.entrokit.internal.RowSplit;
import java.lang.foreign.MemorySegment;

/**
 * The {@link RowPasses} of the softmax family for one row cut into the fixed chunks of {@link RowSplit}, so that a
 * batch-1 row runs on every thread: each pass runs chunk by chunk under the split, and whatever is summed is summed
 * per summation block and joined on the caller in block order, exactly as the whole-row pass joins it. A chunk
 * starts at a multiple of every width's block, so the blocks, and so the bits, are those of the whole row whoever
 * runs the chunks. Rows shorter than {@link RowSplit#MIN_LENGTH}, and rows with no helper ({@link RowSplit#SERIAL}), run
 * the whole-row pass.
 */
final class ChunkedPasses {
    private ChunkedPasses() {
    }

    /**
     * {@link RowPasses#maxAndMin} over the chunks: {@code acc[0]} the largest logit, {@code acc[1]} the smallest
     * other than {@code −inf}. Chunks are merged in chunk order with the pass's own comparisons, so a NaN is
     * skipped as it is there.
     */
    static void maxAndMin(MemorySegment x, long off, int n, RowSplit split, double[] acc) {
        if (whole(n, split)) {
            RowPasses.maxAndMin(x, off, n, acc);
            return;
        }
        int chunks = RowSplit.chunks(n);
        double[] st = Workspace.get().chunkStats(2 * chunks);
        split.run(chunks, c -> {
            double[] mine = Workspace.get().acc;
            int from = RowSplit.start(c);
            RowPasses.maxAndMin(x, off + from, RowSplit.end(c, n) - from, mine);
            st[2 * c] = mine[0];
            st[2 * c + 1] = mine[1];
        });
        double hi = st[0];
        double lo = st[1];
        for (int c = 1; c < chunks; c++) {
            hi = st[2 * c] > hi ? st[2 * c] : hi;
            lo = st[2 * c + 1] < lo ? st[2 * c + 1] : lo;
        }
        if (hi == 0) {
            // Which zero the whole-row pass reports depends on its lanes' order (the first zero a lane sees stays),
            // which a merge of chunk maxima cannot replay: such a row takes the whole-row pass, for the sign of rowMax.
            RowPasses.maxAndMin(x, off, n, acc);
            return;
        }
        acc[0] = hi;
        acc[1] = lo;
    }

    /**
     * {@link RowPasses#max} over the chunks (a row shorter than {@link RowSplit#MIN_LENGTH}: that pass itself). A zero
     * maximum may come with the other sign than the whole-row pass's, which no caller here can tell: the row is
     * shifted by it ({@code x·½ − m/2} is the same for ±0 but at {@code x = −0}, whose exp is 1 either way).
     */
    static float max(MemorySegment x, long off, int n, RowSplit split) {
        if (whole(n, split)) {
            return RowPasses.max(x, off, n);
        }
        double[] acc = Workspace.get().acc;
        maxAndMin(x, off, n, split, acc);
        return (float) acc[0];
    }

    /**
     * {@link RowPasses#sumExp} (or, with an {@code out}, {@link RowPasses#expStore}) with its blocks summed, and
     * stored, chunk by chunk.
     */
    static double sumExp(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float negHalfM,
                         float twoInvT, RowSplit split) {
        Workspace ws = Workspace.get();
        if (whole(n, split)) {
            return out == null ? RowPasses.sumExp(x, xOff, n, negHalfM, twoInvT, ws.lanes)
                    : RowPasses.expStore(x, xOff, out, outOff, n, negHalfM, twoInvT, ws.lanes);
        }
        int upper = F.loopBound(n);
        double[] sums = ws.blockSums(upper);
        split.run(RowSplit.chunks(upper), c -> RowPasses.sumExpBlocks(x, xOff, out, outOff, RowSplit.start(c),
                RowSplit.end(c, upper), negHalfM, twoInvT, sums, Workspace.get().lanes));
        return RowPasses.joinSumExp(x, xOff, out, outOff, n, negHalfM, twoInvT, sums);
    }

    /** {@link RowPasses#entropySums} with its blocks summed chunk by chunk. */
    static void entropySums(MemorySegment x, long off, int n, float negHalfM, float twoInvT, RowSplit split,
                            double[] acc) {
        Workspace ws = Workspace.get();
        if (whole(n, split)) {
            RowPasses.entropySums(x, off, n, negHalfM, twoInvT, acc, ws.lanes);
            return;
        }
        int upper = F.loopBound(n);
        double[] sums = ws.blockSums(upper);
        split.run(RowSplit.chunks(upper), c -> {
            RowPasses.entropyBlocks(x, off, RowSplit.start(c), RowSplit.end(c, upper), negHalfM, twoInvT, sums,
                    Workspace.get().lanes);
        });
        RowPasses.joinEntropySums(x, off, null, 0, n, negHalfM, twoInvT, sums, acc);
    }

    /** {@link RowPasses#expStoreEntropySums} with its blocks summed and stored chunk by chunk. */
    static void expStoreEntropySums(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float negHalfM,
                                    float twoInvT, RowSplit split, double[] acc) {
        Workspace ws = Workspace.get();
        if (whole(n, split)) {
            RowPasses.expStoreEntropySums(x, xOff, out, outOff, n, negHalfM, twoInvT, acc, ws.lanes);
            return;
        }
        int upper = F.loopBound(n);
        double[] sums = ws.blockSums(upper);
        split.run(RowSplit.chunks(upper), c -> {
            RowPasses.expStoreEntropyBlocks(x, xOff, out, outOff, RowSplit.start(c), RowSplit.end(c, upper),
                    negHalfM, twoInvT, sums, Workspace.get().lanes);
        });
        RowPasses.joinEntropySums(x, xOff, out, outOff, n, negHalfM, twoInvT, sums, acc);
    }

    /**
     * {@code out_i *= factor}, then the staged row {@code dst} copied to {@code out} ({@link SimdRows#publish}), chunk
     * by chunk: an elementwise pass, the same bits over any ranges.
     */
    static void scaleAndPublish(MemorySegment dst, long dstOff, MemorySegment out, long outOff, int n, float factor,
                                RowSplit split) {
        if (whole(n, split)) {
            RowPasses.scale(dst, dstOff, n, factor);
            SimdRows.publish(dst, out, outOff, n);
            return;
        }
        split.run(RowSplit.chunks(n), c -> {
            int from = RowSplit.start(c);
            int len = RowSplit.end(c, n) - from;
            RowPasses.scale(dst, dstOff + from, len, factor);
            publishRange(dst, dstOff, out, outOff, from, len);
        });
    }

    /** {@code out_i = (x_i − m)/T − log d} into {@code dst}, then published to {@code out}, chunk by chunk. */
    static void shiftStoreAndPublish(MemorySegment x, long xOff, MemorySegment dst, long dstOff, MemorySegment out,
                                     long outOff, int n, float negHalfM, float twoInvT, float logD, RowSplit split) {
        if (whole(n, split)) {
            RowPasses.shiftStore(x, xOff, dst, dstOff, n, negHalfM, twoInvT, logD);
            SimdRows.publish(dst, out, outOff, n);
            return;
        }
        split.run(RowSplit.chunks(n), c -> {
            int from = RowSplit.start(c);
            int len = RowSplit.end(c, n) - from;
            RowPasses.shiftStore(x, xOff + from, dst, dstOff + from, len, negHalfM, twoInvT, logD);
            publishRange(dst, dstOff, out, outOff, from, len);
        });
    }

    /**
     * Whether a row runs the whole-row pass: too short to cut, or no helper to share it with. The chunks would give the
     * same bits on one thread, but a chunk's lambda inlined into the caller's compiled unit made C2 box its vectors
     * (batch 1 × 128256 softmax with statistics on one thread: 770 KB allocated and 172 µs per call instead of 65).
     */
    private static boolean whole(int n, RowSplit split) {
        return split == RowSplit.SERIAL || !RowSplit.chunked(n);
    }

    private static void publishRange(MemorySegment dst, long dstOff, MemorySegment out, long outOff, int from,
                                     int len) {
        if (dst != out) {
            MemorySegment.copy(dst, (dstOff + from) * Float.BYTES, out, (outOff + from) * Float.BYTES,
                    (long) len * Float.BYTES);
        }
    }
}
