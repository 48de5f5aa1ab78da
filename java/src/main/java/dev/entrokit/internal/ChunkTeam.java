package dev.entrokit.internal;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A {@link RowSplit} that shares a row's chunks between the calling thread and {@code helpers} daemon threads.
 * Every participant runs its own share of the chunks and then claims what is left, so the caller alone finishes the
 * row when the helpers are late (parked, descheduled) and the result never depends on who ran what.
 *
 * <p>Helpers spin for {@link #SPIN_NANOS} after a job before they park: a softmax over one row of 128256 logits
 * takes about 60 µs and makes three hand-offs, and waking a parked thread costs tens of µs, which is why handing
 * the chunks to the fork-join pool gained nothing at batch 1 (bench/results/cpu-batch1-rows-2026-12-07.md). One
 * job runs at a time; a caller that finds the team busy (another call, or a chunk that splits again) runs its
 * chunks alone.
 */
public final class ChunkTeam implements RowSplit, AutoCloseable {
    /** How long an idle helper spins before it parks: longer than the gaps between the passes of one call. */
    static final long SPIN_NANOS = 200_000;
    /** How long a parked helper waits for a job before it ends (the next job starts it again), as a pool's keep-alive. */
    static final long KEEP_ALIVE_NANOS = 60_000_000_000L;

    private final long keepAliveNanos;
    private final Thread[] helpers; // guarded by this: a slot is null while its helper is not running
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile Job job;
    private volatile boolean closed;

    /**
     * One call's chunks. Participant {@code p} of {@code P} (the caller is 0) first runs the chunks of its own contiguous
     * share, {@code [p·chunks/P, (p+1)·chunks/P)}, then any chunk still unclaimed, each chunk claimed once by CAS. Own
     * shares first, so that a chunk meets the same core in every pass of a call and in every call, its rows still in
     * that core's L2: claiming from one shared counter let the passes of a batch-1 softmax swap chunks between cores
     * and run in two modes, 36 or 48 µs per call on 2 threads.
     */
    private static final class Job {
        final IntConsumer task;
        final int chunks;
        final int participants;
        final AtomicIntegerArray claimed;
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(IntConsumer task, int chunks, int participants) {
            this.task = task;
            this.chunks = chunks;
            this.participants = participants;
            this.claimed = new AtomicIntegerArray(chunks);
        }

        /** Runs participant {@code p}'s share, then helps with whatever is left. */
        void work(int p) {
            int from = (int) ((long) chunks * p / participants);
            int to = (int) ((long) chunks * (p + 1) / participants);
            for (int c = from; c < to; c++) {
                tryRun(c);
            }
            for (int c = 0; c < chunks; c++) {
                tryRun(c);
            }
        }

        private void tryRun(int c) {
            if (claimed.get(c) != 0 || !claimed.compareAndSet(c, 0, 1)) {
                return;
            }
            try {
                task.accept(c);
            } catch (Throwable t) {
                if (failure == null) {
                    failure = t;
                }
            } finally {
                done.incrementAndGet();
            }
        }
    }

    /** A team of {@code helpers} (≥ 1) threads beside the caller, started with its first job. */
    public ChunkTeam(int helpers) {
        this(helpers, KEEP_ALIVE_NANOS);
    }

    /** As {@link #ChunkTeam(int)} with another keep-alive (tests). */
    ChunkTeam(int helpers, long keepAliveNanos) {
        if (helpers < 1) {
            throw new IllegalArgumentException("helpers: must be >= 1, got " + helpers);
        }
        this.helpers = new Thread[helpers];
        this.keepAliveNanos = keepAliveNanos;
    }

    @Override
    public void run(int chunks, IntConsumer task) {
        if (chunks < 2 || closed || !busy.compareAndSet(false, true)) {
            SERIAL.run(chunks, task);
            return;
        }
        Job j = new Job(task, chunks, helpers.length + 1);
        try {
            startHelpers();
            job = j;
            synchronized (this) {
                for (Thread h : helpers) {
                    if (h != null) {
                        LockSupport.unpark(h);
                    }
                }
            }
            j.work(0);
            while (j.done.get() < chunks) {
                Thread.onSpinWait();
            }
        } finally {
            job = null;
            busy.set(false);
        }
        Throwable f = j.failure;
        if (f instanceof RuntimeException re) {
            throw re;
        } else if (f instanceof Error e) {
            throw e;
        } else if (f != null) {
            throw new IllegalStateException("entrokit: a row chunk failed", f);
        }
    }

    /** Starts the helpers that are not running (none yet, or ended after their keep-alive). */
    private synchronized void startHelpers() {
        for (int h = 0; h < helpers.length; h++) {
            if (helpers[h] == null && !closed) {
                int slot = h;
                Thread t = new Thread(() -> helperLoop(slot), "entrokit-row-" + h);
                t.setDaemon(true);
                // Not the first caller's loader: a helper may outlive the code that started it.
                t.setContextClassLoader(ChunkTeam.class.getClassLoader());
                helpers[h] = t;
                t.start();
            }
        }
    }

    private void helperLoop(int slot) {
        Job last = null;
        long idleSince = System.nanoTime();
        while (!closed) {
            Job j = job;
            if (j != null && j != last) {
                last = j;
                j.work(slot + 1);
                idleSince = System.nanoTime();
            } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                Thread.onSpinWait();
            } else {
                last = null; // let the finished job (and what its task holds) be collected
                LockSupport.parkNanos(this, keepAliveNanos);
                if (System.nanoTime() - idleSince >= keepAliveNanos && endIfIdle(slot)) {
                    return;
                }
            }
        }
        synchronized (this) {
            helpers[slot] = null;
        }
    }

    /** Ends helper {@code slot} unless a job came meanwhile; a caller starts it again on its next job. */
    private synchronized boolean endIfIdle(int slot) {
        if (job != null) {
            return false;
        }
        helpers[slot] = null;
        return true;
    }

    @Override
    public void close() {
        closed = true;
        synchronized (this) {
            for (Thread h : helpers) {
                if (h != null) {
                    LockSupport.unpark(h);
                }
            }
        }
    }
}
