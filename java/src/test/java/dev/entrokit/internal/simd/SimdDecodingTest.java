package dev.entrokit.internal.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.DType;
import dev.entrokit.SamplingFilters;
import dev.entrokit.internal.scalar.ScalarSelectionKernels;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The simd path of the entropy-shaped steps must do its own work on ordinary rows: equality with the
 * scalar backend (SelectionSimdVsScalarTest) would hold vacuously if every row fell back to the
 * reference. On vocabulary-sized rows each pipeline that starts with a cutting step is served without
 * the fallback, gathers far fewer tokens than the row holds, and keeps what the reference keeps.
 */
@Tag("simd-width")
class SimdDecodingTest {

    @Test
    void servesLongRowsWithoutTheReferenceAndGathersFewTokens() {
        int n = 128_256;
        SplittableRandom rnd = new SplittableRandom(11);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (2.5 * rnd.nextGaussian() + (rnd.nextInt(5000) == 0 ? 12 : 0));
        }
        MemorySegment row = MemorySegment.ofArray(x);
        SamplingFilters b = SamplingFilters.temperature(0.8f);
        ScalarSelectionKernels scalar = new ScalarSelectionKernels();
        for (SamplingFilters f : List.of(b.typical(0.9f), b.typical(0.5f, 4), b.epsilon(1e-4f), b.eta(3e-4f),
                b.topNSigma(1f), b.topNSigma(2f, 8), b.topK(50).typical(0.9f), b.topP(0.9f).eta(1e-3f),
                b.dynamicTemperature(0.5f, 1.5f, 1f).epsilon(1e-3f), b.minP(0.01f).topNSigma(1.5f))) {
            SimdDecoding d = SimdDecoding.get();
            assertEquals(SimdDecoding.Outcome.DONE, d.survivors(dev.entrokit.DType.F32, row, 0, n, f, Double.NaN), f + " fell back to the reference");
            int gathered = Candidates.get().count;
            assertTrue(gathered < n / 4, f + " gathered " + gathered + " of " + n);
            byte[] want = new byte[n];
            byte[] got = new byte[n];
            int kept = scalar.keptMask(row, 0, n, f, MemorySegment.ofArray(want), 0);
            assertEquals(kept, SimdDecoding.keptMask(dev.entrokit.DType.F32, row, 0, n, f, MemorySegment.ofArray(got), 0), f.toString());
            assertTrue(java.util.Arrays.equals(want, got), f + " kept set");
        }
    }

    /**
     * A bfloat16 row runs the same passes in registers: served without the reference, and with the kept set, the
     * survivors and their logits of the float32 path on the row widened to float32 (bitwise).
     */
    @Test
    void servesBf16RowsInRegistersAsTheirWidenedF32Rows() {
        int n = 128_256 + 5; // a scalar tail at every width
        SplittableRandom rnd = new SplittableRandom(12);
        short[] bits = new short[n];
        float[] wide = new float[n];
        for (int i = 0; i < n; i++) {
            bits[i] = DType.BF16.narrow((float) (2.5 * rnd.nextGaussian() + (rnd.nextInt(5000) == 0 ? 12 : 0)));
            wide[i] = DType.BF16.widen(bits[i]);
        }
        MemorySegment half = MemorySegment.ofArray(bits);
        MemorySegment row = MemorySegment.ofArray(wide);
        SamplingFilters b = SamplingFilters.temperature(0.8f);
        List<SamplingFilters> pipelines = List.of(b.typical(0.9f), b.typical(0.5f, 4), b.typical(0.999f),
                b.epsilon(1e-4f), b.eta(3e-4f), b.mirostat(6f), b.topNSigma(1f), b.topNSigma(2f, 8),
                b.topK(50).typical(0.9f), b.topP(0.9f).eta(1e-3f), b.dynamicTemperature(0.5f, 1.5f, 1f).epsilon(1e-3f),
                b.minP(0.01f).topNSigma(1.5f));
        int served = 0;
        for (SamplingFilters f : pipelines) {
            SimdDecoding d = SimdDecoding.get();
            SimdDecoding.Outcome wanted = d.survivors(DType.F32, row, 0, n, f, Double.NaN);
            if (wanted != SimdDecoding.Outcome.DONE) { // bf16's coarse values may tie at a cut: the reference decides
                assertEquals(wanted, d.survivors(DType.BF16, half, 0, n, f, Double.NaN), f + " outcome");
                continue;
            }
            served++;
            int m = d.row.m;
            int[] ids = java.util.Arrays.copyOf(d.row.id, m);
            float[] logits = java.util.Arrays.copyOf(d.row.logit, m);
            double[] w = java.util.Arrays.copyOf(d.row.w, m);
            double t = d.row.t;
            assertEquals(SimdDecoding.Outcome.DONE, d.survivors(DType.BF16, half, 0, n, f, Double.NaN),
                    f + " fell back to the reference on a BF16 row");
            assertTrue(Candidates.get().count < n / 4, f + " gathered " + Candidates.get().count + " of " + n);
            assertEquals(m, d.row.m, f + " survivors");
            assertTrue(java.util.Arrays.equals(ids, java.util.Arrays.copyOf(d.row.id, m)), f + " ids");
            assertTrue(java.util.Arrays.equals(logits, java.util.Arrays.copyOf(d.row.logit, m)), f + " logits");
            assertTrue(java.util.Arrays.equals(w, java.util.Arrays.copyOf(d.row.w, m)), f + " weights");
            assertEquals(Double.doubleToLongBits(t), Double.doubleToLongBits(d.row.t), f + " temperature");
        }
        assertTrue(served >= pipelines.size() - 2, "only " + served + " of " + pipelines.size() + " served here");
    }

    /**
     * A dynamic temperature followed by prefix filters only, on flat rows (N(0, 1) logits), where min-p and top-p then
     * keep tens of thousands of tokens: a cut below the ranked candidates, which the prefix kernels take at the new
     * temperature (every such row ran the scalar reference before). The kept masks and the sampled tokens are the
     * scalar backend's.
     */
    @Test
    void dynamicTemperatureThenPrefixFiltersRunOnThePrefixKernels() {
        int n = 128_256 + 3;
        SplittableRandom rnd = new SplittableRandom(13);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        MemorySegment row = MemorySegment.ofArray(x);
        SamplingFilters b = SamplingFilters.temperature(1f).dynamicTemperature(0.5f, 1.5f, 1f);
        ScalarSelectionKernels scalar = new ScalarSelectionKernels();
        int wide = 0;
        for (SamplingFilters f : List.of(b.minP(0.05f), b.minP(0.02f, 3), b.minP(0.02f).topP(0.5f), b.topP(0.9f),
                b.topK(50).topP(0.95f), b.topK(40).minP(0.1f))) {
            SimdDecoding d = SimdDecoding.get();
            // One closing min-p: the prefix kernels take a float temperature, within SPEC §5's band for min-p
            // (SimdDecoding.minPAtFloatT). One closing top-p whose cut the ranking cannot take: for a mask, when the
            // float temperature moves its cumulative sums within that band (topPAtFloatT: always on these rows); a draw
            // keeps the reference. Other pipelines keep the ranking.
            boolean minPOnly = f.filters().size() == 2 && f.filters().get(1).kind() == SamplingFilters.Kind.MIN_P;
            boolean topPOnly = f.filters().size() == 2 && f.filters().get(1).kind() == SamplingFilters.Kind.TOP_P;
            SimdDecoding.Outcome o = d.survivors(DType.F32, row, 0, n, f, Double.NaN, SimdDecoding.Shortcuts.MASK);
            assertEquals(minPOnly || topPOnly, o == SimdDecoding.Outcome.PREFIX_FILTERS, f + ": " + o);
            SimdDecoding.Outcome drawn = d.survivors(DType.F32, row, 0, n, f, Double.NaN, SimdDecoding.Shortcuts.DRAW);
            assertEquals(minPOnly, drawn == SimdDecoding.Outcome.PREFIX_FILTERS, f + " drawn: " + drawn);
            int kept = assertSameAsScalar(scalar, row, n, f, 7L, 16);
            wide += kept > n / 4 ? 1 : 0;
        }
        assertTrue(wide >= 1, "no pipeline kept a quarter of the row: the wide case was not exercised");
    }

    /**
     * Top-p after a dynamic temperature takes the prefix kernels' float temperature only where the cast's move, times
     * the spread of {@code z = (x − m)/t} under the row's probabilities, stays within SPEC §5's band: a row with half its
     * mass on one token and half on 50000 tokens about 10.8 nats lower (spread 5.4) at a temperature the cast moves by more
     * than 5e-8 keeps the reference; the mask is the scalar backend's either way.
     */
    @Test
    void topPAfterADynamicTemperatureKeepsTheReferenceWhereTheFloatTemperatureMovesItsSums() {
        float t0 = 0.7f;
        float c = 0;
        for (float k = 1.3f; c == 0; k = Math.nextUp(k)) { // a factor whose product with t0 the float cast moves by > 5e-8
            double t = (double) t0 * k;
            c = Math.abs((float) t - t) / t > 5e-8 ? k : 0;
        }
        double t = (double) t0 * c;
        int n = 50_001;
        float[] x = new float[n];
        SplittableRandom rnd = new SplittableRandom(16);
        for (int i = 0; i < n; i++) { // spread a little, so that the ranking's sampled threshold lies inside the group
            x[i] = (float) (-t * Math.log(n - 1) + 0.2 * rnd.nextGaussian());
        }
        x[n / 2] = 0;
        MemorySegment row = MemorySegment.ofArray(x);
        SamplingFilters f = SamplingFilters.temperature(t0).dynamicTemperature(c, c, 1f).topP(0.9f);
        SimdDecoding.Outcome o = SimdDecoding.get().survivors(DType.F32, row, 0, n, f, Double.NaN, SimdDecoding.Shortcuts.MASK);
        assertEquals(SimdDecoding.Outcome.FALLBACK, o, f.toString());
        int kept = assertSameAsScalar(new ScalarSelectionKernels(), row, n, f, 5L, 4);
        assertTrue(kept > n / 2, "kept " + kept);
    }

    /**
     * A closing ε, η or Mirostat step that keeps most of a flat row is answered as a logit cut, its tokens never
     * sorted: the kept masks and the sampled tokens are the scalar backend's, and the pipeline's survivors without
     * the cut (the sorted path) are the same set.
     */
    @Test
    void closingThresholdStepsOnFlatRowsAreLogitCuts() {
        int n = 128_256 + 7;
        SplittableRandom rnd = new SplittableRandom(14);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextInt(50) == 0 ? Float.NEGATIVE_INFINITY : (float) (1.5 * rnd.nextGaussian());
        }
        MemorySegment row = MemorySegment.ofArray(x);
        SamplingFilters b = SamplingFilters.temperature(0.9f);
        ScalarSelectionKernels scalar = new ScalarSelectionKernels();
        for (SamplingFilters f : List.of(b.eta(3e-4f), b.epsilon(3e-6f), b.mirostat(19f), b.eta(1e-3f, 127_000),
                SamplingFilters.temperature(1f).dynamicTemperature(0.5f, 1.5f, 1f).eta(3e-4f))) {
            SimdDecoding d = SimdDecoding.get();
            SimdDecoding.Outcome o = d.survivors(DType.F32, row, 0, n, f, Double.NaN, SimdDecoding.Shortcuts.MASK);
            // A draw takes the cut only at a temperature that is a float exactly (no dynamic temperature before).
            boolean plainT = f.filters().size() == 1;
            SimdDecoding.Outcome drawn = d.survivors(DType.F32, row, 0, n, f, Double.NaN, SimdDecoding.Shortcuts.DRAW);
            int kept = assertSameAsScalar(scalar, row, n, f, 9L, 16);
            if (f.filters().get(f.filters().size() - 1).minKeep() > 1) {
                assertTrue(o != SimdDecoding.Outcome.CUT, f + ": a min_keep above the kept count needs the sorted path");
            } else {
                assertEquals(SimdDecoding.Outcome.CUT, o, f.toString());
                assertEquals(plainT, drawn == SimdDecoding.Outcome.CUT, f + " drawn: " + drawn);
                assertTrue(kept > n / 4, f + " kept " + kept);
                assertEquals(SimdDecoding.Outcome.DONE, d.survivors(DType.F32, row, 0, n, f, Double.NaN, SimdDecoding.Shortcuts.NONE), f + " sorted");
                assertEquals(kept, d.row.m, f + " sorted path's survivors");
            }
        }
    }

    /**
     * A closing typical step that keeps much of a flat row is decided by histograms of its keys, its tokens never
     * sorted: the kept masks, masked logits (float32 and bfloat16), drawn tokens with and without their probability and
     * constrained draws are the scalar backend's, on float32 and bfloat16 rows, and the kept set is the sorted path's. A
     * {@code minKeep} above one keeps ranks, which needs the sorted path.
     */
    @Test
    void closingTypicalOnFlatRowsIsDecidedWithoutSorting() {
        int n = 128_256 + 7;
        SplittableRandom rnd = new SplittableRandom(15);
        float[] x = new float[n];
        short[] bf = new short[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextInt(50) == 0 ? Float.NEGATIVE_INFINITY : (float) (1.5 * rnd.nextGaussian());
            bf[i] = (short) (Float.floatToRawIntBits(x[i]) >>> 16); // truncated: a bfloat16 with many ties
        }
        float[] widened = new float[n];
        for (int i = 0; i < n; i++) {
            widened[i] = Float.intBitsToFloat(bf[i] << 16);
        }
        MemorySegment row = MemorySegment.ofArray(x);
        SamplingFilters b = SamplingFilters.temperature(0.9f);
        ScalarSelectionKernels scalar = new ScalarSelectionKernels();
        for (SamplingFilters f : List.of(b.typical(0.9f), b.typical(0.2f), b.typical(0.999f), b.typical(0.9999f),
                SamplingFilters.temperature(1f).dynamicTemperature(0.5f, 1.5f, 1f).typical(0.9f), b.typical(0.9f, 2))) {
            SimdDecoding d = SimdDecoding.get();
            SimdDecoding.Outcome o = d.survivors(DType.F32, row, 0, n, f, Double.NaN, SimdDecoding.Shortcuts.MASK);
            SimdDecoding.Outcome drawn = d.survivors(DType.F32, row, 0, n, f, Double.NaN, SimdDecoding.Shortcuts.DRAW);
            int kept = assertSameAsScalar(scalar, row, n, f, 9L, 16);
            if (f.filters().get(f.filters().size() - 1).minKeep() > 1) {
                assertTrue(o != SimdDecoding.Outcome.UNORDERED, f + ": a min_keep above one needs the sorted path");
                continue;
            }
            assertEquals(SimdDecoding.Outcome.UNORDERED, o, f.toString());
            assertEquals(SimdDecoding.Outcome.UNORDERED, drawn, f + " drawn");
            // The callers that read survivors in no order: a draw with its probability, a constrained draw, and masked
            // logits into bfloat16.
            assertEquals(SimdDecoding.Outcome.UNORDERED,
                    d.survivors(DType.F32, row, 0, n, f, Double.NaN, SimdDecoding.Shortcuts.ANY_ORDER), f + " any order");
            // Bitwise for a plain temperature; a dynamic one is the row's float-lane entropy here and the reference's
            // float64 one, which moves the probabilities by about 1e-8 of themselves (SPEC §5).
            double rel = f.filters().size() == 1 ? 0 : 1e-6;
            for (long step = 0; step < 8; step++) {
                double[] want = new double[1];
                double[] got = new double[1];
                assertEquals(scalar.sample(row, 0, n, f, 9L, 0, step, want, 0),
                        SimdDecoding.sample(DType.F32, row, 0, n, f, 9L, 0, step, got, 0), f + " with probability, step " + step);
                assertEquals(want[0], got[0], rel * want[0], f + " token probability, step " + step);
                double[] wantStats = new double[2];
                double[] gotStats = new double[2];
                java.util.function.IntPredicate even = token -> token % 2 == 0;
                assertEquals(scalar.sampleConstrained(row, 0, n, f, 9L, 0, step, even, wantStats, 0),
                        SimdDecoding.sampleConstrained(DType.F32, row, 0, n, f, 9L, 0, step, even, gotStats, 0),
                        f + " constrained, step " + step);
                assertEquals(wantStats[0], gotStats[0], 0.0, f + " rejections, step " + step);
                assertEquals(wantStats[1], gotStats[1], rel * wantStats[1], f + " rejected mass, step " + step);
            }
            assertTrue(kept > 1000, f + " kept " + kept);
            assertEquals(SimdDecoding.Outcome.DONE, d.survivors(DType.F32, row, 0, n, f, Double.NaN, SimdDecoding.Shortcuts.NONE), f + " sorted");
            assertEquals(kept, d.row.m, f + " sorted path's survivors");
            byte[] want = new byte[n];
            byte[] got = new byte[n];
            MemorySegment half = MemorySegment.ofArray(bf);
            assertEquals(scalar.keptMask(MemorySegment.ofArray(widened), 0, n, f, MemorySegment.ofArray(want), 0),
                    SimdDecoding.keptMask(DType.BF16, half, 0, n, f, MemorySegment.ofArray(got), 0), f + " bf16");
            assertTrue(java.util.Arrays.equals(want, got), f + " bf16 kept set");
            float[] wantLogits = widened.clone();
            scalar.maskLogits(MemorySegment.ofArray(widened), 0, n, f, MemorySegment.ofArray(wantLogits), 0);
            short[] gotHalf = new short[n];
            SimdDecoding.maskLogits(DType.BF16, half, 0, n, f, DType.BF16, MemorySegment.ofArray(gotHalf), 0);
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(wantLogits[i]) >>> 16, gotHalf[i] & 0xFFFF, f + " bf16 masked logit " + i);
            }
        }
    }

    /**
     * A typical mass whose target the whole row's mass reaches only by rounding (a mass of 1) is left to the sorted
     * path, which adds in the reference's order: the histograms' order kept 1366 tokens of 4096 where the reference
     * keeps them all, and all of them where it keeps 5 (a reviewer's rows).
     */
    @Test
    void typicalWhoseTargetIsTheWholeMassTakesTheSortedPath() {
        int n = 4096;
        float[] tiers = new float[n];
        float[] dominant = new float[n];
        for (int i = 0; i < n; i++) {
            tiers[i] = i % 3 == 0 ? 0f : -40f;
            dominant[i] = i < 5 ? 12 + i : (float) Math.sin(i);
        }
        ScalarSelectionKernels scalar = new ScalarSelectionKernels();
        for (float[] x : List.of(tiers, dominant)) {
            for (float t : new float[] {1f, 0.3f, 0.01f}) {
                SamplingFilters f = SamplingFilters.temperature(t).typical(1f);
                MemorySegment row = MemorySegment.ofArray(x);
                assertTrue(SimdDecoding.get().survivors(DType.F32, row, 0, n, f, Double.NaN, SimdDecoding.Shortcuts.MASK)
                        != SimdDecoding.Outcome.UNORDERED, f.toString());
                assertSameAsScalar(scalar, row, n, f, 11L, 4);
            }
        }
    }

    /** {@code maskLogits} (float32 in and out) on the simd path gives the scalar backend's logits, bit for bit. */
    private static void assertMaskedLogitsAsScalar(ScalarSelectionKernels scalar, MemorySegment row, int n,
                                                   SamplingFilters f) {
        float[] want = new float[n];
        float[] got = new float[n];
        scalar.maskLogits(row, 0, n, f, MemorySegment.ofArray(want), 0);
        SimdDecoding.maskLogits(DType.F32, row, 0, n, f, DType.F32, MemorySegment.ofArray(got), 0);
        for (int i = 0; i < n; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                assertEquals(want[i], got[i], f + " masked logit " + i);
            }
        }
    }

    /**
     * The prefix kernels run at the float temperature a dynamic temperature's double rounds to: a min-p whose
     * {@code |ln r|} magnifies that rounding past SPEC §5's band, and a temperature past {@code Float.MAX_VALUE}, must
     * not take that path (a reviewer's rows: the first kept one token too few, the second kept everything).
     */
    @Test
    void prefixFiltersAfterADynamicTemperatureStayExactWhereTheFloatTemperatureWouldNot() {
        ScalarSelectionKernels scalar = new ScalarSelectionKernels();
        int n = 128_256;
        SplittableRandom rnd = new SplittableRandom(4);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (20 * rnd.nextGaussian());
        }
        x[0] = 46.60554f;
        assertSameAsScalar(scalar, MemorySegment.ofArray(x), n,
                SamplingFilters.temperature(1f).dynamicTemperature(0.5f, 1.5f, 1f).minP(1e-30f));
        int m = 20_000;
        SplittableRandom big = new SplittableRandom(21);
        float[] y = new float[m];
        for (int i = 0; i < m; i++) {
            y[i] = (float) (big.nextGaussian() * 1e37);
        }
        SamplingFilters hot = SamplingFilters.temperature(3e38f).dynamicTemperature(2f, 2f, 1f); // leaves t = 6e38
        for (SamplingFilters f : List.of(hot.minP(0.95f), hot.topP(0.5f), hot.epsilon(5e-5f))) {
            assertSameAsScalar(scalar, MemorySegment.ofArray(y), m, f);
        }
    }

    /** keptMask, float32 maskLogits and 32 sampled tokens (seed 3) of the simd path equal the scalar backend's. */
    private static void assertSameAsScalar(ScalarSelectionKernels scalar, MemorySegment row, int n, SamplingFilters f) {
        assertSameAsScalar(scalar, row, n, f, 3L, 32);
    }

    /**
     * keptMask, float32 maskLogits and {@code draws} sampled tokens (seed {@code seed}) of the simd path equal the scalar
     * backend's; returns the kept count.
     */
    private static int assertSameAsScalar(ScalarSelectionKernels scalar, MemorySegment row, int n, SamplingFilters f,
                                          long seed, int draws) {
        byte[] want = new byte[n];
        byte[] got = new byte[n];
        int kept = scalar.keptMask(row, 0, n, f, MemorySegment.ofArray(want), 0);
        assertEquals(kept, SimdDecoding.keptMask(DType.F32, row, 0, n, f, MemorySegment.ofArray(got), 0), f.toString());
        assertTrue(java.util.Arrays.equals(want, got), f + " kept set");
        assertMaskedLogitsAsScalar(scalar, row, n, f);
        for (long step = 0; step < draws; step++) {
            assertEquals(scalar.sample(row, 0, n, f, seed, 0, step),
                    SimdDecoding.sample(DType.F32, row, 0, n, f, seed, 0, step, null, 0), f + " step " + step);
        }
        return kept;
    }
}
