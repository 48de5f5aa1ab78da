package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.AdversarialRows.Named;
import dev.entrokit.Spec5.Kind;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fused softmax with row statistics: on every backend, its probabilities / log-probabilities and its
 * max, log-sum-exp and entropy equal the separate calls bitwise (the same arithmetic, one exp per element),
 * match the float64 oracle within SPEC §5 (PROB / LOG for the outputs and the log-sum-exp, LOSS for the
 * entropy), are NaN on special rows, and are the same in place. Rows: the adversarial set plus a random
 * batch, at odd sizes.
 */
@Tag("simd-width")
class SoftmaxStatsTest {

    private static float[] rows(int v, float t) {
        List<Named> adversarial = AdversarialRows.all(v, TestLogits.seed("softmax-stats", v));
        float[] a = AdversarialRows.batch(adversarial);
        float[] random = TestLogits.batch(TestLogits.seed("softmax-stats-random", v, 3, t), 3, v);
        float[] x = new float[a.length + random.length];
        System.arraycopy(a, 0, x, 0, a.length);
        System.arraycopy(random, 0, x, a.length, random.length);
        return x;
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("dev.entrokit.AdversarialRowsTest#cases")
    void fusedEqualsSeparateCallsAndTheOracle(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = rows(v, t);
        int n = x.length / v;
        for (boolean log : new boolean[] {false, true}) {
            float[] fused = new float[n * v];
            float[] max = new float[n];
            float[] lse = new float[n];
            float[] h = new float[n];
            Tensor logits = Tensor.of(x, n, v);
            if (log) {
                ek.logSoftmax(logits, Tensor.of(fused, n, v), t, Tensor.of(max), Tensor.of(lse), Tensor.of(h));
            } else {
                ek.softmax(logits, Tensor.of(fused, n, v), t, Tensor.of(max), Tensor.of(lse), Tensor.of(h));
            }
            float[] separate = new float[n * v];
            float[] lseSeparate = new float[n];
            float[] hSeparate = new float[n];
            if (log) {
                ek.logSoftmax(logits, Tensor.of(separate, n, v), t);
            } else {
                ek.softmax(logits, Tensor.of(separate, n, v), t);
            }
            ek.logSumExp(logits, Tensor.of(lseSeparate), t);
            ek.entropy(logits, LossOptions.defaults().temperature(t).reduction(Reduction.NONE),
                    Tensor.of(hSeparate), null);
            String what = backend + (log ? " log_softmax" : " softmax") + " V=" + v + " T=" + t;
            assertArrayEquals(separate, fused, what + ": outputs differ from the separate call");
            for (int r = 0; r < n; r++) {
                String at = what + " row " + r;
                double[] row = widen(x, r * v, v);
                double ref = Float64Oracle.logSumExp(row, t);
                if (Double.isNaN(ref)) {
                    assertTrue(Float.isNaN(max[r]) && Float.isNaN(lse[r]) && Float.isNaN(h[r]),
                            at + ": a special row gives NaN statistics, got " + max[r] + " " + lse[r] + " " + h[r]);
                    continue;
                }
                assertEquals(Float.floatToIntBits(lseSeparate[r]), Float.floatToIntBits(lse[r]), at + ": log-sum-exp");
                assertEquals(Float.floatToIntBits(hSeparate[r]), Float.floatToIntBits(h[r]), at + ": entropy");
                float rowMax = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < v; i++) {
                    rowMax = Math.max(rowMax, x[r * v + i]);
                }
                assertEquals(rowMax, max[r], at + ": max");
                Spec5.check(Kind.LOG, lse[r], ref, "log-sum-exp " + at);
                Spec5.check(Kind.LOSS, h[r], Float64Oracle.entropy(row, t), "entropy " + at);
                Spec5.check(log ? Kind.LOG : Kind.PROB, fused, r * v,
                        log ? Float64Oracle.logSoftmax(row, t) : Float64Oracle.softmax(row, t), at);
            }
        }
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("dev.entrokit.AdversarialRowsTest#cases")
    void inPlaceEqualsOutOfPlace(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = rows(v, t);
        int n = x.length / v;
        for (boolean log : new boolean[] {false, true}) {
            float[] out = new float[n * v];
            float[] h = new float[n];
            float[] inPlace = x.clone();
            float[] hInPlace = new float[n];
            Tensor view = Tensor.of(inPlace, n, v);
            if (log) {
                ek.logSoftmax(Tensor.of(x, n, v), Tensor.of(out, n, v), t, null, null, Tensor.of(h));
                ek.logSoftmax(view, view, t, null, null, Tensor.of(hInPlace));
            } else {
                ek.softmax(Tensor.of(x, n, v), Tensor.of(out, n, v), t, null, null, Tensor.of(h));
                ek.softmax(view, view, t, null, null, Tensor.of(hInPlace));
            }
            assertArrayEquals(out, inPlace, backend + " in place, log=" + log);
            assertArrayEquals(h, hInPlace, backend + " entropy in place, log=" + log);
        }
    }

    @Test
    void overlappingStatisticsAreRefusedByName() {
        Entrokit ek = TestBackends.open("scalar");
        float[] x = TestLogits.batch(1, 4, 9);
        float[] stats = new float[8];
        Tensor a = Tensor.of(java.lang.foreign.MemorySegment.ofArray(stats), DType.F32, 4);
        Tensor b = Tensor.of(java.lang.foreign.MemorySegment.ofArray(stats).asSlice(8), DType.F32, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ek.softmax(Tensor.of(x, 4, 9), Tensor.of(new float[36], 4, 9), 1f, a, b, null));
        assertTrue(e.getMessage().contains("rowLogSumExp") && e.getMessage().contains("rowMax"), e.getMessage());
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> ek.softmax(Tensor.of(x, 4, 9), Tensor.of(new float[36], 4, 9), 1f, null, null, Tensor.of(new float[3])));
        assertTrue(small.getMessage().startsWith("rowEntropy"), small.getMessage());
    }
}
