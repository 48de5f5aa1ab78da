package dev.entrokit.cli;

import dev.entrokit.Entrokit;

/**
 * The worker-thread count for instances the command line creates itself, read as the library reads
 * it for its default instance, so that {@code --backend} does not silently change the parallelism.
 */
final class Threads {
    private Threads() {
    }

    /** The configured count; a malformed value is a {@link UserException}. */
    static int configured() {
        try {
            return Entrokit.configuredThreads();
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
    }
}
