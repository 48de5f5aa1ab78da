package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.Entrokit;
import dev.entrokit.LossOptions;
import dev.entrokit.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Whether 4K aliasing between the inputs and the gradient explains the unstable KL forward+gradient timings: KL with
 * its gradient, 256 × 32000, one thread, the gradient rows at several byte offsets from the inputs' (page-aligned)
 * rows, plus KL forward alone, interleaved in rounds of 5 calls each; prints every round (wall clock, so that an
 * episode of a slower host shows as one slow round across all configurations) and each configuration's median.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.entrokit.bench.AliasingProbe [rounds]</pre>
 */
public final class AliasingProbe {
    private AliasingProbe() {
    }

    public static void main(String[] a) {
        int rows = 256, cols = 32000, rounds = Integer.parseInt(a.length > 0 ? a[0] : "15");
        long[] shifts = {0, 64, 1024, 2048, 2112};
        try (Arena arena = Arena.ofShared(); Entrokit ek = Entrokit.create("simd", 1)) {
            long bytes = (long) rows * cols * 4;
            MemorySegment tb = arena.allocate(bytes + 8192, 4096), sb = arena.allocate(bytes + 8192, 4096);
            SplittableRandom r = new SplittableRandom(7);
            for (long i = 0; i < (long) rows * cols; i++) {
                tb.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextGaussian() * 3));
                sb.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextGaussian() * 3));
            }
            Tensor t = Tensor.of(tb, DType.F32, rows, cols), s = Tensor.of(sb, DType.F32, rows, cols);
            MemorySegment gb = arena.allocate(bytes + 8192, 4096);
            Tensor[] g = new Tensor[shifts.length];
            for (int k = 0; k < shifts.length; k++) g[k] = Tensor.of(gb.asSlice(shifts[k], bytes), DType.F32, rows, cols);
            Tensor loss = Tensor.of(new float[rows]);
            LossOptions o = LossOptions.defaults();
            for (int w = 0; w < 60; w++) for (Tensor gg : g) ek.kl(t, s, o, loss, gg);
            double[][] ms = new double[shifts.length + 1][rounds];
            for (int q = 0; q < rounds; q++) {
                for (int k = 0; k <= shifts.length; k++) {
                    long t0 = System.nanoTime();
                    for (int rep = 0; rep < 5; rep++) ek.kl(t, s, o, loss, k < shifts.length ? g[k] : null);
                    ms[k][q] = (System.nanoTime() - t0) / 5e6;
                }
            }
            for (int q = 0; q < rounds; q++) {
                StringBuilder b = new StringBuilder("round " + q + ":");
                for (int k = 0; k <= shifts.length; k++) b.append(String.format(" %6.2f", ms[k][q]));
                System.out.println(b);
            }
            for (int k = 0; k <= shifts.length; k++) {
                double[] x = ms[k].clone(); Arrays.sort(x);
                System.out.printf("%-22s median %.2f ms  min %.2f  max %.2f  (max/min %.2f)%n",
                        k < shifts.length ? "kl+grad, grad +" + shifts[k] + " B" : "kl forward only", x[rounds / 2], x[0], x[rounds - 1], x[rounds - 1] / x[0]);
            }
        }
    }
}
