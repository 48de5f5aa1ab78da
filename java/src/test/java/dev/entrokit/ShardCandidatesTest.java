package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * Sharded selection: per-shard candidate lists merged over random shard boundaries (1 to 64 shards,
 * one-token, empty and all {@code -inf} shards) keep what {@link SelectionReference} keeps on the
 * whole row whenever they say they are exact, and say so exactly when the lists decide the pipeline
 * (checked against an independent count of the row's leading tokens that every list covers).
 */
@Tag("simd-width")
class ShardCandidatesTest {
    static final float NEG = Float.NEGATIVE_INFINITY;

    static List<SamplingFilters> pipelines(float t) {
        SamplingFilters b = SamplingFilters.temperature(t);
        return List.of(b.topK(1), b.topK(5), b.topK(40), b.topP(0.5f), b.topP(0.9f), b.minP(0.1f), b.minP(0.01f),
                b.topH(0.6f), b.topH(0.4f, 20, TopHMode.NORMALIZED), b.topK(30).topP(0.8f), b.topP(0.95f).minP(0.05f));
    }

    /** Summaries of the shards of row {@code row} cut at {@code cuts}; empty shards give {@link ShardCandidates#empty}. */
    static List<ShardCandidates> shards(Entrokit ek, float[] x, int r, int v, int row, int[] cuts, float t, int k) {
        List<ShardCandidates> out = new ArrayList<>();
        for (int s = 0; s + 1 < cuts.length; s++) {
            int len = cuts[s + 1] - cuts[s];
            if (len == 0) {
                out.add(ShardCandidates.empty(t, k));
                continue;
            }
            Tensor shard = Tensor.strided(MemorySegment.ofArray(x), DType.F32, 1, len, (long) row * v + cuts[s], v);
            ShardCandidates c = ek.decoding().shardCandidates(shard, cuts[s], t, k)[0];
            out.add(ShardCandidates.fromBytes(c.toBytes())); // what would travel between devices
        }
        return out;
    }

    /**
     * The oracle of exactness: the number of leading live tokens of the row (SPEC order) before the
     * first one that no shard lists, written from the shards directly (their own SPEC order), not from
     * the summaries; {@code complete[0]} when every live token is listed.
     */
    static int known(float[] x, int off, int v, int[] cuts, int k, boolean[] complete) {
        boolean[] listed = new boolean[v];
        for (int s = 0; s + 1 < cuts.length; s++) {
            List<Integer> order = SelectionReference.logitOrder(x, off + cuts[s], cuts[s + 1] - cuts[s]);
            for (int j = 0; j < Math.min(k, order.size()); j++) {
                listed[cuts[s] + order.get(j)] = true;
            }
        }
        int p = 0;
        complete[0] = true;
        for (int i : SelectionReference.logitOrder(x, off, v)) {
            if (x[off + i] == NEG) {
                break;
            }
            if (!listed[i]) {
                complete[0] = false;
                break;
            }
            p++;
        }
        return p;
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void mergedShardsKeepTheUnshardedSetWhenExact(String backend) {
        Entrokit ek = TestBackends.open(backend);
        SplittableRandom rnd = new SplittableRandom(71);
        int exactRows = 0;
        int inexactRows = 0;
        for (int v : new int[] {1, 9, 301, 5003}) {
            int r = 4;
            float[] x = SelectionTest.rows(81 + v, r, v);
            if (v > 100) {
                Arrays.fill(x, 20, 90, NEG); // row 0 has an all -inf stretch: some shards are all -inf
            }
            for (float t : new float[] {1f, 0.6f}) {
                for (int row = 0; row < r; row++) {
                    List<SamplingFilters> fs = pipelines(t).stream().filter(f -> f.filters().get(0).kind()
                            != SamplingFilters.Kind.TOP_K || f.filters().get(0).k() <= v).toList();
                    List<List<Integer>> refs = new ArrayList<>();
                    boolean[] near = new boolean[fs.size()];
                    for (int i = 0; i < fs.size(); i++) {
                        refs.add(SelectionReference.kept(x, row * v, v, fs.get(i)));
                        near[i] = SelectionReference.margin(x, row * v, v, fs.get(i)) < 1e-6;
                    }
                    double[] p = SelectionReference.probs(x, row * v, v, t);
                    for (int shards : new int[] {1, 2, 5, 13, 64}) {
                        for (int k : new int[] {1, 8, 64, v}) {
                            int[] cuts = RaceSamplingTest.cuts(rnd, v, shards);
                            ShardCandidates merged = ShardCandidates.merge(shards(ek, x, r, v, row, cuts, t, k));
                            boolean[] complete = new boolean[1];
                            int known = known(x, row * v, v, cuts, k, complete);
                            for (int i = 0; i < fs.size(); i++) {
                                SamplingFilters f = fs.get(i);
                                List<Integer> ref = refs.get(i);
                                String what = backend + " V=" + v + " T=" + t + " k=" + k + " row " + row + " " + f
                                        + " cuts " + Arrays.toString(cuts);
                                ShardSelection sel = merged.keep(f);
                                if (complete[0] || k >= v) {
                                    assertTrue(sel.exact(), "every live token listed: " + what);
                                }
                                if (f.filters().size() == 1 && !near[i]) {
                                    assertEquals(mustBeExact(f, ref.size(), known, complete[0], x, row * v, v, cuts, k),
                                            sel.exact(), "exactness, known " + known + ", kept " + ref.size() + ": " + what);
                                }
                                if (sel.exact()) {
                                    exactRows++;
                                    if (!near[i]) {
                                        assertEquals(ref, toList(sel.ids()), what);
                                        double[] q = SelectionReference.renormalized(p, ref);
                                        for (int j = 0; j < ref.size(); j++) {
                                            assertEquals(q[ref.get(j)], sel.probs()[j], 1e-12, what);
                                        }
                                    }
                                } else {
                                    inexactRows++;
                                    assertEquals(0, sel.count(), what);
                                    assertThrows(IllegalStateException.class, () -> sel.sample(1, 0, 0));
                                }
                            }
                        }
                    }
                }
            }
        }
        assertTrue(exactRows > 1000 && inexactRows > 100, "both outcomes exercised: " + exactRows + " exact, "
                + inexactRows + " not");
    }

    /**
     * When one filter on the row must be decidable from the lists: top-k needs its k tokens among the
     * known ones; top-p its crossing token; min-p its first failing token, or every known one passing
     * and the best unlisted one failing; top-H its n (or every live) tokens. Every live token listed
     * decides everything.
     */
    private static boolean mustBeExact(SamplingFilters f, int kept, int known, boolean complete, float[] x, int off,
                                       int v, int[] cuts, int k) {
        if (complete) {
            return true;
        }
        SamplingFilters.Filter filter = f.filters().get(0);
        return switch (filter.kind()) {
            case TOP_K -> filter.k() <= known;
            case TOP_P -> kept <= known;
            case MIN_P -> kept < known || kept == known && bestUnlistedFails(x, off, v, cuts, k, filter.value(), f.temperature());
            case TOP_H -> filter.n() <= known;
            default -> throw new AssertionError(filter);
        };
    }

    private static boolean bestUnlistedFails(float[] x, int off, int v, int[] cuts, int k, float r, float t) {
        float bound = NEG;
        float max = NEG;
        for (int s = 0; s + 1 < cuts.length; s++) {
            List<Integer> order = SelectionReference.logitOrder(x, off + cuts[s], cuts[s + 1] - cuts[s]);
            if (order.size() > k) {
                bound = Math.max(bound, x[off + cuts[s] + order.get(k)]);
            }
        }
        for (int i = 0; i < v; i++) {
            max = Math.max(max, x[off + i]);
        }
        return Math.exp(((double) bound - max) / t) < r;
    }

    private static List<Integer> toList(int[] a) {
        List<Integer> l = new ArrayList<>();
        for (int i : a) {
            l.add(i);
        }
        return l;
    }

    /** Ties that a shard's list cuts: undecided; the same tie with every tied token listed: decided, by index. */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void aTieAtTheCutIsUndecidedUntilEveryTiedTokenIsListed(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = {1f, 4f, 4f, 0f, 4f, 4f, -2f, 4f, 3f, 4f};
        int v = x.length;
        int[] cuts = {0, 5, 10}; // shard 0 holds ids 1, 2, 4 at logit 4; shard 1 holds 5, 7, 9
        SamplingFilters top4 = SamplingFilters.temperature(1f).topK(4);
        ShardSelection two = ShardCandidates.merge(shards(ek, x, 1, v, 0, cuts, 1f, 2)).keep(top4);
        assertFalse(two.exact(), "shard 0 lists 1, 2 and leaves 4 (also logit 4) out; the 4th token is unknown");
        assertArrayEquals(new int[] {1, 2}, ShardCandidates.merge(shards(ek, x, 1, v, 0, cuts, 1f, 2))
                .keep(SamplingFilters.temperature(1f).topK(2)).ids(), "1 and 2 rank before the unlisted 4");
        ShardSelection three = ShardCandidates.merge(shards(ek, x, 1, v, 0, cuts, 1f, 3)).keep(top4);
        assertTrue(three.exact(), "every logit-4 token listed; the first unlisted ones are 0 (logit 1) and 8 (logit 3)");
        assertArrayEquals(new int[] {1, 2, 4, 5}, three.ids());
        ShardSelection minP = ShardCandidates.merge(shards(ek, x, 1, v, 0, cuts, 1f, 1))
                .keep(SamplingFilters.temperature(1f).minP(0.5f));
        assertFalse(minP.exact(), "the maximum ties with unlisted tokens");
    }

    @Test
    void mergeIsAssociativeAndCommutative() {
        Entrokit ek = TestBackends.scalarReference();
        int v = 3000;
        float[] x = SelectionTest.rows(91, 1, v);
        int[] cuts = {0, 700, 701, 1900, 3000};
        List<ShardCandidates> s = shards(ek, x, 1, v, 0, cuts, 0.8f, 16);
        ShardCandidates left = ShardCandidates.merge(ShardCandidates.merge(ShardCandidates.merge(s.get(0), s.get(1)),
                s.get(2)), s.get(3));
        ShardCandidates right = ShardCandidates.merge(s.get(3), ShardCandidates.merge(s.get(2),
                ShardCandidates.merge(s.get(1), s.get(0))));
        ShardCandidates tree = ShardCandidates.merge(ShardCandidates.merge(s.get(0), s.get(2)),
                ShardCandidates.merge(s.get(3), s.get(1)));
        for (ShardCandidates m : List.of(right, tree)) {
            assertArrayEquals(left.ids(), m.ids());
            assertArrayEquals(left.logits(), m.logits());
            assertEquals(left.bound(), m.bound());
            assertEquals(left.max(), m.max());
            assertEquals(left.sumExp(), m.sumExp(), 1e-14 * left.sumExp());
        }
        ShardCandidates whole = ek.decoding().shardCandidates(Tensor.of(x, 1, v), 0, 0.8f, 16)[0];
        assertArrayEquals(whole.ids(), Arrays.copyOf(left.ids(), 16), "the row's first 16 lead the merged list");
        assertTrue(left.known() >= 16, "known " + left.known());
        assertEquals(whole.logSumExp(), left.logSumExp(), 1e-12 * Math.abs(whole.logSumExp()));
        double[] xd = new double[v];
        for (int i = 0; i < v; i++) {
            xd[i] = x[i];
        }
        assertEquals(Float64Oracle.logSumExp(xd, 0.8f), whole.logSumExp(), 1e-12 * Math.abs(whole.logSumExp()));
    }

    @Test
    void scalarAndSimdSummariesAgree() {
        Entrokit simd = TestBackends.open("simd");
        Entrokit scalar = TestBackends.scalarReference();
        for (int v : new int[] {1, 5, 67, 1000, 16_385}) {
            List<AdversarialRows.Named> rows = v >= 5 ? AdversarialRows.all(v, v) : List.of(
                    new AdversarialRows.Named("one", new float[] {0.5f}, true));
            float[] x = AdversarialRows.batch(rows);
            int r = rows.size();
            for (int k : new int[] {1, 7, 100}) {
                ShardCandidates[] a = scalar.decoding().shardCandidates(Tensor.of(x, r, v), 11, 0.9f, k);
                ShardCandidates[] b = simd.decoding().shardCandidates(Tensor.of(x, r, v), 11, 0.9f, k);
                for (int row = 0; row < r; row++) {
                    String what = "V=" + v + " k=" + k + " " + rows.get(row).name();
                    assertEquals(!rows.get(row).valid(), a[row].special() || a[row].max() == NEG, what);
                    assertEquals(a[row].special(), b[row].special(), what);
                    assertArrayEquals(a[row].ids(), b[row].ids(), what);
                    assertArrayEquals(a[row].logits(), b[row].logits(), what);
                    assertEquals(a[row].bound(), b[row].bound(), what);
                    assertEquals(a[row].max(), b[row].max(), what);
                    // SPEC §5, log-softmax row: the simd mass adds the tokens below its candidates in float32
                    if (!a[row].special()) {
                        assertEquals(a[row].logSumExp(), b[row].logSumExp(),
                                1e-5 * Math.max(1, Math.abs(a[row].logSumExp())), what);
                    }
                }
            }
        }
    }

    @Test
    void theSerializedFormRoundTripsAndBadBytesAreRefusedByName() {
        Entrokit ek = TestBackends.scalarReference();
        float[] x = SelectionTest.rows(93, 1, 500);
        ShardCandidates c = ek.decoding().shardCandidates(Tensor.of(x, 1, 500), 1000, 1.5f, 12)[0];
        byte[] bytes = c.toBytes();
        assertEquals(44 + 8 * 12, bytes.length);
        ShardCandidates back = ShardCandidates.fromBytes(bytes);
        assertArrayEquals(c.ids(), back.ids());
        assertArrayEquals(c.logits(), back.logits());
        assertEquals(c.toString(), back.toString());
        assertTrue(c.id(0) >= 1000 && c.id(0) < 1500, "global ids from the offset: " + c.id(0));
        RaceSamplingTest.expect("bytes", () -> ShardCandidates.fromBytes(Arrays.copyOf(bytes, bytes.length - 1)));
        byte[] magic = bytes.clone();
        magic[0] ^= 1;
        RaceSamplingTest.expect("bytes", () -> ShardCandidates.fromBytes(magic));
        byte[] order = bytes.clone();
        System.arraycopy(bytes, 44, order, 52, 8); // candidate 1 := candidate 0: out of SPEC order
        RaceSamplingTest.expect("bytes", () -> ShardCandidates.fromBytes(order));
        RaceSamplingTest.expect("parts", () -> ShardCandidates.merge(c, c));
        RaceSamplingTest.expect("temperature", () -> ShardCandidates.merge(c, ShardCandidates.empty(1f, 12)));
        RaceSamplingTest.expect("temperature", () -> c.keep(SamplingFilters.temperature(1f).topK(3)));
        RaceSamplingTest.expect("parts", () -> ShardCandidates.merge(List.of()));
        RaceSamplingTest.expect("k", () -> ek.decoding().shardCandidates(Tensor.of(x, 1, 500), 0, 1f, 0));
        RaceSamplingTest.expect("offset", () -> ek.decoding().shardCandidates(Tensor.of(x, 1, 500), -3, 1f, 4));
        RaceSamplingTest.expect("temperature", () -> ek.decoding().shardCandidates(Tensor.of(x, 1, 500), 0, 0f, 4));
        RaceSamplingTest.expect("filters", () -> c.keep(null));
    }

    /** Sharded filtered sampling: exchange candidates, keep, race: the token of raceSample on the whole row. */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void theRaceOverMergedCandidatesIsTheUnshardedRace(String backend) {
        Entrokit ek = TestBackends.open(backend);
        SplittableRandom rnd = new SplittableRandom(95);
        int v = 20_011;
        float[] x = SelectionTest.rows(97, 1, v);
        for (SamplingFilters f : pipelines(0.7f)) {
            int[] whole = new int[1];
            ek.decoding().raceSample(Tensor.of(x, 1, v), f, new long[] {42}, 6, Tensor.of(whole));
            int[] cuts = RaceSamplingTest.cuts(rnd, v, 1 + rnd.nextInt(64));
            ShardSelection sel = ShardCandidates.merge(shards(ek, x, 1, v, 0, cuts, 0.7f, 256)).keep(f);
            assertTrue(sel.exact(), f + " with 256 candidates per shard");
            assertEquals(whole[0], sel.sample(42, 0, 6), f.toString());
        }
    }
}
