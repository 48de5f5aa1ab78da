package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SinKD's loss (SPEC §3) against the paper's code transcribed here in float64 (softmax at T, L1
 * {@code cdist}, {@code K = exp(−W/ε)}, 20 times {@code x / x.sum(1)} then {@code x / x.sum(0)},
 * {@code Σ P·W}); its log-domain twin; and the gradient against central differences.
 */
class SinkdTest {
    static final int B = 6;
    static final int V = 11;

    /** The paper's {@code sinkhorn_loss(softmax(s/T), softmax(t/T))}, matrix by matrix. */
    static double paper(double[] s, double[] t, double temperature, double eps, int iterations) {
        double[] ps = softmax(s, temperature);
        double[] pt = softmax(t, temperature);
        double[] w = new double[B * B];
        double[] x = new double[B * B];
        for (int i = 0; i < B; i++) {
            for (int j = 0; j < B; j++) {
                for (int k = 0; k < V; k++) {
                    w[i * B + j] += Math.abs(ps[i * V + k] - pt[j * V + k]);
                }
                x[i * B + j] = Math.exp(-w[i * B + j] / eps);
            }
        }
        for (int it = 0; it < iterations; it++) {
            for (int i = 0; i < B; i++) {
                double r = 0;
                for (int j = 0; j < B; j++) {
                    r += x[i * B + j];
                }
                for (int j = 0; j < B; j++) {
                    x[i * B + j] /= r;
                }
            }
            for (int j = 0; j < B; j++) {
                double c = 0;
                for (int i = 0; i < B; i++) {
                    c += x[i * B + j];
                }
                for (int i = 0; i < B; i++) {
                    x[i * B + j] /= c;
                }
            }
        }
        double loss = 0;
        for (int k = 0; k < B * B; k++) {
            loss += x[k] * w[k];
        }
        return loss;
    }

    static double[] softmax(double[] z, double temperature) {
        double[] p = new double[z.length];
        for (int r = 0; r < B; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < V; k++) {
                max = Math.max(max, z[r * V + k] / temperature);
            }
            double sum = 0;
            for (int k = 0; k < V; k++) {
                p[r * V + k] = Math.exp(z[r * V + k] / temperature - max);
                sum += p[r * V + k];
            }
            for (int k = 0; k < V; k++) {
                p[r * V + k] /= sum;
            }
        }
        return p;
    }

    static float[] logits(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[B * V];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (3 * r.nextGaussian());
        }
        return x;
    }

    static double[] widen(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void lossIsThePapersInBothDomains(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] s = logits(1);
        float[] t = logits(2);
        double expected = paper(widen(s), widen(t), 2, 0.1, 20);
        double plain = ek.transport().sinkd(Tensor.of(t, B, V), Tensor.of(s, B, V), SinkdOptions.defaults(), null);
        assertEquals(expected, plain, 1e-12 * expected, "plain");
        double log = ek.transport().sinkd(Tensor.of(t, B, V), Tensor.of(s, B, V),
                SinkdOptions.defaults().logDomain(true), null);
        // The log-domain solver reads the cost as float32 (and the simd one computes in float32).
        assertEquals(expected, log, 1e-5 * expected, "log domain");
    }

    @Test
    void gradientMatchesCentralDifferences() {
        Entrokit ek = TestBackends.scalarReference();
        float[] s = logits(3);
        float[] t = logits(4);
        for (SinkdOptions o : new SinkdOptions[] {SinkdOptions.defaults(), SinkdOptions.defaults().iterations(3).epsilon(0.3)
                .temperature(1.5f)}) {
            float[] grad = new float[B * V];
            ek.transport().sinkd(Tensor.of(t, B, V), Tensor.of(s, B, V), o, Tensor.of(grad, B, V));
            double[] tt = widen(t);
            double[] num = CentralDifferences.gradient(z -> paper(z, tt, o.temperature(), o.epsilon(), o.iterations()),
                    widen(s));
            Spec5.check(Spec5.Kind.GRAD, grad, 0, num, "SinKD grad " + o);
        }
    }

    /**
     * A NaN row reaches every plan entry, so the loss and the whole gradient are NaN, the same in both
     * domains (the log domain used to refuse it with a message about "cost", an argument sinkd lacks).
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void aNanRowMakesTheBatchNanInBothDomains(String backend) {
        Entrokit ek = TestBackends.open(backend);
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            for (boolean inStudent : new boolean[] {true, false}) {
                float[] s = logits(5);
                float[] t = logits(6);
                (inStudent ? s : t)[2 * V + 3] = bad;
                for (boolean logDomain : new boolean[] {false, true}) {
                    float[] grad = new float[B * V];
                    double loss = ek.transport().sinkd(Tensor.of(t, B, V), Tensor.of(s, B, V),
                            SinkdOptions.defaults().logDomain(logDomain), Tensor.of(grad, B, V));
                    String what = backend + " " + bad + " in " + (inStudent ? "student" : "teacher") + " logDomain "
                            + logDomain;
                    assertTrue(Double.isNaN(loss), what + ": loss " + loss);
                    for (int k = 0; k < grad.length; k++) {
                        assertTrue(Float.isNaN(grad[k]), what + ": grad[" + k + "] = " + grad[k]);
                    }
                }
            }
        }
    }

    /** B × B beyond an array, or beyond the heap, is refused by name before any work. */
    @Test
    void sizesBeyondTheWorkspaceAreRefused() {
        Entrokit ek = TestBackends.scalarReference();
        for (int b : new int[] {46341, 65536}) {
            Tensor x = Tensor.of(new float[b], b, 1);
            SinkhornTest.expect("teacher, student: B = " + b + " rows make a B x B cost of " + (long) b * b + " entries",
                    () -> ek.transport().sinkd(x, x, SinkdOptions.defaults(), null));
        }
        if (Runtime.getRuntime().maxMemory() < 32L << 30) {
            Tensor x = Tensor.of(new float[46340], 46340, 1);
            SinkhornTest.expect("teacher, student: B = 46340, V = 1 need 32768 MiB of workspace, more than this JVM's "
                    + "heap", () -> ek.transport().sinkd(x, x, SinkdOptions.defaults(), null));
        }
        Tensor small = Tensor.of(logits(7), B, V);
        Tensor grad = Tensor.of(new float[B * V], B, V);
        SinkhornTest.expect("teacher, student, options.iterations: B = 6, V = 11 and 2147483647 iterations with the "
                + "gradient", () -> ek.transport().sinkd(small, small,
                        SinkdOptions.defaults().iterations(Integer.MAX_VALUE), grad));
    }

    /**
     * The loss keeps one pair of scalings, not one per iteration (it ran out of memory at 2^31 − 1):
     * 3e7 iterations on one row (where P = [[1]], so the loss is W itself) took 1.4 GB of arrays before.
     */
    @Test
    void theLossDoesNotAllocatePerIteration() {
        Entrokit ek = TestBackends.scalarReference();
        float[] s = {0.5f, -1f, 2f};
        float[] t = {1f, 0f, -3f};
        double loss = ek.transport().sinkd(Tensor.of(t, 1, 3), Tensor.of(s, 1, 3),
                SinkdOptions.defaults().iterations(30_000_000), null);
        double[] ps = softmaxRow(s, 2);
        double[] pt = softmaxRow(t, 2);
        double w = 0;
        for (int k = 0; k < 3; k++) {
            w += Math.abs(ps[k] - pt[k]);
        }
        assertEquals(w, loss, 1e-14);
    }

    static double[] softmaxRow(float[] z, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : z) {
            max = Math.max(max, x / temperature);
        }
        double[] p = new double[z.length];
        double sum = 0;
        for (int k = 0; k < z.length; k++) {
            p[k] = Math.exp(z[k] / temperature - max);
            sum += p[k];
        }
        for (int k = 0; k < z.length; k++) {
            p[k] /= sum;
        }
        return p;
    }

    /** Every tensor argument from a closed arena or another thread's confined one is refused by name. */
    @Test
    void unreadableSegmentsAreRefusedByName() throws Exception {
        Entrokit ek = TestBackends.scalarReference();
        Tensor ok = Tensor.of(logits(10), B, V);
        Tensor okGrad = Tensor.of(new float[B * V], B, V);
        Arena closed = Arena.ofConfined();
        Tensor dead = Tensor.of(closed.allocate(ValueLayout.JAVA_FLOAT, B * V), DType.F32, B, V);
        closed.close();
        SinkhornTest.expect("teacher: the arena of its segment is closed", () -> ek.transport().sinkd(dead, ok,
                SinkdOptions.defaults(), null));
        SinkhornTest.expect("student: the arena of its segment is closed", () -> ek.transport().sinkd(ok, dead,
                SinkdOptions.defaults(), null));
        SinkhornTest.expect("grad: the arena of its segment is closed", () -> ek.transport().sinkd(ok, ok,
                SinkdOptions.defaults(), dead));
        try (Arena other = CompletableFuture.supplyAsync(Arena::ofConfined).get()) {
            MemorySegment seg = other.allocate(ValueLayout.JAVA_FLOAT, B * V);
            Tensor foreign = Tensor.of(seg, DType.F32, B, V);
            SinkhornTest.expect("teacher: its segment is confined to another thread",
                    () -> ek.transport().sinkd(foreign, ok, SinkdOptions.defaults(), okGrad));
            SinkhornTest.expect("student: its segment is confined to another thread",
                    () -> ek.transport().sinkd(ok, foreign, SinkdOptions.defaults().logDomain(true), okGrad));
            SinkhornTest.expect("grad: its segment is confined to another thread",
                    () -> ek.transport().sinkd(ok, ok, SinkdOptions.defaults(), foreign));
        } catch (WrongThreadException expected) {
            // Closing another thread's confined arena is not this thread's to do; the JVM frees it.
        }
    }

    @Test
    void badShapesAreRefused() {
        Entrokit ek = TestBackends.scalarReference();
        SinkhornTest.expect("teacher, student: expected two [B, V] tensors of the same shape", () ->
                ek.transport().sinkd(Tensor.of(new float[6], 2, 3), Tensor.of(new float[8], 2, 4),
                        SinkdOptions.defaults(), null));
        SinkhornTest.expect("epsilon: must be finite and >= 0.005", () -> SinkdOptions.defaults().epsilon(0.001));
    }
}
