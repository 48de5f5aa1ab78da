package dev.entrokit.internal.simd;

import static dev.entrokit.internal.PartialStateKernels.COUNT;
import static dev.entrokit.internal.PartialStateKernels.D;
import static dev.entrokit.internal.PartialStateKernels.DS;
import static dev.entrokit.internal.PartialStateKernels.FLAGS;
import static dev.entrokit.internal.PartialStateKernels.K;
import static dev.entrokit.internal.PartialStateKernels.LO;
import static dev.entrokit.internal.PartialStateKernels.LOS;
import static dev.entrokit.internal.PartialStateKernels.M;
import static dev.entrokit.internal.PartialStateKernels.MS;
import static dev.entrokit.internal.PartialStateKernels.TARGET;
import static dev.entrokit.internal.PartialStateKernels.U;
import static dev.entrokit.internal.PartialStateKernels.V;
import static dev.entrokit.internal.simd.PairPasses.extremePair;
import static dev.entrokit.internal.simd.RowPasses.extreme;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
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

import dev.entrokit.ShardOp;
import dev.entrokit.internal.PartialStateKernels;
import dev.entrokit.internal.PartialStates;
import dev.entrokit.internal.scalar.ScalarPartialStates;
import java.lang.foreign.MemorySegment;

/**
 * The partial states with the Vector API: the building blocks of {@link SimdSoftmaxKernels} run over one
 * piece of a row, with the piece's own maxima (phase 1) or the row's merged ones (phase 2). What the
 * whole-row kernels hand to the float64 reference goes there here too, piece by piece: a NaN or
 * {@code +inf} logit, an all-masked piece and any non-finite sum (a masked token under a live one) in phase
 * 1; a spread beyond {@link PartialStates#EXTREME_SPREAD} (decided on the merged row, so the whole row takes
 * one path) and a gradient scale near float's range in both phases.
 */
public final class SimdPartialStates implements PartialStateKernels {
    private static final PartialStateKernels REFERENCE = ScalarPartialStates.INSTANCE;

    @Override
    public void single(MemorySegment x, long off, int n, long globalOffset, float invT, boolean entropy, int label,
                       boolean sumShifted, double[] st, int base) {
        Workspace ws = Workspace.get();
        if (n == 0) {
            REFERENCE.single(x, off, n, globalOffset, invT, entropy, label, sumShifted, st, base);
            return;
        }
        // The entropy's gradient and label smoothing's Σ a tell extreme rows apart (float lanes overflow there);
        // the other single-row ops take the plain max pass, as the whole-row kernels do.
        boolean spread = entropy || sumShifted;
        float m;
        double lo = Double.NaN;
        if (spread) {
            RowPasses.maxAndMin(x, off, n, ws.acc);
            m = (float) ws.acc[0];
            lo = ws.acc[1];
        } else {
            m = RowPasses.max(x, off, n);
        }
        if (m == Float.NEGATIVE_INFINITY || (spread && extreme(ws.acc, invT))) {
            REFERENCE.single(x, off, n, globalOffset, invT, entropy, label, sumShifted, st, base);
            return;
        }
        float negHalfM = -0.5f * m;
        float twoInvT = 2f * invT;
        double d;
        double t = 0;
        if (entropy) {
            RowPasses.entropySums(x, off, n, negHalfM, twoInvT, ws.acc, ws.lanes);
            d = ws.acc[0];
            t = ws.acc[1];
        } else {
            d = RowPasses.sumExp(x, off, n, negHalfM, twoInvT, ws.lanes);
        }
        double sum = sumShifted ? RowPasses.sumShifted(x, off, n, negHalfM, twoInvT, ws.lanes) : 0;
        // A −inf Σ a (a masked token under label smoothing) is exact in float64 only.
        if (!Double.isFinite(d) || !Double.isFinite(t) || !Double.isFinite(sum)) {
            REFERENCE.single(x, off, n, globalOffset, invT, entropy, label, sumShifted, st, base);
            return;
        }
        PartialStates.identity(st, base);
        st[base + COUNT] = n;
        st[base + M] = m;
        st[base + D] = d;
        st[base + LO] = lo;
        // K serves the reverse KL's argmax only; single-row records leave it unset.
        if (entropy) {
            st[base + U] = t;
        }
        if (label >= 0) {
            st[base + U] = get(x, off + label);
            st[base + FLAGS] = TARGET;
        }
        if (sumShifted) {
            st[base + V] = sum;
        }
    }

    @Override
    public void pair(ShardOp op, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, long globalOffset,
                     float invT, double[] st, int base) {
        Workspace ws = Workspace.get();
        if (n == 0 || extremePair(t, tOff, s, sOff, n, invT, ws)
                || ws.pairMax[0] == Float.NEGATIVE_INFINITY || ws.pairMax[1] == Float.NEGATIVE_INFINITY) {
            REFERENCE.pair(op, t, tOff, s, sOff, n, globalOffset, invT, st, base);
            return;
        }
        float mt = ws.pairMax[0];
        float ms = ws.pairMax[1];
        double lot = mt - ws.pairSpread[0];
        double los = ms - ws.pairSpread[1];
        float negHalfMt = -0.5f * mt;
        float negHalfMs = -0.5f * ms;
        float twoInvT = 2f * invT;
        double dt;
        double ds;
        double u = 0;
        // The student's argmax matters to the reverse KL only (its c is relative to it).
        int k = op == ShardOp.RKL ? RowPasses.indexOf(s, sOff, n, ms) : 0;
        float tk = get(t, tOff + k);
        switch (op) {
            case KL -> {
                PairPasses.klSums(t, tOff, s, sOff, n, negHalfMt, negHalfMs, twoInvT, ws.acc, ws.lanes);
                dt = ws.acc[0];
                ds = ws.acc[1];
                u = ws.acc[2];
            }
            case CROSS_ENTROPY -> {
                PairPasses.crossEntropySums(t, tOff, s, sOff, n, negHalfMt, negHalfMs, twoInvT, ws.acc,
                        ws.lanes);
                dt = ws.acc[0];
                ds = ws.acc[1];
                u = ws.acc[2];
            }
            default -> {
                dt = RowPasses.sumExp(t, tOff, n, negHalfMt, twoInvT, ws.lanes);
                ds = RowPasses.sumExp(s, sOff, n, negHalfMs, twoInvT, ws.lanes);
                if (op == ShardOp.RKL) {
                    // With 1/d_s = 1 the block's Σ q·c is Σ e^b·c, the record's U.
                    u = PairPasses.rklMean(t, tOff, s, sOff, n, negHalfMs, -0.5f * tk, twoInvT, 1f,
                            ws.lanes);
                }
            }
        }
        if (!Double.isFinite(dt) || !Double.isFinite(ds) || !Double.isFinite(u)) {
            REFERENCE.pair(op, t, tOff, s, sOff, n, globalOffset, invT, st, base);
            return;
        }
        PartialStates.identity(st, base);
        st[base + COUNT] = n;
        st[base + FLAGS] = 0;
        st[base + M] = mt;
        st[base + D] = dt;
        st[base + MS] = ms;
        st[base + DS] = ds;
        st[base + U] = u;
        st[base + LO] = lot;
        st[base + LOS] = los;
        if (op == ShardOp.RKL) {
            st[base + K] = globalOffset + k;
            st[base + V] = tk;
        }
    }

    @Override
    public void jsdTerms(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta,
                         double mt, double logDt, double ms, double logDs, boolean extreme, double[] out) {
        if (extreme) {
            REFERENCE.jsdTerms(t, tOff, s, sOff, n, invT, beta, mt, logDt, ms, logDs, true, out);
            return;
        }
        Workspace ws = Workspace.get();
        float negHalfMt = -0.5f * (float) mt;
        float negHalfMs = -0.5f * (float) ms;
        float twoInvT = 2f * invT;
        PairPasses.jsdTowards(t, tOff, s, sOff, n, negHalfMt, negHalfMs, twoInvT, (float) logDt,
                (float) logDs, beta, ws);
        double towardP = ws.acc[0];
        double towardQ = ws.acc[1];
        if (!Double.isFinite(towardP) || !Double.isFinite(towardQ)) {
            REFERENCE.jsdTerms(t, tOff, s, sOff, n, invT, beta, mt, logDt, ms, logDs, true, out);
            return;
        }
        out[0] = towardP;
        out[1] = towardQ;
    }

    /**
     * Off-heap outputs only (vector stores into heap segments are not intrinsified). Once the maximum is finite,
     * {@code d} is finite unless the piece holds a NaN, and then the row is a NaN row whatever was written.
     */
    @Override
    public boolean expStats(MemorySegment x, long off, int n, long globalOffset, float invT, MemorySegment out,
                            long outOff, double[] st, int base) {
        if (n == 0 || !out.isNative()) {
            single(x, off, n, globalOffset, invT, false, -1, false, st, base);
            return false;
        }
        float m = RowPasses.max(x, off, n);
        if (m == Float.NEGATIVE_INFINITY || m == Float.POSITIVE_INFINITY) {
            REFERENCE.single(x, off, n, globalOffset, invT, false, -1, false, st, base);
            return false;
        }
        double d = RowPasses.expStore(x, off, out, outOff, n, -0.5f * m, 2f * invT,
                Workspace.get().lanes);
        PartialStates.identity(st, base);
        st[base + COUNT] = n;
        if (!Double.isFinite(d)) {
            st[base + FLAGS] = dev.entrokit.internal.PartialStateKernels.BAD;
            return true;
        }
        st[base + M] = m;
        st[base + D] = d;
        return true;
    }

    @Override
    public void scale(MemorySegment out, long off, int n, double factor) {
        RowPasses.scale(out, off, n, (float) factor);
    }

    /** {@code out_i = exp((x_i − m)/T − logD)}. */
    static void expShiftStore(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float negHalfM,
                              float twoInvT, float logD) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            store(expNonPositive(shift(load(x, xOff + i), negHalfM, twoInvT).sub(logD)), out, outOff + i);
        }
        for (; i < n; i++) {
            put(out, outOff + i, (float) Math.exp(shift(get(x, xOff + i), negHalfM, twoInvT) - logD));
        }
    }

    @Override
    public void softmax(MemorySegment x, long off, int n, float invT, double m, double logD, MemorySegment out,
                        long outOff) {
        Workspace ws = Workspace.get();
        MemorySegment dst = target(out, n, ws);
        expShiftStore(x, off, dst, targetOffset(dst, out, outOff), n, -0.5f * (float) m, 2f * invT, (float) logD);
        publish(dst, out, outOff, n);
    }

    @Override
    public void logSoftmax(MemorySegment x, long off, int n, float invT, double m, double logD, MemorySegment out,
                           long outOff) {
        Workspace ws = Workspace.get();
        MemorySegment dst = target(out, n, ws);
        RowPasses.shiftStore(x, off, dst, targetOffset(dst, out, outOff), n, -0.5f * (float) m,
                2f * invT, (float) logD);
        publish(dst, out, outOff, n);
    }

    @Override
    public void entropyGrad(MemorySegment x, long off, int n, float invT, double m, double logD, double h,
                            boolean extreme, MemorySegment grad, long gOff, float gradScale) {
        if (extreme || scaleOverflows((double) gradScale * invT)) {
            REFERENCE.entropyGrad(x, off, n, invT, m, logD, h, true, grad, gOff, gradScale);
            return;
        }
        Workspace ws = Workspace.get();
        MemorySegment dst = target(grad, n, ws);
        RowPasses.entropyGrad(x, off, dst, targetOffset(dst, grad, gOff), n, -0.5f * (float) m,
                2f * invT, (float) Math.exp(-logD), (float) (logD - h), gradScale * invT);
        publish(dst, grad, gOff, n);
    }

    @Override
    public void labelGrad(MemorySegment s, long off, int n, float invT, double m, double logD, int label,
                          float smoothing, long rowLength, boolean extreme, MemorySegment grad, long gOff,
                          float gradScale) {
        if (scaleOverflows((double) gradScale * invT)) {
            REFERENCE.labelGrad(s, off, n, invT, m, logD, label, smoothing, rowLength, true, grad, gOff, gradScale);
            return;
        }
        Workspace ws = Workspace.get();
        float scale = gradScale * invT;
        MemorySegment dst = target(grad, n, ws);
        long dstOff = targetOffset(dst, grad, gOff);
        RowPasses.shiftStore(s, off, dst, dstOff, n, -0.5f * (float) m, 2f * invT, (float) logD);
        RowPasses.softmaxMinusUniform(dst, dstOff, n, (float) ((double) smoothing / rowLength), scale);
        if (label >= 0) {
            put(dst, dstOff + label, get(dst, dstOff + label) - (1f - smoothing) * scale);
        }
        publish(dst, grad, gOff, n);
    }

    @Override
    public void qMinusP(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, double mt,
                        double logDt, double ms, double logDs, boolean extreme, MemorySegment grad, long gOff,
                        float gradScale) {
        if (extreme || scaleOverflows((double) gradScale * invT)) {
            REFERENCE.qMinusP(t, tOff, s, sOff, n, invT, mt, logDt, ms, logDs, true, grad, gOff, gradScale);
            return;
        }
        Workspace ws = Workspace.get();
        MemorySegment dst = target(grad, n, ws);
        PairPasses.gradQMinusP(t, tOff, s, sOff, dst, targetOffset(dst, grad, gOff), n, -0.5f * (float) mt,
                -0.5f * (float) ms, 2f * invT, (float) Math.exp(-logDt), (float) Math.exp(-logDs), gradScale * invT);
        publish(dst, grad, gOff, n);
    }

    @Override
    public void rklGrad(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, double ms,
                        double logDs, double tk, double mean, boolean extreme, MemorySegment grad, long gOff,
                        float gradScale) {
        if (extreme || scaleOverflows((double) gradScale * invT)) {
            REFERENCE.rklGrad(t, tOff, s, sOff, n, invT, ms, logDs, tk, mean, true, grad, gOff, gradScale);
            return;
        }
        Workspace ws = Workspace.get();
        MemorySegment dst = target(grad, n, ws);
        long dstOff = targetOffset(dst, grad, gOff);
        RowPasses.fill(dst, dstOff, n, 0f);
        PairPasses.gradRkl(t, tOff, s, sOff, dst, dstOff, n, -0.5f * (float) ms, -0.5f * (float) tk,
                2f * invT, (float) Math.exp(-logDs), (float) mean, gradScale * invT);
        publish(dst, grad, gOff, n);
    }

    @Override
    public void jsdGrad(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta,
                        double mt, double logDt, double ms, double logDs, double towardQ, boolean extreme,
                        MemorySegment grad, long gOff, float gradScale) {
        if (extreme || scaleOverflows((double) gradScale * invT * (1 - beta))) {
            REFERENCE.jsdGrad(t, tOff, s, sOff, n, invT, beta, mt, logDt, ms, logDs, towardQ, true, grad, gOff,
                    gradScale);
            return;
        }
        Workspace ws = Workspace.get();
        float negHalfMt = -0.5f * (float) mt;
        float negHalfMs = -0.5f * (float) ms;
        float twoInvT = 2f * invT;
        float scale = (float) ((double) gradScale * invT * (1 - beta));
        int chunk = Math.min(n, PairPasses.PROB_CHUNK);
        MemorySegment pRow = ws.probRow(0, chunk);
        MemorySegment qRow = ws.probRow(1, chunk);
        MemorySegment dst = target(grad, chunk, ws);
        for (int c = 0, len; c < n; c += len) {
            len = Math.min(chunk, n - c);
            PairPasses.probabilities(t, tOff + c, s, sOff + c, pRow, qRow, len, negHalfMt, negHalfMs,
                    twoInvT, (float) logDt, (float) logDs);
            PairPasses.jsdGrad(s, sOff + c, pRow, qRow, dst, targetOffset(dst, grad, gOff + c), len,
                    negHalfMs, twoInvT, (float) logDs, beta, (float) towardQ, scale);
            publish(dst, grad, gOff + c, len);
        }
    }
}
