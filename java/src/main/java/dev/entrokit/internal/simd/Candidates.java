package dev.entrokit.internal.simd;

import dev.entrokit.DType;
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
    /** Weights in SPEC order, once {@link #weigh} has run. */
    double[] weight = new double[0];
    /** The window of {@link WideCut}: ids, logits and float32 weights of tokens below the candidates. */
    int[] winIndex = new int[0];
    float[] winLogit = new float[0];
    float[] winWeight = new float[0];
    final double[] splitMass = new double[WideCut.SPLITS];
    final float[] splitAt = new float[WideCut.SPLITS];
    /** Scratch for the sampled threshold. */
    final float[] largest = new float[SimdSelectionKernels.MAX_SAMPLE_RANK];

    int count;
    private boolean weighed;
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
        for (int j = 0; j < count; j++) {
            int i = index[j];
            key[j] = key(HalfSelectionPasses.at(type, x, off + i), i);
        }
        Arrays.sort(key, 0, count);
        for (int j = 0; j < count; j++) {
            int i = (int) key[j];
            index[j] = i;
            logit[j] = HalfSelectionPasses.at(type, x, off + i);
        }
        weighed = false;
        return logit[0] + 0f;
    }

    /** Computes {@link #weight} at temperature {@code t}, as the scalar reference does, once per ranking. */
    void weigh(float t) {
        if (!weighed) {
            for (int j = 0; j < count; j++) {
                weight[j] = Math.exp(((double) logit[j] - max) / t);
            }
            weighed = true;
        }
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
