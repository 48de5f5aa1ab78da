package dev.entrokit.internal;

import dev.entrokit.internal.cuda.CudaBackend;
import dev.entrokit.internal.cuda.NativeCuda;
import dev.entrokit.internal.scalar.ScalarBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Finds the backends once per JVM and picks the one the façade uses, from
 * {@code -Dentrokit.backend=auto|scalar|simd|cuda} or the environment variable
 * {@code ENTROKIT_BACKEND} (the property wins).
 *
 * <p>Each backend loads on first use only, so naming {@code scalar} or {@code simd} never touches
 * the CUDA library (extracting and probing it costs a few hundred milliseconds and makes the JDK
 * warn about native access). {@code auto} takes the best available backend and logs one warning
 * line when it skipped one the user can fix; a machine without an NVIDIA driver is not such a case,
 * so there it says nothing unless {@code -Dentrokit.verbose=true} (or {@code ENTROKIT_VERBOSE=true}).
 */
public final class Backends {
    public static final String PROPERTY = "entrokit.backend";
    public static final String ENV = "ENTROKIT_BACKEND";
    public static final String VERBOSE_PROPERTY = "entrokit.verbose";
    public static final String VERBOSE_ENV = "ENTROKIT_VERBOSE";

    private Backends() {
    }

    private static final class Scalar {
        static final Backend BACKEND = new ScalarBackend();
    }

    private static final class Simd {
        static final Backend BACKEND = loadSimd();
    }

    private static final class Gpu {
        static final Backend BACKEND = loadCuda(Simd.BACKEND.available() ? Simd.BACKEND : Scalar.BACKEND);
    }

    /** Every backend, best first, including the unavailable ones with their reasons (loads them all). */
    public static List<Backend> all() {
        return List.of(Gpu.BACKEND, Simd.BACKEND, Scalar.BACKEND);
    }

    /**
     * The backend called {@code name}, available or not, loading only that one;
     * {@code IllegalArgumentException} for an unknown name.
     */
    public static Backend byName(String name) {
        return switch (name) {
            case "scalar" -> Scalar.BACKEND;
            case "simd" -> Simd.BACKEND;
            case "cuda" -> Gpu.BACKEND;
            case null, default -> throw new IllegalArgumentException(
                    "backend: unknown '" + name + "', expected one of auto, scalar, simd, cuda");
        };
    }

    /** The configured backend request: the system property, else the environment, else {@code auto}. */
    public static String requested() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) {
            v = System.getenv(ENV);
        }
        return v == null || v.isBlank() ? "auto" : v.trim().toLowerCase(Locale.ROOT);
    }

    /** Whether {@code entrokit.verbose} (else {@code ENTROKIT_VERBOSE}) is {@code true}. */
    public static boolean verbose() {
        String v = System.getProperty(VERBOSE_PROPERTY);
        if (v == null || v.isBlank()) {
            v = System.getenv(VERBOSE_ENV);
        }
        return v != null && v.trim().equalsIgnoreCase("true");
    }

    /**
     * Resolves a request. An explicit name that cannot load fails with the backend's reasons;
     * {@code auto} falls back to the next available backend, loading the backends best first and
     * stopping at the first that runs, with one warning when a skipped backend could have run here.
     */
    public static Backend select(String request) {
        if (!"auto".equals(request)) {
            Backend b = byName(request);
            if (!b.available()) {
                throw new IllegalStateException("backend '" + b.name() + "' was requested but is unavailable: "
                        + String.join("; ", b.reasons()));
            }
            return b;
        }
        List<String> skipped = new ArrayList<>();
        boolean worthAWarning = false;
        for (String name : List.of("cuda", "simd", "scalar")) {
            Backend b = byName(name);
            if (b.available()) {
                if (!skipped.isEmpty() && (worthAWarning || verbose())) {
                    // One line on stderr, not a logger: its default format spends two lines on it.
                    System.err.println("WARNING: entrokit: using the " + b.name() + " backend; "
                            + String.join("; ", skipped));
                }
                return b;
            }
            skipped.add(b.name() + " unavailable (" + String.join(", ", b.reasons()) + ")");
            // Without a driver there is nothing to fix on this machine; every other reason is.
            worthAWarning |= !(b.name().equals("cuda") && !NativeCuda.driver().found());
        }
        throw new IllegalStateException("no backend available: " + skipped);
    }

    private static Backend loadSimd() {
        List<String> reasons = new ArrayList<>();
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            reasons.add("jdk.incubator.vector is not in the module graph (run java with --add-modules jdk.incubator.vector)");
            return new UnavailableBackend("simd", reasons);
        }
        try {
            // Loaded reflectively so that nothing touches the Vector API when it is absent.
            Class<?> c = Class.forName("dev.entrokit.internal.simd.SimdBackend");
            return (Backend) c.getConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            Throwable cause = e;
            while (cause.getCause() != null) { // the species check fails inside a class initializer
                cause = cause.getCause();
            }
            reasons.add(cause.getMessage() != null ? cause.getMessage() : cause.toString());
            return new UnavailableBackend("simd", reasons);
        }
    }

    private static Backend loadCuda(Backend host) {
        try {
            return new CudaBackend(host);
        } catch (LinkageError e) { // e.g. FFM refused: reported, never fatal
            return new UnavailableBackend("cuda", List.of("CUDA probe failed: " + e));
        }
    }
}
