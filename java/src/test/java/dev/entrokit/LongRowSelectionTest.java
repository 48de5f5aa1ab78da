package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.internal.Philox;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * Selection on rows far longer than a vocabulary: the SIMD kernels once kept about 36 bytes of heap
 * per logit per thread, so a row of 2^28 floats ran out of heap in {@code topK} and failed in
 * {@code sample}. The row is structured so that the answer is known exactly: 60 planted logits in
 * [−6.75, 8] (two tied at the top) over a background at most −60, whose total weight (2^28 · e^−68 ≈
 * 1e−21 of the planted mass) is far below every tolerance.
 *
 * <p>The scalar reference sorts the whole row (long keys, int order, double weights: 20 bytes per
 * logit, 5 GiB at 2^28), which does not fit this suite's 3 GiB budget, so at 2^28 it runs only the
 * greedy sample (no sort); both backends run every op at 2^21.
 */
class LongRowSelectionTest {
    private static final int PLANTED = 60;
    private static final float TOP = 8f;

    /** The planted tokens of a row of {@code n}, in SPEC order: {index, value}. */
    private static long[][] planted(long n) {
        List<long[]> p = new ArrayList<>();
        for (int j = 0; j < PLANTED; j++) {
            long at = switch (j) {
                case 0 -> n - 1;     // ties with j = 1 at the top: the lower index (0) goes first
                case 1 -> 0;
                case 2 -> n - 5;     // in the scalar tail of a vector loop
                default -> j * (n / PLANTED) + (j * 7919L) % 1000;
            };
            float value = j == 0 ? TOP : TOP - 0.25f * (j - 1);
            p.add(new long[] {at, Float.floatToIntBits(value)});
        }
        p.sort(Comparator.comparingDouble((long[] t) -> -Float.intBitsToFloat((int) t[1])).thenComparingLong(t -> t[0]));
        return p.toArray(new long[0][]);
    }

    private static float value(long[] token) {
        return Float.intBitsToFloat((int) token[1]);
    }

    /** A shared-arena row of {@code n} logits: the background, then the planted tokens. */
    private static MemorySegment row(Arena arena, long n) {
        MemorySegment x = arena.allocate(n * Float.BYTES, 64);
        for (long i = 0; i < n; i++) {
            int h = (int) (i * 0x9E3779B9L) >>> 8; // 2^24 levels spread over the row in no order
            x.setAtIndex(ValueLayout.JAVA_FLOAT, i, -60f - h * (10f / (1 << 24)));
        }
        for (long[] t : planted(n)) {
            x.setAtIndex(ValueLayout.JAVA_FLOAT, t[0], value(t));
        }
        return x;
    }

    /** Weights {@code exp(x − max)} of the planted tokens in SPEC order, as the kernels compute them. */
    private static double[] weights(long[][] p) {
        double[] w = new double[p.length];
        for (int j = 0; j < p.length; j++) {
            w[j] = Math.exp((double) value(p[j]) - TOP);
        }
        return w;
    }

    /** Length of the shortest prefix of the first {@code len} whose mass reaches {@code p} of theirs. */
    private static int topPLength(double[] w, int len, double p) {
        double total = 0;
        for (int j = 0; j < len; j++) {
            total += w[j];
        }
        double cum = 0;
        for (int j = 0; j < len; j++) {
            cum += w[j];
            assertTrue(Math.abs(cum / total - p) > 1e-4, "the test row keeps away from SPEC §5's band");
            if (cum >= p * total) {
                return j + 1;
            }
        }
        return len;
    }

    @Test
    void rowsOf2To28FloatsOnSimdAndGreedyOnScalar() {
        onRow(1L << 28, (arena, logits) -> {
            if (TestBackends.available("simd")) {
                checkEveryOp(TestBackends.instance("simd"), logits, 1L << 28, arena);
            }
            if (!TestBackends.widthRerun()) {
                checkGreedy(TestBackends.scalarReference(), logits);
            }
        });
    }

    @Test
    void rowsOf2To21FloatsOnEveryBackend() {
        onRow(1L << 21, (arena, logits) -> {
            for (String backend : TestBackends.availableNames()) {
                checkEveryOp(TestBackends.instance(backend), logits, 1L << 21, arena);
            }
        });
    }

    /** Runs {@code check} on a {@code [1, n]} tensor over {@link #row}, freed afterwards. */
    private static void onRow(long n, BiConsumer<Arena, Tensor> check) {
        try (Arena arena = Arena.ofShared()) {
            check.accept(arena, Tensor.of(row(arena, n), DType.F32, 1, n));
        }
    }

    private static void checkGreedy(Entrokit ek, Tensor logits) {
        int[] tok = new int[1];
        ek.decoding().sample(logits, SamplingFilters.temperature(0f), new long[] {9}, 0, Tensor.of(tok));
        assertEquals(0, tok[0], "greedy: the lowest index of the tied maxima");
    }

    private static void checkEveryOp(Entrokit ek, Tensor logits, long n, Arena arena) {
        long[][] p = planted(n);
        double[] w = weights(p);
        double total = 0;
        for (double v : w) {
            total += v;
        }
        checkGreedy(ek, logits);

        int k = 50;
        int[] idx = new int[k];
        float[] val = new float[k];
        float[] prob = new float[k];
        ek.decoding().topK(logits, k, 1f, Tensor.of(idx, 1, k), Tensor.of(val, 1, k), Tensor.of(prob, 1, k));
        for (int j = 0; j < k; j++) {
            assertEquals(p[j][0], idx[j], "top-k index " + j);
            assertEquals(value(p[j]), val[j], "top-k value " + j);
            double want = w[j] / total;
            assertEquals(want, prob[j], 1e-6 + 1e-5 * want, "top-k probability " + j);
        }

        // Top-p 0.9 alone, as a mask over the whole row.
        int keep = topPLength(w, PLANTED, 0.9);
        MemorySegment mask = arena.allocate(n, 64);
        ek.decoding().keptMask(logits, SamplingFilters.temperature(1f).topP(0.9f), Tensor.of(mask, DType.BOOL, 1, n));
        long ones = 0;
        for (long i = 0; i < n; i += 8) {
            ones += Long.bitCount(mask.get(ValueLayout.JAVA_LONG_UNALIGNED, i)); // bytes are 0 or 1
        }
        assertEquals(keep, ones, "top-p kept count");
        for (int j = 0; j < PLANTED; j++) {
            assertEquals(j < keep ? 1 : 0, mask.get(ValueLayout.JAVA_BYTE, p[j][0]), "top-p mask at planted " + j);
        }

        // T = 1, top-k 50, top-p 0.9: the reference walks the kept tokens by ascending id.
        int kept = topPLength(w, k, 0.9);
        List<long[]> byId = new ArrayList<>(List.of(p).subList(0, kept));
        byId.sort(Comparator.comparingLong(t -> t[0]));
        SamplingFilters f = SamplingFilters.temperature(1f).topK(k).topP(0.9f);
        for (long step = 0; step < 3; step++) {
            int[] tok = new int[1];
            ek.decoding().sample(logits, f, new long[] {42}, step, Tensor.of(tok));
            double sum = 0;
            for (long[] t : byId) {
                sum += Math.exp((double) value(t) - TOP);
            }
            double target = Philox.uniform(42, 0, step) * sum;
            double cum = 0;
            long want = -1;
            for (long[] t : byId) {
                cum += Math.exp((double) value(t) - TOP);
                if (cum > target) {
                    want = t[0];
                    break;
                }
            }
            assertEquals(want, tok[0], "sample at step " + step);
        }

        // The kept tokens with their renormalized probabilities.
        int[] ids = new int[16];
        float[] probs = new float[16];
        int[] count = new int[1];
        ek.decoding().keptTokens(logits, SamplingFilters.temperature(1f).topP(0.9f), Tensor.of(ids, 1, 16),
                Tensor.of(probs, 1, 16), Tensor.of(count));
        assertEquals(keep, count[0]);
        double keptMass = 0;
        for (int j = 0; j < keep; j++) {
            keptMass += w[j];
        }
        int[] wantIds = new int[16];
        for (int j = 0; j < 16; j++) {
            wantIds[j] = j < keep ? (int) p[j][0] : -1;
            double want = j < keep ? w[j] / keptMass : 0;
            assertEquals(want, probs[j], 1e-6 + 1e-5 * want, "kept probability " + j);
        }
        assertArrayEquals(wantIds, ids);
    }
}
