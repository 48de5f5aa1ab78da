package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdConstants.ORDER;
import static dev.entrokit.internal.simd.SimdRows.blockEnd;
import static dev.entrokit.internal.simd.SimdRows.shift;
import static dev.entrokit.internal.simd.SimdRows.store;
import static dev.entrokit.internal.simd.SimdRows.sumLanes;
import static dev.entrokit.internal.simd.VectorExp2.exp2OrZero;
import static dev.entrokit.internal.simd.VectorExp2.log2ScaleOfTwoInvT;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.GT;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The passes of {@link SimdDivergenceKernels} that read a teacher/student pair of logit rows, on rows of bfloat16
 * elements widened in registers as they are loaded ({@link HalfVectors#fromBf16}: exact), so that KL, reverse KL,
 * soft cross-entropy, JSD and Jeffreys need no float32 copy of their inputs. Each method is its float32 namesake in
 * {@link OneReadPasses}, {@link PairPasses} or {@link RowPasses} with the load replaced and nothing else (but
 * {@link #klBlockSums}, {@link #crossEntropyBlockSums} and {@link #jeffreysBlockSums}, split in two loops of one exp
 * each): same blocks, same order of float operations per lane, so its results are bitwise those of the namesake on the
 * rows widened to float32.
 *
 * <p>Why the split: C2 stops inlining a method's own callees once its compilation holds about 18,000 IR nodes
 * ({@code NodeCountInliningCutoff}), and then the exp's vectors are boxed (98 MB allocated and 3× the time per
 * 256 × 32000 KL call, HalfOpsProbe). A bfloat16 load costs about 2,000 nodes (float32: 600–900) and an exp about
 * 8,000, so a loop with two loads and two exps reached the second exp at 17,000–17,500 nodes: inside the budget with
 * shared-arena inputs and a fresh profile, beyond it with confined-arena inputs (each access also checks the owner
 * thread) or after the warm-up's float32 calls (LogCompilation's {@code parse_done} counts). One exp per loop enters
 * its exp at about 8,500. The second loop re-reads the block from L1: about 5 % on KL (7.6 → 8.0 ms). The dispatchers ({@link OneReadPasses#pairSumsStreaming}, {@link OneReadPasses#pairBlockSums},
 * {@link PairPasses#rklMeanStore}, {@code SimdDivergenceKernels.addRklGrad}) branch once, before the loop, and keep
 * the scalar tails for both element types ({@link #at}).
 *
 * <p>One element type per loop: a loop shared by two element types shares one profile, which is how the in-register
 * kernels once came to box their vectors. What the passes store for the gradients (exps, shifted logits) is float32,
 * as on float32 rows.
 */
final class HalfPairPasses {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** bfloat16 patterns in a full float vector's bits: {@code 2L} lanes, for the compares that need no widen. */
    private static final VectorSpecies<Short> W = VectorSpecies.of(short.class, F.vectorShape());
    /** The upper 16 bits of an int lane: the second of the two bfloat16 elements it holds, as a float. */
    private static final int UPPER_HALF = 0xFFFF0000;

    private HalfPairPasses() {
    }

    /** Element {@code i} of a row of bfloat16 ({@code bf16}) or float32 elements, as float32 (exact): for the scalar tails. */
    static float at(boolean bf16, MemorySegment x, long i) {
        return bf16 ? Float.intBitsToFloat(x.getAtIndex(I16, i) << 16) : x.getAtIndex(F32, i);
    }

    /** The {@code L} bfloat16 elements at element {@code i}, as float32: the only difference from the namesakes. */
    /**
     * {@link OneReadPasses#pairMaxMinBlock} on a bfloat16 pair, reading {@code 2L} elements of each row per step with
     * no lane-crossing widen ({@link #pairMaxMinUnordered}): a maximum or minimum is the same value whatever the order
     * the elements are compared in, except where it is zero (which of {@code ±0} the float32 pass keeps depends on its
     * lane order), and then the block is run again in the float32 pass's order ({@link #pairMaxMinBlockInOrder}).
     */
    static void pairMaxMinBlock(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end, float[] mm) {
        float maxT = mm[0];
        float minT = mm[1];
        float maxS = mm[2];
        float minS = mm[3];
        pairMaxMinUnordered(t, tOff, s, sOff, start, end, mm);
        if (mm[0] == 0f || mm[1] == 0f || mm[2] == 0f || mm[3] == 0f) {
            mm[0] = maxT;
            mm[1] = minT;
            mm[2] = maxS;
            mm[3] = minS;
            pairMaxMinBlockInOrder(t, tOff, s, sOff, start, end, mm);
        }
    }

    /**
     * {@link #pairMaxMinBlock}'s step: each {@code 2L}-element stretch loaded as {@code L} ints, whose shift by 16 and
     * upper half are float vectors of its even and odd elements (exact, and no shuffle: a lane-crossing widen costs
     * about 0.14 ns per element in these loops); the blends are the float32 pass's. A last {@code L} elements are
     * widened in order.
     */
    private static void pairMaxMinUnordered(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end,
                                            float[] mm) {
        FloatVector mxT = FloatVector.broadcast(F, mm[0]);
        FloatVector mnT = FloatVector.broadcast(F, mm[1]);
        FloatVector mxS = FloatVector.broadcast(F, mm[2]);
        FloatVector mnS = FloatVector.broadcast(F, mm[3]);
        int i = start;
        for (; i + 2 * L <= end; i += 2 * L) {
            IntVector wt = IntVector.fromMemorySegment(HalfVectors.I, t, (tOff + i) * Short.BYTES, ORDER);
            IntVector ws = IntVector.fromMemorySegment(HalfVectors.I, s, (sOff + i) * Short.BYTES, ORDER);
            FloatVector vt = wt.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector vs = ws.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            mxT = mxT.blend(vt, vt.compare(GT, mxT));
            mxS = mxS.blend(vs, vs.compare(GT, mxS));
            FloatVector liveT = vt.blend(Float.POSITIVE_INFINITY, vt.compare(EQ, Float.NEGATIVE_INFINITY));
            FloatVector liveS = vs.blend(Float.POSITIVE_INFINITY, vs.compare(EQ, Float.NEGATIVE_INFINITY));
            mnT = mnT.blend(liveT, liveT.compare(VectorOperators.LT, mnT));
            mnS = mnS.blend(liveS, liveS.compare(VectorOperators.LT, mnS));
            vt = wt.and(UPPER_HALF).reinterpretAsFloats();
            vs = ws.and(UPPER_HALF).reinterpretAsFloats();
            mxT = mxT.blend(vt, vt.compare(GT, mxT));
            mxS = mxS.blend(vs, vs.compare(GT, mxS));
            liveT = vt.blend(Float.POSITIVE_INFINITY, vt.compare(EQ, Float.NEGATIVE_INFINITY));
            liveS = vs.blend(Float.POSITIVE_INFINITY, vs.compare(EQ, Float.NEGATIVE_INFINITY));
            mnT = mnT.blend(liveT, liveT.compare(VectorOperators.LT, mnT));
            mnS = mnS.blend(liveS, liveS.compare(VectorOperators.LT, mnS));
        }
        if (i < end) {
            FloatVector vt = HalfVectors.loadBf16(t, tOff + i);
            FloatVector vs = HalfVectors.loadBf16(s, sOff + i);
            mxT = mxT.blend(vt, vt.compare(GT, mxT));
            mxS = mxS.blend(vs, vs.compare(GT, mxS));
            FloatVector liveT = vt.blend(Float.POSITIVE_INFINITY, vt.compare(EQ, Float.NEGATIVE_INFINITY));
            FloatVector liveS = vs.blend(Float.POSITIVE_INFINITY, vs.compare(EQ, Float.NEGATIVE_INFINITY));
            mnT = mnT.blend(liveT, liveT.compare(VectorOperators.LT, mnT));
            mnS = mnS.blend(liveS, liveS.compare(VectorOperators.LT, mnS));
        }
        mm[0] = mxT.reduceLanes(VectorOperators.MAX);
        mm[1] = mnT.reduceLanes(VectorOperators.MIN);
        mm[2] = mxS.reduceLanes(VectorOperators.MAX);
        mm[3] = mnS.reduceLanes(VectorOperators.MIN);
    }

    /** {@link OneReadPasses#pairMaxMinBlock} on a bfloat16 pair, in its lane order (the load replaced). */
    static void pairMaxMinBlockInOrder(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end, float[] mm) {
        FloatVector mxT = FloatVector.broadcast(F, mm[0]);
        FloatVector mnT = FloatVector.broadcast(F, mm[1]);
        FloatVector mxS = FloatVector.broadcast(F, mm[2]);
        FloatVector mnS = FloatVector.broadcast(F, mm[3]);
        for (int i = start; i < end; i += L) {
            FloatVector vt = HalfVectors.loadBf16(t, tOff + i);
            FloatVector vs = HalfVectors.loadBf16(s, sOff + i);
            mxT = mxT.blend(vt, vt.compare(GT, mxT));
            mxS = mxS.blend(vs, vs.compare(GT, mxS));
            FloatVector liveT = vt.blend(Float.POSITIVE_INFINITY, vt.compare(EQ, Float.NEGATIVE_INFINITY));
            FloatVector liveS = vs.blend(Float.POSITIVE_INFINITY, vs.compare(EQ, Float.NEGATIVE_INFINITY));
            mnT = mnT.blend(liveT, liveT.compare(VectorOperators.LT, mnT));
            mnS = mnS.blend(liveS, liveS.compare(VectorOperators.LT, mnS));
        }
        mm[0] = mxT.reduceLanes(VectorOperators.MAX);
        mm[1] = mnT.reduceLanes(VectorOperators.MIN);
        mm[2] = mxS.reduceLanes(VectorOperators.MAX);
        mm[3] = mnS.reduceLanes(VectorOperators.MIN);
    }

    /**
     * {@link OneReadPasses#klBlockSums} on a bfloat16 pair, as two loops of one exp each over the block (in L1 by then):
     * the teacher's ({@link #directionBlockSums}) and the student's ({@link #expSumStored}, on the shifted student block the first loop stored). Each accumulator sees the
     * same lane values in the same order as in the namesake, so the sums are bitwise the same.
     */
    static void klBlockSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end, float negHalfMt,
                            float negHalfMs, float log2Scale, double[] acc, float[] lanes) {
        float[] b = Workspace.get().block;
        directionBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, acc, lanes, b);
        expSumStored(b, end - start, acc, 1, lanes);
    }

    /**
     * {@code acc[which] = Σ 2^{b_j}} over the first {@code count} shifted logits {@code b} that the teacher loop stored
     * (a multiple of {@code L}), with the namesake's compensated sum: the student's half of a block. Reading them back
     * from L1 instead of reloading and widening the bfloat16 block saves four vector operations per vector.
     */
    private static void expSumStored(float[] b, int count, double[] acc, int which, float[] lanes) {
        FloatVector dAcc = FloatVector.zero(F);
        FloatVector dComp = FloatVector.zero(F);
        for (int j = 0; j < count; j += L) {
            FloatVector e = exp2OrZero(FloatVector.fromArray(F, b, j));
            FloatVector sum = dAcc.add(e);
            dComp = dComp.add(e.sub(sum.sub(dAcc)));
            dAcc = sum;
        }
        dAcc.intoArray(lanes, 0);
        double d = sumLanes(lanes);
        dComp.intoArray(lanes, 0);
        acc[which] = d + sumLanes(lanes);
    }

    /** {@link OneReadPasses#teacherBlockStore} on a bfloat16 pair. */
    static void teacherBlockStore(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end,
                                  float negHalfMt, float negHalfMs, float log2Scale, MemorySegment eT, long eTOff,
                                  double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector wAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = HalfVectors.loadBf16(t, tOff + i);
            FloatVector a = shift(xt, negHalfMt, log2Scale);
            FloatVector b = shift(HalfVectors.loadBf16(s, sOff + i), negHalfMs, log2Scale);
            FloatVector et = exp2OrZero(a);
            store(et, eT, eTOff + i);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            wAcc = wAcc.add(et.mul(a.sub(b)).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        wAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
    }

    /** {@link OneReadPasses#expBlockStore} on a bfloat16 row. */
    static void expBlockStore(MemorySegment x, long xOff, int start, int end, float negHalfM, float log2Scale,
                              MemorySegment out, long outOff, double[] acc, float[] lanes) {
        FloatVector dAcc = FloatVector.zero(F);
        FloatVector dComp = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector e = exp2OrZero(shift(HalfVectors.loadBf16(x, xOff + i), negHalfM, log2Scale));
            store(e, out, outOff + i);
            FloatVector sum = dAcc.add(e);
            dComp = dComp.add(e.sub(sum.sub(dAcc)));
            dAcc = sum;
        }
        dAcc.intoArray(lanes, 0);
        double d = sumLanes(lanes);
        dComp.intoArray(lanes, 0);
        acc[1] = d + sumLanes(lanes);
    }

    /**
     * {@link OneReadPasses#crossEntropyBlockSums} on a bfloat16 pair, as two loops of one exp each (see
     * {@link #klBlockSums}): the teacher's ({@link #crossTeacherBlockSums}) and the student's ({@link #expSumStored}, on the shifted student block the first loop stored).
     */
    static void crossEntropyBlockSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end,
                                      float negHalfMt, float negHalfMs, float log2Scale, double[] acc, float[] lanes) {
        float[] b = Workspace.get().block;
        crossTeacherBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, acc, lanes, b);
        expSumStored(b, end - start, acc, 1, lanes);
    }

    /**
     * The teacher's half of {@link #crossEntropyBlockSums}: {@code acc[0] = d_t}, {@code acc[2] = Σ e^{a_i}·b_i}
     * (masked teacher entries add 0), as {@link #crossEntropyTeacherBlockStore} without the store.
     */
    private static void crossTeacherBlockSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int start,
                                              int end, float negHalfMt, float negHalfMs, float log2Scale, double[] acc,
                                              float[] lanes, float[] bOut) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector vAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = HalfVectors.loadBf16(t, tOff + i);
            FloatVector et = exp2OrZero(shift(xt, negHalfMt, log2Scale));
            FloatVector b = shift(HalfVectors.loadBf16(s, sOff + i), negHalfMs, log2Scale);
            b.intoArray(bOut, i - start);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            vAcc = vAcc.add(et.mul(b).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        vAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
    }

    /** {@link OneReadPasses#crossEntropyTeacherBlockStore} on a bfloat16 pair. */
    static void crossEntropyTeacherBlockStore(MemorySegment t, long tOff, MemorySegment s, long sOff, int start,
                                              int end, float negHalfMt, float negHalfMs, float log2Scale, MemorySegment eT,
                                              double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector vAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = HalfVectors.loadBf16(t, tOff + i);
            FloatVector et = exp2OrZero(shift(xt, negHalfMt, log2Scale));
            FloatVector b = shift(HalfVectors.loadBf16(s, sOff + i), negHalfMs, log2Scale);
            store(et, eT, i);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            vAcc = vAcc.add(et.mul(b).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        vAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
    }

    /**
     * {@link OneReadPasses#jeffreysBlockSums} on a bfloat16 pair, as two loops of one exp each ({@link #directionBlockSums},
     * the reverse direction first; see the class comment). Each accumulator sees the same lane values in the same order as in
     * the namesake ({@code b − a} is exactly {@code −(a − b)}), so the sums are bitwise the same.
     */
    static void jeffreysBlockSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end,
                                  float negHalfMt, float negHalfMs, float log2Scale, double[] acc, float[] lanes) {
        float[] scratch = Workspace.get().block;
        directionBlockSums(s, sOff, t, tOff, start, end, negHalfMs, negHalfMt, log2Scale, acc, lanes, scratch);
        double ds = acc[0];
        double wr = acc[2];
        directionBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, acc, lanes, scratch);
        acc[1] = ds;
        acc[3] = wr;
    }

    /**
     * One direction of {@link #jeffreysBlockSums}: {@code acc[0] = d_t}, {@code acc[2] = Σ e^{a_i}·(a_i − b_i)} (masked
     * teacher entries add 0), as {@link OneReadPasses#teacherBlockStore} without the store.
     */
    private static void directionBlockSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end,
                                           float negHalfMt, float negHalfMs, float log2Scale, double[] acc,
                                           float[] lanes, float[] bOut) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector wAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = HalfVectors.loadBf16(t, tOff + i);
            FloatVector a = shift(xt, negHalfMt, log2Scale);
            FloatVector b = shift(HalfVectors.loadBf16(s, sOff + i), negHalfMs, log2Scale);
            b.intoArray(bOut, i - start);
            FloatVector et = exp2OrZero(a);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            wAcc = wAcc.add(et.mul(a.sub(b)).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        wAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
    }

    /** {@link OneReadPasses#expShiftBlockStore} on a bfloat16 row. */
    static void expShiftBlockStore(MemorySegment x, long xOff, int start, int end, float negHalfM, float log2Scale,
                                   float[] eOut, float[] aOut, double[] acc, int which, float[] lanes) {
        FloatVector dAcc = FloatVector.zero(F);
        FloatVector dComp = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector a = shift(HalfVectors.loadBf16(x, xOff + i), negHalfM, log2Scale);
            FloatVector e = exp2OrZero(a);
            a.intoArray(aOut, i);
            e.intoArray(eOut, i);
            FloatVector sum = dAcc.add(e);
            dComp = dComp.add(e.sub(sum.sub(dAcc)));
            dAcc = sum;
        }
        dAcc.intoArray(lanes, 0);
        double d = sumLanes(lanes);
        dComp.intoArray(lanes, 0);
        acc[which] = d + sumLanes(lanes);
    }


    /** The vector blocks of {@link PairPasses#rklMeanStore} ({@code [0, upper)}) on a bfloat16 pair. */
    static double rklMeanStoreBlocks(MemorySegment t, long tOff, MemorySegment s, long sOff, int upper, float negHalfMs,
                                     float negHalfTk, float twoInvT, float invDs, MemorySegment qRow, MemorySegment cRow,
                                     float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT); // the exps in log2 units, c in nats
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector h = HalfVectors.loadBf16(s, sOff + i).fma(0.5f, negHalfMs);
                FloatVector b = h.mul(twoInvT);
                FloatVector q = exp2OrZero(h.mul(log2Scale)).mul(invDs);
                FloatVector c = b.sub(shift(HalfVectors.loadBf16(t, tOff + i), negHalfTk, twoInvT));
                store(q, qRow, i);
                store(c, cRow, i);
                acc = acc.add(q.mul(c).blend(0f, q.compare(EQ, 0f)));
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        return total;
    }

    /**
     * {@link RowPasses#indexOf} on a bfloat16 row: the first index holding {@code value} (not NaN), which the row holds.
     * Compares the 16-bit patterns, {@code 2L} per step in element order (no widen): {@code value} is a bfloat16 value
     * (a maximum of the row), so a pattern equals it exactly when the float does, but for {@code ±0}, which compare
     * equal as floats: there the sign bit is masked off.
     */
    static int indexOf(MemorySegment x, long off, int n, float value) {
        int bits = Float.floatToRawIntBits(value);
        short mask = (short) (value == 0f ? 0x7FFF : 0xFFFF);
        short target = (short) ((bits >>> 16) & mask);
        int upper = W.loopBound(n);
        int i = 0;
        for (; i < upper; i += W.length()) {
            ShortVector h = ShortVector.fromMemorySegment(W, x, (off + i) * Short.BYTES, ORDER);
            int lane = h.and(mask).compare(EQ, target).firstTrue();
            if (lane < W.length()) {
                return i + lane;
            }
        }
        while (at(true, x, off + i) != value) {
            i++;
        }
        return i;
    }
}
