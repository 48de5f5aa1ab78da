package dev.entrokit.internal.cuda;

import dev.entrokit.cuda.CudaException;
import dev.entrokit.internal.cuda.ffi.EntrokitH;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the NVIDIA driver, loads {@code libentrokit_cuda.so} once per JVM and turns its statuses
 * into exceptions.
 *
 * <p>The library travels in its own artifact, {@code dev.entrokit:entrokit-cuda-linux-x86_64}, under
 * {@value #RESOURCE}, so the core jar is the same whether or not nvcc was there when it was built. It
 * is found through the class loaders: {@code META-INF} is not a package, so JPMS does not encapsulate
 * it and the resource is visible from another module on the module path as well as on the class path.
 * It is copied to a temporary file and loaded by absolute path with {@link System#load}, so the
 * jextract bindings (which look symbols up through the class loader) find it and no {@code dlopen}
 * search path is involved. {@code -Dentrokit.cuda.library=/path/libentrokit_cuda.so} loads another
 * build instead.
 */
public final class NativeCuda {
    /** Where the library lies inside the {@code entrokit-cuda-linux-x86_64} jar (a class-loader resource name). */
    public static final String RESOURCE = "META-INF/native/linux-x86_64/libentrokit_cuda.so";
    public static final String LIBRARY_PROPERTY = "entrokit.cuda.library";
    /** The Maven coordinates of the artifact that carries the library. */
    public static final String ARTIFACT = "dev.entrokit:entrokit-cuda-linux-x86_64";

    /** Where the CUDA runtime's {@code dlopen("libcuda.so.1")} looks, besides LD_LIBRARY_PATH and ld.so.cache. */
    private static final List<String> DRIVER_DIRS = List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib",
            "/lib/x86_64-linux-gnu", "/lib64", "/lib", "/usr/local/nvidia/lib64", "/usr/lib/wsl/lib");
    private static final String DRIVER_LIBRARY = "libcuda.so.1";

    private NativeCuda() {
    }

    /** The outcome of loading: the library's path, or why there is none. */
    public record Load(Path path, List<String> reasons) {
        public boolean loaded() {
            return path != null;
        }
    }

    /**
     * Whether an NVIDIA driver is installed.
     *
     * @param found  whether the kernel driver or its user-space library {@code libcuda.so.1} was seen
     * @param reason where it was looked for, when it was not found (empty otherwise)
     */
    public record Driver(boolean found, String reason) {
    }

    private static final class Holder {
        static final Load LOAD = load();
    }

    private static final class DriverHolder {
        static final Driver DRIVER = findDriver();
    }

    /** Loads the library (first call) and says how that went. */
    public static Load library() {
        return Holder.LOAD;
    }

    /**
     * Looks for the driver (first call) without loading anything: a few file checks, so that a
     * machine without a GPU never pays for extracting and loading the library.
     */
    public static Driver driver() {
        return DriverHolder.DRIVER;
    }

    private static Driver findDriver() {
        if (Files.exists(Path.of("/proc/driver/nvidia/version"))) {
            return new Driver(true, "");
        }
        List<String> dirs = new ArrayList<>();
        String ldPath = System.getenv("LD_LIBRARY_PATH");
        if (ldPath != null) {
            for (String d : ldPath.split(":")) {
                if (!d.isEmpty()) {
                    dirs.add(d);
                }
            }
        }
        dirs.addAll(DRIVER_DIRS);
        for (String d : dirs) {
            if (Files.exists(Path.of(d, DRIVER_LIBRARY))) {
                return new Driver(true, "");
            }
        }
        if (ldCacheNames(DRIVER_LIBRARY)) {
            return new Driver(true, "");
        }
        return new Driver(false, "no NVIDIA driver: no /proc/driver/nvidia/version, and no " + DRIVER_LIBRARY
                + " in LD_LIBRARY_PATH, /etc/ld.so.cache or " + String.join(", ", DRIVER_DIRS));
    }

    /** Whether the dynamic linker's cache lists {@code name} (the cache holds the names as plain bytes). */
    private static boolean ldCacheNames(String name) {
        try {
            byte[] cache = Files.readAllBytes(Path.of("/etc/ld.so.cache"));
            byte[] needle = name.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            outer:
            for (int i = 0; i + needle.length <= cache.length; i++) {
                for (int j = 0; j < needle.length; j++) {
                    if (cache[i + j] != needle[j]) {
                        continue outer;
                    }
                }
                return true;
            }
            return false;
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    /**
     * The packaged library as a class-loader resource: this module's loader first (module path or
     * class path), then the thread's context loader (containers that load the jar elsewhere), then
     * the system loader. Null when no loader has it.
     */
    public static java.net.URL resource() {
        List<ClassLoader> loaders = new ArrayList<>();
        loaders.add(NativeCuda.class.getClassLoader());
        loaders.add(Thread.currentThread().getContextClassLoader());
        loaders.add(ClassLoader.getSystemClassLoader());
        for (ClassLoader l : loaders) {
            java.net.URL url = l == null ? null : l.getResource(RESOURCE);
            if (url != null) {
                return url;
            }
        }
        return null;
    }

    private static Load load() {
        List<String> reasons = new ArrayList<>();
        String os = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            reasons.add("no CUDA build for " + os + "/" + arch + " (linux-x86_64 only)");
            return new Load(null, reasons);
        }
        try {
            Path path;
            String override = System.getProperty(LIBRARY_PROPERTY);
            if (override != null && !override.isBlank()) {
                path = Path.of(override).toAbsolutePath();
            } else {
                java.net.URL url = resource();
                if (url == null) {
                    reasons.add("no CUDA library: put " + ARTIFACT + " (the jar holding " + RESOURCE
                            + ") on the class path (or the module path, resolved with --add-modules dev.entrokit.cuda.linux.x86_64),"
                            + " or name a build with -D" + LIBRARY_PROPERTY + "=");
                    return new Load(null, reasons);
                }
                try (InputStream in = url.openStream()) {
                    path = Files.createTempFile("libentrokit_cuda", ".so");
                    path.toFile().deleteOnExit();
                    Files.copy(in, path, StandardCopyOption.REPLACE_EXISTING);
                }
            }
            System.load(path.toString());
            return new Load(path, List.of());
        } catch (IOException | UnsatisfiedLinkError | SecurityException e) {
            reasons.add("libentrokit_cuda.so did not load: " + e.getMessage());
            return new Load(null, reasons);
        } catch (IllegalCallerException e) {
            reasons.add("native access is not enabled for dev.entrokit (run java with --enable-native-access="
                    + "dev.entrokit or ALL-UNNAMED): " + e.getMessage());
            return new Load(null, reasons);
        }
    }

    /** The name of a status code of {@code entrokit.h}. */
    public static String statusName(int status) {
        return switch (status) {
            case 0 -> "EK_SUCCESS";
            case 1 -> "EK_INVALID_ARGUMENT";
            case 2 -> "EK_CUDA_ERROR";
            case 3 -> "EK_UNSUPPORTED";
            default -> "status " + status;
        };
    }

    /** Throws a {@link CudaException} naming {@code call}, the status, the CUDA code and text, unless success. */
    public static void check(String call, int status) {
        if (status == EntrokitH.EK_SUCCESS()) {
            return;
        }
        MemorySegment text = EntrokitH.ek_last_error();
        String message = text.equals(MemorySegment.NULL) ? "" : text.reinterpret(4096).getString(0);
        throw new CudaException(call, status, statusName(status), EntrokitH.ek_last_cuda_error(), message);
    }

    /** Reads one pointer out-parameter after a call (a stream, an allocation). */
    public static MemorySegment addressOut(String call, java.util.function.Function<MemorySegment, Integer> f) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            check(call, f.apply(out));
            return out.get(ValueLayout.ADDRESS, 0);
        }
    }

    /** Reads one int32 out-parameter after a call. */
    public static int intOut(String call, java.util.function.Function<MemorySegment, Integer> f) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_INT);
            check(call, f.apply(out));
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }
}
