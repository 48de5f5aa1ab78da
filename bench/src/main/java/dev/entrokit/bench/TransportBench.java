package dev.entrokit.bench;

import dev.entrokit.Metric;
import dev.entrokit.SinkhornOptions;
import dev.entrokit.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;

/**
 * W4: batched entropic optimal transport (SPEC §3), {@code batch} problems of {@code n × n} (64 × 128 ×
 * 128 by default), ε = 0.05, exactly {@code iterations} = 100 iterations ({@code tol = 0}), uniform
 * marginals, one call solving the whole batch. {@code W4-sinkhorn-cost} is given the cost
 * {@code [batch, n, n]}; {@code W4-sinkhorn-points} is given the clouds {@code x}, {@code y} of
 * {@code [batch, n, dim]} (dim = 16) and computes the squared Euclidean cost itself. The problems are
 * SinkhornBench's (same seeds, clouds uniform in the unit cube, the cost given is those clouds' cost
 * summed in float64, rounded to float32), so the numbers compare with its results page.
 *
 * <p>Bytes: the float32 cost matrix swept twice per iteration (once by the {@code f} update, once by
 * the {@code g} update; neither can start before the other finishes), so
 * {@code 2 · iterations · batch · n · n · 4}, the same count for both modes (in points mode the cost
 * is recomputed or kept, not read from the input). One problem's cost (64 KiB) stays in cache, so this
 * is a throughput in cost entries per second, not memory traffic: it may exceed the read ceiling.
 * The inputs read once and the outputs (potentials, costs) are below 0.5 % of it and not counted.
 */
public class TransportBench extends WorkloadBench {
    @Param({"64"})
    public int batch;

    @Param({"128"})
    public int n;

    @Param({"16"})
    public int dim;

    @Param({"0.05"})
    public double epsilon;

    @Param({"100"})
    public int iterations;

    private Tensor cost;
    private Tensor x;
    private Tensor y;
    private SinkhornOptions options;

    @Override
    public Map<String, Path> inputs(Path dir) throws IOException {
        String cloud = batch + "x" + n + "x" + dim;
        Path xf = dir.resolve("sinkhorn-x-" + cloud + "-s" + SinkhornBench.X_SEED + ".npy");
        Path yf = dir.resolve("sinkhorn-y-" + cloud + "-s" + SinkhornBench.Y_SEED + ".npy");
        Path cf = dir.resolve("sinkhorn-cost-" + batch + "x" + n + "x" + n + "-d" + dim + "-s"
                + SinkhornBench.X_SEED + "-" + SinkhornBench.Y_SEED + ".npy");
        if (!Files.exists(xf) || !Files.exists(yf) || !Files.exists(cf)) {
            float[] xs = SinkhornBench.uniform(SinkhornBench.X_SEED, batch * n * dim);
            float[] ys = SinkhornBench.uniform(SinkhornBench.Y_SEED, batch * n * dim);
            Npy.writeFloats(xf, xs, batch, n, dim);
            Npy.writeFloats(yf, ys, batch, n, dim);
            Npy.writeFloats(cf, SinkhornBench.sqEuclidean(xs, ys, batch, n, n, dim), batch, n, n);
        }
        return Map.of("cost", cf, "x", xf, "y", yf);
    }

    @Override
    public long bytes(String workload) {
        return 2L * iterations * batch * n * n * Float.BYTES;
    }

    @Override
    protected void prepare() throws IOException {
        Map<String, Path> in = inputs(WorkloadInputs.dir());
        cost = mem.load(in.get("cost"), batch, n, n);
        x = mem.load(in.get("x"), batch, n, dim);
        y = mem.load(in.get("y"), batch, n, dim);
        options = SinkhornOptions.defaults().epsilon(epsilon).maxIter(iterations).tol(0);
    }

    @Benchmark
    @Workload("W4-sinkhorn-cost")
    public double sinkhornCost() {
        return SinkhornBench.checkedTotal(ek.transport().sinkhorn(cost, null, null, options), dim, iterations);
    }

    @Benchmark
    @Workload("W4-sinkhorn-points")
    public double sinkhornPoints() {
        return SinkhornBench.checkedTotal(ek.transport().sinkhorn(x, y, Metric.SQEUCLIDEAN, null, null, options), dim,
                iterations);
    }
}
