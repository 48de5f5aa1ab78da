package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.Entrokit;
import dev.entrokit.SamplingFilters;
import dev.entrokit.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Thread CPU time per call of each truncation step as a kept mask over {@link DecodingBench}'s batch (32 ×
 * 128256 heavy-tailed logits, 2 % masked, one thread): the measurement that holds on a shared machine, where
 * wall-clock timings do not (thread CPU time leaves out the time other processes held the core). Prints the
 * median and the spread in ms and ns/element, and the bytes allocated per call. Its PyTorch peer is
 * {@code bench/peers/decoding_steps.py --cpu}, run in the same script ({@code bench/scripts/decoding-cpu.sh}).
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.entrokit.bench.DecodingProbe [backend] [calls] [pipeline]</pre>
 */
public final class DecodingProbe {
    /** Long enough for C2 to compile the vector loops on a loaded machine (until then they allocate boxes). */
    private static final long WARM_NANOS = (long) (Double.parseDouble(System.getProperty("warm", "6")) * 1e9);

    private DecodingProbe() {
    }

    /** The pipelines: the peer's six, then the prefix filters alone (top-H in the Top-H paper's mode, over the first 100 tokens). */
    static Map<String, SamplingFilters> pipelines() {
        SamplingFilters b = SamplingFilters.temperature(1f);
        Map<String, SamplingFilters> m = new LinkedHashMap<>();
        m.put("typical", b.typical(0.9f));
        m.put("epsilon", b.epsilon(3e-4f));
        m.put("eta", b.eta(3e-4f));
        m.put("top_n_sigma", b.topNSigma(1f));
        m.put("top_k50_typical", b.topK(50).typical(0.9f));
        m.put("dynamic_temperature_min_p", b.dynamicTemperature(0.5f, 1.5f, 1f).minP(0.05f));
        m.put("mirostat", b.mirostat(5f));
        m.put("top_k50", b.topK(50));
        m.put("top_p0.9", b.topP(0.9f));
        m.put("min_p0.05", b.minP(0.05f));
        try {
            m.put("top_p0.9_min_keep5", b.topP(0.9f, 5));
        } catch (LinkageError older) { // an older library first on the class path, to compare against
            System.out.println("(top_p0.9_min_keep5: not in this version)");
        }
        m.put("top_h0.5", b.topH(0.5f));
        return m;
    }

    public static void main(String[] args) {
        String backend = args.length > 0 ? args[0] : "simd";
        int calls = args.length > 1 ? Integer.parseInt(args[1]) : 21;
        String only = args.length > 2 ? args[2] : null;
        int rows = 32;
        int cols = 128256;
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Arena arena = Arena.ofShared(); Entrokit ek = Entrokit.create(backend, 1)) {
            float[] x = SyntheticLogits.heavyTailed(rows, cols, 42, 0.02);
            MemorySegment seg = arena.allocate((long) x.length * Float.BYTES, 64);
            MemorySegment.copy(x, 0, seg, ValueLayout.JAVA_FLOAT, 0, x.length);
            Tensor logits = Tensor.of(seg, DType.F32, rows, cols);
            Tensor mask = Tensor.of(arena.allocate((long) rows * cols, 64), DType.BOOL, rows, cols);
            System.out.printf("%s backend, one thread, %d x %d heavy-tailed logits (2 %% masked), kept mask; %d calls after"
                    + " %.0f s of warm-up; thread CPU time%n%n", backend, rows, cols, calls, WARM_NANOS / 1e9);
            System.out.println("| pipeline | median ms | min–max ms | ns/element (median) | kept (row 0) | bytes/call |");
            System.out.println("|---|---:|---:|---:|---:|---:|");
            for (var e : pipelines().entrySet()) {
                if (only != null && !e.getKey().equals(only)) {
                    continue;
                }
                SamplingFilters f = e.getValue();
                long until = System.nanoTime() + WARM_NANOS;
                while (System.nanoTime() < until) {
                    ek.decoding().keptMask(logits, f, mask);
                }
                double[] cpu = new double[calls];
                long[] bytes = new long[calls];
                for (int k = 0; k < calls; k++) {
                    long b0 = mx.getCurrentThreadAllocatedBytes();
                    long c0 = mx.getCurrentThreadCpuTime();
                    ek.decoding().keptMask(logits, f, mask);
                    cpu[k] = (mx.getCurrentThreadCpuTime() - c0) / 1e6;
                    bytes[k] = mx.getCurrentThreadAllocatedBytes() - b0;
                }
                int kept = 0;
                for (int i = 0; i < cols; i++) {
                    kept += mask.getBool(0, i) ? 1 : 0;
                }
                Arrays.sort(cpu);
                Arrays.sort(bytes);
                double median = cpu[calls / 2];
                System.out.printf("| %s | %.2f | %.2f–%.2f | %.3f | %d | %,d |%n", e.getKey(), median, cpu[0], cpu[calls - 1],
                        median * 1e6 / ((double) rows * cols), kept, bytes[calls / 2]);
            }
        }
    }
}
