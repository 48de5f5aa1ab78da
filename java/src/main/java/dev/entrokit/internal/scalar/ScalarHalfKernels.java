package dev.entrokit.internal.scalar;

import dev.entrokit.DType;
import dev.entrokit.internal.HalfKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The reference on half rows: {@link ScalarSoftmaxKernels}' arithmetic, line for line, with each element
 * widened exactly to float32 (then to double) as it is read, and each output rounded to float32 and then, for a
 * half output, to the half type. Results are therefore bitwise those of {@code ScalarSoftmaxKernels} on the
 * widened row, and a half output is that float32 output rounded once more.
 *
 * <p>Also the scalar conversions the SIMD kernels use for their tails and their tests check against.
 */
public final class ScalarHalfKernels implements HalfKernels {
    /** Shared: the kernels hold no state. */
    public static final ScalarHalfKernels INSTANCE = new ScalarHalfKernels();

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    // ---------------------------------------------------------------- conversions

    /** bfloat16 bits to float32, exact: {@link DType#widen} of {@link DType#BF16}. */
    public static float fromBf16(short h) {
        return DType.BF16.widen(h);
    }

    /** float32 to bfloat16 bits, rounded to nearest even: {@link DType#narrow} of {@link DType#BF16}. */
    public static short toBf16(float f) {
        return DType.BF16.narrow(f);
    }

    /** Half bits of {@code type} ({@link DType#BF16} or {@link DType#F16}) to float32, exact ({@link DType#widen}). */
    public static float widen(DType type, short h) {
        return type.widen(h);
    }

    /** float32 to the half {@code type}, rounded to nearest even ({@link DType#narrow}). */
    public static short narrow(DType type, float f) {
        return type.narrow(f);
    }

    private static double get(DType type, MemorySegment seg, long i) {
        return widen(type, seg.getAtIndex(I16, i));
    }

    private static void put(DType outType, MemorySegment seg, long i, double v) {
        float f = (float) v;
        if (outType == DType.F32) {
            seg.setAtIndex(F32, i, f);
        } else {
            seg.setAtIndex(I16, i, narrow(outType, f));
        }
    }

    // ---------------------------------------------------------------- ScalarSoftmaxKernels' blocks

    /** The row's maximum, or NaN when SPEC §1 makes the whole row NaN (a NaN, a +inf, or all -inf). */
    static double rowMax(DType type, MemorySegment x, long off, int n) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            double v = get(type, x, off + i);
            if (Double.isNaN(v) || v == Double.POSITIVE_INFINITY) {
                return Double.NaN;
            }
            m = Math.max(m, v);
        }
        return m == Double.NEGATIVE_INFINITY ? Double.NaN : m;
    }

    /** {@code d = Σ exp((x_i − m)/T)}. */
    static double sumExp(DType type, MemorySegment x, long off, int n, double m, double invT) {
        double d = 0;
        for (int i = 0; i < n; i++) {
            d += Math.exp((get(type, x, off + i) - m) * invT);
        }
        return d;
    }

    private static void fillNaN(DType outType, MemorySegment out, long off, int n) {
        for (int i = 0; i < n; i++) {
            put(outType, out, off + i, Double.NaN);
        }
    }

    // ---------------------------------------------------------------- the ops

    @Override
    public double logSumExp(DType type, MemorySegment x, long xOff, int n, float invT) {
        double m = rowMax(type, x, xOff, n);
        if (Double.isNaN(m)) {
            return Double.NaN;
        }
        return m * invT + Math.log(sumExp(type, x, xOff, n, m, invT));
    }

    @Override
    public void softmax(DType type, MemorySegment x, long xOff, DType outType, MemorySegment out, long outOff, int n,
                        float invT) {
        double m = rowMax(type, x, xOff, n);
        if (Double.isNaN(m)) {
            fillNaN(outType, out, outOff, n);
            return;
        }
        double d = sumExp(type, x, xOff, n, m, invT);
        for (int i = 0; i < n; i++) {
            put(outType, out, outOff + i, Math.exp((get(type, x, xOff + i) - m) * invT) / d);
        }
    }

    @Override
    public void logSoftmax(DType type, MemorySegment x, long xOff, DType outType, MemorySegment out, long outOff,
                           int n, float invT) {
        double m = rowMax(type, x, xOff, n);
        if (Double.isNaN(m)) {
            fillNaN(outType, out, outOff, n);
            return;
        }
        double logD = Math.log(sumExp(type, x, xOff, n, m, invT));
        for (int i = 0; i < n; i++) {
            put(outType, out, outOff + i, (get(type, x, xOff + i) - m) * invT - logD);
        }
    }

    @Override
    public void softmaxStats(DType type, MemorySegment x, long xOff, DType outType, MemorySegment out, long outOff,
                             int n, float invT, boolean log, double[] stats) {
        // Statistics first: out may alias x. Each is the standalone op's own arithmetic, as in the float32 reference.
        double h = entropy(type, x, xOff, n, invT);
        double lse = logSumExp(type, x, xOff, n, invT);
        double m = rowMax(type, x, xOff, n);
        stats[0] = Double.isNaN(h) ? Double.NaN : m;
        stats[1] = Double.isNaN(h) ? Double.NaN : lse;
        stats[2] = h;
        if (log) {
            logSoftmax(type, x, xOff, outType, out, outOff, n, invT);
        } else {
            softmax(type, x, xOff, outType, out, outOff, n, invT);
        }
    }

    /** {@code ScalarSelectionKernels}' greedy pass on the widened elements. */
    @Override
    public int argmax(DType type, MemorySegment x, long xOff, int n) {
        int best = -1;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float z = widen(type, x.getAtIndex(I16, xOff + i));
            if (Float.isNaN(z) || z == Float.POSITIVE_INFINITY) {
                return -1;
            }
            if (z > max) { // strict: the first of equal maxima wins
                max = z;
                best = i;
            }
        }
        return best;
    }

    @Override
    public double entropy(DType type, MemorySegment x, long xOff, int n, float invT) {
        double m = rowMax(type, x, xOff, n);
        if (Double.isNaN(m)) {
            return Double.NaN;
        }
        double logD = Math.log(sumExp(type, x, xOff, n, m, invT));
        double h = 0;
        for (int i = 0; i < n; i++) {
            double logP = (get(type, x, xOff + i) - m) * invT - logD;
            if (logP != Double.NEGATIVE_INFINITY) { // 0 · log 0 = 0
                h -= Math.exp(logP) * logP;
            }
        }
        return h;
    }

    /** The plain loop of {@link DType#widen}, element by element. */
    @Override
    public void widen(DType type, MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        if (type == DType.BF16) {
            for (int i = 0; i < n; i++) {
                dst.setAtIndex(F32, dstOff + i, Float.intBitsToFloat(src.getAtIndex(I16, srcOff + i) << 16));
            }
        } else {
            for (int i = 0; i < n; i++) {
                dst.setAtIndex(F32, dstOff + i, Float.float16ToFloat(src.getAtIndex(I16, srcOff + i)));
            }
        }
    }

    /** The plain loop of {@link DType#narrow}, element by element. */
    @Override
    public void narrow(DType type, MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        for (int i = 0; i < n; i++) {
            dst.setAtIndex(I16, dstOff + i, type.narrow(src.getAtIndex(F32, srcOff + i)));
        }
    }

    /** {@code ScalarScoringKernels.tokenLogprob} on the widened elements. */
    @Override
    public double tokenLogprob(DType type, MemorySegment x, long xOff, int n, int id) {
        double m = rowMax(type, x, xOff, n);
        if (Double.isNaN(m)) {
            return Double.NaN;
        }
        return (get(type, x, xOff + id) - m) - Math.log(sumExp(type, x, xOff, n, m, 1.0));
    }
}
