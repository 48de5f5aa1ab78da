package dev.entrokit.internal.simd;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Float64Oracle;
import dev.entrokit.TestLogits;
import dev.entrokit.Spec5.Kind;
import dev.entrokit.Spec5;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The SIMD JSD over a row longer than {@link PairPasses#PROB_CHUNK}: it runs in chunks (the
 * gradient recomputes the probabilities), matches the float64 oracle, and leaves this thread's workspace
 * bounded by the chunk, not by the row.
 */
class JsdChunkTest {
    private static final int N = PairPasses.PROB_CHUNK + 1003; // a full chunk and a partial one

    @Test
    void aRowOfSeveralChunksMatchesTheOracleWithABoundedWorkspace() throws Exception {
        float[] t = TestLogits.batch(TestLogits.seed("jsd-chunks", 1), 1, N);
        float[] s = TestLogits.studentFor(t, TestLogits.seed("jsd-chunks", 2), 1, N);
        float[] heapGrad = new float[N];
        double[] values = new double[2];
        long[] workspaceBytes = new long[3];
        AtomicReference<Throwable> failure = new AtomicReference<>();
        // A fresh thread has a fresh workspace, so its sizes afterwards are this call's doing.
        Thread worker = new Thread(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment nativeGrad = arena.allocate((long) N * Float.BYTES);
                SimdDivergenceKernels k = new SimdDivergenceKernels();
                MemorySegment ts = MemorySegment.ofArray(t);
                MemorySegment ss = MemorySegment.ofArray(s);
                values[0] = k.jsd(ts, 0, ss, 0, N, 1f, 0.3f, MemorySegment.ofArray(heapGrad), 0, 1f);
                values[1] = k.jsd(ts, 0, ss, 0, N, 1f, 0.3f, nativeGrad, 0, 1f);
                for (int i = 0; i < N; i++) {
                    if (nativeGrad.getAtIndex(ValueLayout.JAVA_FLOAT, i) != heapGrad[i]) {
                        throw new AssertionError("heap and native gradients differ at " + i);
                    }
                }
                Workspace ws = Workspace.get();
                workspaceBytes[0] = ws.probRow(0, 1).byteSize();
                workspaceBytes[1] = ws.probRow(1, 1).byteSize();
                workspaceBytes[2] = ws.staging(1).byteSize();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        worker.start();
        worker.join();
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        double[] td = Float64Oracle.widen(t);
        double[] sd = Float64Oracle.widen(s);
        Spec5.check(Kind.LOSS, values[0], Float64Oracle.jsd(td, sd, 0.3, 1), "JSD over " + N);
        Spec5.check(Kind.LOSS, values[1], values[0], "JSD, native gradient");
        Spec5.check(Kind.GRAD, heapGrad, 0, Float64Oracle.jsdGrad(td, sd, 0.3, 1, 1), "JSD gradient over " + N);
        long bound = 2L * PairPasses.PROB_CHUNK * Float.BYTES;
        for (long bytes : workspaceBytes) {
            assertTrue(bytes <= bound, "a workspace row of " + bytes + " bytes for a row of " + N + " floats");
        }
    }
}
