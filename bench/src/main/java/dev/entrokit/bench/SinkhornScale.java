package dev.entrokit.bench;

import dev.entrokit.Entrokit;
import dev.entrokit.Metric;
import dev.entrokit.SinkhornOptions;
import dev.entrokit.SinkhornResult;
import dev.entrokit.Tensor;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Memory and time of the streaming Sinkhorn at large point clouds (not JMH: one solve at n = m = 10⁴ takes
 * seconds, and what is measured is also the bytes a solve allocates). Per backend, on a one-thread
 * instance: one warm-up solve, then {@code reps} timed solves of {@code iters} iterations ({@code tol = 0}),
 * each with the bytes allocated on the calling thread (where a one-thread instance runs everything); then
 * simd against scalar after the same iterations (SPEC §5: relative 1e-4).
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.entrokit.bench.SinkhornScale
 * [n] [d] [iters] [reps] [scalarIters]} (defaults 10000 3 20 5 2).
 */
public final class SinkhornScale {
    private SinkhornScale() {
    }

    /** Runs the measurement; arguments as in the class comment. */
    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int d = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int iters = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        int reps = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        int scalarIters = args.length > 4 ? Integer.parseInt(args[4]) : 2;
        SplittableRandom r = new SplittableRandom(2026);
        float[] x = new float[n * d];
        float[] y = new float[n * d];
        for (int k = 0; k < x.length; k++) {
            x[k] = (float) r.nextDouble();
            y[k] = (float) (r.nextDouble() + 0.25);
        }
        Tensor tx = Tensor.of(x, n, d);
        Tensor ty = Tensor.of(y, n, d);
        System.out.printf("n = m = %d, d = %d, sqeuclidean, epsilon 0.05, one thread; a dense float32 cost would be %.0f MB"
                + " (the dense simd passes hold C, its transpose and two kernels: %.0f MB)%n", n, d, n * (double) n * 4 / 1e6,
                4 * n * (double) n * 4 / 1e6);
        SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.05).maxIter(iters).tol(0);
        try (Entrokit simd = Entrokit.create("simd", 1); Entrokit scalar = Entrokit.create("scalar", 1)) {
            SinkhornResult fast = measure(simd, "simd", tx, ty, o, reps);
            SinkhornOptions few = o.maxIter(scalarIters);
            SinkhornResult ref = measure(scalar, "scalar", tx, ty, few, 1);
            SinkhornResult same = simd.transport().sinkhorn(tx, ty, Metric.SQEUCLIDEAN, null, null, few);
            System.out.printf("simd vs scalar after %d iterations: f %.2e, g %.2e (relative to the largest potential), "
                    + "cost %.2e, objective %.2e (relative)%n", scalarIters, relMax(same.f(), ref.f(), ref.g()),
                    relMax(same.g(), ref.g(), ref.f()), Math.abs(same.cost()[0] / ref.cost()[0] - 1),
                    Math.abs(same.objective()[0] / ref.objective()[0] - 1));
            System.out.printf("simd after %d iterations: cost %.8f, marginal error %.3e%n", iters, fast.cost()[0],
                    fast.marginalError()[0]);
        }
    }

    private static SinkhornResult measure(Entrokit ek, String name, Tensor x, Tensor y, SinkhornOptions o, int reps) {
        SinkhornResult last = ek.transport().sinkhorn(x, y, Metric.SQEUCLIDEAN, null, null, o);
        double[] ms = new double[reps];
        long[] bytes = new long[reps];
        for (int k = 0; k < reps; k++) {
            long b0 = allocated();
            long t0 = System.nanoTime();
            last = ek.transport().sinkhorn(x, y, Metric.SQEUCLIDEAN, null, null, o);
            ms[k] = (System.nanoTime() - t0) / 1e6;
            bytes[k] = allocated() - b0;
        }
        Arrays.sort(ms);
        Arrays.sort(bytes);
        System.out.printf("%-6s %d solves of %d iterations: %.0f ms per solve (min %.0f, max %.0f), %.1f ms per iteration"
                        + " (min); allocated per solve %.2f MB (min), %.2f MB (max)%n", name, reps, o.maxIter(),
                ms[reps / 2], ms[0], ms[reps - 1], ms[0] / Math.max(1, o.maxIter()), bytes[0] / 1e6, bytes[reps - 1] / 1e6);
        return last;
    }

    private static double relMax(double[] out, double[] ref, double[] other) {
        double scale = 0;
        for (double v : ref) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (double v : other) {
            scale = Math.max(scale, Math.abs(v));
        }
        double worst = 0;
        for (int k = 0; k < ref.length; k++) {
            worst = Math.max(worst, Math.abs(out[k] - ref[k]));
        }
        return worst / scale;
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }
}
