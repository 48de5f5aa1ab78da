package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdDistributionKernels.blockEnd;
import static dev.entrokit.internal.simd.SimdDistributionKernels.exp;
import static dev.entrokit.internal.simd.SimdDistributionKernels.expStore;
import static dev.entrokit.internal.simd.SimdDistributionKernels.extremePair;
import static dev.entrokit.internal.simd.SimdDistributionKernels.fill;
import static dev.entrokit.internal.simd.SimdDistributionKernels.get;
import static dev.entrokit.internal.simd.SimdDistributionKernels.load;
import static dev.entrokit.internal.simd.SimdDistributionKernels.max;
import static dev.entrokit.internal.simd.SimdDistributionKernels.publish;
import static dev.entrokit.internal.simd.SimdDistributionKernels.put;
import static dev.entrokit.internal.simd.SimdDistributionKernels.scaleOverflows;
import static dev.entrokit.internal.simd.SimdDistributionKernels.shift;
import static dev.entrokit.internal.simd.SimdDistributionKernels.store;
import static dev.entrokit.internal.simd.SimdDistributionKernels.sumExp;
import static dev.entrokit.internal.simd.SimdDistributionKernels.sumLanes;
import static dev.entrokit.internal.simd.SimdDistributionKernels.target;
import static dev.entrokit.internal.simd.SimdDistributionKernels.targetOffset;
import static dev.entrokit.internal.simd.VectorExp.expNonPositive;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LT;
import static jdk.incubator.vector.VectorOperators.NE;

import dev.entrokit.internal.ScoringKernels;
import dev.entrokit.internal.scalar.ScalarScoringKernels;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The scoring helpers and the α-family with the Vector API, reusing the building blocks of
 * {@link SimdDistributionKernels} (max pass, compensated {@code Σ e}, staging of heap outputs) and
 * following its rules: one hot loop per block, at most two inlined exps per loop, fixed-order lane sums.
 *
 * <p>Rows go to the float64 reference where float lanes cannot give SPEC §5 accuracy: rows spread over
 * more than 1e4 temperature units (as in the SPEC §1 ops), losses that come out non-finite, and α
 * within {@link #NEAR_LIMIT} of a limit where the loss divides a difference of sums by a vanishing
 * {@code α(1−α)} or {@code α − 1}. PLD runs the reference always: its cost is one sort of the teacher row,
 * which no vector loop removes.
 */
public final class SimdScoringKernels implements ScoringKernels {
    private static final ScalarScoringKernels REFERENCE = new ScalarScoringKernels();
    /** The lowest largest mixed logit {@code mc} the float32 α-family keeps (see {@code logAlphaSum}). */
    private static final float MIX_HEADROOM = 4f;
    /** The largest {@code (|α|·spread_t + |1 − α|·spread_s)/T} the float32 α-family keeps (see {@code logAlphaSum}). */
    private static final double MIX_AMPLIFICATION = 40;
    /**
     * Distance from α = 0 or 1 below which the α-family runs in float64: the float sums carry ~1e-7
     * relative error, which the loss multiplies by {@code 1/(α(1−α))} or {@code 1/|α − 1|}.
     */
    static final float NEAR_LIMIT = 0.05f;
    private static final float LN2 = 0.6931472f;
    /** 2^24: lifts subnormal priors into the range {@link VectorLog} handles. */
    private static final float TWO_24 = 16777216f;

    // ---------------------------------------------------------------- building blocks, one loop each

    /**
     * {@code acc[0] = d = Σ e_i}, {@code acc[1] = Σ e_i a_i}, {@code acc[2] = Σ e_i a_i²} with
     * {@code a_i = x_i − m}; entries with {@code e_i = 0} add 0 (their {@code a_i} may be {@code −inf}).
     */
    static void momentSums(MemorySegment x, long off, int n, float negHalfM, double[] acc, float[] lanes) {
        int upper = F.loopBound(n);
        double d = 0;
        double t1 = 0;
        double t2 = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector dAcc = FloatVector.zero(F);
            FloatVector dComp = FloatVector.zero(F);
            FloatVector t1Acc = FloatVector.zero(F);
            FloatVector t2Acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector a = shift(load(x, off + i), negHalfM, 2f);
                FloatVector e = expNonPositive(a);
                FloatVector sum = dAcc.add(e);
                dComp = dComp.add(e.sub(sum.sub(dAcc)));
                dAcc = sum;
                FloatVector ea = e.mul(a.blend(0f, e.compare(EQ, 0f)));
                t1Acc = t1Acc.add(ea);
                t2Acc = ea.fma(a.blend(0f, e.compare(EQ, 0f)), t2Acc);
            }
            dAcc.intoArray(lanes, 0);
            double dAccSum = sumLanes(lanes);
            dComp.intoArray(lanes, 0);
            d += dAccSum + sumLanes(lanes);
            t1Acc.intoArray(lanes, 0);
            t1 += sumLanes(lanes);
            t2Acc.intoArray(lanes, 0);
            t2 += sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float a = shift(get(x, off + i), negHalfM, 2f);
            float e = exp(a);
            d += e;
            t1 += e == 0 ? 0 : e * a;
            t2 += e == 0 ? 0 : e * a * a;
        }
        acc[0] = d;
        acc[1] = t1;
        acc[2] = t2;
    }

    /** {@code c'_i = α a_i + (1−α) b_i} on shifted logits, {@code −inf} where the teacher is masked. */
    private static FloatVector alphaMix(FloatVector xt, FloatVector a, FloatVector b, float alpha) {
        return a.mul(alpha).add(b.mul(1f - alpha)).blend(Float.NEGATIVE_INFINITY, xt.compare(EQ, Float.NEGATIVE_INFINITY));
    }

    private static float alphaMix(float xt, float a, float b, float alpha) {
        return xt == Float.NEGATIVE_INFINITY ? Float.NEGATIVE_INFINITY : alpha * a + (1f - alpha) * b;
    }

    /** {@code max_i c'_i}. */
    static float alphaMax(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float negHalfMt,
                          float negHalfMs, float twoInvT, float alpha) {
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector c = alphaMix(xt, shift(xt, negHalfMt, twoInvT), shift(load(s, sOff + i), negHalfMs, twoInvT),
                    alpha);
            m = m.blend(c, c.compare(GT, m));
        }
        float r = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            float xt = get(t, tOff + i);
            float c = alphaMix(xt, shift(xt, negHalfMt, twoInvT), shift(get(s, sOff + i), negHalfMs, twoInvT), alpha);
            r = c > r ? c : r;
        }
        return r;
    }

    /** {@code Σ_i e^{c'_i − mc}}. */
    static double alphaSum(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float negHalfMt,
                           float negHalfMs, float twoInvT, float alpha, float mc, float[] lanes) {
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            FloatVector comp = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector xt = load(t, tOff + i);
                FloatVector c = alphaMix(xt, shift(xt, negHalfMt, twoInvT),
                        shift(load(s, sOff + i), negHalfMs, twoInvT), alpha);
                FloatVector y = expNonPositive(c.sub(mc));
                FloatVector sum = acc.add(y);
                comp = comp.add(y.sub(sum.sub(acc)));
                acc = sum;
            }
            acc.intoArray(lanes, 0);
            double accSum = sumLanes(lanes);
            comp.intoArray(lanes, 0);
            total += accSum + sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float xt = get(t, tOff + i);
            total += exp(alphaMix(xt, shift(xt, negHalfMt, twoInvT), shift(get(s, sOff + i), negHalfMs, twoInvT), alpha)
                    - mc);
        }
        return total;
    }

    /**
     * {@link #alphaSum} that also stores {@code e^{c'_i − mc}} to {@code out} (from index 0), so that the gradient
     * needs no exp. Same sum, in the same order.
     */
    static double alphaSumStore(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float negHalfMt,
                                float negHalfMs, float twoInvT, float alpha, float mc, MemorySegment out, float[] lanes) {
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            FloatVector comp = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector xt = load(t, tOff + i);
                FloatVector c = alphaMix(xt, shift(xt, negHalfMt, twoInvT),
                        shift(load(s, sOff + i), negHalfMs, twoInvT), alpha);
                FloatVector y = expNonPositive(c.sub(mc));
                store(y, out, i);
                FloatVector sum = acc.add(y);
                comp = comp.add(y.sub(sum.sub(acc)));
                acc = sum;
            }
            acc.intoArray(lanes, 0);
            double accSum = sumLanes(lanes);
            comp.intoArray(lanes, 0);
            total += accSum + sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float xt = get(t, tOff + i);
            float y = exp(alphaMix(xt, shift(xt, negHalfMt, twoInvT), shift(get(s, sOff + i), negHalfMs, twoInvT), alpha)
                    - mc);
            put(out, i, y);
            total += y;
        }
        return total;
    }

    /** {@code grad_i = (q_i − r_i)·scale}, {@code q_i = e^{b_i − log d_s}}, {@code r_i = e^{c'_i − logS'}}. */
    static void alphaGrad(MemorySegment t, long tOff, MemorySegment s, long sOff, MemorySegment grad, long gOff, int n,
                          float negHalfMt, float negHalfMs, float twoInvT, float alpha, float logDs, float logSShifted,
                          float scale) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector b = shift(load(s, sOff + i), negHalfMs, twoInvT);
            FloatVector c = alphaMix(xt, shift(xt, negHalfMt, twoInvT), b, alpha);
            FloatVector q = expNonPositive(b.sub(logDs));
            FloatVector r = expNonPositive(c.sub(logSShifted));
            store(q.sub(r).mul(scale), grad, gOff + i);
        }
        for (; i < n; i++) {
            float xt = get(t, tOff + i);
            float b = shift(get(s, sOff + i), negHalfMs, twoInvT);
            float c = alphaMix(xt, shift(xt, negHalfMt, twoInvT), b, alpha);
            put(grad, gOff + i, (exp(b - logDs) - exp(c - logSShifted)) * scale);
        }
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
        double d = SimdDistributionKernels.maxSumExpStreaming(x, xOff, n, 1f, ws);
        float m = ws.pairMax[0];
        // x_id − m in double: exact for any two floats, so large logits lose nothing before log d.
        return Double.isNaN(d) ? Double.NaN : ((double) get(x, xOff + id) - m) - Math.log(d);
    }

    @Override
    public void tokenLogprobMoments(MemorySegment x, long xOff, int n, int id, double[] out) {
        Workspace ws = Workspace.get();
        float m = max(x, xOff, n);
        momentSums(x, xOff, n, -0.5f * m, ws.acc, ws.lanes);
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
    public double alphaDivergence(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                                  float alpha, MemorySegment grad, long gradOff, float gradScale) {
        if (alpha < NEAR_LIMIT || Math.abs(alpha - 1f) < NEAR_LIMIT) {
            return REFERENCE.alphaDivergence(t, tOff, s, sOff, n, invT, alpha, grad, gradOff, gradScale);
        }
        double logS = logAlphaSum(t, tOff, s, sOff, n, invT, alpha, grad, gradOff);
        double value = -Math.expm1(logS) / ((double) alpha * (1.0 - alpha));
        double factor = Math.exp(logS) / alpha * gradScale * invT;
        if (!Double.isFinite(value) || grad != null && scaleOverflows(factor)) {
            return REFERENCE.alphaDivergence(t, tOff, s, sOff, n, invT, alpha, grad, gradOff, gradScale);
        }
        writeAlphaGrad(t, tOff, s, sOff, n, invT, alpha, grad, gradOff, (float) factor);
        return value;
    }

    @Override
    public double renyi(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float alpha,
                        MemorySegment grad, long gradOff, float gradScale) {
        if (Math.abs(alpha - 1f) < NEAR_LIMIT) {
            return REFERENCE.renyi(t, tOff, s, sOff, n, invT, alpha, grad, gradOff, gradScale);
        }
        double value = logAlphaSum(t, tOff, s, sOff, n, invT, alpha, grad, gradOff) / (alpha - 1.0);
        double factor = (double) gradScale * invT;
        if (!Double.isFinite(value) || grad != null && scaleOverflows(factor)) {
            return REFERENCE.renyi(t, tOff, s, sOff, n, invT, alpha, grad, gradOff, gradScale);
        }
        writeAlphaGrad(t, tOff, s, sOff, n, invT, alpha, grad, gradOff, (float) factor);
        return value;
    }

    @Override
    public double chi2(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                       MemorySegment grad, long gradOff, float gradScale) {
        double logS = logAlphaSum(t, tOff, s, sOff, n, invT, 2f, grad, gradOff);
        double value = Math.expm1(logS);
        double factor = Math.exp(logS) * gradScale * invT;
        if (!Double.isFinite(value) || grad != null && scaleOverflows(factor)) {
            return REFERENCE.chi2(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        writeAlphaGrad(t, tOff, s, sOff, n, invT, 2f, grad, gradOff, (float) factor);
        return value;
    }

    /** Whether the α-family keeps its exps for a gradient of this row instead of computing them again. */
    private static boolean keepsExps(MemorySegment grad, int n) {
        return grad != null && n <= SimdDistributionKernels.PROB_CHUNK;
    }

    /**
     * {@code log S(α)}, leaving in the workspace what {@link #writeAlphaGrad} needs ({@code ws.pairMax},
     * {@code ws.acc[0] = log d_s}, {@code ws.acc[1] = log S'} with {@code S'} the sum of the shifted terms,
     * {@code ws.acc[2] = d_s}, {@code ws.acc[3]} the sum of {@code e^{c'_i − mc}});
     * NaN for an extreme or special pair, which the callers hand to the reference. With a gradient on a row up to
     * {@code PROB_CHUNK}, the student's exps go where the gradient will be written and the mixed terms' exps to the
     * workspace's row 0: the gradient pass then only scales and subtracts (its two exps in one loop were boxed).
     */
    private static double logAlphaSum(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                                      float alpha, MemorySegment grad, long gradOff) {
        Workspace ws = Workspace.get();
        if (extremePair(t, tOff, s, sOff, n, invT, ws)) {
            return Double.NaN;
        }
        float negHalfMt = -0.5f * ws.pairMax[0];
        float negHalfMs = -0.5f * ws.pairMax[1];
        float twoInvT = 2f * invT;
        boolean keep = keepsExps(grad, n);
        double logDt = Math.log(sumExp(t, tOff, n, negHalfMt, twoInvT, ws.lanes));
        double ds;
        if (keep) {
            MemorySegment dst = target(grad, n, ws);
            ds = expStore(s, sOff, dst, targetOffset(dst, grad, gradOff), n, negHalfMs, twoInvT, ws.lanes);
        } else {
            ds = sumExp(s, sOff, n, negHalfMs, twoInvT, ws.lanes);
        }
        double logDs = Math.log(ds);
        float mc = alphaMax(t, tOff, s, sOff, n, negHalfMt, negHalfMs, twoInvT, alpha);
        // The gradient's r_i = e^{c'_i − log S'} is dominated by terms with c'_i near mc, which float32 holds to
        // about 2.4e-7·|mc| (rounding of c', of its two shifted logits and of log S'). Below mc = −4 that
        // exceeds SPEC §5's 1e-6 on r: teacher (0, −1e4…) against student (−1e4…, 0) at α = ½ has mc = −5000
        // and gave r = 0.4998939 for 0.5. Such pairs (the two distributions far apart) go to the reference.
        // Outside [0, 1] the weights α and 1 − α have opposite signs, so a dominant term can be the small
        // difference of two large products. Each shifted logit and each product is rounded in float32, so a
        // term's exponent is off by up to 2^-23·(|α·a| + |(1 − α)·b|), at most 1.2e-7 per unit of
        // (|α|·spread_t + |1 − α|·spread_s)/T; α = 50 was 1.04e-5 off at 786 units and 1.17e-5 at 228
        // (SPEC §5: 1e-5). Above 40 units (≤ 4.8e-6) the pair goes to the reference: χ² (α = 2) keeps float32
        // up to spreads of about 13 temperature units. Inside (0, 1) the dominant terms have small |a| and |b|
        // (both are ≤ 0 and mix to near mc), which the mc test above covers.
        double amplification = alpha > 0 && alpha < 1 ? 0
                : (Math.abs(alpha) * ws.pairSpread[0] + Math.abs(1.0 - alpha) * ws.pairSpread[1]) * invT;
        if (Float.isInfinite(mc) || mc < -MIX_HEADROOM || !(amplification <= MIX_AMPLIFICATION)
                || Double.isNaN(logDt + logDs)) {
            return Double.NaN;
        }
        double shiftedSum = keep
                ? alphaSumStore(t, tOff, s, sOff, n, negHalfMt, negHalfMs, twoInvT, alpha, mc, ws.probRow(0, n), ws.lanes)
                : alphaSum(t, tOff, s, sOff, n, negHalfMt, negHalfMs, twoInvT, alpha, mc, ws.lanes);
        double logShifted = mc + Math.log(shiftedSum);
        ws.acc[0] = logDs;
        ws.acc[1] = logShifted;
        ws.acc[2] = ds;
        ws.acc[3] = shiftedSum;
        // c_i = c'_i − α log d_t − (1−α) log d_s, so S = S'·d_t^{−α}·d_s^{α−1}.
        return logShifted - alpha * logDt - (1.0 - alpha) * logDs;
    }

    /**
     * {@code grad = K·(q − r)·gradScale/T} after {@link #logAlphaSum}; {@code factor = K·gradScale/T}, which
     * the callers have checked to be a finite float.
     */
    private static void writeAlphaGrad(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                                       float alpha, MemorySegment grad, long gradOff, float factor) {
        if (grad == null) {
            return;
        }
        Workspace ws = Workspace.get();
        MemorySegment dst = target(grad, n, ws);
        long dstOff = targetOffset(dst, grad, gradOff);
        if (keepsExps(grad, n)) {
            // dst holds e^{b_i} (logAlphaSum), row 0 the mixed terms' e^{c'_i − mc}: q − r is a scaled difference.
            float kS = (float) (factor / ws.acc[2]);
            float kR = (float) (factor / ws.acc[3]);
            MemorySegment rRow = ws.probRow(0, n);
            int upper = F.loopBound(n);
            SimdDistributionKernels.rescaledDifference(rRow, dst, dstOff, 0, upper, kR, kS);
            for (int i = upper; i < n; i++) {
                put(dst, dstOff + i, Math.fma(get(dst, dstOff + i), kS, -(get(rRow, i) * kR)));
            }
        } else {
            alphaGrad(t, tOff, s, sOff, dst, dstOff, n, -0.5f * ws.pairMax[0], -0.5f * ws.pairMax[1], 2f * invT, alpha,
                    (float) ws.acc[0], (float) ws.acc[1], factor);
        }
        publish(dst, grad, gradOff, n);
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

    /** The float64 reference: the cost is the sort of the teacher row, which no vector loop removes. */
    @Override
    public double pld(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, int label, float invT,
                      MemorySegment grad, long gradOff, float gradScale) {
        return REFERENCE.pld(t, tOff, s, sOff, n, label, invT, grad, gradOff, gradScale);
    }
}
