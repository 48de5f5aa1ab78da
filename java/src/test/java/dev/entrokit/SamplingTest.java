package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** Sampling: reproducible per (seed, row, step), thread-count independent, greedy at T = 0, and the right law. */
class SamplingTest {

    static int[] sample(Entrokit ek, float[] x, int r, int v, SamplingFilters f, long[] seeds, long step) {
        int[] tok = new int[r];
        ek.decoding().sample(Tensor.of(x, r, v), f, seeds, step, Tensor.of(tok));
        return tok;
    }

    static long[] seeds(int r, long base) {
        long[] s = new long[r];
        for (int i = 0; i < r; i++) {
            s[i] = base + 1000L * i;
        }
        return s;
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void sameSeedSameTokensAndDifferentSeedsDiffer(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int r = 64;
        int v = 301;
        float[] x = SelectionTest.rows(11, r, v);
        SamplingFilters f = SamplingFilters.temperature(1.5f).topK(100).topP(0.95f);
        int[] a = sample(ek, x, r, v, f, seeds(r, 1), 3);
        assertArrayEquals(a, sample(ek, x, r, v, f, seeds(r, 1), 3));
        int[] b = sample(ek, x, r, v, f, seeds(r, 2), 3);
        int[] c = sample(ek, x, r, v, f, seeds(r, 1), 4);
        assertTrue(diff(a, b) > r / 2, "different seeds: " + diff(a, b) + " of " + r + " tokens differ");
        assertTrue(diff(a, c) > r / 2, "different steps: " + diff(a, c) + " of " + r + " tokens differ");
        for (int row = 0; row < r; row++) {
            assertTrue(SelectionReference.kept(x, row * v, v, f).contains(a[row]), "row " + row + " drew a filtered token");
        }
    }

    @Test
    void tokensDoNotDependOnTheThreadCount() {
        int r = 64;
        int v = 1024; // 64 × 1024 = 65536 elements, above the 32768 the executor needs to split
        float[] x = SelectionTest.rows(12, r, v);
        List<SamplingFilters> perRow = new ArrayList<>();
        for (int i = 0; i < r; i++) {
            SamplingFilters base = SamplingFilters.temperature(0.5f + (i % 4) * 0.5f);
            perRow.add(switch (i % 4) {
                case 0 -> base.topK(50).topP(0.9f);
                case 1 -> base.minP(0.05f);
                case 2 -> base.topH(0.5f);
                default -> base;
            });
        }
        for (String name : TestBackends.availableNames()) {
            try (Entrokit one = Entrokit.create(name, 1); Entrokit two = Entrokit.create(name, 2);
                 Entrokit three = Entrokit.create(name, 3)) {
                for (long step : new long[] {0, 1, 1L << 33}) {
                    int[] t1 = new int[r];
                    int[] t2 = new int[r];
                    int[] t3 = new int[r];
                    one.decoding().sample(Tensor.of(x, r, v), perRow, seeds(r, 9), step, Tensor.of(t1));
                    two.decoding().sample(Tensor.of(x, r, v), perRow, seeds(r, 9), step, Tensor.of(t2));
                    three.decoding().sample(Tensor.of(x, r, v), perRow, seeds(r, 9), step, Tensor.of(t3));
                    assertArrayEquals(t1, t2, name + " step " + step);
                    assertArrayEquals(t1, t3, name + " step " + step);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void temperatureZeroIsGreedyWithTheLowestIndexOnTies(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = {1f, 5f, Float.NEGATIVE_INFINITY, 5f, 5f, 2f, 0f, 5f, 4f, -1f};
        int[] tok = sample(ek, x, 2, 5, SamplingFilters.temperature(0f).topP(0.5f), new long[] {1, 2}, 0);
        assertArrayEquals(new int[] {1, 2}, tok); // row 1 is {5, 2, 0, 5, 4}: 5 at 0 and 3, the lower wins
        int v = 301;
        float[] y = SelectionTest.rows(13, 8, v);
        int[] greedy = sample(ek, y, 8, v, SamplingFilters.temperature(0f), seeds(8, 1), 7);
        for (int row = 0; row < 8; row++) {
            List<Integer> order = SelectionReference.order(SelectionReference.probs(y, row * v, v, 1));
            assertEquals(order.get(0), greedy[row], "row " + row);
        }
    }

    /**
     * Goodness of fit: 200 000 draws (1000 rows of the same logits × 200 steps, every (row, step) a
     * distinct Philox counter) against the filtered, renormalized distribution. Pearson's statistic
     * with df = kept − 1 = 4 is compared with the chi-square critical value at α = 0.001, 18.467
     * (qchisq(0.999, 4)); with this fixed seed the test is deterministic, and a generator bias of even
     * 1% on one token would give a statistic far above it.
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void sampledFrequenciesFollowTheFilteredDistribution(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int v = 8;
        int rowsPerCall = 1000;
        int steps = 200;
        float[] row = {0.3f, 1.2f, -0.5f, 2f, 0.9f, -3f, 1.5f, 0.1f};
        SamplingFilters f = SamplingFilters.temperature(0.9f).topK(6).topP(0.9f);
        List<Integer> kept = SelectionReference.kept(row, 0, v, f);
        assertEquals(5, kept.size(), "the test expects 5 kept tokens (df = 4); kept " + kept);
        double[] q = SelectionReference.renormalized(SelectionReference.probs(row, 0, v, 0.9), kept);
        float[] x = new float[rowsPerCall * v];
        for (int r = 0; r < rowsPerCall; r++) {
            System.arraycopy(row, 0, x, r * v, v);
        }
        long[] seeds = new long[rowsPerCall];
        Arrays.fill(seeds, 0x5eedL);
        long[] counts = new long[v];
        for (int step = 0; step < steps; step++) {
            for (int t : sample(ek, x, rowsPerCall, v, f, seeds, step)) {
                counts[t]++;
            }
        }
        double n = (double) rowsPerCall * steps;
        double chi2 = 0;
        for (int i = 0; i < v; i++) {
            if (q[i] == 0) {
                assertEquals(0, counts[i], "token " + i + " is filtered out but was drawn");
            } else {
                double expected = n * q[i];
                chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
            }
        }
        assertTrue(chi2 < 18.467, "chi-square " + chi2 + " >= 18.467 (df 4, alpha 0.001); counts " + Arrays.toString(counts));
        // Power: the same counts against the unfiltered softmax must fail clearly.
        double[] p = SelectionReference.probs(row, 0, v, 0.9);
        double wrong = 0;
        for (int i = 0; i < v; i++) {
            wrong += (counts[i] - n * p[i]) * (counts[i] - n * p[i]) / (n * p[i]);
        }
        assertFalse(wrong < 18.467, "the unfiltered law should be rejected, chi-square " + wrong);
    }

    private static int diff(int[] a, int[] b) {
        int d = 0;
        for (int i = 0; i < a.length; i++) {
            d += a[i] != b[i] ? 1 : 0;
        }
        return d;
    }
}
