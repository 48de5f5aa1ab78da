package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SPEC §2: a masked ({@code -inf}) token is never kept by any filter or pipeline (mask, kept tokens,
 * masked logits) and never sampled, whatever a filter's formula says. Every filter and a few
 * compositions at their edge parameters (α = 1, p = 1, r tiny, k = V) run over edge rows (one live
 * token, two, one masked, most masked, ties) on every backend, at a short V (ranked whole) and a long
 * one (ranked from a sampled threshold on simd).
 */
@Tag("simd-width")
class MaskedNeverKeptTest {
    private static final float NEG = Float.NEGATIVE_INFINITY;

    /** Edge rows of length {@code v}, named. */
    private static List<Object[]> rows(int v) {
        SplittableRandom rnd = new SplittableRandom(v);
        List<Object[]> rows = new ArrayList<>();
        for (int at : new int[] {0, v / 2, v - 1}) {
            float[] one = new float[v];
            Arrays.fill(one, NEG);
            one[at] = -3f;
            rows.add(new Object[] {"one live at " + at, one});
        }
        float[] two = new float[v];
        Arrays.fill(two, NEG);
        two[v - 1] = 1f;
        two[v / 3] = 0.25f;
        rows.add(new Object[] {"two live", two});
        float[] twoTied = new float[v];
        Arrays.fill(twoTied, NEG);
        twoTied[5] = 2f;
        twoTied[v - 2] = 2f;
        rows.add(new Object[] {"two live, tied", twoTied});
        float[] oneMasked = new float[v];
        for (int i = 0; i < v; i++) {
            oneMasked[i] = (float) rnd.nextGaussian();
        }
        oneMasked[v / 4] = NEG;
        rows.add(new Object[] {"one masked", oneMasked});
        float[] mostMasked = new float[v];
        for (int i = 0; i < v; i++) {
            mostMasked[i] = rnd.nextInt(10) == 0 ? (float) rnd.nextGaussian() : NEG;
        }
        rows.add(new Object[] {"most masked", mostMasked});
        float[] tiedLive = new float[v];
        for (int i = 0; i < v; i++) {
            tiedLive[i] = i % 3 == 0 ? NEG : 0f;
        }
        rows.add(new Object[] {"live tokens all tied", tiedLive});
        return rows;
    }

    /** Every filter at its edge parameters, alone and composed. */
    private static List<SamplingFilters> pipelines(int v, float t) {
        SamplingFilters b = SamplingFilters.temperature(t);
        List<SamplingFilters> f = new ArrayList<>(List.of(b, b.topK(1), b.topK(2), b.topK(v), b.topP(1f), b.topP(0.5f),
                b.minP(Float.MIN_VALUE), b.minP(1e-30f), b.minP(1f)));
        for (TopHMode mode : TopHMode.values()) {
            for (int n : new int[] {1, 100, v}) {
                f.add(b.topH(1f, n, mode));
                f.add(b.topH(0.5f, n, mode));
            }
        }
        f.addAll(List.of(b.topK(v).topP(1f), b.topP(1f).topH(1f), b.minP(Float.MIN_VALUE).topK(v).topH(1f, v,
                TopHMode.NORMALIZED), b.topH(1f).topK(v).minP(Float.MIN_VALUE), b.topK(v).topH(1f, v, TopHMode.PAPER)
                .topP(1f), b.topP(0.9f).minP(1e-30f).topK(v)));
        // The entropy-shaped steps at their edges: mass 1, cutoffs at both ends, min_tokens_to_keep past the
        // live tokens, nσ of 0 and huge, T_min = 0.
        f.addAll(List.of(b.typical(1f), b.typical(Float.MIN_VALUE), b.typical(0.5f, v), b.epsilon(Float.MIN_VALUE),
                b.epsilon(0.999f), b.epsilon(0.999f, v), b.eta(Float.MIN_VALUE), b.eta(0.999f, v), b.topNSigma(0f),
                b.topNSigma(1e30f), b.topNSigma(0f, v), b.dynamicTemperature(0f, 1f, 1f), b.dynamicTemperature(0f, 1e-3f, 8f),
                b.dynamicTemperature(0f, 1f, 1f).typical(1f).topK(v), b.topK(v).epsilon(Float.MIN_VALUE).topNSigma(1e30f),
                b.typical(1f, v).eta(Float.MIN_VALUE).dynamicTemperature(0f, 1f, 1f), b.mirostat(-5f), b.mirostat(1e30f),
                b.mirostat(3f).topK(v)));
        // min_tokens_to_keep past the live tokens on the prefix filters and Mirostat.
        f.addAll(List.of(b.topK(1, v), b.topP(Float.MIN_VALUE, v), b.minP(1f, v), b.topH(Float.MIN_VALUE, 100, TopHMode.PAPER, v),
                b.topH(0.5f, v, TopHMode.NORMALIZED, v), b.mirostat(-5f, v), b.topK(2, v).topP(1f, v)));
        return f;
    }

    static List<Object[]> cases() {
        List<Object[]> cases = new ArrayList<>();
        for (String backend : TestBackends.NAMES) {
            for (int v : new int[] {37, 1283}) {
                cases.add(new Object[] {backend, v});
            }
        }
        return cases;
    }

    @ParameterizedTest(name = "{0} V={1}")
    @MethodSource("cases")
    void noFilterOrPipelineKeepsOrSamplesAMaskedToken(String backend, int v) {
        Entrokit ek = TestBackends.open(backend);
        for (Object[] named : rows(v)) {
            String rowName = (String) named[0];
            float[] x = (float[]) named[1];
            int live = 0;
            for (float z : x) {
                live += z == NEG ? 0 : 1;
            }
            for (float t : v < 100 ? new float[] {1f, 0.3f} : new float[] {1f}) {
                for (SamplingFilters f : pipelines(v, t)) {
                    check(ek, x, v, live, f, rowName + ", " + f);
                }
            }
            int[] greedy = new int[1];
            ek.decoding().sample(Tensor.of(x, 1, v), SamplingFilters.temperature(0f), new long[] {1}, 0,
                    Tensor.of(greedy));
            assertEquals(argmax(x), greedy[0], rowName + ", greedy");
            topKPutsMaskedTokensLastWithProbabilityZero(ek, x, v, live, rowName);
            // XTC draws, so only the samplers take it: every draw lands on a live token.
            for (SamplingFilters f : List.of(SamplingFilters.temperature(1f).xtc(0f, 1f), SamplingFilters.temperature(1f)
                    .topK(v).xtc(0.1f, 1f), SamplingFilters.temperature(0.3f).xtc(0.5f, 1f, v).typical(1f))) {
                int[] drawn = new int[8];
                float[] batch = new float[8 * v];
                for (int r = 0; r < 8; r++) {
                    System.arraycopy(x, 0, batch, r * v, v);
                }
                ek.decoding().sample(Tensor.of(batch, 8, v), f, new long[] {1, 2, 3, 4, 5, 6, 7, 8}, 0,
                        Tensor.of(drawn));
                for (int token : drawn) {
                    assertTrue(token >= 0 && x[token] != NEG, rowName + ", " + f + ": sampled masked token " + token);
                }
            }
        }
    }

    private static void check(Entrokit ek, float[] x, int v, int live, SamplingFilters f, String at) {
        List<Integer> want = SelectionReference.kept(x, 0, v, f);
        // Exact unless a cumulative sum lies within SPEC §5's 1e-6 band of its threshold (p = 1, α = 1).
        boolean decided = SelectionReference.margin(x, 0, v, f) >= 1e-6;

        boolean[] mask = SelectionTest.mask(ek, x, 1, v, f);
        int count = 0;
        for (int i = 0; i < v; i++) {
            assertFalse(mask[i] && x[i] == NEG, at + ": mask keeps masked token " + i);
            count += mask[i] ? 1 : 0;
        }
        assertTrue(count >= 1 && count <= live, at + ": kept " + count + " of " + live + " live");
        if (decided) {
            assertArrayEquals(SelectionReference.mask(x, 0, v, f), mask, at);
        }

        int[] ids = new int[v];
        float[] probs = new float[v];
        int[] counts = new int[1];
        ek.decoding().keptTokens(Tensor.of(x, 1, v), f, Tensor.of(ids, 1, v), Tensor.of(probs, 1, v),
                Tensor.of(counts));
        assertEquals(count, counts[0], at + ": keptTokens count vs mask");
        double sum = 0;
        for (int j = 0; j < v; j++) {
            if (j < counts[0]) {
                assertTrue(mask[ids[j]], at + ": keptTokens lists " + ids[j] + ", not in the mask");
                sum += probs[j];
            } else {
                assertEquals(-1, ids[j], at + ": slot " + j + " past the kept tokens");
            }
        }
        assertEquals(1.0, sum, 1e-5, at + ": kept probabilities sum");
        if (decided) {
            assertEquals(want, Arrays.stream(ids, 0, counts[0]).boxed().toList(), at);
        }

        float[] out = new float[v];
        ek.decoding().maskLogits(Tensor.of(x, 1, v), f, Tensor.of(out, 1, v));
        for (int i = 0; i < v; i++) {
            assertEquals(mask[i] ? x[i] : NEG, out[i], at + ": masked logit " + i);
        }

        Set<Integer> kept = new HashSet<>();
        for (int i = 0; i < v; i++) {
            if (mask[i]) {
                kept.add(i);
            }
        }
        int draws = 16;
        int[] tokens = new int[draws];
        long[] seeds = new long[draws];
        Arrays.setAll(seeds, s -> 1000L + s);
        float[] batch = new float[draws * v];
        for (int r = 0; r < draws; r++) {
            System.arraycopy(x, 0, batch, r * v, v);
        }
        ek.decoding().sample(Tensor.of(batch, draws, v), f, seeds, 3, Tensor.of(tokens));
        for (int token : tokens) {
            assertTrue(token >= 0 && x[token] != NEG, at + ": sampled masked token " + token);
            assertTrue(kept.contains(token), at + ": sampled " + token + ", which the mask does not keep");
        }
    }

    /** {@code top_k} with {@code k} past the live tokens still returns {@code k}: the masked ones last, by index, weighing 0. */
    private static void topKPutsMaskedTokensLastWithProbabilityZero(Entrokit ek, float[] x, int v, int live, String at) {
        int[] idx = new int[v];
        float[] val = new float[v];
        float[] prob = new float[v];
        ek.decoding().topK(Tensor.of(x, 1, v), v, 1f, Tensor.of(idx, 1, v), Tensor.of(val, 1, v), Tensor.of(prob, 1,
                v));
        int previousMasked = -1;
        for (int j = 0; j < v; j++) {
            boolean masked = x[idx[j]] == NEG;
            assertEquals(j >= live, masked, at + ": top-k slot " + j);
            if (masked) {
                assertTrue(idx[j] > previousMasked, at + ": masked tokens by ascending index");
                previousMasked = idx[j];
                assertEquals(0f, prob[j], at + ": masked token's probability");
                assertEquals(NEG, val[j], at);
            }
        }
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
