package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.BLOCK;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdConstants.ORDER;
import static dev.entrokit.internal.simd.VectorExp.expNonPositive;
import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.GT;

import dev.entrokit.internal.DistributionKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * SPEC §1 with the Vector API; same method names and pass structure as
 * {@code ScalarDistributionKernels}, so the two read side by side.
 *
 * <p>Shape of every kernel: a max pass (compare + blend: NaN is caught later, so the slower
 * NaN-aware {@code FloatVector.max} is not needed), then one pass that accumulates the sums the op
 * needs, then, when an output or a gradient is asked for, one pass that writes it. A row is
 * cache-resident after the first pass, and re-reading it was measured faster than online max
 * rescaling. Each method holds one hot loop, so that the inlined exp stays within C2's budget;
 * multi-value results come back through a per-thread {@code double[]}.
 *
 * <p>Sums run in float lanes over blocks of {@link SimdConstants#BLOCK} elements, each block's
 * total then joins a double: per-lane float sums over a 128k-row drift to a few 1e-6, too close
 * to SPEC §5's 1e-5. A NaN or {@code +inf} logit, or an all {@code -inf} row, makes {@code d = Σ e}
 * NaN, which is how special rows are detected. Tails run in scalar code.
 */
public final class SimdDistributionKernels implements DistributionKernels {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ThreadLocal<double[]> SCRATCH = ThreadLocal.withInitial(() -> new double[4]);
    private static final ThreadLocal<MemorySegment[]> STAGING = ThreadLocal.withInitial(() -> new MemorySegment[1]);

    /**
     * Where a kernel writes a row meant for {@code out}: {@code out} itself when it is off-heap, else a
     * per-thread off-heap staging row that {@link #publish} copies over. C2 does not intrinsify vector
     * stores into heap segments (measured: 70 ns/element, lane by lane), while a bulk copy costs
     * about as much as one more pass over a cache-resident row. Loads from heap segments are fine.
     */
    private static MemorySegment staging(MemorySegment out, int n) {
        if (out.isNative()) {
            return out;
        }
        MemorySegment[] holder = STAGING.get();
        MemorySegment row = holder[0];
        if (row == null || row.byteSize() < (long) n * Float.BYTES) {
            row = Arena.ofAuto().allocate(Math.max(1024L, Long.highestOneBit((long) n * Float.BYTES) << 1), 64);
            holder[0] = row;
        }
        return row;
    }

    /** Element offset to use in {@code dst}: the caller's when writing in place, 0 in the staging row. */
    private static long offsetIn(MemorySegment dst, MemorySegment out, long outOff) {
        return dst == out ? outOff : 0;
    }

    /** Copies a staged row to its destination (nothing to do when the kernel wrote {@code out} directly). */
    private static void publish(MemorySegment dst, MemorySegment out, long outOff, int n) {
        if (dst != out) {
            MemorySegment.copy(dst, 0, out, outOff * Float.BYTES, (long) n * Float.BYTES);
        }
    }

    private static FloatVector load(MemorySegment seg, long index) {
        return FloatVector.fromMemorySegment(F, seg, index * Float.BYTES, ORDER);
    }

    private static void store(FloatVector v, MemorySegment seg, long index) {
        v.intoMemorySegment(seg, index * Float.BYTES, ORDER);
    }

    private static float get(MemorySegment seg, long index) {
        return seg.getAtIndex(F32, index);
    }

    private static void put(MemorySegment seg, long index, float v) {
        seg.setAtIndex(F32, index, v);
    }

    private static float exp(float x) {
        return (float) Math.exp(x);
    }

    // ---------------------------------------------------------------- building blocks, one loop each

    /** Row maximum, ignoring NaN (a NaN row is caught by its NaN sum). */
    static float max(MemorySegment x, long off, int n) {
        FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector m1 = m0;
        int upper2 = n - n % (2 * L);
        int i = 0;
        // Two chains, so compare+blend latency does not bound the loop.
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

    /** {@code d = Σ exp((x − m)/T)}. */
    static double sumExp(MemorySegment x, long off, int n, float m, float invT) {
        FloatVector vm = FloatVector.broadcast(F, m);
        int upper = F.loopBound(n);
        double total = 0;
        int i = 0;
        while (i < upper) {
            int end = Math.min(upper, i + BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (; i < end; i += L) {
                acc = acc.add(expNonPositive(load(x, off + i).sub(vm).mul(invT)));
            }
            total += acc.reduceLanes(ADD);
        }
        for (; i < n; i++) {
            total += exp((get(x, off + i) - m) * invT);
        }
        return total;
    }

    /** Writes {@code e_i = exp((x_i − m)/T)} to {@code out} and returns {@code d = Σ e_i}. */
    static double expStore(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float m, float invT) {
        FloatVector vm = FloatVector.broadcast(F, m);
        int upper = F.loopBound(n);
        double total = 0;
        int i = 0;
        while (i < upper) {
            int end = Math.min(upper, i + BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (; i < end; i += L) {
                FloatVector e = expNonPositive(load(x, xOff + i).sub(vm).mul(invT));
                store(e, out, outOff + i);
                acc = acc.add(e);
            }
            total += acc.reduceLanes(ADD);
        }
        for (; i < n; i++) {
            float e = exp((get(x, xOff + i) - m) * invT);
            put(out, outOff + i, e);
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
        if (out == null) {
            return;
        }
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
    static void shiftStore(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float m, float invT,
                           float logD) {
        FloatVector vm = FloatVector.broadcast(F, m);
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            store(load(x, xOff + i).sub(vm).mul(invT).sub(logD), out, outOff + i);
        }
        for (; i < n; i++) {
            put(out, outOff + i, (get(x, xOff + i) - m) * invT - logD);
        }
    }

    /** {@code Σ (x_i − m)/T} (−inf when a logit is masked). */
    static double sumShifted(MemorySegment x, long off, int n, float m, float invT) {
        FloatVector vm = FloatVector.broadcast(F, m);
        int upper = F.loopBound(n);
        double total = 0;
        int i = 0;
        while (i < upper) {
            int end = Math.min(upper, i + BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (; i < end; i += L) {
                acc = acc.add(load(x, off + i).sub(vm).mul(invT));
            }
            total += acc.reduceLanes(ADD);
        }
        for (; i < n; i++) {
            total += (get(x, off + i) - m) * invT;
        }
        return total;
    }

    /** Fills {@code acc[0] = d = Σ e_i} and {@code acc[1] = Σ e_i a_i} with {@code a_i = (x_i − m)/T}, 0·(−inf) taken as 0. */
    static void entropySums(MemorySegment x, long off, int n, float m, float invT, double[] acc) {
        FloatVector vm = FloatVector.broadcast(F, m);
        int upper = F.loopBound(n);
        double d = 0;
        double t = 0;
        int i = 0;
        while (i < upper) {
            int end = Math.min(upper, i + BLOCK);
            FloatVector dAcc = FloatVector.zero(F);
            FloatVector tAcc = FloatVector.zero(F);
            for (; i < end; i += L) {
                FloatVector a = load(x, off + i).sub(vm).mul(invT);
                FloatVector e = expNonPositive(a);
                dAcc = dAcc.add(e);
                tAcc = e.fma(a.blend(0f, a.compare(EQ, Float.NEGATIVE_INFINITY)), tAcc);
            }
            d += dAcc.reduceLanes(ADD);
            t += tAcc.reduceLanes(ADD);
        }
        for (; i < n; i++) {
            float a = (get(x, off + i) - m) * invT;
            float e = exp(a);
            d += e;
            t += a == Float.NEGATIVE_INFINITY ? 0 : e * a;
        }
        acc[0] = d;
        acc[1] = t;
    }

    /** {@code grad_i = −p_i (log p_i + h) · scale}, {@code log p_i = a_i − logD}. */
    static void entropyGrad(MemorySegment x, long xOff, MemorySegment grad, long gOff, int n, float m, float invT,
                            float logD, float h, float scale) {
        FloatVector vm = FloatVector.broadcast(F, m);
        float negScale = -scale;
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector logP = load(x, xOff + i).sub(vm).mul(invT).sub(logD);
            FloatVector p = expNonPositive(logP);
            FloatVector g = p.mul(logP.add(h)).mul(negScale);
            store(g.blend(0f, p.compare(EQ, 0f)), grad, gOff + i);
        }
        for (; i < n; i++) {
            float logP = (get(x, xOff + i) - m) * invT - logD;
            float p = exp(logP);
            put(grad, gOff + i, p == 0 ? 0 : -p * (logP + h) * scale);
        }
    }

    /**
     * For a pair of rows: {@code acc[0] = d_t}, {@code acc[1] = d_s}, {@code acc[2] = Σ e^{a_i}·(a_i − b_i)}
     * where {@code a}, {@code b} are the shifted teacher and student logits; masked teacher entries
     * add 0. A student {@code −inf} under a live teacher entry makes the last sum {@code +inf}, or
     * NaN when that teacher entry underflowed; both mean KL = +inf.
     */
    static void klSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float mt, float ms, float invT,
                       double[] acc) {
        FloatVector vmt = FloatVector.broadcast(F, mt);
        FloatVector vms = FloatVector.broadcast(F, ms);
        int upper = F.loopBound(n);
        double dt = 0;
        double ds = 0;
        double w = 0;
        int i = 0;
        while (i < upper) {
            int end = Math.min(upper, i + BLOCK);
            FloatVector dtAcc = FloatVector.zero(F);
            FloatVector dsAcc = FloatVector.zero(F);
            FloatVector wAcc = FloatVector.zero(F);
            for (; i < end; i += L) {
                FloatVector a = load(t, tOff + i).sub(vmt).mul(invT);
                FloatVector b = load(s, sOff + i).sub(vms).mul(invT);
                FloatVector et = expNonPositive(a);
                dtAcc = dtAcc.add(et);
                dsAcc = dsAcc.add(expNonPositive(b));
                VectorMask<Float> masked = a.compare(EQ, Float.NEGATIVE_INFINITY);
                wAcc = wAcc.add(et.mul(a.sub(b)).blend(0f, masked));
            }
            dt += dtAcc.reduceLanes(ADD);
            ds += dsAcc.reduceLanes(ADD);
            w += wAcc.reduceLanes(ADD);
        }
        for (; i < n; i++) {
            float a = (get(t, tOff + i) - mt) * invT;
            float b = (get(s, sOff + i) - ms) * invT;
            float et = exp(a);
            dt += et;
            ds += exp(b);
            w += a == Float.NEGATIVE_INFINITY ? 0 : et * (a - b);
        }
        acc[0] = dt;
        acc[1] = ds;
        acc[2] = w;
    }

    /** {@code grad_i = (q_i − p_i) · scale}. */
    static void gradQMinusP(MemorySegment t, long tOff, MemorySegment s, long sOff, MemorySegment grad, long gOff,
                            int n, float mt, float ms, float invT, float logDt, float logDs, float scale) {
        FloatVector vmt = FloatVector.broadcast(F, mt);
        FloatVector vms = FloatVector.broadcast(F, ms);
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector p = expNonPositive(load(t, tOff + i).sub(vmt).mul(invT).sub(logDt));
            FloatVector q = expNonPositive(load(s, sOff + i).sub(vms).mul(invT).sub(logDs));
            store(q.sub(p).mul(scale), grad, gOff + i);
        }
        for (; i < n; i++) {
            float p = exp((get(t, tOff + i) - mt) * invT - logDt);
            float q = exp((get(s, sOff + i) - ms) * invT - logDs);
            put(grad, gOff + i, (q - p) * scale);
        }
    }

    /**
     * {@code grad_i += q_i (log q_i − log p_i − rkl) · scale}: adds to what {@code grad} holds, so that
     * Jeffreys can put the KL gradient there first.
     */
    static void gradRkl(MemorySegment t, long tOff, MemorySegment s, long sOff, MemorySegment grad, long gOff, int n,
                        float mt, float ms, float invT, float logDt, float logDs, float rkl, float scale) {
        FloatVector vmt = FloatVector.broadcast(F, mt);
        FloatVector vms = FloatVector.broadcast(F, ms);
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector logP = load(t, tOff + i).sub(vmt).mul(invT).sub(logDt);
            FloatVector logQ = load(s, sOff + i).sub(vms).mul(invT).sub(logDs);
            FloatVector q = expNonPositive(logQ);
            FloatVector g = q.mul(logQ.sub(logP).sub(rkl)).blend(0f, q.compare(EQ, 0f));
            store(g.fma(FloatVector.broadcast(F, scale), load(grad, gOff + i)), grad, gOff + i);
        }
        for (; i < n; i++) {
            float logP = (get(t, tOff + i) - mt) * invT - logDt;
            float logQ = (get(s, sOff + i) - ms) * invT - logDs;
            float q = exp(logQ);
            float g = q == 0 ? 0 : q * (logQ - logP - rkl);
            put(grad, gOff + i, g * scale + get(grad, gOff + i));
        }
    }

    /** {@code acc[0] = d_t}, {@code acc[1] = d_s}, {@code acc[2] = Σ e^{a_i}·b_i} (masked teacher entries add 0). */
    static void crossEntropySums(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float mt, float ms,
                                 float invT, double[] acc) {
        FloatVector vmt = FloatVector.broadcast(F, mt);
        FloatVector vms = FloatVector.broadcast(F, ms);
        int upper = F.loopBound(n);
        double dt = 0;
        double ds = 0;
        double v = 0;
        int i = 0;
        while (i < upper) {
            int end = Math.min(upper, i + BLOCK);
            FloatVector dtAcc = FloatVector.zero(F);
            FloatVector dsAcc = FloatVector.zero(F);
            FloatVector vAcc = FloatVector.zero(F);
            for (; i < end; i += L) {
                FloatVector a = load(t, tOff + i).sub(vmt).mul(invT);
                FloatVector b = load(s, sOff + i).sub(vms).mul(invT);
                FloatVector et = expNonPositive(a);
                dtAcc = dtAcc.add(et);
                dsAcc = dsAcc.add(expNonPositive(b));
                vAcc = vAcc.add(et.mul(b).blend(0f, a.compare(EQ, Float.NEGATIVE_INFINITY)));
            }
            dt += dtAcc.reduceLanes(ADD);
            ds += dsAcc.reduceLanes(ADD);
            v += vAcc.reduceLanes(ADD);
        }
        for (; i < n; i++) {
            float a = (get(t, tOff + i) - mt) * invT;
            float b = (get(s, sOff + i) - ms) * invT;
            float et = exp(a);
            dt += et;
            ds += exp(b);
            v += a == Float.NEGATIVE_INFINITY ? 0 : et * b;
        }
        acc[0] = dt;
        acc[1] = ds;
        acc[2] = v;
    }

    /**
     * Generalized JSD sums once {@code log d_t} and {@code log d_s} are known: {@code acc[0] = Σ p log(p/M)},
     * {@code acc[1] = Σ q log(q/M)}, {@code M = βp + (1−β)q}; zero probabilities add 0.
     */
    static void jsdSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float mt, float ms, float invT,
                        float logDt, float logDs, float beta, double[] acc) {
        FloatVector vmt = FloatVector.broadcast(F, mt);
        FloatVector vms = FloatVector.broadcast(F, ms);
        float alpha = 1f - beta;
        int upper = F.loopBound(n);
        double towardP = 0;
        double towardQ = 0;
        int i = 0;
        while (i < upper) {
            int end = Math.min(upper, i + BLOCK);
            FloatVector pAcc = FloatVector.zero(F);
            FloatVector qAcc = FloatVector.zero(F);
            for (; i < end; i += L) {
                FloatVector logP = load(t, tOff + i).sub(vmt).mul(invT).sub(logDt);
                FloatVector logQ = load(s, sOff + i).sub(vms).mul(invT).sub(logDs);
                FloatVector p = expNonPositive(logP);
                FloatVector q = expNonPositive(logQ);
                FloatVector logM = p.mul(beta).add(q.mul(alpha)).lanewise(VectorOperators.LOG);
                pAcc = pAcc.add(p.mul(logP.sub(logM)).blend(0f, p.compare(EQ, 0f)));
                qAcc = qAcc.add(q.mul(logQ.sub(logM)).blend(0f, q.compare(EQ, 0f)));
            }
            towardP += pAcc.reduceLanes(ADD);
            towardQ += qAcc.reduceLanes(ADD);
        }
        for (; i < n; i++) {
            float logP = (get(t, tOff + i) - mt) * invT - logDt;
            float logQ = (get(s, sOff + i) - ms) * invT - logDs;
            float p = exp(logP);
            float q = exp(logQ);
            float logM = (float) Math.log(beta * p + alpha * q);
            towardP += p == 0 ? 0 : p * (logP - logM);
            towardQ += q == 0 ? 0 : q * (logQ - logM);
        }
        acc[0] = towardP;
        acc[1] = towardQ;
    }

    /** {@code grad_i = q_i (log q_i − log M_i − towardQ) · scale} (scale includes 1 − β). */
    static void jsdGrad(MemorySegment t, long tOff, MemorySegment s, long sOff, MemorySegment grad, long gOff, int n,
                        float mt, float ms, float invT, float logDt, float logDs, float beta, float towardQ,
                        float scale) {
        FloatVector vmt = FloatVector.broadcast(F, mt);
        FloatVector vms = FloatVector.broadcast(F, ms);
        float alpha = 1f - beta;
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector p = expNonPositive(load(t, tOff + i).sub(vmt).mul(invT).sub(logDt));
            FloatVector logQ = load(s, sOff + i).sub(vms).mul(invT).sub(logDs);
            FloatVector q = expNonPositive(logQ);
            FloatVector logM = p.mul(beta).add(q.mul(alpha)).lanewise(VectorOperators.LOG);
            FloatVector g = q.mul(logQ.sub(logM).sub(towardQ)).mul(scale);
            store(g.blend(0f, q.compare(EQ, 0f)), grad, gOff + i);
        }
        for (; i < n; i++) {
            float p = exp((get(t, tOff + i) - mt) * invT - logDt);
            float logQ = (get(s, sOff + i) - ms) * invT - logDs;
            float q = exp(logQ);
            float logM = (float) Math.log(beta * p + alpha * q);
            put(grad, gOff + i, q == 0 ? 0 : q * (logQ - logM - towardQ) * scale);
        }
    }

    /** {@code Σ |p_i − q_i|}. */
    static double sumAbsDiff(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float mt, float ms,
                             float invT, float logDt, float logDs) {
        FloatVector vmt = FloatVector.broadcast(F, mt);
        FloatVector vms = FloatVector.broadcast(F, ms);
        int upper = F.loopBound(n);
        double total = 0;
        int i = 0;
        while (i < upper) {
            int end = Math.min(upper, i + BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (; i < end; i += L) {
                FloatVector p = expNonPositive(load(t, tOff + i).sub(vmt).mul(invT).sub(logDt));
                FloatVector q = expNonPositive(load(s, sOff + i).sub(vms).mul(invT).sub(logDs));
                acc = acc.add(p.sub(q).abs());
            }
            total += acc.reduceLanes(ADD);
        }
        for (; i < n; i++) {
            float p = exp((get(t, tOff + i) - mt) * invT - logDt);
            float q = exp((get(s, sOff + i) - ms) * invT - logDs);
            total += Math.abs(p - q);
        }
        return total;
    }

    /** {@code Σ (√p_i − √q_i)²}, with {@code √p = exp(½ log p)}. */
    static double sumSqrtDiffSquared(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float mt, float ms,
                                     float invT, float logDt, float logDs) {
        FloatVector vmt = FloatVector.broadcast(F, mt);
        FloatVector vms = FloatVector.broadcast(F, ms);
        float halfInvT = 0.5f * invT;
        float halfLogDt = 0.5f * logDt;
        float halfLogDs = 0.5f * logDs;
        int upper = F.loopBound(n);
        double total = 0;
        int i = 0;
        while (i < upper) {
            int end = Math.min(upper, i + BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (; i < end; i += L) {
                FloatVector sp = expNonPositive(load(t, tOff + i).sub(vmt).mul(halfInvT).sub(halfLogDt));
                FloatVector sq = expNonPositive(load(s, sOff + i).sub(vms).mul(halfInvT).sub(halfLogDs));
                FloatVector diff = sp.sub(sq);
                acc = diff.fma(diff, acc);
            }
            total += acc.reduceLanes(ADD);
        }
        for (; i < n; i++) {
            float sp = exp((get(t, tOff + i) - mt) * halfInvT - halfLogDt);
            float sq = exp((get(s, sOff + i) - ms) * halfInvT - halfLogDs);
            total += (sp - sq) * (sp - sq);
        }
        return total;
    }

    /** {@code Σ a_i b_i} over two plain rows. */
    static double dot(MemorySegment a, long aOff, MemorySegment b, long bOff, int n) {
        int upper = F.loopBound(n);
        double total = 0;
        int i = 0;
        while (i < upper) {
            int end = Math.min(upper, i + BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (; i < end; i += L) {
                acc = load(a, aOff + i).fma(load(b, bOff + i), acc);
            }
            total += acc.reduceLanes(ADD);
        }
        for (; i < n; i++) {
            total += get(a, aOff + i) * get(b, bOff + i);
        }
        return total;
    }

    /** {@code Σ a_i}. */
    static double sum(MemorySegment a, long off, int n) {
        int upper = F.loopBound(n);
        double total = 0;
        int i = 0;
        while (i < upper) {
            int end = Math.min(upper, i + BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (; i < end; i += L) {
                acc = acc.add(load(a, off + i));
            }
            total += acc.reduceLanes(ADD);
        }
        for (; i < n; i++) {
            total += get(a, off + i);
        }
        return total;
    }

    // ---------------------------------------------------------------- the ops

    @Override
    public double entropy(MemorySegment x, long xOff, int n, float invT,
            MemorySegment grad, long gradOff, float gradScale) {
        MemorySegment g = grad == null ? null : staging(grad, n);
        double value = entropyInto(x, xOff, n, invT, g, g == null ? 0 : offsetIn(g, grad, gradOff), gradScale);
        if (grad != null) {
            publish(g, grad, gradOff, n);
        }
        return value;
    }

    @Override
    public double crossEntropy(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
            MemorySegment grad, long gradOff, float gradScale) {
        MemorySegment g = grad == null ? null : staging(grad, n);
        double value = crossEntropyInto(t, tOff, s, sOff, n, invT, g, g == null ? 0 : offsetIn(g, grad, gradOff), gradScale);
        if (grad != null) {
            publish(g, grad, gradOff, n);
        }
        return value;
    }

    @Override
    public double crossEntropyLabel(MemorySegment s, long sOff, int n, int label, float smoothing, float invT,
            MemorySegment grad, long gradOff, float gradScale) {
        MemorySegment g = grad == null ? null : staging(grad, n);
        double value = crossEntropyLabelInto(s, sOff, n, label, smoothing, invT, g, g == null ? 0 : offsetIn(g, grad, gradOff), gradScale);
        if (grad != null) {
            publish(g, grad, gradOff, n);
        }
        return value;
    }

    @Override
    public double kl(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
            MemorySegment grad, long gradOff, float gradScale) {
        MemorySegment g = grad == null ? null : staging(grad, n);
        double value = klInto(t, tOff, s, sOff, n, invT, g, g == null ? 0 : offsetIn(g, grad, gradOff), gradScale);
        if (grad != null) {
            publish(g, grad, gradOff, n);
        }
        return value;
    }

    @Override
    public double rkl(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
            MemorySegment grad, long gradOff, float gradScale) {
        MemorySegment g = grad == null ? null : staging(grad, n);
        double value = rklInto(t, tOff, s, sOff, n, invT, g, g == null ? 0 : offsetIn(g, grad, gradOff), gradScale);
        if (grad != null) {
            publish(g, grad, gradOff, n);
        }
        return value;
    }

    @Override
    public double jeffreys(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
            MemorySegment grad, long gradOff, float gradScale) {
        MemorySegment g = grad == null ? null : staging(grad, n);
        double value = jeffreysInto(t, tOff, s, sOff, n, invT, g, g == null ? 0 : offsetIn(g, grad, gradOff), gradScale);
        if (grad != null) {
            publish(g, grad, gradOff, n);
        }
        return value;
    }

    @Override
    public double jsd(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta,
            MemorySegment grad, long gradOff, float gradScale) {
        MemorySegment g = grad == null ? null : staging(grad, n);
        double value = jsdInto(t, tOff, s, sOff, n, invT, beta, g, g == null ? 0 : offsetIn(g, grad, gradOff), gradScale);
        if (grad != null) {
            publish(g, grad, gradOff, n);
        }
        return value;
    }

    // The bodies below write gradients into an off-heap row (see staging).


    @Override
    public double logSumExp(MemorySegment x, long xOff, int n, float invT) {
        float m = max(x, xOff, n);
        double d = sumExp(x, xOff, n, m, invT);
        return Double.isNaN(d) ? Double.NaN : (double) m * invT + Math.log(d);
    }

    @Override
    public void softmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
        float m = max(x, xOff, n);
        MemorySegment dst = staging(out, n);
        long dstOff = offsetIn(dst, out, outOff);
        double d = expStore(x, xOff, dst, dstOff, n, m, invT);
        if (Double.isNaN(d)) {
            fill(dst, dstOff, n, Float.NaN);
        } else {
            scale(dst, dstOff, n, (float) (1.0 / d));
        }
        publish(dst, out, outOff, n);
    }

    @Override
    public void logSoftmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
        float m = max(x, xOff, n);
        double d = sumExp(x, xOff, n, m, invT);
        MemorySegment dst = staging(out, n);
        long dstOff = offsetIn(dst, out, outOff);
        if (Double.isNaN(d)) {
            fill(dst, dstOff, n, Float.NaN);
        } else {
            shiftStore(x, xOff, dst, dstOff, n, m, invT, (float) Math.log(d));
        }
        publish(dst, out, outOff, n);
    }

    @Override
    public void softmaxBackward(MemorySegment p, long pOff, MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                                int n, float invT) {
        float dotted = (float) dot(dy, dyOff, p, pOff, n);
        MemorySegment dst = staging(dx, n);
        softmaxBackwardStore(p, pOff, dy, dyOff, dst, offsetIn(dst, dx, dxOff), n, dotted, invT);
        publish(dst, dx, dxOff, n);
    }

    /** {@code dx_i = p_i (dy_i − dot) / T}. */
    static void softmaxBackwardStore(MemorySegment p, long pOff, MemorySegment dy, long dyOff, MemorySegment dx,
                                     long dxOff, int n, float dotted, float invT) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            store(load(p, pOff + i).mul(load(dy, dyOff + i).sub(dotted)).mul(invT), dx, dxOff + i);
        }
        for (; i < n; i++) {
            put(dx, dxOff + i, get(p, pOff + i) * (get(dy, dyOff + i) - dotted) * invT);
        }
    }

    @Override
    public void logSoftmaxBackward(MemorySegment y, long yOff, MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                                   int n, float invT) {
        float total = (float) sum(dy, dyOff, n);
        MemorySegment dst = staging(dx, n);
        logSoftmaxBackwardStore(y, yOff, dy, dyOff, dst, offsetIn(dst, dx, dxOff), n, total, invT);
        publish(dst, dx, dxOff, n);
    }

    /** {@code dx_i = (dy_i − exp(y_i) · total) / T}. */
    static void logSoftmaxBackwardStore(MemorySegment y, long yOff, MemorySegment dy, long dyOff, MemorySegment dx,
                                        long dxOff, int n, float total, float invT) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            // The caller's y need not be ≤ 0, so the general exp, not the hand one.
            FloatVector p = load(y, yOff + i).lanewise(VectorOperators.EXP);
            store(load(dy, dyOff + i).sub(p.mul(total)).mul(invT), dx, dxOff + i);
        }
        for (; i < n; i++) {
            put(dx, dxOff + i, (get(dy, dyOff + i) - exp(get(y, yOff + i)) * total) * invT);
        }
    }

    private double entropyInto(MemorySegment x, long xOff, int n, float invT, MemorySegment grad, long gradOff, float gradScale) {
        float m = max(x, xOff, n);
        double[] acc = SCRATCH.get();
        entropySums(x, xOff, n, m, invT, acc);
        double d = acc[0];
        if (Double.isNaN(d)) {
            fill(grad, gradOff, n, Float.NaN);
            return Double.NaN;
        }
        double logD = Math.log(d);
        double h = logD - acc[1] / d;
        if (grad != null) {
            entropyGrad(x, xOff, grad, gradOff, n, m, invT, (float) logD, (float) h, gradScale * invT);
        }
        return h;
    }

    private double crossEntropyInto(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                               MemorySegment grad, long gradOff, float gradScale) {
        float mt = max(t, tOff, n);
        float ms = max(s, sOff, n);
        double[] acc = SCRATCH.get();
        crossEntropySums(t, tOff, s, sOff, n, mt, ms, invT, acc);
        double dt = acc[0];
        double ds = acc[1];
        if (Double.isNaN(dt) || Double.isNaN(ds)) {
            fill(grad, gradOff, n, Float.NaN);
            return Double.NaN;
        }
        double logDs = Math.log(ds);
        // NaN here can only be 0·(−inf): a live teacher entry whose student entry is masked.
        double ce = Double.isNaN(acc[2]) ? Double.POSITIVE_INFINITY : logDs - acc[2] / dt;
        if (grad != null) {
            gradQMinusP(t, tOff, s, sOff, grad, gradOff, n, mt, ms, invT, (float) Math.log(dt), (float) logDs,
                    gradScale * invT);
        }
        return ce;
    }

    private double crossEntropyLabelInto(MemorySegment s, long sOff, int n, int label, float smoothing, float invT,
                                    MemorySegment grad, long gradOff, float gradScale) {
        float ms = max(s, sOff, n);
        double ds = sumExp(s, sOff, n, ms, invT);
        if (Double.isNaN(ds)) {
            fill(grad, gradOff, n, Float.NaN);
            return Double.NaN;
        }
        double logDs = Math.log(ds);
        double loss = (1.0 - smoothing) * (logDs - (get(s, sOff + label) - ms) * invT);
        if (smoothing > 0) {
            loss += smoothing * (logDs - sumShifted(s, sOff, n, ms, invT) / n);
        }
        if (grad != null) {
            float scale = gradScale * invT;
            shiftStore(s, sOff, grad, gradOff, n, ms, invT, (float) logDs);
            softmaxMinusUniform(grad, gradOff, n, smoothing / n, scale);
            put(grad, gradOff + label, get(grad, gradOff + label) - (1f - smoothing) * scale);
        }
        return loss;
    }

    /** Turns log q held in {@code g} into {@code (q − u) · scale}. */
    static void softmaxMinusUniform(MemorySegment g, long off, int n, float u, float scale) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            store(expNonPositive(load(g, off + i)).sub(u).mul(scale), g, off + i);
        }
        for (; i < n; i++) {
            put(g, off + i, (exp(get(g, off + i)) - u) * scale);
        }
    }

    private double klInto(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                     MemorySegment grad, long gradOff, float gradScale) {
        float mt = max(t, tOff, n);
        float ms = max(s, sOff, n);
        double[] acc = SCRATCH.get();
        klSums(t, tOff, s, sOff, n, mt, ms, invT, acc);
        double dt = acc[0];
        double ds = acc[1];
        if (Double.isNaN(dt) || Double.isNaN(ds)) {
            fill(grad, gradOff, n, Float.NaN);
            return Double.NaN;
        }
        double logDt = Math.log(dt);
        double logDs = Math.log(ds);
        double kl = Double.isNaN(acc[2]) ? Double.POSITIVE_INFINITY : acc[2] / dt - logDt + logDs;
        if (grad != null) {
            gradQMinusP(t, tOff, s, sOff, grad, gradOff, n, mt, ms, invT, (float) logDt, (float) logDs, gradScale * invT);
        }
        return kl;
    }

    private double rklInto(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                      MemorySegment grad, long gradOff, float gradScale) {
        float mt = max(t, tOff, n);
        float ms = max(s, sOff, n);
        double[] acc = SCRATCH.get();
        klSums(s, sOff, t, tOff, n, ms, mt, invT, acc); // roles swapped: KL(q‖p)
        double ds = acc[0];
        double dt = acc[1];
        if (Double.isNaN(dt) || Double.isNaN(ds)) {
            fill(grad, gradOff, n, Float.NaN);
            return Double.NaN;
        }
        double logDt = Math.log(dt);
        double logDs = Math.log(ds);
        double rkl = Double.isNaN(acc[2]) ? Double.POSITIVE_INFINITY : acc[2] / ds - logDs + logDt;
        if (grad != null) {
            fill(grad, gradOff, n, 0f);
            gradRkl(t, tOff, s, sOff, grad, gradOff, n, mt, ms, invT, (float) logDt, (float) logDs, (float) rkl,
                    gradScale * invT);
        }
        return rkl;
    }

    private double jeffreysInto(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                           MemorySegment grad, long gradOff, float gradScale) {
        float mt = max(t, tOff, n);
        float ms = max(s, sOff, n);
        double[] acc = SCRATCH.get();
        klSums(t, tOff, s, sOff, n, mt, ms, invT, acc);
        double dt = acc[0];
        double ds = acc[1];
        if (Double.isNaN(dt) || Double.isNaN(ds)) {
            fill(grad, gradOff, n, Float.NaN);
            return Double.NaN;
        }
        double logDt = Math.log(dt);
        double logDs = Math.log(ds);
        double kl = Double.isNaN(acc[2]) ? Double.POSITIVE_INFINITY : acc[2] / dt - logDt + logDs;
        klSums(s, sOff, t, tOff, n, ms, mt, invT, acc);
        double rkl = Double.isNaN(acc[2]) ? Double.POSITIVE_INFINITY : acc[2] / ds - logDs + logDt;
        if (grad != null) {
            float scale = gradScale * invT;
            gradQMinusP(t, tOff, s, sOff, grad, gradOff, n, mt, ms, invT, (float) logDt, (float) logDs, scale);
            gradRkl(t, tOff, s, sOff, grad, gradOff, n, mt, ms, invT, (float) logDt, (float) logDs, (float) rkl, scale);
        }
        return kl + rkl;
    }

    private double jsdInto(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta,
                      MemorySegment grad, long gradOff, float gradScale) {
        float mt = max(t, tOff, n);
        float ms = max(s, sOff, n);
        double dt = sumExp(t, tOff, n, mt, invT);
        double ds = sumExp(s, sOff, n, ms, invT);
        if (Double.isNaN(dt) || Double.isNaN(ds)) {
            fill(grad, gradOff, n, Float.NaN);
            return Double.NaN;
        }
        float logDt = (float) Math.log(dt);
        float logDs = (float) Math.log(ds);
        double[] acc = SCRATCH.get();
        jsdSums(t, tOff, s, sOff, n, mt, ms, invT, logDt, logDs, beta, acc);
        double towardQ = acc[1];
        double value = beta * acc[0] + (1.0 - beta) * towardQ;
        if (grad != null) {
            jsdGrad(t, tOff, s, sOff, grad, gradOff, n, mt, ms, invT, logDt, logDs, beta, (float) towardQ,
                    gradScale * invT * (1f - beta));
        }
        return value;
    }

    @Override
    public double tv(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT) {
        float mt = max(t, tOff, n);
        float ms = max(s, sOff, n);
        double dt = sumExp(t, tOff, n, mt, invT);
        double ds = sumExp(s, sOff, n, ms, invT);
        if (Double.isNaN(dt) || Double.isNaN(ds)) {
            return Double.NaN;
        }
        return 0.5 * sumAbsDiff(t, tOff, s, sOff, n, mt, ms, invT, (float) Math.log(dt), (float) Math.log(ds));
    }

    @Override
    public double hellinger(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT) {
        float mt = max(t, tOff, n);
        float ms = max(s, sOff, n);
        double dt = sumExp(t, tOff, n, mt, invT);
        double ds = sumExp(s, sOff, n, ms, invT);
        if (Double.isNaN(dt) || Double.isNaN(ds)) {
            return Double.NaN;
        }
        double sum = sumSqrtDiffSquared(t, tOff, s, sOff, n, mt, ms, invT, (float) Math.log(dt), (float) Math.log(ds));
        return Math.sqrt(0.5 * sum);
    }
}
