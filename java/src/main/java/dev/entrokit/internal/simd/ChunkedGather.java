package dev.entrokit.internal.simd;

import dev.entrokit.DType;
import dev.entrokit.internal.RowSplit;
import java.lang.foreign.MemorySegment;

/**
 * The candidate gather and sort of {@link SimdSelectionKernels#rank} for one float32 row cut into the chunks of
 * {@link RowSplit}, so that a batch-1 sampling step runs on every thread: each chunk gathers its tokens at or above
 * the threshold and sorts them into SPEC order, then the caller merges the sorted pieces. Sort keys are distinct
 * (the id is part of the key), so the merged order, and so every later step, is exactly the whole-row sort's.
 * On a batch-1 row of 128256 logits the gather and the sort are about 13 of the step's 17 µs (one thread, thread
 * CPU time, T → top-k 50 → top-p 0.9).
 */
final class ChunkedGather {
    private ChunkedGather() {
    }

    /**
     * Fills {@code c} as {@link SimdSelectionKernels#gather} followed by {@link Candidates#sort} would, and returns
     * the row maximum as the sort does; NaN when a logit is NaN (the row is special: {@code c} then holds nothing
     * to use).
     */
    static float gatherSorted(MemorySegment x, long off, int n, float threshold, Candidates c, RowSplit split) {
        int chunks = RowSplit.chunks(n);
        boolean[] clean = c.pieceFlags(chunks);
        c.preparePieces(chunks);
        split.run(chunks, k -> {
            Candidates piece = c.piece(k);
            int from = RowSplit.start(k);
            clean[k] = SimdSelectionKernels.gather(x, off + from, RowSplit.end(k, n) - from, threshold, piece);
            if (clean[k]) {
                piece.sortKeys(DType.F32, x, off, from);
            }
        });
        for (int k = 0; k < chunks; k++) {
            if (!clean[k]) {
                return Float.NaN;
            }
        }
        c.mergePieces(chunks);
        c.threshold = threshold;
        return c.fromKeys(DType.F32, x, off);
    }

    /**
     * {@link SimdSelectionKernels#sampleLargest} over the {@code vectors} sample vectors, cut into one run of vectors per
     * chunk of the row: each piece keeps its own {@code r} largest, then the caller keeps the {@code r} largest of
     * theirs. Returns how many {@code largest} holds.
     */
    static int sampleLargest(MemorySegment x, long off, int vectors, long stride, int r, float[] largest,
                             RowSplit split) {
        Candidates c = Candidates.get();
        int pieces = Math.min(vectors, RowSplit.chunks((int) Math.min(Integer.MAX_VALUE, vectors * stride)));
        int[] filled = c.pieceCounts(pieces);
        c.preparePieces(pieces);
        split.run(pieces, k -> {
            Candidates piece = c.piece(k);
            filled[k] = SimdSelectionKernels.sampleLargest(x, off, (int) ((long) vectors * k / pieces),
                    (int) ((long) vectors * (k + 1) / pieces), stride, r, piece.largest);
        });
        int total = 0;
        for (int k = 0; k < pieces; k++) {
            total = SimdSelectionKernels.keepLargest(c.piece(k).largest, filled[k], largest, total, r);
        }
        return total;
    }
}
