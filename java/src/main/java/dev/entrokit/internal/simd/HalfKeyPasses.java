package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdConstants.ORDER;

import dev.entrokit.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The selection passes that only compare logits (gathering the tokens at or above a threshold, min-p's gather, counting,
 * greedy's argmax, writing a cut's mask), on bfloat16 and binary16 rows read as 16-bit integer keys: both formats are
 * sign and magnitude, so {@code h ^ ((h >> 15) & 0x7FFF)} orders the bit patterns as the values they hold (−0 just below
 * +0, NaNs beyond ±inf), and a float threshold becomes a key once per row ({@link #keyAtLeast}). No conversion to
 * float32, and twice the lanes of a widened vector: the gather over 32 heavy-tailed rows of 128256 took 0.063 ns per
 * element for bf16 and 0.058 for f16 this way, against 0.092 and 0.161 widened in registers and 0.164 for the float32
 * row (one thread, 512 bits, batches in the L3).
 *
 * <p>The decisions are the float comparisons' exactly (a key comparison is the value comparison for every non-NaN
 * pattern; the tests compare against the widened passes), so every result is bitwise that of the float32 kernels on the
 * widened row. One loop serves both types: the operations are the same, only the constants differ ({@code +inf}'s
 * pattern), so the two types share no branch in a loop (see {@link HalfSelectionPasses} on why that matters).
 */
final class HalfKeyPasses {
    /** Shorts in a float vector's bits: twice {@link SimdConstants#L} lanes. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    private static final int SL = S.length();
    private static final VectorSpecies<Integer> I = HalfVectors.I;
    private static final VectorMask<Short> LOW = VectorMask.fromLong(S, (1L << L) - 1);
    private static final VectorMask<Short> HIGH = LOW.not();
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private HalfKeyPasses() {
    }

    // ---------------------------------------------------------------- keys

    /** The bit pattern of {@code +inf} in {@code type} (BF16 or F16). */
    static int infBits(DType type) {
        return type == DType.BF16 ? 0x7F80 : 0x7C00;
    }

    /** The key of {@code +inf} in {@code type}: every key above it is a NaN's. */
    private static int infKey(DType type) {
        return key(infBits(type));
    }

    /** The key of {@code -inf} in {@code type}: every key below it is a NaN's. */
    private static int negInfKey(DType type) {
        return key(infBits(type) | 0x8000);
    }

    /** Whether {@code k} is the key of −0 (−1) or +0 (0): a maximum the float passes return by lane order. */
    private static boolean zero(int k) {
        return k == 0 || k == -1;
    }

    /** The order-preserving key of the 16-bit pattern {@code h} (sign-extended or not). */
    static int key(int h) {
        short s = (short) h;
        return s ^ ((s >> 15) & 0x7FFF);
    }

    private static ShortVector keys(ShortVector h) {
        return h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.ASHR, 15).and((short) 0x7FFF));
    }

    /** The value whose key is {@code k} (keys are their own inverse's input: the map flips the magnitude bits of negatives). */
    static float value(DType type, int k) {
        return type.widen((short) key(k));
    }

    /**
     * The smallest key whose value is {@code ≥ t}, among the keys of {@code −inf} to {@code +inf}; one past {@code +inf}'s key
     * when none is ({@code t} NaN). A binary search over the keys: sixteen widenings per call, once per row or threshold.
     */
    static int keyAtLeast(DType type, float t) {
        int lo = negInfKey(type);
        int hi = infKey(type) + 1;
        while (lo < hi) {
            int mid = (lo + hi) >> 1;
            if (value(type, mid) >= t) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    /** The smallest key whose value is {@code > t}, as {@link #keyAtLeast}. */
    static int keyAbove(DType type, float t) {
        return t == Float.POSITIVE_INFINITY ? infKey(type) + 1 : keyAtLeast(type, Math.nextUp(t));
    }

    private static ShortVector load(MemorySegment x, long i) {
        return ShortVector.fromMemorySegment(S, x, i * Short.BYTES, ORDER);
    }

    // ---------------------------------------------------------------- passes

    /** {@code SimdSelectionKernels.gather} on a half row: the ids of tokens {@code ≥ threshold}; false on a NaN. */
    static boolean gather(DType type, MemorySegment x, long off, int n, float threshold, Candidates c) {
        short atLeast = (short) keyAtLeast(type, threshold);
        ShortVector magnitudes = ShortVector.zero(S);
        int count = 0;
        int upper = S.loopBound(n);
        for (int start = 0; start < upper; start += SimdSelectionKernels.GATHER_BLOCK) {
            int end = Math.min(upper, start + SimdSelectionKernels.GATHER_BLOCK);
            c.grow(count + (end - start));
            int[] out = c.index;
            for (int i = start; i < end; i += SL) {
                ShortVector h = load(x, off + i);
                // NaN is looked for once, at the end: its key is above every threshold, so it is gathered meanwhile.
                magnitudes = magnitudes.max(h.and((short) 0x7FFF));
                VectorMask<Short> keep = keys(h).compare(VectorOperators.GE, atLeast);
                if (keep.anyTrue()) {
                    count = compress(keep.toLong(), i, out, count);
                }
            }
        }
        if (magnitudes.reduceLanes(VectorOperators.MAX) > infBits(type)) {
            return false;
        }
        return SimdSelectionKernels.gatherTail(type, x, off, upper, n, threshold, c, count);
    }

    /**
     * Appends the ids {@code base + j} of the set bits {@code j} of {@code bits} ({@link #SL} of them) to {@code out}.
     * Takes the base id, not a vector of ids: the call site is cold (a kept vector is rare), so C2 may leave it out of
     * line, and a vector argument was then boxed for every call (mixed bf16/f16 JVMs).
     */
    private static int compress(long bits, int base, int[] out, int count) {
        return compressPart(bits >>> L, base + L, out, compressPart(bits, base, out, count));
    }

    /** Appends the ids {@code base + j} of the set bits {@code j < L} of {@code bits} to {@code out}. */
    private static int compressPart(long bits, int base, int[] out, int count) {
        VectorMask<Integer> part = VectorMask.fromLong(I, bits);
        IntVector.zero(I).addIndex(1).add(base).compress(part).intoArray(out, count);
        return count + part.trueCount();
    }

    /**
     * {@code SimdSelectionKernels.gatherMinP} on a half row: the threshold follows the running maximum, as a key
     * recomputed when the maximum rises. Returns the maximum, NaN for a row holding one, {@code +inf} as soon as one is
     * seen, and {@code +inf} with {@code c.count} 0 for a wide cut. A maximum of zero may be the other zero than the
     * float32 pass's (whose vectors and tail order ±0 differently): the cut and the weights made from it are the same.
     */
    static float gatherMinP(DType type, MemorySegment x, long off, int n, float t, float r, Candidates c) {
        double drop = t * Math.log(r);
        int infKey = infKey(type);
        float top = Float.NEGATIVE_INFINITY;
        int topKey = negInfKey(type);
        float threshold = -Float.MAX_VALUE; // masked tokens never enter
        short atLeast = (short) keyAtLeast(type, threshold);
        ShortVector magnitudes = ShortVector.zero(S);
        int count = 0;
        int upper = S.loopBound(n);
        // The blocks are the float32 pass's, whose vectors run to F.loopBound(n), up to L tokens past this loop's: a
        // wide cut is called at the same block starts, so a half row overflows into the ranking, which draws
        // differently, exactly when its widened row does (a reviewer's row: n = 8208 at 512 bits, where the float32
        // pass starts a block that this loop did not, one token in 100,000 drawn differently).
        for (int start = 0; start < F.loopBound(n); start += SimdSelectionKernels.GATHER_BLOCK) {
            int end = Math.min(upper, start + SimdSelectionKernels.GATHER_BLOCK);
            if (count > SimdSelectionKernels.MAX_MINP_CANDIDATES) {
                c.count = 0;
                return Float.POSITIVE_INFINITY; // a wide cut: the ranking takes it
            }
            c.grow(count + Math.max(0, end - start));
            int[] out = c.index;
            for (int i = start; i < end; i += SL) {
                ShortVector h = load(x, off + i);
                magnitudes = magnitudes.max(h.and((short) 0x7FFF));
                ShortVector k = keys(h);
                VectorMask<Short> keep = k.compare(VectorOperators.GE, atLeast);
                if (!keep.anyTrue()) {
                    continue;
                }
                // The maximum is followed per L lanes, as the float32 gather does, so that both gather the same ids
                // (and overflow into the ranking alike, which draws differently).
                for (int half = 0; half < 2; half++) {
                    VectorMask<Short> lanes = half == 0 ? LOW : HIGH;
                    if (!keep.and(lanes).anyTrue()) {
                        continue;
                    }
                    int vmax = k.reduceLanes(VectorOperators.MAX, lanes);
                    if (vmax > topKey) {
                        if (vmax >= infKey) { // +inf, or a NaN (the caller hands both rows to the ranking)
                            return vmax == infKey ? Float.POSITIVE_INFINITY : Float.NaN;
                        }
                        topKey = vmax;
                        top = value(type, vmax);
                        threshold = SimdSelectionKernels.minPFloor(top, drop, t);
                        atLeast = (short) keyAtLeast(type, threshold);
                        keep = k.compare(VectorOperators.GE, atLeast);
                    }
                    count = compressPart(keep.toLong() >>> (half * L), i + half * L, out, count);
                }
            }
        }
        if (magnitudes.reduceLanes(VectorOperators.MAX) > infBits(type)) {
            return Float.NaN;
        }
        c.grow(count + (n - upper));
        int[] out = c.index;
        for (int i = upper; i < n; i++) {
            float v = HalfSelectionPasses.at(type, x, off + i);
            if (Float.isNaN(v) || v == Float.POSITIVE_INFINITY) {
                return v;
            }
            if (v > top) {
                top = v;
                threshold = SimdSelectionKernels.minPFloor(top, drop, t);
            }
            if (v >= threshold) {
                out[count++] = i;
            }
        }
        c.count = count;
        return top;
    }

    /** {@code SimdSelectionKernels.countAtLeast} on a half row: how many elements are {@code ≥ value}. */
    static int countAtLeast(DType type, MemorySegment x, long off, int n, float value) {
        short atLeast = (short) keyAtLeast(type, value);
        short inf = (short) infKey(type);
        int count = 0;
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += SL) {
            ShortVector k = keys(load(x, off + i));
            count += k.compare(VectorOperators.GE, atLeast).and(k.compare(VectorOperators.LE, inf)).trueCount();
        }
        for (; i < n; i++) {
            count += HalfSelectionPasses.at(type, x, off + i) >= value ? 1 : 0;
        }
        return count;
    }

    /**
     * {@code SimdSelectionKernels.argmax} on a half row: the lowest id of the largest logit, or -1 for a special row (a
     * NaN, an infinite maximum). Equal values are one key but for the zeros, −0 and +0, which tie as floats.
     */
    static int argmax(DType type, MemorySegment x, long off, int n) {
        int top = maxKey(type, x, off, n);
        if (top >= infKey(type) || top <= negInfKey(type)) {
            return -1; // +inf, a NaN, or every token -inf
        }
        int lo = top == 0 ? -1 : top; // −0's key is −1, +0's is 0: a float maximum 0 is either
        return firstInRange(x, off, n, lo, top);
    }

    /** The largest key of the row, or {@link Integer#MAX_VALUE} when it holds a NaN of either sign. */
    private static int maxKey(DType type, MemorySegment x, long off, int n) {
        ShortVector a0 = ShortVector.broadcast(S, Short.MIN_VALUE);
        ShortVector a1 = a0;
        ShortVector m0 = ShortVector.zero(S);
        ShortVector m1 = m0;
        int upper = n - n % (2 * SL);
        int i = 0;
        for (; i < upper; i += 2 * SL) {
            ShortVector h0 = load(x, off + i);
            ShortVector h1 = load(x, off + i + SL);
            a0 = a0.max(keys(h0));
            a1 = a1.max(keys(h1));
            m0 = m0.max(h0.and((short) 0x7FFF));
            m1 = m1.max(h1.and((short) 0x7FFF));
        }
        int top = a0.max(a1).reduceLanes(VectorOperators.MAX);
        int magnitude = m0.max(m1).reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            short h = x.getAtIndex(I16, off + i);
            top = Math.max(top, key(h));
            magnitude = Math.max(magnitude, h & 0x7FFF);
        }
        return magnitude > infBits(type) ? Integer.MAX_VALUE : top;
    }

    /**
     * The row's largest value as the float32 max passes ({@code RowPasses.max}) find it, NaNs skipped, {@code -inf}
     * for an empty or wholly masked row; or NaN when the float pass must decide: a row holding a NaN, whose float pass
     * skips it, or whose largest value is zero (the float pass returns the zero its lanes met first).
     */
    static float max(DType type, MemorySegment x, long off, int n) {
        int top = maxKey(type, x, off, n);
        return top > infKey(type) || zero(top) ? Float.NaN
                : top < negInfKey(type) ? Float.NEGATIVE_INFINITY : value(type, top);
    }

    /**
     * {@code RowPasses.maxAndMin} on keys: {@code acc[0]} the largest value, {@code acc[1]} the smallest that is not
     * {@code -inf} ({@code +inf} when none); false, having written nothing, when the float pass must decide (as
     * {@link #max}). The smallest's zero may be the other zero than the float pass's: its uses are differences.
     */
    static boolean maxAndMin(DType type, MemorySegment x, long off, int n, double[] acc) {
        short negInf = (short) negInfKey(type);
        ShortVector hi0 = ShortVector.broadcast(S, Short.MIN_VALUE);
        ShortVector hi1 = hi0;
        ShortVector lo0 = ShortVector.broadcast(S, Short.MAX_VALUE);
        ShortVector lo1 = lo0;
        int upper = n - n % (2 * SL);
        int i = 0;
        for (; i < upper; i += 2 * SL) {
            ShortVector k0 = keys(load(x, off + i));
            ShortVector k1 = keys(load(x, off + i + SL));
            hi0 = hi0.max(k0);
            hi1 = hi1.max(k1);
            lo0 = lo0.min(k0.blend(Short.MAX_VALUE, k0.compare(VectorOperators.EQ, negInf)));
            lo1 = lo1.min(k1.blend(Short.MAX_VALUE, k1.compare(VectorOperators.EQ, negInf)));
        }
        int top = hi0.max(hi1).reduceLanes(VectorOperators.MAX);
        int bottom = lo0.min(lo1).reduceLanes(VectorOperators.MIN);
        for (; i < n; i++) {
            int k = key(x.getAtIndex(I16, off + i));
            top = Math.max(top, k);
            bottom = k == negInf ? bottom : Math.min(bottom, k);
        }
        // A NaN is beyond ±inf's keys: above the largest, or below the smallest live one.
        if (top > infKey(type) || bottom < negInf || zero(top)) {
            return false;
        }
        acc[0] = top < negInf ? Float.NEGATIVE_INFINITY : value(type, top);
        acc[1] = bottom == Short.MAX_VALUE ? Float.POSITIVE_INFINITY : value(type, bottom);
        return true;
    }

    /** The first id whose key is in {@code [lo, hi]}; -1 when none. */
    private static int firstInRange(MemorySegment x, long off, int n, int lo, int hi) {
        short base = (short) lo;
        short width = (short) (hi - lo);
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += SL) {
            VectorMask<Short> hit = keys(load(x, off + i)).sub(base).compare(VectorOperators.ULE, width);
            if (hit.anyTrue()) {
                return i + hit.firstTrue();
            }
        }
        for (; i < n; i++) {
            int k = key(x.getAtIndex(I16, off + i));
            if (k >= lo && k <= hi) {
                return i;
            }
        }
        return -1;
    }

    /**
     * {@code WideCut.writeMask}'s vector part on a half row: keeps {@code x > cutLogit}, and {@code x == cutLogit} at ids
     * up to {@code cutIndex}; one byte per token unless {@code mask} is null; returns how many are kept. Covers the first
     * {@code S.loopBound(n)} tokens.
     */
    static int writeMask(DType type, MemorySegment x, long off, int n, float cutLogit, int cutIndex, MemorySegment mask,
                         long maskOff) {
        short above = (short) keyAbove(type, cutLogit);
        short inf = (short) infKey(type);
        short equalFrom = (short) keyAtLeast(type, cutLogit);
        ShortVector lane = ShortVector.zero(S).addIndex(1);
        int count = 0;
        int upper = S.loopBound(n);
        for (int i = 0; i < upper; i += SL) {
            VectorMask<Short> kept = kept(keys(load(x, off + i)), above, inf, equalFrom, lane, cutIndex - i);
            count += kept.trueCount();
            if (mask != null) {
                long bits = kept.toLong();
                WideCut.spreadMask(bits, mask, maskOff + i);
                WideCut.spreadMask(bits >>> L, mask, maskOff + i + L);
            }
        }
        return count;
    }

    /**
     * {@code WideCut.maskLogits}' vector part from a half row into one of its own type (native {@code dst}): the kept
     * elements' bits as read, {@code -inf}'s for the others, over the first {@code S.loopBound(n)} tokens.
     */
    static void maskLogits(DType type, MemorySegment x, long off, int n, float cutLogit, int cutIndex, MemorySegment dst,
                           long dstOff) {
        short above = (short) keyAbove(type, cutLogit);
        short inf = (short) infKey(type);
        short equalFrom = (short) keyAtLeast(type, cutLogit);
        short masked = (short) (infBits(type) | 0x8000);
        ShortVector lane = ShortVector.zero(S).addIndex(1);
        int upper = S.loopBound(n);
        for (int i = 0; i < upper; i += SL) {
            ShortVector h = load(x, off + i);
            h.blend(masked, kept(keys(h), above, inf, equalFrom, lane, cutIndex - i).not())
                    .intoMemorySegment(dst, (dstOff + i) * Short.BYTES, ORDER);
        }
    }

    /**
     * The lanes a cut keeps, from their keys {@code k}: above the cut ({@code k ≥ above}) and not a NaN
     * ({@code k ≤ inf}), or equal to it ({@code equalFrom ≤ k < above}: no key, one, or the two zeros) at a lane up to
     * {@code lastTie} (the cut's index minus the vector's first id).
     */
    private static VectorMask<Short> kept(ShortVector k, short above, short inf, short equalFrom, ShortVector lane,
                                          int lastTie) {
        VectorMask<Short> kept = k.compare(VectorOperators.GE, above).and(k.compare(VectorOperators.LE, inf));
        if (lastTie < 0) {
            return kept;
        }
        return kept.or(k.compare(VectorOperators.GE, equalFrom).and(k.compare(VectorOperators.LT, above))
                .and(lane.compare(VectorOperators.LE, (short) Math.min(lastTie, SL))));
    }
}
