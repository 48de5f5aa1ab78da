package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.Entrokit;
import dev.entrokit.SamplingFilters;
import dev.entrokit.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The entropy-shaped sampling steps (SPEC §2) as a kept mask over a batch of logit rows: one call
 * processes the batch, so ns/element = score / (rows · cols). The kept count feeds a check, so a broken
 * kernel cannot post a fast number. Peer: bench/peers/decoding_steps.py (Transformers' and llama.cpp's
 * formulas in PyTorch).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xms2g", "-Xmx2g"})
public class DecodingBench {
    @Param({"32"})
    public int rows;

    @Param({"128256"})
    public int cols;

    @Param({"scalar", "simd"})
    public String backend;

    @Param({"1"})
    public int threads;

    @Param({"typical", "epsilon", "eta", "top_n_sigma", "top_k50_typical", "dynamic_temperature_min_p"})
    public String pipeline;

    private Entrokit ek;
    private Tensor logits;
    private Tensor mask;
    private SamplingFilters filters;
    private Arena arena;

    @Setup(Level.Trial)
    public void setUp() {
        ek = Entrokit.create(backend, threads);
        arena = Arena.ofShared();
        float[] x = SyntheticLogits.heavyTailed(rows, cols, 42, 0.02);
        MemorySegment seg = arena.allocate((long) x.length * Float.BYTES, 64);
        MemorySegment.copy(x, 0, seg, ValueLayout.JAVA_FLOAT, 0, x.length);
        logits = Tensor.of(seg, DType.F32, rows, cols);
        mask = Tensor.of(arena.allocate((long) rows * cols, 64), DType.BOOL, rows, cols);
        SamplingFilters b = SamplingFilters.temperature(1f);
        filters = switch (pipeline) {
            case "typical" -> b.typical(0.9f);
            case "epsilon" -> b.epsilon(3e-4f);
            case "eta" -> b.eta(3e-4f);
            case "top_n_sigma" -> b.topNSigma(1f);
            case "top_k50_typical" -> b.topK(50).typical(0.9f);
            case "dynamic_temperature_min_p" -> b.dynamicTemperature(0.5f, 1.5f, 1f).minP(0.05f);
            default -> throw new IllegalArgumentException(pipeline);
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ek.close();
        arena.close();
    }

    @Benchmark
    public int keptMask() {
        ek.decoding().keptMask(logits, filters, mask);
        int kept = 0;
        for (int r = 0; r < rows; r++) {
            kept += mask.getBool(r, 0) ? 1 : 0;
        }
        if (kept < 0) {
            throw new IllegalStateException("kept " + kept);
        }
        return kept;
    }
}
