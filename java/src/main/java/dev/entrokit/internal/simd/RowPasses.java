package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.BLOCK;
import static dev.entrokit.internal.simd.SimdConstants.D;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdRows.blockEnd;
import static dev.entrokit.internal.simd.SimdRows.exp;
import static dev.entrokit.internal.simd.SimdRows.get;
import static dev.entrokit.internal.simd.SimdRows.load;
import static dev.entrokit.internal.simd.SimdRows.put;
import static dev.entrokit.internal.simd.SimdRows.shift;
import static dev.entrokit.internal.simd.SimdRows.store;
import static dev.entrokit.internal.simd.SimdRows.sumLanes;
import static dev.entrokit.internal.simd.SimdRows.toDouble;
import static dev.entrokit.internal.simd.SimdRows.toFloat;
import static dev.entrokit.internal.simd.VectorExp.expNonPositive;
import static dev.entrokit.internal.simd.VectorExp2.LN2;
import static dev.entrokit.internal.simd.VectorExp2.exp2OrZero;
import static dev.entrokit.internal.simd.VectorExp2.log2ScaleOfTwoInvT;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.GT;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * One-row SIMD passes, one hot loop each (max, sums of exps, stores, scaling), shared by the
 * softmax, divergence, policy, scoring and partial-state kernels. Each takes and returns scalars and
 * arrays only, so that the inlined exp stays within C2's budget (a boxed vector per iteration otherwise).
 *
 * <p>The passes that exponentiate a row against its maximum ({@link #sumExp}, {@link #sumExpBlock}, {@link #expStore},
 * {@link #entropySums}, {@link #expStoreEntropySums}, {@link #entropyGrad}) take {@code 2/T} like the others but shift
 * into log2 units ({@code fma(x, ½, −m/2)·2 log2 e/T}) and use {@link VectorExp2#exp2OrZero}: 9 multiply-adds per
 * exp instead of {@link VectorExp}'s 13, for the same accuracy in a kernel (the float argument's rounding dominates
 * both), and exactly 0 for masked and underflowed entries as before. The entropy sums {@code Σ e·y} of the vector
 * blocks are then {@code log2 e} times the sum in nats and are multiplied by {@code ln 2} in double; the scalar tails
 * stay in nats. {@link SimdHalfKernels}' twins do the same, so half rows agree with widened float32 rows bitwise.
 */
final class RowPasses {
    static final double EXTREME_SPREAD = 1e4;
    /** {@code log2 e} as a float, for passes that exponentiate a value held in nats with {@link VectorExp2#exp2OrZero}. */
    private static final float LOG2E_F = 1.44269504088896341f;
    private RowPasses() {
    }



    /** Row maximum, ignoring NaN (a NaN row is caught by its NaN sum). */
    static float max(MemorySegment x, long off, int n) {
        FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector m1 = m0;
        int upper2 = n - n % (2 * L);
        int i = 0;
        // Two chains, so that compare + blend latency does not bound the loop.
        for (; i < upper2; i += 2 * L) {
            FloatVector v0 = load(x, off + i);
            FloatVector v1 = load(x, off + i + L);
            m0 = m0.blend(v0, v0.compare(GT, m0));
            m1 = m1.blend(v1, v1.compare(GT, m1));
        }
        if (i + L <= n) {
            FloatVector v = load(x, off + i);
            m0 = m0.blend(v, v.compare(GT, m0));
            i += L;
        }
        m0 = m0.blend(m1, m1.compare(GT, m0));
        float r = m0.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            float v = get(x, off + i);
            r = v > r ? v : r;
        }
        return r;
    }

    /**
     * Row maximum (as {@link #max}) and smallest logit other than {@code −inf}, in one pass:
     * {@code acc[0] = max}, {@code acc[1] = min}.
     */
    static void maxAndMin(MemorySegment x, long off, int n, double[] acc) {
        FloatVector mx0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector mx1 = mx0;
        FloatVector mn0 = FloatVector.broadcast(F, Float.POSITIVE_INFINITY);
        FloatVector mn1 = mn0;
        int upper2 = n - n % (2 * L);
        int i = 0;
        // Two chains each, so that compare + blend latency does not bound the loop.
        for (; i < upper2; i += 2 * L) {
            FloatVector v0 = load(x, off + i);
            FloatVector v1 = load(x, off + i + L);
            mx0 = mx0.blend(v0, v0.compare(GT, mx0));
            mx1 = mx1.blend(v1, v1.compare(GT, mx1));
            FloatVector live0 = v0.blend(Float.POSITIVE_INFINITY, v0.compare(EQ, Float.NEGATIVE_INFINITY));
            FloatVector live1 = v1.blend(Float.POSITIVE_INFINITY, v1.compare(EQ, Float.NEGATIVE_INFINITY));
            mn0 = mn0.blend(live0, live0.compare(VectorOperators.LT, mn0));
            mn1 = mn1.blend(live1, live1.compare(VectorOperators.LT, mn1));
        }
        mx0 = mx0.blend(mx1, mx1.compare(GT, mx0));
        mn0 = mn0.blend(mn1, mn1.compare(VectorOperators.LT, mn0));
        float hi = mx0.reduceLanes(VectorOperators.MAX);
        float lo = mn0.reduceLanes(VectorOperators.MIN);
        for (; i < n; i++) {
            float v = get(x, off + i);
            hi = v > hi ? v : hi;
            lo = v < lo && v != Float.NEGATIVE_INFINITY ? v : lo;
        }
        acc[0] = hi;
        acc[1] = lo;
    }

    /**
     * Whether a row spreads its live logits over more than {@link #EXTREME_SPREAD} temperature units.
     * Then an entry whose exp is flushed (below −80) can still carry mass in a loss, e.g.
     * {@code p_i·(log p_i − log q_i)} with {@code p_i ≈ e^−85} and {@code log q_i ≈ −3e38}; such rows go
     * to the float64 reference. Below the limit a flushed entry contributes under 1.8e-35 · 1e4.
     */
    static boolean extreme(double[] acc, float invT) {
        return (acc[0] - acc[1]) * invT > EXTREME_SPREAD;
    }

    /** First index holding {@code value} (which must occur in the row). */
    static int indexOf(MemorySegment x, long off, int n, float value) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            int lane = load(x, off + i).compare(EQ, value).firstTrue();
            if (lane < L) {
                return i + lane;
            }
        }
        while (get(x, off + i) != value) {
            i++;
        }
        return i;
    }

    /** {@code d = Σ exp((x − m)/T)}: {@link #sumExpBlocks} then {@link #joinSumExp}, as a row cut into chunks takes them. */
    static double sumExp(MemorySegment x, long off, int n, float negHalfM, float twoInvT, float[] lanes) {
        int upper = F.loopBound(n);
        double[] sums = Workspace.get().blockSums(upper);
        sumExpBlocks(x, off, null, 0, 0, upper, negHalfM, twoInvT, sums, lanes);
        return joinSumExp(x, off, null, 0, n, negHalfM, twoInvT, sums);
    }

    /** Writes {@code e_i = exp((x_i − m)/T)} to {@code out} and returns {@code d = Σ e_i}, as {@link #sumExp} adds it. */
    static double expStore(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float negHalfM,
                           float twoInvT, float[] lanes) {
        int upper = F.loopBound(n);
        double[] sums = Workspace.get().blockSums(upper);
        sumExpBlocks(x, xOff, out, outOff, 0, upper, negHalfM, twoInvT, sums, lanes);
        return joinSumExp(x, xOff, out, outOff, n, negHalfM, twoInvT, sums);
    }

    /**
     * The vector blocks of {@link #sumExp} that start in {@code [from, to)} ({@code from} a multiple of
     * {@link SimdConstants#BLOCK}, {@code to} at most the row's loop bound): block {@code b}'s compensated total into
     * {@code sums[b]}; each {@code e_i} also goes to {@code out} unless it is {@code null}.
     */
    static void sumExpBlocks(MemorySegment x, long xOff, MemorySegment out, long outOff, int from, int to,
                             float negHalfM, float twoInvT, double[] sums, float[] lanes) {
        if (out != null) {
            expStoreBlocks(x, xOff, out, outOff, from, to, negHalfM, twoInvT, sums, lanes);
            return;
        }
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        for (int start = from, end; start < to; start = end) {
            end = blockEnd(start, to);
            FloatVector acc = FloatVector.zero(F);
            FloatVector comp = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector y = exp2OrZero(shift(load(x, xOff + i), negHalfM, log2Scale));
                FloatVector sum = acc.add(y);
                comp = comp.add(y.sub(sum.sub(acc)));
                acc = sum;
            }
            acc.intoArray(lanes, 0);
            double accSum = sumLanes(lanes);
            comp.intoArray(lanes, 0);
            sums[start / BLOCK] = accSum + sumLanes(lanes);
        }
    }

    private static void expStoreBlocks(MemorySegment x, long xOff, MemorySegment out, long outOff, int from, int to,
                                       float negHalfM, float twoInvT, double[] sums, float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        for (int start = from, end; start < to; start = end) {
            end = blockEnd(start, to);
            FloatVector acc = FloatVector.zero(F);
            FloatVector comp = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector e = exp2OrZero(shift(load(x, xOff + i), negHalfM, log2Scale));
                store(e, out, outOff + i);
                FloatVector sum = acc.add(e);
                comp = comp.add(e.sub(sum.sub(acc)));
                acc = sum;
            }
            acc.intoArray(lanes, 0);
            double accSum = sumLanes(lanes);
            comp.intoArray(lanes, 0);
            sums[start / BLOCK] = accSum + sumLanes(lanes);
        }
    }

    /**
     * The block totals of {@code [0, upper)} added in block order, then the scalar tail {@code [upper, n)} (its
     * {@code e_i} written to {@code out} unless it is {@code null}).
     */
    static double joinSumExp(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float negHalfM,
                             float twoInvT, double[] sums) {
        int upper = F.loopBound(n);
        double total = blockTotal(sums, upper);
        for (int i = upper; i < n; i++) {
            float e = exp(shift(get(x, xOff + i), negHalfM, twoInvT));
            if (out != null) {
                put(out, outOff + i, e);
            }
            total += e;
        }
        return total;
    }

    /** {@code out_i *= factor}. */
    static void scale(MemorySegment out, long off, int n, float factor) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            store(load(out, off + i).mul(factor), out, off + i);
        }
        for (; i < n; i++) {
            put(out, off + i, get(out, off + i) * factor);
        }
    }

    /** {@code out_i = value}. */
    static void fill(MemorySegment out, long off, int n, float value) {
        FloatVector v = FloatVector.broadcast(F, value);
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            store(v, out, off + i);
        }
        for (; i < n; i++) {
            put(out, off + i, value);
        }
    }

    /** {@code out_i = (x_i − m)/T − logD}. */
    static void shiftStore(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float negHalfM,
                           float twoInvT, float logD) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            store(shift(load(x, xOff + i), negHalfM, twoInvT).sub(logD), out, outOff + i);
        }
        for (; i < n; i++) {
            put(out, outOff + i, shift(get(x, xOff + i), negHalfM, twoInvT) - logD);
        }
    }

    /** {@code Σ (x_i − m)/T} (−inf when a logit is masked). */
    static double sumShifted(MemorySegment x, long off, int n, float negHalfM, float twoInvT, float[] lanes) {
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                acc = acc.add(shift(load(x, off + i), negHalfM, twoInvT));
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            total += shift(get(x, off + i), negHalfM, twoInvT);
        }
        return total;
    }

    /**
     * {@code acc[0] = d = Σ e_i}, {@code acc[1] = Σ e_i a_i}, {@code a_i = (x_i − m)/T}; terms with {@code e_i = 0} add 0
     * (their {@code a_i} may be {@code −inf}). The vector blocks add {@code e_i·a_i·log2 e} (the argument of their exp)
     * and their total is taken back to nats once, in double. The row's blocks are summed by {@link #entropyBlocks} and
     * joined by {@link #joinEntropySums}, the same two steps a row cut into chunks takes, so both give the same bits.
     */
    static void entropySums(MemorySegment x, long off, int n, float negHalfM, float twoInvT, double[] acc,
                            float[] lanes) {
        int upper = F.loopBound(n);
        double[] sums = Workspace.get().blockSums(upper);
        entropyBlocks(x, off, 0, upper, negHalfM, twoInvT, sums, lanes);
        joinEntropySums(x, off, null, 0, n, negHalfM, twoInvT, sums, acc);
    }

    /**
     * {@link #entropySums} that also writes {@code e_i} to {@code out} (which may alias {@code x}): the fused
     * softmax's one exp per element. Same accumulation order as {@link #entropySums}, so {@code d} and the
     * entropy agree with the standalone ops bitwise.
     */
    static void expStoreEntropySums(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float negHalfM,
                                    float twoInvT, double[] acc, float[] lanes) {
        int upper = F.loopBound(n);
        double[] sums = Workspace.get().blockSums(upper);
        expStoreEntropyBlocks(x, xOff, out, outOff, 0, upper, negHalfM, twoInvT, sums, lanes);
        joinEntropySums(x, xOff, out, outOff, n, negHalfM, twoInvT, sums, acc);
    }

    /**
     * The vector blocks of {@link #entropySums} that start in {@code [from, to)} ({@code from} a multiple of
     * {@link SimdConstants#BLOCK}, {@code to} at most the row's loop bound): block {@code b}'s {@code Σ e} (with its
     * compensation) goes to {@code sums[2b]}, its {@code Σ e·y} in log2 units to {@code sums[2b + 1]}.
     */
    static void entropyBlocks(MemorySegment x, long off, int from, int to, float negHalfM, float twoInvT,
                              double[] sums, float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        for (int start = from, end; start < to; start = end) {
            end = blockEnd(start, to);
            FloatVector dAcc = FloatVector.zero(F);
            FloatVector dComp = FloatVector.zero(F);
            FloatVector tAcc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector a = shift(load(x, off + i), negHalfM, log2Scale);
                FloatVector e = exp2OrZero(a);
                FloatVector sum = dAcc.add(e);
                dComp = dComp.add(e.sub(sum.sub(dAcc)));
                dAcc = sum;
                tAcc = e.fma(a.blend(0f, e.compare(EQ, 0f)), tAcc);
            }
            // Stored here, not passed on: a vector handed to a method C2 does not inline is boxed (SimdRows.sumLanes).
            int b = 2 * (start / BLOCK);
            dAcc.intoArray(lanes, 0);
            double dAccSum = sumLanes(lanes);
            dComp.intoArray(lanes, 0);
            sums[b] = dAccSum + sumLanes(lanes);
            tAcc.intoArray(lanes, 0);
            sums[b + 1] = sumLanes(lanes);
        }
    }

    /** {@link #entropyBlocks} that also writes each {@code e_i} to {@code out}. */
    static void expStoreEntropyBlocks(MemorySegment x, long xOff, MemorySegment out, long outOff, int from, int to,
                                      float negHalfM, float twoInvT, double[] sums, float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        for (int start = from, end; start < to; start = end) {
            end = blockEnd(start, to);
            FloatVector dAcc = FloatVector.zero(F);
            FloatVector dComp = FloatVector.zero(F);
            FloatVector tAcc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector a = shift(load(x, xOff + i), negHalfM, log2Scale);
                FloatVector e = exp2OrZero(a);
                store(e, out, outOff + i);
                FloatVector sum = dAcc.add(e);
                dComp = dComp.add(e.sub(sum.sub(dAcc)));
                dAcc = sum;
                tAcc = e.fma(a.blend(0f, e.compare(EQ, 0f)), tAcc);
            }
            // Stored here, not passed on: a vector handed to a method C2 does not inline is boxed (SimdRows.sumLanes).
            int b = 2 * (start / BLOCK);
            dAcc.intoArray(lanes, 0);
            double dAccSum = sumLanes(lanes);
            dComp.intoArray(lanes, 0);
            sums[b] = dAccSum + sumLanes(lanes);
            tAcc.intoArray(lanes, 0);
            sums[b + 1] = sumLanes(lanes);
        }
    }

    /**
     * Adds the block totals of {@code [0, upper)} in block order, then the scalar tail {@code [upper, n)} (in nats,
     * writing its {@code e_i} to {@code out} unless it is {@code null}): {@code acc[0] = d}, {@code acc[1] = Σ e·a}.
     */
    static void joinEntropySums(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float negHalfM,
                                float twoInvT, double[] sums, double[] acc) {
        int upper = F.loopBound(n);
        double d = 0;
        double t = 0; // the scalar tail, in nats
        double tLog2 = 0; // the vector blocks, in log2 units
        for (int b = 0, blocks = blocks(upper); b < blocks; b++) {
            d += sums[2 * b];
            tLog2 += sums[2 * b + 1];
        }
        for (int i = upper; i < n; i++) {
            float a = shift(get(x, xOff + i), negHalfM, twoInvT);
            float e = exp(a);
            if (out != null) {
                put(out, outOff + i, e);
            }
            d += e;
            t += e == 0 ? 0 : e * a;
        }
        acc[0] = d;
        acc[1] = LN2 * tLog2 + t;
    }

    /**
     * The totals {@code sums[0..]} of the summation blocks of the first {@code upper} elements, added in block order: the
     * one order in which a whole-row pass and a row cut into chunks both join them.
     */
    static double blockTotal(double[] sums, int upper) {
        double total = 0;
        for (int b = 0, blocks = blocks(upper); b < blocks; b++) {
            total += sums[b];
        }
        return total;
    }

    /** The number of summation blocks in the first {@code upper} elements. */
    static int blocks(int upper) {
        return (int) (((long) upper + BLOCK - 1) / BLOCK);
    }

    /** {@code grad_i = −p_i (a_i − k) · scale}, {@code p_i = e^{a_i}/d}, {@code k = log d − H}. */
    static void entropyGrad(MemorySegment x, long xOff, MemorySegment grad, long gOff, int n, float negHalfM,
                            float twoInvT, float invD, float k, float scale) {
        float negScale = -scale;
        float log2Scale = log2ScaleOfTwoInvT(twoInvT); // the exp in log2 units, a in nats
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector h = load(x, xOff + i).fma(0.5f, negHalfM);
            FloatVector a = h.mul(twoInvT);
            FloatVector p = exp2OrZero(h.mul(log2Scale)).mul(invD);
            FloatVector g = p.mul(a.sub(k)).mul(negScale);
            store(g.blend(0f, p.compare(EQ, 0f)), grad, gOff + i);
        }
        for (; i < n; i++) {
            float a = shift(get(x, xOff + i), negHalfM, twoInvT);
            float p = exp(a) * invD;
            put(grad, gOff + i, p == 0 ? 0 : p * (a - k) * negScale);
        }
    }

    /** The running maximum over the scalar tail {@code [upper, n)}, NaN ignored as in {@link #maxBlock}. */
    static float tailMax(MemorySegment x, long off, int upper, int n, float running) {
        float m = running;
        for (int i = upper; i < n; i++) {
            float v = get(x, off + i);
            m = v > m ? v : m;
        }
        return m;
    }

    /** The running maximum {@code max(running, x_i)} over the vector block {@code [start, end)} (NaN ignored, as {@link #max}). */
    static float maxBlock(MemorySegment x, long off, int start, int end, float running) {
        FloatVector m = FloatVector.broadcast(F, running);
        for (int i = start; i < end; i += L) {
            FloatVector v = load(x, off + i);
            m = m.blend(v, v.compare(GT, m));
        }
        return m.reduceLanes(VectorOperators.MAX);
    }

    /** {@link #sumExp} over the vector block {@code [start, end)} only. */
    static double sumExpBlock(MemorySegment x, long off, int start, int end, float negHalfM, float twoInvT,
                              float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        FloatVector acc = FloatVector.zero(F);
        FloatVector comp = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector y = exp2OrZero(shift(load(x, off + i), negHalfM, log2Scale));
            FloatVector sum = acc.add(y);
            comp = comp.add(y.sub(sum.sub(acc)));
            acc = sum;
        }
        acc.intoArray(lanes, 0);
        double accSum = sumLanes(lanes);
        comp.intoArray(lanes, 0);
        return accSum + sumLanes(lanes);
    }

    /**
     * {@link #max} and {@link #sumExp} in one read, as {@link OneReadPasses#pairSumsStreaming}: per block the running maximum,
     * then the block's {@code Σ e} against it, the double sum scaled by {@code e^{−δ}} when it grows. Sets
     * {@code ws.pairMax[0]} to the row's maximum and returns {@code d} against it: NaN for a row holding a NaN or
     * {@code +inf}, or with every entry {@code −inf}, as {@link #sumExp} gives.
     */
    static double maxSumExpStreaming(MemorySegment x, long off, int n, float invT, Workspace ws) {
        float twoInvT = 2f * invT;
        float m = Float.NEGATIVE_INFINITY;
        float ref = 0f;
        boolean shifted = false; // whether ref is a maximum the row has shown (else the placeholder 0)
        double d = 0;
        int upper = F.loopBound(n);
        for (int start = 0, end = 0; ; start = end) {
            boolean tail = start >= upper;
            if (!tail) {
                end = blockEnd(start, upper);
                m = maxBlock(x, off, start, end, m);
            } else {
                m = tailMax(x, off, upper, n, m);
            }
            if (m != Float.NEGATIVE_INFINITY && (!shifted || m != ref)) {
                if (shifted) {
                    d *= Math.exp(-((double) m - ref) * invT);
                }
                ref = m;
                shifted = true;
            }
            float negHalfM = -0.5f * ref;
            if (!tail) {
                d += sumExpBlock(x, off, start, end, negHalfM, twoInvT, ws.lanes);
            } else {
                for (int i = upper; i < n; i++) {
                    d += exp(shift(get(x, off + i), negHalfM, twoInvT));
                }
                break;
            }
        }
        ws.pairMax[0] = m;
        return shifted ? d : Double.NaN;
    }

    /** {@code out_i = exp((x_i − m)/T − logD)} for the first {@code upper} entries, to {@code out} from index 0. */
    static void normalizedExpStore(MemorySegment x, long xOff, MemorySegment out, int upper, float negHalfM,
                                   float twoInvT, float logD) {
        for (int i = 0; i < upper; i += L) {
            store(expNonPositive(shift(load(x, xOff + i), negHalfM, twoInvT).sub(logD)), out, i);
        }
    }

    /**
     * {@code Σ a_i b_i} in double lanes: the backward passes subtract it from values of similar size,
     * so float lanes (1e-7 relative) would show in the gradient.
     */
    static double dot(MemorySegment a, long aOff, MemorySegment b, long bOff, int n, double[] lanes) {
        int upper = F.loopBound(n);
        DoubleVector acc = DoubleVector.zero(D);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector x = load(a, aOff + i);
            FloatVector y = load(b, bOff + i);
            DoubleVector x0 = (DoubleVector) x.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector x1 = (DoubleVector) x.convertShape(VectorOperators.F2D, D, 1);
            DoubleVector y0 = (DoubleVector) y.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector y1 = (DoubleVector) y.convertShape(VectorOperators.F2D, D, 1);
            acc = x0.fma(y0, acc);
            acc = x1.fma(y1, acc);
        }
        acc.intoArray(lanes, 0);
        double total = sumLanes(lanes);
        for (; i < n; i++) {
            total += (double) get(a, aOff + i) * get(b, bOff + i);
        }
        return total;
    }

    /**
     * {@code dx_i = p_i (dy_i − dot) / T} in double lanes: {@code dy_i − dot} cancels badly when
     * {@code dy} is large and {@code p} sums to 1 only within float rounding.
     */
    static void softmaxBackwardStore(MemorySegment p, long pOff, MemorySegment dy, long dyOff, MemorySegment dx,
                                     long dxOff, int n, double dot, double invT) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector pv = load(p, pOff + i);
            FloatVector dyv = load(dy, dyOff + i);
            DoubleVector lo = toDouble(pv, 0).mul(toDouble(dyv, 0).sub(dot)).mul(invT);
            DoubleVector hi = toDouble(pv, 1).mul(toDouble(dyv, 1).sub(dot)).mul(invT);
            store(toFloat(lo, hi), dx, dxOff + i);
        }
        for (; i < n; i++) {
            put(dx, dxOff + i, (float) (get(p, pOff + i) * (get(dy, dyOff + i) - dot) * invT));
        }
    }

    /**
     * Turns {@code log q} held in {@code g} into {@code (q − u) · scale}: {@code q = 2^{log q · log2 e}}, one multiply
     * and {@link VectorExp2#exp2OrZero} instead of {@link VectorExp}'s longer reduction (the product's rounding,
     * 6e-8 of {@code |log q|}, is of the order of the stored {@code log q}'s own).
     */
    static void softmaxMinusUniform(MemorySegment g, long off, int n, float u, float scale) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            store(exp2OrZero(load(g, off + i).mul(LOG2E_F)).sub(u).mul(scale), g, off + i);
        }
        for (; i < n; i++) {
            put(g, off + i, (exp(get(g, off + i)) - u) * scale);
        }
    }
}
