package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.BLOCK;
import static dev.entrokit.internal.simd.SimdConstants.D;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.ORDER;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Memory access, lane sums and output staging shared by every SIMD kernel family: the small
 * helpers each hot loop calls, kept apart so that the family files read as the ops.
 */
final class SimdRows {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private SimdRows() {
    }



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
     * reaches about the row's spread, at most {@link RowPasses#EXTREME_SPREAD} + log V < 2^15 on rows the float32
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

    /** Half {@code part} (0 or 1) of a float vector, widened to doubles. */
    static DoubleVector toDouble(FloatVector v, int part) {
        return (DoubleVector) v.convertShape(VectorOperators.F2D, D, part);
    }

    /** Two double vectors narrowed back into one float vector (low half from {@code lo}). */
    static FloatVector toFloat(DoubleVector lo, DoubleVector hi) {
        FloatVector low = (FloatVector) lo.convertShape(VectorOperators.D2F, F, 0);
        FloatVector high = (FloatVector) hi.convertShape(VectorOperators.D2F, F, -1);
        return low.blend(high, SimdConstants.UPPER_HALF);
    }
}
