package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.Entrokit;
import dev.entrokit.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.SplittableRandom;

/**
 * Batch-1 softmax with statistics (one off-heap row of 128256 logits, T = 1, the entropy asked for) in a plain loop
 * outside JMH: after 20000 warm calls, one line per 1 s iteration with the wall time per call and the CPU time per
 * call of the caller and of the first {@code entrokit-row} helper (100 % of the wall time each when both have a
 * core). Written to tell whether the two modes JMH's 2-thread cells show are the kernels' or the harness's, e.g.
 * {@code java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.entrokit.bench.BatchOneProbe 2 40}.
 *
 * <p>Arguments: threads (default 2), iterations (default 20).
 */
public final class BatchOneProbe {
    private BatchOneProbe() {
    }

    /** Prints {@code it wall_us caller_cpu_us helper_cpu_us} per iteration. */
    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int n = 128256;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        try (Entrokit ek = Entrokit.create("simd", threads); Arena arena = Arena.ofShared()) {
            MemorySegment x = arena.allocate((long) n * Float.BYTES, 64);
            SplittableRandom rnd = new SplittableRandom(42);
            for (int i = 0; i < n; i++) {
                x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (rnd.nextGaussian() * 3));
            }
            Tensor logits = Tensor.of(x, DType.F32, 1, n);
            Tensor probs = Tensor.of(arena.allocate((long) n * Float.BYTES, 64), DType.F32, 1, n);
            Tensor entropy = Tensor.of(arena.allocate(Float.BYTES, 64), DType.F32, 1);
            for (int i = 0; i < 20000; i++) {
                ek.softmax(logits, probs, 1f, null, null, entropy);
            }
            long me = Thread.currentThread().threadId();
            long helper = -1;
            for (ThreadInfo t : mx.dumpAllThreads(false, false)) {
                if (t.getThreadName().startsWith("entrokit-row-")) {
                    helper = t.getThreadId();
                }
            }
            System.out.println("it wall_us caller_cpu_us helper_cpu_us");
            for (int it = 0; it < iterations; it++) {
                long w0 = System.nanoTime();
                long c0 = mx.getThreadCpuTime(me);
                long h0 = helper < 0 ? 0 : mx.getThreadCpuTime(helper);
                int calls = 0;
                while (System.nanoTime() - w0 < 1_000_000_000L) {
                    ek.softmax(logits, probs, 1f, null, null, entropy);
                    calls++;
                }
                long wall = System.nanoTime() - w0;
                long cpu = mx.getThreadCpuTime(me) - c0;
                long help = helper < 0 ? 0 : mx.getThreadCpuTime(helper) - h0;
                System.out.printf("%d %.1f %.1f %.1f%n", it, wall / 1e3 / calls, cpu / 1e3 / calls, help / 1e3 / calls);
            }
        }
    }
}
