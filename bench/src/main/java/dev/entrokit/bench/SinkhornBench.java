package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.Entrokit;
import dev.entrokit.Metric;
import dev.entrokit.SinkhornOptions;
import dev.entrokit.SinkhornResult;
import dev.entrokit.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
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
 * The solver's target workload: {@code B = 64} problems of {@code 128 × 128}, ε = 0.05, exactly 100 iterations
 * ({@code tol = 0}), from a given cost ({@code cost}) or from {@code d = 16} point clouds with the
 * squared Euclidean cost ({@code points}). Points are uniform in the unit cube, the cost given is the
 * same clouds' cost, so both modes solve the same problems. Every result is checked.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xms2g", "-Xmx2g"})
public class SinkhornBench {
    static final int ITERATIONS = 100;

    @Param({"64"})
    public int batch;

    @Param({"128"})
    public int n;

    @Param({"16"})
    public int dim;

    @Param({"scalar", "simd"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    @Param({"cost", "points"})
    public String mode;

    private Entrokit ek;
    private Arena arena;
    private Tensor cost;
    private Tensor x;
    private Tensor y;
    private final SinkhornOptions options = SinkhornOptions.defaults().epsilon(0.05).maxIter(ITERATIONS).tol(0);

    @Setup(Level.Trial)
    public void setUp() {
        ek = Entrokit.create(backend, threads);
        arena = Arena.ofShared();
        float[] xs = uniform(X_SEED, batch * n * dim);
        float[] ys = uniform(Y_SEED, batch * n * dim);
        x = offHeap(xs, batch, n, dim);
        y = offHeap(ys, batch, n, dim);
        float[] c = sqEuclidean(xs, ys, batch, n, n, dim);
        cost = offHeap(c, batch, n, n);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ek.close();
        arena.close();
    }

    /** The seeds of the clouds {@code x} and {@code y} (TransportBench uses the same problems). */
    static final long X_SEED = 1;
    static final long Y_SEED = 2;

    /** {@code count} floats uniform in [0, 1) from {@code seed}: point coordinates in the unit cube. */
    static float[] uniform(long seed, int count) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) r.nextDouble();
        }
        return v;
    }

    /**
     * The squared Euclidean costs {@code [batch, n, m]} between the clouds {@code xs [batch, n, dim]}
     * and {@code ys [batch, m, dim]}, summed in float64 and rounded once to float32.
     */
    static float[] sqEuclidean(float[] xs, float[] ys, int batch, int n, int m, int dim) {
        float[] c = new float[batch * n * m];
        for (int p = 0; p < batch; p++) {
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < m; j++) {
                    double s = 0;
                    for (int k = 0; k < dim; k++) {
                        double diff = (double) xs[(p * n + i) * dim + k] - ys[(p * m + j) * dim + k];
                        s += diff * diff;
                    }
                    c[(p * n + i) * m + j] = (float) s;
                }
            }
        }
        return c;
    }

    private Tensor offHeap(float[] data, int b, int rows, int cols) {
        MemorySegment seg = arena.allocate((long) data.length * Float.BYTES, 64);
        MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, data.length);
        return Tensor.of(seg, DType.F32, b, rows, cols);
    }

    /** One solve of the whole batch; returns the summed transport costs (checked, so never dead code). */
    @Benchmark
    public double solve() {
        SinkhornResult r = mode.equals("cost") ? ek.transport().sinkhorn(cost, null, null, options)
                : ek.transport().sinkhorn(x, y, Metric.SQEUCLIDEAN, null, null, options);
        return checkedTotal(r, dim, ITERATIONS);
    }

    /**
     * The summed transport costs of {@code r}, each checked: unit-cube clouds in {@code dim} dimensions
     * have costs of a few units, never NaN, and every problem runs all {@code iterations}.
     */
    static double checkedTotal(SinkhornResult r, int dim, int iterations) {
        double total = 0;
        for (int p = 0; p < r.batch(); p++) {
            if (!(r.cost()[p] > 0 && r.cost()[p] < dim) || r.iterations()[p] != iterations) {
                throw new IllegalStateException("problem " + p + ": cost " + r.cost()[p] + " after "
                        + r.iterations()[p] + " iterations");
            }
            total += r.cost()[p];
        }
        return total;
    }
}
