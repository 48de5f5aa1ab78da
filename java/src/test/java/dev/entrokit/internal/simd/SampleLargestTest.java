package dev.entrokit.internal.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The sampled threshold's "r largest of the sample" ({@link SimdSelectionKernels#sampleLargest} on float32 rows,
 * {@link HalfSelectionPasses#sampleLargest} and {@code sampleLargestF16} on half rows) against a sort of the same
 * sample: one vector of {@code L} adjacent elements every {@code stride} elements. Rows with many ties (values on a
 * coarse grid), rising and falling runs, and ranks from 1 to past the sample's size. Tolerance: none (a selection).
 */
@Tag("simd-width")
class SampleLargestTest {
    private static final int L = SimdConstants.L;

    /** The sample's values, largest first. */
    private static float[] sampleDescending(float[] row, long off, int chunks, long stride) {
        float[] s = new float[chunks * L];
        for (int k = 0; k < chunks; k++) {
            for (int j = 0; j < L; j++) {
                s[k * L + j] = row[(int) (off + k * stride) + j];
            }
        }
        Arrays.sort(s);
        for (int i = 0, j = s.length - 1; i < j; i++, j--) {
            float t = s[i];
            s[i] = s[j];
            s[j] = t;
        }
        return s;
    }

    private static float[] row(SplittableRandom rnd, int n, int shape) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (shape) {
                case 0 -> (float) (3 * rnd.nextGaussian());
                case 1 -> Math.round(4 * rnd.nextGaussian()) / 4f; // ties everywhere (and exact in bf16 and f16)
                case 2 -> i * 0.01f;                                 // rising: every later vector enters
                default -> -i * 0.01f;                               // falling: only the first r lanes enter
            };
        }
        return x;
    }

    @Test
    void theRLargestOfTheSampleDescending() {
        SplittableRandom rnd = new SplittableRandom(17);
        try (Arena arena = Arena.ofConfined()) {
            for (int shape = 0; shape < 4; shape++) {
                for (int n : new int[] {L, 7 * L + 3, 4099, 40000}) {
                    float[] x = row(rnd, n, shape);
                    MemorySegment f32 = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
                    short[] bf = new short[n];
                    short[] h = new short[n];
                    float[] bfValues = new float[n];
                    float[] hValues = new float[n];
                    for (int i = 0; i < n; i++) {
                        bf[i] = (short) (Float.floatToRawIntBits(x[i]) >>> 16);
                        bfValues[i] = Float.intBitsToFloat(bf[i] << 16);
                        h[i] = Float.floatToFloat16(x[i]);
                        hValues[i] = Float.float16ToFloat(h[i]);
                    }
                    MemorySegment bf16 = arena.allocateFrom(ValueLayout.JAVA_SHORT, bf);
                    MemorySegment f16 = arena.allocateFrom(ValueLayout.JAVA_SHORT, h);
                    int maxChunks = n / L;
                    for (int chunks : new int[] {1, Math.max(1, maxChunks / 3), maxChunks}) {
                        long stride = (long) (n / chunks) / L * L;
                        for (int r : new int[] {1, 2, 5, L - 1, L + 1, 64, chunks * L + 1}) {
                            String what = "shape " + shape + ", n " + n + ", chunks " + chunks + ", r " + r;
                            float[] expected = sampleDescending(x, 0, chunks, stride);
                            float[] largest = new float[r];
                            int filled = SimdSelectionKernels.sampleLargest(f32, 0, 0, chunks, stride, r, largest);
                            int want = Math.min(r, expected.length);
                            assertEquals(want, filled, what);
                            assertArrayEquals(Arrays.copyOf(expected, want), Arrays.copyOf(largest, filled), what);
                            float[] eb = sampleDescending(bfValues, 0, chunks, stride);
                            float[] eh = sampleDescending(hValues, 0, chunks, stride);
                            float rthB = r <= eb.length ? eb[r - 1] : Float.NEGATIVE_INFINITY;
                            float rthH = r <= eh.length ? eh[r - 1] : Float.NEGATIVE_INFINITY;
                            assertEquals(rthB, HalfSelectionPasses.sampleLargest(bf16, 0, chunks, stride, r,
                                    new float[r]), "bf16 " + what);
                            assertEquals(rthH, HalfSelectionPasses.sampleLargestF16(f16, 0, chunks, stride, r,
                                    new float[r]), "f16 " + what);
                        }
                    }
                }
            }
        }
    }
}
