package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.internal.ExponentialRace;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The exponential race (SPEC §2): the token of {@link Decoding#raceSample} is the argmax, over the
 * tokens {@link SelectionReference} keeps, of keys computed token by token; it is the same for every
 * sharding ({@link Decoding#shardSample} + {@link ShardSample#merge}), backend, SIMD width and thread
 * count; its law is the kept softmax; masked tokens never win.
 */
@Tag("simd-width")
class RaceSamplingTest {
    static final float NEG = Float.NEGATIVE_INFINITY;

    static int[] race(Entrokit ek, float[] x, int r, int v, List<SamplingFilters> f, long[] seeds, long step) {
        int[] tok = new int[r];
        ek.decoding().raceSample(Tensor.of(x, r, v), f, seeds, step, Tensor.of(tok));
        return tok;
    }

    /** The oracle: every kept token's key, computed one by one, and the largest (lowest id on ties). */
    static int oracle(float[] x, int off, int v, SamplingFilters f, long seed, int row, long step) {
        List<Integer> kept = f.temperature() == 0f ? SelectionReference.logitOrder(x, off, v).subList(0, 1)
                : SelectionReference.kept(x, off, v, f);
        if (SelectionReference.probs(x, off, v, 1) == null) {
            return -1;
        }
        int best = -1;
        double bestKey = Double.NEGATIVE_INFINITY;
        for (int i : kept) {
            double key = ExponentialRace.key(x[off + i], f.temperature(), seed, row, step, i);
            if (best < 0 || key > bestKey || key == bestKey && i < best) {
                best = i;
                bestKey = key;
            }
        }
        return best;
    }

    static List<SamplingFilters> pipelines(int r, int v) {
        List<SamplingFilters> out = new ArrayList<>();
        for (int i = 0; i < r; i++) {
            SamplingFilters base = SamplingFilters.temperature(new float[] {1f, 0.7f, 2f}[i % 3]);
            out.add(switch (i % 6) {
                case 0 -> base;
                case 1 -> base.topK(Math.min(50, v)).topP(0.9f);
                case 2 -> base.minP(0.05f);
                case 3 -> base.topH(0.5f);
                case 4 -> base.topP(0.95f);
                default -> base.topK(Math.min(3, v));
            });
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void theTokenIsTheLargestKeyAmongTheReferenceKeptTokens(String backend) {
        Entrokit ek = TestBackends.open(backend);
        for (int v : new int[] {1, 7, 301, 4099, 40_000}) {
            int r = 12;
            float[] x = SelectionTest.rows(21 + v, r, v);
            List<SamplingFilters> f = pipelines(r, v);
            long[] seeds = SamplingTest.seeds(r, v);
            for (long step : new long[] {0, 5, 1L << 40}) {
                int[] tok = race(ek, x, r, v, f, seeds, step);
                for (int row = 0; row < r; row++) {
                    if (SelectionReference.margin(x, row * v, v, f.get(row)) < 1e-6) {
                        continue; // SPEC §5: a cumulative sum this close to its threshold is undecided
                    }
                    assertEquals(oracle(x, row * v, v, f.get(row), seeds[row], row, step), tok[row],
                            backend + " V=" + v + " row " + row + " " + f.get(row) + " step " + step);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void adversarialRowsGiveTheOracleTokenOrMinusOne(String backend) {
        Entrokit ek = TestBackends.open(backend);
        for (int v : new int[] {5, 33, 1000, 16_385}) {
            List<AdversarialRows.Named> rows = AdversarialRows.all(v, 77 + v);
            float[] x = AdversarialRows.batch(rows);
            int r = rows.size();
            for (float t : new float[] {0f, 1f, 0.7f}) {
                for (SamplingFilters f : t == 0f ? List.of(SamplingFilters.temperature(0f))
                        : List.of(SamplingFilters.temperature(t), SamplingFilters.temperature(t).topK(4))) {
                    int[] tok = race(ek, x, r, v, java.util.Collections.nCopies(r, f), SamplingTest.seeds(r, 3), 9);
                    for (int row = 0; row < r; row++) {
                        String what = backend + " V=" + v + " " + rows.get(row).name() + " " + f;
                        if (!rows.get(row).valid()) {
                            assertEquals(-1, tok[row], what);
                        } else if (SelectionReference.margin(x, row * v, v, f) >= 1e-6) {
                            assertEquals(oracle(x, row * v, v, f, 3 + 1000L * row, row, 9), tok[row], what);
                        }
                    }
                }
            }
        }
    }

    @Test
    void scalarAndSimdDrawTheSameTokensBitForBit() {
        Entrokit simd = TestBackends.open("simd");
        Entrokit scalar = TestBackends.scalarReference();
        for (int v : new int[] {3, 17, 1000, 16_384, 16_385, 50_001}) {
            int r = 12;
            float[] x = SelectionTest.rows(31 + v, r, v);
            List<SamplingFilters> f = pipelines(r, v);
            for (long step = 0; step < 4; step++) {
                assertArrayEquals(race(scalar, x, r, v, f, SamplingTest.seeds(r, 5), step),
                        race(simd, x, r, v, f, SamplingTest.seeds(r, 5), step), "V=" + v + " step " + step);
            }
            ShardSample[] a = scalar.decoding().shardSample(Tensor.of(x, r, v), 0, 0.8f, SamplingTest.seeds(r, 6), 1);
            ShardSample[] b = simd.decoding().shardSample(Tensor.of(x, r, v), 0, 0.8f, SamplingTest.seeds(r, 6), 1);
            assertArrayEquals(a, b, "keys and ids, V=" + v);
        }
    }

    /**
     * Random shard boundaries, 1 to 64 shards, with one-token shards, empty shards (their entry is
     * {@link ShardSample#NONE}) and all {@code -inf} shards: the merged entry equals the whole row's,
     * key and id, bit for bit, and its token is what {@code raceSample} draws.
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void theMergedEntryDoesNotDependOnTheSharding(String backend) {
        Entrokit ek = TestBackends.open(backend);
        SplittableRandom rnd = new SplittableRandom(41);
        for (int v : new int[] {1, 2, 64, 301, 20_000, 70_000}) {
            int r = 3;
            float[] x = SelectionTest.rows(51 + v, r, v);
            if (v >= 64) { // an all -inf stretch, which some shardings cut into all -inf shards
                Arrays.fill(x, v + 10, v + 40, NEG);
            }
            long[] seeds = SamplingTest.seeds(r, 8);
            for (float t : new float[] {1f, 0.5f, 0f}) {
                ShardSample[] whole = ek.decoding().shardSample(Tensor.of(x, r, v), 0, t, seeds, 3);
                int[] tok = race(ek, x, r, v, java.util.Collections.nCopies(r, SamplingFilters.temperature(t)), seeds, 3);
                for (int row = 0; row < r; row++) {
                    assertEquals(tok[row], whole[row].token(), "V=" + v + " T=" + t + " row " + row);
                }
                for (int shards : new int[] {1, 2, 3, 7, 16, 33, 64}) {
                    int[] cuts = cuts(rnd, v, shards);
                    ShardSample[] merged = new ShardSample[r];
                    Arrays.fill(merged, ShardSample.NONE);
                    for (int s = 0; s < shards; s++) {
                        int from = cuts[s];
                        int len = cuts[s + 1] - from;
                        if (len == 0) {
                            continue; // an empty shard sends NONE, which changes no merge
                        }
                        Tensor shard = Tensor.strided(MemorySegment.ofArray(x), DType.F32, r, len, from, v);
                        ShardSample[] part = ek.decoding().shardSample(shard, from, t, seeds, 3);
                        for (int row = 0; row < r; row++) {
                            // the serialized form travels between shards
                            merged[row] = ShardSample.merge(merged[row], ShardSample.fromBytes(part[row].toBytes()));
                        }
                    }
                    for (int row = 0; row < r; row++) {
                        assertEquals(whole[row], merged[row], backend + " V=" + v + " T=" + t + " " + shards
                                + " shards at " + Arrays.toString(cuts) + " row " + row);
                    }
                }
            }
        }
    }

    /** {@code shards + 1} sorted boundaries in {@code [0, v]}, first 0 and last v; equal ones make empty shards. */
    static int[] cuts(SplittableRandom rnd, int v, int shards) {
        int[] c = new int[shards + 1];
        for (int s = 1; s < shards; s++) {
            c[s] = rnd.nextInt(4) == 0 && s > 1 ? Math.min(v, c[s - 1] + rnd.nextInt(2)) : rnd.nextInt(v + 1); // empty and one-token shards
        }
        c[shards] = v;
        Arrays.sort(c);
        return c;
    }

    /**
     * Goodness of fit, as {@code SamplingTest}'s: 200 000 draws (1000 rows × 200 steps) against the kept
     * softmax, Pearson's statistic below qchisq(0.999, df); the unfiltered law is rejected where a
     * filter cuts. Also a 64-token row, temperature only (df = 63, critical value 103.44).
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void sampledFrequenciesFollowTheKeptSoftmax(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] row = {0.3f, 1.2f, -0.5f, 2f, 0.9f, -3f, 1.5f, 0.1f};
        chiSquare(ek, row, SamplingFilters.temperature(0.9f).topK(6).topP(0.9f), 5, 18.467, true);
        chiSquare(ek, row, SamplingFilters.temperature(1.3f), 8, 24.322, false);
        float[] wide = new float[64];
        SplittableRandom rnd = new SplittableRandom(5);
        for (int i = 0; i < wide.length; i++) {
            wide[i] = (float) rnd.nextGaussian();
        }
        wide[17] = NEG;
        chiSquare(ek, wide, SamplingFilters.temperature(1f), 63, 103.44, false);
    }

    private static void chiSquare(Entrokit ek, float[] row, SamplingFilters f, int keptExpected, double critical,
                                  boolean filtered) {
        int v = row.length;
        int rowsPerCall = 1000;
        int steps = 200;
        List<Integer> kept = SelectionReference.kept(row, 0, v, f);
        assertEquals(keptExpected, kept.size(), "kept " + kept);
        double[] p = SelectionReference.probs(row, 0, v, f.temperature());
        double[] q = SelectionReference.renormalized(p, kept);
        float[] x = new float[rowsPerCall * v];
        for (int r = 0; r < rowsPerCall; r++) {
            System.arraycopy(row, 0, x, r * v, v);
        }
        long[] seeds = new long[rowsPerCall];
        Arrays.fill(seeds, 0xace5L);
        long[] counts = new long[v];
        for (int step = 0; step < steps; step++) {
            for (int t : race(ek, x, rowsPerCall, v, java.util.Collections.nCopies(rowsPerCall, f), seeds, step)) {
                counts[t]++;
            }
        }
        double n = (double) rowsPerCall * steps;
        double chi2 = 0;
        for (int i = 0; i < v; i++) {
            if (q[i] == 0) {
                assertEquals(0, counts[i], "token " + i + " is not kept (or masked) but was drawn");
            } else {
                chi2 += (counts[i] - n * q[i]) * (counts[i] - n * q[i]) / (n * q[i]);
            }
        }
        assertTrue(chi2 < critical, "chi-square " + chi2 + " >= " + critical + "; counts " + Arrays.toString(counts));
        if (filtered) {
            double wrong = 0;
            for (int i = 0; i < v; i++) {
                wrong += (counts[i] - n * p[i]) * (counts[i] - n * p[i]) / (n * p[i]);
            }
            assertFalse(wrong < critical, "the unfiltered law should be rejected, chi-square " + wrong);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void maskedTokensNeverWinAndGreedyTakesTheLowestMaximum(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int v = 1003;
        int r = 64;
        float[] x = new float[r * v];
        SplittableRandom rnd = new SplittableRandom(6);
        for (int i = 0; i < x.length; i++) {
            // 95 % masked; the masked ones would dominate if they were read as large values
            x[i] = rnd.nextInt(20) == 0 ? (float) rnd.nextGaussian() : NEG;
        }
        for (int row = 0; row < r; row++) {
            x[row * v + rnd.nextInt(v)] = 0.5f; // at least one live token per row
        }
        List<SamplingFilters> f = java.util.Collections.nCopies(r, SamplingFilters.temperature(5f));
        for (long step = 0; step < 50; step++) {
            int[] tok = race(ek, x, r, v, f, SamplingTest.seeds(r, step), step);
            for (int row = 0; row < r; row++) {
                assertNotEquals(NEG, x[row * v + tok[row]], "row " + row + " step " + step + " drew a masked token");
            }
        }
        float[] ties = {1f, 5f, NEG, 5f, 5f, 2f, 0f, 5f, 4f, -1f};
        int[] greedy = race(ek, ties, 2, 5, java.util.Collections.nCopies(2, SamplingFilters.temperature(0f).topK(2)),
                new long[] {1, 2}, 0);
        assertArrayEquals(new int[] {1, 2}, greedy);
        float[] oneLive = {NEG, NEG, NEG, 3f, NEG, NEG, NEG};
        assertEquals(3, race(ek, oneLive, 1, 7, List.of(SamplingFilters.temperature(1f)), new long[] {4}, 0)[0]);
        assertEquals(3, race(ek, oneLive, 1, 7, List.of(SamplingFilters.temperature(1f).topH(1f)), new long[] {4}, 0)[0]);
    }

    /** Batch 1 × 128256 (eight chunks) and a small batch of long rows: the same tokens on 1, 2 and 3 threads. */
    @Test
    void tokensDoNotDependOnTheThreadCount() {
        for (int v : new int[] {128_256, 40_000}) {
            int r = v == 128_256 ? 1 : 3;
            float[] x = SelectionTest.rows(61, r, v);
            for (String name : TestBackends.availableNames()) {
                try (Entrokit one = Entrokit.create(name, 1); Entrokit two = Entrokit.create(name, 2);
                     Entrokit three = Entrokit.create(name, 3)) {
                    for (List<SamplingFilters> f : List.of(pipelines(r, v), java.util.Collections.nCopies(r,
                            SamplingFilters.temperature(0.8f).topP(0.99f)))) {
                        for (long step : new long[] {0, 1, 1L << 33}) {
                            int[] t1 = race(one, x, r, v, f, SamplingTest.seeds(r, 9), step);
                            assertArrayEquals(t1, race(two, x, r, v, f, SamplingTest.seeds(r, 9), step), name);
                            assertArrayEquals(t1, race(three, x, r, v, f, SamplingTest.seeds(r, 9), step), name);
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void badArgumentsAreRefusedByName(String backend) {
        Entrokit ek = TestBackends.open(backend);
        Tensor x = Tensor.of(new float[12], 3, 4);
        expect("offset", () -> ek.decoding().shardSample(x, -1, 1f, new long[3], 0));
        expect("offset", () -> ek.decoding().shardSample(x, Integer.MAX_VALUE - 2, 1f, new long[3], 0));
        expect("temperature", () -> ek.decoding().shardSample(x, 0, -1f, new long[3], 0));
        expect("temperature", () -> ek.decoding().shardSample(x, 0, Float.NaN, new long[3], 0));
        expect("seeds", () -> ek.decoding().shardSample(x, 0, 1f, new long[2], 0));
        expect("seeds", () -> ek.decoding().raceSample(x, SamplingFilters.temperature(1f), new long[2], 0,
                Tensor.of(new int[3])));
        expect("tokensOut", () -> ek.decoding().raceSample(x, SamplingFilters.temperature(1f), new long[3], 0,
                Tensor.of(new int[2])));
        expect("k", () -> ek.decoding().raceSample(x, SamplingFilters.temperature(1f).topK(5), new long[3], 0,
                Tensor.of(new int[3])));
        expect("id", () -> new ShardSample(1.0, -1));
        expect("id", () -> new ShardSample(Double.NEGATIVE_INFINITY, 3));
        expect("bytes", () -> ShardSample.fromBytes(new byte[11]));
    }

    static void expect(String name, Runnable r) {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().startsWith(name + ":") || e.getMessage().contains(name + ":"),
                "message should name " + name + ": " + e.getMessage());
    }
}
