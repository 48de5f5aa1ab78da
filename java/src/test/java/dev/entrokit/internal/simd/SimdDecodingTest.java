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
}
