package dev.entrokit.internal.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.entrokit.Entrokit;
import dev.entrokit.SamplingFilters;
import dev.entrokit.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The selection workspace of a thread grows with what a ranking gathers, never with the row, and a
 * failed growth leaves it as it was. These run on the calling thread (one row, one-thread instance),
 * so {@link Candidates#get()} here is the workspace the kernels used.
 */
@Tag("simd-width")
class SelectionWorkspaceTest {
    private static final int N = 1 << 21; // twice the heap window

    private static Entrokit simd() {
        assumeTrue(Entrokit.backends().stream().anyMatch(b -> b.name().equals("simd") && b.available()));
        return Entrokit.create("simd", 1);
    }

    @Test
    void aFailedGrowthLeavesTheWorkspaceUsable() {
        try (Entrokit ek = simd()) {
            // The request must fail without being granted: an 8 GiB int[] past this heap's limit.
            assumeTrue(Runtime.getRuntime().maxMemory() < 7L << 30, "heap too large to be refused");
            Candidates c = Candidates.get();
            c.grow(100);
            c.growWindow(100);
            int[] index = c.index;
            long[] key = c.key;
            float[] logit = c.logit;
            double[] weight = c.weight;
            int[] winIndex = c.winIndex;
            assertThrows(OutOfMemoryError.class, () -> c.grow(Integer.MAX_VALUE - 64));
            assertThrows(OutOfMemoryError.class, () -> c.growWindow(Integer.MAX_VALUE - 64));
            assertSame(index, c.index);
            assertSame(key, c.key);
            assertSame(logit, c.logit);
            assertSame(weight, c.weight);
            assertSame(winIndex, c.winIndex);

            // A later top-k on this thread needs more than those 100 slots (a flat row gathers them all).
            int v = 100_000;
            float[] x = new float[v];
            x[77_777] = 1f;
            x[5] = 1f;
            int[] idx = new int[21];
            float[] val = new float[21];
            ek.decoding().topK(Tensor.of(x, 1, v), 21, 1f, Tensor.of(idx, 1, 21), Tensor.of(val, 1, 21), null);
            int[] want = new int[21];
            want[0] = 5;
            want[1] = 77_777;
            for (int j = 2; j < 21; j++) {
                want[j] = j - 2 < 5 ? j - 2 : j - 1; // the zeros by index, skipping 5
            }
            assertArrayEquals(want, idx);
        }
    }

    @Test
    void aWideTopPBoundsItsWindowAndKeepsAPrefixOfTheRightMass() {
        SplittableRandom rnd = new SplittableRandom(11);
        float[] x = new float[N];
        for (int i = 0; i < N; i++) {
            x[i] = rnd.nextInt(100) == 0 ? Float.NEGATIVE_INFINITY : (float) rnd.nextGaussian();
        }
        checkTopP(x, 0.9f);
    }

    @Test
    void aTopPCrossingInsideMillionsOfTiesGoesByIndex() {
        float[] x = new float[N]; // all 0 but ten planted tokens holding about a quarter of the mass
        for (int j = 0; j < 10; j++) {
            x[j * 200_003 + 3] = (float) Math.log(N / 40.0);
        }
        checkTopP(x, 0.5f);
        checkTopP(x, 0.999f);
    }

    /**
     * SPEC §2 with §5's band: the kept set is a prefix of SPEC order whose float64 mass reaches
     * {@code p} and would not without its last token (each within 1e-6), and the heap window stayed
     * bounded though the crossing lay among millions of tokens.
     */
    private static void checkTopP(float[] x, float p) {
        try (Entrokit ek = simd()) {
            byte[] mask = new byte[N];
            int candidatesBefore = Candidates.get().index.length;
            ek.decoding().keptMask(Tensor.of(x, 1, N), SamplingFilters.temperature(1f).topP(p), Tensor.ofMask(mask, 1,
                    N));
            Candidates c = Candidates.get();
            assertTrue(c.winIndex.length <= 2 * WideCut.WINDOW_CAP + SimdConstants.L, "window " + c.winIndex.length);
            assertTrue(c.index.length <= Math.max(candidatesBefore, 1 << 16), "candidates " + c.index.length);

            float max = Float.NEGATIVE_INFINITY;
            for (float v : x) {
                max = Math.max(max, v);
            }
            double total = 0;
            for (float v : x) {
                total += Math.exp((double) v - max);
            }
            double keptMass = 0;
            int last = -1;       // the kept token last in SPEC order
            int firstOut = -1;   // the live token not kept that is first in SPEC order
            for (int i = 0; i < N; i++) {
                if (mask[i] == 1) {
                    assertTrue(x[i] != Float.NEGATIVE_INFINITY, "kept a masked token at " + i);
                    keptMass += Math.exp((double) x[i] - max) / total;
                    if (last < 0 || before(x, last, i)) {
                        last = i;
                    }
                } else if (x[i] != Float.NEGATIVE_INFINITY && (firstOut < 0 || before(x, i, firstOut))) {
                    firstOut = i;
                }
            }
            assertTrue(firstOut < 0 || before(x, last, firstOut), "kept set is not a prefix: " + last + " vs " + firstOut);
            double lastMass = Math.exp((double) x[last] - max) / total;
            assertTrue(keptMass >= p - 1e-6, "kept mass " + keptMass + " < p = " + p);
            assertTrue(keptMass - lastMass < p + 1e-6, "kept mass without its last " + (keptMass - lastMass) + " ≥ p");
        }
    }

    /** Whether token {@code a} comes before token {@code b} in SPEC order. */
    private static boolean before(float[] x, int a, int b) {
        return x[a] > x[b] || x[a] == x[b] && a < b;
    }
}
