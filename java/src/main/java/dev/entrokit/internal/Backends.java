package dev.entrokit.internal;

import dev.entrokit.internal.cuda.CudaBackend;
import dev.entrokit.internal.scalar.ScalarBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Finds the backends once per JVM and picks the one the façade uses, from
 * {@code -Dentrokit.backend=auto|scalar|simd|cuda} or the environment variable
 * {@code ENTROKIT_BACKEND} (the property wins). {@code auto} takes the best available backend and
 * logs one warning line when that is not the best one the library has.
 */
public final class Backends {
    public static final String PROPERTY = "entrokit.backend";
    public static final String ENV = "ENTROKIT_BACKEND";

    private Backends() {
    }

    private static final class Holder {
        static final List<Backend> ALL = all();

        private static List<Backend> all() {
            Backend simd = loadSimd();
            Backend scalar = new ScalarBackend();
            return List.of(loadCuda(simd.available() ? simd : scalar), simd, scalar);
        }
    }

    /** Every backend, best first, including the unavailable ones with their reasons. */
    public static List<Backend> all() {
        return Holder.ALL;
    }

    /** The backend called {@code name}, available or not; {@code IllegalArgumentException} for an unknown name. */
    public static Backend byName(String name) {
        for (Backend b : all()) {
            if (b.name().equals(name)) {
                return b;
            }
        }
        throw new IllegalArgumentException("backend: unknown '" + name + "', expected one of auto, scalar, simd, cuda");
    }

    /** The configured backend request: the system property, else the environment, else {@code auto}. */
    public static String requested() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) {
            v = System.getenv(ENV);
        }
        return v == null || v.isBlank() ? "auto" : v.trim().toLowerCase(Locale.ROOT);
    }

    /**
     * Resolves a request. An explicit name that cannot load fails with the backend's reasons;
     * {@code auto} falls back to the next available backend with one warning.
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
        for (Backend b : all()) {
            if (b.available()) {
                if (!skipped.isEmpty()) {
                    // One line on stderr, not a logger: its default format spends two lines on it.
                    System.err.println("WARNING: entrokit: using the " + b.name() + " backend; "
                            + String.join("; ", skipped));
                }
                return b;
            }
            skipped.add(b.name() + " unavailable (" + String.join(", ", b.reasons()) + ")");
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
