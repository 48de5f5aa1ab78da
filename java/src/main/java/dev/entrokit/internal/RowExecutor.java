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

    /** Wraps the rows of one call (see {@link #scope(RowScope)}). */
    @FunctionalInterface
    public interface RowScope {
        /** The task as every row of this call runs it; called once per call, on the caller. */
        RowTask wrap(RowTask task);

        /** Called on the caller before a call's first row is wrapped. */
        default void begin() {
        }

        /** Called on the caller once every row of a call that {@link #begin} saw has finished, or failed. */
        default void end() {
        }
    }

    private volatile RowScope scope;
    private final int threads;
    private final ForkJoinPool pool;
    private volatile boolean closed;
    private ChunkTeam team; // started on the first call that splits a row

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

    /**
     * Runs every call's rows through {@code scope}: the hand-off backend pins the backend a call started on,
     * so that no batch mixes the rows of two backends when the SIMD warm-up finishes during it.
     */
    public void scope(RowScope scope) {
        this.scope = scope;
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
    public void forEachRow(int rows, long cols, boolean shareable, RowTask rowTask) {
        if (closed) {
            throw new IllegalStateException("entrokit: closed");
        }
        RowScope s = scope;
        if (s == null) {
            run(rows, cols, shareable, rowTask);
            return;
        }
        s.begin();
        try {
            run(rows, cols, shareable, s.wrap(rowTask));
        } finally {
            s.end();
        }
    }

    private void run(int rows, long cols, boolean shareable, RowTask task) {
        int parts = (int) Math.min(threads, rows);
        if (pool == null || !shareable || parts < 2 || (long) rows * cols < PARALLEL_THRESHOLD) {
            for (int r = 0; r < rows; r++) {
                task.run(r);
            }
            return;
        }
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

    /**
     * Who runs the chunks of a call's rows ({@link RowSplit}): the team of helper threads when the call has fewer
     * rows than threads, its rows are long enough to be cut ({@link RowSplit#chunked}) and its memory may be
     * touched by other threads; else the calling thread. Results are the same bits either way.
     */
    public RowSplit split(int rows, long cols, boolean shareable) {
        if (pool == null || !shareable || rows >= threads || cols < RowSplit.MIN_LENGTH || closed) {
            return RowSplit.SERIAL;
        }
        synchronized (this) {
            if (team == null && !closed) {
                team = new ChunkTeam(threads - 1);
            }
            return team == null ? RowSplit.SERIAL : team;
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
        synchronized (this) {
            if (team != null) {
                team.close();
            }
        }
    }
}
