package dev.entrokit.internal;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A {@link RowSplit} that shares a row's chunks between the calling thread and {@code helpers} daemon threads.
 * Every participant claims the next unclaimed chunk from one counter, so the caller alone finishes the row when
 * the helpers are late (parked, descheduled) and the result never depends on who ran what.
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

    private final Thread[] helpers;
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile Job job;
    private volatile boolean closed;

    private static final class Job {
        final IntConsumer task;
        final int chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(IntConsumer task, int chunks) {
            this.task = task;
            this.chunks = chunks;
        }

        /** Claims and runs chunks until none is left. */
        void work() {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
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
    }

    /** A team of {@code helpers} (≥ 1) threads beside the caller, started now. */
    public ChunkTeam(int helpers) {
        if (helpers < 1) {
            throw new IllegalArgumentException("helpers: must be >= 1, got " + helpers);
        }
        this.helpers = new Thread[helpers];
        for (int h = 0; h < helpers; h++) {
            Thread t = new Thread(this::helperLoop, "entrokit-row-" + h);
            t.setDaemon(true);
            this.helpers[h] = t;
            t.start();
        }
    }

    @Override
    public void run(int chunks, IntConsumer task) {
        if (chunks < 2 || closed || !busy.compareAndSet(false, true)) {
            SERIAL.run(chunks, task);
            return;
        }
        Job j = new Job(task, chunks);
        try {
            job = j;
            for (Thread h : helpers) {
                LockSupport.unpark(h);
            }
            j.work();
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

    private void helperLoop() {
        Job last = null;
        long idleSince = System.nanoTime();
        while (!closed) {
            Job j = job;
            if (j != null && j != last) {
                last = j;
                j.work();
                idleSince = System.nanoTime();
            } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                Thread.onSpinWait();
            } else {
                last = null; // let the finished job (and what its task holds) be collected
                LockSupport.park(this);
                idleSince = System.nanoTime();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread h : helpers) {
            LockSupport.unpark(h);
        }
    }
}
