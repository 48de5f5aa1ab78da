package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.BLOCK;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdRows.load;
import static dev.entrokit.internal.simd.SimdRows.shift;
import static dev.entrokit.internal.simd.SimdRows.sumLanes;
import static dev.entrokit.internal.simd.VectorExp2.exp2OrZero;
import static jdk.incubator.vector.VectorOperators.EQ;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * What the pair losses' arithmetic costs on this host, against what their kernels take: the per-element price of the
 * SIMD backend's own exp ({@link VectorExp2#exp2OrZero}) and log ({@link VectorLog#log}) on a cache-resident array;
 * JSD's two passes apart (the one-read streaming pass that stores exps and shifted logits, then the pass from the
 * stored rows with its log); KL with and without its gradient, and the forward pass that keeps the exps for the
 * gradient written three ways (the kernels' two loops, one loop storing into heap rows with the gradient written by
 * the second pass, one loop storing into a segment). Thread CPU time and bytes allocated per element or pair; 256 ×
 * 32000 teacher/student pairs of N(0, 3²) logits and the student N(0, 0.5²) away, one thread. Not a test: run by
 * hand on the test class path, e.g.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp java/target/classes:java/target/test-classes \
 *     dev.entrokit.internal.simd.KernelFloorProbe 15</pre>
 */
public final class KernelFloorProbe {
    private static final int ROWS = 256;
    private static final int COLS = 32000;
    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    private KernelFloorProbe() {
    }

    /** Σ of exp2OrZero over {@code a}. */
    static float exps(float[] a) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < a.length; i += L) {
            acc = acc.add(exp2OrZero(FloatVector.fromArray(F, a, i)));
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Σ of VectorLog.log over {@code a}. */
    static float logs(float[] a) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < a.length; i += L) {
            acc = acc.add(VectorLog.log(FloatVector.fromArray(F, a, i)));
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * {@link OneReadPasses#klBlockSums} that also stores both exps, in one loop, into heap rows. Its lane totals are
     * written out here rather than by a shared helper: five vectors passed to a method C2 did not inline were boxed
     * (21 B per pair, 1.96 instead of 1.15 ns/pair).: the alternative to
     * the kernels' {@link OneReadPasses#teacherBlockStore} + {@link OneReadPasses#expBlockStore}.
     */
    static void klBlockStoreHeap(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end,
                                 float negHalfMt, float negHalfMs, float log2Scale, float[] eT, float[] eS,
                                 double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector dsAcc = FloatVector.zero(F);
        FloatVector dsComp = FloatVector.zero(F);
        FloatVector wAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector a = shift(xt, negHalfMt, log2Scale);
            FloatVector b = shift(load(s, sOff + i), negHalfMs, log2Scale);
            FloatVector et = exp2OrZero(a);
            et.intoArray(eT, i);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            FloatVector es = exp2OrZero(b);
            es.intoArray(eS, i);
            FloatVector sumS = dsAcc.add(es);
            dsComp = dsComp.add(es.sub(sumS.sub(dsAcc)));
            dsAcc = sumS;
            wAcc = wAcc.add(et.mul(a.sub(b)).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        dsAcc.intoArray(lanes, 0);
        double ds = sumLanes(lanes);
        dsComp.intoArray(lanes, 0);
        acc[1] = ds + sumLanes(lanes);
        wAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
    }

    /** {@link #klBlockStoreHeap} with the student's exps stored into a segment (the gradient's row) instead. */
    static void klBlockStoreSegment(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end,
                                    float negHalfMt, float negHalfMs, float log2Scale, float[] eT, MemorySegment eS,
                                    long eSOff, double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector dsAcc = FloatVector.zero(F);
        FloatVector dsComp = FloatVector.zero(F);
        FloatVector wAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector a = shift(xt, negHalfMt, log2Scale);
            FloatVector b = shift(load(s, sOff + i), negHalfMs, log2Scale);
            FloatVector et = exp2OrZero(a);
            et.intoArray(eT, i);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            FloatVector es = exp2OrZero(b);
            SimdRows.store(es, eS, eSOff + i);
            FloatVector sumS = dsAcc.add(es);
            dsComp = dsComp.add(es.sub(sumS.sub(dsAcc)));
            dsAcc = sumS;
            wAcc = wAcc.add(et.mul(a.sub(b)).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        dsAcc.intoArray(lanes, 0);
        double ds = sumLanes(lanes);
        dsComp.intoArray(lanes, 0);
        acc[1] = ds + sumLanes(lanes);
        wAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
    }

    /** {@code g = eS·kS − eT·kT} from two heap rows into the gradient's segment. */
    static void differenceFromHeap(float[] eT, float[] eS, MemorySegment g, long gOff, int start, int end, float kT,
                                   float kS) {
        FloatVector vkS = FloatVector.broadcast(F, kS);
        for (int i = start; i < end; i += L) {
            FloatVector p = FloatVector.fromArray(F, eT, i).mul(kT);
            SimdRows.store(FloatVector.fromArray(F, eS, i).fma(vkS, p.neg()), g, gOff + i);
        }
    }

    /**
     * The calling thread's allocated bytes, through {@code com.sun.management.ThreadMXBean} by reflection (the library
     * module, which the tests patch, does not read {@code jdk.management}).
     */
    private static long allocated() {
        try {
            return (long) Class.forName("com.sun.management.ThreadMXBean")
                    .getMethod("getCurrentThreadAllocatedBytes").invoke(MX);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Prints the median (min–max) over rounds of {@code measure(round)}, and the bytes allocated per unit. */
    private static void report(String name, int rounds, double units, IntToDoubleFunction measure) {
        double[] v = new double[rounds];
        long bytes = 0;
        for (int r = -10; r < rounds; r++) {
            long b0 = allocated();
            long c0 = MX.getCurrentThreadCpuTime();
            double sink = measure.applyAsDouble(r);
            long c1 = MX.getCurrentThreadCpuTime();
            if (r >= 0) {
                v[r] = (c1 - c0) / units;
                bytes = allocated() - b0;
            }
            if (sink == 42.4242) {
                System.out.print("");
            }
        }
        Arrays.sort(v);
        System.out.printf("%-58s %.3f ns (%.3f–%.3f), %.2f B per unit%n", name, v[rounds / 2], v[0], v[rounds - 1],
                bytes / units);
    }

    /** Arguments: rounds (default 15). */
    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        float[] expArgs = new float[4096];
        float[] logArgs = new float[4096];
        for (int i = 0; i < expArgs.length; i++) {
            expArgs[i] = -20f * (i % 97) / 97f;
            logArgs[i] = 1e-6f + (i % 89) / 89f;
        }
        int reps = 20000;
        double perElement = (double) reps * expArgs.length;
        System.out.println("species " + F + "; per element (cache-resident, " + expArgs.length + " floats):");
        report("exp2OrZero", rounds, perElement, r -> {
            double s = 0;
            for (int k = 0; k < reps; k++) {
                s += exps(expArgs);
            }
            return s;
        });
        report("VectorLog.log", rounds, perElement, r -> {
            double s = 0;
            for (int k = 0; k < reps; k++) {
                s += logs(logArgs);
            }
            return s;
        });

        Arena arena = Arena.ofShared();
        long total = (long) ROWS * COLS;
        MemorySegment t = arena.allocate(total * Float.BYTES, 64);
        MemorySegment s = arena.allocate(total * Float.BYTES, 64);
        MemorySegment g = arena.allocate(total * Float.BYTES, 64);
        SplittableRandom rnd = new SplittableRandom(7);
        for (long i = 0; i < total; i++) {
            float x = (float) (rnd.nextGaussian() * 3);
            t.setAtIndex(ValueLayout.JAVA_FLOAT, i, x);
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, x + (float) (rnd.nextGaussian() * 0.5));
        }
        SimdDivergenceKernels kernels = new SimdDivergenceKernels();
        double pairs = total;
        System.out.println("per pair (" + ROWS + " × " + COLS + ", one thread):");
        report("kl", rounds, pairs, r -> {
            double v = 0;
            for (int row = 0; row < ROWS; row++) {
                v += kernels.kl(t, (long) row * COLS, s, (long) row * COLS, COLS, 1f, null, 0, 1f);
            }
            return v;
        });
        report("kl + gradient", rounds, pairs, r -> {
            double v = 0;
            for (int row = 0; row < ROWS; row++) {
                v += kernels.kl(t, (long) row * COLS, s, (long) row * COLS, COLS, 1f, g, (long) row * COLS, 1f);
            }
            return v;
        });
        report("jsd", rounds, pairs, r -> {
            double v = 0;
            for (int row = 0; row < ROWS; row++) {
                v += kernels.jsd(t, (long) row * COLS, s, (long) row * COLS, COLS, 1f, 0.5f, null, 0, 1f);
            }
            return v;
        });
        report("jsd: streaming pass (exps and shifted logits stored)", rounds, pairs, r -> {
            Workspace ws = Workspace.get();
            double v = 0;
            for (int row = 0; row < ROWS; row++) {
                for (int q = 0; q < 4; q++) {
                    ws.heapRow(q, COLS);
                }
                OneReadPasses.pairSumsStreaming(OneReadPasses.JSD_SUMS, false, t, (long) row * COLS, s,
                        (long) row * COLS, COLS, 1f, null, null, 0, ws);
                v += ws.acc[0];
            }
            return v;
        });
        report("jsd: both passes (the streaming one, then the log pass)", rounds, pairs, r -> {
            Workspace ws = Workspace.get();
            double v = 0;
            for (int row = 0; row < ROWS; row++) {
                for (int q = 0; q < 4; q++) {
                    ws.heapRow(q, COLS);
                }
                OneReadPasses.pairSumsStreaming(OneReadPasses.JSD_SUMS, false, t, (long) row * COLS, s,
                        (long) row * COLS, COLS, 1f, null, null, 0, ws);
                OneReadPasses.jsdFromStored(COLS, 1f, 0.5f, ws.acc[0], ws.acc[1], ws);
                v += ws.acc[0];
            }
            return v;
        });

        // The KL forward that keeps its exps, block by block at fixed maxima (no max pass), with the gradient pass.
        int upper = F.loopBound(COLS);
        float log2Scale = VectorExp2.log2ScaleOfTwoInvT(2f);
        float negHalfM = -6f;
        double[] acc = new double[4];
        float[] lanes = new float[L];
        MemorySegment eTRow = arena.allocate((long) COLS * Float.BYTES, 64);
        float[] eT = new float[COLS];
        float[] eS = new float[COLS];
        report("kl keeping exps: kernels' two loops + rescale in the gradient", rounds, pairs, r -> {
            double v = 0;
            for (int row = 0; row < ROWS; row++) {
                long off = (long) row * COLS;
                for (int start = 0; start < upper; start += BLOCK) {
                    int end = Math.min(start + BLOCK, upper);
                    OneReadPasses.teacherBlockStore(t, off, s, off, start, end, negHalfM, negHalfM, log2Scale, eTRow, 0,
                            acc, lanes);
                    OneReadPasses.expBlockStore(s, off, start, end, negHalfM, log2Scale, g, off, acc, lanes);
                    v += acc[0];
                }
                for (int start = 0; start < upper; start += BLOCK) {
                    OneReadPasses.rescaledDifference(eTRow, g, off, start, Math.min(start + BLOCK, upper), 0.5f, 0.7f);
                }
            }
            return v;
        });
        report("kl keeping exps: one loop into heap rows + gradient pass", rounds, pairs, r -> {
            double v = 0;
            for (int row = 0; row < ROWS; row++) {
                long off = (long) row * COLS;
                for (int start = 0; start < upper; start += BLOCK) {
                    klBlockStoreHeap(t, off, s, off, start, Math.min(start + BLOCK, upper), negHalfM, negHalfM,
                            log2Scale, eT, eS, acc, lanes);
                    v += acc[0];
                }
                for (int start = 0; start < upper; start += BLOCK) {
                    differenceFromHeap(eT, eS, g, off, start, Math.min(start + BLOCK, upper), 0.5f, 0.7f);
                }
            }
            return v;
        });
        report("kl keeping exps: one loop, student's exps into the segment", rounds, pairs, r -> {
            double v = 0;
            for (int row = 0; row < ROWS; row++) {
                long off = (long) row * COLS;
                for (int start = 0; start < upper; start += BLOCK) {
                    klBlockStoreSegment(t, off, s, off, start, Math.min(start + BLOCK, upper), negHalfM, negHalfM,
                            log2Scale, eT, g, off, acc, lanes);
                    v += acc[0];
                }
            }
            return v;
        });
        report("copy of a 32000-float row into the gradient (DRAM write)", rounds, pairs, r -> {
            for (int row = 0; row < ROWS; row++) {
                MemorySegment.copy(eTRow, 0, g, (long) row * COLS * Float.BYTES, (long) COLS * Float.BYTES);
            }
            return 0;
        });
    }
}
