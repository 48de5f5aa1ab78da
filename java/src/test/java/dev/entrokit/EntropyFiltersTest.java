package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The entropy-shaped steps of SPEC §2 (typical, ε, η, top-nσ, dynamic temperature, each with
 * {@code min_tokens_to_keep}) against {@link SelectionReference} on every backend: kept sets, their
 * renormalized probabilities, and hand-worked rows whose answer follows from the definitions.
 * Equivalence of simd and scalar on the adversarial rows is in {@link SelectionSimdVsScalarTest}.
 */
@Tag("simd-width")
class EntropyFiltersTest {
    private static final float NEG = Float.NEGATIVE_INFINITY;

    /** The entropy-shaped pipelines, alone, with min_tokens_to_keep, and composed with the prefix filters. */
    static List<SamplingFilters> pipelines(int v, float t) {
        SamplingFilters b = SamplingFilters.temperature(t);
        return List.of(b.typical(0.9f), b.typical(0.5f), b.typical(0.2f, 5), b.typical(1f),
                b.epsilon(3e-4f), b.epsilon(0.05f), b.epsilon(0.9f, 3),
                b.eta(3e-4f), b.eta(0.02f), b.eta(0.5f, 4),
                b.topNSigma(1f), b.topNSigma(0f), b.topNSigma(2.5f, 6),
                b.dynamicTemperature(0.5f, 1.5f, 1f), b.dynamicTemperature(0f, 2f, 0.5f).topP(0.9f),
                b.topK(Math.min(50, v)).typical(0.9f), b.topP(0.95f).eta(1e-3f), b.minP(0.02f).topNSigma(1.5f),
                b.epsilon(1e-4f).typical(0.8f).topK(Math.min(7, v)), b.topNSigma(2f).dynamicTemperature(0.3f, 1.2f, 2f),
                b.dynamicTemperature(0.7f, 0.7f, 1f).minP(0.05f), b.typical(0.95f).topP(0.9f).epsilon(1e-3f),
                b.mirostat(4f), b.mirostat(0.5f), b.topK(Math.min(50, v)).mirostat(2f));
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void keptSetsAndProbabilitiesMatchTheReference(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int checked = 0;
        for (int v : new int[] {1, 2, 17, 301, 5003}) {
            int r = 4;
            float[] x = SelectionTest.rows(v, r, v);
            for (float t : v > 1000 ? new float[] {0.6f} : new float[] {1f, 0.6f, 2f}) { // the oracle is slow
                for (SamplingFilters f : pipelines(v, t)) {
                    for (int row = 0; row < r; row++) {
                        if (SelectionReference.margin(x, row * v, v, f) < 1e-6) {
                            continue; // SPEC §5: a statistic within 1e-6 of its threshold leaves the row undecided
                        }
                        checkRow(ek, Arrays.copyOfRange(x, row * v, row * v + v), f, backend + " V=" + v + " row " + row + " " + f);
                        checked++;
                    }
                }
            }
        }
        assertTrue(checked > 1000, "only " + checked + " rows were decided");
    }

    /** Mask, kept tokens and their probabilities, masked logits and a sample, against the reference. */
    static void checkRow(Entrokit ek, float[] x, SamplingFilters f, String at) {
        int v = x.length;
        boolean[] want = SelectionReference.mask(x, 0, v, f);
        assertArrayEquals(want, SelectionTest.mask(ek, x, 1, v, f), at + " mask");
        List<Integer> order = SelectionReference.kept(x, 0, v, f);
        double[] q = SelectionReference.keptProbabilities(x, 0, v, f);
        int[] ids = new int[v];
        float[] probs = new float[v];
        int[] count = new int[1];
        ek.decoding().keptTokens(Tensor.of(x, 1, v), f, Tensor.of(ids, 1, v), Tensor.of(probs, 1, v), Tensor.of(count));
        assertEquals(order.size(), count[0], at + " count");
        for (int j = 0; j < v; j++) {
            if (j < count[0]) {
                assertEquals(order.get(j), ids[j], at + " kept token " + j);
                assertEquals(q[ids[j]], probs[j], 1e-6 + 1e-5 * q[ids[j]], at + " probability of " + ids[j]);
            } else {
                assertEquals(-1, ids[j], at + " slot " + j);
            }
        }
        float[] out = new float[v];
        ek.decoding().maskLogits(Tensor.of(x, 1, v), f, Tensor.of(out, 1, v));
        for (int i = 0; i < v; i++) {
            assertEquals(want[i] ? x[i] : NEG, out[i], at + " masked logit " + i);
        }
        int[] token = new int[1];
        ek.decoding().sample(Tensor.of(x, 1, v), f, new long[] {42}, 9, Tensor.of(token));
        assertTrue(token[0] >= 0 && want[token[0]] && q[token[0]] > 0, at + " sampled " + token[0]);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void handWorkedRows(String backend) {
        Entrokit ek = TestBackends.open(backend);
        // p = (0.5, 0.25, 0.125, 0.125): ε = 0.2 keeps the first two; with min_tokens_to_keep = 3 the third
        // and its tie, the fourth (Transformers keeps every logit >= the 3rd largest).
        float[] x = {(float) Math.log(4), (float) Math.log(2), 0f, 0f};
        assertKept(ek, x, SamplingFilters.temperature(1f).epsilon(0.2f), 0, 1);
        assertKept(ek, x, SamplingFilters.temperature(1f).epsilon(0.2f, 3), 0, 1, 2, 3);
        // H = 1.75 nats·(ln 2): surprises ln2·(1, 2, 3, 3), H = 1.75·ln2, keys ln2·(0.75, 0.25, 1.25, 1.25).
        // Typical order: token 1 (0.25), token 0 (0.5): 0.75 ≥ 0.7 stops there.
        assertKept(ek, x, SamplingFilters.temperature(1f).typical(0.7f), 0, 1);
        assertKept(ek, x, SamplingFilters.temperature(1f).typical(0.2f), 1);
        assertKept(ek, x, SamplingFilters.temperature(1f).typical(0.2f, 2), 0, 1);
        // Beyond 0.75 the next key is the tie (tokens 2 and 3): both are kept, with the tie at the cut.
        assertKept(ek, x, SamplingFilters.temperature(1f).typical(0.8f), 0, 1, 2, 3);
        // η = min(ε, √ε·e^{-H}): ε = 0.3, √0.3·e^{-1.75 ln 2} = 0.1629 → keeps p ≥ 0.1629: tokens 0, 1.
        assertKept(ek, x, SamplingFilters.temperature(1f).eta(0.3f), 0, 1);
        // Logits (4, 2, 0, 0): mean 1.5, σ = √(11/4) = 1.658; n = 1 keeps x ≥ 2.34: token 0 only; n = 1.3 adds 2.
        float[] y = {4f, 2f, 0f, 0f};
        assertKept(ek, y, SamplingFilters.temperature(1f).topNSigma(1f), 0);
        assertKept(ek, y, SamplingFilters.temperature(1f).topNSigma(1.3f), 0, 1);
        assertKept(ek, y, SamplingFilters.temperature(0.1f).topNSigma(1.3f), 0, 1); // the same at any temperature
        assertKept(ek, y, SamplingFilters.temperature(1f).topNSigma(0f, 2), 0, 1);
        // A masked token changes neither σ nor the count.
        assertKept(ek, new float[] {4f, NEG, 2f, 0f, 0f}, SamplingFilters.temperature(1f).topNSigma(1.3f), 0, 2);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void dynamicTemperatureFollowsTheFormula(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = {3f, 1f, 0.5f, -1f, NEG};
        double[] p = SelectionReference.probs(x, 0, x.length, 1);
        double h = 0;
        for (double pi : p) {
            h -= pi > 0 ? pi * Math.log(pi) : 0;
        }
        double t = 0.25 + (1.75 - 0.25) * Math.pow(h / Math.log(4), 1.5); // four live tokens
        double[] want = SelectionReference.probs(x, 0, x.length, t);
        float[] probs = new float[5];
        int[] ids = new int[5];
        ek.decoding().keptTokens(Tensor.of(x, 1, 5), SamplingFilters.temperature(1f).dynamicTemperature(0.25f, 1.75f,
                1.5f), Tensor.of(ids, 1, 5), Tensor.of(probs, 1, 5), Tensor.of(new int[1]));
        assertArrayEquals(new int[] {0, 1, 2, 3, -1}, ids);
        for (int j = 0; j < 4; j++) {
            assertEquals(want[j], probs[j], 1e-6 + 1e-5 * want[j], "token " + j);
        }
        // T_min = T_max: a plain temperature on top of the pipeline's; one live token: nothing changes.
        ek.decoding().keptTokens(Tensor.of(x, 1, 5), SamplingFilters.temperature(2f).dynamicTemperature(0.5f, 0.5f, 1f),
                Tensor.of(ids, 1, 5), Tensor.of(probs, 1, 5), Tensor.of(new int[1]));
        double[] atOne = SelectionReference.probs(x, 0, x.length, 1);
        for (int j = 0; j < 4; j++) {
            assertEquals(atOne[j], probs[j], 1e-6 + 1e-5 * atOne[j], "T = 2 · 0.5, token " + j);
        }
        float[] one = {NEG, 5f, NEG};
        assertKept(ek, one, SamplingFilters.temperature(1f).dynamicTemperature(0f, 1f, 1f), 1);
        // T_min = 0 on a row of two tied maxima and a token below: H/log 3 < 1, so T > 0; at κ huge T → 0,
        // the limit, where the tied maxima share the mass and the third weighs nothing.
        float[] tied = {2f, 2f, -30f};
        ek.decoding().keptTokens(Tensor.of(tied, 1, 3), SamplingFilters.temperature(1f).dynamicTemperature(0f, 1f,
                1e30f), Tensor.of(new int[3], 1, 3), Tensor.of(probs, 1, 3), Tensor.of(new int[1]));
        assertEquals(0.5f, probs[0], 1e-7);
        assertEquals(0.5f, probs[1], 1e-7);
        assertEquals(0f, probs[2]);
    }

    private static void assertKept(Entrokit ek, float[] x, SamplingFilters f, int... want) {
        List<Integer> kept = new ArrayList<>();
        boolean[] mask = SelectionTest.mask(ek, x, 1, x.length, f);
        for (int i = 0; i < x.length; i++) {
            if (mask[i]) {
                kept.add(i);
            }
        }
        assertEquals(Arrays.stream(want).boxed().toList(), kept, f.toString());
        assertEquals(kept, SelectionReference.kept(x, 0, x.length, f).stream().sorted().toList(), "reference " + f);
    }

    @Test
    void badParametersAreRefusedNamingThem() {
        SamplingFilters b = SamplingFilters.temperature(1f);
        for (float bad : new float[] {0f, -0.1f, 1.01f, Float.NaN}) {
            SelectionTest.refused("typical_p", () -> b.typical(bad));
        }
        for (float bad : new float[] {0f, 1f, -1e-3f, Float.NaN}) {
            SelectionTest.refused("epsilon", () -> b.epsilon(bad));
            SelectionTest.refused("eta", () -> b.eta(bad));
        }
        for (float bad : new float[] {-1f, Float.NaN, Float.POSITIVE_INFINITY}) {
            SelectionTest.refused("top_n_sigma", () -> b.topNSigma(bad));
            SelectionTest.refused("kappa", () -> b.dynamicTemperature(0.5f, 1f, bad));
        }
        SelectionTest.refused("min_tokens_to_keep", () -> b.typical(0.9f, 0));
        SelectionTest.refused("min_tokens_to_keep", () -> b.epsilon(0.1f, -1));
        SelectionTest.refused("min_tokens_to_keep", () -> b.eta(0.1f, 0));
        SelectionTest.refused("min_tokens_to_keep", () -> b.topNSigma(1f, 0));
        SelectionTest.refused("t_min", () -> b.dynamicTemperature(-0.1f, 1f, 1f));
        SelectionTest.refused("t_max", () -> b.dynamicTemperature(1f, 0.5f, 1f));
        SelectionTest.refused("t_max", () -> b.dynamicTemperature(0f, 0f, 1f));
        SelectionTest.refused("t_max", () -> b.dynamicTemperature(0f, Float.POSITIVE_INFINITY, 1f));
    }
}
