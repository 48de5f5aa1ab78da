package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The SPEC §4 sequence scores of packed sequences (each its own length, per-position values given, as a
 * corpus job reads them): against hand-computed values, against the fixed-shape and logits-based methods,
 * row independence (a sequence's score is the same alone and in a batch, whatever its neighbours hold),
 * and the argument checks.
 */
class PackedSequenceScoresTest {
    private static final Entrokit EK = TestBackends.scalarReference();

    private static float[] scores(int count) {
        return new float[count];
    }

    @Test
    void handComputedScores() {
        float[] lp = {-1f, -5f, -3f, -2f, -0.5f};
        float[] lpB = {-2f, -1f, -3f, -4f, -0.25f};
        int[] ids = {3, 1, 3, 2, 0};
        int[] offsets = {0, 4, 5};
        float[] out = scores(2);
        EK.scores().minKProbPacked(Tensor.of(lp), Tensor.of(offsets), 0.5f, Tensor.of(out));
        assertArrayEquals(new float[] {-4f, -0.5f}, out, "the 2 smallest of 4, and the only one of 1");
        EK.scores().likelihoodRatioPacked(Tensor.of(lp), Tensor.of(lpB), Tensor.of(offsets), Tensor.of(out));
        assertArrayEquals(new float[] {-1f, -0.25f}, out);
        float[] freq = {0.1f, 0.2f, 0.3f, 0.4f};
        EK.scores().dcpddPacked(Tensor.of(lp), Tensor.of(ids), Tensor.of(offsets), Tensor.of(freq), 0.05f,
                Tensor.of(out));
        // Sequence 0: first occurrences at 0 (id 3), 1 (id 1), 3 (id 2); position 2 repeats id 3.
        double c0 = Math.min(Math.exp(-1) * -Math.log(0.4f), 0.05);
        double c1 = Math.min(Math.exp(-5) * -Math.log(0.2f), 0.05);
        double c3 = Math.min(Math.exp(-2) * -Math.log(0.3f), 0.05);
        assertEquals((float) ((c0 + c1 + c3) / 3), out[0]);
        assertEquals((float) Math.min(Math.exp(-0.5) * -Math.log(0.1f), 0.05), out[1]);
        float[] mu = {-2f, -2f, -2f, -2f, -1f};
        float[] var = {4f, 1f, 0f, 0f, 0.25f};
        EK.scores().minKPlusPlusPacked(Tensor.of(lp), Tensor.of(mu), Tensor.of(var), Tensor.of(offsets), 0.5f,
                Tensor.of(out));
        // z = (ℓ − μ)/σ: 0.5, −3, −inf (σ = 0, ℓ < μ), 0 (σ = 0, ℓ = μ); the 2 smallest are −inf and −3.
        assertEquals(Float.NEGATIVE_INFINITY, out[0]);
        assertEquals(1f, out[1], "(−0.5 + 1)/0.5");
        EK.scores().minKPlusPlusPacked(Tensor.of(lp), Tensor.of(mu), Tensor.of(new float[] {4f, 1f, 0.25f, 0f, 0.25f}),
                Tensor.of(offsets), 0.75f, Tensor.of(out));
        assertEquals((float) ((-3 - 2 + 0) / 3.0), out[0], 1e-7f, "z = 0.5, −3, −2, 0: the 3 smallest");
    }

    @Test
    void equalLengthsGiveTheFixedShapeScoresBitwise() {
        int s = 4;
        int t = 9;
        float[] lp = new float[s * t];
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < lp.length; i++) {
            lp[i] = (float) (-8 * r.nextDouble());
        }
        int[] offsets = new int[s + 1];
        for (int q = 0; q <= s; q++) {
            offsets[q] = q * t;
        }
        for (float k : new float[] {0.1f, 0.2f, 0.5f, 1f}) {
            float[] fixed = scores(s);
            float[] packed = scores(s);
            EK.scores().minKProb(Tensor.of(lp, s, t), k, Tensor.of(fixed));
            EK.scores().minKProbPacked(Tensor.of(lp), Tensor.of(offsets), k, Tensor.of(packed));
            assertArrayEquals(fixed, packed, "k = " + k);
        }
    }

    /**
     * From logits, the per-position values a model run emits (ℓ from {@link Entrokit#tokenLogprob}, μ and σ²
     * from the float64 oracle), rounded to float32 as a Parquet column holds them: the packed scores match
     * the logits-based ones within SPEC §5's 1e-5·max(1, |ref|).
     */
    @Test
    void perPositionValuesGiveTheLogitsBasedScores() {
        int s = 3;
        int t = 11;
        int v = 50;
        float[] logits = TestLogits.batch(TestLogits.seed("packed", 1), s * t, v);
        float[] logitsB = TestLogits.studentFor(logits, TestLogits.seed("packed", 2), s * t, v);
        int[] ids = new int[s * t];
        SplittableRandom r = new SplittableRandom(9);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(v / 3); // repeats, so that DC-PDD skips some positions
        }
        float[] lp = new float[s * t];
        float[] lpB = new float[s * t];
        EK.tokenLogprob(Tensor.of(logits, s * t, v), Tensor.of(ids), Tensor.of(lp));
        EK.tokenLogprob(Tensor.of(logitsB, s * t, v), Tensor.of(ids), Tensor.of(lpB));
        float[] mu = new float[s * t];
        float[] var = new float[s * t];
        for (int p = 0; p < s * t; p++) {
            double[] row = new double[v];
            for (int j = 0; j < v; j++) {
                row[j] = logits[p * v + j];
            }
            double[] logp = Float64Oracle.logSoftmax(row, 1);
            double m1 = 0;
            double m2 = 0;
            for (double l : logp) {
                if (l == Double.NEGATIVE_INFINITY) {
                    continue; // a masked token: 0·log 0 = 0
                }
                m1 += Math.exp(l) * l;
                m2 += Math.exp(l) * l * l;
            }
            mu[p] = (float) m1;
            var[p] = (float) (m2 - m1 * m1);
        }
        float[] freq = new float[v];
        for (int j = 0; j < v; j++) {
            freq[j] = (float) ((j % 7 + 1.0) / (4.0 * v));
        }
        int[] offsets = {0, t, 2 * t, 3 * t};
        float[] packed = scores(s);
        float[] ref = scores(s);
        EK.scores().minKPlusPlusPacked(Tensor.of(lp), Tensor.of(mu), Tensor.of(var), Tensor.of(offsets), 0.3f,
                Tensor.of(packed));
        EK.scores().minKPlusPlus(Tensor.of(logits, s * t, v), Tensor.of(ids, s, t), 0.3f, Tensor.of(ref));
        within(ref, packed, "Min-K%++");
        EK.scores().dcpddPacked(Tensor.of(lp), Tensor.of(ids), Tensor.of(offsets), Tensor.of(freq), 0.01f,
                Tensor.of(packed));
        EK.scores().dcpdd(Tensor.of(logits, s * t, v), Tensor.of(ids, s, t), Tensor.of(freq), 0.01f, Tensor.of(ref));
        within(ref, packed, "DC-PDD");
        EK.scores().likelihoodRatioPacked(Tensor.of(lp), Tensor.of(lpB), Tensor.of(offsets), Tensor.of(packed));
        EK.scores().likelihoodRatio(Tensor.of(logits, s * t, v), Tensor.of(logitsB, s * t, v), Tensor.of(ids, s, t),
                Tensor.of(ref));
        within(ref, packed, "likelihood ratio");
        EK.scores().minKProbPacked(Tensor.of(lp), Tensor.of(offsets), 0.3f, Tensor.of(packed));
        EK.scores().minKProb(Tensor.of(logits, s * t, v), Tensor.of(ids, s, t), 0.3f, Tensor.of(ref));
        within(ref, packed, "Min-K%");
    }

    private static void within(float[] ref, float[] out, String what) {
        for (int q = 0; q < ref.length; q++) {
            if (Float.isFinite(ref[q])) {
                assertEquals(ref[q], out[q], 1e-5 * Math.max(1, Math.abs(ref[q])), what + " sequence " + q);
            } else {
                assertEquals(ref[q], out[q], what + " sequence " + q + " (NaN or infinite, as the logits give it)");
            }
        }
    }

    /** Each sequence's score is the same alone as in a batch, and a NaN in one sequence stays in it. */
    @Test
    void aSequenceScoresTheSameAloneAndAmongOthers() {
        int[] lengths = {1, 7, 3, 12, 1, 5};
        int n = Arrays.stream(lengths).sum();
        int[] offsets = new int[lengths.length + 1];
        for (int q = 0; q < lengths.length; q++) {
            offsets[q + 1] = offsets[q] + lengths[q];
        }
        SplittableRandom r = new SplittableRandom(13);
        float[] lp = new float[n];
        float[] lpB = new float[n];
        float[] mu = new float[n];
        float[] var = new float[n];
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            lp[i] = (float) (-6 * r.nextDouble());
            lpB[i] = (float) (-6 * r.nextDouble());
            mu[i] = (float) (-3 * r.nextDouble());
            var[i] = (float) (2 * r.nextDouble());
            ids[i] = r.nextInt(6);
        }
        lp[offsets[2] + 1] = Float.NaN; // sequence 2
        float[] freq = {0.1f, 0.2f, 0.3f, 0.2f, 0.1f, 0.1f};
        float[][] batch = all(lp, lpB, mu, var, ids, offsets, freq);
        for (int q = 0; q < lengths.length; q++) {
            int from = offsets[q];
            int to = offsets[q + 1];
            float[][] alone = all(Arrays.copyOfRange(lp, from, to), Arrays.copyOfRange(lpB, from, to),
                    Arrays.copyOfRange(mu, from, to), Arrays.copyOfRange(var, from, to), Arrays.copyOfRange(ids, from, to),
                    new int[] {0, to - from}, freq);
            for (int score = 0; score < 4; score++) {
                assertEquals(alone[score][0], batch[score][q], "score " + score + " of sequence " + q);
                if (q == 2 && score != 3) {
                    assertTrue(Float.isNaN(batch[score][q]), "the NaN sequence, score " + score);
                } else if (q != 2) {
                    assertTrue(Float.isFinite(batch[score][q]), "score " + score + " of sequence " + q);
                }
            }
        }
    }

    /** Min-K%, Min-K%++, DC-PDD and the likelihood ratio of every sequence. */
    private static float[][] all(float[] lp, float[] lpB, float[] mu, float[] var, int[] ids, int[] offsets, float[] freq) {
        int s = offsets.length - 1;
        float[][] out = new float[4][s];
        EK.scores().minKProbPacked(Tensor.of(lp), Tensor.of(offsets), 0.4f, Tensor.of(out[0]));
        EK.scores().minKPlusPlusPacked(Tensor.of(lp), Tensor.of(mu), Tensor.of(var), Tensor.of(offsets), 0.4f,
                Tensor.of(out[1]));
        EK.scores().likelihoodRatioPacked(Tensor.of(lp), Tensor.of(lpB), Tensor.of(offsets), Tensor.of(out[2]));
        EK.scores().dcpddPacked(Tensor.of(lp), Tensor.of(ids), Tensor.of(offsets), Tensor.of(freq), 0.01f,
                Tensor.of(out[3]));
        return out;
    }

    @Test
    void badArgumentsAreRefusedByNameBeforeAnyWork() {
        Tensor lp = Tensor.of(new float[] {-1f, -2f, -3f});
        float[] out = {7f, 7f};
        Tensor scores = Tensor.of(out);
        expect("offsets: must start at 0, got 1", () -> EK.scores().minKProbPacked(lp, Tensor.of(new int[] {1, 3}),
                0.5f, scores));
        expect("offsets: sequence 1 is [2, 2)", () -> EK.scores().minKProbPacked(lp, Tensor.of(new int[] {0, 2, 2, 3}),
                0.5f, Tensor.of(new float[3])));
        expect("offsets: the last offset is 2, but logprobs has 3 positions", () -> EK.scores().minKProbPacked(lp,
                Tensor.of(new int[] {0, 2}), 0.5f, scores));
        expect("offsets: expected a rank-1 I32 tensor of S + 1 >= 2", () -> EK.scores().minKProbPacked(lp,
                Tensor.of(new int[] {0}), 0.5f, scores));
        expect("scores: too small: holds 2 values, need 3", () -> EK.scores().minKProbPacked(lp,
                Tensor.of(new int[] {0, 1, 2, 3}), 0.5f, scores));
        expect("k: must be a fraction in (0, 1]", () -> EK.scores().minKProbPacked(lp, Tensor.of(new int[] {0, 3}),
                1.5f, scores));
        expect("logprobs: expected a rank-1 float tensor", () -> EK.scores().minKProbPacked(Tensor.of(new float[4], 2,
                2), Tensor.of(new int[] {0, 4}), 0.5f, scores));
        expect("variances: entry 1 is -0.5; a variance is >= 0", () -> EK.scores().minKPlusPlusPacked(lp, lp,
                Tensor.of(new float[] {0f, -0.5f, 1f}), Tensor.of(new int[] {0, 3}), 0.5f, scores));
        expect("means: has 2 positions, expected 3", () -> EK.scores().minKPlusPlusPacked(lp, Tensor.of(new float[2]),
                Tensor.of(new float[3]), Tensor.of(new int[] {0, 3}), 0.5f, scores));
        expect("ids: 4 at [0, 2] is outside [0, 4)", () -> EK.scores().dcpddPacked(lp, Tensor.of(new int[] {0, 1, 4}),
                Tensor.of(new int[] {0, 3}), Tensor.of(new float[] {0.25f, 0.25f, 0.25f, 0.25f}), 0.01f, scores));
        expect("freq: entry 2 is 0.0", () -> EK.scores().dcpddPacked(lp, Tensor.of(new int[] {0, 1, 2}),
                Tensor.of(new int[] {0, 3}), Tensor.of(new float[] {0.5f, 0.5f, 0f}), 0.01f, scores));
        expect("a: ", () -> EK.scores().dcpddPacked(lp, Tensor.of(new int[] {0, 1, 2}), Tensor.of(new int[] {0, 3}),
                Tensor.of(new float[] {0.5f, 0.25f, 0.25f}), Float.NaN, scores));
        expect("logprobsB: has 4 positions, expected 3", () -> EK.scores().likelihoodRatioPacked(lp,
                Tensor.of(new float[4]), Tensor.of(new int[] {0, 3}), scores));
        assertArrayEquals(new float[] {7f, 7f}, out, "nothing written by a refused call");
    }

    private static void expect(String message, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().startsWith(message), "message was: " + e.getMessage());
    }
}
