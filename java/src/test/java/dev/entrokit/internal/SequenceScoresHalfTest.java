package dev.entrokit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.DType;
import dev.entrokit.Tensor;
import dev.entrokit.internal.scalar.ScalarBackend;
import dev.entrokit.internal.simd.SimdBackend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Min-K% Prob built with the backend's half kernels (BF16 rows read in registers by {@link HalfKernels#tokenLogprob})
 * against the same backend's float32 path on the widened rows, bitwise, on both CPU backends and at one and two
 * threads, over rows with masked tokens, ties, a special (NaN) row and an all-masked row.
 */
class SequenceScoresHalfTest {
    private static final int SEQS = 4;
    private static final int LENGTH = 6;
    private static final int VOCAB = 3001;

    @Test
    void minKProbOnHalfRowsThroughTheBackendsHalfKernelsEqualsTheFloat32PathOnTheWidenedRows() {
        SplittableRandom rnd = new SplittableRandom(77);
        int rowsCount = SEQS * LENGTH;
        for (DType type : new DType[] {DType.BF16, DType.F16}) {
            short[] bits = new short[rowsCount * VOCAB];
            float[] wide = new float[bits.length];
            for (int i = 0; i < bits.length; i++) {
                int row = i / VOCAB;
                float v = (float) (rnd.nextGaussian() * 4);
                if (rnd.nextDouble() < 0.05 || row == 7) {
                    v = Float.NEGATIVE_INFINITY; // row 7: every token masked (a special row)
                } else if (row == 3) {
                    v = 2.5f; // a row of ties
                } else if (row == 11 && i % VOCAB == 17) {
                    v = Float.NaN;
                }
                bits[i] = type.narrow(v);
                wide[i] = type.widen(bits[i]);
            }
            int[] id = new int[rowsCount];
            for (int r = 0; r < rowsCount; r++) {
                id[r] = rnd.nextInt(VOCAB);
            }
            Tensor ids = Tensor.of(id, SEQS, LENGTH);
            SequenceScores.Shape seq = new SequenceScores.Shape(SEQS, LENGTH, VOCAB, true);
            Backend[] backends = {new SimdBackend(), new ScalarBackend()};
            for (Backend b : backends) {
                for (int threads : new int[] {1, 2}) {
                    try (RowExecutor rows = new RowExecutor(threads)) {
                        float[] expected = new float[SEQS];
                        float[] actual = new float[SEQS];
                        new SequenceScores(b.scoring(), rows).minKProb(Tensor.of(wide, rowsCount, VOCAB), ids, seq, 2,
                                Tensor.of(expected));
                        new SequenceScores(b.scoring(), rows, b::half).minKProb(Tensor.of(bits, type, rowsCount, VOCAB),
                                ids, seq, 2, Tensor.of(actual));
                        int finite = 0;
                        for (int q = 0; q < SEQS; q++) {
                            assertEquals(Float.floatToIntBits(expected[q]), Float.floatToIntBits(actual[q]),
                                    b.name() + " " + type + " threads " + threads + " sequence " + q + ": expected "
                                            + expected[q] + ", got " + actual[q]);
                            finite += Float.isFinite(expected[q]) ? 1 : 0;
                        }
                        assertTrue(finite > 0 && finite < SEQS, "the cases must give finite and non-finite scores");
                    }
                }
            }
        }
    }
}
