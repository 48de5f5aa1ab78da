package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdRows.blockEnd;
import static dev.entrokit.internal.simd.VectorExp.expNonPositive;

import dev.entrokit.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The passes of {@link SimdSelectionKernels} and {@link WideCut} that read a whole row, on a row of bfloat16 or
 * binary16 elements widened in registers as they are loaded ({@link HalfVectors#fromBf16}, {@link HalfVectors#fromF16}:
 * exact, a binary16 NaN stays a NaN), so that selection and sampling need no float32 copy of the row. Each method is its
 * float32 namesake with the load replaced (the binary16 ones carry the suffix {@code F16}), same loop structure, same
 * blocks, same order of float additions, so its results are bitwise those of the namesake on the row widened to
 * float32; the callers branch once on the element type, before the loop, into one of the three.
 *
 * <p>One element type per loop: a loop shared by two element types shares one profile, which is how the in-register
 * kernels once came to box their vectors; a flag or a lambda in the loop would be a branch or a call per vector.
 */
final class HalfSelectionPasses {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final VectorSpecies<Integer> I = HalfVectors.I;

    private HalfSelectionPasses() {
    }

    /** Element {@code i} of a bfloat16 segment, as float32 (exact). */
    static float at(MemorySegment x, long i) {
        return Float.intBitsToFloat(x.getAtIndex(I16, i) << 16);
    }

    /**
     * Element {@code i} of a row of {@code type} elements (F32, BF16 or F16), as float32 (exact; an F16 NaN stays a NaN):
     * for the scalar loops.
     */
    static float at(DType type, MemorySegment x, long i) {
        return type == DType.BF16 ? at(x, i) : type == DType.F16 ? atF16(x, i) : x.getAtIndex(F32, i);
    }

    private static FloatVector load(MemorySegment x, long i) {
        return HalfVectors.fromBf16(HalfVectors.loadBits(x, i));
    }

    /** {@code SimdSelectionKernels.sampleLargest}: the {@code r}-th largest of the sampled vectors. */
    static float sampleLargest(MemorySegment x, long off, int chunks, long stride, int r, float[] largest) {
        int filled = 0;
        float[] lanes = Workspace.get().lanes;
        for (int k = 0; k < chunks; k++) {
            FloatVector v = load(x, off + k * stride);
            if (filled == r && !v.compare(VectorOperators.GT, largest[r - 1]).anyTrue()) {
                continue;
            }
            v.intoArray(lanes, 0);
            filled = SimdSelectionKernels.keepLargest(lanes, largest, filled, r);
        }
        return filled < r ? Float.NEGATIVE_INFINITY : largest[r - 1];
    }

    /** {@code SimdSelectionKernels.gather}: the ids of tokens {@code ≥ threshold}; false on a NaN. */
    static boolean gather(MemorySegment x, long off, int n, float threshold, Candidates c) {
        int count = 0;
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        int i = 0;
        for (int start = 0; start < upper; start += SimdSelectionKernels.GATHER_BLOCK) {
            int end = Math.min(upper, start + SimdSelectionKernels.GATHER_BLOCK);
            c.grow(count + (end - start));
            int[] out = c.index;
            for (i = start; i < end; i += L) {
                FloatVector v = load(x, off + i);
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
        c.grow(count + (n - upper));
        int[] out = c.index;
        for (i = upper; i < n; i++) {
            float v = at(x, off + i);
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

    /** {@code SimdSelectionKernels.gatherMinP} on a row of bfloat16 elements. */
    static float gatherMinP(MemorySegment x, long off, int n, float t, float r, Candidates c) {
        double drop = t * Math.log(r);
        float top = Float.NEGATIVE_INFINITY;
        float threshold = -Float.MAX_VALUE; // masked tokens never enter
        int count = 0;
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        for (int start = 0; start < upper; start += SimdSelectionKernels.GATHER_BLOCK) {
            int end = Math.min(upper, start + SimdSelectionKernels.GATHER_BLOCK);
            if (count > SimdSelectionKernels.MAX_MINP_CANDIDATES) {
                c.count = 0;
                return Float.POSITIVE_INFINITY; // a wide cut: the ranking takes it
            }
            c.grow(count + (end - start));
            int[] out = c.index;
            for (int i = start; i < end; i += L) {
                FloatVector v = load(x, off + i);
                if (v.compare(VectorOperators.NE, v).anyTrue()) {
                    return Float.NaN;
                }
                VectorMask<Float> keep = v.compare(VectorOperators.GE, threshold);
                if (keep.anyTrue()) {
                    float vmax = v.reduceLanes(VectorOperators.MAX);
                    if (vmax > top) {
                        if (vmax == Float.POSITIVE_INFINITY) {
                            return vmax;
                        }
                        top = vmax;
                        threshold = SimdSelectionKernels.minPFloor(top, drop, t);
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
            float v = at(x, off + i);
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

    /** {@link WideCut#massBelow}'s vector blocks (the caller adds the scalar tail). */
    static double massBelow(MemorySegment x, long off, int n, float max, float temperature, float below,
                            float cutLogit, int cutIndex, float[] lanes) {
        float scale = VectorExp2.log2Scale(temperature);
        boolean cut = cutLogit != Float.NEGATIVE_INFINITY;
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector v = load(x, off + i);
                VectorMask<Float> in = v.compare(VectorOperators.LT, below);
                if (cut) {
                    in = in.and(WideCut.kept(v, iota.add(i), cutLogit, cutIndex));
                }
                acc = acc.add(VectorExp2.exp2(VectorExp2.log2Units(v, max, scale)), in);
            }
            acc.intoArray(lanes, 0);
            total += SimdRows.sumLanes(lanes);
        }
        return total;
    }

    /** {@code WideCut.profile}'s vector blocks: the survivors' mass above each of three thresholds, below {@code below}. */
    static void profile(MemorySegment x, long off, int n, float negHalfM, float twoInvT, boolean cut, float cutLogit,
                        int cutIndex, float below, float[] t, double[] mass) {
        float t0 = t[0];
        float t1 = t[1];
        float t2 = t[2];
        float[] lanes = Workspace.get().lanes;
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            for (int i = start; i < end; i += L) {
                FloatVector v = load(x, off + i);
                VectorMask<Float> in = v.compare(VectorOperators.LT, below);
                if (cut) {
                    in = in.and(WideCut.kept(v, iota.add(i), cutLogit, cutIndex));
                }
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
    }

    /** {@code WideCut.gatherWindow}: the kept tokens with {@code lo ≤ x < below}; -1 past the window's cap. */
    static int gatherWindow(MemorySegment x, long off, int n, Candidates c, float cutLogit, int cutIndex, float lo,
                            float below) {
        int[] ids = c.winIndex;
        float[] logits = c.winLogit;
        IntVector iota = IntVector.zero(I).addIndex(1);
        int count = 0;
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector v = load(x, off + i);
            IntVector pos = iota.add(i);
            VectorMask<Float> in = v.compare(VectorOperators.LT, below).and(v.compare(VectorOperators.GE, lo))
                    .and(WideCut.kept(v, pos, cutLogit, cutIndex));
            if (in.anyTrue()) {
                if (count + L > ids.length) {
                    if (count + L > WideCut.WINDOW_CAP) {
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
            float v = at(x, off + i);
            if (v < below && v >= lo && WideCut.kept(v, i, cutLogit, cutIndex)) {
                if (count == ids.length) {
                    if (count + 1 > WideCut.WINDOW_CAP) {
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

    /** {@link WideCut#writeMask}'s vector part: one byte per token unless {@code mask} is null; returns how many are kept. */
    static int writeMask(MemorySegment x, long off, int n, float cutLogit, int cutIndex, MemorySegment mask,
                         long maskOff) {
        IntVector iota = IntVector.zero(I).addIndex(1);
        int count = 0;
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            VectorMask<Float> k = WideCut.kept(load(x, off + i), iota.add(i), cutLogit, cutIndex);
            count += k.trueCount();
            if (mask != null) {
                WideCut.spreadMask(k.toLong(), mask, maskOff + i);
            }
        }
        return count;
    }

    /** {@link #sampleLargest} on a row of binary16 elements. */
    static float sampleLargestF16(MemorySegment x, long off, int chunks, long stride, int r, float[] largest) {
        int filled = 0;
        float[] lanes = Workspace.get().lanes;
        for (int k = 0; k < chunks; k++) {
            FloatVector v = loadF16(x, off + k * stride);
            if (filled == r && !v.compare(VectorOperators.GT, largest[r - 1]).anyTrue()) {
                continue;
            }
            v.intoArray(lanes, 0);
            filled = SimdSelectionKernels.keepLargest(lanes, largest, filled, r);
        }
        return filled < r ? Float.NEGATIVE_INFINITY : largest[r - 1];
    }

    /** {@link #gather} on a row of binary16 elements. */
    static boolean gatherF16(MemorySegment x, long off, int n, float threshold, Candidates c) {
        int count = 0;
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        int i = 0;
        for (int start = 0; start < upper; start += SimdSelectionKernels.GATHER_BLOCK) {
            int end = Math.min(upper, start + SimdSelectionKernels.GATHER_BLOCK);
            c.grow(count + (end - start));
            int[] out = c.index;
            for (i = start; i < end; i += L) {
                FloatVector v = loadF16(x, off + i);
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
        c.grow(count + (n - upper));
        int[] out = c.index;
        for (i = upper; i < n; i++) {
            float v = atF16(x, off + i);
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

    /** {@code SimdSelectionKernels.gatherMinP} on a row of binary16 elements. */
    static float gatherMinPF16(MemorySegment x, long off, int n, float t, float r, Candidates c) {
        double drop = t * Math.log(r);
        float top = Float.NEGATIVE_INFINITY;
        float threshold = -Float.MAX_VALUE; // masked tokens never enter
        int count = 0;
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        for (int start = 0; start < upper; start += SimdSelectionKernels.GATHER_BLOCK) {
            int end = Math.min(upper, start + SimdSelectionKernels.GATHER_BLOCK);
            if (count > SimdSelectionKernels.MAX_MINP_CANDIDATES) {
                c.count = 0;
                return Float.POSITIVE_INFINITY; // a wide cut: the ranking takes it
            }
            c.grow(count + (end - start));
            int[] out = c.index;
            for (int i = start; i < end; i += L) {
                FloatVector v = loadF16(x, off + i);
                if (v.compare(VectorOperators.NE, v).anyTrue()) {
                    return Float.NaN;
                }
                VectorMask<Float> keep = v.compare(VectorOperators.GE, threshold);
                if (keep.anyTrue()) {
                    float vmax = v.reduceLanes(VectorOperators.MAX);
                    if (vmax > top) {
                        if (vmax == Float.POSITIVE_INFINITY) {
                            return vmax;
                        }
                        top = vmax;
                        threshold = SimdSelectionKernels.minPFloor(top, drop, t);
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
            float v = atF16(x, off + i);
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

    /** {@link #massBelow} on a row of binary16 elements. */
    static double massBelowF16(MemorySegment x, long off, int n, float max, float temperature, float below,
                            float cutLogit, int cutIndex, float[] lanes) {
        float scale = VectorExp2.log2Scale(temperature);
        boolean cut = cutLogit != Float.NEGATIVE_INFINITY;
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector v = loadF16(x, off + i);
                VectorMask<Float> in = v.compare(VectorOperators.LT, below);
                if (cut) {
                    in = in.and(WideCut.kept(v, iota.add(i), cutLogit, cutIndex));
                }
                acc = acc.add(VectorExp2.exp2(VectorExp2.log2Units(v, max, scale)), in);
            }
            acc.intoArray(lanes, 0);
            total += SimdRows.sumLanes(lanes);
        }
        return total;
    }

    /** {@link #writeMask} on a row of binary16 elements. */
    static int writeMaskF16(MemorySegment x, long off, int n, float cutLogit, int cutIndex, MemorySegment mask,
                         long maskOff) {
        IntVector iota = IntVector.zero(I).addIndex(1);
        int count = 0;
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            VectorMask<Float> k = WideCut.kept(loadF16(x, off + i), iota.add(i), cutLogit, cutIndex);
            count += k.trueCount();
            if (mask != null) {
                WideCut.spreadMask(k.toLong(), mask, maskOff + i);
            }
        }
        return count;
    }

    /** bfloat16 and binary16 bits of {@code -inf}, which a masked output element holds. */
    private static final int BF16_NEG_INF = 0xFF80;
    private static final int F16_NEG_INF = 0xFC00;

    /** {@code WideCut.maskLogits}' vector part, bfloat16 in, float32 out (at element {@code dstOff}, native). */
    static void maskLogitsBf16ToF32(MemorySegment x, long off, int n, float cutLogit, int cutIndex, MemorySegment dst,
                                    long dstOff) {
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        for (int i = 0; i < upper; i += L) {
            FloatVector v = load(x, off + i);
            v.blend(Float.NEGATIVE_INFINITY, WideCut.kept(v, iota.add(i), cutLogit, cutIndex).not())
                    .intoMemorySegment(dst, (dstOff + i) * Float.BYTES, SimdConstants.ORDER);
        }
    }

    /** {@code WideCut.maskLogits}' vector part, binary16 in, float32 out (at element {@code dstOff}, native). */
    static void maskLogitsF16ToF32(MemorySegment x, long off, int n, float cutLogit, int cutIndex, MemorySegment dst,
                                   long dstOff) {
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        for (int i = 0; i < upper; i += L) {
            FloatVector v = loadF16(x, off + i);
            v.blend(Float.NEGATIVE_INFINITY, WideCut.kept(v, iota.add(i), cutLogit, cutIndex).not())
                    .intoMemorySegment(dst, (dstOff + i) * Float.BYTES, SimdConstants.ORDER);
        }
    }

    /**
     * {@code WideCut.maskLogits}' vector part, bfloat16 in and out (native {@code dst}): the kept elements' bits as read,
     * {@code -inf} for the others, so no rounding is needed (the widened value of a kept element narrows to its bits).
     */
    static void maskLogitsBf16(MemorySegment x, long off, int n, float cutLogit, int cutIndex, MemorySegment dst,
                               long dstOff) {
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        for (int i = 0; i < upper; i += L) {
            IntVector h = HalfVectors.loadBits(x, off + i);
            VectorMask<Float> k = WideCut.kept(HalfVectors.fromBf16(h), iota.add(i), cutLogit, cutIndex);
            storeBits(h.blend(BF16_NEG_INF, k.not().cast(I)), dst, dstOff + i);
        }
    }

    /** {@link #maskLogitsBf16} on binary16 rows. */
    static void maskLogitsF16(MemorySegment x, long off, int n, float cutLogit, int cutIndex, MemorySegment dst,
                              long dstOff) {
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        for (int i = 0; i < upper; i += L) {
            IntVector h = HalfVectors.loadBits(x, off + i);
            VectorMask<Float> k = WideCut.kept(HalfVectors.fromF16(h), iota.add(i), cutLogit, cutIndex);
            storeBits(h.blend(F16_NEG_INF, k.not().cast(I)), dst, dstOff + i);
        }
    }

    private static void storeBits(IntVector h, MemorySegment dst, long index) {
        ((ShortVector) h.convertShape(VectorOperators.I2S, HalfVectors.S, 0))
                .intoMemorySegment(dst, index * Short.BYTES, SimdConstants.ORDER);
    }

    /**
     * Elements {@code [off, off + n)} of a half row set to {@code bits}; a heap segment is filled through a native
     * staging row (vector stores into heap segments are not intrinsified).
     */
    static void fill(MemorySegment out, long off, int n, short bits) {
        MemorySegment dst = out.isNative() ? out : Workspace.get().staging(n);
        long dstOff = out.isNative() ? off : 0;
        ShortVector v = ShortVector.broadcast(HalfVectors.S, bits);
        int upper = n - n % L;
        int i = 0;
        for (; i < upper; i += L) {
            v.intoMemorySegment(dst, (dstOff + i) * Short.BYTES, SimdConstants.ORDER);
        }
        for (; i < n; i++) {
            dst.setAtIndex(I16, dstOff + i, bits);
        }
        if (dst != out) {
            MemorySegment.copy(dst, 0, out, off * Short.BYTES, (long) n * Short.BYTES);
        }
    }

    /**
     * {@code SimdSelectionKernels.maxOrNaN}: the row maximum, NaN if any element is NaN. Four accumulators (max is
     * exact, so the order is free): with one, the chain of Java-semantics max instructions bound the loop by its latency
     * (0.215 ns/element against 0.13 with four, 32 rows of 128256 in L3). The float32 loop kept its one accumulator:
     * four measured slower there (0.29–0.41 against 0.19 ns/element), for a reason not found.
     */
    static float maxOrNaN(MemorySegment x, long off, int n) {
        FloatVector a0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int upper = n - n % (4 * L);
        int i = 0;
        for (; i < upper; i += 4 * L) {
            a0 = a0.max(load(x, off + i));
            a1 = a1.max(load(x, off + i + L));
            a2 = a2.max(load(x, off + i + 2 * L));
            a3 = a3.max(load(x, off + i + 3 * L));
        }
        float m = a0.max(a1).max(a2.max(a3)).reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            m = Math.max(m, at(x, off + i));
        }
        return m;
    }

    /** {@code SimdSelectionKernels.argmax}: the lowest id of the largest logit, or -1 for a special row. */
    static int argmax(MemorySegment x, long off, int n) {
        float m = maxOrNaN(x, off, n);
        if (m == Float.POSITIVE_INFINITY || m == Float.NEGATIVE_INFINITY || Float.isNaN(m)) {
            return -1;
        }
        return firstEqual(x, off, n, m);
    }

    /**
     * {@link #argmax} on a row of binary16 elements. Its own loops, not a flag in the bfloat16 ones: a loop shared by two
     * element types shares one profile (see the class comment).
     */
    static int argmaxF16(MemorySegment x, long off, int n) {
        float m = maxOrNaNF16(x, off, n);
        if (m == Float.POSITIVE_INFINITY || m == Float.NEGATIVE_INFINITY || Float.isNaN(m)) {
            return -1;
        }
        return firstEqualF16(x, off, n, m);
    }

    /** {@code SimdSelectionKernels.countAtLeast}: how many elements are {@code ≥ value}. */
    static int countAtLeast(MemorySegment x, long off, int n, float value) {
        int count = 0;
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            count += load(x, off + i).compare(VectorOperators.GE, value).trueCount();
        }
        for (; i < n; i++) {
            count += at(x, off + i) >= value ? 1 : 0;
        }
        return count;
    }

    /** {@link #countAtLeast} on a row of binary16 elements. */
    static int countAtLeastF16(MemorySegment x, long off, int n, float value) {
        int count = 0;
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            count += loadF16(x, off + i).compare(VectorOperators.GE, value).trueCount();
        }
        for (; i < n; i++) {
            count += atF16(x, off + i) >= value ? 1 : 0;
        }
        return count;
    }

    private static FloatVector loadF16(MemorySegment x, long i) {
        return HalfVectors.fromF16(HalfVectors.loadBits(x, i));
    }

    private static float atF16(MemorySegment x, long i) {
        return Float.float16ToFloat(x.getAtIndex(I16, i));
    }

    private static float maxOrNaNF16(MemorySegment x, long off, int n) {
        FloatVector a0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int upper = n - n % (4 * L);
        int i = 0;
        for (; i < upper; i += 4 * L) {
            a0 = a0.max(loadF16(x, off + i));
            a1 = a1.max(loadF16(x, off + i + L));
            a2 = a2.max(loadF16(x, off + i + 2 * L));
            a3 = a3.max(loadF16(x, off + i + 3 * L));
        }
        float m = a0.max(a1).max(a2.max(a3)).reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            m = Math.max(m, atF16(x, off + i));
        }
        return m;
    }

    private static int firstEqualF16(MemorySegment x, long off, int n, float m) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            VectorMask<Float> hit = loadF16(x, off + i).compare(VectorOperators.EQ, m);
            if (hit.anyTrue()) {
                return i + hit.firstTrue();
            }
        }
        for (; i < n; i++) {
            if (atF16(x, off + i) == m) {
                return i;
            }
        }
        return -1; // unreachable: m is one of the logits
    }

    private static int firstEqual(MemorySegment x, long off, int n, float m) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            VectorMask<Float> hit = load(x, off + i).compare(VectorOperators.EQ, m);
            if (hit.anyTrue()) {
                return i + hit.firstTrue();
            }
        }
        for (; i < n; i++) {
            if (at(x, off + i) == m) {
                return i;
            }
        }
        return -1; // unreachable: m is one of the logits
    }
}
