package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.internal.Philox;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Mirostat 2.0 ({@link Decoding#mirostatV2}) against llama.cpp's loop transcribed here in float64 on
 * {@link SelectionReference}'s kept distribution: truncate where {@code −log₂ q > μ} (at least the
 * most likely), renormalize, draw, {@code μ ← μ − η·(−log₂ q_token − τ)}; and the property the method
 * exists for: the observed surprise settles at τ.
 */
@Tag("simd-width")
class MirostatTest {

    /** The token SPEC §2's sampler draws from {@code q} (ids ascending, cumulative > u), or -1. */
    static int draw(double[] q, double u) {
        double total = 0;
        for (double v : q) {
            total += v;
        }
        double cum = 0;
        int last = -1;
        for (int i = 0; i < q.length; i++) {
            if (q[i] > 0) {
                cum += q[i];
                last = i;
                if (cum > u * total) {
                    return i;
                }
            }
        }
        return last;
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void followsLlamaCppsLoopStepByStep(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int rows = 4;
        int v = 301;
        float tau = 3f;
        float eta = 0.2f;
        float[] mu = new float[rows];
        java.util.Arrays.fill(mu, 2 * tau);
        float[] want = mu.clone();
        long[] seeds = {1, 2, 3, 4};
        SamplingFilters f = SamplingFilters.temperature(0.9f).topK(120);
        int compared = 0;
        for (long step = 0; step < 40; step++) {
            float[] x = SelectionTest.rows(100 + step, rows, v);
            int[] tokens = new int[rows];
            ek.decoding().mirostatV2(Tensor.of(x, rows, v), f, tau, eta, mu, seeds, step, Tensor.of(tokens));
            for (int r = 0; r < rows; r++) {
                SamplingFilters g = f.mirostat(want[r]);
                double[] q = SelectionReference.keptProbabilities(x, r * v, v, g);
                int token = draw(q, Philox.uniform(seeds[r], r, step));
                assertEquals(token, tokens[r], backend + " step " + step + " row " + r);
                want[r] = (float) (want[r] - eta * (-Math.log(q[token]) / Math.log(2) - tau));
                assertEquals(want[r], mu[r], 1e-4 * Math.max(1, Math.abs(want[r])), backend + " mu, step " + step + " row " + r);
                want[r] = mu[r]; // the next step starts from the method's state, as a caller's would
                compared++;
            }
        }
        assertEquals(160, compared);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void theObservedSurpriseSettlesAtTau(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int v = 2000;
        float tau = 4f;
        float eta = 0.1f;
        float[] mu = {2 * tau};
        SplittableRandom rnd = new SplittableRandom(5);
        float[] x = new float[v];
        double sum = 0;
        int counted = 0;
        for (long step = 0; step < 3000; step++) {
            for (int i = 0; i < v; i++) {
                x[i] = (float) (2 * rnd.nextGaussian());
            }
            float before = mu[0];
            int[] token = new int[1];
            ek.decoding().mirostatV2(Tensor.of(x, 1, v), SamplingFilters.temperature(1f), tau, eta, mu, new long[] {9},
                    step, Tensor.of(token));
            assertTrue(token[0] >= 0 && token[0] < v);
            if (step >= 1000) {
                sum += tau + (before - mu[0]) / eta; // the observed surprise, recovered from the update
                counted++;
            }
        }
        double mean = sum / counted;
        assertEquals(tau, mean, 0.25, backend + ": mean surprise " + mean + " bits over the last " + counted + " steps");
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void aSpecialRowKeepsItsMuAndTheOthersGoOn(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = {1f, 2f, 3f, Float.NaN, 0f, 0f, 1f, 5f, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, 7f, 1f};
        float[] mu = {6f, 6f, 6f};
        int[] tokens = new int[3];
        ek.decoding().mirostatV2(Tensor.of(x, 3, 4), SamplingFilters.temperature(1f), 3f, 0.5f, mu,
                new long[] {1, 2, 3}, 0, Tensor.of(tokens));
        assertEquals(-1, tokens[0]);
        assertEquals(6f, mu[0]);
        assertTrue(tokens[1] >= 0 && tokens[2] >= 2, "row 2 never draws a masked token: " + tokens[2]);
        assertTrue(mu[1] != 6f && mu[2] != 6f);
        // μ below every surprise keeps only the most likely token, whose probability is then 1.
        float[] low = {-50f, -50f, -50f};
        ek.decoding().mirostatV2(Tensor.of(x, 3, 4), SamplingFilters.temperature(1f), 3f, 0.5f, low,
                new long[] {1, 2, 3}, 0, Tensor.of(tokens));
        assertArrayEquals(new int[] {-1, 3, 2}, tokens);
        assertEquals(-50f + 0.5f * 3f, low[1], 1e-6);
    }

    @Test
    void badArgumentsAreRefusedNamingThem() {
        Entrokit ek = TestBackends.scalarReference();
        Tensor x = Tensor.of(SelectionTest.rows(3, 2, 10), 2, 10);
        Tensor tok = Tensor.of(new int[2]);
        SamplingFilters f = SamplingFilters.temperature(1f);
        long[] seeds = {1, 2};
        SelectionTest.refused("tau", () -> ek.decoding().mirostatV2(x, f, 0f, 0.1f, new float[2], seeds, 0, tok));
        SelectionTest.refused("tau", () -> ek.decoding().mirostatV2(x, f, Float.NaN, 0.1f, new float[2], seeds, 0,
                tok));
        SelectionTest.refused("eta", () -> ek.decoding().mirostatV2(x, f, 3f, -0.1f, new float[2], seeds, 0, tok));
        SelectionTest.refused("mu", () -> ek.decoding().mirostatV2(x, f, 3f, 0.1f, new float[3], seeds, 0, tok));
        SelectionTest.refused("mu", () -> ek.decoding().mirostatV2(x, f, 3f, 0.1f, new float[] {1f, Float.NaN}, seeds,
                0, tok));
        SelectionTest.refused("seeds", () -> ek.decoding().mirostatV2(x, f, 3f, 0.1f, new float[2], new long[1], 0,
                tok));
        SelectionTest.refused("temperature", () -> ek.decoding().mirostatV2(x, SamplingFilters.temperature(0f), 3f,
                0.1f, new float[2], seeds, 0, tok));
        SelectionTest.refused("tokensOut", () -> ek.decoding().mirostatV2(x, f, 3f, 0.1f, new float[2], seeds, 0,
                Tensor.of(new int[1])));
        SelectionTest.refused("mu", () -> f.mirostat(Float.POSITIVE_INFINITY));
    }
}
