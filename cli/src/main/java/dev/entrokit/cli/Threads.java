package dev.entrokit.cli;

/**
 * The worker-thread count for instances the command line creates itself, read the way the library
 * reads it for its default instance ({@code -Dentrokit.threads}, then {@code ENTROKIT_THREADS}, then
 * the processor count), so {@code --backend} does not silently change the parallelism.
 */
final class Threads {
    private Threads() {
    }

    /** The configured count; a malformed value is a {@link UserException}. */
    static int configured() {
        String v = System.getProperty("entrokit.threads");
        String source = "-Dentrokit.threads";
        if (v == null || v.isBlank()) {
            v = System.getenv("ENTROKIT_THREADS");
            source = "ENTROKIT_THREADS";
        }
        if (v == null || v.isBlank()) {
            return Runtime.getRuntime().availableProcessors();
        }
        try {
            int t = Integer.parseInt(v.trim());
            if (t >= 1) {
                return t;
            }
        } catch (NumberFormatException ignored) {
            // reported below with the same message as a non-positive value
        }
        throw new UserException(source + ": expected a positive integer, got '" + v + "'");
    }
}
