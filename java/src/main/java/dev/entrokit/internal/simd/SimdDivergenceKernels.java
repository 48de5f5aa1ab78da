package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.OneReadPasses.CE_SUMS;
import static dev.entrokit.internal.simd.OneReadPasses.JEFFREYS_SUMS;
import static dev.entrokit.internal.simd.OneReadPasses.JSD_SUMS;
import static dev.entrokit.internal.simd.OneReadPasses.gradFromStoredExps;
import static dev.entrokit.internal.simd.OneReadPasses.jsdFromStored;
import static dev.entrokit.internal.simd.OneReadPasses.jsdGradFromStored;
import static dev.entrokit.internal.simd.OneReadPasses.KL_SUMS;
import static dev.entrokit.internal.simd.OneReadPasses.pairSumsStreaming;
import static dev.entrokit.internal.simd.PairPasses.PROB_CHUNK;
import static dev.entrokit.internal.simd.PairPasses.extremePair;
import static dev.entrokit.internal.simd.PairPasses.gradQMinusP;
import static dev.entrokit.internal.simd.PairPasses.gradRkl;
import static dev.entrokit.internal.simd.PairPasses.gradRklStored;
import static dev.entrokit.internal.simd.PairPasses.jsdGrad;
import static dev.entrokit.internal.simd.PairPasses.jsdTowards;
import static dev.entrokit.internal.simd.PairPasses.probabilities;
import static dev.entrokit.internal.simd.PairPasses.rklMean;
import static dev.entrokit.internal.simd.PairPasses.rklMeanStore;
import static dev.entrokit.internal.simd.PairPasses.sumAbsDiff;
import static dev.entrokit.internal.simd.PairPasses.sumSqrtDiffSquared;
import static dev.entrokit.internal.simd.RowPasses.expStore;
import static dev.entrokit.internal.simd.RowPasses.fill;
import static dev.entrokit.internal.simd.RowPasses.indexOf;
import static dev.entrokit.internal.simd.RowPasses.max;
import static dev.entrokit.internal.simd.RowPasses.maxSumExpStreaming;
import static dev.entrokit.internal.simd.RowPasses.shiftStore;
import static dev.entrokit.internal.simd.RowPasses.softmaxMinusUniform;
import static dev.entrokit.internal.simd.RowPasses.sumExp;
import static dev.entrokit.internal.simd.RowPasses.sumShifted;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdRows.blockEnd;
import static dev.entrokit.internal.simd.SimdRows.exp;
import static dev.entrokit.internal.simd.SimdRows.get;
import static dev.entrokit.internal.simd.SimdRows.load;
import static dev.entrokit.internal.simd.SimdRows.publish;
import static dev.entrokit.internal.simd.SimdRows.put;
import static dev.entrokit.internal.simd.SimdRows.scaleOverflows;
import static dev.entrokit.internal.simd.SimdRows.shift;
import static dev.entrokit.internal.simd.SimdRows.store;
import static dev.entrokit.internal.simd.SimdRows.sumLanes;
import static dev.entrokit.internal.simd.SimdRows.target;
import static dev.entrokit.internal.simd.SimdRows.targetOffset;
import static dev.entrokit.internal.simd.VectorExp.expNonPositive;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.GT;

import dev.entrokit.DType;
import dev.entrokit.internal.DivergenceKernels;
import dev.entrokit.internal.scalar.ScalarDivergenceKernels;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The divergence family with the Vector API (SPEC §1: cross-entropy, KL, reverse KL, JSD,
 * Jeffreys, TV, Hellinger, the α-family, Rényi, χ², PLD); same method names and order as
 * {@code ScalarDivergenceKernels}. Numerics and pass structure: see {@link SimdSoftmaxKernels}.
 */
public final class SimdDivergenceKernels implements DivergenceKernels {
    private static final DivergenceKernels REFERENCE = new ScalarDivergenceKernels();
    /** The lowest largest mixed logit {@code mc} the float32 α-family keeps (see {@code logAlphaSum}). */
    private static final float MIX_HEADROOM = 4f;
    /** The largest {@code (|α|·spread_t + |1 − α|·spread_s)/T} the float32 α-family keeps (see {@code logAlphaSum}). */
    private static final double MIX_AMPLIFICATION = 40;
    /**
     * Distance from α = 0 or 1 below which the α-family runs in float64: the float sums carry ~1e-7
     * relative error, which the loss multiplies by {@code 1/(α(1−α))} or {@code 1/|α − 1|}.
     */
    static final float NEAR_LIMIT = 0.05f;

    @Override
    public double crossEntropy(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                               MemorySegment grad, long gradOff, float gradScale) {
        return crossEntropy(false, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
    }

    /** {@link #crossEntropy(MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)} on float32 or ({@code bf16}) bfloat16 rows. */
    private static double crossEntropy(boolean bf16, MemorySegment t, long tOff, MemorySegment s, long sOff, int n,
                                       float invT, MemorySegment grad, long gradOff, float gradScale) {
        DType type = bf16 ? DType.BF16 : DType.F32;
        if (grad != null && scaleOverflows((double) gradScale * invT)) {
            return REFERENCE.crossEntropy(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        Workspace ws = Workspace.get();
        // As KL: one read of the pair; with a gradient the forward keeps both rows' exps and the gradient pass only
        // rescales them (rows up to PROB_CHUNK).
        boolean keepExps = grad != null && n <= PROB_CHUNK;
        MemorySegment dst = keepExps ? target(grad, n, ws) : null;
        long dstOff = keepExps ? targetOffset(dst, grad, gradOff) : 0;
        MemorySegment eT = keepExps ? ws.probRow(0, n) : null;
        if (pairSumsStreaming(CE_SUMS, bf16, t, tOff, s, sOff, n, invT, eT, dst, dstOff, ws)) {
            return REFERENCE.crossEntropy(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        double dt = ws.acc[0];
        double ds = ws.acc[1];
        double ce = Math.log(ds) - ws.acc[2] / dt;
        if (!Double.isFinite(ce)) {
            return REFERENCE.crossEntropy(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        if (keepExps) {
            gradFromStoredExps(eT, dst, dstOff, n, invT, ws.blockRefs(0), ws.pairMax[0], ws.pairMax[1], dt, ds,
                    gradScale * invT);
            publish(dst, grad, gradOff, n);
        } else if (grad != null) {
            MemorySegment row = target(grad, n, ws);
            gradQMinusP(t, tOff, s, sOff, row, targetOffset(row, grad, gradOff), n, -0.5f * ws.pairMax[0],
                    -0.5f * ws.pairMax[1], 2f * invT, (float) (1 / dt), (float) (1 / ds), gradScale * invT);
            publish(row, grad, gradOff, n);
        }
        return ce;
    }

    @Override
    public double crossEntropyLabel(MemorySegment s, long sOff, int n, int label, float smoothing, float invT,
                                    MemorySegment grad, long gradOff, float gradScale) {
        if (grad != null && scaleOverflows((double) gradScale * invT)) {
            return REFERENCE.crossEntropyLabel(s, sOff, n, label, smoothing, invT, grad, gradOff, gradScale);
        }
        Workspace ws = Workspace.get();
        double logDs = Math.log(maxSumExpStreaming(s, sOff, n, invT, ws));
        float ms = ws.pairMax[0];
        float negHalfMs = -0.5f * ms;
        float twoInvT = 2f * invT;
        // ε = 1 drops the label term entirely (0 · inf would be NaN for a masked label).
        double loss = smoothing == 1f ? 0 : (1.0 - smoothing) * (logDs - ((double) get(s, sOff + label) - ms) * invT);
        if (smoothing > 0) {
            loss += smoothing * (logDs - sumShifted(s, sOff, n, negHalfMs, twoInvT, ws.lanes) / n);
        }
        if (!Double.isFinite(loss)) {
            return REFERENCE.crossEntropyLabel(s, sOff, n, label, smoothing, invT, grad, gradOff, gradScale);
        }
        if (grad != null) {
            float scale = gradScale * invT;
            MemorySegment dst = target(grad, n, ws);
            long dstOff = targetOffset(dst, grad, gradOff);
            shiftStore(s, sOff, dst, dstOff, n, negHalfMs, twoInvT, (float) logDs);
            softmaxMinusUniform(dst, dstOff, n, smoothing / n, scale);
            put(dst, dstOff + label, get(dst, dstOff + label) - (1f - smoothing) * scale);
            publish(dst, grad, gradOff, n);
        }
        return loss;
    }

    @Override
    public double kl(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                     MemorySegment grad, long gradOff, float gradScale) {
        return kl(false, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
    }

    /** {@link #kl(MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)} on float32 or ({@code bf16}) bfloat16 rows. */
    private static double kl(boolean bf16, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                             MemorySegment grad, long gradOff, float gradScale) {
        DType type = bf16 ? DType.BF16 : DType.F32;
        if (grad != null && scaleOverflows((double) gradScale * invT)) {
            return REFERENCE.kl(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        Workspace ws = Workspace.get();
        // With a gradient, the forward keeps both rows' exps (e^t in a workspace row, e^s where the gradient goes)
        // and the gradient pass only rescales them; rows longer than PROB_CHUNK exponentiate again instead of
        // holding a row-sized buffer.
        boolean keepExps = grad != null && n <= PROB_CHUNK;
        MemorySegment dst = keepExps ? target(grad, n, ws) : null;
        long dstOff = keepExps ? targetOffset(dst, grad, gradOff) : 0;
        MemorySegment eT = keepExps ? ws.probRow(0, n) : null;
        if (pairSumsStreaming(KL_SUMS, bf16, t, tOff, s, sOff, n, invT, eT, dst, dstOff, ws)) {
            return REFERENCE.kl(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        float negHalfMt = -0.5f * ws.pairMax[0];
        float negHalfMs = -0.5f * ws.pairMax[1];
        float twoInvT = 2f * invT;
        double dt = ws.acc[0];
        double ds = ws.acc[1];
        double kl = ws.acc[2] / dt - Math.log(dt) + Math.log(ds);
        if (!Double.isFinite(kl)) {
            return REFERENCE.kl(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        if (keepExps) {
            gradFromStoredExps(eT, dst, dstOff, n, invT, ws.blockRefs(0), ws.pairMax[0], ws.pairMax[1], dt, ds,
                    gradScale * invT);
            publish(dst, grad, gradOff, n);
        } else if (grad != null) {
            MemorySegment row = target(grad, n, ws);
            gradQMinusP(t, tOff, s, sOff, row, targetOffset(row, grad, gradOff), n, negHalfMt, negHalfMs, twoInvT,
                    (float) (1 / dt), (float) (1 / ds), gradScale * invT);
            publish(row, grad, gradOff, n);
        }
        return kl;
    }

    @Override
    public double rkl(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                      MemorySegment grad, long gradOff, float gradScale) {
        return rkl(false, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
    }

    /** {@link #rkl(MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)} on float32 or ({@code bf16}) bfloat16 rows. */
    private static double rkl(boolean bf16, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                              MemorySegment grad, long gradOff, float gradScale) {
        DType type = bf16 ? DType.BF16 : DType.F32;
        if (grad != null && scaleOverflows((double) gradScale * invT)) {
            return REFERENCE.rkl(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        Workspace ws = Workspace.get();
        // KL(q‖p): roles swapped
        if (pairSumsStreaming(KL_SUMS, bf16, s, sOff, t, tOff, n, invT, null, null, 0, ws)) {
            return REFERENCE.rkl(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        float mt = ws.pairMax[1];
        float ms = ws.pairMax[0];
        double ds = ws.acc[0];
        double dt = ws.acc[1];
        double rkl = ws.acc[2] / ds - Math.log(ds) + Math.log(dt);
        if (!Double.isFinite(rkl)) {
            return REFERENCE.rkl(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        if (grad != null) {
            MemorySegment dst = target(grad, n, ws);
            long dstOff = targetOffset(dst, grad, gradOff);
            fill(dst, dstOff, n, 0f);
            addRklGrad(bf16, t, tOff, s, sOff, dst, dstOff, n, ms, invT, (float) (1 / ds), gradScale * invT, ws);
            publish(dst, grad, gradOff, n);
        }
        return rkl;
    }

    /**
     * Adds the reverse-KL gradient: locates the student's argmax, then {@link PairPasses#rklMeanStore} and
     * {@link PairPasses#gradRklStored} (rows up to {@link PairPasses#PROB_CHUNK}), or {@link PairPasses#rklMean} and {@link PairPasses#gradRkl}.
     * {@code bf16} rows are no longer than {@link PairPasses#PROB_CHUNK} (longer ones run on float32 copies).
     */
    private static void addRklGrad(boolean bf16, MemorySegment t, long tOff, MemorySegment s, long sOff,
                                   MemorySegment grad, long gOff, int n, float ms, float invT, float invDs, float scale,
                                   Workspace ws) {
        int k = bf16 ? HalfPairPasses.indexOf(s, sOff, n, ms) : indexOf(s, sOff, n, ms);
        float negHalfTk = -0.5f * HalfPairPasses.at(bf16, t, tOff + k);
        float negHalfMs = -0.5f * ms;
        float twoInvT = 2f * invT;
        if (n <= PROB_CHUNK) {
            // q and c kept from the mean's pass: one exp per element instead of two, and no compiled unit holding
            // two exp loops (rklMean and gradRkl inlined together boxed a vector per iteration: 192 KB per
            // 32000-wide row, JFR allocation samples).
            MemorySegment qRow = ws.probRow(0, n);
            MemorySegment cRow = ws.probRow(1, n);
            float mean = (float) rklMeanStore(bf16, t, tOff, s, sOff, n, negHalfMs, negHalfTk, twoInvT, invDs, qRow,
                    cRow, ws.lanes);
            gradRklStored(qRow, cRow, grad, gOff, n, mean, scale);
            return;
        }
        float mean = (float) rklMean(t, tOff, s, sOff, n, negHalfMs, negHalfTk, twoInvT, invDs, ws.lanes);
        gradRkl(t, tOff, s, sOff, grad, gOff, n, negHalfMs, negHalfTk, twoInvT, invDs, mean, scale);
    }

    @Override
    public double jeffreys(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                           MemorySegment grad, long gradOff, float gradScale) {
        return jeffreys(false, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
    }

    /** {@link #jeffreys(MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)} on float32 or ({@code bf16}) bfloat16 rows. */
    private static double jeffreys(boolean bf16, MemorySegment t, long tOff, MemorySegment s, long sOff, int n,
                                   float invT, MemorySegment grad, long gradOff, float gradScale) {
        DType type = bf16 ? DType.BF16 : DType.F32;
        if (grad != null && scaleOverflows((double) gradScale * invT)) {
            return REFERENCE.jeffreys(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        Workspace ws = Workspace.get();
        // Both directions' sums from one read; with a gradient the forward keeps both exps, so that the q − p part
        // only rescales them and the reverse-KL part (addRklGrad) is the one pass left with an exp.
        boolean keepExps = grad != null && n <= PROB_CHUNK;
        MemorySegment dst = grad != null ? target(grad, n, ws) : null;
        long dstOff = grad != null ? targetOffset(dst, grad, gradOff) : 0;
        MemorySegment eT = keepExps ? ws.probRow(0, n) : null;
        if (pairSumsStreaming(JEFFREYS_SUMS, bf16, t, tOff, s, sOff, n, invT, eT, keepExps ? dst : null, dstOff, ws)) {
            return REFERENCE.jeffreys(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        float mt = ws.pairMax[0];
        float ms = ws.pairMax[1];
        double dt = ws.acc[0];
        double ds = ws.acc[1];
        double logRatio = Math.log(ds) - Math.log(dt);
        double kl = ws.acc[2] / dt + logRatio;
        double rkl = ws.acc[3] / ds - logRatio;
        double value = kl + rkl;
        if (!Double.isFinite(value)) {
            return REFERENCE.jeffreys(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        if (grad != null) {
            float scale = gradScale * invT;
            if (keepExps) {
                gradFromStoredExps(eT, dst, dstOff, n, invT, ws.blockRefs(0), mt, ms, dt, ds, scale);
            } else {
                gradQMinusP(t, tOff, s, sOff, dst, dstOff, n, -0.5f * mt, -0.5f * ms, 2f * invT, (float) (1 / dt),
                        (float) (1 / ds), scale);
            }
            addRklGrad(bf16, t, tOff, s, sOff, dst, dstOff, n, ms, invT, (float) (1 / ds), scale, ws);
            publish(dst, grad, gradOff, n);
        }
        return value;
    }

    @Override
    public double jsd(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta,
                      MemorySegment grad, long gradOff, float gradScale) {
        if (n > PROB_CHUNK) {
            if (grad != null && scaleOverflows((double) gradScale * invT * (1 - beta))) {
                return REFERENCE.jsd(t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
            }
            return jsdChunked(t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        return jsd(false, t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
    }

    /**
     * {@link #jsd(MemorySegment, long, MemorySegment, long, int, float, float, MemorySegment, long, float)} on float32
     * or ({@code bf16}) bfloat16 rows no longer than {@link PairPasses#PROB_CHUNK}.
     */
    private static double jsd(boolean bf16, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                              float beta, MemorySegment grad, long gradOff, float gradScale) {
        DType type = bf16 ? DType.BF16 : DType.F32;
        if (grad != null && scaleOverflows((double) gradScale * invT * (1 - beta))) {
            return REFERENCE.jsd(type, t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        Workspace ws = Workspace.get();
        // One read of the pair: the streaming pass keeps each row's exps and shifted logits against its block's
        // maximum; the sums and the gradient then come from those rows, one log per element each.
        for (int row = 0; row < 4; row++) {
            ws.heapRow(row, n);
        }
        if (pairSumsStreaming(JSD_SUMS, bf16, t, tOff, s, sOff, n, invT, null, null, 0, ws)) {
            return REFERENCE.jsd(type, t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        double dt = ws.acc[0];
        double ds = ws.acc[1];
        if (!(dt > 0) || !(ds > 0)) { // a NaN row, or one with every entry masked: the reference's special rows
            return REFERENCE.jsd(type, t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        jsdFromStored(n, invT, beta, dt, ds, ws);
        double towardP = ws.acc[0];
        double towardQ = ws.acc[1];
        double value = beta * towardP + (1.0 - beta) * towardQ;
        if (!Double.isFinite(value)) {
            return REFERENCE.jsd(type, t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        if (grad != null) {
            float scale = (float) ((double) gradScale * invT * (1 - beta));
            jsdGradFromStored(grad, gradOff, n, invT, beta, dt, ds, (float) towardQ, scale, ws);
        }
        return value;
    }

    /**
     * {@link #jsd} for rows longer than {@link PairPasses#PROB_CHUNK}: max passes, then the probabilities chunk by chunk
     * (twice with a gradient) instead of holding row-sized buffers per thread.
     */
    private static double jsdChunked(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                                     float beta, MemorySegment grad, long gradOff, float gradScale) {
        Workspace ws = Workspace.get();
        if (extremePair(t, tOff, s, sOff, n, invT, ws)) {
            return REFERENCE.jsd(t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        float negHalfMt = -0.5f * ws.pairMax[0];
        float negHalfMs = -0.5f * ws.pairMax[1];
        float twoInvT = 2f * invT;
        float logDt = (float) Math.log(sumExp(t, tOff, n, negHalfMt, twoInvT, ws.lanes));
        float logDs = (float) Math.log(sumExp(s, sOff, n, negHalfMs, twoInvT, ws.lanes));
        jsdTowards(t, tOff, s, sOff, n, negHalfMt, negHalfMs, twoInvT, logDt, logDs, beta, ws);
        double towardP = ws.acc[0];
        double towardQ = ws.acc[1];
        int chunk = Math.min(n, PROB_CHUNK);
        MemorySegment pRow = ws.probRow(0, chunk);
        MemorySegment qRow = ws.probRow(1, chunk);
        double value = beta * towardP + (1.0 - beta) * towardQ;
        if (!Double.isFinite(value)) {
            return REFERENCE.jsd(t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        if (grad != null) {
            float scale = (float) ((double) gradScale * invT * (1 - beta));
            MemorySegment dst = target(grad, chunk, ws);
            for (int c = 0, len; c < n; c += len) {
                len = Math.min(chunk, n - c);
                if (chunk < n) { // the probability rows hold the last chunk only
                    probabilities(t, tOff + c, s, sOff + c, pRow, qRow, len, negHalfMt, negHalfMs, twoInvT, logDt,
                            logDs);
                }
                jsdGrad(s, sOff + c, pRow, qRow, dst, targetOffset(dst, grad, gradOff + c), len, negHalfMs, twoInvT,
                        logDs, beta, (float) towardQ, scale);
                publish(dst, grad, gradOff + c, len);
            }
        }
        return value;
    }

    @Override
    public double tv(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT) {
        Workspace ws = Workspace.get();
        float negHalfMt = -0.5f * max(t, tOff, n);
        float negHalfMs = -0.5f * max(s, sOff, n);
        float twoInvT = 2f * invT;
        double dt = sumExp(t, tOff, n, negHalfMt, twoInvT, ws.lanes);
        double ds = sumExp(s, sOff, n, negHalfMs, twoInvT, ws.lanes);
        if (Double.isNaN(dt) || Double.isNaN(ds)) {
            return Double.NaN;
        }
        return 0.5 * sumAbsDiff(t, tOff, s, sOff, n, negHalfMt, negHalfMs, twoInvT, (float) (1 / dt), (float) (1 / ds),
                ws.lanes);
    }

    @Override
    public double hellinger(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT) {
        Workspace ws = Workspace.get();
        float negHalfMt = -0.5f * max(t, tOff, n);
        float negHalfMs = -0.5f * max(s, sOff, n);
        double dt = sumExp(t, tOff, n, negHalfMt, 2f * invT, ws.lanes);
        double ds = sumExp(s, sOff, n, negHalfMs, 2f * invT, ws.lanes);
        if (Double.isNaN(dt) || Double.isNaN(ds)) {
            return Double.NaN;
        }
        double sum = sumSqrtDiffSquared(t, tOff, s, sOff, n, negHalfMt, negHalfMs, invT, (float) Math.sqrt(1 / dt),
                (float) Math.sqrt(1 / ds), ws.lanes);
        return Math.sqrt(0.5 * sum);
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
        return grad != null && n <= PairPasses.PROB_CHUNK;
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
            OneReadPasses.rescaledDifference(rRow, dst, dstOff, 0, upper, kR, kS);
            for (int i = upper; i < n; i++) {
                put(dst, dstOff + i, Math.fma(get(dst, dstOff + i), kS, -(get(rRow, i) * kR)));
            }
        } else {
            alphaGrad(t, tOff, s, sOff, dst, dstOff, n, -0.5f * ws.pairMax[0], -0.5f * ws.pairMax[1], 2f * invT, alpha,
                    (float) ws.acc[0], (float) ws.acc[1], factor);
        }
        publish(dst, grad, gradOff, n);
    }

    /** The float64 reference: the cost is the sort of the teacher row, which no vector loop removes. */
    @Override
    public double pld(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, int label, float invT,
                      MemorySegment grad, long gradOff, float gradScale) {
        return REFERENCE.pld(t, tOff, s, sOff, n, label, invT, grad, gradOff, gradScale);
    }

    /**
     * Reads BF16 rows in registers ({@link HalfPairPasses}); F16 rows, and BF16 rows longer than
     * {@link PairPasses#PROB_CHUNK} with a gradient, are widened into this thread's kernel buffers by
     * {@link HalfWidening}'s vector loops first (their passes have no half twin).
     */
    @Override
    public double crossEntropy(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                               MemorySegment grad, long gradOff, float gradScale) {
        if (type == DType.BF16 && (grad == null || n <= PROB_CHUNK)) {
            return crossEntropy(true, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        return type == DType.F32 ? crossEntropy(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale)
                : crossEntropy(widened(type, t, tOff, n, 0), 0, widened(type, s, sOff, n, 1), 0, n, invT, grad, gradOff,
                gradScale);
    }

    /** As the typed {@link #crossEntropy(DType, MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)}. */
    @Override
    public double kl(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                     MemorySegment grad, long gradOff, float gradScale) {
        if (type == DType.BF16 && (grad == null || n <= PROB_CHUNK)) {
            return kl(true, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        return type == DType.F32 ? kl(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale)
                : kl(widened(type, t, tOff, n, 0), 0, widened(type, s, sOff, n, 1), 0, n, invT, grad, gradOff, gradScale);
    }

    /** As the typed {@link #crossEntropy(DType, MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)}. */
    @Override
    public double rkl(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                      MemorySegment grad, long gradOff, float gradScale) {
        if (type == DType.BF16 && (grad == null || n <= PROB_CHUNK)) {
            return rkl(true, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        return type == DType.F32 ? rkl(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale)
                : rkl(widened(type, t, tOff, n, 0), 0, widened(type, s, sOff, n, 1), 0, n, invT, grad, gradOff, gradScale);
    }

    /**
     * As the typed {@link #crossEntropy(DType, MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)};
     * BF16 rows longer than {@link PairPasses#PROB_CHUNK} are widened with or without a gradient (the chunked JSD
     * has no half twin).
     */
    @Override
    public double jsd(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                      float beta, MemorySegment grad, long gradOff, float gradScale) {
        if (type == DType.BF16 && n <= PROB_CHUNK) {
            return jsd(true, t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        return type == DType.F32 ? jsd(t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale)
                : jsd(widened(type, t, tOff, n, 0), 0, widened(type, s, sOff, n, 1), 0, n, invT, beta, grad, gradOff,
                gradScale);
    }

    /** As the typed {@link #crossEntropy(DType, MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)}. */
    @Override
    public double jeffreys(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                           MemorySegment grad, long gradOff, float gradScale) {
        if (type == DType.BF16 && (grad == null || n <= PROB_CHUNK)) {
            return jeffreys(true, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        return type == DType.F32 ? jeffreys(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale)
                : jeffreys(widened(type, t, tOff, n, 0), 0, widened(type, s, sOff, n, 1), 0, n, invT, grad, gradOff,
                gradScale);
    }

    /** The half row widened by {@link HalfWidening}'s vector loops into this thread's kernel buffer {@code which}. */
    private static MemorySegment widened(DType type, MemorySegment x, long xOff, int n, int which) {
        return HalfWidening.intoKernelRow(type, x, xOff, n, which);
    }
}
