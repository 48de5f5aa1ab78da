package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.Entrokit;
import dev.entrokit.LossOptions;
import dev.entrokit.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Bytes allocated and thread CPU time per call of each distribution op once compiled, one thread: the check
 * behind "nothing allocates in a hot loop". A Vector API kernel that C2 compiled past its inlining budget boxes
 * a vector per iteration; that shows here as kilobytes per row long before it shows in a timing, and it shows
 * on a loaded machine too, where timings do not (thread CPU time leaves out the time other processes held the
 * core, not what they did to the caches). Not a benchmark: JMH runs give the timings that count.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.entrokit.bench.AllocationProbe [backend] [rows] [cols] [op]</pre>
 */
public final class AllocationProbe {
    private static final int WARM_CALLS = 200;
    private static final int MEASURED_CALLS = 9;

    private AllocationProbe() {
    }

    public static void main(String[] args) {
        String backend = args.length > 0 ? args[0] : "simd";
        int rows = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int cols = args.length > 2 ? Integer.parseInt(args[2]) : 32000;
        String only = args.length > 3 ? args[3] : null;
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Arena arena = Arena.ofShared(); Entrokit ek = Entrokit.create(backend, 1)) {
            Tensor t = gaussian(arena, rows, cols, 42);
            Tensor s = gaussian(arena, rows, cols, 43);
            Tensor g = Tensor.of(arena.allocate((long) rows * cols * Float.BYTES, 64), DType.F32, rows, cols);
            Tensor o = Tensor.of(arena.allocate((long) rows * cols * Float.BYTES, 64), DType.F32, rows, cols);
            Tensor h = Tensor.of(arena.allocate((long) rows * Float.BYTES, 64), DType.F32, rows);
            LossOptions opt = LossOptions.defaults();
            Map<String, Runnable> ops = new LinkedHashMap<>();
            ops.put("logSumExp", () -> ek.logSumExp(t, h, 1f));
            ops.put("softmax", () -> ek.softmax(t, o, 1f));
            ops.put("logSoftmax", () -> ek.logSoftmax(t, o, 1f));
            ops.put("softmax + row stats", () -> ek.softmax(t, o, 1f, null, null, h));
            ops.put("entropy", () -> ek.entropy(t, opt, null, null));
            ops.put("entropy + grad", () -> ek.entropy(t, opt, null, g));
            ops.put("crossEntropy", () -> ek.crossEntropy(t, s, opt, null, null));
            ops.put("crossEntropy + grad", () -> ek.crossEntropy(t, s, opt, null, g));
            ops.put("kl", () -> ek.kl(t, s, opt, null, null));
            ops.put("kl + grad", () -> ek.kl(t, s, opt, null, g));
            ops.put("rkl", () -> ek.rkl(t, s, opt, null, null));
            ops.put("rkl + grad", () -> ek.rkl(t, s, opt, null, g));
            ops.put("jsd", () -> ek.jsd(t, s, opt, null, null));
            ops.put("jsd + grad", () -> ek.jsd(t, s, opt, null, g));
            ops.put("jeffreys + grad", () -> ek.jeffreys(t, s, opt, null, g));
            ops.put("tv", () -> ek.tv(t, s, opt, null));
            ops.put("hellinger", () -> ek.hellinger(t, s, opt, null));
            ops.put("alphaDivergence + grad", () -> ek.alphaDivergence(t, s, 0.5f, opt, null, g));
            ops.put("renyi + grad", () -> ek.renyi(t, s, 0.5f, opt, null, g));
            System.out.printf("%s backend, one thread, %d x %d, after %d calls; median of %d calls%n%n", backend, rows, cols,
                    WARM_CALLS, MEASURED_CALLS);
            System.out.println("| op | bytes allocated per call | thread CPU ms per call |");
            System.out.println("|---|---:|---:|");
            for (var e : ops.entrySet()) {
                if (only != null && !e.getKey().equals(only)) {
                    continue;
                }
                try {
                    for (int k = 0; k < WARM_CALLS; k++) {
                        e.getValue().run();
                    }
                } catch (LinkageError missing) { // an older jar on the class path, to compare against
                    System.out.printf("| %s | (not in this version) | |%n", e.getKey());
                    continue;
                }
                long[] bytes = new long[MEASURED_CALLS];
                double[] cpu = new double[MEASURED_CALLS];
                for (int k = 0; k < MEASURED_CALLS; k++) {
                    long b0 = mx.getCurrentThreadAllocatedBytes();
                    long c0 = mx.getCurrentThreadCpuTime();
                    e.getValue().run();
                    cpu[k] = (mx.getCurrentThreadCpuTime() - c0) / 1e6;
                    bytes[k] = mx.getCurrentThreadAllocatedBytes() - b0;
                }
                Arrays.sort(bytes);
                Arrays.sort(cpu);
                System.out.printf("| %s | %,d | %.2f |%n", e.getKey(), bytes[MEASURED_CALLS / 2], cpu[MEASURED_CALLS / 2]);
            }
        }
    }

    private static Tensor gaussian(Arena arena, int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        MemorySegment seg = arena.allocate((long) rows * cols * Float.BYTES, 64);
        for (long i = 0; i < (long) rows * cols; i++) {
            seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextGaussian() * 3));
        }
        return Tensor.of(seg, DType.F32, rows, cols);
    }
}
