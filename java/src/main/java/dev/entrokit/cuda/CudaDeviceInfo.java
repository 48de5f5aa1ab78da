package dev.entrokit.cuda;

/**
 * One CUDA device as the runtime reports it.
 *
 * @param ordinal         the device number
 * @param name            e.g. "NVIDIA H100 80GB HBM3"
 * @param major           compute capability, major
 * @param minor           compute capability, minor
 * @param totalMemory     bytes of device memory
 * @param multiprocessors streaming multiprocessors
 * @param l2CacheBytes    L2 cache size
 */
public record CudaDeviceInfo(int ordinal, String name, int major, int minor, long totalMemory, int multiprocessors,
                             long l2CacheBytes) {

    /** {@code "9.0"}. */
    public String computeCapability() {
        return major + "." + minor;
    }

    @Override
    public String toString() {
        return String.format("#%d %s, compute capability %s, %.1f GiB, %d SMs", ordinal, name, computeCapability(),
                totalMemory / (double) (1L << 30), multiprocessors);
    }
}
