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
 * Loads {@code libentrokit_cuda.so} once per JVM and turns its statuses into exceptions.
 *
 * <p>The library travels in the jar under {@value #RESOURCE}; it is copied to a temporary file and
 * loaded by absolute path with {@link System#load}, so the jextract bindings (which look symbols up
 * through the class loader) find it and no {@code dlopen} search path is involved.
 * {@code -Dentrokit.cuda.library=/path/libentrokit_cuda.so} loads another build instead.
 */
public final class NativeCuda {
    public static final String RESOURCE = "/META-INF/native/linux-x86_64/libentrokit_cuda.so";
    public static final String LIBRARY_PROPERTY = "entrokit.cuda.library";

    private NativeCuda() {
    }

    /** The outcome of loading: the library's path, or why there is none. */
    public record Load(Path path, List<String> reasons) {
        public boolean loaded() {
            return path != null;
        }
    }

    private static final class Holder {
        static final Load LOAD = load();
    }

    /** Loads the library (first call) and says how that went. */
    public static Load library() {
        return Holder.LOAD;
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
                try (InputStream in = NativeCuda.class.getResourceAsStream(RESOURCE)) {
                    if (in == null) {
                        reasons.add("built without CUDA: the jar has no " + RESOURCE.substring(1)
                                + " (nvcc was not found when it was built)");
                        return new Load(null, reasons);
                    }
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
