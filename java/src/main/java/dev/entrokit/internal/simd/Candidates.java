package dev.entrokit.internal.simd;

import dev.entrokit.DType;
import dev.entrokit.internal.RowSplit;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The tokens a selection kernel looks at closely, per thread so that a row allocates nothing once
 * the arrays have grown: every token whose logit is {@code ≥ threshold}, in SPEC order (logit
 * descending, ties by ascending index), with float64 weights {@code exp((x − max)/T)} computed as the
 * scalar reference computes them.
 *
 * <p>Every filter keeps a prefix of SPEC order, and every token outside this set ranks after every
 * token in it, so a filter whose cut falls inside the set is decided exactly; one whose cut may fall
 * outside asks for a lower threshold (see {@code SimdSelectionKernels.keptPrefix}).
 */
final class Candidates {
    private static final ThreadLocal<Candidates> CURRENT = ThreadLocal.withInitial(Candidates::new);

    /** Gather buffer first (token ids, unordered), then ids in SPEC order. */
    int[] index = new int[0];
    /** Sort keys: order-reversed sortable logit above the id. */
    long[] key = new long[0];
    /** Logits in SPEC order, as read (a {@code -0.0} stays one). */
    float[] logit = new float[0];
    /** Weights in SPEC order: the first {@link #weighed} of them, as {@link #weigh} computed them. */
    double[] weight = new double[0];
    /** The window of {@link WideCut}: ids, logits and float32 weights of tokens below the candidates. */
    int[] winIndex = new int[0];
    float[] winLogit = new float[0];
    float[] winWeight = new float[0];
    final double[] splitMass = new double[WideCut.SPLITS];
    final float[] splitAt = new float[WideCut.SPLITS];
    /** The pieces of a row cut into chunks, and the merge's second buffer (see {@link #mergePieces}). */
    private Candidates[] pieces = new Candidates[0];
    private long[] scratch = new long[0];
    private int[] bounds = new int[0];
    private boolean[] flags = new boolean[0];
    private int[] counts = new int[0];
    /** Scratch for the sampled threshold. */
    final float[] largest = new float[SimdSelectionKernels.MAX_SAMPLE_RANK];

    int count;
    /** How many of the first candidates have their {@link #weight}: 0 after every ranking. */
    private int weighed;
    /** Every token not in the set has a logit below this. */
    float threshold;
    /** The row maximum (NaN for a special row). */
    float max;
    /** The kept prefix length of the last ranking, when it answered {@link Kept#PREFIX}. */
    int kept;
    /**
     * Whether the kept set reaches below the candidates: then it is every token the cut
     * {@code (cutLogit, cutIndex)} keeps (see {@link WideCut}).
     */
    boolean wide;
    float cutLogit;
    int cutIndex;
    /**
     * Who may run the whole-row passes of the ranking in progress on this thread ({@link RowSplit}): set by
     * {@code SimdSelectionKernels.rank} for a long float32 row with helpers, {@link RowSplit#SERIAL} otherwise.
     */
    RowSplit split = RowSplit.SERIAL;
    /** {@code Σ exp((x − max)/T)} over the whole row in float32 SIMD, NaN until a filter needs it. */
    double rowTotal;

    static Candidates get() {
        return CURRENT.get();
    }

    /**
     * Room for {@code need} candidates, keeping the gathered ids: grown to what a ranking gathers, never
     * to the row. The new arrays are all allocated before any is installed, so an allocation that fails
     * leaves the old, consistent set.
     */
    void grow(int need) {
        if (index.length >= need) {
            return;
        }
        int size = capacityFor(need);
        int[] newIndex = Arrays.copyOf(index, size);
        long[] newKey = key.length >= size ? key : new long[size];
        float[] newLogit = new float[size];
        double[] newWeight = new double[size];
        index = newIndex;
        key = newKey;
        logit = newLogit;
        weight = newWeight;
        weighed = 0;
    }

    /** Room for {@code need} window entries, keeping those gathered; all-or-nothing as {@link #grow}. */
    void growWindow(int need) {
        if (winIndex.length >= need) {
            return;
        }
        int size = capacityFor(need);
        int[] newIndex = Arrays.copyOf(winIndex, size);
        float[] newLogit = Arrays.copyOf(winLogit, size);
        float[] newWeight = new float[size];
        long[] newKey = key.length >= size ? key : new long[size]; // also sorts the last window
        winIndex = newIndex;
        winLogit = newLogit;
        winWeight = newWeight;
        key = newKey;
    }

    /** At least {@code need} plus a vector of spill-over, doubling so that a growing ranking copies little. */
    private static int capacityFor(int need) {
        long size = Math.max((long) need + SimdConstants.L, Math.max(1024, Long.highestOneBit(need) << 1));
        return (int) Math.min(size, Integer.MAX_VALUE - 8);
    }

    /** The sort key of a token: larger logits first, then lower ids; {@code -0.0} ties with {@code 0.0}. */
    static long key(float x, int i) {
        int bits = Float.floatToIntBits(x + 0f);
        int sortable = bits ^ ((bits >> 31) & 0x7FFFFFFF); // signed-int order == float order
        return ((long) ~sortable << 32) | i;
    }

    /**
     * Sorts the gathered ids of row {@code x} into SPEC order; returns the row maximum (the first
     * logit), which every token not gathered is below. Weights follow on demand ({@link #weigh}): top-k
     * alone never needs them.
     */
    float sort(MemorySegment x, long off) {
        return sort(DType.F32, x, off);
    }

    /** {@link #sort(MemorySegment, long)} on a row of {@code type} elements (F32, BF16 or F16). */
    float sort(DType type, MemorySegment x, long off) {
        sortKeys(type, x, off, 0);
        return fromKeys(type, x, off);
    }

    /**
     * Sorts the gathered ids, which are relative to element {@code base} of the row at {@code off}, into
     * {@link #key} in SPEC order: a piece of a row cut into chunks sorts its own candidates this way.
     */
    void sortKeys(DType type, MemorySegment x, long off, int base) {
        for (int j = 0; j < count; j++) {
            int i = base + index[j];
            key[j] = key(HalfSelectionPasses.at(type, x, off + i), i);
        }
        Arrays.sort(key, 0, count);
    }

    /** Fills {@link #index} and {@link #logit} from the sorted {@link #key}; returns the first logit, as {@link #sort}. */
    float fromKeys(DType type, MemorySegment x, long off) {
        for (int j = 0; j < count; j++) {
            int i = (int) key[j];
            index[j] = i;
            logit[j] = HalfSelectionPasses.at(type, x, off + i);
        }
        weighed = 0;
        return logit[0] + 0f;
    }

    /** One flag per chunk, for the pieces' gathers to say whether their chunk was free of NaN. */
    boolean[] pieceFlags(int chunks) {
        if (flags.length < chunks) {
            flags = new boolean[chunks];
        }
        return flags;
    }

    /** One count per piece of a row cut into chunks, reused per thread. */
    int[] pieceCounts(int chunks) {
        if (counts.length < chunks) {
            counts = new int[chunks];
        }
        return counts;
    }

    /**
     * Makes the candidate sets of chunks {@code 0..chunks-1} of a row cut into chunks (see {@link ChunkedGather}),
     * on the calling thread before the chunks run, so that the threads running them only read {@link #piece}.
     */
    void preparePieces(int chunks) {
        if (pieces.length < chunks) {
            pieces = Arrays.copyOf(pieces, Math.max(chunks, 2 * pieces.length));
        }
        for (int c = 0; c < chunks; c++) {
            if (pieces[c] == null) {
                pieces[c] = new Candidates();
            }
        }
    }

    /** The candidate set of chunk {@code c}, made by {@link #preparePieces}. */
    Candidates piece(int c) {
        return pieces[c];
    }

    /**
     * Sets this set to the union of {@code chunks} pieces whose keys are each sorted: their keys merged into
     * {@link #key} in SPEC order (the keys are distinct, so the order is the one a sort of the union gives).
     */
    void mergePieces(int chunks) {
        int total = 0;
        for (int c = 0; c < chunks; c++) {
            total += pieces[c].count;
        }
        grow(total);
        if (scratch.length < total) {
            scratch = new long[key.length];
        }
        // Runs laid end to end, then merged pairwise until one is left: log2(chunks) passes over the candidates.
        if (bounds.length < chunks + 1) {
            bounds = new int[chunks + 1];
        }
        for (int c = 0, at = 0; c < chunks; c++) {
            System.arraycopy(pieces[c].key, 0, key, at, pieces[c].count);
            at += pieces[c].count;
            bounds[c + 1] = at;
        }
        long[] from = key;
        long[] to = scratch;
        for (int width = 1; width < chunks; width *= 2) {
            for (int lo = 0; lo < chunks; lo += 2 * width) {
                int mid = Math.min(lo + width, chunks);
                int hi = Math.min(lo + 2 * width, chunks);
                merge(from, bounds[lo], bounds[mid], bounds[hi], to);
            }
            long[] t = from;
            from = to;
            to = t;
        }
        if (from != key) {
            System.arraycopy(from, 0, key, 0, total);
        }
        count = total;
    }

    private static void merge(long[] a, int lo, int mid, int hi, long[] out) {
        int i = lo;
        int j = mid;
        int k = lo;
        while (i < mid && j < hi) {
            out[k++] = a[i] <= a[j] ? a[i++] : a[j++];
        }
        while (i < mid) {
            out[k++] = a[i++];
        }
        while (j < hi) {
            out[k++] = a[j++];
        }
    }

    /** Computes every candidate's {@link #weight} at temperature {@code t}, as the scalar reference does. */
    void weigh(float t) {
        weigh(t, count);
    }

    /**
     * Computes {@link #weight} at temperature {@code t} for the first {@code min(len, count)} candidates, those not
     * weighed yet since the ranking: a filter reads the weights only as far as its cut can fall, and a top-k ahead of
     * it leaves that at k, fewer than a sampled threshold gathers (T 0.8 → top-k 50 → top-p 0.9 on one row of 128256
     * heavy-tailed logits: 16.7–16.9 → 16.0–16.4 µs per step, top-k 40 → min-p 16.3–16.6 → 15.6–16.0, one thread's CPU
     * time, two alternated pairs of JVMs on a loaded machine). Each weight is the same expression whenever it is
     * computed, so the bits do not depend on how far the filters read.
     */
    void weigh(float t, int len) {
        int upTo = Math.min(len, count);
        for (int j = weighed; j < upTo; j++) {
            weight[j] = Math.exp(((double) logit[j] - max) / t);
        }
        weighed = Math.max(weighed, upTo);
    }

    /** {@code Σ_{j < len} weight[j]} in SPEC order, as the scalar reference adds it. */
    double prefixSum(int len) {
        double s = 0;
        for (int j = 0; j < len; j++) {
            s += weight[j];
        }
        return s;
    }
}
