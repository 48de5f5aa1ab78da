package dev.entrokit.cuda;

import dev.entrokit.DType;
import dev.entrokit.Tensor;
import dev.entrokit.internal.MemoryAccess;
import dev.entrokit.internal.cuda.NativeCuda;
import dev.entrokit.internal.cuda.ffi.EntrokitH;
import java.lang.foreign.MemorySegment;

/**
 * A {@code [rows, cols]} view of device memory; rows are {@link #rowStride()} elements apart. Either
 * allocated here (freed on {@link #close()}) or wrapped around another library's device pointer
 * (e.g. {@code torch.Tensor.data_ptr()}) without copying and without taking ownership. Sizes are
 * checked on the Java side before any native call: a view never reaches past its allocation.
 *
 * <p>Host copies go through page-locked staging memory and return when the data has arrived.
 */
public final class DeviceTensor implements AutoCloseable {
    private final MemorySegment pointer; // address only: device memory is not host-accessible
    private final long capacityBytes;
    private final DType dtype;
    private final long rows;
    private final long cols;
    private final long rowStride;
    private final boolean owned;
    private boolean closed;

    private DeviceTensor(MemorySegment pointer, long capacityBytes, DType dtype, long rows, long cols, long rowStride,
                         boolean owned) {
        if (dtype == null) {
            throw new IllegalArgumentException("dtype: must not be null");
        }
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("shape: rows and cols must be >= 0, got [" + rows + ", " + cols + "]");
        }
        if (rowStride < cols) {
            throw new IllegalArgumentException("rowStride: must be >= cols (" + cols + "), got " + rowStride);
        }
        long needed;
        try {
            needed = rows == 0 || cols == 0 ? 0
                    : Math.multiplyExact(Math.addExact(Math.multiplyExact(rows - 1, rowStride), cols), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape: [" + rows + ", " + cols + "] with row stride " + rowStride
                    + " spans more than 2^63 bytes");
        }
        if (needed > capacityBytes) {
            throw new IllegalArgumentException("capacity: [" + rows + ", " + cols + "] " + dtype + " with row stride "
                    + rowStride + " needs " + needed + " bytes, the allocation holds " + capacityBytes);
        }
        this.pointer = pointer;
        this.capacityBytes = capacityBytes;
        this.dtype = dtype;
        this.rows = rows;
        this.cols = cols;
        this.rowStride = rowStride;
        this.owned = owned;
    }

    /** Allocates a contiguous {@code [rows, cols]} tensor in device memory (uninitialized). */
    public static DeviceTensor allocate(DType dtype, long rows, long cols) {
        Cuda.requireAvailable();
        long bytes = Math.multiplyExact(Math.multiplyExact(rows, cols), (long) dtype.byteSize());
        MemorySegment p = NativeCuda.addressOut("ek_malloc", out -> EntrokitH.ek_malloc(out, bytes));
        return new DeviceTensor(p, bytes, dtype, rows, cols, cols, true);
    }

    /** A rank-1 helper: {@code [1, n]}. */
    public static DeviceTensor allocateVector(DType dtype, long n) {
        return allocate(dtype, 1, n);
    }

    /**
     * Wraps device memory owned elsewhere: {@code capacityBytes} from {@code address} belong to the
     * caller's allocation. Never freed here; the caller keeps it alive while this view is used.
     */
    public static DeviceTensor wrap(long address, long capacityBytes, DType dtype, long rows, long cols, long rowStride) {
        if (address == 0) {
            throw new IllegalArgumentException("address: must not be 0");
        }
        return new DeviceTensor(MemorySegment.ofAddress(address), capacityBytes, dtype, rows, cols, rowStride, false);
    }

    /** A view of rows {@code [first, first + count)} sharing this memory (never owning it). */
    public DeviceTensor rows(long first, long count) {
        if (first < 0 || count < 0 || first + count > rows) {
            throw new IllegalArgumentException("rows: [" + first + ", " + (first + count) + ") is outside [0, " + rows + ")");
        }
        long offset = first * rowStride * dtype.byteSize();
        return new DeviceTensor(MemorySegment.ofAddress(pointer().address() + offset), capacityBytes - offset, dtype,
                count, cols, rowStride, false);
    }

    public MemorySegment pointer() {
        if (closed) {
            throw new IllegalStateException("device tensor: already closed");
        }
        return pointer;
    }

    public long address() {
        return pointer().address();
    }

    public DType dtype() {
        return dtype;
    }

    public long rows() {
        return rows;
    }

    public long cols() {
        return cols;
    }

    public long rowStride() {
        return rowStride;
    }

    public long elementCount() {
        return rows * cols;
    }

    /** Whether the rows are packed ({@code rowStride == cols} or a single row). */
    public boolean contiguous() {
        return rowStride == cols || rows <= 1;
    }

    /** Copies a host tensor of the same dtype and {@code [rows, cols]} shape in, through pinned staging. */
    public void copyFrom(Tensor host, CudaStream stream) {
        checkHost("host", host);
        long rowBytes = cols * dtype.byteSize();
        try (Pinned pinned = new Pinned(rows * rowBytes)) {
            for (long r = 0; r < rows; r++) {
                MemorySegment.copy(host.segment(), host.index(r, 0) * dtype.byteSize(), pinned.segment, r * rowBytes, rowBytes);
            }
            copyRows(pinned.segment, rowBytes, true, stream);
            stream.synchronize();
        }
    }

    /** Copies this tensor out into a host tensor of the same dtype and shape, through pinned staging. */
    public void copyTo(Tensor host, CudaStream stream) {
        checkHost("host", host);
        if (host.segment().isReadOnly()) {
            throw new IllegalArgumentException("host: segment is read-only");
        }
        long rowBytes = cols * dtype.byteSize();
        try (Pinned pinned = new Pinned(rows * rowBytes)) {
            copyRows(pinned.segment, rowBytes, false, stream);
            stream.synchronize();
            for (long r = 0; r < rows; r++) {
                MemorySegment.copy(pinned.segment, r * rowBytes, host.segment(), host.index(r, 0) * dtype.byteSize(), rowBytes);
            }
        }
    }

    /** Copies {@code float32} data in (a contiguous {@code [rows, cols]} F32 tensor). */
    public void copyFrom(float[] data, CudaStream stream) {
        copyFrom(Tensor.of(data, (int) rows, (int) cols), stream);
    }

    /** Copies this F32 tensor out into a new array. */
    public float[] toFloatArray(CudaStream stream) {
        float[] out = new float[Math.toIntExact(elementCount())];
        copyTo(Tensor.of(out, (int) rows, (int) cols), stream);
        return out;
    }

    /** Copies this I32 tensor out into a new array. */
    public int[] toIntArray(CudaStream stream) {
        int[] out = new int[Math.toIntExact(elementCount())];
        copyTo(Tensor.of(out, (int) rows, (int) cols), stream);
        return out;
    }

    private void copyRows(MemorySegment staging, long rowBytes, boolean toDevice, CudaStream stream) {
        long pitch = rowStride * dtype.byteSize();
        if (contiguous()) {
            copy(toDevice, pointer().address(), staging.address(), rows * rowBytes, stream);
            return;
        }
        for (long r = 0; r < rows; r++) {
            copy(toDevice, pointer().address() + r * pitch, staging.address() + r * rowBytes, rowBytes, stream);
        }
    }

    private static void copy(boolean toDevice, long device, long host, long bytes, CudaStream stream) {
        MemorySegment d = MemorySegment.ofAddress(device);
        MemorySegment h = MemorySegment.ofAddress(host);
        NativeCuda.check("ek_memcpy_async", toDevice
                ? EntrokitH.ek_memcpy_async(d, h, bytes, stream.handle())
                : EntrokitH.ek_memcpy_async(h, d, bytes, stream.handle()));
    }

    private void checkHost(String name, Tensor host) {
        if (host == null) {
            throw new IllegalArgumentException(name + ": must not be null");
        }
        MemoryAccess.check(name, host.segment());
        if (host.dtype() != dtype) {
            throw new IllegalArgumentException(name + ": dtype " + host.dtype() + " does not match the device tensor's " + dtype);
        }
        if (host.batch() != 1 || host.rows() != rows || host.cols() != cols) {
            throw new IllegalArgumentException(name + ": shape [" + host.rows() + ", " + host.cols()
                    + "] does not match the device tensor's [" + rows + ", " + cols + "]");
        }
    }

    /** Page-locked host memory, freed on close. */
    private static final class Pinned implements AutoCloseable {
        final MemorySegment segment;

        Pinned(long bytes) {
            long size = Math.max(bytes, 1);
            segment = NativeCuda.addressOut("ek_malloc_host", out -> EntrokitH.ek_malloc_host(out, size)).reinterpret(size);
        }

        @Override
        public void close() {
            NativeCuda.check("ek_free_host", EntrokitH.ek_free_host(segment));
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (owned) {
            NativeCuda.check("ek_free", EntrokitH.ek_free(pointer));
        }
    }

    @Override
    public String toString() {
        return "DeviceTensor[" + rows + ", " + cols + "] " + dtype + " rowStride=" + rowStride
                + (owned ? "" : " (wrapped)") + String.format(" @0x%x", pointer.address());
    }
}
