package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The chain rejection sampler ({@link Decoding#speculativeChain}): with drafts drawn from the draft
 * distributions, every emitted token follows the target distribution (Pearson's χ² over many requests);
 * identical draft and target accept everything; outputs repeat for the same seeds whatever the thread
 * count; a request with bad probabilities is marked and leaves the others alone.
 */
class SpeculativeChainTest {
    private static final int V = 6;
    private static final int K = 3;

    private static double[] distribution(SplittableRandom rnd) {
        double[] p = new double[V];
        double s = 0;
        for (int j = 0; j < V; j++) {
            p[j] = Math.exp(1.5 * rnd.nextGaussian());
            s += p[j];
        }
        for (int j = 0; j < V; j++) {
            p[j] /= s;
        }
        return p;
    }

    private static int drawFrom(double[] q, SplittableRandom rnd) {
        double u = rnd.nextDouble();
        double cum = 0;
        for (int j = 0; j < V; j++) {
            cum += q[j];
            if (u < cum) {
                return j;
            }
        }
        return V - 1;
    }

    /** Pearson's statistic of {@code counts} against {@code p} (5 degrees of freedom at V = 6). */
    private static double chi2(long[] counts, double[] p) {
        long n = 0;
        for (long c : counts) {
            n += c;
        }
        double x = 0;
        for (int j = 0; j < V; j++) {
            double e = n * p[j];
            x += (counts[j] - e) * (counts[j] - e) / e;
        }
        return x;
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void emittedTokensFollowTheTarget(String backend) {
        Entrokit ek = TestBackends.open(backend);
        SplittableRandom rnd = new SplittableRandom(17);
        double[][] p = new double[K + 1][];
        double[][] q = new double[K][];
        for (int i = 0; i <= K; i++) {
            p[i] = distribution(rnd);
            if (i < K) {
                q[i] = distribution(rnd);
            }
        }
        int b = 30_000;
        int[] ids = new int[b * K];
        float[] draft = new float[b * K * V];
        float[] target = new float[b * (K + 1) * V];
        long[] seeds = new long[b];
        for (int r = 0; r < b; r++) {
            seeds[r] = 1000 + r;
            for (int i = 0; i < K; i++) {
                ids[r * K + i] = drawFrom(q[i], rnd);
                for (int j = 0; j < V; j++) {
                    draft[(r * K + i) * V + j] = (float) q[i][j];
                }
            }
            for (int i = 0; i <= K; i++) {
                for (int j = 0; j < V; j++) {
                    target[(r * (K + 1) + i) * V + j] = (float) p[i][j];
                }
            }
        }
        int[] accepted = new int[b];
        int[] tokens = new int[b * (K + 1)];
        ek.decoding().speculativeChain(Tensor.of(ids, b, K), Tensor.of(draft, b, K, V), Tensor.of(target, b, K + 1, V),
                seeds, 5, Tensor.of(accepted), Tensor.of(tokens, b, K + 1));
        long[][] counts = new long[K + 1][V];
        for (int r = 0; r < b; r++) {
            assertTrue(accepted[r] >= 0 && accepted[r] <= K);
            for (int i = 0; i <= accepted[r]; i++) {
                int t = tokens[r * (K + 1) + i];
                if (i < accepted[r]) {
                    assertEquals(ids[r * K + i], t, "an accepted position emits its draft");
                }
                counts[i][t]++;
            }
            for (int i = accepted[r] + 1; i <= K; i++) {
                assertEquals(-1, tokens[r * (K + 1) + i]);
            }
        }
        for (int i = 0; i <= K; i++) {
            // 5 degrees of freedom: P(χ² > 20.5) = 0.001; the seeds are fixed, so this is not flaky.
            double x = chi2(counts[i], p[i]);
            assertTrue(x < 20.5, backend + " position " + i + ": chi2 = " + x + " over " + java.util.Arrays.stream(counts[i]).sum());
        }
        // The draft is not the target, so some drafts are rejected, and some requests reach the bonus token.
        assertTrue(java.util.Arrays.stream(accepted).anyMatch(a -> a == 0) && java.util.Arrays.stream(accepted).anyMatch(a -> a == K));
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void identicalDraftAndTargetAcceptEverythingAndBadRequestsAreMarked(String backend) {
        Entrokit ek = TestBackends.open(backend);
        SplittableRandom rnd = new SplittableRandom(3);
        int b = 3;
        int[] ids = new int[b * K];
        float[] draft = new float[b * K * V];
        float[] target = new float[b * (K + 1) * V];
        for (int r = 0; r < b; r++) {
            for (int i = 0; i <= K; i++) {
                double[] d = distribution(rnd);
                for (int j = 0; j < V; j++) {
                    target[(r * (K + 1) + i) * V + j] = (float) d[j];
                    if (i < K) {
                        draft[(r * K + i) * V + j] = (float) d[j];
                    }
                }
                if (i < K) {
                    ids[r * K + i] = drawFrom(d, rnd);
                }
            }
        }
        target[(K + 1) * V + 2] = Float.NaN; // request 1 is bad
        int[] accepted = new int[b];
        int[] tokens = new int[b * (K + 1)];
        ek.decoding().speculativeChain(Tensor.of(ids, b, K), Tensor.of(draft, b, K, V), Tensor.of(target, b, K + 1, V),
                new long[] {1, 2, 3}, 0, Tensor.of(accepted), Tensor.of(tokens, b, K + 1));
        assertArrayEquals(new int[] {K, -1, K}, accepted);
        for (int i = 0; i < K; i++) {
            assertEquals(ids[i], tokens[i]);
            assertEquals(-1, tokens[(K + 1) + i]);
            assertEquals(ids[2 * K + i], tokens[2 * (K + 1) + i]);
        }
        assertTrue(tokens[K] >= 0 && tokens[3 * (K + 1) - 1] >= 0, "the bonus tokens");
        // The same seeds give the same outputs on one thread and on three.
        try (Entrokit one = Entrokit.create(backend, 1); Entrokit three = Entrokit.create(backend, 3)) {
            int[] a1 = new int[b];
            int[] t1 = new int[b * (K + 1)];
            int[] a3 = new int[b];
            int[] t3 = new int[b * (K + 1)];
            one.decoding().speculativeChain(Tensor.of(ids, b, K), Tensor.of(draft, b, K, V), Tensor.of(target, b,
                    K + 1, V), new long[] {1, 2, 3}, 0, Tensor.of(a1), Tensor.of(t1, b, K + 1));
            three.decoding().speculativeChain(Tensor.of(ids, b, K), Tensor.of(draft, b, K, V), Tensor.of(target, b,
                    K + 1, V), new long[] {1, 2, 3}, 0, Tensor.of(a3), Tensor.of(t3, b, K + 1));
            assertArrayEquals(accepted, a1);
            assertArrayEquals(tokens, t1);
            assertArrayEquals(a1, a3);
            assertArrayEquals(t1, t3);
        }
    }

    @Test
    void badArgumentsAreRefusedNamingThem() {
        Entrokit ek = TestBackends.scalarReference();
        Tensor ids = Tensor.of(new int[] {0, 1, 2, 3, 4, 5}, 2, K);
        Tensor draft = Tensor.of(new float[2 * K * V], 2, K, V);
        Tensor target = Tensor.of(new float[2 * (K + 1) * V], 2, K + 1, V);
        Tensor acc = Tensor.of(new int[2]);
        Tensor tok = Tensor.of(new int[2 * (K + 1)], 2, K + 1);
        long[] seeds = {1, 2};
        SelectionTest.refused("draftIds", () -> ek.decoding().speculativeChain(Tensor.of(new int[] {0, 1, 2, 3, 4, V},
                2, K), draft, target, seeds, 0, acc, tok));
        SelectionTest.refused("draftProbs", () -> ek.decoding().speculativeChain(ids, Tensor.of(new float[2 * K * V],
                2, K * V), target, seeds, 0, acc, tok));
        SelectionTest.refused("targetProbs", () -> ek.decoding().speculativeChain(ids, draft,
                Tensor.of(new float[2 * K * V], 2, K, V), seeds, 0, acc, tok));
        SelectionTest.refused("seeds", () -> ek.decoding().speculativeChain(ids, draft, target, new long[3], 0, acc,
                tok));
        SelectionTest.refused("tokensOut", () -> ek.decoding().speculativeChain(ids, draft, target, seeds, 0, acc,
                Tensor.of(new int[2 * K], 2, K)));
        SelectionTest.refused("acceptedOut", () -> ek.decoding().speculativeChain(ids, draft, target, seeds, 0,
                Tensor.of(new int[1]), tok));
    }
}
