package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.Entrokit;
import dev.entrokit.LossOptions;
import dev.entrokit.Reduction;
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
 * SPEC §1 kernels over a batch of logit rows (W1/W2 of the benchmark plan): one call processes the
 * whole batch, so ns/element = score / (rows · cols). Every result feeds a check in {@link #check},
 * so nothing is dead code and a broken kernel cannot post a fast number.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xms2g", "-Xmx2g"})
public class DistributionBench {
    @Param({"32"})
    public int rows;

    @Param({"128256"})
    public int cols;

    @Param({"scalar", "simd"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    /** {@code native}: off-heap segments (the main case); {@code heap}: {@code float[]}-backed tensors. */
    @Param({"native"})
    public String memory;

    private Entrokit ek;
    private Tensor teacher;
    private Tensor student;
    private Tensor out;
    private Tensor grad;
    private Tensor rowLoss;
    private final LossOptions options = LossOptions.defaults().reduction(Reduction.SUM);

    private Arena arena;

    @Setup(Level.Trial)
    public void setUp() {
        ek = Entrokit.create(backend, threads);
        // Off-heap by default, as a JVM ML stack holds its activations; heap float[] tensors on request.
        arena = Arena.ofShared();
        float[] t = SyntheticLogits.heavyTailed(rows, cols, 42, 0.02);
        teacher = copyOf(t);
        student = copyOf(SyntheticLogits.perturbed(t, 7, 0.5));
        out = copyOf(new float[rows * cols]);
        grad = copyOf(new float[rows * cols]);
        rowLoss = Tensor.of(arena.allocate((long) rows * Float.BYTES, 64), DType.F32, rows);
    }

    /** {@code data} as a tensor in the benchmark's {@link #memory}: an off-heap copy, or the array itself. */
    private Tensor copyOf(float[] data) {
        if (memory.equals("heap")) {
            return Tensor.of(data.clone(), rows, cols);
        }
        MemorySegment seg = arena.allocate((long) data.length * Float.BYTES, 64);
        MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_FLOAT, 0, data.length);
        return Tensor.of(seg, DType.F32, rows, cols);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ek.close();
        arena.close();
    }

    private static double check(double v) {
        if (!Double.isFinite(v)) {
            throw new IllegalStateException("kernel returned " + v);
        }
        return v;
    }

    @Benchmark
    public double entropy() {
        return check(ek.entropy(teacher, options, rowLoss, null));
    }

    @Benchmark
    public float softmax() {
        ek.softmax(teacher, out, 1f);
        return out.getFloat(rows - 1, cols - 1);
    }

    @Benchmark
    public float logSoftmax() {
        ek.logSoftmax(teacher, out, 1f);
        return out.getFloat(rows - 1, cols - 1);
    }

    @Benchmark
    public float logSumExp() {
        ek.logSumExp(teacher, rowLoss, 1f);
        return rowLoss.getFloat(rows - 1);
    }

    @Benchmark
    public double kl() {
        return check(ek.kl(teacher, student, options, rowLoss, null));
    }

    @Benchmark
    public double klForwardBackward() {
        return check(ek.kl(teacher, student, options, rowLoss, grad));
    }

    @Benchmark
    public double jsd() {
        return check(ek.jsd(teacher, student, options, rowLoss, null));
    }

    @Benchmark
    public double rkl() {
        return check(ek.rkl(teacher, student, options, rowLoss, null));
    }
}
