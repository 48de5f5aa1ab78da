package dev.entrokit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The team that shares one row's chunks: every chunk runs exactly once whoever claims it, failures come back to the
 * caller after every chunk has finished, a job started from inside a chunk (or while another runs) runs on its
 * caller alone, a closed team runs serially, helpers end after their keep-alive and start again with the next job,
 * and the chunk arithmetic cannot overflow on the longest rows the API accepts.
 */
class ChunkTeamTest {

    private static long helperThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("entrokit-row-") && t.isAlive()).count();
    }

    @Test
    void everyChunkRunsOnceAcrossManyJobs() {
        try (ChunkTeam team = new ChunkTeam(3)) {
            for (int round = 0; round < 2000; round++) {
                int chunks = 2 + round % 13;
                AtomicIntegerArray runs = new AtomicIntegerArray(chunks);
                team.run(chunks, runs::incrementAndGet);
                for (int c = 0; c < chunks; c++) {
                    assertEquals(1, runs.get(c), "round " + round + " chunk " + c);
                }
            }
        }
    }

    @Test
    void aFailureIsRethrownAfterEveryChunkFinished() {
        try (ChunkTeam team = new ChunkTeam(2)) {
            AtomicInteger finished = new AtomicInteger();
            IllegalStateException boom = new IllegalStateException("boom");
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> team.run(16, c -> {
                if (c == 3) {
                    throw boom;
                }
                finished.incrementAndGet();
            }));
            assertSame(boom, e);
            assertEquals(15, finished.get(), "the other chunks all ran before the call returned");
            AtomicIntegerArray runs = new AtomicIntegerArray(5);
            team.run(5, runs::incrementAndGet); // the team still works
            for (int c = 0; c < 5; c++) {
                assertEquals(1, runs.get(c));
            }
        }
    }

    @Test
    void aNestedJobRunsOnItsCallerAndAClosedTeamRunsSerially() {
        ChunkTeam team = new ChunkTeam(2);
        AtomicIntegerArray inner = new AtomicIntegerArray(4 * 6);
        team.run(4, outer -> team.run(6, c -> inner.incrementAndGet(outer * 6 + c)));
        for (int i = 0; i < inner.length(); i++) {
            assertEquals(1, inner.get(i), "inner chunk " + i);
        }
        team.close();
        Thread caller = Thread.currentThread();
        team.run(5, c -> assertSame(caller, Thread.currentThread(), "a closed team runs chunks on the caller"));
    }

    @Test
    void helpersEndAfterTheirKeepAliveAndStartAgain() throws InterruptedException {
        long before = helperThreads();
        try (ChunkTeam team = new ChunkTeam(2, 50_000_000L)) {
            AtomicIntegerArray runs = new AtomicIntegerArray(8);
            team.run(8, runs::incrementAndGet);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (helperThreads() > before && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(before, helperThreads(), "idle helpers end after the keep-alive");
            AtomicIntegerArray again = new AtomicIntegerArray(8);
            team.run(8, again::incrementAndGet);
            for (int c = 0; c < 8; c++) {
                assertEquals(1, again.get(c));
            }
        }
    }

    @Test
    void chunkEndsDoNotOverflowOnTheLongestRows() {
        int upper = (Integer.MAX_VALUE - 64) / 16 * 16;
        int chunks = RowSplit.chunks(upper);
        assertEquals(upper, RowSplit.end(chunks - 1, upper), "the last chunk ends at the row's end");
        assertTrue(RowSplit.start(chunks - 1) < upper && RowSplit.start(chunks - 1) >= 0);
        long covered = 0;
        for (int c = 0; c < chunks; c++) {
            assertTrue(RowSplit.end(c, upper) > RowSplit.start(c), "chunk " + c + " is not empty");
            covered += RowSplit.end(c, upper) - RowSplit.start(c);
        }
        assertEquals(upper, covered);
    }
}
