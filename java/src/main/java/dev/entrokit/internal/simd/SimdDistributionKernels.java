package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.BLOCK;
import static dev.entrokit.internal.simd.SimdConstants.D;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdConstants.ORDER;
import static dev.entrokit.internal.simd.VectorExp.expNonPositive;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.GT;

import dev.entrokit.internal.DistributionKernels;
import dev.entrokit.internal.scalar.ScalarDistributionKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * SPEC §1 with the Vector API; same method names and pass structure as
 * {@code ScalarDistributionKernels}, so the two read side by side.
 *
 * <p>The softmax family: a max pass (compare + blend; NaN is caught later, so the slower NaN-aware
 * {@code FloatVector.max} is not needed), one pass accumulating the sums the op needs, and, when an
 * output is asked for, one pass writing it; so does entropy, which SPEC §1 has equal the fused softmax's
 * bitwise. The losses of two rows (KL, reverse KL, soft cross-entropy, JSD, Jeffreys) and the label
 * cross-entropy read each row once instead ({@link #pairSumsStreaming}, {@link #maxSumExpStreaming}): per
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
public final class SimdDistributionKernels implements DistributionKernels {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final DistributionKernels REFERENCE = new ScalarDistributionKernels();
    private static final double EXTREME_SPREAD = 1e4;
    /**
     * Elements per pass of the JSD's probability rows (a multiple of {@link SimdConstants#BLOCK}): rows up
     * to this length run as one chunk, as before; longer rows recompute {@code p} and {@code q} for the
     * gradient instead of holding two row-sized buffers per thread (16 GiB for a 2^31-float row).
     */
    static final int PROB_CHUNK = 1 << 18;

    // ---------------------------------------------------------------- memory and small helpers

    static FloatVector load(MemorySegment seg, long index) {
        return FloatVector.fromMemorySegment(F, seg, index * Float.BYTES, ORDER);
    }

    static void store(FloatVector v, MemorySegment seg, long index) {
        v.intoMemorySegment(seg, index * Float.BYTES, ORDER);
    }

    static float get(MemorySegment seg, long index) {
        return seg.getAtIndex(F32, index);
    }

    static void put(MemorySegment seg, long index, float v) {
        seg.setAtIndex(F32, index, v);
    }

    static float exp(float x) {
        return (float) Math.exp(x);
    }

    /** {@code (x − m)/T} given {@code −m/2} and {@code 2/T}. */
    static FloatVector shift(FloatVector x, float negHalfM, float twoInvT) {
        return x.fma(0.5f, negHalfM).mul(twoInvT);
    }

    static float shift(float x, float negHalfM, float twoInvT) {
        return Math.fma(x, 0.5f, negHalfM) * twoInvT;
    }

    /**
     * End of the block that starts at {@code start}: at most {@link SimdConstants#BLOCK} elements, never past
     * {@code upper}. Written so that nothing exceeds {@code upper}: {@code start + BLOCK} wraps to a negative
     * index in the last block of a row longer than {@code 2^31 − BLOCK}.
     */
    static int blockEnd(int start, int upper) {
        return start + Math.min(BLOCK, upper - start);
    }

    /**
     * Whether a gradient factor such as {@code gradScale/T} leaves float32 too little headroom. An infinite
     * factor turns zero entries into {@code 0·inf = NaN}; a finite one near {@code Float.MAX_VALUE} overflows
     * the partial terms the kernels scale before adding them (the reverse-KL part {@code q·(log q − log p)}
     * reaches about the row's spread, at most {@link #EXTREME_SPREAD} + log V < 2^15 on rows the float32
     * path keeps), so Jeffreys gave {@code −inf} for an entry of −2.75e38 at a factor of 3e38. The reference
     * scales in double: every factor above {@code Float.MAX_VALUE / 2^16} (≈ 5e33) goes there.
     */
    static boolean scaleOverflows(double factor) {
        return !(Math.abs(factor) <= Float.MAX_VALUE / 65536.0);
    }

    /**
     * The total of lanes a kernel stored with {@code v.intoArray(lanes, 0)}, added in lane order. Kernels store
     * the vector themselves and pass only the array: a vector passed to a method C2 does not inline is boxed,
     * and C2 stopped inlining the vector overloads below at {@code NodeCountInliningCutoff} in the two-exp
     * kernels (klSums: 3.9 MB allocated per 256 × 32000 KL call, one box per block per sum, seen with JMH
     * {@code -prof gc}).
     */
    static double sumLanes(float[] lanes) {
        double s = 0;
        for (float f : lanes) {
            s += f;
        }
        return s;
    }

    /** {@link #sumLanes(float[])} for double lanes stored from a {@link DoubleVector}. */
    static double sumLanes(double[] lanes) {
        double s = 0;
        for (int j = 0; j < D.length(); j++) {
            s += lanes[j];
        }
        return s;
    }

    /** The lanes' total, added in lane order; in hot kernels prefer {@link #sumLanes(float[])} (see there). */
    static double sumLanes(FloatVector v, float[] lanes) {
        v.intoArray(lanes, 0);
        double s = 0;
        for (float f : lanes) {
            s += f;
        }
        return s;
    }

    static double sumLanes(DoubleVector v, double[] lanes) {
        v.intoArray(lanes, 0);
        double s = 0;
        for (int j = 0; j < D.length(); j++) {
            s += lanes[j];
        }
        return s;
    }

    /** Where to write a row meant for {@code out}: {@code out} itself when off-heap, else the staging row. */
    static MemorySegment target(MemorySegment out, int n, Workspace ws) {
        return out.isNative() ? out : ws.staging(n);
    }

    static long targetOffset(MemorySegment dst, MemorySegment out, long outOff) {
        return dst == out ? outOff : 0;
    }

    /** Copies a staged row to its destination. */
    static void publish(MemorySegment dst, MemorySegment out, long outOff, int n) {
        if (dst != out) {
            MemorySegment.copy(dst, 0, out, outOff * Float.BYTES, (long) n * Float.BYTES);
        }
    }

    // ---------------------------------------------------------------- building blocks, one loop each

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

    /** {@code d = Σ exp((x − m)/T)}. */
    static double sumExp(MemorySegment x, long off, int n, float negHalfM, float twoInvT, float[] lanes) {
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            FloatVector comp = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector y = expNonPositive(shift(load(x, off + i), negHalfM, twoInvT));
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
            total += exp(shift(get(x, off + i), negHalfM, twoInvT));
        }
        return total;
    }

    /** Writes {@code e_i = exp((x_i − m)/T)} to {@code out} and returns {@code d = Σ e_i}. */
    static double expStore(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float negHalfM,
                           float twoInvT, float[] lanes) {
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            FloatVector comp = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector e = expNonPositive(shift(load(x, xOff + i), negHalfM, twoInvT));
                store(e, out, outOff + i);
                FloatVector y = e;
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
            float e = exp(shift(get(x, xOff + i), negHalfM, twoInvT));
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

    /** {@code acc[0] = d = Σ e_i}, {@code acc[1] = Σ e_i a_i}, {@code a_i = (x_i − m)/T}; terms with {@code e_i = 0} add 0 (their {@code a_i} may be {@code −inf}). */
    static void entropySums(MemorySegment x, long off, int n, float negHalfM, float twoInvT, double[] acc,
                            float[] lanes) {
        int upper = F.loopBound(n);
        double d = 0;
        double t = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector dAcc = FloatVector.zero(F);
            FloatVector dComp = FloatVector.zero(F);
            FloatVector tAcc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector a = shift(load(x, off + i), negHalfM, twoInvT);
                FloatVector e = expNonPositive(a);
                FloatVector y = e;
                FloatVector sum = dAcc.add(y);
                dComp = dComp.add(y.sub(sum.sub(dAcc)));
                dAcc = sum;
                tAcc = e.fma(a.blend(0f, e.compare(EQ, 0f)), tAcc);
            }
            dAcc.intoArray(lanes, 0);
            double dAccSum = sumLanes(lanes);
            dComp.intoArray(lanes, 0);
            d += dAccSum + sumLanes(lanes);
            tAcc.intoArray(lanes, 0);
            t += sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float a = shift(get(x, off + i), negHalfM, twoInvT);
            float e = exp(a);
            d += e;
            t += e == 0 ? 0 : e * a;
        }
        acc[0] = d;
        acc[1] = t;
    }

    /**
     * {@link #entropySums} that also writes {@code e_i} to {@code out} (which may alias {@code x}): the fused
     * softmax's one exp per element. Same accumulation order as {@link #entropySums}, so {@code d} and the
     * entropy agree with the standalone ops bitwise.
     */
    static void expStoreEntropySums(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float negHalfM,
                                    float twoInvT, double[] acc, float[] lanes) {
        int upper = F.loopBound(n);
        double d = 0;
        double t = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector dAcc = FloatVector.zero(F);
            FloatVector dComp = FloatVector.zero(F);
            FloatVector tAcc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector a = shift(load(x, xOff + i), negHalfM, twoInvT);
                FloatVector e = expNonPositive(a);
                store(e, out, outOff + i);
                FloatVector sum = dAcc.add(e);
                dComp = dComp.add(e.sub(sum.sub(dAcc)));
                dAcc = sum;
                tAcc = e.fma(a.blend(0f, e.compare(EQ, 0f)), tAcc);
            }
            dAcc.intoArray(lanes, 0);
            double dAccSum = sumLanes(lanes);
            dComp.intoArray(lanes, 0);
            d += dAccSum + sumLanes(lanes);
            tAcc.intoArray(lanes, 0);
            t += sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float a = shift(get(x, xOff + i), negHalfM, twoInvT);
            float e = exp(a);
            put(out, outOff + i, e);
            d += e;
            t += e == 0 ? 0 : e * a;
        }
        acc[0] = d;
        acc[1] = t;
    }

    /** {@code grad_i = −p_i (a_i − k) · scale}, {@code p_i = e^{a_i}/d}, {@code k = log d − H}. */
    static void entropyGrad(MemorySegment x, long xOff, MemorySegment grad, long gOff, int n, float negHalfM,
                            float twoInvT, float invD, float k, float scale) {
        float negScale = -scale;
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector a = shift(load(x, xOff + i), negHalfM, twoInvT);
            FloatVector p = expNonPositive(a).mul(invD);
            FloatVector g = p.mul(a.sub(k)).mul(negScale);
            store(g.blend(0f, p.compare(EQ, 0f)), grad, gOff + i);
        }
        for (; i < n; i++) {
            float a = shift(get(x, xOff + i), negHalfM, twoInvT);
            float p = exp(a) * invD;
            put(grad, gOff + i, p == 0 ? 0 : p * (a - k) * negScale);
        }
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
        double dt = 0;
        double ds = 0;
        double w = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            klBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, twoInvT, acc, lanes);
            dt += acc[0];
            ds += acc[1];
            w += acc[2];
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

    /**
     * Running maxima and live minima of a teacher/student pair over the vector block {@code [start, end)}:
     * {@code mm[0]}/{@code mm[1]} the teacher's max/min, {@code mm[2]}/{@code mm[3]} the student's, updated in
     * place (NaN ignored, {@code −inf} left out of the minima, as {@link #maxAndMin}).
     */
    static void pairMaxMinBlock(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end, float[] mm) {
        FloatVector mxT = FloatVector.broadcast(F, mm[0]);
        FloatVector mnT = FloatVector.broadcast(F, mm[1]);
        FloatVector mxS = FloatVector.broadcast(F, mm[2]);
        FloatVector mnS = FloatVector.broadcast(F, mm[3]);
        for (int i = start; i < end; i += L) {
            FloatVector vt = load(t, tOff + i);
            FloatVector vs = load(s, sOff + i);
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
     * {@link #klSums}'s three sums over the vector block {@code [start, end)} only, shifted by the given maxima:
     * {@code acc[0] = d_t}, {@code acc[1] = d_s}, {@code acc[2] = Σ e^{a_i}·(a_i − b_i)}.
     */
    static void klBlockSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end, float negHalfMt,
                            float negHalfMs, float twoInvT, double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector dsAcc = FloatVector.zero(F);
        FloatVector dsComp = FloatVector.zero(F);
        FloatVector wAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector a = shift(xt, negHalfMt, twoInvT);
            FloatVector b = shift(load(s, sOff + i), negHalfMs, twoInvT);
            FloatVector et = expNonPositive(a);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            FloatVector es = expNonPositive(b);
            FloatVector sumS = dsAcc.add(es);
            dsComp = dsComp.add(es.sub(sumS.sub(dsAcc)));
            dsAcc = sumS;
            wAcc = wAcc.add(et.mul(a.sub(b)).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        dsAcc.intoArray(lanes, 0);
        double ds = sumLanes(lanes);
        dsComp.intoArray(lanes, 0);
        acc[1] = ds + sumLanes(lanes);
        wAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
    }

    /**
     * {@link #klBlockSums}'s teacher half that also stores {@code e^{a_i}} to {@code eT} (from {@code eTOff}):
     * {@code acc[0] = d_t}, {@code acc[2] = Σ e^{a_i}·(a_i − b_i)}. The student's exps go through
     * {@link #expBlockStore}: one loop holding both exps and both stores went past C2's inlining budget, and
     * the boxed exp allocated about 6 bytes per element (JFR allocation samples, 256 × 32000 KL with gradient).
     */
    static void teacherBlockStore(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end,
                                  float negHalfMt, float negHalfMs, float twoInvT, MemorySegment eT, long eTOff,
                                  double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector wAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector a = shift(xt, negHalfMt, twoInvT);
            FloatVector b = shift(load(s, sOff + i), negHalfMs, twoInvT);
            FloatVector et = expNonPositive(a);
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

    /** Stores {@code e_i = exp((x_i − m)/T)} over the vector block {@code [start, end)} and sets {@code acc[1] = Σ e_i}. */
    static void expBlockStore(MemorySegment x, long xOff, int start, int end, float negHalfM, float twoInvT,
                              MemorySegment out, long outOff, double[] acc, float[] lanes) {
        FloatVector dAcc = FloatVector.zero(F);
        FloatVector dComp = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector e = expNonPositive(shift(load(x, xOff + i), negHalfM, twoInvT));
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
     * {@code g_i = e^s_i·kS − e^t_i·kT} over {@code [start, end)}, in place in {@code g} (which holds {@code e^s}):
     * the gradient {@code (q − p)·scale} from the stored exps of one block, {@code k = scale·e^{(ref − M)/T}/d}.
     */
    static void rescaledDifference(MemorySegment eT, MemorySegment g, long gOff, int start, int end, float kT, float kS) {
        FloatVector vkS = FloatVector.broadcast(F, kS);
        for (int i = start; i < end; i += L) {
            FloatVector p = load(eT, i).mul(kT);
            store(load(g, gOff + i).fma(vkS, p.neg()), g, gOff + i);
        }
    }

    /**
     * The KL gradient {@code (q − p)·scale} from what {@link #klSumsStreaming} stored: per block, both exps rescaled
     * from the block's maxima to the row's, in one pass that reads two floats and writes one per entry.
     */
    static void gradFromStoredExps(MemorySegment eT, MemorySegment g, long gOff, int n, float invT, float[] refs,
                                   float mt, float ms, double dt, double ds, float scale) {
        int upper = F.loopBound(n);
        int block = 0;
        for (int start = 0, end = 0; ; start = end, block++) {
            boolean tail = start >= upper;
            end = tail ? n : blockEnd(start, upper);
            float refT = refs[2 * block];
            float refS = refs[2 * block + 1];
            float kT = Float.isNaN(refT) ? 0f : (float) (scale * Math.exp(((double) refT - mt) * invT) / dt);
            float kS = Float.isNaN(refS) ? 0f : (float) (scale * Math.exp(((double) refS - ms) * invT) / ds);
            if (!tail) {
                rescaledDifference(eT, g, gOff, start, end, kT, kS);
            } else {
                for (int i = upper; i < n; i++) {
                    put(g, gOff + i, Math.fma(get(g, gOff + i), kS, -(get(eT, i) * kT)));
                }
                break;
            }
        }
    }

    /** What {@link #pairSumsStreaming} sums: {@link #klSums}'s three sums. */
    static final int KL_SUMS = 0;
    /** What {@link #pairSumsStreaming} sums: {@link #crossEntropySums}'s three sums. */
    static final int CE_SUMS = 1;
    /** What {@link #pairSumsStreaming} sums: {@link #klSums}'s three and the reverse direction's {@code Σ e^{b_i}·(b_i − a_i)}. */
    static final int JEFFREYS_SUMS = 2;
    /**
     * What {@link #pairSumsStreaming} sums: {@code d_t} and {@code d_s} only, storing the exps and the shifted logits
     * to the workspace's heap rows ({@code e^t}, {@code e^s}, {@code a}, {@code b}: rows 0 to 3) for
     * {@link #jsdFromStored}; {@code eT} and {@code eS} are not used.
     */
    static final int JSD_SUMS = 3;

    /**
     * {@link #extremePair} and {@link #klSums} in one streaming pass, so that each row is read from memory once:
     * block by block, the pair's running maxima (one loop over a block that then sits in L1), then the block's
     * sums against them (a second loop over the same block). When a maximum grows, the double sums are rescaled:
     * with {@code δ = (M' − M)/T}, {@code d' = e^{−δ_t}·d}, and {@code w' = e^{−δ_t}·(w + (δ_s − δ_t)·d_t)} since
     * every {@code a_i − b_i} moves by {@code δ_s − δ_t}. Until a row has shown a finite maximum, its entries are
     * shifted by 0 (they are all {@code −inf} or NaN, which give 0 or NaN as before) and nothing is rescaled.
     * Sets {@code ws.pairMax}, {@code ws.pairSpread} (in argument order) and {@code ws.acc[0..2]} as those two
     * do; returns whether the pair is extreme (then the sums are not meaningful).
     */
    static boolean klSumsStreaming(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, Workspace ws) {
        return pairSumsStreaming(KL_SUMS, t, tOff, s, sOff, n, invT, null, null, 0, ws);
    }

    /**
     * {@link #klSumsStreaming(MemorySegment, long, MemorySegment, long, int, float, Workspace)} that, when
     * {@code eT} is not null, also stores each entry's exps ({@code e^t} to {@code eT} from index 0, {@code e^s} to
     * {@code eS} from {@code eSOff}) and each block's maxima to {@code ws.blockRefs} (teacher at {@code 2k},
     * student at {@code 2k + 1}; the tail is the last block).
     */
    static boolean klSumsStreaming(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                                   MemorySegment eT, MemorySegment eS, long eSOff, Workspace ws) {
        return pairSumsStreaming(KL_SUMS, t, tOff, s, sOff, n, invT, eT, eS, eSOff, ws);
    }

    /**
     * The streaming pair pass of {@link #klSumsStreaming} for the sums of {@code kind}: {@code ws.acc[0] = d_t},
     * {@code ws.acc[1] = d_s}, and {@code ws.acc[2]} = {@code Σ e^{a_i}·(a_i − b_i)} ({@link #KL_SUMS},
     * {@link #JEFFREYS_SUMS}) or {@code Σ e^{a_i}·b_i} ({@link #CE_SUMS}), masked teacher entries adding 0;
     * {@link #JEFFREYS_SUMS} also {@code ws.acc[3] = Σ e^{b_i}·(b_i − a_i)}, masked student entries adding 0. On a
     * grown maximum, {@code Σ e^a·b} moves to {@code e^{−δ_t}·(v − δ_s·d_t)} and the reverse sum as the forward one
     * with the roles swapped. The stored exps and block maxima are those of {@link #klSumsStreaming}.
     */
    static boolean pairSumsStreaming(int kind, MemorySegment t, long tOff, MemorySegment s, long sOff, int n,
                                     float invT, MemorySegment eT, MemorySegment eS, long eSOff, Workspace ws) {
        float[] refs = eT == null && kind != JSD_SUMS ? null : ws.blockRefs(2 * (n / BLOCK + 2));
        int block = 0;
        float[] mm = ws.pairMaxMin;
        mm[0] = Float.NEGATIVE_INFINITY;
        mm[1] = Float.POSITIVE_INFINITY;
        mm[2] = Float.NEGATIVE_INFINITY;
        mm[3] = Float.POSITIVE_INFINITY;
        float twoInvT = 2f * invT;
        float refT = 0f;
        float refS = 0f;
        boolean tShifted = false; // whether refT is a maximum the row has shown (else the placeholder 0)
        boolean sShifted = false;
        double dt = 0;
        double ds = 0;
        double w = 0;
        double wr = 0;
        int upper = F.loopBound(n);
        for (int start = 0, end = 0; ; start = end) {
            boolean tail = start >= upper; // the last round: the scalar tail after the blocks, maybe empty
            if (!tail) {
                end = blockEnd(start, upper);
                pairMaxMinBlock(t, tOff, s, sOff, start, end, mm);
            } else {
                for (int i = upper; i < n; i++) {
                    float vt = get(t, tOff + i);
                    float vs = get(s, sOff + i);
                    mm[0] = vt > mm[0] ? vt : mm[0];
                    mm[1] = vt < mm[1] && vt != Float.NEGATIVE_INFINITY ? vt : mm[1];
                    mm[2] = vs > mm[2] ? vs : mm[2];
                    mm[3] = vs < mm[3] && vs != Float.NEGATIVE_INFINITY ? vs : mm[3];
                }
            }
            double deltaT = 0;
            double deltaS = 0;
            if (mm[0] != Float.NEGATIVE_INFINITY && (!tShifted || mm[0] != refT)) {
                deltaT = tShifted ? ((double) mm[0] - refT) * invT : 0;
                refT = mm[0];
                tShifted = true;
            }
            if (mm[2] != Float.NEGATIVE_INFINITY && (!sShifted || mm[2] != refS)) {
                deltaS = sShifted ? ((double) mm[2] - refS) * invT : 0;
                refS = mm[2];
                sShifted = true;
            }
            if (deltaT != 0 || deltaS != 0) {
                double fT = Math.exp(-deltaT);
                double fS = Math.exp(-deltaS);
                w = kind == CE_SUMS ? fT * (w - deltaS * dt) : fT * (w + (deltaS - deltaT) * dt);
                wr = fS * (wr + (deltaT - deltaS) * ds);
                dt *= fT;
                ds *= fS;
            }
            if (refs != null) {
                // NaN marks a block shifted by the placeholder: its exps are all 0 (or the row is NaN anyway).
                refs[2 * block] = tShifted ? refT : Float.NaN;
                refs[2 * block + 1] = sShifted ? refS : Float.NaN;
                block++;
            }
            if (!tail) {
                pairBlockSums(kind, t, tOff, s, sOff, start, end, -0.5f * refT, -0.5f * refS, twoInvT, eT, eS, eSOff,
                        ws);
                dt += ws.acc[0];
                ds += ws.acc[1];
                w += ws.acc[2];
                wr += ws.acc[3];
            } else {
                float negHalfMt = -0.5f * refT;
                float negHalfMs = -0.5f * refS;
                for (int i = upper; i < n; i++) {
                    float xt = get(t, tOff + i);
                    float xs = get(s, sOff + i);
                    float a = shift(xt, negHalfMt, twoInvT);
                    float b = shift(xs, negHalfMs, twoInvT);
                    float et = exp(a);
                    float es = exp(b);
                    if (eT != null) {
                        put(eT, i, et);
                        put(eS, eSOff + i, es);
                    }
                    dt += et;
                    ds += es;
                    if (kind == JSD_SUMS) {
                        ws.heapRow(0, n)[i] = et;
                        ws.heapRow(1, n)[i] = es;
                        ws.heapRow(2, n)[i] = a;
                        ws.heapRow(3, n)[i] = b;
                    } else if (kind == CE_SUMS) {
                        w += xt == Float.NEGATIVE_INFINITY ? 0 : et * b;
                    } else {
                        w += xt == Float.NEGATIVE_INFINITY ? 0 : et * (a - b);
                        wr += xs == Float.NEGATIVE_INFINITY ? 0 : es * (b - a);
                    }
                }
                break;
            }
        }
        ws.pairMax[0] = mm[0];
        ws.pairMax[1] = mm[2];
        ws.pairSpread[0] = (double) mm[0] - mm[1];
        ws.pairSpread[1] = (double) mm[2] - mm[3];
        ws.acc[0] = dt;
        ws.acc[1] = ds;
        ws.acc[2] = w;
        ws.acc[3] = wr;
        return ws.pairSpread[0] * invT > EXTREME_SPREAD || ws.pairSpread[1] * invT > EXTREME_SPREAD;
    }

    /**
     * One block of {@link #pairSumsStreaming} into {@code ws.acc[0..3]} ({@code acc[3]} is 0 unless
     * {@link #JEFFREYS_SUMS}). Each callee holds one loop; those that store hold one exp each (a loop with two
     * exps and two stores went past C2's inlining budget in KL, see {@link #teacherBlockStore}).
     */
    private static void pairBlockSums(int kind, MemorySegment t, long tOff, MemorySegment s, long sOff, int start,
                                      int end, float negHalfMt, float negHalfMs, float twoInvT, MemorySegment eT,
                                      MemorySegment eS, long eSOff, Workspace ws) {
        double[] acc = ws.acc;
        acc[3] = 0;
        if (kind == JSD_SUMS) {
            int n = end; // the rows were sized for the whole row; this only has to cover the block
            expShiftBlockStore(t, tOff, start, end, negHalfMt, twoInvT, ws.heapRow(0, n), ws.heapRow(2, n), acc, 0,
                    ws.lanes);
            expShiftBlockStore(s, sOff, start, end, negHalfMs, twoInvT, ws.heapRow(1, n), ws.heapRow(3, n), acc, 1,
                    ws.lanes);
            acc[2] = 0;
            return;
        }
        if (eT == null) {
            switch (kind) {
                case CE_SUMS -> crossEntropyBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, twoInvT, acc,
                        ws.lanes);
                case JEFFREYS_SUMS -> jeffreysBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, twoInvT, acc,
                        ws.lanes);
                default -> klBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, twoInvT, acc, ws.lanes);
            }
            return;
        }
        switch (kind) {
            case CE_SUMS -> {
                crossEntropyTeacherBlockStore(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, twoInvT, eT, acc,
                        ws.lanes);
                expBlockStore(s, sOff, start, end, negHalfMs, twoInvT, eS, eSOff, acc, ws.lanes);
            }
            case JEFFREYS_SUMS -> {
                // The reverse direction is the forward one with the roles swapped: its d and sum land in acc[0], acc[2].
                teacherBlockStore(s, sOff, t, tOff, start, end, negHalfMs, negHalfMt, twoInvT, eS, eSOff, acc, ws.lanes);
                double ds = acc[0];
                double wr = acc[2];
                teacherBlockStore(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, twoInvT, eT, 0, acc, ws.lanes);
                acc[1] = ds;
                acc[3] = wr;
            }
            default -> {
                teacherBlockStore(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, twoInvT, eT, 0, acc, ws.lanes);
                expBlockStore(s, sOff, start, end, negHalfMs, twoInvT, eS, eSOff, acc, ws.lanes);
            }
        }
    }

    /** {@code acc[0] = d_t}, {@code acc[1] = d_s}, {@code acc[2] = Σ e^{a_i}·b_i} (masked teacher entries add 0). */
    static void crossEntropySums(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float negHalfMt,
                                 float negHalfMs, float twoInvT, double[] acc, float[] lanes) {
        int upper = F.loopBound(n);
        double dt = 0;
        double ds = 0;
        double v = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            crossEntropyBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, twoInvT, acc, lanes);
            dt += acc[0];
            ds += acc[1];
            v += acc[2];
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

    /** {@link #crossEntropySums}'s three sums over the vector block {@code [start, end)} only. */
    static void crossEntropyBlockSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end,
                                      float negHalfMt, float negHalfMs, float twoInvT, double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector dsAcc = FloatVector.zero(F);
        FloatVector dsComp = FloatVector.zero(F);
        FloatVector vAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector a = shift(xt, negHalfMt, twoInvT);
            FloatVector b = shift(load(s, sOff + i), negHalfMs, twoInvT);
            FloatVector et = expNonPositive(a);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            FloatVector es = expNonPositive(b);
            FloatVector sumS = dsAcc.add(es);
            dsComp = dsComp.add(es.sub(sumS.sub(dsAcc)));
            dsAcc = sumS;
            vAcc = vAcc.add(et.mul(b).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        dsAcc.intoArray(lanes, 0);
        double ds = sumLanes(lanes);
        dsComp.intoArray(lanes, 0);
        acc[1] = ds + sumLanes(lanes);
        vAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
    }

    /**
     * {@link #crossEntropyBlockSums}'s teacher half that also stores {@code e^{a_i}} to {@code eT} (from index 0):
     * {@code acc[0] = d_t}, {@code acc[2] = Σ e^{a_i}·b_i}; the student's exps go through {@link #expBlockStore}, as
     * in {@link #teacherBlockStore}.
     */
    static void crossEntropyTeacherBlockStore(MemorySegment t, long tOff, MemorySegment s, long sOff, int start,
                                              int end, float negHalfMt, float negHalfMs, float twoInvT, MemorySegment eT,
                                              double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector vAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector et = expNonPositive(shift(xt, negHalfMt, twoInvT));
            FloatVector b = shift(load(s, sOff + i), negHalfMs, twoInvT);
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
     * {@link #klBlockSums} and its reverse over the vector block {@code [start, end)}: {@code acc[0] = d_t},
     * {@code acc[1] = d_s}, {@code acc[2] = Σ e^{a_i}·(a_i − b_i)} (masked teacher entries add 0),
     * {@code acc[3] = Σ e^{b_i}·(b_i − a_i)} (masked student entries add 0): Jeffreys' sums from one read.
     */
    static void jeffreysBlockSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end,
                                  float negHalfMt, float negHalfMs, float twoInvT, double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector dsAcc = FloatVector.zero(F);
        FloatVector dsComp = FloatVector.zero(F);
        FloatVector wAcc = FloatVector.zero(F);
        FloatVector rAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector xs = load(s, sOff + i);
            FloatVector a = shift(xt, negHalfMt, twoInvT);
            FloatVector b = shift(xs, negHalfMs, twoInvT);
            FloatVector diff = a.sub(b);
            FloatVector et = expNonPositive(a);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            FloatVector es = expNonPositive(b);
            FloatVector sumS = dsAcc.add(es);
            dsComp = dsComp.add(es.sub(sumS.sub(dsAcc)));
            dsAcc = sumS;
            wAcc = wAcc.add(et.mul(diff).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
            rAcc = rAcc.add(es.mul(diff.neg()).blend(0f, xs.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        dsAcc.intoArray(lanes, 0);
        double ds = sumLanes(lanes);
        dsComp.intoArray(lanes, 0);
        acc[1] = ds + sumLanes(lanes);
        wAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
        rAcc.intoArray(lanes, 0);
        acc[3] = sumLanes(lanes);
    }

    /**
     * Stores {@code e_i = exp(a_i)} to {@code eOut} and {@code a_i = (x_i − m)/T} to {@code aOut} (both from index 0)
     * over the vector block {@code [start, end)}, and sets {@code acc[which] = Σ e_i}.
     */
    static void expShiftBlockStore(MemorySegment x, long xOff, int start, int end, float negHalfM, float twoInvT,
                                   float[] eOut, float[] aOut, double[] acc, int which, float[] lanes) {
        FloatVector dAcc = FloatVector.zero(F);
        FloatVector dComp = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector a = shift(load(x, xOff + i), negHalfM, twoInvT);
            FloatVector e = expNonPositive(a);
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

    /** {@code e^{(ref − M)/T}/d} as a float, the factor taking a block's stored exps to probabilities (0 for a NaN ref). */
    static float blockFactor(float ref, float max, float invT, double d) {
        return Float.isNaN(ref) ? 0f : (float) (Math.exp(((double) ref - max) * invT) / d);
    }

    /** {@code (ref − M)/T − log d} as a float, taking a block's stored shifted logits to log-probabilities. */
    static float blockLogShift(float ref, float max, float invT, double d) {
        return Float.isNaN(ref) ? 0f : (float) (((double) ref - max) * invT - Math.log(d));
    }

    /**
     * The generalized JSD sums from what {@link #pairSumsStreaming} stored for {@link #JSD_SUMS}, with no read of
     * the inputs: per block, {@code p = e^t·k_t}, {@code q = e^s·k_s}, {@code log p = a + c_t}, {@code log q = b + c_s}
     * ({@link #blockFactor}, {@link #blockLogShift}), then {@code ws.acc[0] = Σ p log(p/M)},
     * {@code ws.acc[1] = Σ q log(q/M)}. The stored rows are left as they are for {@link #jsdGradFromStored}.
     */
    static void jsdFromStored(int n, float invT, float beta, double dt, double ds, Workspace ws) {
        float[] eT = ws.heapRow(0, n);
        float[] eS = ws.heapRow(1, n);
        float[] aT = ws.heapRow(2, n);
        float[] aS = ws.heapRow(3, n);
        float[] refs = ws.blockRefs(0);
        float mt = ws.pairMax[0];
        float ms = ws.pairMax[1];
        float alpha = 1f - beta;
        int upper = F.loopBound(n);
        double towardP = 0;
        double towardQ = 0;
        int block = 0;
        for (int start = 0, end = 0; ; start = end, block++) {
            boolean tail = start >= upper;
            end = tail ? n : blockEnd(start, upper);
            float refT = refs[2 * block];
            float refS = refs[2 * block + 1];
            float kT = blockFactor(refT, mt, invT, dt);
            float kS = blockFactor(refS, ms, invT, ds);
            float cT = blockLogShift(refT, mt, invT, dt);
            float cS = blockLogShift(refS, ms, invT, ds);
            if (tail) {
                for (int i = upper; i < n; i++) {
                    float p = eT[i] * kT;
                    float q = eS[i] * kS;
                    float logM = (float) Math.log(beta * p + alpha * q);
                    towardP += p == 0 ? 0 : p * (aT[i] + cT - logM);
                    towardQ += q == 0 ? 0 : q * (aS[i] + cS - logM);
                }
                break;
            }
            jsdBlockFromStored(eT, eS, aT, aS, start, end, kT, kS, cT, cS, beta, ws.acc, ws.lanes);
            towardP += ws.acc[0];
            towardQ += ws.acc[1];
        }
        ws.acc[0] = towardP;
        ws.acc[1] = towardQ;
    }

    /**
     * One block of {@link #jsdFromStored}: {@code acc[0] = Σ p log(p/M)}, {@code acc[1] = Σ q log(q/M)}. Reads only,
     * from heap rows: with the rows off-heap the four segment loads and the log went past C2's
     * {@code NodeCountInliningCutoff} and the last load was boxed (192 KB per 32000-wide row, AllocationProbe); so
     * did storing {@code p}, {@code q}, {@code log q} for the gradient and flushing subnormal probabilities (576 KB).
     * A subnormal {@code p} only meets a log clamped to {@code Float.MIN_NORMAL} and adds a term below 1e-36.
     */
    static void jsdBlockFromStored(float[] eT, float[] eS, float[] aT, float[] aS, int start,
                                   int end, float kT, float kS, float cT, float cS, float beta, double[] acc,
                                   float[] lanes) {
        float alpha = 1f - beta;
        FloatVector pAcc = FloatVector.zero(F);
        FloatVector qAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector p = FloatVector.fromArray(F, eT, i).mul(kT);
            FloatVector q = FloatVector.fromArray(F, eS, i).mul(kS);
            FloatVector logM = VectorLog.log(p.mul(beta).add(q.mul(alpha)));
            pAcc = pAcc.add(p.mul(FloatVector.fromArray(F, aT, i).add(cT).sub(logM)).blend(0f, p.compare(EQ, 0f)));
            qAcc = qAcc.add(q.mul(FloatVector.fromArray(F, aS, i).add(cS).sub(logM)).blend(0f, q.compare(EQ, 0f)));
        }
        pAcc.intoArray(lanes, 0);
        acc[0] = sumLanes(lanes);
        qAcc.intoArray(lanes, 0);
        acc[1] = sumLanes(lanes);
    }

    /**
     * The JSD gradient {@code q (log q − log M − towardQ)·scale} from the rows {@link #pairSumsStreaming} stored, block
     * by block with {@link #jsdFromStored}'s factors, into {@code grad} (heap or native): one log per element and no
     * read of the inputs. It is written to the heap row of the teacher's shifted logits (no longer needed) and copied
     * out: a vector store into a segment in the same loop as the three loads and the log was boxed (192 KB per
     * 32000-wide row, AllocationProbe), a store into an array is not.
     */
    static void jsdGradFromStored(MemorySegment grad, long gOff, int n, float invT, float beta, double dt, double ds,
                                  float towardQ, float scale, Workspace ws) {
        float[] eT = ws.heapRow(0, n);
        float[] eS = ws.heapRow(1, n);
        float[] g = ws.heapRow(2, n);
        float[] aS = ws.heapRow(3, n);
        float[] refs = ws.blockRefs(0);
        float mt = ws.pairMax[0];
        float ms = ws.pairMax[1];
        float alpha = 1f - beta;
        int upper = F.loopBound(n);
        int block = 0;
        for (int start = 0, end = 0; ; start = end, block++) {
            boolean tail = start >= upper;
            end = tail ? n : blockEnd(start, upper);
            float refS = refs[2 * block + 1];
            float kT = blockFactor(refs[2 * block], mt, invT, dt);
            float kS = blockFactor(refS, ms, invT, ds);
            float cS = blockLogShift(refS, ms, invT, ds);
            if (tail) {
                for (int i = upper; i < n; i++) {
                    float p = eT[i] * kT;
                    float q = eS[i] * kS;
                    float logM = (float) Math.log(beta * p + alpha * q);
                    g[i] = q == 0 ? 0 : q * (aS[i] + cS - logM - towardQ) * scale;
                }
                break;
            }
            jsdGradBlockFromStored(eT, eS, aS, g, start, end, kT, kS, cS, beta, towardQ, scale);
        }
        MemorySegment.copy(g, 0, grad, F32, gOff * Float.BYTES, n);
    }

    /** One block of {@link #jsdGradFromStored}, into {@code g} (which may be the row of the teacher's shifted logits). */
    static void jsdGradBlockFromStored(float[] eT, float[] eS, float[] aS, float[] g, int start, int end, float kT,
                                       float kS, float cS, float beta, float towardQ, float scale) {
        float alpha = 1f - beta;
        for (int i = start; i < end; i += L) {
            FloatVector p = FloatVector.fromArray(F, eT, i).mul(kT);
            FloatVector q = FloatVector.fromArray(F, eS, i).mul(kS);
            FloatVector logM = VectorLog.log(p.mul(beta).add(q.mul(alpha)));
            FloatVector v = q.mul(FloatVector.fromArray(F, aS, i).add(cS).sub(logM).sub(towardQ)).mul(scale);
            v.blend(0f, q.compare(EQ, 0f)).intoArray(g, i);
        }
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
        FloatVector acc = FloatVector.zero(F);
        FloatVector comp = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector y = expNonPositive(shift(load(x, off + i), negHalfM, twoInvT));
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
     * {@link #max} and {@link #sumExp} in one read, as {@link #pairSumsStreaming}: per block the running maximum,
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
                for (int i = upper; i < n; i++) {
                    float v = get(x, off + i);
                    m = v > m ? v : m;
                }
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

    /** {@code grad_i = (q_i − p_i) · scale}. */
    static void gradQMinusP(MemorySegment t, long tOff, MemorySegment s, long sOff, MemorySegment grad, long gOff,
                            int n, float negHalfMt, float negHalfMs, float twoInvT, float invDt, float invDs,
                            float scale) {
        int upper = F.loopBound(n);
        // Both exps in one loop: C2 boxes a vector per iteration here (JFR: 192 KB per 32000-wide row), and also
        // when the loop is split in two, since both halves are inlined into the same caller (crossEntropy:
        // 24.6 MB instead of 13.3 MB per 64 x 32000 call, AllocationProbe). KL, cross-entropy and Jeffreys avoid this
        // pass for rows up to PROB_CHUNK (they keep the forward's exps); longer rows and the partial states pay it.
        for (int i = 0; i < upper; i += L) {
            FloatVector p = expNonPositive(shift(load(t, tOff + i), negHalfMt, twoInvT)).mul(invDt);
            FloatVector q = expNonPositive(shift(load(s, sOff + i), negHalfMs, twoInvT)).mul(invDs);
            store(q.sub(p).mul(scale), grad, gOff + i);
        }
        for (int i = upper; i < n; i++) {
            float p = exp(shift(get(t, tOff + i), negHalfMt, twoInvT)) * invDt;
            float q = exp(shift(get(s, sOff + i), negHalfMs, twoInvT)) * invDs;
            put(grad, gOff + i, (q - p) * scale);
        }
    }

    /** {@code out_i = exp((x_i − m)/T − logD)} for the first {@code upper} entries, to {@code out} from index 0. */
    static void normalizedExpStore(MemorySegment x, long xOff, MemorySegment out, int upper, float negHalfM,
                                   float twoInvT, float logD) {
        for (int i = 0; i < upper; i += L) {
            store(expNonPositive(shift(load(x, xOff + i), negHalfM, twoInvT).sub(logD)), out, i);
        }
    }

    /**
     * {@code Σ q_i c_i} with {@code c_i = (s_i − s_k)/T − (t_i − t_k)/T}, {@code k} the student's argmax:
     * {@code log q_i − log p_i} relative to its value at {@code k}, from logit differences only, so
     * that nothing large cancels (see {@code ScalarDistributionKernels.writeRklGrad}).
     */
    static double rklMean(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float negHalfMs,
                          float negHalfTk, float twoInvT, float invDs, float[] lanes) {
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector b = shift(load(s, sOff + i), negHalfMs, twoInvT);
                FloatVector q = expNonPositive(b).mul(invDs);
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
     * so that {@link #gradRklStored} needs no second exp. Same sum, in the same order.
     */
    static double rklMeanStore(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float negHalfMs,
                               float negHalfTk, float twoInvT, float invDs, MemorySegment qRow, MemorySegment cRow,
                               float[] lanes) {
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector b = shift(load(s, sOff + i), negHalfMs, twoInvT);
                FloatVector q = expNonPositive(b).mul(invDs);
                FloatVector c = b.sub(shift(load(t, tOff + i), negHalfTk, twoInvT));
                store(q, qRow, i);
                store(c, cRow, i);
                acc = acc.add(q.mul(c).blend(0f, q.compare(EQ, 0f)));
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float b = shift(get(s, sOff + i), negHalfMs, twoInvT);
            float q = exp(b) * invDs;
            float c = b - shift(get(t, tOff + i), negHalfTk, twoInvT);
            put(qRow, i, q);
            put(cRow, i, c);
            total += q == 0 ? 0 : q * c;
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
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector b = shift(load(s, sOff + i), negHalfMs, twoInvT);
            FloatVector q = expNonPositive(b).mul(invDs);
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
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector p = expNonPositive(shift(load(t, tOff + i), negHalfMt, twoInvT)).mul(invDt);
                FloatVector q = expNonPositive(shift(load(s, sOff + i), negHalfMs, twoInvT)).mul(invDs);
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
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector sp = expNonPositive(shift(load(t, tOff + i), negHalfMt, invT)).mul(rootInvDt);
                FloatVector sq = expNonPositive(shift(load(s, sOff + i), negHalfMs, invT)).mul(rootInvDs);
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

    /** Half {@code part} (0 or 1) of a float vector, widened to doubles. */
    private static DoubleVector toDouble(FloatVector v, int part) {
        return (DoubleVector) v.convertShape(VectorOperators.F2D, D, part);
    }

    /** Two double vectors narrowed back into one float vector (low half from {@code lo}). */
    private static FloatVector toFloat(DoubleVector lo, DoubleVector hi) {
        FloatVector low = (FloatVector) lo.convertShape(VectorOperators.D2F, F, 0);
        FloatVector high = (FloatVector) hi.convertShape(VectorOperators.D2F, F, -1);
        return low.blend(high, SimdConstants.UPPER_HALF);
    }

    /** Turns {@code log q} held in {@code g} into {@code (q − u) · scale}. */
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

    // ---------------------------------------------------------------- the ops

    /** Max passes over a teacher/student pair into {@code ws.pairMax}; true when either row is {@link #extreme}. */
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

    @Override
    public double logSumExp(MemorySegment x, long xOff, int n, float invT) {
        float m = max(x, xOff, n);
        double d = sumExp(x, xOff, n, -0.5f * m, 2f * invT, Workspace.get().lanes);
        return Double.isNaN(d) ? Double.NaN : (double) m * invT + Math.log(d);
    }

    @Override
    public void softmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
        Workspace ws = Workspace.get();
        float m = max(x, xOff, n);
        MemorySegment dst = target(out, n, ws);
        long dstOff = targetOffset(dst, out, outOff);
        double d = expStore(x, xOff, dst, dstOff, n, -0.5f * m, 2f * invT, ws.lanes);
        if (Double.isNaN(d)) {
            fill(dst, dstOff, n, Float.NaN);
        } else {
            scale(dst, dstOff, n, (float) (1.0 / d));
        }
        publish(dst, out, outOff, n);
    }

    @Override
    public void logSoftmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
        Workspace ws = Workspace.get();
        float m = max(x, xOff, n);
        double d = sumExp(x, xOff, n, -0.5f * m, 2f * invT, ws.lanes);
        MemorySegment dst = target(out, n, ws);
        long dstOff = targetOffset(dst, out, outOff);
        if (Double.isNaN(d)) {
            fill(dst, dstOff, n, Float.NaN);
        } else {
            shiftStore(x, xOff, dst, dstOff, n, -0.5f * m, 2f * invT, (float) Math.log(d));
        }
        publish(dst, out, outOff, n);
    }

    /**
     * Softmax or log-softmax with the row's max, log-sum-exp and entropy: one read for the max, one exp per
     * element (softmax: written as {@code e} with the entropy sums, then scaled by {@code 1/d}; log-softmax:
     * the entropy sums, then {@code a − log d}). On rows spread over more than {@link #EXTREME_SPREAD}
     * temperature units the entropy comes from the reference, as {@link #entropy}'s does.
     */
    @Override
    public void softmaxStats(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT, boolean log,
                             double[] stats) {
        Workspace ws = Workspace.get();
        maxAndMin(x, xOff, n, ws.acc);
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
            entropySums(x, xOff, n, negHalfM, twoInvT, ws.acc, ws.lanes);
        } else {
            expStoreEntropySums(x, xOff, dst, dstOff, n, negHalfM, twoInvT, ws.acc, ws.lanes);
        }
        double d = ws.acc[0];
        double logD = Math.log(d);
        if (Double.isNaN(d)) {
            fill(dst, dstOff, n, Float.NaN);
            stats[0] = Double.NaN;
            stats[1] = Double.NaN;
            stats[2] = Double.NaN;
        } else {
            // Finite here: d is in [1, n] (the max contributes e^0 = 1) and, on a row that is not extreme,
            // every a_i with e_i > 0 lies in [−EXTREME_SPREAD, 0].
            stats[2] = extreme ? extremeEntropy : logD - ws.acc[1] / d;
            if (log) {
                shiftStore(x, xOff, dst, dstOff, n, negHalfM, twoInvT, (float) logD);
            } else {
                scale(dst, dstOff, n, (float) (1.0 / d));
            }
            stats[0] = m;
            stats[1] = (double) m * invT + logD;
        }
        publish(dst, out, outOff, n);
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

    @Override
    public double crossEntropy(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                               MemorySegment grad, long gradOff, float gradScale) {
        if (grad != null && scaleOverflows((double) gradScale * invT)) {
            return REFERENCE.crossEntropy(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        Workspace ws = Workspace.get();
        // As KL: one read of the pair; with a gradient the forward keeps both rows' exps and the gradient pass only
        // rescales them (rows up to PROB_CHUNK).
        boolean keepExps = grad != null && n <= PROB_CHUNK;
        MemorySegment dst = keepExps ? target(grad, n, ws) : null;
        long dstOff = keepExps ? targetOffset(dst, grad, gradOff) : 0;
        MemorySegment eT = keepExps ? ws.probRow(0, n) : null;
        if (pairSumsStreaming(CE_SUMS, t, tOff, s, sOff, n, invT, eT, dst, dstOff, ws)) {
            return REFERENCE.crossEntropy(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        double dt = ws.acc[0];
        double ds = ws.acc[1];
        double ce = Math.log(ds) - ws.acc[2] / dt;
        if (!Double.isFinite(ce)) {
            return REFERENCE.crossEntropy(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
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
        if (grad != null && scaleOverflows((double) gradScale * invT)) {
            return REFERENCE.kl(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        Workspace ws = Workspace.get();
        // With a gradient, the forward keeps both rows' exps (e^t in a workspace row, e^s where the gradient goes)
        // and the gradient pass only rescales them; rows longer than PROB_CHUNK exponentiate again instead of
        // holding a row-sized buffer.
        boolean keepExps = grad != null && n <= PROB_CHUNK;
        MemorySegment dst = keepExps ? target(grad, n, ws) : null;
        long dstOff = keepExps ? targetOffset(dst, grad, gradOff) : 0;
        MemorySegment eT = keepExps ? ws.probRow(0, n) : null;
        if (klSumsStreaming(t, tOff, s, sOff, n, invT, eT, dst, dstOff, ws)) {
            return REFERENCE.kl(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        float negHalfMt = -0.5f * ws.pairMax[0];
        float negHalfMs = -0.5f * ws.pairMax[1];
        float twoInvT = 2f * invT;
        double dt = ws.acc[0];
        double ds = ws.acc[1];
        double kl = ws.acc[2] / dt - Math.log(dt) + Math.log(ds);
        if (!Double.isFinite(kl)) {
            return REFERENCE.kl(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
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
        if (grad != null && scaleOverflows((double) gradScale * invT)) {
            return REFERENCE.rkl(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        Workspace ws = Workspace.get();
        if (klSumsStreaming(s, sOff, t, tOff, n, invT, ws)) { // KL(q‖p): roles swapped
            return REFERENCE.rkl(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        float mt = ws.pairMax[1];
        float ms = ws.pairMax[0];
        double ds = ws.acc[0];
        double dt = ws.acc[1];
        double rkl = ws.acc[2] / ds - Math.log(ds) + Math.log(dt);
        if (!Double.isFinite(rkl)) {
            return REFERENCE.rkl(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        if (grad != null) {
            MemorySegment dst = target(grad, n, ws);
            long dstOff = targetOffset(dst, grad, gradOff);
            fill(dst, dstOff, n, 0f);
            addRklGrad(t, tOff, s, sOff, dst, dstOff, n, ms, invT, (float) (1 / ds), gradScale * invT, ws);
            publish(dst, grad, gradOff, n);
        }
        return rkl;
    }

    /**
     * Adds the reverse-KL gradient: locates the student's argmax, then {@link #rklMeanStore} and
     * {@link #gradRklStored} (rows up to {@link #PROB_CHUNK}), or {@link #rklMean} and {@link #gradRkl}.
     */
    private static void addRklGrad(MemorySegment t, long tOff, MemorySegment s, long sOff, MemorySegment grad,
                                   long gOff, int n, float ms, float invT, float invDs, float scale, Workspace ws) {
        int k = indexOf(s, sOff, n, ms);
        float negHalfTk = -0.5f * get(t, tOff + k);
        float negHalfMs = -0.5f * ms;
        float twoInvT = 2f * invT;
        if (n <= PROB_CHUNK) {
            // q and c kept from the mean's pass: one exp per element instead of two, and no compiled unit holding
            // two exp loops (rklMean and gradRkl inlined together boxed a vector per iteration: 192 KB per
            // 32000-wide row, JFR allocation samples).
            MemorySegment qRow = ws.probRow(0, n);
            MemorySegment cRow = ws.probRow(1, n);
            float mean = (float) rklMeanStore(t, tOff, s, sOff, n, negHalfMs, negHalfTk, twoInvT, invDs, qRow, cRow,
                    ws.lanes);
            gradRklStored(qRow, cRow, grad, gOff, n, mean, scale);
            return;
        }
        float mean = (float) rklMean(t, tOff, s, sOff, n, negHalfMs, negHalfTk, twoInvT, invDs, ws.lanes);
        gradRkl(t, tOff, s, sOff, grad, gOff, n, negHalfMs, negHalfTk, twoInvT, invDs, mean, scale);
    }

    @Override
    public double jeffreys(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                           MemorySegment grad, long gradOff, float gradScale) {
        if (grad != null && scaleOverflows((double) gradScale * invT)) {
            return REFERENCE.jeffreys(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        Workspace ws = Workspace.get();
        // Both directions' sums from one read; with a gradient the forward keeps both exps, so that the q − p part
        // only rescales them and the reverse-KL part (addRklGrad) is the one pass left with an exp.
        boolean keepExps = grad != null && n <= PROB_CHUNK;
        MemorySegment dst = grad != null ? target(grad, n, ws) : null;
        long dstOff = grad != null ? targetOffset(dst, grad, gradOff) : 0;
        MemorySegment eT = keepExps ? ws.probRow(0, n) : null;
        if (pairSumsStreaming(JEFFREYS_SUMS, t, tOff, s, sOff, n, invT, eT, keepExps ? dst : null, dstOff, ws)) {
            return REFERENCE.jeffreys(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
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
            return REFERENCE.jeffreys(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
        if (grad != null) {
            float scale = gradScale * invT;
            if (keepExps) {
                gradFromStoredExps(eT, dst, dstOff, n, invT, ws.blockRefs(0), mt, ms, dt, ds, scale);
            } else {
                gradQMinusP(t, tOff, s, sOff, dst, dstOff, n, -0.5f * mt, -0.5f * ms, 2f * invT, (float) (1 / dt),
                        (float) (1 / ds), scale);
            }
            addRklGrad(t, tOff, s, sOff, dst, dstOff, n, ms, invT, (float) (1 / ds), scale, ws);
            publish(dst, grad, gradOff, n);
        }
        return value;
    }

    @Override
    public double jsd(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta,
                      MemorySegment grad, long gradOff, float gradScale) {
        if (grad != null && scaleOverflows((double) gradScale * invT * (1 - beta))) {
            return REFERENCE.jsd(t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        if (n > PROB_CHUNK) {
            return jsdChunked(t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        Workspace ws = Workspace.get();
        // One read of the pair: the streaming pass keeps each row's exps and shifted logits against its block's
        // maximum; the sums and the gradient then come from those rows, one log per element each.
        for (int row = 0; row < 4; row++) {
            ws.heapRow(row, n);
        }
        if (pairSumsStreaming(JSD_SUMS, t, tOff, s, sOff, n, invT, null, null, 0, ws)) {
            return REFERENCE.jsd(t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        double dt = ws.acc[0];
        double ds = ws.acc[1];
        if (!(dt > 0) || !(ds > 0)) { // a NaN row, or one with every entry masked: the reference's special rows
            return REFERENCE.jsd(t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        jsdFromStored(n, invT, beta, dt, ds, ws);
        double towardP = ws.acc[0];
        double towardQ = ws.acc[1];
        double value = beta * towardP + (1.0 - beta) * towardQ;
        if (!Double.isFinite(value)) {
            return REFERENCE.jsd(t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }
        if (grad != null) {
            float scale = (float) ((double) gradScale * invT * (1 - beta));
            jsdGradFromStored(grad, gradOff, n, invT, beta, dt, ds, (float) towardQ, scale, ws);
        }
        return value;
    }

    /**
     * {@link #jsd} for rows longer than {@link #PROB_CHUNK}: max passes, then the probabilities chunk by chunk
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
}
