package dev.entrokit.cuda;

import dev.entrokit.internal.cuda.NativeCuda;
import dev.entrokit.internal.cuda.ffi.EntrokitH;
import dev.entrokit.internal.cuda.ffi.ek_device_info;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether CUDA can run here, and on what. Probing never throws: a missing driver (looked for before
 * the library is loaded), a missing library or no device is reported in {@link Status#reasons()}.
 */
public final class Cuda {
    private Cuda() {
    }

    /**
     * What the probe found.
     *
     * @param libraryLoaded  whether libentrokit_cuda.so loaded
     * @param runtimeVersion CUDA runtime version the library was built with (e.g. 13000), 0 if unknown
     * @param driverVersion  installed driver's CUDA version, 0 when no driver
     * @param devices        the devices (empty when unavailable)
     * @param reasons        why CUDA is unavailable (empty when available)
     */
    public record Status(boolean libraryLoaded, int runtimeVersion, int driverVersion, List<CudaDeviceInfo> devices,
                         List<String> reasons) {
        public boolean available() {
            return reasons.isEmpty();
        }
    }

    private static final class Holder {
        static final Status STATUS = probe();
    }

    /** The probe's result (computed once per JVM). */
    public static Status status() {
        return Holder.STATUS;
    }

    /** Whether kernels can run on a device here. */
    public static boolean isAvailable() {
        return status().available();
    }

    /** Throws a {@link CudaException}-carrying {@code IllegalStateException} unless CUDA is available. */
    public static void requireAvailable() {
        Status s = status();
        if (!s.available()) {
            throw new IllegalStateException("CUDA is unavailable: " + String.join("; ", s.reasons()));
        }
    }

    private static Status probe() {
        NativeCuda.Driver installed = NativeCuda.driver();
        if (!installed.found()) {
            // Nothing can run without it, so the library is not even extracted.
            return new Status(false, 0, 0, List.of(), List.of(installed.reason()));
        }
        NativeCuda.Load load = NativeCuda.library();
        if (!load.loaded()) {
            return new Status(false, 0, 0, List.of(), load.reasons());
        }
        int runtime = 0;
        int driver = 0;
        List<String> reasons = new ArrayList<>();
        List<CudaDeviceInfo> devices = new ArrayList<>();
        try {
            runtime = NativeCuda.intOut("ek_runtime_version", EntrokitH::ek_runtime_version);
            driver = NativeCuda.intOut("ek_driver_version", EntrokitH::ek_driver_version);
            int count = NativeCuda.intOut("ek_device_count", EntrokitH::ek_device_count);
            if (count == 0) {
                reasons.add("no CUDA device found");
            }
            for (int d = 0; d < count; d++) {
                devices.add(info(d));
            }
        } catch (CudaException e) {
            reasons.add(e.getMessage() + (driver == 0 ? " (no NVIDIA driver is installed)" : ""));
        } catch (LinkageError e) {
            reasons.add("libentrokit_cuda.so lacks a symbol: " + e.getMessage());
        }
        return new Status(true, runtime, driver, List.copyOf(devices), List.copyOf(reasons));
    }

    private static CudaDeviceInfo info(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = ek_device_info.allocate(a);
            NativeCuda.check("ek_device_get_info", EntrokitH.ek_device_get_info(device, s));
            return new CudaDeviceInfo(device, ek_device_info.name(s).getString(0), ek_device_info.major(s),
                    ek_device_info.minor(s), ek_device_info.total_memory(s), ek_device_info.multiprocessors(s),
                    ek_device_info.l2_cache_size(s));
        }
    }

    /**
     * Where the CUDA library would load from, without loading it: the {@code -Dentrokit.cuda.library}
     * path, else the URL of {@code libentrokit_cuda.so} inside the {@code entrokit-cuda-linux-x86_64}
     * jar when that jar is on the class path or module path; empty when neither.
     *
     * @return the path or URL, as text
     */
    public static java.util.Optional<String> librarySource() {
        String override = System.getProperty(NativeCuda.LIBRARY_PROPERTY);
        if (override != null && !override.isBlank()) {
            return java.util.Optional.of(override);
        }
        return java.util.Optional.ofNullable(NativeCuda.resource()).map(Object::toString);
    }

    /** A CUDA version number (e.g. 13000) as text ("13.0"). */
    public static String version(int v) {
        return v == 0 ? "none" : (v / 1000) + "." + (v % 1000) / 10;
    }
}
