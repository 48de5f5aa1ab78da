package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Decoding#sampleWithLogprobs}: vLLM's log-prob outputs next to the sampled token, against
 * float64 math written here (log-softmax, counts) and {@link SelectionReference}'s kept distribution.
 */
@Tag("simd-width")
class LogprobsTest {

    /** {@code x_i − lse(x)} in float64, for row {@code r}. */
    private static double[] logSoftmax(float[] x, int off, int v) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < v; i++) {
            max = Math.max(max, x[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < v; i++) {
            sum += Math.exp(x[off + i] - max);
        }
        double lse = max + Math.log(sum);
        double[] out = new double[v];
        for (int i = 0; i < v; i++) {
            out[i] = x[off + i] - lse;
        }
        return out;
    }

    private static void close(double want, float got, String at) {
        if (Double.isInfinite(want)) {
            assertEquals((float) want, got, at);
        } else {
            assertEquals(want, got, 1e-5 * Math.max(1, Math.abs(want)), at);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void outputsMatchTheReferenceAndTheTokenIsSamplesToken(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int rows = 5;
        int topN = 7;
        for (int v : new int[] {13, 301, 4099}) {
            float[] x = SelectionTest.rows(v * 3L, rows, v);
            SamplingFilters b = SamplingFilters.temperature(0.8f);
            for (SamplingFilters f : List.of(SamplingFilters.temperature(1f), b.topK(Math.min(40, v)).topP(0.9f), b.minP(0.05f),
                    b.typical(0.9f), b.topK(Math.min(20, v)).dynamicTemperature(0.5f, 1.5f, 1f).eta(1e-3f), b.xtc(0.1f, 1f))) {
                long[] seeds = {3, 1, 4, 1, 5};
                int[] tokens = new int[rows];
                int[] ids = new int[rows * topN];
                float[] top = new float[rows * topN];
                int[] rank = new int[rows];
                float[] raw = new float[rows];
                float[] processed = new float[rows];
                ek.decoding().sampleWithLogprobs(Tensor.of(x, rows, v), f, seeds, 11, Tensor.of(tokens), topN,
                        Tensor.of(ids, rows, topN),
                        Tensor.of(top, rows, topN), Tensor.of(rank), Tensor.of(raw), Tensor.of(processed));
                int[] sampled = new int[rows];
                ek.decoding().sample(Tensor.of(x, rows, v), f, seeds, 11, Tensor.of(sampled));
                String at = backend + " V=" + v + " " + f;
                assertArrayEquals(sampled, tokens, at + ": the same token as sample");
                for (int r = 0; r < rows; r++) {
                    int off = r * v;
                    double[] lp = logSoftmax(x, off, v);
                    int t = tokens[r];
                    int count = 0;
                    for (int i = 0; i < v; i++) {
                        count += x[off + i] >= x[off + t] ? 1 : 0;
                    }
                    assertEquals(count, rank[r], at + " rank, row " + r);
                    close(lp[t], raw[r], at + " raw log-prob, row " + r);
                    double[] q = f.filters().stream().anyMatch(s -> s.kind() == SamplingFilters.Kind.XTC)
                            ? SelectionReference.keptProbabilities(x, off, v, f, dev.entrokit.internal.Philox.secondUniform(seeds[r], r, 11))
                            : SelectionReference.keptProbabilities(x, off, v, f);
                    close(Math.log(q[t]), processed[r], at + " processed log-prob, row " + r);
                    List<Integer> order = SelectionReference.logitOrder(x, off, v);
                    for (int j = 0; j < topN; j++) {
                        assertEquals(order.get(j), ids[r * topN + j], at + " top id " + j + ", row " + r);
                        close(lp[order.get(j)], top[r * topN + j], at + " top log-prob " + j + ", row " + r);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void greedyAndSpecialRows(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = {1f, 3f, 3f, -1f, Float.NaN, 0f, 0f, 0f};
        int[] tokens = new int[2];
        int[] ids = new int[4];
        float[] top = new float[4];
        int[] rank = new int[2];
        float[] raw = new float[2];
        float[] processed = new float[2];
        ek.decoding().sampleWithLogprobs(Tensor.of(x, 2, 4), SamplingFilters.temperature(0f), new long[] {1, 2}, 0,
                Tensor.of(tokens), 2,
                Tensor.of(ids, 2, 2), Tensor.of(top, 2, 2), Tensor.of(rank), Tensor.of(raw), Tensor.of(processed));
        assertArrayEquals(new int[] {1, -1}, tokens);
        assertEquals(2, rank[0], "two logits reach the tied maximum");
        assertEquals(0f, processed[0], "greedy: the chosen token has all the mass");
        close(Math.log(Math.exp(3) / (Math.exp(1) + 2 * Math.exp(3) + Math.exp(-1))), raw[0], "raw");
        assertArrayEquals(new int[] {1, 2, -1, -1}, ids);
        assertEquals(0, rank[1]);
        assertTrue(Float.isNaN(raw[1]) && Float.isNaN(processed[1]) && Float.isNaN(top[2]) && Float.isNaN(top[3]));
        // topN = 0 needs no top outputs.
        ek.decoding().sampleWithLogprobs(Tensor.of(x, 2, 4), SamplingFilters.temperature(1f).topK(2),
                new long[] {1, 2}, 0,
                Tensor.of(tokens), 0, null, null, Tensor.of(rank), Tensor.of(raw), Tensor.of(processed));
        assertTrue(tokens[0] == 1 || tokens[0] == 2);
        close(Math.log(0.5), processed[0], "two tied tokens kept");
    }

    @Test
    void badArgumentsAreRefusedNamingThem() {
        Entrokit ek = TestBackends.scalarReference();
        Tensor x = Tensor.of(SelectionTest.rows(1, 2, 10), 2, 10);
        SamplingFilters f = SamplingFilters.temperature(1f);
        Tensor tok = Tensor.of(new int[2]);
        Tensor rank = Tensor.of(new int[2]);
        Tensor raw = Tensor.of(new float[2]);
        Tensor proc = Tensor.of(new float[2]);
        SelectionTest.refused("topN", () -> ek.decoding().sampleWithLogprobs(x, f, new long[2], 0, tok, 11,
                Tensor.of(new int[22], 2, 11), Tensor.of(new float[22], 2, 11), rank, raw, proc));
        SelectionTest.refused("topN", () -> ek.decoding().sampleWithLogprobs(x, f, new long[2], 0, tok, -1, null, null,
                rank, raw, proc));
        SelectionTest.refused("topIdsOut", () -> ek.decoding().sampleWithLogprobs(x, f, new long[2], 0, tok, 3,
                Tensor.of(new float[6], 2, 3), Tensor.of(new float[6], 2, 3), rank, raw, proc));
        SelectionTest.refused("rankOut", () -> ek.decoding().sampleWithLogprobs(x, f, new long[2], 0, tok, 0, null,
                null, raw, raw, proc));
        SelectionTest.refused("seeds", () -> ek.decoding().sampleWithLogprobs(x, f, new long[1], 0, tok, 0, null, null,
                rank, raw, proc));
        SelectionTest.refused("processedLogprobOut", () -> ek.decoding().sampleWithLogprobs(x, f, new long[2], 0, tok,
                0, null, null, rank, raw, raw));
    }
}
