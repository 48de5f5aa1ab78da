package dev.entrokit.bench;

import dev.entrokit.Entrokit;
import dev.entrokit.LossOptions;
import dev.entrokit.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The first-call latency of a fresh JVM: creates an instance and times its first {@code kl} calls on
 * 256 × 32000 logit pairs, one line per call. Run it in a new JVM per measurement (the point is the
 * cold start), e.g. {@code java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar
 * dev.entrokit.bench.FirstCall simd 3 heap}.
 *
 * <p>Arguments: backend ({@code auto}, {@code scalar}, {@code simd}), calls to time (default 3), and
 * where the tensors live: {@code heap} ({@code float[]}), {@code native}, or {@code mixed} (heap for
 * the first call, native after: the switch that used to cost recompilation).
 */
public final class FirstCall {
    private FirstCall() {
    }

    /** Prints {@code create_ms}, then {@code call i ms backend} per call. */
    public static void main(String[] args) {
        String backend = args.length > 0 ? args[0] : "auto";
        int calls = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        String where = args.length > 2 ? args[2] : "heap";
        int rows = 256;
        int cols = 32000;
        float[] t = SyntheticLogits.heavyTailed(rows, cols, 43, 0);
        float[] s = SyntheticLogits.perturbed(t, 7, 0.5);
        Arena arena = Arena.ofShared();
        Tensor th = Tensor.of(t, rows, cols);
        Tensor sh = Tensor.of(s, rows, cols);
        Tensor tn = Tensor.of(arena.allocateFrom(ValueLayout.JAVA_FLOAT, t), dev.entrokit.DType.F32, rows, cols);
        Tensor sn = Tensor.of(arena.allocateFrom(ValueLayout.JAVA_FLOAT, s), dev.entrokit.DType.F32, rows, cols);
        MemorySegment lossSeg = arena.allocate(ValueLayout.JAVA_FLOAT, rows);
        Tensor rowLoss = Tensor.of(lossSeg, dev.entrokit.DType.F32, rows);
        long t0 = System.nanoTime();
        Entrokit ek = Entrokit.create(backend, Entrokit.configuredThreads());
        long t1 = System.nanoTime();
        System.out.printf("create_ms %.1f backend %s threads %d%n", (t1 - t0) / 1e6, ek.backendName(), ek.threads());
        double first = Double.NaN;
        for (int i = 0; i < calls; i++) {
            boolean heap = where.equals("heap") || (where.equals("mixed") && i == 0);
            long a = System.nanoTime();
            double kl = ek.kl(heap ? th : tn, heap ? sh : sn, LossOptions.defaults(), rowLoss, null);
            long b = System.nanoTime();
            if (i == 0) {
                first = kl;
            }
            System.out.printf("call %d %.1f ms %s kl=%.9g%n", i, (b - a) / 1e6, heap ? "heap" : "native", kl);
        }
        System.out.printf("total_ms %.1f first_kl %.9g%n", (System.nanoTime() - t0) / 1e6, first);
        System.out.println("warm-up " + Entrokit.warmUpStatus());
        ek.close();
    }
}
