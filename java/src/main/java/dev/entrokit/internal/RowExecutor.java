package dev.entrokit.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RejectedExecutionException;

/**
 * Runs a per-row task over a batch, splitting rows across a fixed pool when the batch is large enough.
 * Each row is computed by one thread from its own inputs only, so results are bitwise identical
 * whatever the thread count; reductions across rows happen afterwards, in row order, on the caller.
 * A batch of fewer long rows than threads ({@link #forEachLongRow}) runs its rows in turn, each spread over
 * the pool in fixed chunks ({@link #forEachChunk}, {@link ChunkedKernels}), merged in chunk order.
 */
public final class RowExecutor implements AutoCloseable {
    public static final String PROPERTY = "entrokit.threads";
    public static final String ENV = "ENTROKIT_THREADS";
    /** Below this many elements a batch runs on the calling thread: handing off costs more. */
    static final long PARALLEL_THRESHOLD = 1 << 15;

    /** The work for one row. */
    @FunctionalInterface
    public interface RowTask {
        void run(int row);
    }

    /** Set on the caller while {@link #forEachLongRow} runs its rows there, so their chunks go to the pool. */
    private static final ThreadLocal<Boolean> SPLITTING = ThreadLocal.withInitial(() -> Boolean.FALSE);

    private final int threads;
    private final ForkJoinPool pool;
    private volatile boolean closed;

    /** A pool of {@code threads} workers; 1 means everything runs on the caller. */
    public RowExecutor(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads: must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.pool = threads == 1 ? null : new ForkJoinPool(threads, p -> {
            var w = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            w.setDaemon(true);
            w.setName("entrokit-" + w.getPoolIndex());
            return w;
        }, null, false);
    }

    /** Thread count from {@code -Dentrokit.threads} or {@code ENTROKIT_THREADS}, else the available processors. */
    public static int configuredThreads() {
        String v = System.getProperty(PROPERTY);
        String source = "-D" + PROPERTY;
        if (v == null || v.isBlank()) {
            v = System.getenv(ENV);
            source = ENV;
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
            // fall through to the message below
        }
        throw new IllegalArgumentException(source + ": expected a positive integer, got '" + v + "'");
    }

    /** Number of worker threads. */
    public int threads() {
        return threads;
    }

    /**
     * Runs {@code task} for rows {@code 0..rows-1}; {@code cols} sizes the work to decide on splitting.
     * {@code shareable = false} (memory that only the calling thread may touch, e.g. from a confined
     * arena) keeps every row on the calling thread.
     * Returns only when every started row has finished, even if the caller is interrupted, so that no
     * worker writes into the caller's buffers after this method has returned or thrown.
     */
    public void forEachRow(int rows, long cols, boolean shareable, RowTask task) {
        if (closed) {
            throw new IllegalStateException("entrokit: closed");
        }
        int parts = (int) Math.min(threads, rows);
        if (pool == null || !shareable || parts < 2 || (long) rows * cols < PARALLEL_THRESHOLD) {
            for (int r = 0; r < rows; r++) {
                task.run(r);
            }
            return;
        }
        runParts(rows, parts, task);
    }

    /**
     * As {@link #forEachRow}, for tasks whose kernels run rows longer than {@link ChunkedKernels#CHUNK} in chunks:
     * when the batch has fewer rows than threads, the rows run one after the other on the caller, and each row's
     * chunks are spread over the pool. Which chunks a row has, and the order they merge in, do not depend on
     * the thread count, so neither do the results.
     */
    public void forEachLongRow(int rows, long cols, boolean shareable, RowTask task) {
        if (closed) {
            throw new IllegalStateException("entrokit: closed");
        }
        if (pool == null || !shareable || rows >= threads || !ChunkedKernels.chunked(cols)) {
            forEachRow(rows, cols, shareable, task);
            return;
        }
        SPLITTING.set(Boolean.TRUE);
        try {
            for (int r = 0; r < rows; r++) {
                task.run(r);
            }
        } finally {
            SPLITTING.set(Boolean.FALSE);
        }
    }

    /**
     * Runs {@code task} for chunks {@code 0..chunks-1} of one row: over the pool when called from a row that
     * {@link #forEachLongRow} runs on the caller, else in turn on this thread. Returns when every chunk is done.
     */
    public void forEachChunk(int chunks, RowTask task) {
        int parts = Math.min(threads, chunks);
        if (pool == null || parts < 2 || !SPLITTING.get()) {
            for (int c = 0; c < chunks; c++) {
                task.run(c);
            }
            return;
        }
        runParts(chunks, parts, task);
    }

    /** Cuts {@code 0..count-1} into {@code parts} contiguous ranges; the caller runs the first and joins the rest. */
    private void runParts(int rows, int parts, RowTask task) {
        List<ForkJoinTask<?>> started = new ArrayList<>(parts);
        // Rows from here on run on the caller: a close() on another thread may shut the pool between
        // the check above and a submit, and the parts already started must still be joined.
        int callerFrom = rows;
        for (int p = 1; p < parts; p++) {
            int from = (int) ((long) rows * p / parts);
            int to = (int) ((long) rows * (p + 1) / parts);
            try {
                started.add(pool.submit(() -> {
                    for (int r = from; r < to; r++) {
                        task.run(r);
                    }
                }));
            } catch (RejectedExecutionException e) {
                callerFrom = from;
                break;
            }
        }
        Throwable first = null;
        try {
            int to = rows / parts;
            for (int r = 0; r < to; r++) {
                task.run(r);
            }
            for (int r = callerFrom; r < rows; r++) {
                task.run(r);
            }
        } catch (RuntimeException | Error e) {
            first = e;
        }
        for (ForkJoinTask<?> f : started) {
            try {
                f.join(); // uninterruptible: the workers write into the caller's buffers
            } catch (RuntimeException | Error e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first instanceof RuntimeException re) {
            throw re;
        } else if (first instanceof Error err) {
            throw err;
        }
    }

    /** Whether {@link #close()} has been called. */
    public boolean closed() {
        return closed;
    }

    @Override
    public void close() {
        closed = true;
        if (pool != null) {
            pool.shutdown();
        }
    }
}
