package dev.entrokit;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.Buffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;

/**
 * A strided view over a {@link MemorySegment}: rank 1 ({@code [n]}), rank 2 ({@code [rows, cols]}) or
 * rank 3 ({@code [batch, rows, cols]}). Rows are contiguous; consecutive rows are {@link #rowStride()}
 * elements apart, so a view can skip padding or pick every other row of a larger buffer.
 *
 * <p>A tensor owns nothing: the segment's arena decides its lifetime. Segments that worker threads
 * read must come from a shared or global arena (a confined arena's segment throws
 * {@code WrongThreadException} there); heap segments from {@code float[]} always work.
 *
 * <p>Byte order: elements are read and written in the platform's native order
 * ({@link ByteOrder#nativeOrder()}). A {@code MemorySegment} carries no byte order, so a segment over
 * data in the other order cannot be told apart here and reads as garbage; {@code FloatBuffer},
 * {@code ShortBuffer} and {@code IntBuffer} do carry one, and {@link #of(FloatBuffer, long...)} and its
 * twins refuse a buffer that is not in native order.
 */
public final class Tensor {
    private final MemorySegment segment;
    private final DType dtype;
    private final long[] shape;
    private final long offset;
    private final long rowStride;
    private final long batchStride;

    private Tensor(MemorySegment segment, DType dtype, long[] shape, long offset, long rowStride, long batchStride) {
        if (segment == null) {
            throw new IllegalArgumentException("segment: must not be null");
        }
        if (dtype == null) {
            throw new IllegalArgumentException("dtype: must not be null");
        }
        this.segment = segment;
        this.dtype = dtype;
        this.shape = shape;
        this.offset = offset;
        this.rowStride = rowStride;
        this.batchStride = batchStride;
        validate();
    }

    /** A contiguous {@code [rows, cols]} float32 view of {@code data}. */
    public static Tensor of(float[] data, int rows, int cols) {
        return new Tensor(MemorySegment.ofArray(nonNull(data)), DType.F32, new long[] {rows, cols}, 0, cols, (long) rows * cols);
    }

    /** A rank-1 float32 view of the whole array. */
    public static Tensor of(float[] data) {
        return new Tensor(MemorySegment.ofArray(nonNull(data)), DType.F32, new long[] {data.length}, 0, data.length, data.length);
    }

    /** A rank-1 int32 view of the whole array (labels, token ids). */
    public static Tensor of(int[] data) {
        return new Tensor(MemorySegment.ofArray(nonNull(data)), DType.I32, new long[] {data.length}, 0, data.length, data.length);
    }

    /** A contiguous {@code [rows, cols]} int32 view of {@code data} (e.g. top-k indices). */
    public static Tensor of(int[] data, int rows, int cols) {
        return new Tensor(MemorySegment.ofArray(nonNull(data)), DType.I32, new long[] {rows, cols}, 0, cols, (long) rows * cols);
    }

    /** A contiguous {@code [rows, cols]} {@link DType#BOOL} view of {@code data}: one byte per element, 0 or 1. */
    public static Tensor ofMask(byte[] data, int rows, int cols) {
        return new Tensor(MemorySegment.ofArray(nonNull(data)), DType.BOOL, new long[] {rows, cols}, 0, cols, (long) rows * cols);
    }

    /**
     * A contiguous {@code [rows, cols]} {@link DType#BF16} or {@link DType#F16} view of {@code bits}, one
     * 16-bit pattern per element (e.g. a bf16 checkpoint's raw shorts; {@link DType#narrow} makes them
     * from floats).
     */
    public static Tensor of(short[] bits, DType dtype, int rows, int cols) {
        return new Tensor(MemorySegment.ofArray(nonNull(bits)), halfType(dtype), new long[] {rows, cols}, 0, cols,
                (long) rows * cols);
    }

    /** A rank-1 {@link DType#BF16} or {@link DType#F16} view of the whole array; see {@link #of(short[], DType, int, int)}. */
    public static Tensor of(short[] bits, DType dtype) {
        return new Tensor(MemorySegment.ofArray(nonNull(bits)), halfType(dtype), new long[] {bits.length}, 0,
                bits.length, bits.length);
    }

    private static DType halfType(DType dtype) {
        if (dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("dtype: a short[] holds BF16 or F16 elements, got " + dtype);
        }
        return dtype;
    }

    /** A contiguous {@code [batch, rows, cols]} float32 view of {@code data}. */
    public static Tensor of(float[] data, int batch, int rows, int cols) {
        return new Tensor(MemorySegment.ofArray(nonNull(data)), DType.F32, new long[] {batch, rows, cols}, 0, cols, (long) rows * cols);
    }

    /**
     * A contiguous view of a segment with the given shape (rank 1 to 3), starting at its first byte.
     *
     * <p>The segment is read in native byte order, and nothing here can check that its bytes are in that
     * order: a segment has no byte order of its own. In particular {@code MemorySegment.ofBuffer} over a
     * {@code FloatBuffer} view whose {@code order()} is not native (e.g. {@code ByteBuffer.allocateDirect(n)
     * .asFloatBuffer()}, big-endian by default) gives a segment whose floats read wrongly; that is the
     * caller's to avoid. Pass such buffers to {@link #of(FloatBuffer, long...)} instead, which checks.
     */
    public static Tensor of(MemorySegment segment, DType dtype, long... shape) {
        checkShape(shape);
        long cols = shape[shape.length - 1];
        long rows = shape.length >= 2 ? shape[shape.length - 2] : 1;
        return new Tensor(segment, dtype, shape.clone(), 0, cols, rows * cols);
    }

    /**
     * A contiguous float32 view of a buffer's remaining elements, from its {@code position()} (element 0
     * of the view) towards its {@code limit()}; the shape (rank 1 to 3) may cover fewer elements than
     * remain. Heap and direct buffers both work; a read-only buffer gives a read-only tensor (fine as an
     * input, refused as an output). Moving the buffer's position or limit afterwards does not move the
     * view. Direct memory stays alive while the tensor is reachable.
     *
     * @throws IllegalArgumentException naming {@code buffer} when its {@code order()} is not
     *                                  {@link ByteOrder#nativeOrder()} (a {@code ByteBuffer}'s default is
     *                                  big-endian: call {@code order(ByteOrder.nativeOrder())} before
     *                                  {@code asFloatBuffer()}), or when fewer elements remain than the
     *                                  shape needs
     */
    public static Tensor of(FloatBuffer buffer, long... shape) {
        return ofBuffer(buffer, buffer == null ? null : buffer.order(), DType.F32, shape);
    }

    /**
     * A contiguous int32 view (labels, token ids) of a buffer's remaining elements; position, limit,
     * byte order and read-only buffers as {@link #of(FloatBuffer, long...)}.
     */
    public static Tensor of(IntBuffer buffer, long... shape) {
        return ofBuffer(buffer, buffer == null ? null : buffer.order(), DType.I32, shape);
    }

    /**
     * A contiguous {@link DType#BF16} or {@link DType#F16} view of a buffer's remaining elements;
     * position, limit, byte order and read-only buffers as {@link #of(FloatBuffer, long...)}.
     */
    public static Tensor of(ShortBuffer buffer, DType dtype, long... shape) {
        if (dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("dtype: a ShortBuffer holds BF16 or F16 elements, got " + dtype);
        }
        return ofBuffer(buffer, buffer == null ? null : buffer.order(), dtype, shape);
    }

    private static Tensor ofBuffer(Buffer buffer, ByteOrder order, DType dtype, long[] shape) {
        if (buffer == null) {
            throw new IllegalArgumentException("buffer: must not be null");
        }
        if (order != ByteOrder.nativeOrder()) {
            throw new IllegalArgumentException("buffer: byte order " + order + ", entrokit reads native order "
                    + ByteOrder.nativeOrder() + "; use ByteBuffer.order(ByteOrder.nativeOrder())");
        }
        checkShape(shape);
        long needed;
        try {
            needed = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        } catch (ArithmeticException e) {
            needed = Long.MAX_VALUE;
        }
        if (needed > buffer.remaining()) {
            throw new IllegalArgumentException("buffer: shape " + Arrays.toString(shape) + " needs " + needed + " "
                    + dtype + " elements, the buffer holds " + buffer.remaining() + " from position "
                    + buffer.position() + " to limit " + buffer.limit());
        }
        return of(MemorySegment.ofBuffer(buffer), dtype, shape);
    }

    private static <A> A nonNull(A data) {
        if (data == null) {
            throw new IllegalArgumentException("data: must not be null");
        }
        return data;
    }

    /**
     * A strided {@code [rows, cols]} view: row {@code r} starts at element {@code offset + r * rowStride}.
     *
     * @param offset    first element, counted in elements of {@code dtype}
     * @param rowStride elements between the starts of consecutive rows; at least {@code cols}
     */
    public static Tensor strided(MemorySegment segment, DType dtype, long rows, long cols, long offset, long rowStride) {
        long[] shape = {rows, cols};
        checkShape(shape);
        return new Tensor(segment, dtype, shape, offset, rowStride, rows * rowStride);
    }

    private static void checkShape(long[] shape) {
        if (shape == null || shape.length < 1 || shape.length > 3) {
            throw new IllegalArgumentException("shape: rank must be 1, 2 or 3, got " + (shape == null ? "null" : Arrays.toString(shape)));
        }
        for (long s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("shape: negative dimension in " + Arrays.toString(shape));
            }
        }
    }

    private void validate() {
        checkShape(shape);
        if (offset < 0) {
            throw new IllegalArgumentException("offset: must be >= 0, got " + offset);
        }
        if (rowStride < cols()) {
            throw new IllegalArgumentException("rowStride: must be >= cols (" + cols() + "), got " + rowStride);
        }
        long needed;
        try {
            long rowSpan = Math.addExact(Math.multiplyExact(rows() - 1, rowStride), cols());
            if (batch() > 1 && batchStride < rowSpan) {
                throw new IllegalArgumentException("batchStride: rows of consecutive batches overlap (" + batchStride + ")");
            }
            needed = elementCount() == 0 ? 0
                    : Math.addExact(offset, Math.addExact(Math.multiplyExact(batch() - 1, batchStride), rowSpan));
            Math.multiplyExact(needed, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("rowStride: shape " + Arrays.toString(shape) + " with row stride " + rowStride
                    + " and offset " + offset + " spans more than 2^63 bytes");
        }
        long capacity = segment.byteSize() / dtype.byteSize();
        if (needed > capacity) {
            throw new IllegalArgumentException("segment: shape " + Arrays.toString(shape) + " with row stride " + rowStride
                    + " and offset " + offset + " needs " + needed + " " + dtype + " elements, segment holds " + capacity);
        }
    }

    /** The underlying memory. */
    public MemorySegment segment() {
        return segment;
    }

    /** Element type. */
    public DType dtype() {
        return dtype;
    }

    /** Number of dimensions: 1, 2 or 3. */
    public int rank() {
        return shape.length;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    /** Leading batch dimension; 1 below rank 3. */
    public long batch() {
        return shape.length == 3 ? shape[0] : 1;
    }

    /** Rows per batch: {@code shape[rank-2]}, or 1 for rank 1. */
    public long rows() {
        return shape.length >= 2 ? shape[shape.length - 2] : 1;
    }

    /** Elements per row (the last dimension). */
    public long cols() {
        return shape[shape.length - 1];
    }

    /** Total number of logical elements. */
    public long elementCount() {
        long n = 1;
        for (long s : shape) {
            n = Math.multiplyExact(n, s);
        }
        return n;
    }

    /** Elements between the starts of consecutive rows. */
    public long rowStride() {
        return rowStride;
    }

    /** Elements between the starts of consecutive batch entries. */
    public long batchStride() {
        return batchStride;
    }

    /** Element offset of the view's first element in the segment. */
    public long offset() {
        return offset;
    }

    /** Element index (not byte) in the segment of {@code [row, col]} of a rank-1 or rank-2 view. */
    public long index(long row, long col) {
        return offset + row * rowStride + col;
    }

    /** Element index of element {@code i} of a rank-1 view. */
    public long index(long i) {
        return offset + i;
    }

    /**
     * Reads one element of a rank-2 float view as float32 (convenience; kernels never call it): F32 as
     * stored, BF16 and F16 widened exactly.
     */
    public float getFloat(long row, long col) {
        return readFloat(index(row, col));
    }

    /** Reads element {@code i} of a rank-1 float view as float32 (BF16 and F16 widened exactly). */
    public float getFloat(long i) {
        return readFloat(index(i));
    }

    /** Reads the 16-bit pattern of one element of a rank-2 {@link DType#BF16} or {@link DType#F16} view. */
    public short getHalfBits(long row, long col) {
        return segment.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index(row, col));
    }

    private float readFloat(long at) {
        return dtype.isHalf() ? dtype.widen(segment.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, at))
                : segment.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at);
    }

    /** Reads one int32 element of a rank-2 view. */
    public int getInt(long row, long col) {
        return segment.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, index(row, col));
    }

    /** Reads one {@link DType#BOOL} element of a rank-2 view (any nonzero byte is true). */
    public boolean getBool(long row, long col) {
        return segment.get(ValueLayout.JAVA_BYTE, index(row, col)) != 0;
    }

    /** Reads element {@code i} of a rank-1 int32 view. */
    public int getInt(long i) {
        return segment.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, index(i));
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype + " rowStride=" + rowStride + " offset=" + offset;
    }
}
