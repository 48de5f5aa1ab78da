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
 * The sampling step of batch-1 decoding: one row of {@code cols} logits, one token. {@code raceSample}
 * cuts the row into fixed chunks that run on the pool (compare {@code threads = 1} and {@code 2} in one
 * run); {@code sample} (the inverse-CDF walk, one thread per row) is the single-row baseline. The step
 * advances every call, so each call draws a fresh token; tokens feed a check.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
public class SamplingStepBench {
    @Param({"128256"})
    public int cols;

    @Param({"simd"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    /** {@code t}: temperature 0.8 only; {@code k50p90}: then top-k 50 and top-p 0.9; {@code p95}: top-p 0.95. */
    @Param({"t", "k50p90", "p95"})
    public String pipeline;

    private Entrokit ek;
    private Arena arena;
    private Tensor logits;
    private Tensor token;
    private SamplingFilters filters;
    private final long[] seeds = {0x5eed};
    private long step;

    @Setup(Level.Trial)
    public void setUp() {
        ek = Entrokit.create(backend, threads);
        arena = Arena.ofShared();
        float[] x = SyntheticLogits.heavyTailed(1, cols, 42, 0.02);
        MemorySegment seg = arena.allocate((long) cols * Float.BYTES, 64);
        MemorySegment.copy(x, 0, seg, ValueLayout.JAVA_FLOAT, 0, cols);
        logits = Tensor.of(seg, DType.F32, 1, cols);
        token = Tensor.of(arena.allocate(Integer.BYTES, 64), DType.I32, 1);
        SamplingFilters t = SamplingFilters.temperature(0.8f);
        filters = switch (pipeline) {
            case "t" -> t;
            case "k50p90" -> t.topK(50).topP(0.9f);
            case "p95" -> t.topP(0.95f);
            default -> throw new IllegalArgumentException("pipeline: " + pipeline);
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ek.close();
        arena.close();
    }

    private int check() {
        int t = token.segment().getAtIndex(ValueLayout.JAVA_INT, 0);
        if (t < 0 || t >= cols) {
            throw new IllegalStateException("token " + t);
        }
        return t;
    }

    @Benchmark
    public int raceSample() {
        ek.decoding().raceSample(logits, filters, seeds, step++, token);
        return check();
    }

    @Benchmark
    public int inverseCdfSample() {
        ek.decoding().sample(logits, filters, seeds, step++, token);
        return check();
    }
}
