package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.RowPasses.dot;
import static dev.entrokit.internal.simd.RowPasses.entropyGrad;
import static dev.entrokit.internal.simd.RowPasses.entropySums;
import static dev.entrokit.internal.simd.RowPasses.expStore;
import static dev.entrokit.internal.simd.RowPasses.expStoreEntropySums;
import static dev.entrokit.internal.simd.RowPasses.extreme;
import static dev.entrokit.internal.simd.RowPasses.fill;
import static dev.entrokit.internal.simd.RowPasses.max;
import static dev.entrokit.internal.simd.RowPasses.maxAndMin;
import static dev.entrokit.internal.simd.RowPasses.scale;
import static dev.entrokit.internal.simd.RowPasses.shiftStore;
import static dev.entrokit.internal.simd.RowPasses.softmaxBackwardStore;
import static dev.entrokit.internal.simd.RowPasses.sumExp;
import static dev.entrokit.internal.simd.SimdConstants.BLOCK;
import static dev.entrokit.internal.simd.SimdRows.publish;
import static dev.entrokit.internal.simd.SimdRows.scaleOverflows;
import static dev.entrokit.internal.simd.SimdRows.target;
import static dev.entrokit.internal.simd.SimdRows.targetOffset;

import dev.entrokit.internal.RowSplit;
import dev.entrokit.internal.SoftmaxKernels;
import dev.entrokit.internal.scalar.ScalarSoftmaxKernels;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * The softmax family with the Vector API (SPEC §1: log-sum-exp, softmax, log-softmax, their
 * backward passes, entropy, softmax with row statistics); same method names and order as
 * {@code ScalarSoftmaxKernels}.
 *
 * <p>The softmax family: a max pass (compare + blend; NaN is caught later, so the slower NaN-aware
 * {@code FloatVector.max} is not needed), one pass accumulating the sums the op needs, and, when an
 * output is asked for, one pass writing it; so does entropy, which SPEC §1 has equal the fused softmax's
 * bitwise. The losses of two rows (KL, reverse KL, soft cross-entropy, JSD, Jeffreys) and the label
 * cross-entropy read each row once instead ({@link OneReadPasses#pairSumsStreaming}, {@link RowPasses#maxSumExpStreaming}): per
 * block of {@link SimdConstants#BLOCK} elements, the running maxima (a loop over a block that then sits in
 * L1), then the block's sums against them, the double sums rescaled when a maximum grows. Their gradients come from what the forward kept (the exps per block,
 * with the block's maxima; for JSD also the shifted logits) so that no later pass needs a second
 * transcendental in the same compiled unit. Each building block holds one hot loop so that the inlined
 * exp stays within C2's budget; blocks take and return scalars and arrays only.
 *
 * <p>Numerics, all measured against the float64 reference:
 * <ul>
 * <li>logits are shifted as {@code fma(x, ½, −m/2)·(2/T)}, which is {@code (x − m)/T} without the
 *     overflow of {@code x − m} when {@code x} and {@code m} are near {@code ∓Float.MAX_VALUE};
 * <li>sums run in float lanes over blocks of {@link SimdConstants#BLOCK} elements, then each block's
 *     lanes join a double in a fixed order: per-lane float sums over 128k elements drift to a few
 *     1e-6, and {@code reduceLanes(ADD)} may change its order once C2 compiles it, which would make
 *     results depend on warm-up and thread count;
 * <li>the normalizers {@code d = Σ e} carry a compensation term (Fast2Sum: {@code c += e − (s' − s)},
 *     off the loop's critical path, unlike Kahan's): in a peaked row one lane holds the max's
 *     {@code e = 1} and every small term added to it rounds at ulp(1); uncompensated, {@code d} was off
 *     by 5.6e-7 on a 100-token row with 4 lanes, which showed in {@code q − p} gradients;
 * <li>a NaN or {@code +inf} logit, or an all {@code −inf} row, makes {@code d = Σ e} NaN: that is how
 *     special rows are found;
 * <li>a loss that comes out non-finite (a genuine {@code +inf} KL, or float overflow on rows with
 *     logits near {@code Float.MAX_VALUE}) is recomputed by the float64 reference, so such rows agree
 *     with it exactly.
 * </ul>
 * Outputs that live on the heap are written to an off-heap staging row and copied: C2 does not
 * intrinsify vector stores into heap segments (measured 70 ns/element, lane by lane).
 */
public final class SimdSoftmaxKernels implements SoftmaxKernels {
    private static final SoftmaxKernels REFERENCE = new ScalarSoftmaxKernels();

    @Override
    public double logSumExp(MemorySegment x, long xOff, int n, float invT) {
        return logSumExp(x, xOff, n, invT, RowSplit.SERIAL);
    }

    /** A long row runs as chunks under {@code split} ({@link ChunkedPasses}), with the bits of the whole-row passes. */
    @Override
    public double logSumExp(MemorySegment x, long xOff, int n, float invT, RowSplit split) {
        float m = ChunkedPasses.max(x, xOff, n, split);
        double d = ChunkedPasses.sumExp(x, xOff, null, 0, n, -0.5f * m, 2f * invT, split);
        return Double.isNaN(d) ? Double.NaN : (double) m * invT + Math.log(d);
    }

    @Override
    public void softmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
        softmax(x, xOff, out, outOff, n, invT, RowSplit.SERIAL);
    }

    @Override
    public void softmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT,
                        RowSplit split) {
        Workspace ws = Workspace.get();
        float m = ChunkedPasses.max(x, xOff, n, split);
        MemorySegment dst = target(out, n, ws);
        long dstOff = targetOffset(dst, out, outOff);
        double d = ChunkedPasses.sumExp(x, xOff, dst, dstOff, n, -0.5f * m, 2f * invT, split);
        if (Double.isNaN(d)) {
            fill(dst, dstOff, n, Float.NaN);
            publish(dst, out, outOff, n);
        } else {
            ChunkedPasses.scaleAndPublish(dst, dstOff, out, outOff, n, (float) (1.0 / d), split);
        }
    }

    @Override
    public void logSoftmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
        logSoftmax(x, xOff, out, outOff, n, invT, RowSplit.SERIAL);
    }

    @Override
    public void logSoftmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT,
                           RowSplit split) {
        Workspace ws = Workspace.get();
        float m = ChunkedPasses.max(x, xOff, n, split);
        double d = ChunkedPasses.sumExp(x, xOff, null, 0, n, -0.5f * m, 2f * invT, split);
        MemorySegment dst = target(out, n, ws);
        long dstOff = targetOffset(dst, out, outOff);
        if (Double.isNaN(d)) {
            fill(dst, dstOff, n, Float.NaN);
            publish(dst, out, outOff, n);
        } else {
            ChunkedPasses.shiftStoreAndPublish(x, xOff, dst, dstOff, out, outOff, n, -0.5f * m, 2f * invT,
                    (float) Math.log(d), split);
        }
    }

    @Override
    public void softmaxStats(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT, boolean log,
                             double[] stats) {
        softmaxStats(x, xOff, out, outOff, n, invT, log, stats, RowSplit.SERIAL);
    }

    /**
     * Softmax or log-softmax with the row's max, log-sum-exp and entropy: one read for the max, one exp per
     * element (softmax: written as {@code e} with the entropy sums, then scaled by {@code 1/d}; log-softmax:
     * the entropy sums, then {@code a − log d}). On rows spread over more than {@link RowPasses#EXTREME_SPREAD}
     * temperature units the entropy comes from the reference, as {@link #entropy}'s does. A long row runs as
     * chunks under {@code split} ({@link ChunkedPasses}), with the bits of the whole-row passes.
     */
    @Override
    public void softmaxStats(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT, boolean log,
                             double[] stats, RowSplit split) {
        Workspace ws = Workspace.get();
        ChunkedPasses.maxAndMin(x, xOff, n, split, ws.acc);
        boolean extreme = extreme(ws.acc, invT);
        // Read before anything is written: out may alias x. The softmax itself stays on this path (its values
        // do not suffer from the flushed terms that make such a row's entropy need float64).
        double extremeEntropy = extreme ? REFERENCE.entropy(x, xOff, n, invT, null, 0, 0f) : Double.NaN;
        float m = (float) ws.acc[0];
        float negHalfM = -0.5f * m;
        float twoInvT = 2f * invT;
        MemorySegment dst = target(out, n, ws);
        long dstOff = targetOffset(dst, out, outOff);
        if (log) {
            ChunkedPasses.entropySums(x, xOff, n, negHalfM, twoInvT, split, ws.acc);
        } else {
            ChunkedPasses.expStoreEntropySums(x, xOff, dst, dstOff, n, negHalfM, twoInvT, split, ws.acc);
        }
        double d = ws.acc[0];
        double logD = Math.log(d);
        if (Double.isNaN(d)) {
            fill(dst, dstOff, n, Float.NaN);
            publish(dst, out, outOff, n);
            stats[0] = Double.NaN;
            stats[1] = Double.NaN;
            stats[2] = Double.NaN;
            return;
        }
        // Finite here: d is in [1, n] (the max contributes e^0 = 1) and, on a row that is not extreme,
        // every a_i with e_i > 0 lies in [−EXTREME_SPREAD, 0].
        stats[2] = extreme ? extremeEntropy : logD - ws.acc[1] / d;
        stats[0] = m;
        stats[1] = (double) m * invT + logD;
        if (log) {
            ChunkedPasses.shiftStoreAndPublish(x, xOff, dst, dstOff, out, outOff, n, negHalfM, twoInvT, (float) logD,
                    split);
        } else {
            ChunkedPasses.scaleAndPublish(dst, dstOff, out, outOff, n, (float) (1.0 / d), split);
        }
    }

    @Override
    public void softmaxBackward(MemorySegment p, long pOff, MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                                int n, float invT) {
        Workspace ws = Workspace.get();
        double dotted = dot(dy, dyOff, p, pOff, n, ws.doubleLanes);
        MemorySegment dst = target(dx, n, ws);
        softmaxBackwardStore(p, pOff, dy, dyOff, dst, targetOffset(dst, dx, dxOff), n, dotted, invT);
        publish(dst, dx, dxOff, n);
    }

    /**
     * Runs the float64 reference: this pass needs {@code exp(y)} in double (it is subtracted from
     * {@code dy}), and the Vector API's double exp is an SVML call only once C2 compiles it, so results
     * would depend on warm-up and thread count. Not a hot path yet; a hand double exp would fix it.
     */
    @Override
    public void logSoftmaxBackward(MemorySegment y, long yOff, MemorySegment dy, long dyOff, MemorySegment dx,
                                   long dxOff, int n, float invT) {
        REFERENCE.logSoftmaxBackward(y, yOff, dy, dyOff, dx, dxOff, n, invT);
    }

    @Override
    public double entropy(MemorySegment x, long xOff, int n, float invT, MemorySegment grad, long gradOff,
                          float gradScale) {
        if (grad != null && scaleOverflows((double) gradScale * invT)) {
            return REFERENCE.entropy(x, xOff, n, invT, grad, gradOff, gradScale);
        }
        Workspace ws = Workspace.get();
        // Two reads, not one: SPEC §1 has softmax with row statistics give this entropy bitwise, and that op needs
        // the row's maximum before its one exp per element, so both sum against the final maximum.
        maxAndMin(x, xOff, n, ws.acc);
        if (extreme(ws.acc, invT)) {
            return REFERENCE.entropy(x, xOff, n, invT, grad, gradOff, gradScale);
        }
        float m = (float) ws.acc[0];
        float negHalfM = -0.5f * m;
        float twoInvT = 2f * invT;
        entropySums(x, xOff, n, negHalfM, twoInvT, ws.acc, ws.lanes);
        double d = ws.acc[0];
        double logD = Math.log(d);
        double h = logD - ws.acc[1] / d;
        if (!Double.isFinite(h)) {
            return REFERENCE.entropy(x, xOff, n, invT, grad, gradOff, gradScale);
        }
        if (grad != null) {
            MemorySegment dst = target(grad, n, ws);
            entropyGrad(x, xOff, dst, targetOffset(dst, grad, gradOff), n, negHalfM, twoInvT, (float) (1 / d),
                    (float) (logD - h), gradScale * invT);
            publish(dst, grad, gradOff, n);
        }
        return h;
    }
}
