package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.BLOCK;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdConstants.ORDER;
import static dev.entrokit.internal.simd.SimdRows.blockEnd;
import static dev.entrokit.internal.simd.VectorExp.expNonPositive;

import dev.entrokit.DType;
import dev.entrokit.internal.HalfRows;
import dev.entrokit.internal.RowSplit;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Cuts that fall below the ranked candidates: a wide top-p nucleus or a small min-p ratio can keep
 * most of the vocabulary, which the candidates would only reach by sorting it. Here a kept set is a
 * prefix of SPEC order given by its last token, the <em>cut</em> {@code (logit, index)}: a token is
 * kept when its logit is above the cut's, or equal with an index no larger. Every pass over the row
 * takes the cut as a predicate, so nothing is sorted but a small window around the crossing.
 *
 * <p>Top-p finds its crossing as FlashInfer's pivot search does, by mass above thresholds: the
 * survivors below the candidates are profiled in one pass (their mass above three thresholds), the
 * bracket that crosses is gathered with its float32 weights, then seven
 * thresholds per pass split the window, keeping the slice where the cumulative mass crosses, until
 * a few tokens remain to sort. Masses are float32 SIMD sums, so the crossing agrees with the float64
 * reference except within about 1e-7 of {@code p}, inside SPEC §5's 1e-6 band.
 */
final class WideCut {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** Windows this small are sorted. */
    private static final int SORT_WINDOW = 64;
    static final int SPLITS = 7;
    /**
     * The most tokens a window gathers on the heap (20 bytes each with its sort key); a bracket
     * holding more is split by passes over the row first. W3 rows (128256 tokens) stay below it.
     */
    static final int WINDOW_CAP = 1 << 20;
    /** Where the first pass of top-p splits the survivors: this many temperatures below the candidates. */
    private static final float[] STEPS = {1f, 3f, 8f};
    /** How many thresholds one profile pass takes (the length of {@link #STEPS}). */
    static final int PROFILED = STEPS.length;
    /** Byte {@code b} spread to eight bytes, byte j being bit j of {@code b} (little-endian stores). */
    private static final long[] SPREAD = new long[256];

    static {
        for (int b = 0; b < 256; b++) {
            for (int j = 0; j < 8; j++) {
                SPREAD[b] |= (long) ((b >> j) & 1) << (8 * j);
            }
        }
    }

    private WideCut() {
    }

    /**
     * A token's float32 weight {@code exp((x − m)/T)} as the scalar parts of these passes take it, from
     * {@code −m/2} and {@code 2/T}: one expression, so that the tails, the walk and the weights it subtracts agree bitwise.
     */
    static float weight(float x, float negHalfM, float twoInvT) {
        return (float) Math.exp(Math.fma(x, 0.5f, negHalfM) * twoInvT);
    }

    /** Whether a token is kept by the cut {@code (cutLogit, cutIndex)}. */
    static boolean kept(float x, int i, float cutLogit, int cutIndex) {
        return x > cutLogit || x == cutLogit && i <= cutIndex;
    }

    static VectorMask<Float> kept(FloatVector v, IntVector ids, float cutLogit, int cutIndex) {
        VectorMask<Float> tie = v.compare(VectorOperators.EQ, cutLogit)
                .and(ids.compare(VectorOperators.LE, cutIndex).cast(F));
        return v.compare(VectorOperators.GT, cutLogit).or(tie);
    }

    /**
     * {@code Σ exp((x − m)/T)} over the kept tokens with {@code x < below} (float32 lanes, a double per
     * block; powers of two, see {@link VectorExp2#log2Units}: a masked token adds 2^−115). A cut at {@code −inf}
     * keeps every token that weighs anything, so its predicate is skipped. The row holds {@code type} elements
     * (F32, or BF16 / F16: {@link HalfSelectionPasses#massBelow}, {@link HalfSelectionPasses#massBelowF16}).
     */
    static double massBelow(DType type, MemorySegment x, long off, int n, float max, float temperature, float below,
                            float cutLogit, int cutIndex, float[] lanes) {
        if (type == DType.F32) {
            return plusTail(type, x, off, n, max, temperature, below, cutLogit, cutIndex,
                    massBelow(x, off, n, max, temperature, below, cutLogit, cutIndex, lanes));
        }
        return massBelow(type, x, off, n, max, temperature, below, cutLogit, cutIndex,
                Workspace.get().blockSums(F.loopBound(n)), lanes);
    }

    /**
     * {@link #massBelow(DType, MemorySegment, long, int, float, float, float, float, int, float[])} of a half row,
     * block {@code b}'s mass also left in {@code sums[b]} (for the walk, as the float32 pass leaves them).
     */
    private static double massBelow(DType type, MemorySegment x, long off, int n, float max, float temperature,
                                    float below, float cutLogit, int cutIndex, double[] sums, float[] lanes) {
        double total;
        if (type == DType.BF16) {
            total = HalfSelectionPasses.massBelow(x, off, n, max, temperature, below, cutLogit, cutIndex, sums, lanes);
        } else if (HalfSelectionPasses.f16FiniteExact(max, temperature)) {
            total = HalfSelectionPasses.massBelowF16(x, off, n, max, temperature, below, cutLogit, cutIndex, sums, lanes);
        } else {
            total = widenedMassBlocks(x, off, n, max, temperature, below, cutLogit, cutIndex, sums, lanes);
        }
        return plusTail(type, x, off, n, max, temperature, below, cutLogit, cutIndex, total);
    }

    /**
     * The vector blocks of a binary16 row that {@link HalfSelectionPasses#f16FiniteExact} turns away, summed by the
     * float32 loop on the widened row. The dispatch above stays between two loops that run: with a third (an exact
     * binary16 loop) hot beside them, the compiled caller boxed its vectors (345 KB per 32-row top-p mask once bf16 and
     * f16 rows ran in one JVM).
     */
    private static double widenedMassBlocks(MemorySegment x, long off, int n, float max, float temperature, float below,
                                            float cutLogit, int cutIndex, double[] sums, float[] lanes) {
        int upper = F.loopBound(n);
        massBlocks(widenedF16(x, off, n), 0, 0, upper, max, temperature, below, cutLogit, cutIndex, sums, lanes);
        return RowPasses.blockTotal(sums, upper);
    }

    /**
     * A binary16 row widened (exactly) into the thread's second kernel buffer, which no selection pass holds across a
     * call, for the float32 loops of the passes binary16 has no loop of its own for: the mass of the rows
     * {@link #widenedMassBlocks} takes, and a wide top-p cut's profile and window (rare: a cut far below the
     * candidates), for which no binary16 twin of the float32 loops is kept.
     */
    private static MemorySegment widenedF16(MemorySegment x, long off, int n) {
        MemorySegment w = HalfRows.kernelRow(1, n);
        HalfWidening.widenF16(x, off, w, 0, n);
        return w;
    }

    /** {@code total} plus the scalar tail of {@link #massBelow}: one loop for every element type. */
    private static double plusTail(DType type, MemorySegment x, long off, int n, float max, float temperature,
                                   float below, float cutLogit, int cutIndex, double total) {
        float negHalfM = -max / 2;
        float twoInvT = 2 / temperature;
        for (int i = F.loopBound(n); i < n; i++) {
            float v = HalfSelectionPasses.at(type, x, off + i);
            if (v < below && kept(v, i, cutLogit, cutIndex)) {
                total += weight(v, negHalfM, twoInvT);
            }
        }
        return total;
    }

    /**
     * {@link #massBelow(DType, MemorySegment, long, int, float, float, float, float, int, float[])} of a float32 row,
     * its vector blocks summed chunk by chunk under {@code split} and left in {@code sums} (block {@code b} in
     * {@code sums[b]}, for the walk): the blocks are added in block order on the caller, so the total has the bits of
     * the whole-row pass.
     */
    static double massBelow(MemorySegment x, long off, int n, float max, float temperature, float below,
                            float cutLogit, int cutIndex, double[] sums, RowSplit split) {
        int upper = F.loopBound(n);
        if (split == RowSplit.SERIAL) { // one call, no chunk lambda in the caller's compiled unit (see ChunkedPasses)
            massBlocks(x, off, 0, upper, max, temperature, below, cutLogit, cutIndex, sums, Workspace.get().lanes);
        } else {
            split.run(RowSplit.chunks(upper), c -> massBlocks(x, off, RowSplit.start(c), RowSplit.end(c, upper), max,
                    temperature, below, cutLogit, cutIndex, sums, Workspace.get().lanes));
        }
        return plusTail(DType.F32, x, off, n, max, temperature, below, cutLogit, cutIndex,
                RowPasses.blockTotal(sums, upper));
    }

    /** The vector blocks of {@link #massBelow(DType, MemorySegment, long, int, float, float, float, float, int, float[])} on float32. */
    private static double massBelow(MemorySegment x, long off, int n, float max, float temperature, float below,
                                    float cutLogit, int cutIndex, float[] lanes) {
        int upper = F.loopBound(n);
        double[] sums = Workspace.get().blockSums(upper);
        massBlocks(x, off, 0, upper, max, temperature, below, cutLogit, cutIndex, sums, lanes);
        return RowPasses.blockTotal(sums, upper);
    }

    /**
     * The vector blocks of {@link #massBelow(MemorySegment, long, int, float, float, float, float, int, float[])} that
     * start in {@code [from, to)} ({@code from} a multiple of {@link SimdConstants#BLOCK}, {@code to} at most the row's
     * loop bound; ids are row positions): block {@code b}'s lanes, added in lane order, into {@code sums[b]}.
     */
    private static void massBlocks(MemorySegment x, long off, int from, int to, float max, float temperature,
                                   float below, float cutLogit, int cutIndex, double[] sums, float[] lanes) {
        float scale = VectorExp2.log2Scale(temperature);
        boolean cut = cutLogit != Float.NEGATIVE_INFINITY;
        for (int start = from, end; start < to; start = end) {
            end = blockEnd(start, to);
            sums[start / BLOCK] = cut ? blockMassCut(x, off, start, end, max, scale, below, cutLogit, cutIndex, lanes)
                    : blockMass(x, off, start, end, max, scale, below, lanes);
        }
    }

    /**
     * One block of {@link #massBlocks} with no cut: the mass of the tokens below {@code below}, lanes added in order.
     * The cut and no-cut blocks are two loops, not one loop with a flag: with the flag, a bfloat16 top-p mask compiled
     * after calls that took both ways boxed its vectors (8.2 MB and 1.5x the time per 32 x 128256 call, after the
     * warm-up's top-k-with-probabilities and min-p calls; HalfOpsProbe).
     */
    private static double blockMass(MemorySegment x, long off, int start, int end, float max, float scale, float below,
                                    float[] lanes) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
            acc = acc.add(VectorExp2.exp2(VectorExp2.log2Units(v, max, scale)), v.compare(VectorOperators.LT, below));
        }
        acc.intoArray(lanes, 0);
        return SimdRows.sumLanes(lanes);
    }

    /** One block of {@link #massBlocks} under the cut {@code (cutLogit, cutIndex)}. */
    private static double blockMassCut(MemorySegment x, long off, int start, int end, float max, float scale,
                                       float below, float cutLogit, int cutIndex, float[] lanes) {
        IntVector iota = IntVector.zero(I).addIndex(1);
        FloatVector acc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
            VectorMask<Float> in = v.compare(VectorOperators.LT, below).and(kept(v, iota.add(i), cutLogit, cutIndex));
            acc = acc.add(VectorExp2.exp2(VectorExp2.log2Units(v, max, scale)), in);
        }
        acc.intoArray(lanes, 0);
        return SimdRows.sumLanes(lanes);
    }

    /**
     * The top-p cut below the candidates, whose mass {@code above} falls short of {@code target}
     * ({@code p} times the survivors' mass): one SIMD pass gives the survivors' mass above three
     * thresholds ({@code 1, 3, 8} temperatures below the candidates' floor; seven made that pass
     * twice as slow), and the bracket that crosses is then narrowed. Leaves the cut in
     * {@code c.cutLogit}, {@code c.cutIndex} and sets {@code c.wide}; when rounding leaves no token
     * to cross, the survivors stay as they were.
     */
    static void topP(DType type, MemorySegment x, long off, int n, float temperature, Candidates c, double above,
                     double target) {
        float negHalfM = -c.max / 2;
        float twoInvT = 2 / temperature;
        float hi = c.threshold;                 // the window below the candidates: lo ≤ x < hi
        float lo = -Float.MAX_VALUE;
        float[] t = c.splitAt;
        for (int s = 0; s < STEPS.length; s++) {
            t[s] = hi - temperature * STEPS[s];
        }
        double[] mass = c.splitMass;
        int m;
        while (true) {
            profile(type, x, off, n, negHalfM, twoInvT, c, hi, t, mass);
            int s = 0;
            while (s < STEPS.length && above + mass[s] < target) {
                s++;
            }
            if (s > 0) {
                hi = t[s - 1];
                above += mass[s - 1];
            }
            lo = s == STEPS.length ? lo : t[s];
            m = gatherWindow(type, x, off, n, c, lo, hi);
            if (m >= 0) {
                break;
            }
            // More tokens in [lo, hi) than the heap window holds: split the bracket by another pass
            // over the row instead, so that the heap never grows with the row.
            if (lo == -Float.MAX_VALUE) {
                if ((double) hi - c.max < -88.0 * temperature) {
                    return; // every token below hi weighs 0 in float32: nothing can cross there
                }
                for (int k = 0; k < STEPS.length; k++) {
                    t[k] = hi - temperature * STEPS[k] * 16;
                }
            } else if (Math.nextUp(lo) >= hi) {
                tieCut(type, x, off, n, c, lo, weight(lo, negHalfM, twoInvT), target - above);
                return;
            } else {
                // Quarters of the float line between lo and hi (not of their difference), so that a
                // bracket around a crowd of ties narrows to it in at most 16 passes.
                long sLo = sortable(lo);
                long sHi = sortable(hi);
                for (int k = 0; k < STEPS.length; k++) {
                    t[k] = unsortable(sHi - Math.max(1, (sHi - sLo) * (k + 1) / (STEPS.length + 1)));
                }
            }
        }
        float[] logit = c.winLogit;
        float[] w = c.winWeight;
        int[] id = c.winIndex;
        weigh(logit, w, m, negHalfM, twoInvT);
        if (lo == -Float.MAX_VALUE) { // open below: narrow from the lowest gathered logit
            lo = Float.POSITIVE_INFINITY;
            for (int j = 0; j < m; j++) {
                lo = Math.min(lo, logit[j]);
            }
        }
        while (m > SORT_WINDOW && lo < hi) {
            for (int k = 0; k < SPLITS; k++) {   // t[0] > t[1] > ... (duplicates when the range is tiny)
                t[k] = Math.max(lo, hi - (hi - lo) * (k + 1) / (SPLITS + 1));
            }
            massesAbove(logit, w, m, t, mass, Workspace.get().lanes);
            int k = 0;
            while (k < SPLITS && above + mass[k] < target) {
                k++;
            }
            float newHi = k == 0 ? hi : t[k - 1];
            float newLo = k == SPLITS ? lo : t[k];
            if (k > 0) {
                above += mass[k - 1];
            }
            if (newHi == hi && newLo == lo) {
                break; // ties: no threshold separates them any more
            }
            hi = newHi;
            lo = newLo;
            m = keepWindow(logit, w, id, m, lo, hi);
        }
        if (m == 0) {
            return; // rounding left nothing to cross: the survivors stay as they were
        }
        // Sort the last window into SPEC order and walk it. Keys hold window positions, which follow
        // token ids (the window is gathered in id order and narrowed stably), so ties stay in id order.
        long[] key = c.key;
        for (int j = 0; j < m; j++) {
            key[j] = Candidates.key(logit[j], j);
        }
        Arrays.sort(key, 0, m);
        double cum = above;
        int last = (int) key[m - 1];
        for (int r = 0; r < m; r++) {
            int j = (int) key[r];
            cum += w[j];
            if (cum >= target) {
                last = j;
                break;
            }
        }
        c.cutLogit = logit[last] + 0f;
        c.cutIndex = id[last];
        c.wide = true;
    }

    /** A float as an int whose order is the float order. */
    private static long sortable(float f) {
        int bits = Float.floatToIntBits(f);
        return bits ^ ((bits >> 31) & 0x7FFFFFFF);
    }

    private static float unsortable(long s) {
        int bits = (int) s;
        return Float.intBitsToFloat(bits ^ ((bits >> 31) & 0x7FFFFFFF));
    }

    /**
     * The cut inside a bracket that holds one logit {@code v} only (weight {@code w} each), too many to
     * gather: ties go by ascending index, so the crossing is the {@code ⌈missing / w⌉}-th survivor at
     * {@code v}, found by counting.
     */
    private static void tieCut(DType type, MemorySegment x, long off, int n, Candidates c, float v, float w,
                               double missing) {
        double want = w > 0 ? Math.max(1, Math.ceil(missing / w)) : Double.POSITIVE_INFINITY;
        float cutLogit = c.wide ? c.cutLogit : -Float.MAX_VALUE;
        int cutIndex = c.wide ? c.cutIndex : Integer.MAX_VALUE;
        long seen = 0;
        int last = -1;
        for (int i = 0; i < n && seen < want; i++) {
            if (HalfSelectionPasses.at(type, x, off + i) == v && kept(v, i, cutLogit, cutIndex)) {
                seen++;
                last = i;
            }
        }
        if (last >= 0) {
            c.cutLogit = v + 0f;
            c.cutIndex = last;
            c.wide = true;
        }
    }

    /**
     * One pass over the survivors below {@code below} (at most the candidates' floor): for each
     * threshold, the mass of those at or above it.
     */
    private static void profile(DType type, MemorySegment x, long off, int n, float negHalfM, float twoInvT,
                                Candidates c, float below, float[] t, double[] mass) {
        boolean cut = c.wide;
        float cutLogit = c.wide ? c.cutLogit : Float.NEGATIVE_INFINITY;
        int cutIndex = c.wide ? c.cutIndex : Integer.MAX_VALUE;
        Arrays.fill(mass, 0);
        switch (type) {
            case BF16 -> HalfSelectionPasses.profile(x, off, n, negHalfM, twoInvT, cut, cutLogit, cutIndex, below, t, mass);
            case F16 -> profile(widenedF16(x, off, n), 0, n, negHalfM, twoInvT, cut, cutLogit, cutIndex, below, t, mass);
            default -> profile(x, off, n, negHalfM, twoInvT, cut, cutLogit, cutIndex, below, t, mass);
        }
        for (int i = F.loopBound(n); i < n; i++) { // the scalar tail, one loop for every element type
            float v = HalfSelectionPasses.at(type, x, off + i);
            if (v < below && kept(v, i, cutLogit, cutIndex)) {
                double e = weight(v, negHalfM, twoInvT);
                for (int s = 0; s < PROFILED; s++) {
                    mass[s] += v >= t[s] ? e : 0;
                }
            }
        }
    }

    private static void profile(MemorySegment x, long off, int n, float negHalfM, float twoInvT, boolean cut,
                                float cutLogit, int cutIndex, float below, float[] t, double[] mass) {
        float[] lanes = Workspace.get().lanes;
        int upper = F.loopBound(n);
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            if (cut) { // without a cut every token survives (masked ones weigh 0): spare the predicate
                profileBlockCut(x, off, start, end, negHalfM, twoInvT, below, cutLogit, cutIndex, t, mass, lanes);
            } else {
                profileBlock(x, off, start, end, negHalfM, twoInvT, below, t, mass, lanes);
            }
        }
    }

    /** One block of {@link #profile} with no cut, its three masses added to {@code mass} (see {@link #blockMass}). */
    private static void profileBlock(MemorySegment x, long off, int start, int end, float negHalfM, float twoInvT,
                                     float below, float[] t, double[] mass, float[] lanes) {
        float t0 = t[0];
        float t1 = t[1];
        float t2 = t[2];
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        for (int i = start; i < end; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
            FloatVector e = expNonPositive(v.fma(0.5f, negHalfM).mul(twoInvT))
                    .blend(0f, v.compare(VectorOperators.LT, below).not());
            a0 = a0.add(e, v.compare(VectorOperators.GE, t0));
            a1 = a1.add(e, v.compare(VectorOperators.GE, t1));
            a2 = a2.add(e, v.compare(VectorOperators.GE, t2));
        }
        a0.intoArray(lanes, 0);
        mass[0] += SimdRows.sumLanes(lanes);
        a1.intoArray(lanes, 0);
        mass[1] += SimdRows.sumLanes(lanes);
        a2.intoArray(lanes, 0);
        mass[2] += SimdRows.sumLanes(lanes);
    }

    /** One block of {@link #profile} under the cut {@code (cutLogit, cutIndex)}. */
    private static void profileBlockCut(MemorySegment x, long off, int start, int end, float negHalfM, float twoInvT,
                                        float below, float cutLogit, int cutIndex, float[] t, double[] mass,
                                        float[] lanes) {
        float t0 = t[0];
        float t1 = t[1];
        float t2 = t[2];
        IntVector iota = IntVector.zero(I).addIndex(1);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        for (int i = start; i < end; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
            VectorMask<Float> in = v.compare(VectorOperators.LT, below).and(kept(v, iota.add(i), cutLogit, cutIndex));
            FloatVector e = expNonPositive(v.fma(0.5f, negHalfM).mul(twoInvT)).blend(0f, in.not());
            a0 = a0.add(e, v.compare(VectorOperators.GE, t0));
            a1 = a1.add(e, v.compare(VectorOperators.GE, t1));
            a2 = a2.add(e, v.compare(VectorOperators.GE, t2));
        }
        a0.intoArray(lanes, 0);
        mass[0] += SimdRows.sumLanes(lanes);
        a1.intoArray(lanes, 0);
        mass[1] += SimdRows.sumLanes(lanes);
        a2.intoArray(lanes, 0);
        mass[2] += SimdRows.sumLanes(lanes);
    }

    /**
     * Gathers the kept tokens with {@code lo ≤ x < below} (never {@code −inf}) into the window arrays;
     * -1 when they are more than {@link #WINDOW_CAP}.
     */
    private static int gatherWindow(DType type, MemorySegment x, long off, int n, Candidates c, float lo,
                                    float below) {
        float cutLogit = c.wide ? c.cutLogit : -Float.MAX_VALUE;
        int cutIndex = c.wide ? c.cutIndex : Integer.MAX_VALUE;
        return switch (type) {
            case BF16 -> HalfSelectionPasses.gatherWindow(x, off, n, c, cutLogit, cutIndex, lo, below);
            case F16 -> gatherWindow(widenedF16(x, off, n), 0, n, c, cutLogit, cutIndex, lo, below);
            default -> gatherWindow(x, off, n, c, cutLogit, cutIndex, lo, below);
        };
    }

    private static int gatherWindow(MemorySegment x, long off, int n, Candidates c, float cutLogit, int cutIndex,
                                    float lo, float below) {
        int[] ids = c.winIndex;
        float[] logits = c.winLogit;
        IntVector iota = IntVector.zero(I).addIndex(1);
        int count = 0;
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
            IntVector pos = iota.add(i);
            VectorMask<Float> in = v.compare(VectorOperators.LT, below).and(v.compare(VectorOperators.GE, lo))
                    .and(kept(v, pos, cutLogit, cutIndex));
            if (in.anyTrue()) {
                if (count + L > ids.length) {
                    if (count + L > WINDOW_CAP) {
                        return -1;
                    }
                    c.growWindow(count + L);
                    ids = c.winIndex;
                    logits = c.winLogit;
                }
                pos.compress(in.cast(I)).intoArray(ids, count);
                v.compress(in).intoArray(logits, count);
                count += in.trueCount();
            }
        }
        for (; i < n; i++) {
            float v = x.getAtIndex(F32, off + i);
            if (v < below && v >= lo && kept(v, i, cutLogit, cutIndex)) {
                if (count == ids.length) {
                    if (count + 1 > WINDOW_CAP) {
                        return -1;
                    }
                    c.growWindow(count + 1);
                    ids = c.winIndex;
                    logits = c.winLogit;
                }
                ids[count] = i;
                logits[count++] = v;
            }
        }
        return count;
    }

    private static void weigh(float[] logit, float[] w, int m, float negHalfM, float twoInvT) {
        int upper = F.loopBound(m);
        int j = 0;
        for (; j < upper; j += L) {
            expNonPositive(FloatVector.fromArray(F, logit, j).fma(0.5f, negHalfM).mul(twoInvT)).intoArray(w, j);
        }
        for (; j < m; j++) {
            w[j] = weight(logit[j], negHalfM, twoInvT);
        }
    }

    /** {@code mass[s] = Σ w_j} over {@code logit_j ≥ t[s]}, for every threshold in one pass. */
    private static void massesAbove(float[] logit, float[] w, int m, float[] t, double[] mass, float[] lanes) {
        Arrays.fill(mass, 0);
        for (int start = 0, end; start < m; start = end) {
            end = blockEnd(start, m);
            int upper = start + F.loopBound(end - start);
            for (int s = 0; s < SPLITS; s++) {   // one threshold per loop: seven accumulators would spill
                FloatVector acc = FloatVector.zero(F);
                for (int j = start; j < upper; j += L) {
                    FloatVector v = FloatVector.fromArray(F, logit, j);
                    acc = acc.add(FloatVector.fromArray(F, w, j), v.compare(VectorOperators.GE, t[s]));
                }
                acc.intoArray(lanes, 0);
                double sum = SimdRows.sumLanes(lanes);
                for (int j = upper; j < end; j++) {
                    sum += logit[j] >= t[s] ? w[j] : 0;
                }
                mass[s] += sum;
            }
        }
    }

    /** Keeps the window entries with {@code lo ≤ logit < hi}, in place and in order; returns how many. */
    private static int keepWindow(float[] logit, float[] w, int[] id, int m, float lo, float hi) {
        int k = 0;
        int upper = F.loopBound(m);
        int j = 0;
        // Compress writes a whole vector at k ≤ j: only lanes this or earlier iterations have read.
        for (; j < upper; j += L) {
            FloatVector v = FloatVector.fromArray(F, logit, j);
            VectorMask<Float> in = v.compare(VectorOperators.GE, lo).and(v.compare(VectorOperators.LT, hi));
            if (in.anyTrue()) {
                FloatVector.fromArray(F, w, j).compress(in).intoArray(w, k);
                IntVector.fromArray(I, id, j).compress(in.cast(I)).intoArray(id, k);
                v.compress(in).intoArray(logit, k);
                k += in.trueCount();
            }
        }
        for (; j < m; j++) {
            if (logit[j] >= lo && logit[j] < hi) {
                logit[k] = logit[j];
                w[k] = w[j];
                id[k++] = id[j];
            }
        }
        return k;
    }

    /**
     * The min-p cut: the smallest float logit {@code t} with {@code exp((t − max)/T) ≥ r} in float64,
     * as the reference decides it (its test is monotone in {@code t}); every token at or above it is
     * kept, whatever its index.
     */
    static float minPLogit(float max, float temperature, float r) {
        float hi = max;                                  // passes: exp(0) = 1 ≥ r
        float lo = (float) (max + temperature * Math.log(r)) - 1f;
        float step = 1f;
        while (lo > Float.NEGATIVE_INFINITY && Math.exp(((double) lo - max) / temperature) >= r) {
            lo -= step;                                  // make sure lo fails
            step *= 2;
        }
        if (lo == Float.NEGATIVE_INFINITY || Float.isNaN(lo)) {
            return -Float.MAX_VALUE;
        }
        while (Math.nextUp(lo) < hi) {                   // bisect on the float line: lo fails, hi passes
            float mid = lo / 2 + hi / 2;
            if (mid <= lo || mid >= hi) {
                mid = Math.nextUp(lo);
            }
            if (Math.exp(((double) mid - max) / temperature) >= r) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        return hi;
    }

    /** How many tokens the cut keeps. */
    static int count(DType type, MemorySegment x, long off, int n, float cutLogit, int cutIndex) {
        return writeMask(type, x, off, n, cutLogit, cutIndex, null, 0);
    }

    /** {@link #writeMask(MemorySegment, long, int, float, int, MemorySegment, long)} on a row of {@code type} elements. */
    static int writeMask(DType type, MemorySegment x, long off, int n, float cutLogit, int cutIndex,
                         MemorySegment mask, long maskOff) {
        int count = switch (type) {
            case BF16, F16 -> HalfKeyPasses.writeMask(type, x, off, n, cutLogit, cutIndex, mask, maskOff);
            default -> writeMask(x, off, n, cutLogit, cutIndex, mask, maskOff);
        };
        int tail = type == DType.F32 ? F.loopBound(n) : HalfKeyPasses.S.loopBound(n);
        for (int i = tail; i < n; i++) { // the scalar tail, one loop for every element type
            boolean k = kept(HalfSelectionPasses.at(type, x, off + i), i, cutLogit, cutIndex);
            if (mask != null) {
                mask.set(ValueLayout.JAVA_BYTE, maskOff + i, (byte) (k ? 1 : 0));
            }
            count += k ? 1 : 0;
        }
        return count;
    }

    /**
     * Writes one byte per token (1 where the cut keeps it) unless {@code mask} is null, over the vector part of the row;
     * returns how many.
     */
    private static int writeMask(MemorySegment x, long off, int n, float cutLogit, int cutIndex, MemorySegment mask,
                                 long maskOff) {
        IntVector iota = IntVector.zero(I).addIndex(1);
        int count = 0;
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            VectorMask<Float> k = kept(FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER), iota.add(i),
                    cutLogit, cutIndex);
            count += k.trueCount();
            if (mask != null) {
                spreadMask(k.toLong(), mask, maskOff + i);
            }
        }
        return count;
    }

    /** The {@code L} low bits of {@code bits} as {@code L} bytes (0 or 1) at byte {@code at} of {@code mask}. */
    static void spreadMask(long bits, MemorySegment mask, long at) {
        for (int b = 0; b < L; b += 8) { // eight mask bits become eight bytes
            long bytes = SPREAD[(int) (bits >>> b) & 0xFF];
            if (L - b >= 8) {
                mask.set(ValueLayout.JAVA_LONG_UNALIGNED, at + b, bytes);
            } else {
                mask.set(ValueLayout.JAVA_INT_UNALIGNED, at + b, (int) bytes);
            }
        }
    }

    /**
     * {@link #maskLogits(MemorySegment, long, int, float, int, MemorySegment, long)} on a row of {@code type} elements
     * (BF16 or F16) written as {@code outType} elements (F32 or {@code type}): one loop per pair
     * ({@link HalfSelectionPasses}), the scalar tail here.
     */
    static void maskLogits(DType type, MemorySegment x, long off, int n, float cutLogit, int cutIndex, DType outType,
                           MemorySegment out, long outOff) {
        // Vector stores into heap segments are not intrinsified: stage those off-heap.
        MemorySegment dst = out.isNative() ? out : Workspace.get().staging(n);
        long dstOff = out.isNative() ? outOff : 0;
        boolean wide = outType == DType.F32;
        if (!wide) {
            HalfKeyPasses.maskLogits(type, x, off, n, cutLogit, cutIndex, dst, dstOff);
        } else if (type == DType.BF16) {
            HalfSelectionPasses.maskLogitsBf16ToF32(x, off, n, cutLogit, cutIndex, dst, dstOff);
        } else {
            HalfSelectionPasses.maskLogitsF16ToF32(x, off, n, cutLogit, cutIndex, dst, dstOff);
        }
        int tail = wide ? F.loopBound(n) : HalfKeyPasses.S.loopBound(n);
        for (int i = tail; i < n; i++) { // the scalar tail, one loop for the four pairs
            float v = HalfSelectionPasses.at(type, x, off + i);
            float o = kept(v, i, cutLogit, cutIndex) ? v : Float.NEGATIVE_INFINITY;
            if (wide) {
                dst.setAtIndex(F32, dstOff + i, o);
            } else {
                dst.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, dstOff + i, outType.narrow(o));
            }
        }
        if (dst != out) {
            MemorySegment.copy(dst, 0, out, outOff * outType.byteSize(), (long) n * outType.byteSize());
        }
    }

    /** {@code out_i = x_i} where the cut keeps token i, {@code −inf} elsewhere; {@code out} may alias {@code x}. */
    static void maskLogits(MemorySegment x, long off, int n, float cutLogit, int cutIndex, MemorySegment out, long outOff) {
        // Vector stores into heap segments are not intrinsified: stage those off-heap.
        MemorySegment dst = out.isNative() ? out : Workspace.get().staging(n);
        long dstOff = out.isNative() ? outOff : 0;
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
            v.blend(Float.NEGATIVE_INFINITY, kept(v, iota.add(i), cutLogit, cutIndex).not())
                    .intoMemorySegment(dst, (dstOff + i) * Float.BYTES, ORDER);
        }
        for (; i < n; i++) {
            float v = x.getAtIndex(F32, off + i);
            dst.setAtIndex(F32, dstOff + i, kept(v, i, cutLogit, cutIndex) ? v : Float.NEGATIVE_INFINITY);
        }
        if (dst != out) {
            MemorySegment.copy(dst, 0, out, outOff * Float.BYTES, (long) n * Float.BYTES);
        }
    }

    /**
     * Inverse transform over the kept tokens in ascending id order, as the reference walks them, with
     * float32 weights: block masses first, then token by token inside the block that crosses.
     */
    static int sample(DType type, MemorySegment x, long off, int n, float max, float temperature, float cutLogit,
                      int cutIndex, double u, float[] lanes) {
        return sample(type, x, off, n, max, temperature, cutLogit, cutIndex, u, lanes, RowSplit.SERIAL);
    }

    /**
     * {@link #sample(DType, MemorySegment, long, int, float, float, float, int, double, float[])} whose mass pass over
     * a float32 row runs chunk by chunk under {@code split}: the same token.
     */
    static int sample(DType type, MemorySegment x, long off, int n, float max, float temperature, float cutLogit,
                      int cutIndex, double u, float[] lanes, RowSplit split) {
        return walk(type, x, off, n, max, temperature, cutLogit, cutIndex, null, 0, Double.NaN, u, lanes, split);
    }

    /**
     * {@link #sample} over every live token with their mass {@code rowMass} already known (from an exp2 pass at the
     * same maximum and temperature, as {@link #massBelow}'s, up to the rounding of the last partial vector): the walk
     * then reads the row once instead of twice.
     */
    static int sampleAll(MemorySegment x, long off, int n, float max, float temperature, double rowMass, double u,
                         float[] lanes) {
        return walk(DType.F32, x, off, n, max, temperature, Float.NEGATIVE_INFINITY, Integer.MAX_VALUE, null, 0, rowMass, u,
                lanes, RowSplit.SERIAL);
    }

    /**
     * {@link #sampleAll} over every live token but the first {@code count} of {@code excluded} (in SPEC order, so
     * exactly the tokens that the cut at {@code excluded}'s entry {@code count − 1} keeps): XTC's survivors when it
     * drops the top of a whole row. Their weights come off the block masses one by one, so no pass needs the cut;
     * the block masses then carry their float-lane rounding (1e-7 of the dropped mass) on the kept part, which is why
     * the caller keeps this for rows where XTC keeps at least 1 % of the mass.
     */
    static int sampleExcluding(MemorySegment x, long off, int n, float max, float temperature, Candidates excluded,
                               int count, double rowMass, double u, float[] lanes) {
        return walk(DType.F32, x, off, n, max, temperature, excluded.logit[count - 1], excluded.index[count - 1], excluded,
                count, rowMass, u, lanes, RowSplit.SERIAL);
    }

    /**
     * The walk of {@link #sample}; {@code rowMass} is the mass of every live token when known, else NaN. The row holds
     * {@code type} elements: the passes over it branch once into that type's loops, and the token-by-token loops
     * read each element through {@link HalfSelectionPasses#at(DType, MemorySegment, long)}.
     */
    private static int walk(DType type, MemorySegment x, long off, int n, float max, float temperature, float cutLogit,
                            int cutIndex, Candidates excluded, int count, double rowMass, double u, float[] lanes,
                            RowSplit split) {
        boolean excluding = excluded != null;
        float negHalfM = -max / 2;
        float twoInvT = 2 / temperature;
        float massCut = excluding ? Float.NEGATIVE_INFINITY : cutLogit;
        int massCutIndex = excluding ? Integer.MAX_VALUE : cutIndex;
        // A row whose mass is unknown keeps its block masses from the mass pass: a whole vector block's mass is the
        // very double the walk's own massBelow of that block gives, so the walk reads them instead of taking every
        // exp before the crossing block a second time (half rows did until 2026-12-07: bf16 unfiltered draws ran at
        // 0.72–0.79× float32's elements per second).
        int upper = F.loopBound(n);
        double[] blockMass = Double.isNaN(rowMass) ? Workspace.get().walkMass(upper) : null;
        double mass = blockMass == null ? rowMass
                : type == DType.F32
                ? massBelow(x, off, n, max, temperature, Float.POSITIVE_INFINITY, massCut, massCutIndex, blockMass, split)
                : massBelow(type, x, off, n, max, temperature, Float.POSITIVE_INFINITY, massCut, massCutIndex, blockMass,
                        lanes);
        double target = u * (mass - excludedWeight(excluded, count, 0, n, negHalfM, twoInvT));
        double cum = 0;
        int last = -1;
        for (int start = 0, len; start < n; start += len) {
            len = Math.min(n - start, BLOCK);
            double block = (blockMass != null && start + BLOCK <= upper ? blockMass[start / BLOCK]
                    : massBelow(type, x, off + start, len, max, temperature, Float.POSITIVE_INFINITY, massCut,
                    massCutIndex - start, lanes))
                    - excludedWeight(excluded, count, start, start + len, negHalfM, twoInvT);
            if (cum + block <= target && start + len < n) {
                cum += block;
                continue;
            }
            for (int i = start; i < start + len; i++) {
                float v = HalfSelectionPasses.at(type, x, off + i);
                if (kept(v, i, cutLogit, cutIndex) == excluding) {
                    continue;
                }
                double w = weight(v, negHalfM, twoInvT);
                if (w > 0) {
                    cum += w;
                    last = i;
                    if (cum > target) {
                        return i;
                    }
                }
            }
        }
        // The block sums' rounding left the target unreached: the reference then draws its last kept token, which
        // may lie in a block passed over whole above (so `last` is not it, or is still -1 on a live row).
        for (int i = n - 1; i > last; i--) {
            float v = HalfSelectionPasses.at(type, x, off + i);
            if (kept(v, i, cutLogit, cutIndex) != excluding && weight(v, negHalfM, twoInvT) > 0) {
                return i;
            }
        }
        return last;
    }

    /** The float32 weights, as {@link #walk} takes them, of the first {@code count} excluded tokens with ids in {@code [from, to)}. */
    private static double excludedWeight(Candidates excluded, int count, int from, int to, float negHalfM,
                                         float twoInvT) {
        double total = 0;
        for (int j = 0; j < count; j++) {
            int id = excluded.index[j];
            if (id >= from && id < to) {
                total += weight(excluded.logit[j], negHalfM, twoInvT);
            }
        }
        return total;
    }
}
