package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.internal.Philox;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * XTC (llama.cpp's "exclude top choices") inside sampling pipelines: its draw is
 * {@link Philox#secondUniform}, keyed like the sampler's, and the token then follows SPEC §2's sampler
 * on what is left. Checked against {@link SelectionReference} with the same draws, on every backend.
 */
@Tag("simd-width")
class XtcTest {

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void sampledTokensFollowTheReference(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int fired = 0;
        int compared = 0;
        for (int v : new int[] {301, 5003}) {
            int rows = 3;
            float[] x = SelectionTest.rows(v + 1, rows, v);
            SamplingFilters b = SamplingFilters.temperature(0.7f);
            for (SamplingFilters f : List.of(b.topK(50).xtc(0.1f, 0.5f), b.minP(0.02f).xtc(0.05f, 1f),
                    b.topP(0.9f).xtc(0.2f, 0.7f, 3), b.xtc(0.1f, 1f), b.eta(1e-3f).xtc(0.1f, 0.8f).typical(0.9f))) {
                for (long step = 0; step < 12; step++) {
                    long[] seeds = {step + 1, 2 * step + 7, 99};
                    int[] tokens = new int[rows];
                    ek.decoding().sample(Tensor.of(x, rows, v), f, seeds, step, Tensor.of(tokens));
                    for (int r = 0; r < rows; r++) {
                        double chance = Philox.secondUniform(seeds[r], r, step);
                        if (SelectionReference.margin(x, r * v, v, f, chance) < 1e-6) {
                            continue;
                        }
                        double[] q = SelectionReference.keptProbabilities(x, r * v, v, f, chance);
                        double[] without = SelectionReference.keptProbabilities(x, r * v, v, f, 2.0); // above every probability: never fires
                        fired += java.util.Arrays.equals(q, without) ? 0 : 1;
                        assertEquals(MirostatTest.draw(q, Philox.uniform(seeds[r], r, step)), tokens[r],
                                backend + " V=" + v + " " + f + " step " + step + " row " + r);
                        compared++;
                    }
                }
            }
        }
        assertTrue(compared > 300 && fired > 50, compared + " compared, XTC fired on " + fired);
    }

    /**
     * XTC alone over long rows whose top few tokens pass the threshold: the SIMD backend decides these without
     * ranking the row (the top gathered, the rest sampled around them), so the draws must still be the
     * reference's, never a masked token, whether XTC fires, does not, or leaves too few for {@code min_keep}.
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void aloneOnLongRowsFollowsTheReference(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int v = 40_009;
        int rows = 4;
        float[] x = SelectionTest.rows(17, rows, v);
        for (int r = 0; r < rows; r++) { // a few dominant tokens, one of them tied with another, one masked among them
            x[r * v + 11 * r + 5] = 16f;
            x[r * v + 31_000 - r] = 15.5f;
            x[r * v + 20_000] = 15.5f;
            x[r * v + 7 + r] = 15f;
            x[r * v + 39_999] = Float.NEGATIVE_INFINITY;
        }
        int fired = 0;
        int compared = 0;
        for (SamplingFilters f : List.of(SamplingFilters.temperature(1f).xtc(0.1f, 1f),
                SamplingFilters.temperature(0.8f).xtc(0.2f, 0.5f), SamplingFilters.temperature(1.3f).xtc(0.05f, 1f, 40_000),
                SamplingFilters.temperature(1f).xtc(0.6f, 1f))) {
            for (long step = 0; step < 10; step++) {
                long[] seeds = {step, step + 100, 3 * step + 1, 77};
                int[] tokens = new int[rows];
                ek.decoding().sample(Tensor.of(x, rows, v), f, seeds, step, Tensor.of(tokens));
                for (int r = 0; r < rows; r++) {
                    assertTrue(tokens[r] >= 0 && x[r * v + tokens[r]] != Float.NEGATIVE_INFINITY,
                            backend + " " + f + " drew " + tokens[r]);
                    double chance = Philox.secondUniform(seeds[r], r, step);
                    if (SelectionReference.margin(x, r * v, v, f, chance) < 1e-6) {
                        continue;
                    }
                    double[] q = SelectionReference.keptProbabilities(x, r * v, v, f, chance);
                    double[] without = SelectionReference.keptProbabilities(x, r * v, v, f, 2.0);
                    fired += java.util.Arrays.equals(q, without) ? 0 : 1;
                    assertEquals(MirostatTest.draw(q, Philox.uniform(seeds[r], r, step)), tokens[r],
                            backend + " " + f + " step " + step + " row " + r);
                    compared++;
                }
            }
        }
        assertTrue(compared > 120 && fired > 30, compared + " compared, XTC fired on " + fired);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void handWorkedRow(String backend) {
        Entrokit ek = TestBackends.open(backend);
        // p = (0.4, 0.3, 0.2, 0.1): at threshold 0.25 tokens 0 and 1 pass; XTC drops token 0, keeps 1 (the
        // least likely that passes) and the rest. At 0.6 nothing fires; with min_keep 4 too few would remain.
        float[] x = {(float) Math.log(4), (float) Math.log(3), (float) Math.log(2), 0f};
        int n = 400;
        float[] batch = new float[n * 4];
        long[] seeds = new long[n];
        for (int r = 0; r < n; r++) {
            System.arraycopy(x, 0, batch, 4 * r, 4);
            seeds[r] = r;
        }
        int[] counts = counts(ek, batch, SamplingFilters.temperature(1f).xtc(0.25f, 1f), seeds);
        assertEquals(0, counts[0], "token 0 is excluded every time");
        assertTrue(counts[1] > 0 && counts[2] > 0 && counts[3] > 0);
        for (SamplingFilters f : List.of(SamplingFilters.temperature(1f).xtc(0.6f, 1f),
                SamplingFilters.temperature(1f).xtc(0.25f, 1f, 4), SamplingFilters.temperature(1f).xtc(0.25f, 0f))) {
            assertTrue(counts(ek, batch, f, seeds)[0] > 100, f + " never fires: token 0 is drawn about 40% of the time");
        }
        // Probability 0.5: token 0 is drawn only where the draw did not fire (about 0.5 · 0.4 of the rows).
        int[] half = counts(ek, batch, SamplingFilters.temperature(1f).xtc(0.25f, 0.5f), seeds);
        assertTrue(half[0] > 40 && half[0] < 120, "token 0 drawn " + half[0] + " times of " + n);
    }

    private static int[] counts(Entrokit ek, float[] batch, SamplingFilters f, long[] seeds) {
        int[] tokens = new int[seeds.length];
        ek.decoding().sample(Tensor.of(batch, seeds.length, 4), f, seeds, 3, Tensor.of(tokens));
        int[] c = new int[4];
        for (int t : tokens) {
            c[t]++;
        }
        return c;
    }

    @Test
    void refusedWhereThereIsNoDrawAndOutOfRange() {
        Entrokit ek = TestBackends.scalarReference();
        float[] x = SelectionTest.rows(3, 2, 10);
        SamplingFilters f = SamplingFilters.temperature(1f).xtc(0.1f, 0.5f);
        SelectionTest.refused("filters", () -> ek.decoding().keptMask(Tensor.of(x, 2, 10), f,
                Tensor.ofMask(new byte[20], 2, 10)));
        SelectionTest.refused("filters", () -> ek.decoding().maskLogits(Tensor.of(x, 2, 10), f,
                Tensor.of(new float[20], 2, 10)));
        SelectionTest.refused("filters", () -> ek.decoding().keptTokens(Tensor.of(x, 2, 10), f, Tensor.of(new int[20],
                2, 10), Tensor.of(new float[20], 2, 10), Tensor.of(new int[2])));
        SelectionTest.refused("xtc_threshold", () -> SamplingFilters.temperature(1f).xtc(-0.1f, 0.5f));
        SelectionTest.refused("xtc_threshold", () -> SamplingFilters.temperature(1f).xtc(Float.NaN, 0.5f));
        SelectionTest.refused("xtc_probability", () -> SamplingFilters.temperature(1f).xtc(0.1f, 1.5f));
        SelectionTest.refused("min_tokens_to_keep", () -> SamplingFilters.temperature(1f).xtc(0.1f, 0.5f, 0));
        // Mirostat takes it: its draw is the sampler's.
        int[] tok = new int[2];
        ek.decoding().mirostatV2(Tensor.of(x, 2, 10), f, 3f, 0.1f, new float[] {6f, 6f}, new long[] {1, 2}, 0,
                Tensor.of(tok));
        assertTrue(tok[0] >= 0 && tok[1] >= 0);
    }
}
