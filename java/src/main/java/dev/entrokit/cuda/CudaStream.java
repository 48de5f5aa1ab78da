package dev.entrokit.cuda;

import dev.entrokit.internal.cuda.NativeCuda;
import dev.entrokit.internal.cuda.ffi.EntrokitH;
import java.lang.foreign.MemorySegment;

/**
 * A CUDA stream: either created (and destroyed on {@link #close()}) or wrapped from another library's
 * {@code cudaStream_t} handle (e.g. {@code torch.cuda.current_stream().cuda_stream}), which is never
 * destroyed here. {@link #legacyDefault()} is the NULL stream.
 */
public final class CudaStream implements AutoCloseable {
    private final MemorySegment handle;
    private final boolean owned;
    private boolean closed;

    private CudaStream(MemorySegment handle, boolean owned) {
        this.handle = handle;
        this.owned = owned;
    }

    /** A new non-blocking stream. */
    public static CudaStream create() {
        Cuda.requireAvailable();
        return new CudaStream(NativeCuda.addressOut("ek_stream_create", EntrokitH::ek_stream_create), true);
    }

    /** Wraps a {@code cudaStream_t} owned elsewhere, without taking ownership. */
    public static CudaStream wrap(long cudaStreamHandle) {
        return new CudaStream(MemorySegment.ofAddress(cudaStreamHandle), false);
    }

    /** The legacy default (NULL) stream. */
    public static CudaStream legacyDefault() {
        return new CudaStream(MemorySegment.NULL, false);
    }

    /** The handle passed to the C ABI. */
    public MemorySegment handle() {
        if (closed) {
            throw new IllegalStateException("stream: already closed");
        }
        return handle;
    }

    /** The raw {@code cudaStream_t} value. */
    public long address() {
        return handle().address();
    }

    /** Waits until every operation queued on the stream has finished. */
    public void synchronize() {
        NativeCuda.check("ek_stream_synchronize", EntrokitH.ek_stream_synchronize(handle()));
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (owned) {
            NativeCuda.check("ek_stream_destroy", EntrokitH.ek_stream_destroy(handle));
        }
    }
}
