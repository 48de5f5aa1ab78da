package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
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
        double plain = ek.sinkd(Tensor.of(t, B, V), Tensor.of(s, B, V), SinkdOptions.defaults(), null);
        assertEquals(expected, plain, 1e-12 * expected, "plain");
        double log = ek.sinkd(Tensor.of(t, B, V), Tensor.of(s, B, V), SinkdOptions.defaults().logDomain(true), null);
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
            ek.sinkd(Tensor.of(t, B, V), Tensor.of(s, B, V), o, Tensor.of(grad, B, V));
            double[] tt = widen(t);
            double[] num = CentralDifferences.gradient(z -> paper(z, tt, o.temperature(), o.epsilon(), o.iterations()),
                    widen(s));
            Spec5.check(Spec5.Kind.GRAD, grad, 0, num, "SinKD grad " + o);
        }
    }

    @Test
    void badShapesAreRefused() {
        Entrokit ek = TestBackends.scalarReference();
        SinkhornTest.expect("teacher, student: expected two [B, V] tensors of the same shape", () ->
                ek.sinkd(Tensor.of(new float[6], 2, 3), Tensor.of(new float[8], 2, 4), SinkdOptions.defaults(), null));
        SinkhornTest.expect("epsilon: must be finite and >= 0.005", () -> SinkdOptions.defaults().epsilon(0.001));
    }
}
