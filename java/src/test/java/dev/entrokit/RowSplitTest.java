package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Spec5.Kind;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One long row across threads: a batch with fewer rows than threads cuts each row of at least 32768 logits into
 * fixed chunks that the calling thread and the pool's helpers share. The fused softmax with statistics must give
 * the same bits on 1, 2, 3 and 7 threads, on heap and off-heap tensors and in place; the same bits as the separate
 * softmax / log-softmax, log-sum-exp and entropy calls (which run whole rows); and match the float64 oracle. Rows
 * at and around the cut-off and the chunk size, with masked runs, a NaN or {@code +inf} near the end, a peaked row,
 * a row spread past the float path's limit and an all-masked row.
 */
@Tag("simd-width")
class RowSplitTest {
    private static final Map<String, Entrokit> OPENED = new ConcurrentHashMap<>();

    @AfterAll
    static void close() {
        OPENED.values().forEach(Entrokit::close);
    }

    private static Entrokit instance(String backend, int threads) {
        return OPENED.computeIfAbsent(backend + "/" + threads, k -> Entrokit.create(backend, threads));
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String b : TestBackends.NAMES) {
            for (int v : new int[] {32767, 32768, 32771, 50003, 128256, 4 * 32768 + 1185}) {
                for (String kind : new String[] {"random", "masked-runs", "peaked", "nan-late", "inf-late", "extreme",
                        "all-masked", "signed-zero-max"}) {
                    out.add(Arguments.of(b, v, kind));
                }
            }
        }
        return out.stream();
    }

    static float[] row(int v, String kind) {
        SplittableRandom rnd = new SplittableRandom(TestLogits.seed("row-split", v, kind));
        float[] x = new float[v];
        for (int i = 0; i < v; i++) {
            x[i] = (float) (rnd.nextGaussian() * 3);
        }
        switch (kind) {
            case "masked-runs" -> {
                Arrays.fill(x, 0, Math.min(v, 20000), Float.NEGATIVE_INFINITY); // a whole chunk and more masked
                for (int i = 20000; i < v; i += 7) {
                    x[i] = Float.NEGATIVE_INFINITY;
                }
            }
            case "peaked" -> x[v - 3] = 60f;
            case "nan-late" -> x[v - 2] = Float.NaN;
            case "inf-late" -> x[v - 1] = Float.POSITIVE_INFINITY;
            case "extreme" -> {
                x[17] = 3e4f;
                x[v / 2] = -3e4f;
            }
            case "all-masked" -> Arrays.fill(x, Float.NEGATIVE_INFINITY);
            case "signed-zero-max" -> {
                for (int i = 0; i < v; i++) {
                    x[i] = -Math.abs(x[i]) - 1f;
                }
                x[5] = -0f;
                x[v - 40000 > 0 ? v - 40000 : 9] = 0f;
                x[v - 1] = -0f;
            }
            default -> {
            }
        }
        return x;
    }

    /**
     * The fused call's outputs on {@code threads} threads: probabilities (or log-probabilities), max, lse, entropy;
     * {@code plain}: the separate softmax (or log-softmax) and log-sum-exp calls instead.
     */
    private static float[][] run(String backend, int threads, float[] x, boolean log, float t, boolean offHeap,
                                 boolean inPlace, boolean plain) {
        int v = x.length;
        Entrokit ek = instance(backend, threads);
        try (Arena arena = Arena.ofShared()) {
            float[] max = new float[1];
            float[] lse = new float[1];
            float[] h = new float[1];
            Tensor in;
            Tensor out;
            MemorySegment seg = null;
            float[] heap = inPlace ? x.clone() : new float[v];
            if (offHeap) {
                seg = arena.allocate((long) v * Float.BYTES * (inPlace ? 1 : 2), 64);
                MemorySegment.copy(x, 0, seg, ValueLayout.JAVA_FLOAT, 0, v);
                in = Tensor.of(seg.asSlice(0, (long) v * Float.BYTES), DType.F32, 1, v);
                out = inPlace ? in : Tensor.of(seg.asSlice((long) v * Float.BYTES), DType.F32, 1, v);
            } else {
                in = inPlace ? Tensor.of(heap, 1, v) : Tensor.of(x, 1, v);
                out = Tensor.of(heap, 1, v);
            }
            if (plain) {
                ek.logSumExp(in, Tensor.of(lse), t); // before the call below: it may write in place
                if (log) {
                    ek.logSoftmax(in, out, t);
                } else {
                    ek.softmax(in, out, t);
                }
            } else if (log) {
                ek.logSoftmax(in, out, t, Tensor.of(max), Tensor.of(lse), Tensor.of(h));
            } else {
                ek.softmax(in, out, t, Tensor.of(max), Tensor.of(lse), Tensor.of(h));
            }
            float[] values = offHeap ? out.segment().toArray(ValueLayout.JAVA_FLOAT) : heap;
            return new float[][] {values, max, lse, h};
        }
    }

    @ParameterizedTest(name = "{0} V={1} {2}")
    @MethodSource("cases")
    void oneRowGivesTheSameBitsOnEveryThreadCountAndMatchesTheSeparateCalls(String backend, int v, String kind) {
        TestBackends.open(backend); // skips when unavailable
        float[] x = row(v, kind);
        float t = 0.8f;
        for (boolean log : new boolean[] {false, true}) {
            String what = backend + (log ? " log_softmax" : " softmax") + " V=" + v + " " + kind;
            float[][] one = run(backend, 1, x, log, t, false, false, false);
            float[][] onePlain = run(backend, 1, x, log, t, false, false, true);
            for (int threads : new int[] {2, 3, 7}) {
                for (int layout = 0; layout < 3; layout++) {
                    boolean offHeap = layout >= 1;
                    boolean inPlace = layout == 2;
                    float[][] other = run(backend, threads, x, log, t, offHeap, inPlace, false);
                    float[][] otherPlain = run(backend, threads, x, log, t, offHeap, inPlace, true);
                    String at = what + " on " + threads + " threads" + (offHeap ? " off-heap" : "")
                            + (inPlace ? " in place" : "");
                    for (int k = 0; k < 4; k++) {
                        assertArrayEquals(one[k], other[k], at + ": output #" + k + " differs from 1 thread");
                        assertArrayEquals(onePlain[k], otherPlain[k], at + ": separate call's output #" + k
                                + " differs from 1 thread");
                    }
                }
            }
            Entrokit ek = TestBackends.instance(backend);
            Tensor logits = Tensor.of(x, 1, v);
            float[] separate = new float[v];
            float[] lse = new float[1];
            float[] h = new float[1];
            if (log) {
                ek.logSoftmax(logits, Tensor.of(separate, 1, v), t);
            } else {
                ek.softmax(logits, Tensor.of(separate, 1, v), t);
            }
            ek.logSumExp(logits, Tensor.of(lse), t);
            ek.entropy(logits, LossOptions.defaults().temperature(t).reduction(Reduction.NONE), Tensor.of(h), null);
            assertArrayEquals(separate, one[0], what + ": outputs differ from the separate call");
            double[] wide = widen(x, 0, v);
            double ref = Float64Oracle.logSumExp(wide, t);
            if (Double.isNaN(ref)) {
                assertTrue(Float.isNaN(one[1][0]) && Float.isNaN(one[2][0]) && Float.isNaN(one[3][0]),
                        what + ": a special row gives NaN statistics");
                continue;
            }
            assertEquals(Float.floatToIntBits(lse[0]), Float.floatToIntBits(one[2][0]), what + ": log-sum-exp");
            assertEquals(Float.floatToIntBits(h[0]), Float.floatToIntBits(one[3][0]), what + ": entropy");
            float rowMax = Float.NEGATIVE_INFINITY;
            for (float f : x) {
                rowMax = Math.max(rowMax, f);
            }
            assertEquals(rowMax, one[1][0], 0f, what + ": row max");
            if (kind.equals("signed-zero-max")) {
                // One lane sees +0 first, so the whole-row pass reports +0: a merge of chunk maxima that kept the
                // first chunk's -0 changed the bits of rowMax.
                assertEquals(0, Float.floatToIntBits(one[1][0]), what + ": rowMax is +0, as the whole-row pass gives");
            }
            Spec5.check(Kind.LOG, one[2][0], ref, what + ": log-sum-exp vs oracle");
            Spec5.check(Kind.LOSS, one[3][0], Float64Oracle.entropy(wide, t), what + ": entropy vs oracle");
            if (log) {
                Spec5.check(Kind.LOG, one[0], 0, Float64Oracle.logSoftmax(wide, t), what + " vs oracle");
            } else {
                Spec5.check(Kind.PROB, one[0], 0, Float64Oracle.softmax(wide, t), what + " vs oracle");
            }
        }
    }

    static Stream<Arguments> samplingCases() {
        List<Arguments> out = new ArrayList<>();
        for (String b : TestBackends.NAMES) {
            // The scalar backend never cuts a row (its thread count cannot matter) and takes milliseconds per step
            // on these rows: one size keeps its contract checked.
            for (int v : b.equals("scalar") ? new int[] {32768} : new int[] {32768, 50003, 128256}) {
                for (String kind : new String[] {"random", "masked-runs", "peaked", "nan-late", "all-masked",
                        "signed-zero-max", "ties"}) {
                    out.add(Arguments.of(b, v, kind));
                }
            }
        }
        return out.stream();
    }

    /**
     * The sampling step on one long row: 1, 2, 3 and 7 threads draw the same token at every step under pipelines whose
     * candidates the threads gather chunk by chunk (top-k, top-p, min-p and their chains, top-k past the first
     * guess so that the gather grows); the token is a kept one (never masked), or -1 on a special row.
     */
    @ParameterizedTest(name = "{0} V={1} {2}")
    @MethodSource("samplingCases")
    void oneRowDrawsTheSameTokenOnEveryThreadCount(String backend, int v, String kind) {
        TestBackends.open(backend);
        float[] x = row(v, kind);
        if (kind.equals("ties")) {
            for (int i = 0; i < v; i++) {
                x[i] = Math.round(x[i] * 2) / 2f; // many exact ties, across chunk boundaries
            }
        }
        SamplingFilters t = SamplingFilters.temperature(0.8f);
        List<SamplingFilters> pipelines = List.of(t.topK(50).topP(0.9f), t.topK(1), t.topK(3000), t.topP(0.5f), t.topP(0.95f), t,
                t.minP(0.2f), t.topK(200).minP(0.05f).topP(0.95f));
        for (SamplingFilters f : pipelines) {
            int[] base = tokens(backend, 1, x, f);
            boolean special = kind.equals("nan-late") || kind.equals("all-masked");
            for (int token : base) {
                if (special) {
                    assertEquals(-1, token, kind + " " + f + ": a special row gives -1");
                } else {
                    assertTrue(token >= 0 && token < v && x[token] != Float.NEGATIVE_INFINITY,
                            kind + " " + f + ": token " + token + " is not a live token");
                }
            }
            for (int threads : new int[] {2, 3, 7}) {
                assertArrayEquals(base, tokens(backend, threads, x, f),
                        backend + " V=" + v + " " + kind + " " + f + ": tokens differ from 1 thread on " + threads);
            }
        }
    }

    private static int[] tokens(String backend, int threads, float[] x, SamplingFilters f) {
        Entrokit ek = instance(backend, threads);
        int[] out = new int[backend.equals("scalar") ? 4 : 16];
        int[] one = new int[1];
        for (int step = 0; step < out.length; step++) {
            ek.decoding().sample(Tensor.of(x, 1, x.length), f, new long[] {0x5eedL}, step, Tensor.of(one));
            out[step] = one[0];
        }
        return out;
    }
}
