package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.RowPasses.fill;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdRows.blockEnd;
import static dev.entrokit.internal.simd.SimdRows.exp;
import static dev.entrokit.internal.simd.SimdRows.get;
import static dev.entrokit.internal.simd.SimdRows.load;
import static dev.entrokit.internal.simd.SimdRows.publish;
import static dev.entrokit.internal.simd.SimdRows.put;
import static dev.entrokit.internal.simd.SimdRows.shift;
import static dev.entrokit.internal.simd.SimdRows.store;
import static dev.entrokit.internal.simd.SimdRows.sumLanes;
import static dev.entrokit.internal.simd.SimdRows.target;
import static dev.entrokit.internal.simd.SimdRows.targetOffset;
import static dev.entrokit.internal.simd.VectorExp.expNonPositive;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.LT;
import static jdk.incubator.vector.VectorOperators.NE;

import dev.entrokit.internal.ScoringKernels;
import dev.entrokit.internal.scalar.ScalarScoringKernels;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * The scoring helpers and the α-family with the Vector API, reusing the building blocks of
 * {@link SimdSoftmaxKernels} (max pass, compensated {@code Σ e}, staging of heap outputs) and
 * following its rules: one hot loop per block, at most two inlined exps per loop, fixed-order lane sums.
 *
 * <p>Rows go to the float64 reference where float lanes cannot give SPEC §5 accuracy: rows spread over
 * more than 1e4 temperature units (as in the SPEC §1 ops), losses that come out non-finite, and α
 * within {@link SimdDivergenceKernels#NEAR_LIMIT} of a limit where the loss divides a difference of sums by a vanishing
 * {@code α(1−α)} or {@code α − 1}. PLD runs the reference always: its cost is one sort of the teacher row,
 * which no vector loop removes.
 */
public final class SimdScoringKernels implements ScoringKernels {
    private static final ScalarScoringKernels REFERENCE = new ScalarScoringKernels();
    private static final float LN2 = 0.6931472f;
    /** {@link VectorExp2#log2Scale} at T = 1: the shift into log2 units of the temperature-free scores. */
    private static final float LOG2_SCALE = VectorExp2.log2Scale(1);
    /** 2^24: lifts subnormal priors into the range {@link VectorLog} handles. */
    private static final float TWO_24 = 16777216f;

    // ---------------------------------------------------------------- building blocks, one loop each

    /**
     * Adds one vector block's {@code Σ e_i}, {@code Σ e_i a_i} and {@code Σ e_i a_i²} to {@code acc[0..2]}, with
     * {@code a_i = x_i − m} in nats ({@code negHalfM = −m/2}); entries with {@code e_i = 0} add 0 (their {@code a_i}
     * may be {@code −inf}). The exps are taken in log2 units ({@link VectorExp2#exp2OrZero}: 9 multiply-adds instead
     * of {@link VectorExp}'s 13), so the lane sums of {@code e·y} and {@code e·y²} are {@code log2 e} and
     * {@code (log2 e)²} times the sums in nats, taken back in double once per block.
     */
    static void momentBlock(MemorySegment x, long off, int start, int end, float negHalfM, double[] acc,
                            float[] lanes) {
        FloatVector dAcc = FloatVector.zero(F);
        FloatVector dComp = FloatVector.zero(F);
        FloatVector t1Acc = FloatVector.zero(F);
        FloatVector t2Acc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector y = shift(load(x, off + i), negHalfM, LOG2_SCALE);
            FloatVector e = VectorExp2.exp2OrZero(y);
            FloatVector sum = dAcc.add(e);
            dComp = dComp.add(e.sub(sum.sub(dAcc)));
            dAcc = sum;
            FloatVector live = y.blend(0f, e.compare(EQ, 0f));
            FloatVector ey = e.mul(live);
            t1Acc = t1Acc.add(ey);
            t2Acc = ey.fma(live, t2Acc);
        }
        dAcc.intoArray(lanes, 0);
        double dSum = sumLanes(lanes);
        dComp.intoArray(lanes, 0);
        acc[0] += dSum + sumLanes(lanes);
        t1Acc.intoArray(lanes, 0);
        acc[1] += sumLanes(lanes) * VectorExp2.LN2;
        t2Acc.intoArray(lanes, 0);
        acc[2] += sumLanes(lanes) * (VectorExp2.LN2 * VectorExp2.LN2);
    }

    /**
     * {@code acc[0] = d = Σ e_i}, {@code acc[1] = Σ e_i a_i}, {@code acc[2] = Σ e_i a_i²} with {@code a_i = x_i − m},
     * {@code m} the row's max (returned), reading the row once: block by block, the running max (one loop over a
     * block that then sits in L1), then the block's sums against it ({@link #momentBlock}). When the max grows by
     * {@code δ}, every {@code a} moves by {@code −δ}, so {@code d' = e^{−δ}d}, {@code t1' = e^{−δ}(t1 − δd)} and
     * {@code t2' = e^{−δ}(t2 − 2δ·t1 + δ²d)}: with every {@code a ≤ 0} the three terms of each have one sign, so nothing
     * cancels. Two passes (max, then sums) read 2048 × 32000 rows from memory twice: 0.81 ns/element, one thread,
     * against 0.40 for the one-read token log-probability on the same rows. A row whose entries are all {@code −inf}
     * or NaN gives {@code acc[0] = NaN}.
     */
    static float momentsStreaming(MemorySegment x, long off, int n, double[] acc, float[] lanes) {
        float m = Float.NEGATIVE_INFINITY;
        float ref = 0f;
        boolean shifted = false; // whether ref is a maximum the row has shown (else the placeholder 0)
        acc[0] = 0;
        acc[1] = 0;
        acc[2] = 0;
        int upper = F.loopBound(n);
        for (int start = 0, end = 0; ; start = end) {
            boolean tail = start >= upper;
            if (!tail) {
                end = blockEnd(start, upper);
                m = RowPasses.maxBlock(x, off, start, end, m);
            } else {
                m = RowPasses.tailMax(x, off, upper, n, m);
            }
            if (m != Float.NEGATIVE_INFINITY && (!shifted || m != ref)) {
                if (shifted) {
                    double delta = (double) m - ref;
                    double scale = Math.exp(-delta);
                    double d = acc[0];
                    double t1 = acc[1];
                    acc[0] = scale * d;
                    acc[1] = scale * (t1 - delta * d);
                    acc[2] = scale * (acc[2] - 2 * delta * t1 + delta * delta * d);
                }
                ref = m;
                shifted = true;
            }
            float negHalfM = -0.5f * ref;
            if (!tail) {
                momentBlock(x, off, start, end, negHalfM, acc, lanes);
            } else {
                for (int i = upper; i < n; i++) {
                    float a = shift(get(x, off + i), negHalfM, 2f);
                    float e = exp(a);
                    acc[0] += e;
                    acc[1] += e == 0 ? 0 : e * a;
                    acc[2] += e == 0 ? 0 : e * a * a;
                }
                break;
            }
        }
        if (!shifted) {
            acc[0] = Double.NaN;
        }
        return ref;
    }

    /**
     * {@code out = (1+λ)x − λ·lame}, {@code −inf} where either is masked; returns whether {@code lame} is
     * unusable (a NaN or {@code +inf}, or every entry {@code −inf}).
     */
    static boolean contrast(MemorySegment x, long xOff, MemorySegment lame, long lOff, MemorySegment out, long oOff,
                            int n, float lambda) {
        float onePlus = 1f + lambda;
        VectorMask<Float> bad = F.maskAll(false);
        VectorMask<Float> live = F.maskAll(false);
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector xv = load(x, xOff + i);
            FloatVector lv = load(lame, lOff + i);
            VectorMask<Float> masked = xv.compare(EQ, Float.NEGATIVE_INFINITY)
                    .or(lv.compare(EQ, Float.NEGATIVE_INFINITY));
            bad = bad.or(lv.compare(NE, lv)).or(lv.compare(EQ, Float.POSITIVE_INFINITY));
            live = live.or(lv.compare(NE, Float.NEGATIVE_INFINITY));
            store(lv.mul(-lambda).add(xv.mul(onePlus)).blend(Float.NEGATIVE_INFINITY, masked), out, oOff + i);
        }
        boolean unusable = bad.anyTrue();
        boolean anyLive = live.anyTrue();
        for (; i < n; i++) {
            float xi = get(x, xOff + i);
            float li = get(lame, lOff + i);
            unusable |= Float.isNaN(li) || li == Float.POSITIVE_INFINITY;
            anyLive |= li != Float.NEGATIVE_INFINITY;
            boolean masked = xi == Float.NEGATIVE_INFINITY || li == Float.NEGATIVE_INFINITY;
            put(out, oOff + i, masked ? Float.NEGATIVE_INFINITY : li * -lambda + xi * onePlus);
        }
        return unusable || !anyLive;
    }

    /**
     * {@code out = x + λ·log prior} ({@code log 0 = −inf}); returns whether the row is invalid: a NaN or
     * {@code +inf} logit, every logit {@code −inf}, or a prior entry NaN, negative or {@code +inf}.
     */
    static boolean prior(MemorySegment x, long xOff, MemorySegment prior, long pOff, MemorySegment out, long oOff,
                         int n, float lambda) {
        VectorMask<Float> bad = F.maskAll(false);
        VectorMask<Float> live = F.maskAll(false);
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector xv = load(x, xOff + i);
            FloatVector pv = load(prior, pOff + i);
            bad = bad.or(xv.compare(NE, xv)).or(xv.compare(EQ, Float.POSITIVE_INFINITY))
                    .or(pv.compare(NE, pv)).or(pv.compare(LT, 0f)).or(pv.compare(EQ, Float.POSITIVE_INFINITY));
            live = live.or(xv.compare(NE, Float.NEGATIVE_INFINITY));
            VectorMask<Float> tiny = pv.compare(LT, Float.MIN_NORMAL);
            FloatVector logP = VectorLog.log(pv.blend(pv.mul(TWO_24), tiny))
                    .sub(FloatVector.zero(F).blend(24 * LN2, tiny))
                    .blend(Float.NEGATIVE_INFINITY, pv.compare(EQ, 0f));
            store(logP.mul(lambda).add(xv), out, oOff + i);
        }
        boolean invalid = bad.anyTrue();
        boolean anyLive = live.anyTrue();
        for (; i < n; i++) {
            float xi = get(x, xOff + i);
            float p = get(prior, pOff + i);
            invalid |= Float.isNaN(xi) || xi == Float.POSITIVE_INFINITY || !(p >= 0) || p == Float.POSITIVE_INFINITY;
            anyLive |= xi != Float.NEGATIVE_INFINITY;
            put(out, oOff + i, (float) Math.log(p) * lambda + xi);
        }
        return invalid || !anyLive;
    }

    // ---------------------------------------------------------------- the ops

    @Override
    public double tokenLogprob(MemorySegment x, long xOff, int n, int id) {
        Workspace ws = Workspace.get();
        double d = RowPasses.maxSumExpStreaming(x, xOff, n, 1f, ws);
        float m = ws.pairMax[0];
        // x_id − m in double: exact for any two floats, so large logits lose nothing before log d.
        return Double.isNaN(d) ? Double.NaN : ((double) get(x, xOff + id) - m) - Math.log(d);
    }

    @Override
    public void tokenLogprobMoments(MemorySegment x, long xOff, int n, int id, double[] out) {
        Workspace ws = Workspace.get();
        float m = momentsStreaming(x, xOff, n, ws.acc, ws.lanes);
        double d = ws.acc[0];
        if (Double.isNaN(d)) {
            java.util.Arrays.fill(out, 0, 3, Double.NaN);
            return;
        }
        double logD = Math.log(d);
        double mean = ws.acc[1] / d;
        out[0] = ((double) get(x, xOff + id) - m) - logD;
        out[1] = mean - logD;
        out[2] = Math.max(0, ws.acc[2] / d - mean * mean);
    }

    @Override
    public void contrastive(MemorySegment x, long xOff, MemorySegment lame, long lameOff, MemorySegment out,
                            long outOff, int n, float lambda, double u, float threshold) {
        if (u >= threshold) {
            Workspace ws = Workspace.get();
            MemorySegment dst = target(out, n, ws);
            long dstOff = targetOffset(dst, out, outOff);
            if (contrast(x, xOff, lame, lameOff, dst, dstOff, n, lambda)) {
                fill(dst, dstOff, n, Float.NaN);
            }
            publish(dst, out, outOff, n);
        } else if (Double.isNaN(u)) {
            fillRow(out, outOff, n, Float.NaN);
        } else if (out != x || outOff != xOff) {
            MemorySegment.copy(x, xOff * Float.BYTES, out, outOff * Float.BYTES, (long) n * Float.BYTES);
        }
    }

    @Override
    public void injectPrior(MemorySegment x, long xOff, MemorySegment prior, long priorOff, MemorySegment out,
                            long outOff, int n, float lambda) {
        Workspace ws = Workspace.get();
        MemorySegment dst = target(out, n, ws);
        long dstOff = targetOffset(dst, out, outOff);
        if (prior(x, xOff, prior, priorOff, dst, dstOff, n, lambda)) {
            fill(dst, dstOff, n, Float.NaN);
        }
        publish(dst, out, outOff, n);
    }

    /** Fills a row that may live on the heap, through the staging row. */
    private static void fillRow(MemorySegment out, long outOff, int n, float value) {
        Workspace ws = Workspace.get();
        MemorySegment dst = target(out, n, ws);
        long dstOff = targetOffset(dst, out, outOff);
        fill(dst, dstOff, n, value);
        publish(dst, out, outOff, n);
    }
}
