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
 * float32; the callers branch once on the element type, before the loop, into one of the three. The passes that only
 * compare logits need no float at all: {@link HalfKeyPasses}.
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

    /** {@code SimdSelectionKernels.sampleLargest}: the {@code r}-th largest of the sampled vectors. */
    static float sampleLargest(MemorySegment x, long off, int chunks, long stride, int r, float[] largest) {
        int filled = 0;
        float[] lanes = Workspace.get().lanes;
        for (int k = 0; k < chunks; k++) {
            FloatVector v = HalfVectors.loadBf16(x, off + k * stride);
            long lanesIn = filled < r ? SimdSelectionKernels.ALL_LANES
                    : v.compare(VectorOperators.GT, largest[r - 1]).toLong();
            if (lanesIn != 0) {
                v.intoArray(lanes, 0);
                filled = SimdSelectionKernels.keepLargest(lanes, lanesIn, largest, filled, r);
            }
        }
        return filled < r ? Float.NEGATIVE_INFINITY : largest[r - 1];
    }

    /**
     * {@link WideCut#massBelow}'s vector blocks (the caller adds the scalar tail), block {@code b}'s mass also left in
     * {@code sums[b]} for the walk.
     */
    static double massBelow(MemorySegment x, long off, int n, float max, float temperature, float below,
                            float cutLogit, int cutIndex, double[] sums, float[] lanes) {
        float scale = VectorExp2.log2Scale(temperature);
        boolean cut = cutLogit != Float.NEGATIVE_INFINITY;
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            double mass = cut ? blockMassCut(x, off, start, end, max, scale, below, cutLogit, cutIndex, lanes)
                    : blockMass(x, off, start, end, max, scale, below, lanes);
            sums[start / SimdConstants.BLOCK] = mass;
            total += mass;
        }
        return total;
    }

    /** One block of {@link #massBelow} with no cut: the mass of the tokens below {@code below}, lanes added in order. */
    private static double blockMass(MemorySegment x, long off, int start, int end, float max, float scale, float below,
                                    float[] lanes) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector v = HalfVectors.loadBf16(x, off + i);
            acc = acc.add(VectorExp2.exp2(VectorExp2.log2Units(v, max, scale)), v.compare(VectorOperators.LT, below));
        }
        acc.intoArray(lanes, 0);
        return SimdRows.sumLanes(lanes);
    }

    /** One block of {@link #massBelow} under the cut {@code (cutLogit, cutIndex)}. */
    private static double blockMassCut(MemorySegment x, long off, int start, int end, float max, float scale,
                                       float below, float cutLogit, int cutIndex, float[] lanes) {
        IntVector iota = IntVector.zero(I).addIndex(1);
        FloatVector acc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector v = HalfVectors.loadBf16(x, off + i);
            VectorMask<Float> in = v.compare(VectorOperators.LT, below)
                    .and(WideCut.kept(v, iota.add(i), cutLogit, cutIndex));
            acc = acc.add(VectorExp2.exp2(VectorExp2.log2Units(v, max, scale)), in);
        }
        acc.intoArray(lanes, 0);
        return SimdRows.sumLanes(lanes);
    }

    /** {@code WideCut.profile}'s vector blocks: the survivors' mass above each of three thresholds, below {@code below}. */
    static void profile(MemorySegment x, long off, int n, float negHalfM, float twoInvT, boolean cut, float cutLogit,
                        int cutIndex, float below, float[] t, double[] mass) {
        float[] lanes = Workspace.get().lanes;
        int upper = F.loopBound(n);
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            if (cut) {
                profileBlockCut(x, off, start, end, negHalfM, twoInvT, below, cutLogit, cutIndex, t, mass, lanes);
            } else {
                profileBlock(x, off, start, end, negHalfM, twoInvT, below, t, mass, lanes);
            }
        }
    }

    /** One block of {@link #profile} with no cut, its three masses added to {@code mass}. */
    private static void profileBlock(MemorySegment x, long off, int start, int end, float negHalfM, float twoInvT,
                                     float below, float[] t, double[] mass, float[] lanes) {
        float t0 = t[0];
        float t1 = t[1];
        float t2 = t[2];
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        for (int i = start; i < end; i += L) {
            FloatVector v = HalfVectors.loadBf16(x, off + i);
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
            FloatVector v = HalfVectors.loadBf16(x, off + i);
            VectorMask<Float> in = v.compare(VectorOperators.LT, below)
                    .and(WideCut.kept(v, iota.add(i), cutLogit, cutIndex));
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
            FloatVector v = HalfVectors.loadBf16(x, off + i);
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

    /** {@link #sampleLargest} on a row of binary16 elements. */
    static float sampleLargestF16(MemorySegment x, long off, int chunks, long stride, int r, float[] largest) {
        int filled = 0;
        float[] lanes = Workspace.get().lanes;
        for (int k = 0; k < chunks; k++) {
            FloatVector v = loadF16(x, off + k * stride);
            long lanesIn = filled < r ? SimdSelectionKernels.ALL_LANES
                    : v.compare(VectorOperators.GT, largest[r - 1]).toLong();
            if (lanesIn != 0) {
                v.intoArray(lanes, 0);
                filled = SimdSelectionKernels.keepLargest(lanes, lanesIn, largest, filled, r);
            }
        }
        return filled < r ? Float.NEGATIVE_INFINITY : largest[r - 1];
    }

    /**
     * {@link #massBelow} on a row of binary16 elements, read as {@link HalfVectors#f16Finite} lanes (four operations
     * per vector, where the exact conversion takes eight): only on rows that {@link #f16FiniteExact} admits, whose
     * lanes then compare and weigh as the exact read's; {@code WideCut} widens the others.
     */
    static double massBelowF16(MemorySegment x, long off, int n, float max, float temperature, float below,
                            float cutLogit, int cutIndex, double[] sums, float[] lanes) {
        float scale = VectorExp2.log2Scale(temperature);
        boolean cut = cutLogit != Float.NEGATIVE_INFINITY;
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            double mass = cut ? blockMassCutF16(x, off, start, end, max, scale, below, cutLogit, cutIndex, lanes)
                    : blockMassF16(x, off, start, end, max, scale, below, lanes);
            sums[start / SimdConstants.BLOCK] = mass;
            total += mass;
        }
        return total;
    }

    private static double blockMassF16(MemorySegment x, long off, int start, int end, float max, float scale,
                                       float below, float[] lanes) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector v = HalfVectors.f16Finite(x, off + i);
            acc = acc.add(VectorExp2.exp2(VectorExp2.log2Units(v, max, scale)), v.compare(VectorOperators.LT, below));
        }
        acc.intoArray(lanes, 0);
        return SimdRows.sumLanes(lanes);
    }

    private static double blockMassCutF16(MemorySegment x, long off, int start, int end, float max, float scale,
                                          float below, float cutLogit, int cutIndex, float[] lanes) {
        IntVector iota = IntVector.zero(I).addIndex(1);
        FloatVector acc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector v = HalfVectors.f16Finite(x, off + i);
            VectorMask<Float> in = v.compare(VectorOperators.LT, below)
                    .and(WideCut.kept(v, iota.add(i), cutLogit, cutIndex));
            acc = acc.add(VectorExp2.exp2(VectorExp2.log2Units(v, max, scale)), in);
        }
        acc.intoArray(lanes, 0);
        return SimdRows.sumLanes(lanes);
    }

    /**
     * Whether {@link #massBelowF16} reads a binary16 row as the exact conversion would: {@code max} finite (the
     * callers' rows hold no NaN, which the gather refuses, and no {@code +inf}, which would be the maximum) and a
     * masked token's −2^16 below {@link VectorExp2#LOW} in log2 units, where {@code −inf} is clamped too; it fails
     * for a maximum within about 80·T of −2^16 or a temperature in the hundreds.
     */
    static boolean f16FiniteExact(float max, float temperature) {
        return Float.isFinite(max)
                && Math.fma(-0x1p16f, 0.5f, -0.5f * max) * VectorExp2.log2Scale(temperature) < VectorExp2.LOW;
    }

    /** {@code WideCut.maskLogits}' vector part, bfloat16 in, float32 out (at element {@code dstOff}, native). */
    static void maskLogitsBf16ToF32(MemorySegment x, long off, int n, float cutLogit, int cutIndex, MemorySegment dst,
                                    long dstOff) {
        IntVector iota = IntVector.zero(I).addIndex(1);
        int upper = F.loopBound(n);
        for (int i = 0; i < upper; i += L) {
            FloatVector v = HalfVectors.loadBf16(x, off + i);
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

    private static FloatVector loadF16(MemorySegment x, long i) {
        return HalfVectors.fromF16(HalfVectors.loadBits(x, i));
    }

    private static float atF16(MemorySegment x, long i) {
        return Float.float16ToFloat(x.getAtIndex(I16, i));
    }
}
