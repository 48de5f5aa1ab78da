package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.Entrokit;
import dev.entrokit.LossOptions;
import dev.entrokit.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The exp-bound divergence and softmax-family ops through the public façade, one thread, float32 off-heap rows:
 * thread CPU time and bytes allocated per call, reported per element (per teacher/student pair for the losses,
 * 256 × 32000 as bench W2; per logit for the softmax family, 32 × 128256 as bench W1). The ops are measured in turn
 * within every round, after a warm-up of each, so that a change of load hits them all alike; a before/after
 * comparison runs two builds of this probe alternately (see bench/results/exp2-divergences-2026-12-07.md).
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.entrokit.bench.ExpUnitsProbe [rounds] [op prefix|all] [backend]</pre>
 */
public final class ExpUnitsProbe {
    private static final int WARM_CALLS = 40;
    private static final int ROWS = 32;
    private static final int COLS = 128256;
    private static final int PAIR_ROWS = 256;
    private static final int PAIR_COLS = 32000;
    private static final LossOptions SUM = LossOptions.defaults();

    private ExpUnitsProbe() {
    }

    /** Inputs and outputs, off-heap. */
    static final class Data implements AutoCloseable {
        final Arena arena = Arena.ofShared();
        final Tensor logits;
        final Tensor teacher;
        final Tensor student;
        final Tensor probs;
        final Tensor rowMax;
        final Tensor rowLogSumExp;
        final Tensor rowEntropy;
        final Tensor rowLoss;
        final Tensor grad;
        final Tensor labels;

        Data() {
            logits = input(SyntheticLogits.heavyTailed(ROWS, COLS, 42, 0.02), ROWS, COLS);
            float[] t = SyntheticLogits.heavyTailed(PAIR_ROWS, PAIR_COLS, 7, 0.02);
            teacher = input(t, PAIR_ROWS, PAIR_COLS);
            student = input(SyntheticLogits.perturbed(t, 8, 0.5), PAIR_ROWS, PAIR_COLS);
            probs = f32(ROWS, COLS);
            rowMax = f32(ROWS, 1);
            rowLogSumExp = f32(ROWS, 1);
            rowEntropy = f32(ROWS, 1);
            rowLoss = f32(ROWS, 1);
            grad = f32(PAIR_ROWS, PAIR_COLS);
            int[] label = new int[PAIR_ROWS];
            for (int r = 0; r < PAIR_ROWS; r++) {
                label[r] = (r * 7919) % PAIR_COLS;
            }
            labels = Tensor.of(label);
        }

        private Tensor f32(int rows, int cols) {
            return cols == 1 ? Tensor.of(arena.allocate(rows * 4L, 64), DType.F32, rows)
                    : Tensor.of(arena.allocate((long) rows * cols * 4, 64), DType.F32, rows, cols);
        }

        private Tensor input(float[] values, int rows, int cols) {
            MemorySegment s = arena.allocate((long) values.length * 4, 64);
            MemorySegment.copy(values, 0, s, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, values.length);
            return Tensor.of(s, DType.F32, rows, cols);
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    /** The pairwise losses (256 × 32000) and the softmax family (32 × 128256), one small lambda each. */
    static Map<String, ToDoubleFunction<Data>> ops(Entrokit ek) {
        Map<String, ToDoubleFunction<Data>> ops = new LinkedHashMap<>();
        ops.put("kl", d -> ek.kl(d.teacher, d.student, SUM, null, null));
        ops.put("kl+grad", d -> ek.kl(d.teacher, d.student, SUM, null, d.grad));
        ops.put("rkl", d -> ek.rkl(d.teacher, d.student, SUM, null, null));
        ops.put("rkl+grad", d -> ek.rkl(d.teacher, d.student, SUM, null, d.grad));
        ops.put("crossEntropy", d -> ek.crossEntropy(d.teacher, d.student, SUM, null, null));
        ops.put("crossEntropy+grad", d -> ek.crossEntropy(d.teacher, d.student, SUM, null, d.grad));
        ops.put("jeffreys", d -> ek.jeffreys(d.teacher, d.student, SUM, null, null));
        ops.put("jeffreys+grad", d -> ek.jeffreys(d.teacher, d.student, SUM, null, d.grad));
        ops.put("jsd", d -> ek.jsd(d.teacher, d.student, SUM, null, null));
        ops.put("jsd+grad", d -> ek.jsd(d.teacher, d.student, SUM, null, d.grad));
        ops.put("crossEntropyLabels", d -> ek.crossEntropyLabels(d.labels, d.student, SUM, null, null));
        ops.put("crossEntropyLabels+grad", d -> ek.crossEntropyLabels(d.labels, d.student, SUM, null, d.grad));
        ops.put("tv", d -> ek.tv(d.teacher, d.student, SUM, null));
        ops.put("hellinger", d -> ek.hellinger(d.teacher, d.student, SUM, null));
        ops.put("entropy", d -> ek.entropy(d.logits, SUM, d.rowLoss, null));
        ops.put("softmax", d -> { ek.softmax(d.logits, d.probs, 1f); return d.probs.getFloat(0, 0); });
        ops.put("softmax+stats", d -> { ek.softmax(d.logits, d.probs, 1f, d.rowMax, d.rowLogSumExp, d.rowEntropy); return d.rowEntropy.getFloat(0); });
        ops.put("logSoftmax", d -> { ek.logSoftmax(d.logits, d.probs, 1f); return d.probs.getFloat(0, 0); });
        ops.put("logSumExp", d -> { ek.logSumExp(d.logits, d.rowLogSumExp, 1f); return d.rowLogSumExp.getFloat(0); });
        return ops;
    }

    private static long elements(String op) {
        return op.matches("(kl|rkl|crossEntropy|crossEntropyLabels|jeffreys|jsd|tv|hellinger)(\\+grad)?") ? (long) PAIR_ROWS * PAIR_COLS
                : (long) ROWS * COLS;
    }

    /** Prints one table row per op: ns per element, median (min–max) over the rounds, and bytes allocated per call. */
    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        String only = args.length > 1 && !args[1].equals("all") ? args[1] : null;
        String backend = args.length > 2 ? args[2] : "simd";
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        double sink = 0;
        try (Data data = new Data(); Entrokit ek = Entrokit.create(backend, 1)) {
            Map<String, ToDoubleFunction<Data>> ops = new LinkedHashMap<>();
            for (var op : ops(ek).entrySet()) {
                if (only == null || op.getKey().matches(only)) {
                    ops.put(op.getKey(), op.getValue());
                }
            }
            String[] names = ops.keySet().toArray(new String[0]);
            System.out.printf("%s backend, one thread; %d warm calls per op, then %d rounds of one call per op;"
                    + " load average at start %s%n%n", backend, WARM_CALLS, rounds, loadAverage());
            for (String name : names) {
                for (int w = 0; w < WARM_CALLS; w++) {
                    sink += ops.get(name).applyAsDouble(data);
                }
            }
            double[][] ns = new double[names.length][rounds];
            long[][] bytes = new long[names.length][rounds];
            for (int k = 0; k < rounds; k++) {
                for (int o = 0; o < names.length; o++) {
                    long b0 = mx.getCurrentThreadAllocatedBytes();
                    long t0 = mx.getCurrentThreadCpuTime();
                    sink += ops.get(names[o]).applyAsDouble(data);
                    ns[o][k] = (double) (mx.getCurrentThreadCpuTime() - t0) / elements(names[o]);
                    bytes[o][k] = mx.getCurrentThreadAllocatedBytes() - b0;
                }
            }
            System.out.println("| op | ns/element, median (min–max) | bytes allocated per call, median |");
            System.out.println("|---|---:|---:|");
            for (int o = 0; o < names.length; o++) {
                double[] sorted = ns[o].clone();
                Arrays.sort(sorted);
                long[] b = bytes[o].clone();
                Arrays.sort(b);
                System.out.printf("| %s | %.3f (%.3f–%.3f) | %,d |%n", names[o], sorted[rounds / 2], sorted[0],
                        sorted[rounds - 1], b[rounds / 2]);
            }
            System.out.printf("%nload average at end %s; checksum %s%n", loadAverage(), sink);
        }
    }

    private static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
