package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Top-k, top-p, min-p, top-H and their composition against {@link SelectionReference}, on every backend. */
class SelectionTest {
    static final float NEG = Float.NEGATIVE_INFINITY;

    /** Random rows with a few -inf, odd V, so no cumulative sum sits near a threshold by chance. */
    static float[] rows(long seed, int r, int v) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[r * v];
        for (int i = 0; i < x.length; i++) {
            x[i] = rnd.nextInt(50) == 0 ? NEG : (float) (3 * rnd.nextGaussian());
        }
        return x;
    }

    static boolean[] mask(Entrokit ek, float[] x, int r, int v, SamplingFilters f) {
        byte[] m = new byte[r * v];
        ek.decoding().keptMask(Tensor.of(x, r, v), f, Tensor.ofMask(m, r, v));
        boolean[] b = new boolean[m.length];
        for (int i = 0; i < m.length; i++) {
            assertTrue(m[i] == 0 || m[i] == 1, "mask byte " + m[i]);
            b[i] = m[i] == 1;
        }
        return b;
    }

    static void assertMaskMatchesReference(Entrokit ek, float[] x, int r, int v, SamplingFilters f) {
        boolean[] got = mask(ek, x, r, v, f);
        for (int row = 0; row < r; row++) {
            boolean[] want = SelectionReference.mask(x, row * v, v, f);
            assertArrayEquals(want, Arrays.copyOfRange(got, row * v, row * v + v), f + " row " + row);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void topKMatchesTheReference(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int r = 5;
        int v = 257;
        float[] x = rows(1, r, v);
        for (int k : new int[] {1, 7, 100, v}) {
            for (float t : new float[] {1f, 0.7f, 2.5f}) {
                int[] idx = new int[r * k];
                float[] val = new float[r * k];
                float[] prob = new float[r * k];
                ek.decoding().topK(Tensor.of(x, r, v), k, t, Tensor.of(idx, r, k), Tensor.of(val, r, k),
                        Tensor.of(prob, r, k));
                for (int row = 0; row < r; row++) {
                    double[] p = SelectionReference.probs(x, row * v, v, t);
                    List<Integer> order = SelectionReference.order(p);
                    for (int j = 0; j < k; j++) {
                        int i = order.get(j);
                        String at = "k=" + k + " T=" + t + " [" + row + "," + j + "]";
                        assertEquals(i, idx[row * k + j], at);
                        assertEquals(x[row * v + i], val[row * k + j], at);
                        assertEquals(p[i], prob[row * k + j], 1e-6 + 1e-5 * p[i], at);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void tiesStraddlingKGoByAscendingIndexAndMaskedTokensComeLast(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = {0f, 3f, NEG, 3f, 1f, 3f, 3f, NEG, 3f, -0f};
        int[] idx = new int[10];
        float[] val = new float[10];
        float[] prob = new float[10];
        ek.decoding().topK(Tensor.of(x, 1, 10), 10, 1f, Tensor.of(idx, 1, 10), Tensor.of(val, 1, 10), Tensor.of(prob,
                1, 10));
        // -0 and 0 are equal logits, so they tie by index; -inf tokens (probability 0) come last.
        assertArrayEquals(new int[] {1, 3, 5, 6, 8, 4, 0, 9, 2, 7}, idx);
        assertEquals(0f, prob[8]);
        assertEquals(NEG, val[9]);
        int[] three = new int[3];
        ek.decoding().topK(Tensor.of(x, 1, 10), 3, 1f, Tensor.of(three, 1, 3), Tensor.of(new float[3], 1, 3),
                Tensor.of(new float[3], 1, 3));
        assertArrayEquals(new int[] {1, 3, 5}, three);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void tiesStraddlingTheTopPCutKeepTheLowerIndices(String backend) {
        Entrokit ek = TestBackends.open(backend);
        // Five equal logits (indices 1,2,4,6,7) and one far below: each tie holds ~0.2 of the mass, so
        // p = 0.5 crosses on the third of them, well away from any threshold.
        float[] x = {-10f, 2f, 2f, -10f, 2f, -10f, 2f, 2f};
        boolean[] m = mask(ek, x, 1, 8, SamplingFilters.temperature(1f).topP(0.5f));
        assertArrayEquals(new boolean[] {false, true, true, false, true, false, false, false}, m);
        assertMaskMatchesReference(ek, x, 1, 8, SamplingFilters.temperature(1f).topP(0.5f));
        // min_p with r = 1 keeps every tied maximum.
        assertArrayEquals(new boolean[] {false, true, true, false, true, false, true, true},
                mask(ek, x, 1, 8, SamplingFilters.temperature(1f).minP(1f)));
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void filtersMatchTheReferenceOnRandomRows(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int r = 6;
        int v = 301;
        float[] x = rows(2, r, v);
        for (float t : new float[] {1f, 0.6f}) {
            SamplingFilters base = SamplingFilters.temperature(t);
            // p = 1 is left to a hand-made row: on these rows the last tokens' probabilities are below
            // float64 rounding of the cumulative sum, which SPEC §5 leaves undecided.
            for (SamplingFilters f : List.of(base.topP(0.9f), base.topP(0.3f), base.topP(0.999f), base.minP(0.05f),
                    base.minP(1f), base.topH(0.4f), base.topH(1f), base.topH(0.4f, 100, TopHMode.NORMALIZED),
                    base.topH(0.7f, 20, TopHMode.NORMALIZED), base.topH(1f, 20, TopHMode.NORMALIZED),
                    base.topK(50).topP(0.9f), base.topP(0.9f).topK(50), base.topK(40).minP(0.1f).topH(0.5f),
                    base.minP(0.02f).topP(0.8f).topK(3))) {
                assertMaskMatchesReference(ek, x, r, v, f);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void topPOfOneKeepsEveryPositiveProbabilityAndAlphaOneKeepsTheFirstN(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = {1f, NEG, 0.5f, 2f, NEG, -1f};
        assertArrayEquals(new boolean[] {true, false, true, true, false, true},
                mask(ek, x, 1, 6, SamplingFilters.temperature(1f).topP(1f)));
        // α = 1: S(m) ≤ S(n) for every m ≤ n, so PAPER keeps the first n = min(n, live) in order.
        float[] y = rows(3, 1, 150);
        boolean[] m = mask(ek, y, 1, 150, SamplingFilters.temperature(1f).topH(1f));
        List<Integer> order = SelectionReference.order(SelectionReference.probs(y, 0, 150, 1));
        for (int j = 0; j < 150; j++) {
            assertEquals(j < 100 && y[order.get(j)] != NEG, m[order.get(j)], "position " + j);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void oneHotRowsKeepOnlyTheirToken(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = new float[33];
        Arrays.fill(x, NEG);
        x[17] = 4f;
        boolean[] want = new boolean[33];
        want[17] = true;
        SamplingFilters base = SamplingFilters.temperature(1f);
        for (SamplingFilters f : List.of(base.topP(0.5f), base.topP(1f), base.minP(0.5f), base.topK(1))) {
            assertArrayEquals(want, mask(ek, x, 1, 33, f), f.toString());
        }
        // Top-H on a one-hot row: S(m) = 0 = τ for every m, so the formula alone would keep the first
        // min(n, V) in order; SPEC §2 keeps the masked ones out whatever the formula says.
        for (SamplingFilters f : List.of(base.topH(0.5f), base.topH(1f, 5, TopHMode.NORMALIZED))) {
            assertMaskMatchesReference(ek, x, 1, 33, f);
            assertArrayEquals(want, mask(ek, x, 1, 33, f), f.toString());
            int[] t = new int[1];
            ek.decoding().sample(Tensor.of(x, 1, 33), f, new long[] {3}, 1, Tensor.of(t));
            assertEquals(17, t[0], f.toString());
        }
        int[] tok = new int[1];
        ek.decoding().sample(Tensor.of(x, 1, 33), base.topP(0.9f), new long[] {5}, 0, Tensor.of(tok));
        assertEquals(17, tok[0]);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void topHWithZeroProbabilitiesInTheFirstNAndVBelowN(String backend) {
        Entrokit ek = TestBackends.open(backend);
        // V = 40 < 100 and 30 masked tokens: the first n in order include probability 0 (0·log 0 = 0).
        int v = 40;
        float[] x = new float[v];
        Arrays.fill(x, NEG);
        SplittableRandom rnd = new SplittableRandom(4);
        for (int i = 0; i < 10; i++) {
            x[rnd.nextInt(v)] = (float) rnd.nextGaussian();
        }
        long live = IntStream.range(0, v).filter(i -> x[i] != NEG).count();
        for (TopHMode mode : TopHMode.values()) {
            for (float alpha : new float[] {0.1f, 0.5f, 0.9f, 1f}) {
                SamplingFilters f = SamplingFilters.temperature(1f).topH(alpha, 100, mode);
                assertMaskMatchesReference(ek, x, 1, v, f);
                boolean[] m = mask(ek, x, 1, v, f);
                int count = 0;
                for (int i = 0; i < v; i++) {
                    count += m[i] ? 1 : 0;
                    // At α = 1 the formula alone would keep all min(n, V) = V (zeros add 0 to S);
                    // SPEC §2 never keeps a masked token.
                    assertFalse(m[i] && x[i] == NEG, "kept a masked token at " + i);
                }
                assertTrue(count >= 1);
                if (alpha == 1f) {
                    assertEquals(live, count);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void theTwoTopHModesDifferWhereMassLiesBeyondN(String backend) {
        Entrokit ek = TestBackends.open(backend);
        // A flat tail beyond n = 10 holds most of the mass: PAPER's τ = α·S(n) uses unnormalized p,
        // NORMALIZED renormalizes the first 10 first.
        int v = 200;
        float[] x = new float[v];
        for (int i = 0; i < v; i++) {
            x[i] = i < 10 ? 3f - 0.4f * i : -0.5f + 0.001f * i;
        }
        SamplingFilters paper = SamplingFilters.temperature(1f).topH(0.6f, 10, TopHMode.PAPER);
        SamplingFilters normalized = SamplingFilters.temperature(1f).topH(0.6f, 10, TopHMode.NORMALIZED);
        assertMaskMatchesReference(ek, x, 1, v, paper);
        assertMaskMatchesReference(ek, x, 1, v, normalized);
        assertFalse(Arrays.equals(mask(ek, x, 1, v, paper), mask(ek, x, 1, v, normalized)));
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void topPMinPTopHShortcutsEqualThePipeline(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int r = 3;
        int v = 129;
        float[] x = rows(5, r, v);
        byte[] m = new byte[r * v];
        ek.decoding().topP(Tensor.of(x, r, v), 0.8f, 0.9f, Tensor.ofMask(m, r, v));
        assertArrayEquals(toBytes(mask(ek, x, r, v, SamplingFilters.temperature(0.9f).topP(0.8f))), m);
        ek.decoding().minP(Tensor.of(x, r, v), 0.1f, 1.2f, Tensor.ofMask(m, r, v));
        assertArrayEquals(toBytes(mask(ek, x, r, v, SamplingFilters.temperature(1.2f).minP(0.1f))), m);
        ek.decoding().topH(Tensor.of(x, r, v), 0.5f, 30, TopHMode.NORMALIZED, 1f, Tensor.ofMask(m, r, v));
        assertArrayEquals(toBytes(mask(ek, x, r, v, SamplingFilters.temperature(1f).topH(0.5f, 30, TopHMode.NORMALIZED))), m);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void maskedLogitsKeepTheKeptLogitsAndMayAliasTheInput(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int r = 4;
        int v = 97;
        float[] x = rows(6, r, v);
        SamplingFilters f = SamplingFilters.temperature(0.8f).topK(20).topP(0.7f);
        float[] out = new float[r * v];
        ek.decoding().maskLogits(Tensor.of(x, r, v), f, Tensor.of(out, r, v));
        boolean[] m = mask(ek, x, r, v, f);
        for (int i = 0; i < r * v; i++) {
            assertEquals(m[i] ? x[i] : NEG, out[i], "element " + i);
        }
        float[] inPlace = x.clone();
        ek.decoding().maskLogits(Tensor.of(inPlace, r, v), f, Tensor.of(inPlace, r, v));
        assertArrayEquals(out, inPlace);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void specialRowsHaveNoSelection(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int v = 5;
        float[] x = {1f, Float.NaN, 2f, 0f, 0f, 1f, Float.POSITIVE_INFINITY, 0f, 0f, 0f, NEG, NEG, NEG, NEG, NEG,
                0f, 1f, 2f, 3f, 4f};
        int r = 4;
        SamplingFilters f = SamplingFilters.temperature(1f).topP(0.9f);
        boolean[] m = mask(ek, x, r, v, f);
        for (int i = 0; i < 3 * v; i++) {
            assertFalse(m[i], "special rows keep nothing: " + i);
        }
        assertTrue(m[3 * v + 4]);
        float[] out = new float[r * v];
        ek.decoding().maskLogits(Tensor.of(x, r, v), f, Tensor.of(out, r, v));
        for (int i = 0; i < 3 * v; i++) {
            assertTrue(Float.isNaN(out[i]), "special rows give NaN logits: " + i);
        }
        int[] idx = new int[r * 2];
        float[] val = new float[r * 2];
        float[] prob = new float[r * 2];
        ek.decoding().topK(Tensor.of(x, r, v), 2, 1f, Tensor.of(idx, r, 2), Tensor.of(val, r, 2), Tensor.of(prob, r,
                2));
        assertArrayEquals(new int[] {-1, -1, -1, -1, -1, -1, 4, 3}, idx);
        assertTrue(Float.isNaN(val[0]) && Float.isNaN(prob[5]));
        int[] tok = new int[r];
        ek.decoding().sample(Tensor.of(x, r, v), f, new long[] {1, 2, 3, 4}, 0, Tensor.of(tok));
        assertArrayEquals(new int[] {-1, -1, -1, tok[3]}, tok);
        ek.decoding().sample(Tensor.of(x, r, v), SamplingFilters.temperature(0f), new long[] {1, 2, 3, 4}, 0,
                Tensor.of(tok));
        assertArrayEquals(new int[] {-1, -1, -1, 4}, tok);
    }

    @Test
    void badParametersAreRefusedNamingThem() {
        Entrokit ek = TestBackends.scalarReference();
        float[] x = rows(7, 2, 10);
        Tensor logits = Tensor.of(x, 2, 10);
        Tensor mask = Tensor.ofMask(new byte[20], 2, 10);
        refused("k", () -> ek.decoding().topK(logits, 0, 1f, Tensor.of(new int[0], 2, 0), Tensor.of(new float[0], 2, 0),
                Tensor.of(new float[0], 2, 0)));
        refused("k", () -> ek.decoding().topK(logits, 11, 1f, Tensor.of(new int[22], 2, 11), Tensor.of(new float[22],
                2, 11), Tensor.of(new float[22], 2, 11)));
        refused("indicesOut", () -> ek.decoding().topK(logits, 3, 1f, Tensor.of(new int[4], 2, 2),
                Tensor.of(new float[6], 2, 3), Tensor.of(new float[6], 2, 3)));
        refused("valuesOut", () -> ek.decoding().topK(logits, 3, 1f, Tensor.of(new int[6], 2, 3), Tensor.of(new int[6],
                2, 3), Tensor.of(new float[6], 2, 3)));
        refused("temperature", () -> ek.decoding().topK(logits, 3, 0f, Tensor.of(new int[6], 2, 3),
                Tensor.of(new float[6], 2, 3), Tensor.of(new float[6], 2, 3)));
        for (float p : new float[] {0f, -0.1f, 1.01f, Float.NaN}) {
            refused("p", () -> ek.decoding().topP(logits, p, 1f, mask));
            refused("min_p", () -> ek.decoding().minP(logits, p, 1f, mask));
            refused("alpha", () -> ek.decoding().topH(logits, p, 100, TopHMode.PAPER, 1f, mask));
        }
        refused("n", () -> ek.decoding().topH(logits, 0.5f, 0, TopHMode.PAPER, 1f, mask));
        refused("mode", () -> ek.decoding().topH(logits, 0.5f, 10, null, 1f, mask));
        refused("temperature", () -> ek.decoding().topP(logits, 0.5f, 0f, mask));
        refused("temperature", () -> ek.decoding().keptMask(logits, SamplingFilters.temperature(0f), mask));
        // A temperature whose 2·log2(e)/T overflows float is refused by every op, as topK refuses it: the SIMD
        // sampler once read such a row as special (0 · inf in its shift) and returned -1.
        refused("temperature", () -> ek.decoding().sample(logits, SamplingFilters.temperature(5e-39f), new long[2], 0,
                Tensor.of(new int[2])));
        refused("temperature", () -> ek.decoding().keptMask(logits, SamplingFilters.temperature(1e-39f).minP(0.5f),
                mask));
        refused("temperature", () -> SamplingFilters.temperature(-1f));
        refused("temperature", () -> SamplingFilters.temperature(Float.NaN));
        refused("k", () -> SamplingFilters.temperature(1f).topK(0));
        refused("k", () -> ek.decoding().keptMask(logits, SamplingFilters.temperature(1f).topK(11), mask));
        refused("maskOut", () -> ek.decoding().keptMask(logits, SamplingFilters.temperature(1f),
                Tensor.ofMask(new byte[10], 1, 10)));
        refused("maskOut", () -> ek.decoding().keptMask(logits, SamplingFilters.temperature(1f), logits));
        Tensor tok = Tensor.of(new int[2]);
        refused("seeds", () -> ek.decoding().sample(logits, SamplingFilters.temperature(1f), new long[1], 0, tok));
        refused("tokensOut", () -> ek.decoding().sample(logits, SamplingFilters.temperature(1f), new long[2], 0,
                Tensor.of(new int[1])));
        refused("filtersPerRow", () -> ek.decoding().sample(logits, List.of(SamplingFilters.temperature(1f)),
                new long[2], 0, tok));
        refused("filters", () -> ek.decoding().sample(logits, (SamplingFilters) null, new long[2], 0, tok));
        refused("logits", () -> ek.decoding().sample(null, SamplingFilters.temperature(1f), new long[2], 0, tok));
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void kBeyondVIsRefusedUpFrontByEveryOp(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = rows(8, 3, 8);
        Tensor logits = Tensor.of(x, 3, 8);
        for (int k : new int[] {9, 536870912, 1073741824, Integer.MAX_VALUE}) {
            String want = "k: must be in [1, V = 8], got " + k;
            int[] idx = new int[24];
            float[] val = new float[24];
            float[] out = new float[24];
            byte[] m = new byte[24];
            int[] tok = {7, 7, 7};
            Arrays.fill(idx, 7);
            SamplingFilters f = SamplingFilters.temperature(1f).topP(0.9f).topK(k);
            List<Runnable> calls = List.of(
                    () -> ek.decoding().topK(logits, k, 1f, Tensor.of(idx, 3, 8), Tensor.of(val, 3, 8), Tensor.of(out,
                            3, 8)),
                    () -> ek.decoding().topK(logits, k, 1f, Tensor.of(idx, 3, 8), Tensor.of(val, 3, 8), null),
                    () -> ek.decoding().keptMask(logits, f, Tensor.ofMask(m, 3, 8)),
                    () -> ek.decoding().keptTokens(logits, f, Tensor.of(idx, 3, 8), Tensor.of(out, 3, 8),
                            Tensor.of(tok)),
                    () -> ek.decoding().maskLogits(logits, f, Tensor.of(out, 3, 8)),
                    () -> ek.decoding().sample(logits, f, new long[3], 0, Tensor.of(tok)),
                    () -> ek.decoding().sample(logits, List.of(SamplingFilters.temperature(1f), f,
                            SamplingFilters.temperature(0f)), new long[3], 0, Tensor.of(tok)));
            for (Runnable call : calls) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
                assertEquals(want, e.getMessage());
            }
            // Refused before any work: nothing was written.
            assertTrue(Arrays.stream(idx).allMatch(i -> i == 7) && Arrays.equals(tok, new int[] {7, 7, 7}));
            assertArrayEquals(new float[24], out);
            assertArrayEquals(new byte[24], m);
        }
    }

    static void refused(String name, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().startsWith(name + ":"), "expected a message about " + name + ", got: " + e.getMessage());
    }

    static byte[] toBytes(boolean[] b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = (byte) (b[i] ? 1 : 0);
        }
        return out;
    }

}
