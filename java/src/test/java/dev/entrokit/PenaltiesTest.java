package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The logit pre-passes (repetition, frequency and presence penalties, sparse logit bias, allowed and
 * banned ids) against vLLM's and Transformers' definitions written here with sets and maps, per row with
 * per-row parameters, padding and repeated ids.
 */
class PenaltiesTest {
    private static final int R = 4;
    private static final int V = 50;

    private static float[] logits(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[R * V];
        for (int i = 0; i < x.length; i++) {
            x[i] = rnd.nextInt(40) == 0 ? Float.NEGATIVE_INFINITY : (float) (3 * rnd.nextGaussian());
        }
        return x;
    }

    private static int[] ids(long seed, int len, int pad) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] ids = new int[R * len];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i % len >= len - pad ? -1 : rnd.nextInt(12); // few distinct ids: repeats and overlaps
        }
        return ids;
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void penaltiesFollowVllm(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = logits(1);
        float[] y = x.clone();
        int lp = 7;
        int lo = 6;
        int[] prompt = ids(2, lp, 2);
        int[] output = ids(3, lo, 1);
        float[] rep = {1.3f, 1f, 0.8f, 2f};
        float[] freq = {0.5f, 0f, -0.25f, 1f};
        float[] pres = {0.2f, 1f, 0f, -0.5f};
        ek.decoding().applyPenalties(Tensor.of(y, R, V), Tensor.of(prompt, R, lp), Tensor.of(output, R, lo), rep, freq,
                pres);
        for (int r = 0; r < R; r++) {
            Set<Integer> seen = new HashSet<>();
            Map<Integer, Integer> counts = new HashMap<>();
            for (int j = 0; j < lp; j++) {
                if (prompt[r * lp + j] >= 0) {
                    seen.add(prompt[r * lp + j]);
                }
            }
            for (int j = 0; j < lo; j++) {
                int t = output[r * lo + j];
                if (t >= 0) {
                    seen.add(t);
                    counts.merge(t, 1, Integer::sum);
                }
            }
            for (int i = 0; i < V; i++) {
                double v = x[r * V + i];
                if (seen.contains(i)) {
                    v = v > 0 ? v / rep[r] : v * rep[r];
                }
                int c = counts.getOrDefault(i, 0);
                v -= freq[r] * c + (c > 0 ? pres[r] : 0);
                String at = backend + " row " + r + " token " + i;
                if (!seen.contains(i)) {
                    assertEquals(x[r * V + i], y[r * V + i], at + " untouched");
                } else if (Double.isInfinite(v)) {
                    assertEquals((float) v, y[r * V + i], at);
                } else {
                    assertEquals(v, y[r * V + i], 1e-6 * Math.max(1, Math.abs(v)), at);
                }
            }
        }
        // A second call with the same scratch: nothing left over from the first (counts were cleared).
        float[] z = x.clone();
        ek.decoding().applyPenalties(Tensor.of(z, R, V), null, Tensor.of(output, R, lo), null, freq, null);
        for (int r = 0; r < R; r++) {
            for (int i = 0; i < V; i++) {
                int c = 0;
                for (int j = 0; j < lo; j++) {
                    c += output[r * lo + j] == i ? 1 : 0;
                }
                assertEquals(x[r * V + i] - freq[r] * c, z[r * V + i], 1e-6 * Math.max(1, Math.abs(x[r * V + i])), "frequency only");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void biasAllowedAndBannedIds(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = logits(4);
        int[] ids = {3, 3, 7, -1, /* row 1 */ 0, 49, -1, -1, /* row 2 */ -1, -1, -1, -1, /* row 3 */ 5, 6, 7, 8};
        float[] bias = {1f, 2f, -100f, 50f, 0.5f, -0.5f, 9f, 9f, 9f, 9f, 9f, 9f, 1f, 1f, 1f, 1f};
        float[] b = x.clone();
        ek.decoding().applyLogitBias(Tensor.of(b, R, V), Tensor.of(ids, R, 4), Tensor.of(bias, R, 4));
        for (int r = 0; r < R; r++) {
            for (int i = 0; i < V; i++) {
                double want = x[r * V + i];
                for (int j = 0; j < 4; j++) {
                    want += ids[r * 4 + j] == i ? bias[r * 4 + j] : 0;
                }
                assertEquals((float) want, b[r * V + i], 1e-5f, "bias row " + r + " token " + i);
            }
        }
        float[] allowed = x.clone();
        ek.decoding().restrictTokens(Tensor.of(allowed, R, V), Tensor.of(ids, R, 4), true);
        float[] banned = x.clone();
        ek.decoding().restrictTokens(Tensor.of(banned, R, V), Tensor.of(ids, R, 4), false);
        for (int r = 0; r < R; r++) {
            Set<Integer> listed = new HashSet<>();
            for (int j = 0; j < 4; j++) {
                if (ids[r * 4 + j] >= 0) {
                    listed.add(ids[r * 4 + j]);
                }
            }
            for (int i = 0; i < V; i++) {
                float v = x[r * V + i];
                boolean in = listed.contains(i);
                assertEquals(in || listed.isEmpty() ? v : Float.NEGATIVE_INFINITY, allowed[r * V + i], "allowed row " + r);
                assertEquals(in ? Float.NEGATIVE_INFINITY : v, banned[r * V + i], "banned row " + r);
            }
        }
        // Banned tokens are masked tokens: a filter never keeps them, the sampler never draws them.
        int[] tokens = new int[R];
        ek.decoding().sample(Tensor.of(banned, R, V), SamplingFilters.temperature(1f).typical(0.99f),
                new long[] {1, 2, 3, 4}, 0, Tensor.of(tokens));
        for (int r = 0; r < R; r++) {
            assertTrue(banned[r * V + tokens[r]] != Float.NEGATIVE_INFINITY, "sampled a banned token in row " + r);
        }
    }

    @Test
    void badArgumentsAreRefusedNamingThem() {
        Entrokit ek = TestBackends.scalarReference();
        Tensor x = Tensor.of(logits(5), R, V);
        Tensor ids = Tensor.of(new int[R * 2], R, 2);
        SelectionTest.refused("outputIds", () -> ek.decoding().applyPenalties(x, null,
                Tensor.of(new int[] {0, 1, 2, V, 0, 0, 0, 0}, R, 2), null, null, null));
        SelectionTest.refused("promptIds", () -> ek.decoding().applyPenalties(x, Tensor.of(new int[8], 2, 4), null,
                null, null, null));
        SelectionTest.refused("repetition", () -> ek.decoding().applyPenalties(x, ids, ids, new float[] {1, 0, 1, 1},
                null, null));
        SelectionTest.refused("frequency", () -> ek.decoding().applyPenalties(x, ids, ids, null, new float[R - 1],
                null));
        SelectionTest.refused("presence", () -> ek.decoding().applyPenalties(x, ids, ids, null, null,
                new float[] {0, Float.NaN, 0, 0}));
        SelectionTest.refused("bias", () -> ek.decoding().applyLogitBias(x, ids, Tensor.of(new float[R * 3], R, 3)));
        SelectionTest.refused("ids", () -> ek.decoding().restrictTokens(x, Tensor.of(new float[R * 2], R, 2), true));
    }
}
