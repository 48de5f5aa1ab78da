package dev.entrokit.bench;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Thread CPU time and bytes allocated per call of {@link HalfPrecisionBench}'s ops, one thread, each input → output
 * combination measured in turn within every round (so a change of load hits them all alike), after a warm-up of
 * every combination. The per-round ratio half / float32 of CPU time gives the elements-per-second ratios with their
 * spread. Thread CPU time leaves out the time other processes held the core, not what they did to the caches.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.entrokit.bench.HalfCpuProbe [rows] [cols] [rounds] [op|all] [f32,bf16-f32,...]</pre>
 */
public final class HalfCpuProbe {
    private static final String ALL_IO = "f32,bf16-f32,bf16-bf16,f16-f32,f16-f16";
    private static final int WARM_CALLS = 150;

    private HalfCpuProbe() {
    }

    /** Prints the table; arguments as in the class comment. */
    public static void main(String[] args) {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        int cols = args.length > 1 ? Integer.parseInt(args[1]) : 128256;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 15;
        String onlyOp = args.length > 3 && !args[3].equals("all") ? args[3] : null;
        // The first combination is the baseline of the ratios. One half type per JVM is the case of a serving
        // process; several share the blocks' compiled code (and its profile) with each other.
        String[] IO = (args.length > 4 ? args[4] : ALL_IO).split(",");
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Map<String, ToDoubleFunction<HalfPrecisionBench.Batch>> ops = new LinkedHashMap<>();
        ops.put("logSumExp", HalfPrecisionBench.Batch::logSumExp);
        ops.put("softmax", HalfPrecisionBench.Batch::softmax);
        ops.put("logSoftmax", HalfPrecisionBench.Batch::logSoftmax);
        ops.put("softmaxStats", HalfPrecisionBench.Batch::softmaxStats);
        HalfPrecisionBench.Batch[] batches = new HalfPrecisionBench.Batch[IO.length];
        for (int c = 0; c < IO.length; c++) {
            batches[c] = new HalfPrecisionBench.Batch(rows, cols, IO[c]);
        }
        double sink = 0;
        System.out.printf("simd kernels, one thread, %d x %d, off-heap; %d warm calls per combination, then %d rounds"
                + " of one call per combination%n%n", rows, cols, WARM_CALLS, rounds);
        System.out.println("| op | in → out | thread CPU ms per call, median (min–max) | Gelem/s at the median"
                + " | × " + IO[0] + " elements/s, median (min–max of rounds) | bytes allocated per call |");
        System.out.println("|---|---|---:|---:|---:|---:|");
        for (var op : ops.entrySet()) {
            if (onlyOp != null && !op.getKey().equals(onlyOp)) {
                continue;
            }
            for (int w = 0; w < WARM_CALLS; w++) {
                for (HalfPrecisionBench.Batch b : batches) {
                    sink += op.getValue().applyAsDouble(b);
                }
            }
            double[][] cpu = new double[IO.length][rounds];
            long[][] bytes = new long[IO.length][rounds];
            for (int k = 0; k < rounds; k++) {
                for (int c = 0; c < IO.length; c++) {
                    long b0 = mx.getCurrentThreadAllocatedBytes();
                    long t0 = mx.getCurrentThreadCpuTime();
                    sink += op.getValue().applyAsDouble(batches[c]);
                    cpu[c][k] = (mx.getCurrentThreadCpuTime() - t0) / 1e6;
                    bytes[c][k] = mx.getCurrentThreadAllocatedBytes() - b0;
                }
            }
            for (int c = 0; c < IO.length; c++) {
                double[] ratio = new double[rounds];
                for (int k = 0; k < rounds; k++) {
                    ratio[k] = cpu[0][k] / cpu[c][k]; // elements/s relative to the first combination
                }
                double[] sorted = cpu[c].clone();
                Arrays.sort(sorted);
                Arrays.sort(ratio);
                long[] b = bytes[c].clone();
                Arrays.sort(b);
                double median = sorted[rounds / 2];
                System.out.printf("| %s | %s | %.3f (%.3f–%.3f) | %.2f | %.2f (%.2f–%.2f) | %,d |%n", op.getKey(), IO[c],
                        median, sorted[0], sorted[rounds - 1], (double) rows * cols / median / 1e6,
                        ratio[rounds / 2], ratio[0], ratio[rounds - 1], b[rounds / 2]);
            }
        }
        for (HalfPrecisionBench.Batch b : batches) {
            b.close();
        }
        if (sink == 42.4242) {
            System.out.println();
        }
    }
}
