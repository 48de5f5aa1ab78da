package dev.entrokit.cli;

import dev.entrokit.BackendInfo;
import dev.entrokit.Entrokit;
import java.util.Locale;

/**
 * Opens library instances and turns the library's backend failures into one-line user errors.
 *
 * <p>The command line resolves {@code auto} itself, to the first available backend of
 * {@link Entrokit#backends()}, and asks the library for that backend by name: the library's own
 * {@code auto} prints a fallback warning on stderr (meant for programs that embed it), while a user
 * error of the command line must be exactly one line, and {@code entrokit info} already shows which
 * backends are unavailable and why.
 */
final class BackendOpener {
    /** The library's configuration keys for its default backend (the property wins), read as it reads them. */
    static final String PROPERTY = "entrokit.backend";
    static final String ENV = "ENTROKIT_BACKEND";

    private BackendOpener() {
    }

    /**
     * A new instance with {@code threads} workers on backend {@code name}, or on the library's
     * configured default backend ({@code -Dentrokit.backend}, {@code ENTROKIT_BACKEND}, else
     * {@code auto}) when {@code name} is null. Close it when done.
     */
    static Entrokit open(String name, int threads) {
        String source = name != null ? "--backend " + name : configuredSource();
        String request = name != null ? name : configured();
        try {
            return Entrokit.create(resolve(request), threads);
        } catch (IllegalStateException | IllegalArgumentException e) {
            // A backend the user did not name on the command line came from the environment: say so.
            throw new UserException(name != null || source == null ? e.getMessage() : source + ": " + e.getMessage(), e);
        }
    }

    /** {@code request} itself, or for {@code auto} the first available backend (best first), quietly. */
    static String resolve(String request) {
        if (!"auto".equals(request.trim().toLowerCase(Locale.ROOT))) {
            return request;
        }
        return Entrokit.backends().stream().filter(BackendInfo::available).map(BackendInfo::name).findFirst()
                .orElse(request); // none available: the library's auto says why
    }

    /** The configured default backend request, {@code auto} when none. */
    private static String configured() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) {
            v = System.getenv(ENV);
        }
        return v == null || v.isBlank() ? "auto" : v.trim();
    }

    /** Where the configured request comes from, for messages; null when it is the built-in {@code auto}. */
    private static String configuredSource() {
        String p = System.getProperty(PROPERTY);
        if (p != null && !p.isBlank()) {
            return "-D" + PROPERTY + "=" + p.trim();
        }
        String e = System.getenv(ENV);
        return e != null && !e.isBlank() ? ENV + "=" + e.trim() : null;
    }

    /**
     * Closes {@code ek}. Should closing ever consult the library's default instance, whose
     * initialization fails when the configured default backend is unavailable, an instance we
     * created must still close quietly.
     */
    static void close(Entrokit ek) {
        try {
            ek.close();
        } catch (ExceptionInInitializerError | NoClassDefFoundError e) {
            // The default instance could not be built; ours has nothing left to release that matters.
        }
    }
}
