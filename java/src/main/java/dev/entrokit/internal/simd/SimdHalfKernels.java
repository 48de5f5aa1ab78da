package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.RowPasses.extreme;
import static dev.entrokit.internal.simd.RowPasses.fill;
import static dev.entrokit.internal.simd.RowPasses.scale;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdRows.blockEnd;
import static dev.entrokit.internal.simd.SimdRows.exp;
import static dev.entrokit.internal.simd.SimdRows.get;
import static dev.entrokit.internal.simd.SimdRows.publish;
import static dev.entrokit.internal.simd.SimdRows.put;
import static dev.entrokit.internal.simd.SimdRows.shift;
import static dev.entrokit.internal.simd.SimdRows.store;
import static dev.entrokit.internal.simd.SimdRows.sumLanes;
import static dev.entrokit.internal.simd.SimdRows.target;
import static dev.entrokit.internal.simd.SimdRows.targetOffset;
import static dev.entrokit.internal.simd.VectorExp2.LN2;
import static dev.entrokit.internal.simd.VectorExp2.exp2OrZero;
import static dev.entrokit.internal.simd.VectorExp2.log2ScaleOfTwoInvT;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.GT;

import dev.entrokit.DType;
import dev.entrokit.internal.HalfKernels;
import dev.entrokit.internal.HalfRows;
import dev.entrokit.internal.scalar.ScalarHalfKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * {@link SimdSoftmaxKernels}' softmax family on bfloat16 / binary16 rows, widened in registers by
 * {@link HalfVectors} as they are read. Each building block below is its float32 namesake with only the load
 * changed (same blocks, lanes, compensation and order of the double sums), and each op calls them in the same
 * order with the same fallbacks, so results are bitwise the float32 kernel's on the widened row: the half row
 * costs half the bytes of every pass that reads it and nothing else.
 *
 * <p>Half outputs: a float32 output is computed exactly as the float32 kernel computes it and rounded as it is
 * stored. The softmax's exps go to the per-thread float32 staging row first (the float32 kernel writes them to
 * {@code out} and scales them there; a half {@code out} cannot hold them unrounded), then one pass scales and
 * rounds them into {@code out}. Outputs that live on the heap go through an off-heap row and a copy, as in the
 * float32 kernels (C2 does not intrinsify vector stores into heap segments).
 *
 * <p>The exp loops come in two copies, bfloat16's and binary16's ({@code …F16}), chosen per row outside the loop:
 * a loop that branched on the type would carry both conversions and, in a JVM that reads both types, the profile
 * of both (the in-register kernels once boxed their vectors that way). binary16's loops read
 * {@link HalfVectors#f16Scaled} lanes, three operations where the exact conversion takes seven, on the rows
 * {@link #readsScaled} admits (no NaN, no {@code +inf}, masked tokens whose exp is 0 either way: nearly every row);
 * the other binary16 rows are widened into the kernel's own buffer and given to the float32 kernels. Measured on
 * 32 × 128256, one thread: binary16 0.74–0.90× the float32 kernel's elements per second through the widened copy,
 * 0.94–1.15× with its own loops (about bfloat16's); one loop for both types with the read's shift and mask as
 * loop-invariant operands cost bfloat16 5–15 % and was not kept. The streaming log-probability has binary16 loops
 * of its own too ({@link #maxSumExpStreaming}); the other blocks (maxima) take {@code bf16} and convert exactly.
 */
public final class SimdHalfKernels implements HalfKernels {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private static float half(boolean bf16, MemorySegment seg, long index) {
        short h = seg.getAtIndex(I16, index);
        return bf16 ? ScalarHalfKernels.fromBf16(h) : Float.float16ToFloat(h);
    }

    private static float bf16At(MemorySegment seg, long index) {
        return ScalarHalfKernels.fromBf16(seg.getAtIndex(I16, index));
    }

    private static float f16At(MemorySegment seg, long index) {
        return Float.float16ToFloat(seg.getAtIndex(I16, index));
    }

    /** {@link SimdRows#shift} of lanes read by {@link HalfVectors#f16Scaled}: the rebias by 2^112 rides in the fma. */
    private static FloatVector shiftF16(FloatVector scaled, float negHalfM, float twoInvT) {
        return scaled.fma(HalfVectors.F16_HALF_SCALE, negHalfM).mul(twoInvT);
    }

    private static void putHalf(boolean bf16, MemorySegment seg, long index, float v) {
        seg.setAtIndex(I16, index, bf16 ? ScalarHalfKernels.toBf16(v) : Float.floatToFloat16(v));
    }

    private static boolean isBf16(DType type) {
        return type == DType.BF16;
    }

    /** Where to write a half row meant for {@code out}: {@code out} itself when off-heap, else an off-heap row. */
    private static MemorySegment halfTarget(MemorySegment out, int n, Workspace ws) {
        return out.isNative() ? out : ws.probRow(0, n);
    }

    private static void publishHalf(MemorySegment dst, MemorySegment out, long outOff, int n) {
        if (dst != out) {
            MemorySegment.copy(dst, 0, out, outOff * Short.BYTES, (long) n * Short.BYTES);
        }
    }

    // ---------------------------------------------------------------- building blocks, one loop each

    /** {@link RowPasses#max} on a half row: on its keys ({@link HalfKeyPasses#max}) unless they cannot tell. */
    static float max(boolean bf16, MemorySegment x, long off, int n) {
        float m = HalfKeyPasses.max(bf16 ? DType.BF16 : DType.F16, x, off, n);
        return Float.isNaN(m) ? maxWidened(bf16, x, off, n) : m;
    }

    private static float maxWidened(boolean bf16, MemorySegment x, long off, int n) {
        FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector m1 = m0;
        int upper2 = n - n % (2 * L);
        int i = 0;
        for (; i < upper2; i += 2 * L) {
            FloatVector v0 = HalfVectors.load(bf16, x, off + i);
            FloatVector v1 = HalfVectors.load(bf16, x, off + i + L);
            m0 = m0.blend(v0, v0.compare(GT, m0));
            m1 = m1.blend(v1, v1.compare(GT, m1));
        }
        if (i + L <= n) {
            FloatVector v = HalfVectors.load(bf16, x, off + i);
            m0 = m0.blend(v, v.compare(GT, m0));
            i += L;
        }
        m0 = m0.blend(m1, m1.compare(GT, m0));
        float r = m0.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            float v = half(bf16, x, off + i);
            r = v > r ? v : r;
        }
        return r;
    }

    /** {@link RowPasses#maxAndMin} on a half row: on its keys ({@link HalfKeyPasses#maxAndMin}) unless they cannot tell. */
    static void maxAndMin(boolean bf16, MemorySegment x, long off, int n, double[] acc) {
        if (!HalfKeyPasses.maxAndMin(bf16 ? DType.BF16 : DType.F16, x, off, n, acc)) {
            maxAndMinWidened(bf16, x, off, n, acc);
        }
    }

    private static void maxAndMinWidened(boolean bf16, MemorySegment x, long off, int n, double[] acc) {
        FloatVector mx0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector mx1 = mx0;
        FloatVector mn0 = FloatVector.broadcast(F, Float.POSITIVE_INFINITY);
        FloatVector mn1 = mn0;
        int upper2 = n - n % (2 * L);
        int i = 0;
        for (; i < upper2; i += 2 * L) {
            FloatVector v0 = HalfVectors.load(bf16, x, off + i);
            FloatVector v1 = HalfVectors.load(bf16, x, off + i + L);
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
            float v = half(bf16, x, off + i);
            hi = v > hi ? v : hi;
            lo = v < lo && v != Float.NEGATIVE_INFINITY ? v : lo;
        }
        acc[0] = hi;
        acc[1] = lo;
    }

    /** {@link RowPasses#sumExp} on a half row. */
    static double sumExp(MemorySegment x, long off, int n, float negHalfM, float twoInvT,
                         float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            FloatVector comp = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector y = exp2OrZero(shift(HalfVectors.loadBf16(x, off + i), negHalfM, log2Scale));
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
            total += exp(shift(bf16At(x, off + i), negHalfM, twoInvT));
        }
        return total;
    }

    /**
     * {@link #sumExp} on a binary16 row read by {@link HalfVectors#f16Scaled}:
     * only rows that {@link #readsScaled} admits.
     */
    static double sumExpF16(MemorySegment x, long off, int n, float negHalfM, float twoInvT,
                         float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            FloatVector comp = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector y = exp2OrZero(shiftF16(HalfVectors.f16Scaled(x, off + i), negHalfM, log2Scale));
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
            total += exp(shift(f16At(x, off + i), negHalfM, twoInvT));
        }
        return total;
    }

    /** {@link RowPasses#expStore} from a half row into a float32 row. */
    static double expStore(MemorySegment x, long xOff, MemorySegment out, long outOff, int n,
                           float negHalfM, float twoInvT, float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            FloatVector comp = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector e = exp2OrZero(shift(HalfVectors.loadBf16(x, xOff + i), negHalfM, log2Scale));
                store(e, out, outOff + i);
                FloatVector sum = acc.add(e);
                comp = comp.add(e.sub(sum.sub(acc)));
                acc = sum;
            }
            acc.intoArray(lanes, 0);
            double accSum = sumLanes(lanes);
            comp.intoArray(lanes, 0);
            total += accSum + sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float e = exp(shift(bf16At(x, xOff + i), negHalfM, twoInvT));
            put(out, outOff + i, e);
            total += e;
        }
        return total;
    }

    /**
     * {@link #expStore} on a binary16 row read by {@link HalfVectors#f16Scaled}:
     * only rows that {@link #readsScaled} admits.
     */
    static double expStoreF16(MemorySegment x, long xOff, MemorySegment out, long outOff, int n,
                           float negHalfM, float twoInvT, float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        int upper = F.loopBound(n);
        double total = 0;
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector acc = FloatVector.zero(F);
            FloatVector comp = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector e = exp2OrZero(shiftF16(HalfVectors.f16Scaled(x, xOff + i), negHalfM, log2Scale));
                store(e, out, outOff + i);
                FloatVector sum = acc.add(e);
                comp = comp.add(e.sub(sum.sub(acc)));
                acc = sum;
            }
            acc.intoArray(lanes, 0);
            double accSum = sumLanes(lanes);
            comp.intoArray(lanes, 0);
            total += accSum + sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float e = exp(shift(f16At(x, xOff + i), negHalfM, twoInvT));
            put(out, outOff + i, e);
            total += e;
        }
        return total;
    }

    /** {@link RowPasses#shiftStore} from a half row into a float32 row. */
    static void shiftStore(MemorySegment x, long xOff, MemorySegment out, long outOff, int n,
                           float negHalfM, float twoInvT, float logD) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            store(shift(HalfVectors.loadBf16(x, xOff + i), negHalfM, twoInvT).sub(logD), out, outOff + i);
        }
        for (; i < n; i++) {
            put(out, outOff + i, shift(bf16At(x, xOff + i), negHalfM, twoInvT) - logD);
        }
    }

    /**
     * {@link #shiftStore} on a binary16 row read by {@link HalfVectors#f16ScaledMasked}:
     * only rows that {@link #readsScaled} admits.
     */
    static void shiftStoreF16(MemorySegment x, long xOff, MemorySegment out, long outOff, int n,
                           float negHalfM, float twoInvT, float logD) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            store(shiftF16(HalfVectors.f16ScaledMasked(x, xOff + i), negHalfM, twoInvT).sub(logD), out, outOff + i);
        }
        for (; i < n; i++) {
            put(out, outOff + i, shift(f16At(x, xOff + i), negHalfM, twoInvT) - logD);
        }
    }

    /** {@link RowPasses#shiftStore} from a half row into a half row of type {@code outBf16}. */
    static void shiftStoreHalf(MemorySegment x, long xOff, boolean outBf16, MemorySegment out,
                               long outOff, int n, float negHalfM, float twoInvT, float logD) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            HalfVectors.store(outBf16, shift(HalfVectors.loadBf16(x, xOff + i), negHalfM, twoInvT).sub(logD), out,
                    outOff + i);
        }
        for (; i < n; i++) {
            putHalf(outBf16, out, outOff + i, shift(bf16At(x, xOff + i), negHalfM, twoInvT) - logD);
        }
    }

    /**
     * {@link #shiftStoreHalf} on a binary16 row read by {@link HalfVectors#f16ScaledMasked}:
     * only rows that {@link #readsScaled} admits.
     */
    static void shiftStoreHalfF16(MemorySegment x, long xOff, boolean outBf16, MemorySegment out,
                               long outOff, int n, float negHalfM, float twoInvT, float logD) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector y = shiftF16(HalfVectors.f16ScaledMasked(x, xOff + i), negHalfM, twoInvT).sub(logD);
            HalfVectors.store(outBf16, y, out, outOff + i);
        }
        for (; i < n; i++) {
            putHalf(outBf16, out, outOff + i, shift(f16At(x, xOff + i), negHalfM, twoInvT) - logD);
        }
    }

    /** {@link RowPasses#scale} of a float32 row {@code e}, rounded into a half row. */
    static void scaleHalf(MemorySegment e, boolean outBf16, MemorySegment out, long outOff, int n, float factor) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            HalfVectors.store(outBf16, SimdRows.load(e, i).mul(factor), out, outOff + i);
        }
        for (; i < n; i++) {
            putHalf(outBf16, out, outOff + i, get(e, i) * factor);
        }
    }

    /** {@code out_i = value} rounded to the half type {@code outBf16}; special rows only. */
    static void fillHalf(boolean outBf16, MemorySegment out, long outOff, int n, float value) {
        short h = outBf16 ? ScalarHalfKernels.toBf16(value) : Float.floatToFloat16(value);
        for (int i = 0; i < n; i++) {
            out.setAtIndex(I16, outOff + i, h);
        }
    }

    /** {@link RowPasses#entropySums} on a half row. */
    static void entropySums(MemorySegment x, long off, int n, float negHalfM, float twoInvT,
                            double[] acc, float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        int upper = F.loopBound(n);
        double d = 0;
        double t = 0; // the scalar tail, in nats
        double tLog2 = 0; // the vector blocks, in log2 units
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector dAcc = FloatVector.zero(F);
            FloatVector dComp = FloatVector.zero(F);
            FloatVector tAcc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector a = shift(HalfVectors.loadBf16(x, off + i), negHalfM, log2Scale);
                FloatVector e = exp2OrZero(a);
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
            tLog2 += sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float a = shift(bf16At(x, off + i), negHalfM, twoInvT);
            float e = exp(a);
            d += e;
            t += e == 0 ? 0 : e * a;
        }
        acc[0] = d;
        acc[1] = LN2 * tLog2 + t;
    }

    /**
     * {@link #entropySums} on a binary16 row read by {@link HalfVectors#f16Scaled}:
     * only rows that {@link #readsScaled} admits.
     */
    static void entropySumsF16(MemorySegment x, long off, int n, float negHalfM, float twoInvT,
                            double[] acc, float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        int upper = F.loopBound(n);
        double d = 0;
        double t = 0; // the scalar tail, in nats
        double tLog2 = 0; // the vector blocks, in log2 units
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector dAcc = FloatVector.zero(F);
            FloatVector dComp = FloatVector.zero(F);
            FloatVector tAcc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector a = shiftF16(HalfVectors.f16Scaled(x, off + i), negHalfM, log2Scale);
                FloatVector e = exp2OrZero(a);
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
            tLog2 += sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float a = shift(f16At(x, off + i), negHalfM, twoInvT);
            float e = exp(a);
            d += e;
            t += e == 0 ? 0 : e * a;
        }
        acc[0] = d;
        acc[1] = LN2 * tLog2 + t;
    }

    /** {@link RowPasses#expStoreEntropySums} from a half row into a float32 row. */
    static void expStoreEntropySums(MemorySegment x, long xOff, MemorySegment out, long outOff, int n,
                                    float negHalfM, float twoInvT, double[] acc, float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        int upper = F.loopBound(n);
        double d = 0;
        double t = 0; // the scalar tail, in nats
        double tLog2 = 0; // the vector blocks, in log2 units
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector dAcc = FloatVector.zero(F);
            FloatVector dComp = FloatVector.zero(F);
            FloatVector tAcc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector a = shift(HalfVectors.loadBf16(x, xOff + i), negHalfM, log2Scale);
                FloatVector e = exp2OrZero(a);
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
            tLog2 += sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float a = shift(bf16At(x, xOff + i), negHalfM, twoInvT);
            float e = exp(a);
            put(out, outOff + i, e);
            d += e;
            t += e == 0 ? 0 : e * a;
        }
        acc[0] = d;
        acc[1] = LN2 * tLog2 + t;
    }

    /**
     * {@link #expStoreEntropySums} on a binary16 row read by {@link HalfVectors#f16Scaled}:
     * only rows that {@link #readsScaled} admits.
     */
    static void expStoreEntropySumsF16(MemorySegment x, long xOff, MemorySegment out, long outOff, int n,
                                    float negHalfM, float twoInvT, double[] acc, float[] lanes) {
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        int upper = F.loopBound(n);
        double d = 0;
        double t = 0; // the scalar tail, in nats
        double tLog2 = 0; // the vector blocks, in log2 units
        for (int start = 0, end; start < upper; start = end) {
            end = blockEnd(start, upper);
            FloatVector dAcc = FloatVector.zero(F);
            FloatVector dComp = FloatVector.zero(F);
            FloatVector tAcc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector a = shiftF16(HalfVectors.f16Scaled(x, xOff + i), negHalfM, log2Scale);
                FloatVector e = exp2OrZero(a);
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
            tLog2 += sumLanes(lanes);
        }
        for (int i = upper; i < n; i++) {
            float a = shift(f16At(x, xOff + i), negHalfM, twoInvT);
            float e = exp(a);
            put(out, outOff + i, e);
            d += e;
            t += e == 0 ? 0 : e * a;
        }
        acc[0] = d;
        acc[1] = LN2 * tLog2 + t;
    }

    /** {@link #entropySums} or its binary16 twin. */
    private static void entropySums(boolean bf16, MemorySegment x, long off, int n, float negHalfM, float twoInvT,
                                    double[] acc, float[] lanes) {
        if (bf16) {
            entropySums(x, off, n, negHalfM, twoInvT, acc, lanes);
        } else {
            entropySumsF16(x, off, n, negHalfM, twoInvT, acc, lanes);
        }
    }

    // ---------------------------------------------------------------- binary16 rows the scaled loops cannot read

    /** The float32 kernels, for the binary16 rows that {@link #readsScaled} turns away. */
    private static final SimdSoftmaxKernels FLOAT32 = new SimdSoftmaxKernels();
    private static final SimdScoringKernels SCORING = new SimdScoringKernels();

    /**
     * Whether the binary16 exp loops ({@code …F16}) may read the row {@link HalfVectors#f16Scaled}, given its maximum
     * {@code m} from the key pass (NaN where the keys could not tell): when {@code m} is finite (no NaN, no
     * {@code +inf}, not wholly masked, not a zero maximum whose sign the float pass decides) and a masked token,
     * read as −2^16, still gets an exp of exactly 0, as {@code −inf} does in the float32 loops: its argument below
     * {@link VectorExp2#LOW}, computed with the loops' own fma and multiply. That fails only for a maximum within
     * about 80·T of −2^16, or a temperature in the hundreds.
     */
    private static boolean readsScaled(float m, float invT) {
        float masked = Math.fma(HalfVectors.F16_SCALED_NEG_INF, HalfVectors.F16_HALF_SCALE, -0.5f * m)
                * log2ScaleOfTwoInvT(2f * invT);
        return Float.isFinite(m) && masked < VectorExp2.LOW;
    }

    /** The row maximum for the exp loops, or NaN where a binary16 row must be read widened ({@link #readsScaled}). */
    private static float loopMax(boolean bf16, MemorySegment x, long off, int n, float invT) {
        if (bf16) {
            return max(true, x, off, n);
        }
        float m = HalfKeyPasses.max(DType.F16, x, off, n);
        return readsScaled(m, invT) ? m : Float.NaN;
    }

    /** {@link #maxAndMin} for the exp loops into {@code acc}; false where a binary16 row must be read widened. */
    private static boolean loopMaxAndMin(boolean bf16, MemorySegment x, long off, int n, float invT, double[] acc) {
        if (bf16) {
            maxAndMin(true, x, off, n, acc);
            return true;
        }
        return HalfKeyPasses.maxAndMin(DType.F16, x, off, n, acc) && readsScaled((float) acc[0], invT);
    }

    /** A float32 kernel writing a row of {@code n} floats at element {@code outOff} of {@code out}. */
    private interface Float32Op {
        void run(MemorySegment widened, MemorySegment out, long outOff);
    }

    /**
     * {@code op} on the binary16 row widened into this thread's kernel row, writing {@code out} (of {@code outType})
     * through a second kernel row when it is half: the float32 kernel's bits on the widened row, rounded once.
     */
    private void onWidened(MemorySegment x, long xOff, DType outType, MemorySegment out, long outOff, int n,
                           Float32Op op) {
        MemorySegment w = widened(x, xOff, n);
        if (outType == DType.F32) {
            op.run(w, out, outOff);
            return;
        }
        MemorySegment o = HalfRows.kernelRow(1, n);
        op.run(w, o, 0);
        narrow(outType, o, 0, out, outOff, n);
    }

    private static MemorySegment widened(MemorySegment x, long xOff, int n) {
        return HalfWidening.intoKernelRow(DType.F16, x, xOff, n, 0);
    }

    // ---------------------------------------------------------------- the ops

    @Override
    public double logSumExp(DType type, MemorySegment x, long xOff, int n, float invT) {
        boolean bf16 = isBf16(type);
        float m = loopMax(bf16, x, xOff, n, invT);
        if (Float.isNaN(m)) {
            return FLOAT32.logSumExp(widened(x, xOff, n), 0, n, invT);
        }
        float negHalfM = -0.5f * m;
        float twoInvT = 2f * invT;
        double d = bf16 ? sumExp(x, xOff, n, negHalfM, twoInvT, Workspace.get().lanes)
                : sumExpF16(x, xOff, n, negHalfM, twoInvT, Workspace.get().lanes);
        return Double.isNaN(d) ? Double.NaN : (double) m * invT + Math.log(d);
    }

    @Override
    public void softmax(DType type, MemorySegment x, long xOff, DType outType, MemorySegment out, long outOff, int n,
                        float invT) {
        boolean bf16 = isBf16(type);
        float m = loopMax(bf16, x, xOff, n, invT);
        if (Float.isNaN(m)) {
            onWidened(x, xOff, outType, out, outOff, n, (w, o, oOff) -> FLOAT32.softmax(w, 0, o, oOff, n, invT));
            return;
        }
        Workspace ws = Workspace.get();
        if (outType == DType.F32) {
            MemorySegment dst = target(out, n, ws);
            long dstOff = targetOffset(dst, out, outOff);
            double d = bf16 ? expStore(x, xOff, dst, dstOff, n, -0.5f * m, 2f * invT, ws.lanes)
                    : expStoreF16(x, xOff, dst, dstOff, n, -0.5f * m, 2f * invT, ws.lanes);
            if (Double.isNaN(d)) {
                fill(dst, dstOff, n, Float.NaN);
            } else {
                scale(dst, dstOff, n, (float) (1.0 / d));
            }
            publish(dst, out, outOff, n);
            return;
        }
        boolean outBf16 = isBf16(outType);
        MemorySegment e = ws.staging(n);
        double d = bf16 ? expStore(x, xOff, e, 0, n, -0.5f * m, 2f * invT, ws.lanes)
                : expStoreF16(x, xOff, e, 0, n, -0.5f * m, 2f * invT, ws.lanes);
        MemorySegment dst = halfTarget(out, n, ws);
        long dstOff = dst == out ? outOff : 0;
        if (Double.isNaN(d)) {
            fillHalf(outBf16, dst, dstOff, n, Float.NaN);
        } else {
            scaleHalf(e, outBf16, dst, dstOff, n, (float) (1.0 / d));
        }
        publishHalf(dst, out, outOff, n);
    }

    @Override
    public void logSoftmax(DType type, MemorySegment x, long xOff, DType outType, MemorySegment out, long outOff,
                           int n, float invT) {
        boolean bf16 = isBf16(type);
        float m = loopMax(bf16, x, xOff, n, invT);
        if (Float.isNaN(m)) {
            onWidened(x, xOff, outType, out, outOff, n, (w, o, oOff) -> FLOAT32.logSoftmax(w, 0, o, oOff, n, invT));
            return;
        }
        Workspace ws = Workspace.get();
        float negHalfM = -0.5f * m;
        float twoInvT = 2f * invT;
        double d = bf16 ? sumExp(x, xOff, n, negHalfM, twoInvT, ws.lanes)
                : sumExpF16(x, xOff, n, negHalfM, twoInvT, ws.lanes);
        writeLogSoftmax(bf16, x, xOff, outType, out, outOff, n, -0.5f * m, 2f * invT, d, ws);
    }

    /** The log-softmax pass shared by {@link #logSoftmax} and {@link #softmaxStats}: {@code d} NaN is a special row. */
    private static void writeLogSoftmax(boolean bf16, MemorySegment x, long xOff, DType outType, MemorySegment out,
                                        long outOff, int n, float negHalfM, float twoInvT, double d, Workspace ws) {
        if (outType == DType.F32) {
            MemorySegment dst = target(out, n, ws);
            long dstOff = targetOffset(dst, out, outOff);
            if (Double.isNaN(d)) {
                fill(dst, dstOff, n, Float.NaN);
            } else {
                float logD = (float) Math.log(d);
                if (bf16) {
                    shiftStore(x, xOff, dst, dstOff, n, negHalfM, twoInvT, logD);
                } else {
                    shiftStoreF16(x, xOff, dst, dstOff, n, negHalfM, twoInvT, logD);
                }
            }
            publish(dst, out, outOff, n);
            return;
        }
        boolean outBf16 = isBf16(outType);
        MemorySegment dst = halfTarget(out, n, ws);
        long dstOff = dst == out ? outOff : 0;
        if (Double.isNaN(d)) {
            fillHalf(outBf16, dst, dstOff, n, Float.NaN);
        } else {
            float logD = (float) Math.log(d);
            if (bf16) {
                shiftStoreHalf(x, xOff, outBf16, dst, dstOff, n, negHalfM, twoInvT, logD);
            } else {
                shiftStoreHalfF16(x, xOff, outBf16, dst, dstOff, n, negHalfM, twoInvT, logD);
            }
        }
        publishHalf(dst, out, outOff, n);
    }

    /**
     * {@link SimdSoftmaxKernels#softmaxStats}: the same passes and the same fallback (the reference entropy
     * on rows spread over more than its extreme limit). A half softmax output gets its exps in the staging row and
     * is scaled and rounded from there.
     */
    @Override
    public void softmaxStats(DType type, MemorySegment x, long xOff, DType outType, MemorySegment out, long outOff,
                             int n, float invT, boolean log, double[] stats) {
        boolean bf16 = isBf16(type);
        Workspace ws = Workspace.get();
        if (!loopMaxAndMin(bf16, x, xOff, n, invT, ws.acc)) {
            onWidened(x, xOff, outType, out, outOff, n,
                    (w, o, oOff) -> FLOAT32.softmaxStats(w, 0, o, oOff, n, invT, log, stats));
            return;
        }
        boolean extreme = extreme(ws.acc, invT);
        // Read before anything is written: out may alias x.
        double extremeEntropy = extreme ? ScalarHalfKernels.INSTANCE.entropy(type, x, xOff, n, invT) : Double.NaN;
        float m = (float) ws.acc[0];
        float negHalfM = -0.5f * m;
        float twoInvT = 2f * invT;
        boolean f32Out = outType == DType.F32;
        MemorySegment e = null;
        long eOff = 0;
        if (log) {
            entropySums(bf16, x, xOff, n, negHalfM, twoInvT, ws.acc, ws.lanes);
        } else {
            e = f32Out ? target(out, n, ws) : ws.staging(n);
            eOff = e == out ? outOff : 0;
            if (bf16) {
                expStoreEntropySums(x, xOff, e, eOff, n, negHalfM, twoInvT, ws.acc, ws.lanes);
            } else {
                expStoreEntropySumsF16(x, xOff, e, eOff, n, negHalfM, twoInvT, ws.acc, ws.lanes);
            }
        }
        double d = ws.acc[0];
        double logD = Math.log(d);
        if (Double.isNaN(d)) {
            stats[0] = Double.NaN;
            stats[1] = Double.NaN;
            stats[2] = Double.NaN;
        } else {
            stats[2] = extreme ? extremeEntropy : logD - ws.acc[1] / d;
            stats[0] = m;
            stats[1] = (double) m * invT + logD;
        }
        if (log) {
            writeLogSoftmax(bf16, x, xOff, outType, out, outOff, n, negHalfM, twoInvT, d, ws);
        } else if (f32Out) {
            if (Double.isNaN(d)) {
                fill(e, eOff, n, Float.NaN);
            } else {
                scale(e, eOff, n, (float) (1.0 / d));
            }
            publish(e, out, outOff, n);
        } else {
            boolean outBf16 = isBf16(outType);
            MemorySegment dst = halfTarget(out, n, ws);
            long dstOff = dst == out ? outOff : 0;
            if (Double.isNaN(d)) {
                fillHalf(outBf16, dst, dstOff, n, Float.NaN);
            } else {
                scaleHalf(e, outBf16, dst, dstOff, n, (float) (1.0 / d));
            }
            publishHalf(dst, out, outOff, n);
        }
    }

    /** {@code SimdSelectionKernels.maxOrNaN} on a half row: the maximum, NaN if any element is NaN. */
    static float maxOrNaN(boolean bf16, MemorySegment x, long off, int n) {
        FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            acc = acc.max(HalfVectors.load(bf16, x, off + i));
        }
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            m = Math.max(m, half(bf16, x, off + i));
        }
        return m;
    }

    /** The first index whose element equals {@code m} (which occurs in the row). */
    static int firstEqual(boolean bf16, MemorySegment x, long off, int n, float m) {
        int upper = F.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            VectorMask<Float> hit = HalfVectors.load(bf16, x, off + i).compare(EQ, m);
            if (hit.anyTrue()) {
                return i + hit.firstTrue();
            }
        }
        for (; i < n; i++) {
            if (half(bf16, x, off + i) == m) {
                return i;
            }
        }
        return -1; // unreachable: m is one of the elements
    }

    /** {@code SimdSelectionKernels.argmax} on a half row: one pass for the maximum, one for its first index. */
    @Override
    public int argmax(DType type, MemorySegment x, long xOff, int n) {
        boolean bf16 = isBf16(type);
        float m = maxOrNaN(bf16, x, xOff, n);
        if (m == Float.POSITIVE_INFINITY || m == Float.NEGATIVE_INFINITY || Float.isNaN(m)) {
            return -1;
        }
        return firstEqual(bf16, x, xOff, n, m);
    }

    /** {@link SimdSoftmaxKernels#entropy} without a gradient. */
    @Override
    public double entropy(DType type, MemorySegment x, long xOff, int n, float invT) {
        boolean bf16 = isBf16(type);
        Workspace ws = Workspace.get();
        if (!loopMaxAndMin(bf16, x, xOff, n, invT, ws.acc)) {
            return FLOAT32.entropy(widened(x, xOff, n), 0, n, invT, null, 0, 0f);
        }
        if (extreme(ws.acc, invT)) {
            return ScalarHalfKernels.INSTANCE.entropy(type, x, xOff, n, invT);
        }
        float m = (float) ws.acc[0];
        float negHalfM = -0.5f * m;
        float twoInvT = 2f * invT;
        entropySums(bf16, x, xOff, n, negHalfM, twoInvT, ws.acc, ws.lanes);
        double d = ws.acc[0];
        double logD = Math.log(d);
        double h = logD - ws.acc[1] / d;
        if (!Double.isFinite(h)) {
            return ScalarHalfKernels.INSTANCE.entropy(type, x, xOff, n, invT);
        }
        return h;
    }

    /** {@link HalfWidening}'s vector loop of the type: lanes of {@link HalfVectors}' exact conversions. */
    @Override
    public void widen(DType type, MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        if (type == DType.BF16) {
            HalfWidening.widenBf16(src, srcOff, dst, dstOff, n);
        } else {
            HalfWidening.widenF16(src, srcOff, dst, dstOff, n);
        }
    }

    /** {@link HalfWidening}'s vector loop of the type; see {@link HalfKernels#narrow}. */
    @Override
    public void narrow(DType type, MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        if (type == DType.BF16) {
            HalfWidening.narrowBf16(src, srcOff, dst, dstOff, n);
        } else {
            HalfWidening.narrowF16(src, srcOff, dst, dstOff, n);
        }
    }

    /**
     * {@link SimdScoringKernels#tokenLogprob} on a half row, each element widened in registers as it is read: the
     * one-read streaming max and sum of {@link RowPasses#maxSumExpStreaming}, block for block, so the bits are the
     * float32 kernel's on the widened row. Measured against a variant that widened each block into an L1-sized float32
     * chunk and ran {@link RowPasses}' blocks on it: bf16 1.95 against 2.57 ms (float32 1.86) per 32 × 128256, since
     * the chunk's widening is a pass of its own that the exps do not overlap.
     */
    @Override
    public double tokenLogprob(DType type, MemorySegment x, long xOff, int n, int id) {
        Workspace ws = Workspace.get();
        boolean bf16 = isBf16(type);
        double d = maxSumExpStreaming(bf16, x, xOff, n, ws);
        if (!bf16 && Double.isNaN(d)) { // a NaN or ±inf row, a reference too low for the scaled read: float32's pass
            return SCORING.tokenLogprob(widened(x, xOff, n), 0, n, id);
        }
        float m = ws.pairMax[0];
        return Double.isNaN(d) ? Double.NaN : ((double) half(bf16, x, xOff + id) - m) - Math.log(d);
    }

    /**
     * {@link RowPasses#maxSumExpStreaming} at temperature 1 on a half row, block for block, each type in block loops of
     * its own (chosen per block, not per vector). Binary16 blocks read {@link HalfVectors#f16Scaled} lanes (2^−112
     * times every finite value, exactly): the block maxima compare them (order-preserving; a block whose maximum is a
     * masked token's scaled −2^16 has nothing live) and the block sums fold 2^112 into the shift, so the bits are the
     * float32 kernel's on the widened row. On binary16, NaN, for the caller to run the float32 pass, on a row with a NaN
     * or {@code +inf} (the maxima also follow the largest magnitude) or whose first reference is too low for a masked
     * token's exp to be 0 ({@link #readsScaled}; later references are higher). 32 × 128256, one thread: binary16
     * 1.85–1.87 ms (bfloat16 1.72–1.79, float32 1.60–1.63, the widened copy 2.73–2.74); a first pass over the 16-bit
     * keys for the row maximum, to refuse special rows before reading, made it 2.39–2.51.
     */
    static double maxSumExpStreaming(boolean bf16, MemorySegment x, long off, int n, Workspace ws) {
        ws.pairMax[1] = 0f; // binary16: the largest magnitude's bits seen so far
        float log2Scale = log2ScaleOfTwoInvT(2f);
        float m = Float.NEGATIVE_INFINITY;
        float ref = 0f;
        boolean shifted = false; // whether ref is a maximum the row has shown (else the placeholder 0)
        double d = 0;
        int upper = F.loopBound(n);
        for (int start = 0, end = 0; ; start = end) {
            boolean tail = start >= upper;
            if (!tail) {
                end = blockEnd(start, upper);
                m = bf16 ? maxBlockBf16(x, off, start, end, m) : maxBlockF16(x, off, start, end, m, ws.pairMax);
            } else {
                for (int i = upper; i < n; i++) {
                    float v = half(bf16, x, off + i);
                    m = v > m ? v : m;
                }
            }
            if (m != Float.NEGATIVE_INFINITY && (!shifted || m != ref)) {
                if (shifted) {
                    d *= Math.exp(-((double) m - ref));
                } else if (!bf16 && !readsScaled(m, 1f)) {
                    return Double.NaN;
                }
                ref = m;
                shifted = true;
            }
            float negHalfM = -0.5f * ref;
            if (!tail) {
                d += bf16 ? sumExpBlockBf16(x, off, start, end, negHalfM, log2Scale, ws.lanes)
                        : sumExpBlockF16(x, off, start, end, negHalfM, log2Scale, ws.lanes);
            } else {
                for (int i = upper; i < n; i++) {
                    d += exp(shift(half(bf16, x, off + i), negHalfM, 2f));
                }
                break;
            }
        }
        ws.pairMax[0] = m;
        boolean special = !bf16 && (ws.pairMax[1] > F16_INF_BITS || m > 65504f);
        return shifted && !special ? d : Double.NaN;
    }

    /** The magnitude bits of binary16 infinity; a NaN's are higher. */
    private static final int F16_INF_BITS = 0x7C00;

    /**
     * {@link #maxBlock} on a binary16 row, compared on the scaled lanes; raises {@code magnitude[1]} to the largest
     * magnitude's bits in the block (a NaN of either sign shows there, as it does not among the maxima).
     */
    static float maxBlockF16(MemorySegment x, long off, int start, int end, float running, float[] magnitude) {
        FloatVector m = FloatVector.broadcast(F, running * 0x1p-112f);
        IntVector mag = IntVector.zero(HalfVectors.I);
        for (int i = start; i < end; i += L) {
            IntVector h = HalfVectors.loadBits(x, off + i);
            mag = mag.max(h.and(0x7FFF));
            FloatVector v = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000).reinterpretAsFloats();
            m = m.blend(v, v.compare(GT, m));
        }
        magnitude[1] = Math.max(magnitude[1], mag.reduceLanes(VectorOperators.MAX));
        float scaled = m.reduceLanes(VectorOperators.MAX);
        return scaled == HalfVectors.F16_SCALED_NEG_INF ? running : scaled * 0x1p112f;
    }

    /**
     * {@link #sumExpBlock} on a binary16 row that {@link #readsScaled} admits, {@code log2Scale} from
     * {@link VectorExp2#log2ScaleOfTwoInvT}: the binary16 blocks of {@link #maxSumExpStreaming}. {@link #sumExpF16} keeps its
     * own copy of this loop: calling it per block measured 0–6 % slower there (logsumexp, three alternations, within
     * the host's noise but never faster).
     */
    static double sumExpBlockF16(MemorySegment x, long off, int start, int end, float negHalfM, float log2Scale,
                                 float[] lanes) {
        FloatVector acc = FloatVector.zero(F);
        FloatVector comp = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector y = exp2OrZero(shiftF16(HalfVectors.f16Scaled(x, off + i), negHalfM, log2Scale));
            FloatVector sum = acc.add(y);
            comp = comp.add(y.sub(sum.sub(acc)));
            acc = sum;
        }
        acc.intoArray(lanes, 0);
        double accSum = sumLanes(lanes);
        comp.intoArray(lanes, 0);
        return accSum + sumLanes(lanes);
    }

    /** {@link RowPasses#maxBlock} on a bfloat16 row. */
    static float maxBlockBf16(MemorySegment x, long off, int start, int end, float running) {
        FloatVector m = FloatVector.broadcast(F, running);
        for (int i = start; i < end; i += L) {
            FloatVector v = HalfVectors.loadBf16(x, off + i);
            m = m.blend(v, v.compare(GT, m));
        }
        return m.reduceLanes(VectorOperators.MAX);
    }

    /** {@link RowPasses#sumExpBlock} on a bfloat16 row, {@code log2Scale} from {@link VectorExp2#log2ScaleOfTwoInvT}. */
    static double sumExpBlockBf16(MemorySegment x, long off, int start, int end, float negHalfM, float log2Scale,
                                  float[] lanes) {
        FloatVector acc = FloatVector.zero(F);
        FloatVector comp = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector y = exp2OrZero(shift(HalfVectors.loadBf16(x, off + i), negHalfM, log2Scale));
            FloatVector sum = acc.add(y);
            comp = comp.add(y.sub(sum.sub(acc)));
            acc = sum;
        }
        acc.intoArray(lanes, 0);
        double accSum = sumLanes(lanes);
        comp.intoArray(lanes, 0);
        return accSum + sumLanes(lanes);
    }
}
