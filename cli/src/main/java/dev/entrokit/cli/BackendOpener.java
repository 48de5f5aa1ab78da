package dev.entrokit.cli;

import dev.entrokit.Entrokit;

/** Opens library instances and turns the library's backend failures into one-line user errors. */
final class BackendOpener {
    private BackendOpener() {
    }

    /**
     * The instance to run on: {@code name} with {@code threads} workers, or the library's configured
     * default when {@code name} is null. Close it when done (closing the default is a no-op).
     */
    static Entrokit open(String name, int threads) {
        try {
            return name == null ? Entrokit.get() : Entrokit.create(name, threads);
        } catch (IllegalStateException | IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        } catch (ExceptionInInitializerError e) {
            // The default instance is built in a static initializer, so a bad -Dentrokit.backend or
            // -Dentrokit.threads arrives wrapped.
            Throwable c = e.getCause() == null ? e : e.getCause();
            throw new UserException("default backend: " + c.getMessage(), c);
        } catch (NoClassDefFoundError e) {
            throw new UserException("default backend failed to initialize earlier in this JVM: " + e.getMessage(), e);
        }
    }

    /**
     * Closes {@code ek}. {@link Entrokit#close()} compares itself with the default instance and so
     * initializes it, which logs the auto-selection warning and fails when the configured default
     * backend is unavailable; an instance we created must still close quietly then.
     */
    static void close(Entrokit ek) {
        try {
            ek.close();
        } catch (ExceptionInInitializerError | NoClassDefFoundError e) {
            // The default instance could not be built; ours has nothing left to release that matters.
        }
    }
}
