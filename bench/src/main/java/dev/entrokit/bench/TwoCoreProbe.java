package dev.entrokit.bench;

import java.util.concurrent.CyclicBarrier;

/**
 * Whether this host's two cores run at full speed together, with no entrokit code involved: one thread runs a slice
 * of work alone, then two threads run the same slice at once, and each slice prints both threads' rates relative to
 * the one-thread slice just before it. The work is either a chain-free scalar FMA loop (eight independent
 * accumulators, no memory traffic: {@code alu}) or a sum over a 256 KB array that stays in the thread's L2
 * ({@code l2}). Written for the batch-1 timings, whose two-thread cells switch between two speeds with both threads
 * on a core all the time: if these ratios switch too, the host (how it places the two vCPUs) is the cause.
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.entrokit.bench.TwoCoreProbe SECONDS alu|l2</pre>
 */
public final class TwoCoreProbe {
    private static volatile double sink;

    private TwoCoreProbe() {
    }

    /** Runs the FMA loop for {@code nanos}; returns iterations per second. */
    static double alu(long nanos) {
        double a = 1.0, b = 1.1, c = 1.2, d = 1.3, e = 1.4, f = 1.5, g = 1.6, h = 1.7;
        long n = 0;
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() < end) {
            for (int i = 0; i < 10000; i++) {
                a = Math.fma(a, 0.999999, 1e-7); b = Math.fma(b, 0.999999, 1e-7);
                c = Math.fma(c, 0.999999, 1e-7); d = Math.fma(d, 0.999999, 1e-7);
                e = Math.fma(e, 0.999999, 1e-7); f = Math.fma(f, 0.999999, 1e-7);
                g = Math.fma(g, 0.999999, 1e-7); h = Math.fma(h, 0.999999, 1e-7);
            }
            n += 10000;
        }
        sink = a + b + c + d + e + f + g + h;
        return n / (nanos / 1e9);
    }

    /** Sums {@code buf} over and over for {@code nanos}; returns elements per second. */
    static double l2(float[] buf, long nanos) {
        long n = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() < end) {
            for (int i = 0; i < buf.length; i += 4) {
                s0 += buf[i]; s1 += buf[i + 1]; s2 += buf[i + 2]; s3 += buf[i + 3];
            }
            n += buf.length;
        }
        sink = s0 + s1 + s2 + s3;
        return n / (nanos / 1e9);
    }

    /** Arguments: seconds to run, then {@code alu} or {@code l2}. */
    public static void main(String[] args) throws Exception {
        int seconds = Integer.parseInt(args[0]);
        boolean alu = args[1].equals("alu");
        long slice = 500_000_000L;
        float[][] bufs = {new float[65536], new float[65536]};
        double[] rate = new double[2];
        for (int i = 0; i < 4; i++) { if (alu) alu(slice / 5); else l2(bufs[0], slice / 5); }
        long stop = System.nanoTime() + seconds * 1_000_000_000L;
        System.out.println("one-thread rate | two-thread rate per thread (t0 t1) | ratios");
        while (System.nanoTime() < stop) {
            double one = alu ? alu(slice) : l2(bufs[0], slice);
            CyclicBarrier bar = new CyclicBarrier(2);
            Thread[] ts = new Thread[2];
            for (int k = 0; k < 2; k++) {
                final int kk = k;
                ts[k] = new Thread(() -> {
                    try { bar.await(); } catch (Exception ex) { throw new RuntimeException(ex); }
                    rate[kk] = alu ? alu(slice) : l2(bufs[kk], slice);
                });
                ts[k].start();
            }
            for (Thread t : ts) t.join();
            System.out.printf("%.3g | %.3g %.3g | %.2f %.2f%n", one, rate[0], rate[1], rate[0] / one, rate[1] / one);
        }
    }
}
