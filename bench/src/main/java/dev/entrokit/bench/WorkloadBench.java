package dev.entrokit.bench;

import dev.entrokit.Entrokit;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
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
 * The common part of the {@code ./entrokit bench} workload classes (SoftmaxEntropyBench, DivergenceLossBench, ...): the
 * backend and thread parameters, the JMH settings of a full run, an entrokit instance and off-heap
 * memory per trial. A subclass adds its size {@code @Param}s, its inputs and its {@link Workload} methods.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 3, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xms2g", "-Xmx2g"})
public abstract class WorkloadBench implements WorkloadInputs {
    @Param({"scalar", "simd"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    protected Entrokit ek;
    protected BenchTensors mem;

    @Setup(Level.Trial)
    public final void setUpTrial() throws IOException {
        ek = Entrokit.create(backend, threads);
        mem = new BenchTensors();
        prepare();
    }

    /** Loads the inputs ({@link #inputs} of {@link WorkloadInputs#dir()}) and allocates the outputs in {@link #mem}. */
    protected abstract void prepare() throws IOException;

    @TearDown(Level.Trial)
    public final void tearDownTrial() {
        ek.close();
        mem.close();
    }
}
