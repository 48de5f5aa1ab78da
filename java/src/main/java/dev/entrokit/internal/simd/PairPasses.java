package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.OneReadPasses.crossEntropyBlockSums;
import static dev.entrokit.internal.simd.OneReadPasses.klBlockSums;
import static dev.entrokit.internal.simd.RowPasses.extreme;
import static dev.entrokit.internal.simd.RowPasses.maxAndMin;
import static dev.entrokit.internal.simd.RowPasses.normalizedExpStore;
import static dev.entrokit.internal.simd.SimdConstants.BLOCK;
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
import static dev.entrokit.internal.simd.VectorExp2.LN2;
import static dev.entrokit.internal.simd.VectorExp2.exp2OrZero;
import static dev.entrokit.internal.simd.VectorExp2.log2ScaleOfTwoInvT;
import static jdk.incubator.vector.VectorOperators.EQ;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Teacher/student SIMD passes, one hot loop each, for the divergences and their gradients (and the
 * policy and partial-state kernels that share them).
 */
final class PairPasses {
    /**
     * Elements per pass of the JSD's probability rows (a multiple of {@link SimdConstants#BLOCK}): rows up
     * to this length run as one chunk, as before; longer rows recompute {@code p} and {@code q} for the
     * gradient instead of holding two row-sized buffers per thread (16 GiB for a 2^31-float row).
     */
    static final int PROB_CHUNK = 1 << 18;
    private PairPasses() {
    }


    /**
     * For a pair of rows: {@code acc[0] = d_t}, {@code acc[1] = d_s}, {@code acc[2] = Σ e^{a_i}·(a_i − b_i)},
     * {@code a}, {@code b} the shifted teacher and student logits; masked teacher entries ({@code −inf}
     * logits, not merely underflowed ones) add 0. A student {@code −inf} under a live teacher entry
     * makes the last sum {@code +inf}, or NaN when that teacher entry underflowed: the caller then asks
     * the float64 reference, which says {@code +inf}.
     */
    static void klSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float negHalfMt, float negHalfMs,
                       float twoInvT, double[] acc, float[] lanes) {
        int upper = F.loopBound(n);
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        double dt = 0;
        double ds = 0;
        double w = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            klBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, acc, lanes);
            dt += acc[0];
            ds += acc[1];
            w += LN2 * acc[2]; // the blocks add in log2 units (see OneReadPasses)
        }
        for (int i = upper; i < n; i++) {
            float xt = get(t, tOff + i);
            float a = shift(xt, negHalfMt, twoInvT);
            float b = shift(get(s, sOff + i), negHalfMs, twoInvT);
            float et = exp(a);
            dt += et;
            ds += exp(b);
            w += xt == Float.NEGATIVE_INFINITY ? 0 : et * (a - b);
        }
        acc[0] = dt;
        acc[1] = ds;
        acc[2] = w;
    }

    /** {@code acc[0] = d_t}, {@code acc[1] = d_s}, {@code acc[2] = Σ e^{a_i}·b_i} (masked teacher entries add 0). */
    static void crossEntropySums(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float negHalfMt,
                                 float negHalfMs, float twoInvT, double[] acc, float[] lanes) {
        int upper = F.loopBound(n);
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        double dt = 0;
        double ds = 0;
        double v = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            crossEntropyBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, acc, lanes);
            dt += acc[0];
            ds += acc[1];
            v += LN2 * acc[2]; // the blocks add in log2 units (see OneReadPasses)
        }
        for (int i = upper; i < n; i++) {
            float xt = get(t, tOff + i);
            float a = shift(xt, negHalfMt, twoInvT);
            float b = shift(get(s, sOff + i), negHalfMs, twoInvT);
            float et = exp(a);
            dt += et;
            ds += exp(b);
            v += xt == Float.NEGATIVE_INFINITY ? 0 : et * b;
        }
        acc[0] = dt;
        acc[1] = ds;
        acc[2] = v;
    }

    /** {@code grad_i = (q_i − p_i) · scale}. */
    static void gradQMinusP(MemorySegment t, long tOff, MemorySegment s, long sOff, MemorySegment grad, long gOff,
                            int n, float negHalfMt, float negHalfMs, float twoInvT, float invDt, float invDs,
                            float scale) {
        int upper = F.loopBound(n);
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        // Both exps in one loop: C2 boxes a vector per iteration here (JFR: 192 KB per 32000-wide row), and also
        // when the loop is split in two, since both halves are inlined into the same caller (crossEntropy:
        // 24.6 MB instead of 13.3 MB per 64 x 32000 call, AllocationProbe). KL, cross-entropy and Jeffreys avoid this
        // pass for rows up to PROB_CHUNK (they keep the forward's exps); longer rows and the partial states pay it.
        for (int i = 0; i < upper; i += L) {
            FloatVector p = exp2OrZero(shift(load(t, tOff + i), negHalfMt, log2Scale)).mul(invDt);
            FloatVector q = exp2OrZero(shift(load(s, sOff + i), negHalfMs, log2Scale)).mul(invDs);
            store(q.sub(p).mul(scale), grad, gOff + i);
        }
        for (int i = upper; i < n; i++) {
            float p = exp(shift(get(t, tOff + i), negHalfMt, twoInvT)) * invDt;
            float q = exp(shift(get(s, sOff + i), negHalfMs, twoInvT)) * invDs;
            put(grad, gOff + i, (q - p) * scale);
        }
    }

    /**
     * {@code Σ q_i c_i} with {@code c_i = (s_i − s_k)/T − (t_i − t_k)/T}, {@code k} the student's argmax:
     * {@code log q_i − log p_i} relative to its value at {@code k}, from logit differences only, so
     * that nothing large cancels (see {@code ScalarDivergenceKernels.writeRklGrad}).
     */
    static double rklMean(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float negHalfMs,
                          float negHalfTk, float twoInvT, float invDs, float[] lanes) {
        int upper = F.loopBound(n);
        float log2Scale = log2ScaleOfTwoInvT(twoInvT); // the exps in log2 units, c in nats
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector h = load(s, sOff + i).fma(0.5f, negHalfMs);
                FloatVector b = h.mul(twoInvT);
                FloatVector q = exp2OrZero(h.mul(log2Scale)).mul(invDs);
                FloatVector c = b.sub(shift(load(t, tOff + i), negHalfTk, twoInvT));
                acc = acc.add(q.mul(c).blend(0f, q.compare(EQ, 0f)));
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float b = shift(get(s, sOff + i), negHalfMs, twoInvT);
            float q = exp(b) * invDs;
            total += q == 0 ? 0 : q * (b - shift(get(t, tOff + i), negHalfTk, twoInvT));
        }
        return total;
    }

    /**
     * {@link #rklMean} that also stores {@code q_i} to {@code qRow} and {@code c_i} to {@code cRow} (from index 0),
     * so that {@link #gradRklStored} needs no second exp. Same sum, in the same order. {@code bf16}: both rows hold
     * bfloat16 elements, read by {@link HalfPairPasses#rklMeanStoreBlocks} (bitwise the same on the widened rows).
     */
    static double rklMeanStore(boolean bf16, MemorySegment t, long tOff, MemorySegment s, long sOff, int n,
                               float negHalfMs, float negHalfTk, float twoInvT, float invDs, MemorySegment qRow,
                               MemorySegment cRow, float[] lanes) {
        int upper = F.loopBound(n);
        double total = bf16
                ? HalfPairPasses.rklMeanStoreBlocks(t, tOff, s, sOff, upper, negHalfMs, negHalfTk, twoInvT, invDs, qRow,
                        cRow, lanes)
                : rklMeanStoreBlocks(t, tOff, s, sOff, upper, negHalfMs, negHalfTk, twoInvT, invDs, qRow, cRow, lanes);
        for (int i = upper; i < n; i++) {
            float b = shift(HalfPairPasses.at(bf16, s, sOff + i), negHalfMs, twoInvT);
            float q = exp(b) * invDs;
            float c = b - shift(HalfPairPasses.at(bf16, t, tOff + i), negHalfTk, twoInvT);
            put(qRow, i, q);
            put(cRow, i, c);
            total += q == 0 ? 0 : q * c;
        }
        return total;
    }

    /** The vector blocks {@code [0, upper)} of {@link #rklMeanStore} on float32 rows. */
    static double rklMeanStoreBlocks(MemorySegment t, long tOff, MemorySegment s, long sOff, int upper, float negHalfMs,
                                     float negHalfTk, float twoInvT, float invDs, MemorySegment qRow, MemorySegment cRow,
                                     float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT); // the exps in log2 units, c in nats
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector h = load(s, sOff + i).fma(0.5f, negHalfMs);
                FloatVector b = h.mul(twoInvT);
                FloatVector q = exp2OrZero(h.mul(log2Scale)).mul(invDs);
                FloatVector c = b.sub(shift(load(t, tOff + i), negHalfTk, twoInvT));
                store(q, qRow, i);
                store(c, cRow, i);
                acc = acc.add(q.mul(c).blend(0f, q.compare(EQ, 0f)));
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        return total;
    }

    /** {@link #gradRkl} from the rows {@link #rklMeanStore} wrote: the same arithmetic, no exp. */
    static void gradRklStored(MemorySegment qRow, MemorySegment cRow, MemorySegment grad, long gOff, int n, float mean,
                              float scale) {
        FloatVector vScale = FloatVector.broadcast(F, scale);
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector q = load(qRow, i);
            FloatVector g = q.mul(load(cRow, i).sub(mean)).blend(0f, q.compare(EQ, 0f));
            store(g.fma(vScale, load(grad, gOff + i)), grad, gOff + i);
        }
        for (; i < n; i++) {
            float q = get(qRow, i);
            float g = q == 0 ? 0 : q * (get(cRow, i) - mean);
            put(grad, gOff + i, g * scale + get(grad, gOff + i));
        }
    }

    /** {@code grad_i += q_i (c_i − mean) · scale} (adds, so that Jeffreys can put the KL gradient there first). */
    static void gradRkl(MemorySegment t, long tOff, MemorySegment s, long sOff, MemorySegment grad, long gOff, int n,
                        float negHalfMs, float negHalfTk, float twoInvT, float invDs, float mean, float scale) {
        FloatVector vScale = FloatVector.broadcast(F, scale);
        int upper = F.loopBound(n);
        float log2Scale = log2ScaleOfTwoInvT(twoInvT); // the exps in log2 units, c in nats
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector h = load(s, sOff + i).fma(0.5f, negHalfMs);
            FloatVector b = h.mul(twoInvT);
            FloatVector q = exp2OrZero(h.mul(log2Scale)).mul(invDs);
            FloatVector c = b.sub(shift(load(t, tOff + i), negHalfTk, twoInvT));
            FloatVector g = q.mul(c.sub(mean)).blend(0f, q.compare(EQ, 0f));
            store(g.fma(vScale, load(grad, gOff + i)), grad, gOff + i);
        }
        for (; i < n; i++) {
            float b = shift(get(s, sOff + i), negHalfMs, twoInvT);
            float q = exp(b) * invDs;
            float g = q == 0 ? 0 : q * (b - shift(get(t, tOff + i), negHalfTk, twoInvT) - mean);
            put(grad, gOff + i, g * scale + get(grad, gOff + i));
        }
    }

    /**
     * Writes {@code p_i} and {@code q_i} to two rows: the JSD passes then need only a log per element,
     * not two exps and a log, which in one loop were more than C2 would inline (boxed vectors, 2×
     * slower).
     */
    static void probabilities(MemorySegment t, long tOff, MemorySegment s, long sOff, MemorySegment pOut,
                              MemorySegment qOut, int n, float negHalfMt, float negHalfMs, float twoInvT, float logDt,
                              float logDs) {
        int upper = F.loopBound(n);
        // One loop per row: both exps in one loop boxed a vector per iteration (JFR: 12 MB per 64 × 32000 JSD).
        normalizedExpStore(t, tOff, pOut, upper, negHalfMt, twoInvT, logDt);
        normalizedExpStore(s, sOff, qOut, upper, negHalfMs, twoInvT, logDs);
        for (int i = upper; i < n; i++) {
            put(pOut, i, exp(shift(get(t, tOff + i), negHalfMt, twoInvT) - logDt));
            put(qOut, i, exp(shift(get(s, sOff + i), negHalfMs, twoInvT) - logDs));
        }
    }

    /**
     * Generalized JSD sums from the stored probabilities: {@code acc[0] = Σ p log(p/M)},
     * {@code acc[1] = Σ q log(q/M)}, {@code M = βp + (1−β)q}; zero probabilities add 0.
     */
    static void jsdSums(MemorySegment t, long tOff, MemorySegment s, long sOff, MemorySegment pRow,
                        MemorySegment qRow, int n, float negHalfMt, float negHalfMs, float twoInvT, float logDt,
                        float logDs, float beta, double[] acc, float[] lanes) {
        float alpha = 1f - beta;
        int upper = F.loopBound(n);
        double towardP = 0;
        double towardQ = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector pAcc = FloatVector.zero(F);
            FloatVector qAcc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector p = load(pRow, i);
                FloatVector q = load(qRow, i);
                FloatVector logP = shift(load(t, tOff + i), negHalfMt, twoInvT).sub(logDt);
                FloatVector logQ = shift(load(s, sOff + i), negHalfMs, twoInvT).sub(logDs);
                FloatVector logM = VectorLog.log(p.mul(beta).add(q.mul(alpha)));
                pAcc = pAcc.add(p.mul(logP.sub(logM)).blend(0f, p.compare(EQ, 0f)));
                qAcc = qAcc.add(q.mul(logQ.sub(logM)).blend(0f, q.compare(EQ, 0f)));
            }
            pAcc.intoArray(lanes, 0);
            towardP += sumLanes(lanes);
            qAcc.intoArray(lanes, 0);
            towardQ += sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float p = get(pRow, i);
            float q = get(qRow, i);
            float logP = shift(get(t, tOff + i), negHalfMt, twoInvT) - logDt;
            float logQ = shift(get(s, sOff + i), negHalfMs, twoInvT) - logDs;
            float logM = (float) Math.log(beta * p + alpha * q);
            towardP += p == 0 ? 0 : p * (logP - logM);
            towardQ += q == 0 ? 0 : q * (logQ - logM);
        }
        acc[0] = towardP;
        acc[1] = towardQ;
    }

    /**
     * {@code ws.acc[0] = Σ p log(p/M)}, {@code ws.acc[1] = Σ q log(q/M)} over the row, by chunks of {@link #PROB_CHUNK}
     * ({@link #probabilities} then {@link #jsdSums}); the workspace's probability rows keep the last chunk's.
     */
    static void jsdTowards(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float negHalfMt,
                           float negHalfMs, float twoInvT, float logDt, float logDs, float beta, Workspace ws) {
        int chunk = Math.min(n, PROB_CHUNK);
        MemorySegment pRow = ws.probRow(0, chunk);
        MemorySegment qRow = ws.probRow(1, chunk);
        double towardP = 0;
        double towardQ = 0;
        for (int c = 0, len; c < n; c += len) {
            len = Math.min(chunk, n - c);
            probabilities(t, tOff + c, s, sOff + c, pRow, qRow, len, negHalfMt, negHalfMs, twoInvT, logDt, logDs);
            jsdSums(t, tOff + c, s, sOff + c, pRow, qRow, len, negHalfMt, negHalfMs, twoInvT, logDt, logDs, beta, ws.acc,
                    ws.lanes);
            towardP += ws.acc[0];
            towardQ += ws.acc[1];
        }
        ws.acc[0] = towardP;
        ws.acc[1] = towardQ;
    }

    /** {@code grad_i = q_i (log q_i − log M_i − towardQ) · scale} (scale includes 1 − β), from the stored probabilities. */
    static void jsdGrad(MemorySegment s, long sOff, MemorySegment pRow, MemorySegment qRow, MemorySegment grad,
                        long gOff, int n, float negHalfMs, float twoInvT, float logDs, float beta, float towardQ,
                        float scale) {
        float alpha = 1f - beta;
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector p = load(pRow, i);
            FloatVector q = load(qRow, i);
            FloatVector logQ = shift(load(s, sOff + i), negHalfMs, twoInvT).sub(logDs);
            FloatVector logM = VectorLog.log(p.mul(beta).add(q.mul(alpha)));
            FloatVector g = q.mul(logQ.sub(logM).sub(towardQ)).mul(scale);
            store(g.blend(0f, q.compare(EQ, 0f)), grad, gOff + i);
        }
        for (; i < n; i++) {
            float p = get(pRow, i);
            float q = get(qRow, i);
            float logQ = shift(get(s, sOff + i), negHalfMs, twoInvT) - logDs;
            float logM = (float) Math.log(beta * p + alpha * q);
            put(grad, gOff + i, q == 0 ? 0 : q * (logQ - logM - towardQ) * scale);
        }
    }

    /** {@code Σ |p_i − q_i|}. */
    static double sumAbsDiff(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float negHalfMt,
                             float negHalfMs, float twoInvT, float invDt, float invDs, float[] lanes) {
        int upper = F.loopBound(n);
        float log2Scale = log2ScaleOfTwoInvT(twoInvT); // the exps in log2 units, as sumExp
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector p = exp2OrZero(shift(load(t, tOff + i), negHalfMt, log2Scale)).mul(invDt);
                FloatVector q = exp2OrZero(shift(load(s, sOff + i), negHalfMs, log2Scale)).mul(invDs);
                acc = acc.add(p.sub(q).abs());
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float p = exp(shift(get(t, tOff + i), negHalfMt, twoInvT)) * invDt;
            float q = exp(shift(get(s, sOff + i), negHalfMs, twoInvT)) * invDs;
            total += Math.abs(p - q);
        }
        return total;
    }

    /** {@code Σ (√p_i − √q_i)²} with {@code √p = e^{a/2}·√(1/d_t)}: passing {@code 1/T} for {@code 2/T} halves the shift. */
    static double sumSqrtDiffSquared(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float negHalfMt,
                                     float negHalfMs, float invT, float rootInvDt, float rootInvDs, float[] lanes) {
        int upper = F.loopBound(n);
        float log2Scale = log2ScaleOfTwoInvT(invT); // the exps in log2 units, as sumExp // half the shift: log2 e/T
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector sp = exp2OrZero(shift(load(t, tOff + i), negHalfMt, log2Scale)).mul(rootInvDt);
                FloatVector sq = exp2OrZero(shift(load(s, sOff + i), negHalfMs, log2Scale)).mul(rootInvDs);
                FloatVector diff = sp.sub(sq);
                acc = diff.fma(diff, acc);
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float sp = exp(shift(get(t, tOff + i), negHalfMt, invT)) * rootInvDt;
            float sq = exp(shift(get(s, sOff + i), negHalfMs, invT)) * rootInvDs;
            total += (sp - sq) * (sp - sq);
        }
        return total;
    }


    /** Max passes over a teacher/student pair into {@code ws.pairMax}; true when either row is {@link RowPasses#extreme}. */
    static boolean extremePair(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                                       Workspace ws) {
        maxAndMin(t, tOff, n, ws.acc);
        ws.pairMax[0] = (float) ws.acc[0];
        ws.pairSpread[0] = ws.acc[0] - ws.acc[1];
        boolean teacherExtreme = extreme(ws.acc, invT);
        maxAndMin(s, sOff, n, ws.acc);
        ws.pairMax[1] = (float) ws.acc[0];
        ws.pairSpread[1] = ws.acc[0] - ws.acc[1];
        return teacherExtreme || extreme(ws.acc, invT);
    }
}
