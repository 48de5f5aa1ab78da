package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code min_tokens_to_keep} on the prefix filters (top-k, top-p, min-p, top-H; Transformers' semantics: at
 * least the first {@code minKeep} survivors in SPEC order, ties by ascending index) and on Mirostat's
 * truncation, against {@link SelectionReference} and hand-worked rows, on every backend; a masked token is
 * never kept, even when {@code minKeep} exceeds the live survivors (then every live survivor is kept).
 */
@Tag("simd-width")
class MinTokensToKeepTest {
    private static final float NEG = Float.NEGATIVE_INFINITY;

    /** Prefix filters with a floor that binds, alone, composed, and around the entropy-shaped steps. */
    static List<SamplingFilters> pipelines(int v, float t) {
        SamplingFilters b = SamplingFilters.temperature(t);
        return List.of(b.topK(1, 5), b.topK(Math.min(3, v), 40), b.topK(Math.min(2, v), v + 7),
                b.topP(0.1f, 6), b.topP(0.5f, 2), b.topP(0.9f, 300),
                b.minP(0.9f, 4), b.minP(0.5f, 17), b.minP(1f, v),
                b.topH(0.1f, 100, TopHMode.PAPER, 9), b.topH(0.3f, 20, TopHMode.NORMALIZED, 25), b.topH(1f, 5, TopHMode.PAPER, 3),
                b.topK(Math.min(50, v)).topP(0.2f, 8), b.topP(0.3f, 10).minP(0.8f, 3), b.minP(0.6f, 12).topH(0.2f, 50, TopHMode.PAPER, 4),
                b.topK(1, 30).typical(0.9f), b.typical(0.5f).topP(0.2f, 7), b.epsilon(1e-3f).minP(0.9f, 5),
                b.dynamicTemperature(0.5f, 1.5f, 1f).topP(0.1f, 6), b.mirostat(1f, 5), b.topP(0.9f).mirostat(0.5f, 3));
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void keptSetsMatchTheReference(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int checked = 0;
        for (int v : new int[] {1, 3, 17, 301, 5003}) {
            int r = 4;
            float[] x = SelectionTest.rows(v + 11, r, v);
            for (float t : v > 1000 ? new float[] {0.8f} : new float[] {1f, 0.6f, 2f}) {
                for (SamplingFilters f : pipelines(v, t)) {
                    boolean[] mask = SelectionTest.mask(ek, x, r, v, f);
                    for (int row = 0; row < r; row++) {
                        boolean[] got = Arrays.copyOfRange(mask, row * v, row * v + v);
                        String at = backend + " V=" + v + " row " + row + " " + f;
                        int live = 0;
                        for (int i = 0; i < v; i++) {
                            assertFalse(got[i] && x[row * v + i] == NEG, at + ": keeps masked token " + i);
                            live += x[row * v + i] == NEG ? 0 : 1;
                        }
                        if (SelectionReference.margin(x, row * v, v, f) < 1e-6) {
                            continue; // SPEC §5 leaves the row undecided
                        }
                        assertArrayEquals(SelectionReference.mask(x, row * v, v, f), got, at);
                        int kept = 0;
                        for (boolean k : got) {
                            kept += k ? 1 : 0;
                        }
                        if (f.filters().size() == 1) { // a later step may cut below the first one's floor
                            assertTrue(kept >= Math.min(minKeepOfFirst(f), live), at + ": kept " + kept);
                        }
                        checked++;
                    }
                }
            }
        }
        assertTrue(checked > 300, "only " + checked + " rows were decided");
    }

    private static int minKeepOfFirst(SamplingFilters f) {
        SamplingFilters.Filter first = f.filters().get(0);
        return switch (first.kind()) {
            case TOP_K, TOP_P, MIN_P, TOP_H -> first.minKeep();
            default -> 1;
        };
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void theFloorTakesTiesByAscendingIndex(String backend) {
        Entrokit ek = TestBackends.open(backend);
        // One token far above four tied ones: top-p 0.5, min-p 0.5 and top-k 1 keep the first alone; a floor
        // of 3 adds the two lowest indices of the tie (SPEC order), never a later one.
        float[] x = {0f, 2f, -9f, 2f, 12f, 2f, 2f, -9f};
        boolean[] want = {false, true, false, true, true, false, false, false};
        SamplingFilters b = SamplingFilters.temperature(1f);
        for (SamplingFilters f : List.of(b.topK(1, 3), b.topP(0.5f, 3), b.minP(0.5f, 3), b.topH(0.05f, 100, TopHMode.PAPER, 3))) {
            assertArrayEquals(want, SelectionTest.mask(ek, x, 1, 8, f), backend + " " + f);
            int[] ids = new int[8];
            float[] probs = new float[8];
            int[] count = new int[1];
            ek.decoding().keptTokens(Tensor.of(x, 1, 8), f, Tensor.of(ids, 1, 8), Tensor.of(probs, 1, 8),
                    Tensor.of(count));
            assertEquals(3, count[0], f.toString());
            assertArrayEquals(new int[] {4, 1, 3}, Arrays.copyOf(ids, 3), f.toString());
            double z = Math.exp(12) + 2 * Math.exp(2);
            assertEquals(Math.exp(2) / z, probs[1], 1e-6 + 1e-5 * Math.exp(2) / z, f.toString());
        }
        // A floor at or below what the filter keeps changes nothing.
        assertArrayEquals(SelectionTest.mask(ek, x, 1, 8, b.topK(5)), SelectionTest.mask(ek, x, 1, 8, b.topK(5, 2)));
        assertArrayEquals(SelectionTest.mask(ek, x, 1, 8, b.topP(0.9999f)), SelectionTest.mask(ek, x, 1, 8, b.topP(0.9999f, 1)));
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void aFloorPastTheLiveTokensKeepsEveryLiveTokenAndNoMaskedOne(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int v = 1283; // long enough for the simd kernels' sampled threshold
        float[] x = new float[v];
        Arrays.fill(x, NEG);
        x[7] = 1f;
        x[600] = 3f;
        x[1200] = -2f;
        boolean[] want = new boolean[v];
        want[7] = want[600] = want[1200] = true;
        SamplingFilters b = SamplingFilters.temperature(1f);
        for (SamplingFilters f : List.of(b.topK(1, 10), b.topP(0.1f, 10), b.minP(1f, v), b.topH(0.1f, 100, TopHMode.NORMALIZED, 50),
                b.topK(2, 5).topP(0.5f, 1000), b.mirostat(0.1f, 10), b.epsilon(0.9f, 10))) {
            assertArrayEquals(want, SelectionTest.mask(ek, x, 1, v, f), backend + " " + f);
            float[] out = new float[v];
            ek.decoding().maskLogits(Tensor.of(x, 1, v), f, Tensor.of(out, 1, v));
            assertArrayEquals(x, out, backend + " masked logits " + f);
            int[] tokens = new int[32];
            float[] batch = new float[32 * v];
            long[] seeds = new long[32];
            for (int r = 0; r < 32; r++) {
                System.arraycopy(x, 0, batch, r * v, v);
                seeds[r] = 7 + r;
            }
            ek.decoding().sample(Tensor.of(batch, 32, v), f, seeds, 0, Tensor.of(tokens));
            for (int token : tokens) {
                assertTrue(token == 7 || token == 600 || token == 1200, backend + " " + f + " sampled " + token);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void sharedCandidatesAndTheRaceKeepTheFloor(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int v = 40_000; // past one 16384-token chunk, so the race merges candidate summaries
        float[] x = SelectionTest.rows(5, 1, v);
        x[123] = 30f; // one token holds almost all the mass: top-p 0.5 and min-p 0.5 keep it alone
        SamplingFilters b = SamplingFilters.temperature(1f);
        for (SamplingFilters f : List.of(b.topP(0.5f, 4), b.minP(0.5f, 3), b.topK(1, 2))) {
            List<Integer> want = SelectionReference.kept(x, 0, v, f);
            assertTrue(want.size() > 1, "the floor binds: " + want);
            int rows = 64;
            float[] batch = new float[rows * v];
            long[] seeds = new long[rows];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(x, 0, batch, r * v, v);
                seeds[r] = r;
            }
            int[] tokens = new int[rows];
            ek.decoding().raceSample(Tensor.of(batch, rows, v), f, seeds, 0, Tensor.of(tokens));
            for (int token : tokens) {
                assertTrue(want.contains(token), backend + " " + f + ": race drew " + token + ", not in " + want);
            }
            ShardSelection sel = ek.decoding().shardCandidates(Tensor.of(x, 1, v), 0, 1f, 64)[0]
                    .keep(f);
            assertTrue(sel.exact(), f.toString());
            List<Integer> got = new ArrayList<>();
            for (int id : sel.ids()) {
                got.add(id);
            }
            assertEquals(want, got, backend + " " + f);
        }
    }

    @Test
    void aFloorBelowOneIsRefusedByName() {
        SamplingFilters b = SamplingFilters.temperature(1f);
        for (org.junit.jupiter.api.function.Executable e : List.<org.junit.jupiter.api.function.Executable>of(
                () -> b.topK(3, 0), () -> b.topP(0.5f, -1), () -> b.minP(0.1f, 0), () -> b.topH(0.4f, 100, TopHMode.PAPER, 0),
                () -> b.mirostat(3f, 0))) {
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
            assertTrue(ex.getMessage().startsWith("min_tokens_to_keep: must be >= 1, got "), ex.getMessage());
        }
    }
}
