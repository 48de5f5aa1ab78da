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
import java.util.SplittableRandom;

/**
 * Thread CPU time per call of each truncation step as a kept mask over {@link DecodingBench}'s batch (32 ×
 * 128256 heavy-tailed logits, 2 % masked, one thread): the measurement that holds on a shared machine, where
 * wall-clock timings do not (thread CPU time leaves out the time other processes held the core). Prints the
 * median and the spread in ms and ns/element, and the bytes allocated per call. Its PyTorch peer is
 * {@code bench/peers/decoding_steps.py --cpu}, run in the same script ({@code bench/scripts/decoding-cpu.sh}).
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.entrokit.bench.DecodingProbe [backend] [calls] [pipeline]</pre>
 *
 * <p>{@code -Ddecoding.gaussian=σ} replaces the heavy-tailed rows by N(0, σ²) ones ({@link #gaussianRows}).
 */
public final class DecodingProbe {
    /** Long enough for C2 to compile the vector loops on a loaded machine (until then they allocate boxes). */
    private static final long WARM_NANOS = (long) (Double.parseDouble(System.getProperty("warm", "6")) * 1e9);

    private DecodingProbe() {
    }

    /** The pipelines: the peer's entropy-shaped ones, then the prefix filters alone (top-H in the Top-H paper's mode, over the first 100 tokens). */
    static Map<String, SamplingFilters> pipelines() {
        SamplingFilters b = SamplingFilters.temperature(1f);
        Map<String, SamplingFilters> m = new LinkedHashMap<>();
        m.put("typical", b.typical(0.9f));
        m.put("epsilon", b.epsilon(3e-4f));
        m.put("eta", b.eta(3e-4f));
        m.put("top_n_sigma", b.topNSigma(1f));
        m.put("top_k50_typical", b.topK(50).typical(0.9f));
        m.put("dynamic_temperature_min_p", b.dynamicTemperature(0.5f, 1.5f, 1f).minP(0.05f));
        m.put("dynamic_temperature_top_p", b.dynamicTemperature(0.5f, 1.5f, 1f).topP(0.9f));
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

    /** Pipelines with a draw (XTC's), which have no kept mask: timed as a sampling step, next to plain sampling. */
    static Map<String, SamplingFilters> sampled() {
        SamplingFilters b = SamplingFilters.temperature(1f);
        Map<String, SamplingFilters> m = new LinkedHashMap<>();
        m.put("sample", b);
        m.put("xtc0.1_sample", b.xtc(0.1f, 1f));
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
            String gaussian = System.getProperty("decoding.gaussian");
            float[] x = gaussian == null ? SyntheticLogits.heavyTailed(rows, cols, 42, 0.02)
                    : gaussianRows(rows, cols, Double.parseDouble(gaussian));
            MemorySegment seg = arena.allocate((long) x.length * Float.BYTES, 64);
            MemorySegment.copy(x, 0, seg, ValueLayout.JAVA_FLOAT, 0, x.length);
            Tensor logits = Tensor.of(seg, DType.F32, rows, cols);
            Tensor mask = Tensor.of(arena.allocate((long) rows * cols, 64), DType.BOOL, rows, cols);
            System.out.printf("%s backend, one thread, %d x %d %s, kept mask (a sampled token for the last two); %d calls after"
                    + " %.0f s of warm-up; thread CPU time%n%n", backend, rows, cols,
                    gaussian == null ? "heavy-tailed logits (2 % masked)" : "N(0, " + gaussian + "²) logits", calls,
                    WARM_NANOS / 1e9);
            System.out.println("| pipeline | median ms | min–max ms | ns/element (median) | kept (row 0) | bytes/call |");
            System.out.println("|---|---:|---:|---:|---:|---:|");
            Tensor tokens = Tensor.of(arena.allocate((long) rows * Integer.BYTES, 64), DType.I32, rows);
            long[] seeds = new long[rows];
            Map<String, SamplingFilters> all = new LinkedHashMap<>(pipelines());
            all.putAll(sampled());
            for (var e : all.entrySet()) {
                if (only != null && !e.getKey().equals(only)) {
                    continue;
                }
                SamplingFilters f = e.getValue();
                boolean draws = sampled().containsKey(e.getKey());
                long step = 0;
                long until = System.nanoTime() + WARM_NANOS;
                while (System.nanoTime() < until) {
                    run(ek, logits, f, draws, mask, seeds, step++, tokens);
                }
                double[] cpu = new double[calls];
                long[] bytes = new long[calls];
                for (int k = 0; k < calls; k++) {
                    long b0 = mx.getCurrentThreadAllocatedBytes();
                    long c0 = mx.getCurrentThreadCpuTime();
                    run(ek, logits, f, draws, mask, seeds, step++, tokens);
                    cpu[k] = (mx.getCurrentThreadCpuTime() - c0) / 1e6;
                    bytes[k] = mx.getCurrentThreadAllocatedBytes() - b0;
                }
                int kept = 0;
                for (int i = 0; i < cols && !draws; i++) {
                    kept += mask.getBool(0, i) ? 1 : 0;
                }
                Arrays.sort(cpu);
                Arrays.sort(bytes);
                double median = cpu[calls / 2];
                System.out.printf("| %s | %.2f | %.2f–%.2f | %.3f | %s | %,d |%n", e.getKey(), median, cpu[0], cpu[calls - 1],
                        median * 1e6 / ((double) rows * cols), draws ? "(a token)" : Integer.toString(kept), bytes[calls / 2]);
            }
        }
    }

    /**
     * {@code rows × cols} logits drawn from N(0, σ²), seed 42, none masked: flat rows, where the entropy-shaped steps
     * keep much of the vocabulary (compare {@code bench/peers/decoding_steps.py --gaussian σ}).
     */
    static float[] gaussianRows(int rows, int cols, double sigma) {
        SplittableRandom rnd = new SplittableRandom(42);
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * sigma);
        }
        return x;
    }

    /** One call: the kept mask, or for a pipeline with a draw a token per row (seeds 0, the given step). */
    private static void run(Entrokit ek, Tensor logits, SamplingFilters f, boolean draws, Tensor mask, long[] seeds,
                            long step, Tensor tokens) {
        if (draws) {
            ek.decoding().sample(logits, f, seeds, step, tokens);
        } else {
            ek.decoding().keptMask(logits, f, mask);
        }
    }
}
