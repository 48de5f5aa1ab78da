package dev.entrokit.internal.simd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Per-thread scratch for the SIMD kernels, so that a row allocates nothing: multi-value results
 * ({@link #acc}), a lane buffer for reductions in a fixed order ({@link #lanes}), and an off-heap
 * staging row for outputs that live on the heap ({@link #staging}).
 */
final class Workspace {
    private static final ThreadLocal<Workspace> CURRENT = ThreadLocal.withInitial(Workspace::new);

    final double[] acc = new double[4];
    /** Teacher and student row maxima of the pair op in progress. */
    final float[] pairMax = new float[2];
    /** The live spread (max − min) of the teacher and the student row after {@code extremePair}. */
    final double[] pairSpread = new double[2];
    /** Running teacher max, min, student max, min of a streaming pair pass. */
    final float[] pairMaxMin = new float[4];
    final float[] lanes = new float[SimdConstants.L];
    /** One vector block of float lanes: a pair loss's shifted student block, from its teacher loop to its student loop. */
    final float[] block = new float[SimdConstants.BLOCK];
    final double[] doubleLanes = new double[SimdConstants.L];
    private MemorySegment row;
    private final MemorySegment[] probRows = new MemorySegment[2];

    private float[] blockRefs = new float[64];
    private double[] blockSums = new double[64];
    private double[] chunkStats = new double[64];
    private double[] walkMass = new double[64];
    private final float[][] heapRows = new float[4][];

    /** At least {@code size} floats for per-block maxima, reused across calls on this thread ({@code 0}: as is). */
    float[] blockRefs(int size) {
        if (blockRefs.length < size) {
            blockRefs = new float[Math.max(size, 2 * blockRefs.length)];
        }
        return blockRefs;
    }

    /** Two doubles per summation block of the first {@code upper} elements of a row, reused on this thread. */
    double[] blockSums(int upper) {
        int size = 2 * RowPasses.blocks(upper);
        if (blockSums.length < size) {
            blockSums = new double[Math.max(size, 2 * blockSums.length)];
        }
        return blockSums;
    }

    /**
     * One double per summation block of the first {@code upper} elements, for the block masses a sampling walk keeps
     * while the passes it calls use {@link #blockSums}.
     */
    double[] walkMass(int upper) {
        int size = RowPasses.blocks(upper);
        if (walkMass.length < size) {
            walkMass = new double[Math.max(size, 2 * walkMass.length)];
        }
        return walkMass;
    }

    /** {@code size} doubles for the per-chunk results of one row cut into chunks, reused on this thread. */
    double[] chunkStats(int size) {
        if (chunkStats.length < size) {
            chunkStats = new double[Math.max(size, 2 * chunkStats.length)];
        }
        return chunkStats;
    }

    static Workspace get() {
        return CURRENT.get();
    }

    /** An off-heap row of at least {@code n} floats, reused across calls on this thread. */
    MemorySegment staging(int n) {
        if (row == null || row.byteSize() < (long) n * Float.BYTES) {
            row = newRow(n);
        }
        return row;
    }

    /** Row {@code which} (0 or 1) of two more, for probabilities a kernel computes once and reads twice. */
    MemorySegment probRow(int which, int n) {
        MemorySegment r = probRows[which];
        if (r == null || r.byteSize() < (long) n * Float.BYTES) {
            r = newRow(n);
            probRows[which] = r;
        }
        return r;
    }

    /**
     * Heap row {@code which} (0 to 3) of at least {@code n} floats, reused across calls on this thread: for values a
     * kernel stores and reloads itself. A vector load from an array is a far smaller graph for C2 than one from a
     * segment, which keeps a loop that loads four rows and takes a log within its inlining budget.
     */
    float[] heapRow(int which, int n) {
        float[] r = heapRows[which];
        if (r == null || r.length < n) {
            r = new float[Math.max(1024, Integer.highestOneBit(Math.max(n, 1)) << 1)];
            heapRows[which] = r;
        }
        return r;
    }

    private static MemorySegment newRow(int n) {
        return Arena.ofAuto().allocate(Math.max(4096L, Long.highestOneBit((long) n * Float.BYTES) << 1), 64);
    }
}
