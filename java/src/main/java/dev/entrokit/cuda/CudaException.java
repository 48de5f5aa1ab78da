package dev.entrokit.cuda;

/**
 * A call into {@code libentrokit_cuda.so} failed: the message names the call, the status of
 * {@code entrokit.h}, and for CUDA failures the {@code cudaError_t} code with CUDA's own text.
 */
public final class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int status;
    private final int cudaError;

    public CudaException(String call, int status, String statusName, int cudaError, String detail) {
        // The library's text already names the CUDA call, code and CUDA's own words.
        super(call + " failed with " + statusName + (detail == null || detail.isEmpty()
                ? (cudaError != 0 ? " (cuda error " + cudaError + ")" : "") : ": " + detail));
        this.call = call;
        this.status = status;
        this.cudaError = cudaError;
    }

    /** The C function that failed, e.g. {@code ek_device_count}. */
    public String call() {
        return call;
    }

    /** The {@code ek_status} value. */
    public int status() {
        return status;
    }

    /** The {@code cudaError_t} value, or 0 when the failure was not a CUDA error. */
    public int cudaError() {
        return cudaError;
    }
}
