package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.RowPasses.entropySums;
import static dev.entrokit.internal.simd.RowPasses.extreme;
import static dev.entrokit.internal.simd.RowPasses.fill;
import static dev.entrokit.internal.simd.RowPasses.maxAndMin;
import static dev.entrokit.internal.simd.RowPasses.sumExp;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdRows.exp;
import static dev.entrokit.internal.simd.SimdRows.get;
import static dev.entrokit.internal.simd.SimdRows.load;
import static dev.entrokit.internal.simd.SimdRows.publish;
import static dev.entrokit.internal.simd.SimdRows.put;
import static dev.entrokit.internal.simd.SimdRows.scaleOverflows;
import static dev.entrokit.internal.simd.SimdRows.shift;
import static dev.entrokit.internal.simd.SimdRows.store;
import static dev.entrokit.internal.simd.SimdRows.target;
import static dev.entrokit.internal.simd.SimdRows.targetOffset;
import static dev.entrokit.internal.simd.VectorExp.expNonPositive;
import static jdk.incubator.vector.VectorOperators.EQ;

import dev.entrokit.internal.PolicyKernels;
import dev.entrokit.internal.scalar.ScalarPolicyKernels;
import dev.entrokit.internal.scalar.SparseBuckets;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * The policy and sparse-teacher losses with the Vector API; same method names and order as
 * {@link ScalarPolicyKernels}. The row passes (max, the sums, the gradient) are float lanes built from the
 * blocks of {@link SimdSoftmaxKernels} and its rules (one hot loop per block, fixed-order lane sums,
 * compensated {@code Σ e}); the few per-token values (the target's log-probability, the k3 term, the
 * {@code k} teacher buckets) are float64, and the target's and the ids' gradient entries are written in
 * float64 over the vector pass, so the {@code 1 − p} of a token holding nearly all the mass does not cancel in
 * float32. Rows the float lanes cannot serve go to the float64 reference: special rows, rows spread over more
 * than 1e4 temperature units, non-finite results, and gradient factors near float's range.
 */
public final class SimdPolicyKernels implements PolicyKernels {
    private static final ScalarPolicyKernels REFERENCE = new ScalarPolicyKernels();
    /** The largest rest-bucket coefficient the float pass keeps: a flushed {@code q_i < e^−80} then errs by < 2e-10. */
    private static final double MAX_REST_COEFFICIENT = 1e25;

    // ---------------------------------------------------------------- building blocks, one loop each

    /**
     * {@code grad_i = p_i·((a_i − k)·c1 + c0)} with {@code a_i = (x_i − m)/T}, {@code p_i = e^{a_i − log d}};
     * 0 where {@code p_i = 0} (a masked {@code a_i = −inf} would give {@code 0·inf}).
     */
    static void policyGrad(MemorySegment x, long xOff, MemorySegment grad, long gOff, int n, float negHalfM,
                           float twoInvT, float logD, float k, float c1, float c0) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector a = shift(load(x, xOff + i), negHalfM, twoInvT);
            FloatVector p = expNonPositive(a.sub(logD));
            FloatVector g = p.mul(a.sub(k).fma(c1, c0));
            store(g.blend(0f, p.compare(EQ, 0f)), grad, gOff + i);
        }
        for (; i < n; i++) {
            float a = shift(get(x, xOff + i), negHalfM, twoInvT);
            float p = exp(a - logD);
            put(grad, gOff + i, p == 0 ? 0 : p * Math.fma(a - k, c1, c0));
        }
    }

    /**
     * {@code grad_i = c1·q_i + c2·σ_i} with {@code q_i = e^{(x_i − m)/T − logZ}} and the rest share
     * {@code σ_i = e^{(x_i − rm)/T − logRest}}, each shifted by its own maximum ({@code m} the row's, {@code rm} the
     * rest's, which may lie hundreds of units below); the rest bucket's tokens (the ids' entries are written over
     * afterwards, so their values here do not matter); 0 where {@code x_i = −inf}.
     */
    static void restGrad(MemorySegment s, long sOff, MemorySegment grad, long gOff, int n, float negHalfM,
                         float negHalfRm, float twoInvT, float logZ, float logRest, float c1, float c2) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector x = load(s, sOff + i);
            FloatVector g = expNonPositive(shift(x, negHalfM, twoInvT).sub(logZ)).mul(c1);
            g = expNonPositive(shift(x, negHalfRm, twoInvT).sub(logRest)).mul(c2).add(g);
            store(g.blend(0f, x.compare(EQ, Float.NEGATIVE_INFINITY)), grad, gOff + i);
        }
        for (; i < n; i++) {
            float x = get(s, sOff + i);
            put(grad, gOff + i, x == Float.NEGATIVE_INFINITY ? 0
                    : exp(shift(x, negHalfM, twoInvT) - logZ) * c1 + exp(shift(x, negHalfRm, twoInvT) - logRest) * c2);
        }
    }

    /**
     * {@code acc[0] = Σ w_i}, {@code acc[1] = Σ w_i·a_i} with {@code a_i = (x_i − m)/T}; a zero weight adds 0
     * (its {@code a_i} may be {@code −inf}), a masked token with weight makes the second sum {@code −inf}.
     */
    static void weightedSums(MemorySegment x, long xOff, MemorySegment w, long wOff, int n, float negHalfM,
                             float twoInvT, double[] acc, float[] lanes) {
        int upper = F.loopBound(n);
        double ws = 0;
        double wa = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = SimdRows.blockEnd(start, upper);
            FloatVector wAcc = FloatVector.zero(F);
            FloatVector aAcc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector wv = load(w, wOff + i);
                FloatVector a = shift(load(x, xOff + i), negHalfM, twoInvT);
                wAcc = wAcc.add(wv);
                aAcc = wv.mul(a).blend(0f, wv.compare(EQ, 0f)).add(aAcc);
            }
            ws += SimdRows.sumLanes(wAcc, lanes);
            wa += SimdRows.sumLanes(aAcc, lanes);
        }
        for (int i = upper; i < n; i++) {
            float wi = get(w, wOff + i);
            ws += wi;
            wa += wi == 0 ? 0 : wi * shift(get(x, xOff + i), negHalfM, twoInvT);
        }
        acc[0] = ws;
        acc[1] = wa;
    }

    /** {@code grad_i = p_i·pCoef − wCoef·w_i} ({@code w_i = 1} without weights), {@code p_i = e^{a_i − log d}}. */
    static void crossEntropyGrad(MemorySegment x, long xOff, MemorySegment w, long wOff, MemorySegment grad, long gOff,
                                 int n, float negHalfM, float twoInvT, float logD, float pCoef, float wCoef) {
        int upper = F.loopBound(n);
        int i = 0;
        FloatVector one = FloatVector.broadcast(F, 1f);
        for (; i < upper; i += L) {
            FloatVector p = expNonPositive(shift(load(x, xOff + i), negHalfM, twoInvT).sub(logD));
            FloatVector wv = w == null ? one : load(w, wOff + i);
            store(p.mul(pCoef).sub(wv.mul(wCoef)), grad, gOff + i);
        }
        for (; i < n; i++) {
            float p = exp(shift(get(x, xOff + i), negHalfM, twoInvT) - logD);
            put(grad, gOff + i, p * pCoef - (w == null ? 1f : get(w, wOff + i)) * wCoef);
        }
    }

    // ---------------------------------------------------------------- the ops

    @Override
    public void logprobEntropy(MemorySegment x, long xOff, int n, int id, float invT, double ref, double[] out,
                               MemorySegment grad, long gradOff, double wLogprob, double wEntropy, double wK3) {
        Workspace ws = Workspace.get();
        maxAndMin(x, xOff, n, ws.acc);
        if (extreme(ws.acc, invT)) {
            REFERENCE.logprobEntropy(x, xOff, n, id, invT, ref, out, grad, gradOff, wLogprob, wEntropy, wK3);
            return;
        }
        float m = (float) ws.acc[0];
        float negHalfM = -0.5f * m;
        float twoInvT = 2f * invT;
        entropySums(x, xOff, n, negHalfM, twoInvT, ws.acc, ws.lanes);
        double d = ws.acc[0];
        double logD = Math.log(d);
        double h = logD - ws.acc[1] / d;
        // x_id − m in double: exact for two floats, so a large logit loses nothing before log d.
        double l = ((double) get(x, xOff + id) - m) * invT - logD;
        double k3 = Double.isNaN(ref) ? Double.NaN : Math.expm1(ref - l) - (ref - l);
        boolean infinite = !Double.isFinite(h) || !Double.isFinite(l) || !Double.isNaN(ref) && !Double.isFinite(k3);
        double a = wLogprob + (wK3 == 0 ? 0 : wK3 * -Math.expm1(ref - l));
        if (infinite || grad != null && (scaleOverflows(a * invT) || scaleOverflows(wEntropy * invT))) {
            REFERENCE.logprobEntropy(x, xOff, n, id, invT, ref, out, grad, gradOff, wLogprob, wEntropy, wK3);
            return;
        }
        out[0] = l;
        out[1] = h;
        out[2] = k3;
        if (grad == null) {
            return;
        }
        MemorySegment dst = target(grad, n, ws);
        long dstOff = targetOffset(dst, grad, gradOff);
        double k = logD - h;
        policyGrad(x, xOff, dst, dstOff, n, negHalfM, twoInvT, (float) logD, (float) k, (float) (-wEntropy * invT),
                (float) (-a * invT));
        // The target in float64: a·(1 − p) as −a·expm1(ℓ), which float32 would cancel when p is near 1.
        double aId = ((double) get(x, xOff + id) - m) * invT;
        double pId = Math.exp(l);
        put(dst, dstOff + id, (float) ((-a * Math.expm1(l) - wEntropy * pId * (aId - k)) * invT));
        publish(dst, grad, gradOff, n);
    }

    @Override
    public double sparseDivergence(int op, boolean rest, MemorySegment ids, long idOff, MemorySegment logprobs,
                                   long lpOff, int k, MemorySegment s, long sOff, int n, float invT, float beta,
                                   MemorySegment grad, long gradOff, float gradScale) {
        double scale = (double) gradScale * invT;
        if (grad != null && scaleOverflows(scale)) {
            return REFERENCE.sparseDivergence(op, rest, ids, idOff, logprobs, lpOff, k, s, sOff, n, invT, beta, grad,
                    gradOff, gradScale);
        }
        Workspace ws = Workspace.get();
        maxAndMin(s, sOff, n, ws.acc);
        float m = (float) ws.acc[0];
        float negHalfM = -0.5f * m;
        float twoInvT = 2f * invT;
        double d = extreme(ws.acc, invT) ? Double.NaN : sumExp(s, sOff, n, negHalfM, twoInvT, ws.lanes);
        if (Double.isNaN(d)) {
            return REFERENCE.sparseDivergence(op, rest, ids, idOff, logprobs, lpOff, k, s, sOff, n, invT, beta, grad,
                    gradOff, gradScale);
        }
        double logZ = Math.log(d);
        SparseBuckets b = SparseBuckets.load(ids, idOff, logprobs, lpOff, k, s, sOff, m, invT, logZ);
        // The rest is summed relative to its own maximum rm: below e^−80 of the row's maximum its terms would
        // flush to 0 in float lanes, and a peaked row's rest often lies there (heavy-tailed rows: 700 units below).
        float rm = Float.NEGATIVE_INFINITY;
        double logRestRel = Double.NEGATIVE_INFINITY;
        if (rest && k < n) {
            int[] sorted = b.sortedIds();
            int from = 0;
            for (int j = 0; j <= k; j++) {
                int to = j < k ? sorted[j] : n;
                rm = Math.max(rm, RowPasses.max(s, sOff + from, to - from));
                from = to + 1;
            }
            if (rm != Float.NEGATIVE_INFINITY) {
                double restSum = 0;
                from = 0;
                for (int j = 0; j <= k; j++) {
                    int to = j < k ? sorted[j] : n;
                    restSum += sumExp(s, sOff + from, to - from, -0.5f * rm, twoInvT, ws.lanes);
                    from = to + 1;
                }
                logRestRel = Math.log(restSum);
            }
            b.addRest(rm == Float.NEGATIVE_INFINITY ? Double.NEGATIVE_INFINITY
                    : ((double) rm - m) * invT + logRestRel, logZ);
        } else if (!b.renormalize()) {
            return REFERENCE.sparseDivergence(op, rest, ids, idOff, logprobs, lpOff, k, s, sOff, n, invT, beta, grad,
                    gradOff, gradScale);
        }
        double loss = b.loss(op, beta);
        if (grad == null) {
            return loss;
        }
        double c1 = b.restQ() * scale;
        double c2 = b.restSigma() * scale;
        if (!b.hasGradient() || !(Math.abs(c1) <= MAX_REST_COEFFICIENT) || !(Math.abs(c2) <= MAX_REST_COEFFICIENT)) {
            return REFERENCE.sparseDivergence(op, rest, ids, idOff, logprobs, lpOff, k, s, sOff, n, invT, beta, grad,
                    gradOff, gradScale);
        }
        MemorySegment dst = target(grad, n, ws);
        long dstOff = targetOffset(dst, grad, gradOff);
        if (c1 == 0 && c2 == 0) {
            fill(dst, dstOff, n, 0f);
        } else {
            // Without a live rest token c2 is 0 and its lanes are not used.
            float negHalfRm = rm == Float.NEGATIVE_INFINITY ? negHalfM : -0.5f * rm;
            float logRest = rm == Float.NEGATIVE_INFINITY ? 0f : (float) logRestRel;
            restGrad(s, sOff, dst, dstOff, n, negHalfM, negHalfRm, twoInvT, (float) logZ, logRest, (float) c1,
                    (float) c2);
        }
        for (int j = 0; j < k; j++) {
            put(dst, dstOff + b.id(j), (float) (b.idGradient(j) * scale));
        }
        publish(dst, grad, gradOff, n);
        return loss;
    }

    /**
     * The float pass serves rows without soft-capping (the capped logits need a vector tanh, and a tanh from the
     * hand exp loses relative precision near 0); capped rows run the float64 reference.
     */
    @Override
    public void crossEntropyOptions(MemorySegment x, long xOff, int n, int label, float invT, float smoothing,
                                    float zLoss, float softcap, MemorySegment weights, long wOff, double[] out,
                                    MemorySegment grad, long gradOff, double gCe, double gZ) {
        Workspace ws = Workspace.get();
        maxAndMin(x, xOff, n, ws.acc);
        if (softcap != 0 || extreme(ws.acc, invT)) {
            REFERENCE.crossEntropyOptions(x, xOff, n, label, invT, smoothing, zLoss, softcap, weights, wOff, out, grad,
                    gradOff, gCe, gZ);
            return;
        }
        float m = (float) ws.acc[0];
        float negHalfM = -0.5f * m;
        float twoInvT = 2f * invT;
        double d = sumExp(x, xOff, n, negHalfM, twoInvT, ws.lanes);
        double wSum;
        double wz;
        if (weights == null) {
            wSum = n;
            wz = smoothing > 0 ? RowPasses.sumShifted(x, xOff, n, negHalfM, twoInvT, ws.lanes) : 0;
        } else {
            weightedSums(x, xOff, weights, wOff, n, negHalfM, twoInvT, ws.acc, ws.lanes);
            wSum = ws.acc[0];
            wz = ws.acc[1];
        }
        double logD = Math.log(d);
        double lse = (double) m * invT + logD;
        double wy = weights == null ? 1 : get(weights, wOff + label);
        double ay = ((double) get(x, xOff + label) - m) * invT;
        double ce = smoothing == 1f ? 0 : (1.0 - smoothing) * wy * (logD - ay);
        if (smoothing > 0) {
            ce += smoothing * (wSum * logD - wz) / n;
        }
        double z = zLoss == 0 ? 0 : zLoss * lse * lse;
        double pCoef = gCe * ((1.0 - smoothing) * wy + smoothing * wSum / n) + gZ * 2 * zLoss * lse;
        double wCoef = gCe * smoothing / n;
        if (!Double.isFinite(ce) || !Double.isFinite(z) || grad != null
                && (scaleOverflows(pCoef * invT) || scaleOverflows(gCe * wy * invT))) {
            REFERENCE.crossEntropyOptions(x, xOff, n, label, invT, smoothing, zLoss, softcap, weights, wOff, out, grad,
                    gradOff, gCe, gZ);
            return;
        }
        out[0] = ce;
        out[1] = z;
        out[2] = RowPasses.indexOf(x, xOff, n, m);
        if (grad == null) {
            return;
        }
        MemorySegment dst = target(grad, n, ws);
        long dstOff = targetOffset(dst, grad, gradOff);
        crossEntropyGrad(x, xOff, weights, wOff, dst, dstOff, n, negHalfM, twoInvT, (float) logD,
                (float) (pCoef * invT), (float) (wCoef * invT));
        // The label in float64: p_y·pCoef − the label's own term, which cancel in float32 when p_y is near 1.
        double py = Math.exp(ay - logD);
        double gy = py * pCoef - wCoef * wy - gCe * (1.0 - smoothing) * wy;
        put(dst, dstOff + label, (float) (gy * invT));
        publish(dst, grad, gradOff, n);
    }
}
