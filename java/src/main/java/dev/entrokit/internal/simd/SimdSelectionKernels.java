package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdConstants.ORDER;

import dev.entrokit.DType;
import dev.entrokit.SamplingFilters.Filter;
import dev.entrokit.SamplingFilters;
import dev.entrokit.TopHMode;
import dev.entrokit.internal.DecodingSteps;
import dev.entrokit.internal.HalfRows;
import dev.entrokit.internal.Philox;
import dev.entrokit.internal.RowSplit;
import dev.entrokit.internal.SelectionKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * SPEC §2 without sorting the vocabulary. Same decisions as {@code ScalarSelectionKernels}, which
 * sorts the whole row: every filter keeps a prefix of SPEC order, so only the tokens around the cuts
 * need ordering.
 *
 * <ol>
 * <li>Pick a logit threshold that the kept tokens are likely above: the {@code r}-th largest of a
 *     strided sample of the row (for top-k, top-H and top-p, sized for about {@code 2k + 64} tokens),
 *     or the exact min-p bound. No exp is needed for this.
 * <li>One SIMD pass gathers the ids of the tokens above it ({@code compress}), and notices NaNs.
 * <li>Only those are sorted and weighted, in float64, exactly as the reference weights them.
 * <li>The filters run on that prefix. A filter whose cut may lie beyond it (top-p whose mass is not
 *     reached, top-k larger than the set) asks for a threshold 8× lower, down to the whole row.
 * </ol>
 * The one float32 quantity is the row's total mass {@code Σ exp((x − m)/T)}, a SIMD pass run only
 * when a filter needs the whole row's mass (top-p or PAPER top-H first, top-k's probabilities, or
 * sampling from an unfiltered row). It agrees with the reference's float64 sum to about 1e-7, so
 * decisions can differ only where a cumulative sum lies that close to its threshold, which SPEC §5
 * exempts.
 */
public final class SimdSelectionKernels implements SelectionKernels {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** {@link #keptPrefix}: the kept set reaches below the candidates; {@code c.cutLogit, c.cutIndex} say where. */
    private static final int WIDE = -2;
    /** {@link #keptPrefix}: a top-k or top-H needs more ranked tokens than the candidates hold. */
    private static final int GROW = -3;
    /**
     * {@link #gatherMinP}: gathered ids past which min-p alone is a wide cut, left to the ranking ({@link WideCut}'s
     * vector passes): on flat rows, where min-p keeps 11 K–64 K tokens, gathering them all and reading them back one by
     * one took 2.4× the ranking's time (N(0, 1) rows, min-p 0.05: 1.47 → 3.49 ms per 32 rows).
     */
    static final int MAX_MINP_CANDIDATES = 4096;
    /** {@link #minPSample}: kept tokens past which the draw walks the row's blocks ({@link WideCut}) instead of them. */
    private static final int WIDE_DRAW = 4096;
    /** {@link #minPSample}'s answer for a row it leaves to the ranking (tokens are {@code ≥ −1}). */
    private static final int NOT_DECIDED = -2;
    /** The cut that keeps every token but the masked ones ({@code -inf} is below it). */
    private static final float EVERY_LIVE = -Float.MAX_VALUE;
    /** About this many logits are sampled to estimate a threshold. */
    private static final int SAMPLE_SIZE = 8192;
    static final int MAX_SAMPLE_RANK = 64;
    /** {@link #gather} makes room for this many more ids before each block of the row. */
    static final int GATHER_BLOCK = 4096;
    /** Rows shorter than this are ranked whole (and the sample needs at least 64 vectors). */
    private static final int SMALL_ROW = 64 * L;

    // ---------------------------------------------------------------- the ops

    @Override
    public void topK(MemorySegment x, long xOff, int n, float temperature, int k, MemorySegment indices,
                     long indicesOff, MemorySegment values, long valuesOff, MemorySegment probs, long probsOff) {
        topKOf(DType.F32, x, xOff, n, temperature, k, indices, indicesOff, values, valuesOff, probs, probsOff);
    }

    /**
     * Half rows are read in registers: every pass over the row branches once, before its loop, into that element
     * type's loop ({@link HalfSelectionPasses}, {@link HalfKeyPasses}).
     */
    @Override
    public void topK(DType type, MemorySegment x, long xOff, int n, float temperature, int k, MemorySegment indices,
                     long indicesOff, MemorySegment values, long valuesOff, MemorySegment probs, long probsOff) {
        topKOf(type, x, xOff, n, temperature, k, indices, indicesOff, values, valuesOff, probs, probsOff);
    }

    /**
     * Whether a half row of {@code type} is read in registers by the pipeline {@code f}, rather than widened into a
     * per-thread copy first ({@link #widened}): always, but for the entropy-shaped steps ({@link DecodingSteps#needed}),
     * which {@link SimdDecoding#ownPath} routes (bfloat16 in registers, binary16 on the copy: see
     * {@link HalfDecodingPasses}). binary16's exact conversion is 6–7 vector operations, paid in every pass over the
     * row, which made its exp passes cost about what one widening pass does; the passes that only compare read 16-bit
     * keys ({@link HalfKeyPasses}), and the row's mass (top-p, unfiltered draws and listings, {@code topK} with
     * probabilities) reads {@link HalfVectors#f16Finite} lanes, four operations
     * ({@link HalfSelectionPasses#massBelowF16}).
     */
    private static boolean inRegisters(SamplingFilters f) {
        return !DecodingSteps.needed(f); // binary16 rows (and a lone XTC's plain sample) that SimdDecoding does not take
    }

    private static void topKOf(DType type, MemorySegment x, long xOff, int n, float temperature, int k,
                             MemorySegment indices, long indicesOff, MemorySegment values, long valuesOff,
                             MemorySegment probs, long probsOff) {
        Candidates c = Candidates.get();
        boolean special = rank(type, x, xOff, n, temperature, List.of(), k, c) == Kept.SPECIAL;
        double total = Double.NaN;
        if (!special && probs != null) {
            c.weigh(temperature);
            total = rowTotal(type, x, xOff, n, temperature, c);
        }
        for (int j = 0; j < k; j++) {
            indices.setAtIndex(I32, indicesOff + j, special ? -1 : c.index[j]);
            values.setAtIndex(F32, valuesOff + j, special ? Float.NaN : c.logit[j]);
            if (probs != null) {
                probs.setAtIndex(F32, probsOff + j, special ? Float.NaN : (float) (c.weight[j] / total));
            }
        }
    }

    @Override
    public int keptMask(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment mask, long maskOff) {
        if (DecodingSteps.needed(f)) {
            return SimdDecoding.keptMask(DType.F32, x, xOff, n, f, mask, maskOff);
        }
        return keptMaskOf(DType.F32, x, xOff, n, f, mask, maskOff);
    }

    /** Half rows are read in registers or widened first as {@link #inRegisters} says. */
    @Override
    public int keptMask(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment mask,
                        long maskOff) {
        if (type == DType.F32) {
            return keptMask(x, xOff, n, f, mask, maskOff);
        }
        if (DecodingSteps.needed(f) && SimdDecoding.ownPath(type, f, false)) {
            return SimdDecoding.keptMask(type, x, xOff, n, f, mask, maskOff);
        }
        if (inRegisters(f)) {
            return keptMaskOf(type, x, xOff, n, f, mask, maskOff);
        }
        return keptMask(widened(type, x, xOff, n), 0, n, f, mask, maskOff);
    }

    private static int keptMaskOf(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment mask,
                                long maskOff) {
        return keptMaskOf(type, x, xOff, n, f.temperature(), f.filters(), mask, maskOff);
    }

    /** The kept mask of the prefix filters {@code filters} at temperature {@code t}, as {@link #samplePrefixFilters}. */
    static int keptMaskOf(DType type, MemorySegment x, long xOff, int n, float t, List<Filter> filters,
                          MemorySegment mask, long maskOff) {
        Candidates c = Candidates.get();
        if (minPAlone(filters)) {
            int kept = minPMask(type, x, xOff, n, t, filters.get(0).value(), c, mask, maskOff);
            if (kept >= 0) {
                return kept;
            }
        }
        Kept kept = rank(type, x, xOff, n, t, filters, 0, c);
        if (kept == Kept.CUT) {
            return WideCut.writeMask(type, x, xOff, n, c.cutLogit, c.cutIndex, mask, maskOff);
        }
        if (kept == Kept.ALL_LIVE) { // masked tokens may lie outside the candidates
            return WideCut.writeMask(type, x, xOff, n, EVERY_LIVE, Integer.MAX_VALUE, mask, maskOff);
        }
        int len = kept == Kept.PREFIX ? c.kept : 0;
        MemorySegment row = mask.asSlice(maskOff, n);
        row.fill((byte) (len == n ? 1 : 0));
        for (int j = 0; j < len && len < n; j++) {
            row.set(ValueLayout.JAVA_BYTE, c.index[j], (byte) 1);
        }
        return len;
    }

    /** Whether {@code filters} is one min-p that keeps at least one token (no larger {@code minKeep}). */
    private static boolean minPAlone(List<Filter> filters) {
        return filters.size() == 1 && filters.get(0).kind() == SamplingFilters.Kind.MIN_P
                && filters.get(0).minKeep() <= 1;
    }

    /**
     * The mask of min-p alone from one read of the row: min-p keeps every token at or above one logit, the cut
     * of the row's maximum ({@link WideCut#minPLogit}), so a gather whose threshold follows the running maximum,
     * staying below its cut, holds every kept token, and nothing needs sorting. The ranking reads the row twice
     * here (its sampled threshold, then the gather) and sorts what it gathered; W3's min-p 0.1 on 32 × 128256
     * heavy-tailed rows: 0.8–0.9 ms that way, against NumPy's two compare passes at 0.65. Returns -1, having
     * written nothing, for a row the ranking answers: a NaN, an infinite maximum, every token masked, or a wide cut.
     */
    private static int minPMask(DType type, MemorySegment x, long off, int n, float t, float r, Candidates c,
                                MemorySegment mask, long maskOff) {
        int kept = minPKept(type, x, off, n, t, r, c);
        if (kept < 0) {
            return -1;
        }
        MemorySegment row = mask.asSlice(maskOff, n);
        row.fill((byte) 0);
        for (int j = 0; j < kept; j++) {
            row.set(ValueLayout.JAVA_BYTE, c.index[j], (byte) 1);
        }
        return kept;
    }

    /**
     * The tokens min-p alone keeps, from one read of the row ({@link #gatherMinP}, then the exact cut on the gathered
     * ids): their ids in {@code c.index[0..kept)}, ascending, and the row maximum in {@code c.max}; -1 for a row the
     * ranking answers (a NaN, an infinite maximum, every token masked, or a wide cut). {@code c.count} is left 0: the
     * ids are no ranking, nothing for a later reader.
     */
    private static int minPKept(DType type, MemorySegment x, long off, int n, float t, float r, Candidates c) {
        float max = gatherMinP(type, x, off, n, t, r, c);
        if (!(Math.abs(max) <= Float.MAX_VALUE)) {
            return -1;
        }
        float cut = WideCut.minPLogit(max, t, r);
        int[] ids = c.index;
        int kept = 0;
        for (int j = 0; j < c.count; j++) {
            if (HalfSelectionPasses.at(type, x, off + ids[j]) >= cut) {
                ids[kept++] = ids[j];
            }
        }
        c.count = 0;
        c.max = max;
        return kept;
    }

    /** {@link #gatherMinP(MemorySegment, long, int, float, float, Candidates)} on a row of {@code type} elements. */
    private static float gatherMinP(DType type, MemorySegment x, long off, int n, float t, float r, Candidates c) {
        return switch (type) {
            case BF16, F16 -> HalfKeyPasses.gatherMinP(type, x, off, n, t, r, c);
            default -> gatherMinP(x, off, n, t, r, c);
        };
    }

    /**
     * A draw of min-p alone from one read of the row ({@link #minPKept}): the kept tokens are the gathered ones at or
     * above the cut, already in ascending id order, which is how the reference walks them, with the
     * weights {@link Candidates#weigh} gives (the same expression, summed in the same order: the ranking's token).
     * More than {@link #WIDE_DRAW} kept tokens are drawn by {@link WideCut}'s walk, as the ranking draws a cut below its
     * candidates. {@link #NOT_DECIDED} for a row the ranking answers (as {@link #minPMask}).
     */
    private static int minPSample(DType type, MemorySegment x, long off, int n, float t, float r, double u,
                                  Candidates c) {
        int len = minPKept(type, x, off, n, t, r, c);
        if (len < 0) {
            return NOT_DECIDED;
        }
        float max = c.max;
        if (len > WIDE_DRAW) {
            return WideCut.sample(type, x, off, n, max, t, WideCut.minPLogit(max, t, r), Integer.MAX_VALUE, u,
                    Workspace.get().lanes);
        }
        int[] ids = c.index;
        double[] w = c.weight;
        double total = 0;
        for (int j = 0; j < len; j++) {
            w[j] = Math.exp(((double) HalfSelectionPasses.at(type, x, off + ids[j]) - max) / t);
            total += w[j];
        }
        double target = u * total;
        double cum = 0;
        int last = -1;
        for (int j = 0; j < len; j++) {
            if (w[j] > 0) {
                cum += w[j];
                last = ids[j];
                if (cum > target) {
                    return last;
                }
            }
        }
        return last;
    }

    /**
     * {@link #gather} for min-p alone: the ids of tokens at or above {@link #minPFloor} of the running maximum,
     * a superset of the kept tokens, since the cut only rises with the maximum. Returns the row maximum (the
     * largest logit, {@code -inf} when every token is masked), {@code +inf} as soon as a logit is, or as soon as more
     * than {@link #MAX_MINP_CANDIDATES} are gathered (a wide cut), or NaN as soon as a logit is NaN: each of those
     * leaves the row to the ranking.
     */
    static float gatherMinP(MemorySegment x, long off, int n, float t, float r, Candidates c) {
        double drop = t * Math.log(r);
        float top = Float.NEGATIVE_INFINITY;
        float threshold = -Float.MAX_VALUE; // masked tokens never enter
        int count = 0;
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        for (int start = 0; start < upper; start += GATHER_BLOCK) {
            int end = Math.min(upper, start + GATHER_BLOCK);
            if (count > MAX_MINP_CANDIDATES) {
                c.count = 0;
                return Float.POSITIVE_INFINITY; // a wide cut: the ranking takes it
            }
            c.grow(count + (end - start));
            int[] out = c.index;
            for (int i = start; i < end; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
                if (v.compare(VectorOperators.NE, v).anyTrue()) {
                    return Float.NaN;
                }
                VectorMask<Float> keep = v.compare(VectorOperators.GE, threshold);
                if (keep.anyTrue()) { // every new maximum is at or above the threshold, so none is missed
                    float vmax = v.reduceLanes(VectorOperators.MAX);
                    if (vmax > top) {
                        if (vmax == Float.POSITIVE_INFINITY) {
                            return vmax;
                        }
                        top = vmax;
                        threshold = minPFloor(top, drop, t);
                        keep = v.compare(VectorOperators.GE, threshold);
                    }
                    iota.add(i).compress(keep.cast(I)).intoArray(out, count);
                    count += keep.trueCount();
                }
            }
        }
        c.grow(count + (n - upper));
        int[] out = c.index;
        for (int i = upper; i < n; i++) {
            float v = x.getAtIndex(F32, off + i);
            if (Float.isNaN(v) || v == Float.POSITIVE_INFINITY) {
                return v;
            }
            if (v > top) {
                top = v;
                threshold = minPFloor(top, drop, t);
            }
            if (v >= threshold) {
                out[count++] = i;
            }
        }
        c.count = count;
        return top;
    }

    /**
     * A float at or below {@link WideCut#minPLogit} of a finite {@code max}: the reference keeps {@code x} when
     * {@code exp((x − max)/T) ≥ r} in float64, whose rounding moves the boundary {@code max + T·ln r} by about
     * {@code 1e-16·T·(1 + |ln r|)}; the margin here is at least 1e4 times that (1e-12·T, 1e-6·T·|ln r|) and costs a few extra
     * candidates at most.
     */
    static float minPFloor(float max, double drop, float t) {
        double margin = 1e-6 * (Math.abs(max) + Math.abs(drop)) + 1e-12 * t + Float.MIN_NORMAL;
        return (float) Math.max(max + drop - margin, -Float.MAX_VALUE);
    }

    @Override
    public void maskLogits(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment out, long outOff) {
        if (DecodingSteps.needed(f)) {
            SimdDecoding.maskLogits(DType.F32, x, xOff, n, f, DType.F32, out, outOff);
            return;
        }
        maskLogitsOf(x, xOff, n, f.temperature(), f.filters(), out, outOff);
    }

    /** The masked float32 logits of the prefix filters {@code filters} at temperature {@code t}, as {@link #samplePrefixFilters}. */
    static void maskLogitsOf(MemorySegment x, long xOff, int n, float t, List<Filter> filters, MemorySegment out,
                             long outOff) {
        Candidates c = Candidates.get();
        Kept kept = rank(x, xOff, n, t, filters, 0, c); // the kept logits are now in c.logit: out may alias x
        if (kept == Kept.CUT) {
            WideCut.maskLogits(x, xOff, n, c.cutLogit, c.cutIndex, out, outOff);
            return;
        }
        int len = kept == Kept.PREFIX ? c.kept : kept == Kept.ALL_LIVE ? n : -1;
        if (len == n) {
            MemorySegment.copy(x, xOff * Float.BYTES, out, outOff * Float.BYTES, (long) n * Float.BYTES);
            return;
        }
        // Vector stores into a heap segment are not intrinsified: fill off-heap and copy.
        MemorySegment dst = out.isNative() ? out : Workspace.get().staging(n);
        long dstOff = out.isNative() ? outOff : 0;
        RowPasses.fill(dst, dstOff, n, len < 0 ? Float.NaN : Float.NEGATIVE_INFINITY);
        if (dst != out) {
            MemorySegment.copy(dst, 0, out, outOff * Float.BYTES, (long) n * Float.BYTES);
        }
        for (int j = 0; j < len; j++) {
            out.setAtIndex(F32, outOff + c.index[j], c.logit[j]);
        }
    }

    /**
     * Half rows are read in registers as {@link #inRegisters} says, for an F32 output or one of the input's type;
     * otherwise the row is widened into the kernel buffer ({@link #widened}), masked there in place and copied or
     * narrowed into {@code out} by the vector conversions.
     */
    @Override
    public void maskLogits(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, DType outType,
                           MemorySegment out, long outOff) {
        if (type == DType.F32 && outType == DType.F32) {
            maskLogits(x, xOff, n, f, out, outOff);
        } else if (type.isHalf() && (outType == DType.F32 || outType == type) && DecodingSteps.needed(f)
                && SimdDecoding.ownPath(type, f, false)) {
            SimdDecoding.maskLogits(type, x, xOff, n, f, outType, out, outOff);
        } else if (type.isHalf() && (outType == DType.F32 || outType == type) && inRegisters(f)) {
            maskLogitsOf(type, x, xOff, n, f, outType, out, outOff);
        } else if (!type.isHalf() || !outType.isHalf() && outType != DType.F32) {
            SelectionKernels.super.maskLogits(type, x, xOff, n, f, outType, out, outOff); // no such pair passes Checks
        } else {
            MemorySegment row = widened(type, x, xOff, n);
            maskLogits(row, 0, n, f, outType == DType.F32 ? out : row, outType == DType.F32 ? outOff : 0);
            if (outType == DType.BF16) {
                HalfWidening.narrowBf16(row, 0, out, outOff, n);
            } else if (outType == DType.F16) {
                HalfWidening.narrowF16(row, 0, out, outOff, n);
            }
        }
    }

    /** {@link #maskLogits(DType, MemorySegment, long, int, SamplingFilters, DType, MemorySegment, long)} in registers. */
    private static void maskLogitsOf(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, DType outType,
                                     MemorySegment out, long outOff) {
        Candidates c = Candidates.get();
        Kept kept = rank(type, x, xOff, n, f.temperature(), f.filters(), 0, c); // the kept logits are in c.logit: out may alias x
        if (kept == Kept.CUT) {
            WideCut.maskLogits(type, x, xOff, n, c.cutLogit, c.cutIndex, outType, out, outOff);
            return;
        }
        int len = kept == Kept.PREFIX ? c.kept : kept == Kept.ALL_LIVE ? n : -1;
        if (len == n) {
            if (outType == type) {
                MemorySegment.copy(x, xOff * Short.BYTES, out, outOff * Short.BYTES, (long) n * Short.BYTES);
            } else if (type == DType.BF16) {
                HalfWidening.widenBf16(x, xOff, out, outOff, n);
            } else {
                HalfWidening.widenF16(x, xOff, out, outOff, n);
            }
            return;
        }
        float fill = len < 0 ? Float.NaN : Float.NEGATIVE_INFINITY;
        if (outType == DType.F32) {
            MemorySegment dst = out.isNative() ? out : Workspace.get().staging(n); // heap vector stores are not intrinsified
            long dstOff = out.isNative() ? outOff : 0;
            RowPasses.fill(dst, dstOff, n, fill);
            if (dst != out) {
                MemorySegment.copy(dst, 0, out, outOff * Float.BYTES, (long) n * Float.BYTES);
            }
            for (int j = 0; j < len; j++) {
                out.setAtIndex(F32, outOff + c.index[j], c.logit[j]);
            }
        } else {
            HalfSelectionPasses.fill(out, outOff, n, outType.narrow(fill));
            for (int j = 0; j < len; j++) {
                out.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, outOff + c.index[j], outType.narrow(c.logit[j]));
            }
        }
    }

    @Override
    public int keptTokens(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment indices,
                          long indicesOff, MemorySegment probs, long probsOff, int capacity) {
        if (DecodingSteps.needed(f)) {
            return SimdDecoding.keptTokens(DType.F32, x, xOff, n, f, indices, indicesOff, probs, probsOff, capacity);
        }
        return keptTokensOf(DType.F32, x, xOff, n, f, indices, indicesOff, probs, probsOff, capacity);
    }

    /** As {@link #keptMask(DType, MemorySegment, long, int, SamplingFilters, MemorySegment, long)}. */
    @Override
    public int keptTokens(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment indices,
                          long indicesOff, MemorySegment probs, long probsOff, int capacity) {
        if (type == DType.F32) {
            return keptTokens(x, xOff, n, f, indices, indicesOff, probs, probsOff, capacity);
        }
        if (DecodingSteps.needed(f) && SimdDecoding.ownPath(type, f, false)) {
            return SimdDecoding.keptTokens(type, x, xOff, n, f, indices, indicesOff, probs, probsOff, capacity);
        }
        if (inRegisters(f)) {
            return keptTokensOf(type, x, xOff, n, f, indices, indicesOff, probs, probsOff, capacity);
        }
        return keptTokens(widened(type, x, xOff, n), 0, n, f, indices, indicesOff, probs, probsOff, capacity);
    }

    private static int keptTokensOf(DType type, MemorySegment x, long xOff, int n, SamplingFilters f,
                                  MemorySegment indices, long indicesOff, MemorySegment probs, long probsOff,
                                  int capacity) {
        Candidates c = Candidates.get();
        float t = f.temperature();
        Kept r = rank(type, x, xOff, n, t, f.filters(), 0, c);
        if ((r == Kept.ALL_LIVE || r == Kept.CUT) && c.count < Math.min(capacity, n)) { // rank as many as will be written
            r = rank(type, x, xOff, n, t, f.filters(), Math.min(capacity, n), c);
        }
        int kept = 0;
        int listed = 0; // the ranked kept tokens written out
        double total = Double.NaN;
        if (r == Kept.PREFIX) {
            c.weigh(t);
            kept = listed = c.kept;
            total = c.prefixSum(listed);
        } else if (r != Kept.SPECIAL) {
            c.weigh(t);
            boolean cut = r == Kept.CUT;
            int cutIndex = cut ? c.cutIndex : Integer.MAX_VALUE;
            total = massWithRest(type, x, xOff, n, t, c, cut ? c.cutLogit : Float.NEGATIVE_INFINITY, cutIndex);
            kept = WideCut.count(type, x, xOff, n, cut ? c.cutLogit : EVERY_LIVE, cutIndex);
            listed = c.count;
        }
        for (int j = 0; j < capacity; j++) {
            boolean live = j < listed;
            indices.setAtIndex(I32, indicesOff + j, live ? c.index[j] : -1);
            probs.setAtIndex(F32, probsOff + j, live ? (float) (c.weight[j] / total) : 0f);
        }
        return kept;
    }

    @Override
    public int sample(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step) {
        if (f.temperature() == 0f) {
            return argmax(x, xOff, n);
        }
        if (DecodingSteps.needed(f)) {
            return SimdDecoding.sample(x, xOff, n, f, seed, row, step);
        }
        return sampleOf(DType.F32, x, xOff, n, f, seed, row, step);
    }

    /** As {@link #keptMask(DType, MemorySegment, long, int, SamplingFilters, MemorySegment, long)}. */
    @Override
    public int sample(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step) {
        if (type.isHalf() && f.temperature() == 0f) { // greedy: two light passes, where even f16's conversion pays
            return HalfKeyPasses.argmax(type, x, xOff, n);
        }
        if (type == DType.F32) {
            return sample(x, xOff, n, f, seed, row, step);
        }
        if (DecodingSteps.needed(f) && SimdDecoding.ownPath(type, f, true)) {
            return SimdDecoding.sample(type, x, xOff, n, f, seed, row, step, null, 0);
        }
        if (inRegisters(f)) {
            return sampleOf(type, x, xOff, n, f, seed, row, step);
        }
        return sample(widened(type, x, xOff, n), 0, n, f, seed, row, step);
    }

    /**
     * As {@link #sample(DType, MemorySegment, long, int, SamplingFilters, long, int, long)}; a long float32 row under a
     * filter pipeline gathers and sorts its candidates chunk by chunk under {@code split} ({@link ChunkedGather}).
     */
    @Override
    public int sample(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step,
                      RowSplit split) {
        if (type == DType.F32 && f.temperature() != 0f && !DecodingSteps.needed(f) && split != RowSplit.SERIAL) {
            return sampleOf(DType.F32, x, xOff, n, f, seed, row, step, split);
        }
        return sample(type, x, xOff, n, f, seed, row, step);
    }

    private static int sampleOf(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row,
                                long step) {
        return sampleOf(type, x, xOff, n, f, seed, row, step, RowSplit.SERIAL);
    }

    private static int sampleOf(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row,
                                long step, RowSplit split) {
        return sampleOf(type, x, xOff, n, f.temperature(), f.filters(), seed, row, step, split);
    }

    /**
     * A sampling step of the prefix filters {@code filters} (top-k, top-p, min-p, top-H) at temperature {@code t}: for
     * {@link SimdDecoding}, whose dynamic temperature leaves such a pipeline at a temperature of its own.
     */
    static int samplePrefixFilters(DType type, MemorySegment x, long xOff, int n, float t, List<Filter> filters,
                                   long seed, int row, long step) {
        return sampleOf(type, x, xOff, n, t, filters, seed, row, step, RowSplit.SERIAL);
    }

    private static int sampleOf(DType type, MemorySegment x, long xOff, int n, float t, List<Filter> filters,
                                long seed, int row, long step, RowSplit split) {
        Candidates c = Candidates.get();
        // On every thread count, a row split across threads included: the chunked ranking draws a cut below its ~64
        // candidates by WideCut's float weights, this path up to 4096 kept tokens by float64 ones, and a draw must
        // not depend on the thread count (a reviewer's row: 4001 kept, 31469 on one thread, 31479 on two).
        if (minPAlone(filters)) {
            int token = minPSample(type, x, xOff, n, t, filters.get(0).value(), Philox.uniform(seed, row, step), c);
            if (token != NOT_DECIDED) {
                return token;
            }
        }
        Kept kept = rank(type, x, xOff, n, t, filters, 0, c, split);
        if (kept == Kept.SPECIAL) {
            return -1;
        }
        double u = Philox.uniform(seed, row, step);
        if (kept != Kept.PREFIX) {
            boolean cut = kept == Kept.CUT;
            return WideCut.sample(type, x, xOff, n, c.max, t, cut ? c.cutLogit : Float.NEGATIVE_INFINITY,
                    cut ? c.cutIndex : Integer.MAX_VALUE, u, Workspace.get().lanes,
                    type == DType.F32 && RowSplit.chunked(n) ? split : RowSplit.SERIAL);
        }
        int len = c.kept;
        // The reference walks kept tokens by ascending id; re-key the kept prefix by id (rank below).
        c.weigh(t, len);
        long[] byId = c.key;
        for (int j = 0; j < len; j++) {
            byId[j] = ((long) c.index[j] << 32) | j;
        }
        Arrays.sort(byId, 0, len);
        double total = 0;
        for (int j = 0; j < len; j++) {
            total += c.weight[(int) byId[j]];
        }
        double target = u * total;
        double cum = 0;
        int last = -1;
        for (int j = 0; j < len; j++) {
            double w = c.weight[(int) byId[j]];
            if (w > 0) {
                cum += w;
                last = (int) (byId[j] >>> 32);
                if (cum > target) {
                    return last;
                }
            }
        }
        return last;
    }

    @Override
    public int sample(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step, double[] prob,
                      int at) {
        return SimdDecoding.sample(DType.F32, x, xOff, n, f, seed, row, step, prob, at);
    }

    @Override
    public int sampleConstrained(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step,
                                 java.util.function.IntPredicate allowed, double[] stats, int at) {
        return SimdDecoding.sampleConstrained(DType.F32, x, xOff, n, f, seed, row, step, allowed, stats, at);
    }

    /**
     * bfloat16 rows run the entropy-shaped pipelines and the filters in registers ({@link SimdDecoding},
     * {@link HalfDecodingPasses}); binary16 rows are widened first (see {@link HalfDecodingPasses} for why).
     */
    @Override
    public int sample(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step,
                      double[] prob, int at) {
        if (SimdDecoding.ownPath(type, f, false)) {
            return SimdDecoding.sample(type, x, xOff, n, f, seed, row, step, prob, at);
        }
        return SimdDecoding.sample(DType.F32, widened(type, x, xOff, n), 0, n, f, seed, row, step, prob, at);
    }

    /** As {@link #sample(DType, MemorySegment, long, int, SamplingFilters, long, int, long, double[], int)}. */
    @Override
    public int sampleConstrained(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row,
                                 long step, java.util.function.IntPredicate allowed, double[] stats, int at) {
        if (SimdDecoding.ownPath(type, f, false)) {
            return SimdDecoding.sampleConstrained(type, x, xOff, n, f, seed, row, step, allowed, stats, at);
        }
        return SimdDecoding.sampleConstrained(DType.F32, widened(type, x, xOff, n), 0, n, f, seed, row, step, allowed,
                stats, at);
    }

    /** bfloat16 and binary16 rows in registers: a compare pass with no exp, where even binary16's conversion pays. */
    @Override
    public int countAtLeast(DType type, MemorySegment x, long xOff, int n, float value) {
        return switch (type) {
            case BF16, F16 -> HalfKeyPasses.countAtLeast(type, x, xOff, n, value);
            default -> countAtLeast(x, xOff, n, value);
        };
    }

    /**
     * A half row widened into this thread's kernel buffer ({@link HalfRows#kernelRow}) by the vector conversions: for
     * the binary16 rows and the steps that have no in-register pass. Element 0 of the result is element {@code xOff}.
     */
    private static MemorySegment widened(DType type, MemorySegment x, long xOff, int n) {
        return HalfWidening.intoKernelRow(type, x, xOff, n, 0);
    }

    @Override
    public int countAtLeast(MemorySegment x, long xOff, int n, float value) {
        int count = 0;
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            count += FloatVector.fromMemorySegment(F, x, (xOff + i) * Float.BYTES, ORDER)
                    .compare(VectorOperators.GE, value).trueCount();
        }
        for (; i < n; i++) {
            count += x.getAtIndex(F32, xOff + i) >= value ? 1 : 0;
        }
        return count;
    }

    // ---------------------------------------------------------------- the pieces

    /**
     * Gathers and sorts candidates until {@code minSorted} tokens are ranked and every filter of
     * {@code f} is decided, and says what was kept ({@link Kept}; for a prefix, its length in
     * {@code c.kept}). Leaves the row maximum in {@code c.max}.
     */
    static Kept rank(MemorySegment x, long xOff, int n, float temperature, List<Filter> filters, int minSorted,
                     Candidates c) {
        return rank(DType.F32, x, xOff, n, temperature, filters, minSorted, c);
    }

    /** {@link #rank(MemorySegment, long, int, float, List, int, Candidates)} on a row of {@code type} elements (F32, BF16 or F16). */
    static Kept rank(DType type, MemorySegment x, long xOff, int n, float temperature, List<Filter> filters,
                     int minSorted, Candidates c) {
        return rank(type, x, xOff, n, temperature, filters, minSorted, c, RowSplit.SERIAL);
    }

    /**
     * {@link #rank(DType, MemorySegment, long, int, float, List, int, Candidates)} whose gather and sort of a long
     * float32 row run as chunks under {@code split} ({@link ChunkedGather}) when it has helpers: the same candidates
     * in the same order; so does every whole-row mass pass the filters take meanwhile ({@link #massWithRest}).
     */
    static Kept rank(DType type, MemorySegment x, long xOff, int n, float temperature, List<Filter> filters,
                     int minSorted, Candidates c, RowSplit split) {
        boolean chunked = split != RowSplit.SERIAL && type == DType.F32 && RowSplit.chunked(n);
        c.split = chunked ? split : RowSplit.SERIAL;
        try {
            return rankRow(type, x, xOff, n, temperature, filters, minSorted, c, chunked, split);
        } finally {
            c.split = RowSplit.SERIAL;
        }
    }

    private static Kept rankRow(DType type, MemorySegment x, long xOff, int n, float temperature,
                                List<Filter> filters, int minSorted, Candidates c, boolean chunked, RowSplit split) {
        c.rowTotal = Double.NaN;
        long target = firstTarget(filters, minSorted);
        while (true) {
            float threshold = target >= n || n < SMALL_ROW
                    ? Float.NEGATIVE_INFINITY // rank everything: a short row sorts in little time
                    : sampledThreshold(type, x, xOff, n, (int) target, c.largest, chunked ? split : RowSplit.SERIAL);
            if (chunked) {
                c.max = Float.isNaN(threshold) ? Float.NaN : ChunkedGather.gatherSorted(x, xOff, n, threshold, c, split);
                if (Float.isNaN(c.max)) {
                    return Kept.SPECIAL; // a NaN logit
                }
            } else if (Float.isNaN(threshold) || !gather(type, x, xOff, n, threshold, c)) {
                return Kept.SPECIAL; // a NaN logit
            } else {
                c.max = c.sort(type, x, xOff);
            }
            if (c.max == Float.POSITIVE_INFINITY || c.max == Float.NEGATIVE_INFINITY) {
                return Kept.SPECIAL;
            }
            int len = keptPrefix(type, x, xOff, n, temperature, filters, c, minSorted);
            if (len == WIDE) {
                return Kept.CUT;
            }
            if (len != GROW) {
                c.kept = len;
                return len == n && c.count < n ? Kept.ALL_LIVE : Kept.PREFIX;
            }
            target = Math.max(target, c.count) * 8L;
        }
    }

    /** How many candidates the first filter needs (a guess: {@link #rank} grows it when short). */
    private static long firstTarget(List<Filter> filters, int minSorted) {
        long want = minSorted;
        if (!filters.isEmpty()) {
            Filter first = filters.get(0);
            want = Math.max(want, switch (first.kind()) {
                case TOP_K -> Math.max(first.k(), first.minKeep());
                case TOP_H -> Math.max(first.n(), first.minKeep());
                case TOP_P, MIN_P -> first.minKeep() > 1 ? first.minKeep() : 0;
                default -> 0; // entropy-shaped steps run in SimdDecoding
            });
        }
        return 2 * want + 64;
    }

    /**
     * The {@code r}-th largest of a sample of the row, {@code r} chosen so that about {@code target}
     * tokens lie above it. The sample is one vector of {@code L} adjacent logits every
     * {@code stride} elements, spread over the whole row so that any ordering of it is sampled
     * evenly; a vector is only looked at lane by lane when it holds a value above the current r-th.
     */
    private static float sampledThreshold(DType type, MemorySegment x, long off, int n, int target,
                                          float[] largest, RowSplit split) {
        // Sample few enough that about `target` tokens above the r-th of the sample needs r <= 64: with
        // the rank capped and the sample fixed, a target above 64·n/SAMPLE_SIZE (500 of 128k, 128 of
        // 16k) found too few tokens at every try and fell through to sorting the row.
        long fit = (long) MAX_SAMPLE_RANK * n / ((long) Math.max(target, 1) * L);
        int chunks = (int) Math.max(1, Math.min(Math.min(n / L, SAMPLE_SIZE / L), fit));
        long stride = (long) (n / chunks) / L * L; // whole vectors apart, so every load is in the row
        long sampled = (long) chunks * L;
        int r = (int) Math.min(MAX_SAMPLE_RANK, Math.max(1, target * sampled / n));
        // The r-th largest of the sample is one value however the sample is cut (up to the sign of a zero, which
        // the gather's >= does not see), so the pieces of a split row find the same threshold.
        return switch (type) {
            case BF16 -> HalfSelectionPasses.sampleLargest(x, off, chunks, stride, r, largest);
            case F16 -> HalfSelectionPasses.sampleLargestF16(x, off, chunks, stride, r, largest);
            default -> {
                int filled = split == RowSplit.SERIAL ? sampleLargest(x, off, 0, chunks, stride, r, largest)
                        : ChunkedGather.sampleLargest(x, off, chunks, stride, r, largest, split);
                yield filled < r ? Float.NEGATIVE_INFINITY : largest[r - 1];
            }
        };
    }

    /**
     * The {@code r} largest of the sample vectors {@code from..to-1} ({@code stride} elements apart), descending in
     * {@code largest}; returns how many it holds (fewer than {@code r}: the sample is too small).
     */
    static int sampleLargest(MemorySegment x, long off, int from, int to, long stride, int r, float[] largest) {
        int filled = 0;
        float[] lanes = Workspace.get().lanes;
        for (int k = from; k < to; k++) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, (off + k * stride) * Float.BYTES, ORDER);
            long lanesIn = filled < r ? ALL_LANES : v.compare(VectorOperators.GT, largest[r - 1]).toLong();
            if (lanesIn != 0) {
                v.intoArray(lanes, 0);
                filled = keepLargest(lanes, lanesIn, largest, filled, r);
            }
        }
        return filled;
    }

    /** Every lane of a float vector, as a lane mask's bits: a sample vector while fewer than {@code r} values are held. */
    static final long ALL_LANES = -1L >>> (64 - L);

    /**
     * Adds the lanes of a sample vector stored in {@code lanes} whose bits are set in {@code lanesIn} to the {@code r}
     * largest values seen, descending in {@code largest}; returns how many it holds. The callers set every lane while
     * fewer than {@code r} are held, and afterwards only the lanes above the r-th (which only rises), so only those are
     * visited, in lane order: the same insertions, a fraction of the lane visits (the sample of 512 vectors took 8.8 µs
     * of a 31 µs top-k row on 32 × 128256, 3.3 of them past its loads). The vector itself stays in the caller's loop:
     * passed to a helper that C2 left out of line (a cold call site in a large compiled caller), it was boxed for every
     * sample vector (1.6 MB per 32-row F16 top-p mask, mixed bf16/f16 JVMs).
     */
    static int keepLargest(float[] lanes, long lanesIn, float[] largest, int filled, int r) {
        for (long bits = lanesIn; bits != 0; bits &= bits - 1) {
            filled = keepLargest(lanes[Long.numberOfTrailingZeros(bits)], largest, filled, r);
        }
        return filled;
    }

    /** Adds the first {@code count} of {@code values} to the {@code r} largest values seen, as {@link #keepLargest(float[], long, float[], int, int)}. */
    static int keepLargest(float[] values, int count, float[] largest, int filled, int r) {
        for (int v = 0; v < count; v++) {
            filled = keepLargest(values[v], largest, filled, r);
        }
        return filled;
    }

    /** Adds {@code value} to the {@code r} largest values seen, descending in {@code largest}; returns how many it holds. */
    private static int keepLargest(float value, float[] largest, int filled, int r) {
        if (filled < r || value > largest[filled - 1]) { // keep the r largest, descending (a NaN that enters is caught: rank() and gather() see it)
            int j = filled < r ? filled++ : r - 1;
            while (j > 0 && !(largest[j - 1] >= value)) {
                largest[j] = largest[j - 1];
                j--;
            }
            largest[j] = value;
        }
        return filled;
    }

    /** {@link #gather(MemorySegment, long, int, float, Candidates)} on a row of {@code type} elements: one loop per type. */
    static boolean gather(DType type, MemorySegment x, long off, int n, float threshold, Candidates c) {
        return switch (type) {
            case BF16, F16 -> HalfKeyPasses.gather(type, x, off, n, threshold, c);
            default -> gather(x, off, n, threshold, c);
        };
    }

    /**
     * Collects into {@code c.index} the ids of tokens with {@code x ≥ threshold}; false, as soon as it
     * sees one, if a logit is NaN (the row is special: {@code c} then holds nothing to use). The ids grow {@code c.index} block by block, so it holds what is gathered plus one block,
     * and the inner loop stays free of capacity checks.
     */
    static boolean gather(MemorySegment x, long off, int n, float threshold, Candidates c) {
        int count = 0;
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        int i = 0;
        for (int start = 0; start < upper; start += GATHER_BLOCK) {
            int end = Math.min(upper, start + GATHER_BLOCK);
            c.grow(count + (end - start));
            int[] out = c.index;
            for (i = start; i < end; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
                // A branch per vector, never taken on a clean row: 0.078 ns/element against 0.150 for a NaN
                // mask or-ed across the loop (one thread, 128256-float rows in L2).
                if (v.compare(VectorOperators.NE, v).anyTrue()) {
                    return false;
                }
                VectorMask<Float> keep = v.compare(VectorOperators.GE, threshold);
                if (keep.anyTrue()) {
                    iota.add(i).compress(keep.cast(I)).intoArray(out, count);
                    count += keep.trueCount();
                }
            }
        }
        return gatherTail(DType.F32, x, off, upper, n, threshold, c, count);
    }

    /**
     * The scalar tail {@code [from, n)} of a gather of a row of {@code type} elements that has gathered {@code count}
     * ids so far: appends the ids {@code ≥ threshold} and completes {@code c}; false on a NaN.
     */
    static boolean gatherTail(DType type, MemorySegment x, long off, int from, int n, float threshold, Candidates c,
                              int count) {
        c.grow(count + (n - from));
        int[] out = c.index;
        for (int i = from; i < n; i++) {
            float v = HalfSelectionPasses.at(type, x, off + i);
            if (Float.isNaN(v)) {
                return false;
            }
            if (v >= threshold) {
                out[count++] = i;
            }
        }
        c.count = count;
        c.threshold = threshold;
        return true;
    }

    /**
     * The filters on the ranked candidates, as {@code ScalarSelectionKernels.keptPrefix}: the length
     * of the kept prefix of SPEC order ({@code n} when nothing was cut), {@link #WIDE} when the kept
     * set reaches below the candidates (top-p or min-p keeping much of the row), or {@link #GROW}
     * when a top-k or top-H needs more ranked tokens.
     */
    private static int keptPrefix(DType type, MemorySegment x, long xOff, int n, float temperature,
                                  List<Filter> filters, Candidates c, int minSorted) {
        int known = c.count; // tokens ranked; all others rank after them
        if (known < Math.min(minSorted, n)) {
            return GROW;
        }
        c.wide = false;
        int len = n;
        if (known == n) {
            // Masked tokens (last in SPEC order) are never kept, whatever a formula says: top-H's S(m)
            // stops growing at them. Below a finite threshold they are never candidates, and every cut
            // below the candidates lies above -inf.
            while (len > 0 && c.logit[len - 1] == Float.NEGATIVE_INFINITY) {
                len--;
            }
        }
        for (Filter filter : filters) {
            // The survivors are the first `len` in SPEC order, or the cut's tokens when wide; `ranked`
            // of them are among the candidates, and `complete` says whether that is all of them.
            boolean complete = !c.wide && (len <= known || known == n);
            int ranked = c.wide ? known : Math.min(len, known);
            int before = len;
            len = switch (filter.kind()) {
                case TOP_K -> complete && filter.k() >= len ? len : filter.k() <= ranked ? filter.k() : GROW;
                case TOP_P -> topP(type, x, xOff, n, temperature, c, len, ranked, complete,
                        filter.value() * survivorMass(type, x, xOff, n, temperature, c, len, complete));
                case MIN_P -> minP(c, len, ranked, complete, filter.value(), temperature);
                case TOP_H -> topH(c, len, ranked, complete, filter, temperature,
                        filter.mode() == TopHMode.PAPER ? survivorMass(type, x, xOff, n, temperature, c, len, complete)
                                : 0);
                default -> throw new IllegalStateException("entropy-shaped steps run in SimdDecoding: " + filter);
            };
            if (len != GROW && filter.minKeep() > 1) {
                len = atLeast(len, filter.minKeep(), before, ranked, complete, known < n);
            }
            if (len == GROW) {
                return GROW;
            }
            c.wide &= len == WIDE;
        }
        return c.wide ? WIDE : len;
    }

    /**
     * min_tokens_to_keep on a prefix filter's result {@code len}: at least the first {@code minKeep}
     * survivors in SPEC order, which must be ranked ({@link #GROW} otherwise). A wide cut keeps every ranked
     * survivor and more; when every survivor is ranked ({@code complete}) the floor is at most {@code before}.
     */
    private static int atLeast(int len, int minKeep, int before, int ranked, boolean complete, boolean moreToRank) {
        if (len == WIDE) {
            return minKeep <= ranked || !moreToRank ? WIDE : GROW;
        }
        if (len >= minKeep) {
            return len;
        }
        if (minKeep <= ranked) {
            return minKeep;
        }
        return complete ? Math.max(len, Math.min(minKeep, before)) : GROW;
    }

    /** The survivors' mass: float64 over ranked survivors, plus a SIMD sum over the others. */
    private static double survivorMass(DType type, MemorySegment x, long xOff, int n, float temperature,
                                       Candidates c, int len, boolean complete) {
        if (complete) {
            c.weigh(temperature, len);
            return c.prefixSum(Math.min(len, c.count));
        }
        if (!c.wide) {
            return rowTotal(type, x, xOff, n, temperature, c);
        }
        return massWithRest(type, x, xOff, n, temperature, c, c.cutLogit, c.cutIndex);
    }

    /**
     * Shortest prefix whose mass reaches {@code threshold}, the crossing token kept: among the ranked
     * survivors, or else a cut below them ({@link WideCut#topP}).
     */
    private static int topP(DType type, MemorySegment x, long xOff, int n, float temperature, Candidates c, int len,
                            int ranked, boolean complete, double threshold) {
        c.weigh(temperature, ranked);
        double cum = 0;
        for (int j = 0; j < ranked; j++) {
            cum += c.weight[j];
            if (cum >= threshold) {
                return j + 1;
            }
        }
        if (complete) {
            return len;
        }
        WideCut.topP(type, x, xOff, n, temperature, c, cum, threshold);
        return c.wide ? WIDE : len;
    }

    /** Every token with {@code w ≥ r·w_max}: inside the candidates, or a cut at the exact min-p logit. */
    private static int minP(Candidates c, int len, int ranked, boolean complete, float r, float temperature) {
        c.weigh(temperature, ranked);
        double threshold = r * c.weight[0];
        int m = 1;
        while (m < ranked && c.weight[m] >= threshold) {
            m++;
        }
        // Every ranked one passed: the others (logit < c.threshold) weigh at most `rest`.
        double rest = Math.exp(((double) c.threshold - c.max) / temperature);
        if (m < ranked || complete || rest < threshold) {
            return m;
        }
        float cut = WideCut.minPLogit(c.max, temperature, r);
        if (!c.wide || cut > c.cutLogit) {
            c.cutLogit = cut;
            c.cutIndex = Integer.MAX_VALUE;
        }
        c.wide = true;
        return WIDE;
    }

    /** Top-H on the first {@code min(n, len)} survivors (they must be ranked). */
    private static int topH(Candidates c, int len, int ranked, boolean complete, Filter filter, float temperature,
                            double survivorTotal) {
        int nEff = complete ? Math.min(filter.n(), len) : filter.n();
        if (nEff > ranked) {
            return GROW;
        }
        c.weigh(temperature, nEff);
        double z = switch (filter.mode()) {
            case PAPER -> survivorTotal;
            case NORMALIZED -> c.prefixSum(nEff);
        };
        return DecodingSteps.topHKeep(c.weight, nEff, z, filter.value());
    }

    /**
     * {@code Σ exp((x − max)/T)} over the whole row, once per ranking (see {@link #massWithRest}).
     */
    private static double rowTotal(DType type, MemorySegment x, long off, int n, float temperature, Candidates c) {
        if (Double.isNaN(c.rowTotal)) {
            c.rowTotal = massWithRest(type, x, off, n, temperature, c, Float.NEGATIVE_INFINITY, Integer.MAX_VALUE);
        }
        return c.rowTotal;
    }

    /**
     * The mass of the tokens a cut keeps ({@code −inf}: all of them): the candidates' float64 weights
     * plus a SIMD sum over the others. Splitting it so keeps the error relative to the small part: in a
     * peaked row the entropy of top-H lives in the 1e-13 that the non-maximal tokens add to the max's
     * weight of 1, which a float32 total (1e-7) would drown.
     */
    static double massWithRest(MemorySegment x, long off, int n, float temperature, Candidates c,
                               float cutLogit, int cutIndex) {
        return massWithRest(DType.F32, x, off, n, temperature, c, cutLogit, cutIndex);
    }

    /** {@link #massWithRest(MemorySegment, long, int, float, Candidates, float, int)} on a row of {@code type} elements. */
    static double massWithRest(DType type, MemorySegment x, long off, int n, float temperature, Candidates c,
                               float cutLogit, int cutIndex) {
        double below = c.split == RowSplit.SERIAL
                ? WideCut.massBelow(type, x, off, n, c.max, temperature, c.threshold, cutLogit, cutIndex,
                        Workspace.get().lanes)
                : WideCut.massBelow(x, off, n, c.max, temperature, c.threshold, cutLogit, cutIndex,
                        Workspace.get().blockSums(F.loopBound(n)), c.split);
        c.weigh(temperature);
        return c.prefixSum(c.count) + below;
    }

    /** Lowest id of the largest logit, or -1 for a special row; needs no workspace, whatever the ties. */
    static int argmax(MemorySegment x, long off, int n) {
        float m = maxOrNaN(x, off, n);
        if (m == Float.POSITIVE_INFINITY || m == Float.NEGATIVE_INFINITY || Float.isNaN(m)) {
            return -1;
        }
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            VectorMask<Float> hit = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER)
                    .compare(VectorOperators.EQ, m);
            if (hit.anyTrue()) {
                return i + hit.firstTrue();
            }
        }
        for (; i < n; i++) {
            if (x.getAtIndex(F32, off + i) == m) {
                return i;
            }
        }
        return -1; // unreachable: m is one of the logits
    }

    /**
     * The row maximum, NaN if any logit is NaN: lanewise {@code max} propagates NaN as {@link Math#max}
     * does, which spares argmax a separate NaN pass (and a mask carried across a loop).
     */
    static float maxOrNaN(MemorySegment x, long off, int n) {
        FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            acc = acc.max(FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER));
        }
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            m = Math.max(m, x.getAtIndex(F32, off + i));
        }
        return m;
    }
}
