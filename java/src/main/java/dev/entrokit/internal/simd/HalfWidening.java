package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdConstants.ORDER;

import dev.entrokit.DType;
import dev.entrokit.internal.HalfRows;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Whole runs of half elements widened to float32 and float32 narrowed to half, for the rows that the float32
 * kernels read from a per-thread copy ({@code HalfRows}). Each method gives, element for element, the bits of
 * {@link DType#widen} / {@link DType#narrow}, NaN payloads included (the exhaustive tests hold them to that), so a
 * row converted here is the row the scalar loops give, bit for bit.
 *
 * <p>bfloat16 conversions are bit arithmetic in {@code DType} itself and are matched lane for lane, NaNs included;
 * binary16 rows holding a NaN go to the scalar conversion (see {@link #widenF16}).
 *
 * <p>One loop per method and one half type per method: a loop that chose its conversion per lane block from a
 * flag would share one profile between the two types, which is how the in-register kernels once came to box
 * their vectors. The tails (fewer than {@link SimdConstants#L} elements) take the scalar conversions.
 */
final class HalfWidening {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private HalfWidening() {
    }

    /**
     * The half row of {@code type} (BF16 or F16) at element {@code off} of {@code x}, {@code n} elements, widened into
     * this thread's kernel buffer {@code which} ({@link HalfRows#kernelRow(int, int)}): for the kernels that give a
     * half row to their float32 loops. Element 0 of the result is element {@code off}.
     */
    static MemorySegment intoKernelRow(DType type, MemorySegment x, long off, int n, int which) {
        MemorySegment row = HalfRows.kernelRow(which, n);
        if (type == DType.BF16) {
            widenBf16(x, off, row, 0, n);
        } else {
            widenF16(x, off, row, 0, n);
        }
        return row;
    }

    /** bfloat16 elements {@code [srcOff, srcOff + n)} of {@code src} as float32 at element {@code dstOff} of {@code dst}. */
    static void widenBf16(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        int upper = n - n % L;
        int i = 0;
        for (; i < upper; i += L) {
            HalfVectors.fromBf16(HalfVectors.loadBits(src, srcOff + i)).intoMemorySegment(dst, (dstOff + i) * Float.BYTES, ORDER);
        }
        for (; i < n; i++) {
            dst.setAtIndex(F32, dstOff + i, DType.BF16.widen(src.getAtIndex(I16, srcOff + i)));
        }
    }

    /**
     * binary16 elements {@code [srcOff, srcOff + n)} of {@code src} as float32 at element {@code dstOff} of
     * {@code dst}. A row holding a NaN is converted again by the scalar loop: what {@link Float#float16ToFloat}
     * makes of a NaN's payload depends on the platform (x86's intrinsic quiets a signalling NaN, the Java code does
     * not), and a NaN row is a special row, rare enough that one lane maximum per vector (instead of a test and a
     * branch per vector) is the cheaper way to find it.
     */
    static void widenF16(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        int upper = n - n % L;
        IntVector worst = IntVector.zero(HalfVectors.I);
        int i = 0;
        for (; i < upper; i += L) {
            IntVector h = HalfVectors.loadBits(src, srcOff + i);
            worst = worst.max(h.and(0x7FFF));
            HalfVectors.fromF16(h).intoMemorySegment(dst, (dstOff + i) * Float.BYTES, ORDER);
        }
        if (worst.reduceLanes(VectorOperators.MAX) > 0x7C00) {
            i = 0;
        }
        widenF16Scalar(src, srcOff + i, dst, dstOff + i, n - i);
    }

    private static void widenF16Scalar(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        for (int i = 0; i < n; i++) {
            dst.setAtIndex(F32, dstOff + i, Float.float16ToFloat(src.getAtIndex(I16, srcOff + i)));
        }
    }

    /** float32 elements {@code [srcOff, srcOff + n)} of {@code src} rounded to bfloat16 at element {@code dstOff} of {@code dst}. */
    static void narrowBf16(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        int upper = n - n % L;
        int i = 0;
        for (; i < upper; i += L) {
            IntVector h = HalfVectors.toBf16(FloatVector.fromMemorySegment(SimdConstants.F, src, (srcOff + i) * Float.BYTES, ORDER));
            ((ShortVector) h.convertShape(VectorOperators.I2S, HalfVectors.S, 0))
                    .intoMemorySegment(dst, (dstOff + i) * Short.BYTES, ORDER);
        }
        for (; i < n; i++) {
            dst.setAtIndex(I16, dstOff + i, DType.BF16.narrow(src.getAtIndex(F32, srcOff + i)));
        }
    }

    /**
     * float32 elements {@code [srcOff, srcOff + n)} of {@code src} rounded to binary16 at element {@code dstOff} of
     * {@code dst}. A row holding a NaN is converted again by the scalar loop, for the reason {@link #widenF16}
     * gives ({@link Float#floatToFloat16} keeps a NaN's payload in a platform's own way).
     */
    static void narrowF16(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        int upper = n - n % L;
        IntVector worst = IntVector.zero(HalfVectors.I);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(SimdConstants.F, src, (srcOff + i) * Float.BYTES, ORDER);
            worst = worst.max(v.reinterpretAsInts().and(0x7FFFFFFF));
            ((ShortVector) HalfVectors.toF16(v).convertShape(VectorOperators.I2S, HalfVectors.S, 0))
                    .intoMemorySegment(dst, (dstOff + i) * Short.BYTES, ORDER);
        }
        if (worst.reduceLanes(VectorOperators.MAX) > 0x7F800000) {
            i = 0;
        }
        narrowF16Scalar(src, srcOff + i, dst, dstOff + i, n - i);
    }

    private static void narrowF16Scalar(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        for (int i = 0; i < n; i++) {
            dst.setAtIndex(I16, dstOff + i, Float.floatToFloat16(src.getAtIndex(F32, srcOff + i)));
        }
    }
}
