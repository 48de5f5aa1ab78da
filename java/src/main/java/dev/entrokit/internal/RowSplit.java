package dev.entrokit.internal;

import java.util.function.IntConsumer;

/**
 * Runs the fixed chunks of one long row. A kernel cuts a row into chunks of {@link #CHUNK} elements by its
 * length alone and merges their partial results in chunk order, so which thread runs a chunk never changes a
 * bit; this says only who runs them: the calling thread ({@link #SERIAL}) or the calling thread together with
 * idle helper threads ({@link ChunkTeam}).
 */
public interface RowSplit {
    /**
     * Elements per chunk: a whole number of every SIMD width's summation block, and long enough (16384 floats,
     * 64 KiB) that a chunk's work (about 5–15 µs per pass) dwarfs handing it to a spinning helper (under 1 µs).
     */
    int CHUNK = 16384;

    /** Rows at least this long run as chunks; shorter ones run whole (one or two chunks gain nothing). */
    int MIN_LENGTH = 2 * CHUNK;

    /** Everything on the calling thread, in chunk order. */
    RowSplit SERIAL = (chunks, task) -> {
        for (int c = 0; c < chunks; c++) {
            task.accept(c);
        }
    };

    /**
     * Runs {@code task.accept(c)} once for every {@code c} in {@code [0, chunks)}, on any of the threads this
     * split may use and in any order, and returns once all have finished. The first failure is rethrown after
     * every started chunk has finished, so that no chunk writes into the caller's buffers after this returns.
     */
    void run(int chunks, IntConsumer task);

    /** The first element of chunk {@code c}. */
    static int start(int c) {
        return c * CHUNK;
    }

    /**
     * The end (exclusive) of chunk {@code c} of the first {@code upper} elements of a row: written so that it cannot
     * overflow, since {@code start(c) + CHUNK} passes {@code Integer.MAX_VALUE} in the last chunk of a row longer
     * than {@code 2^31 − CHUNK}.
     */
    static int end(int c, int upper) {
        return start(c) + Math.min(CHUNK, upper - start(c));
    }

    /** The number of chunks of a row of {@code n} elements. */
    static int chunks(int n) {
        return (int) (((long) n + CHUNK - 1) / CHUNK);
    }

    /** Whether a row of {@code n} elements runs as chunks. */
    static boolean chunked(int n) {
        return n >= MIN_LENGTH;
    }
}
