package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue §4: results are bitwise identical whatever the thread count. A 64 × 4099 batch (well above the
 * splitting threshold, and 64 rows split unevenly over 3 threads) run with 1, 2 and 3 threads; and batches
 * of one and two long rows (batch smaller than the pool), with 1, 2, 3 and 7.
 */
@Tag("simd-width")
class ThreadDeterminismTest {
    static final int ROWS = 64;
    static final int V = 4099;
    static float[] teacher;
    static float[] student;
    static int[] labels;
    static final List<Entrokit> OPENED = new ArrayList<>();

    @BeforeAll
    static void data() {
        teacher = TestLogits.batch(11, ROWS, V);
        student = TestLogits.studentFor(teacher, 11, ROWS, V);
        labels = TestLogits.labels(11, student, ROWS, V, -100);
        // A few special rows too: they must be just as deterministic.
        student[5 * V + 17] = Float.NaN;
        java.util.Arrays.fill(teacher, 9 * V, 10 * V, Float.NEGATIVE_INFINITY);
    }

    @AfterAll
    static void close() {
        OPENED.forEach(Entrokit::close);
    }

    /** Everything one instance computes on the batch, flattened: outputs, gradients and returned values. */
    private static List<Object> everything(Entrokit ek) {
        return everything(ek, teacher, student, labels, ROWS, V);
    }

    private static List<Object> everything(Entrokit ek, float[] teacher, float[] student, int[] labels, int ROWS,
                                           int V) {
        List<Object> out = new ArrayList<>();
        float[] probs = new float[ROWS * V];
        ek.softmax(Tensor.of(student, ROWS, V), Tensor.of(probs, ROWS, V), 0.7f);
        out.add(probs);
        float[] logprobs = new float[ROWS * V];
        ek.logSoftmax(Tensor.of(student, ROWS, V), Tensor.of(logprobs, ROWS, V), 0.7f);
        out.add(logprobs);
        float[] lse = new float[ROWS];
        ek.logSumExp(Tensor.of(student, ROWS, V), Tensor.of(lse), 0.7f);
        out.add(lse);
        float[] dx = new float[ROWS * V];
        ek.softmaxBackward(Tensor.of(probs, ROWS, V), Tensor.of(teacher, ROWS, V), Tensor.of(dx, ROWS, V), 0.7f);
        out.add(dx);
        dx = new float[ROWS * V];
        ek.logSoftmaxBackward(Tensor.of(logprobs, ROWS, V), Tensor.of(teacher, ROWS, V), Tensor.of(dx, ROWS, V), 0.7f);
        out.add(dx);
        LossOptions o = LossOptions.defaults().temperature(1.3f).reduction(Reduction.MEAN).gradScale(0.9f).beta(0.4f)
                .labelSmoothing(0.1f);
        Run e = Run.entropy(ek, student, ROWS, V, o);
        out.add(e.rowLoss());
        out.add(e.grad());
        out.add(bits(e.value()));
        for (PairOp op : PairOp.values()) {
            Run r = Run.pair(ek, op, teacher, student, ROWS, V, o);
            out.add(r.rowLoss());
            if (r.grad() != null) {
                out.add(r.grad());
            }
            out.add(bits(r.value()));
        }
        Run l = Run.labels(ek, labels, student, ROWS, V, o);
        out.add(l.rowLoss());
        out.add(l.grad());
        out.add(bits(l.value()));
        return out;
    }

    /** A returned double, compared bit for bit too. */
    private static long[] bits(double d) {
        return new long[] {Double.doubleToRawLongBits(d)};
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.entrokit.TestBackends#names")
    void bitwiseIdenticalForOneTwoAndThreeThreads(String backend) {
        TestBackends.open(backend); // skips when unavailable
        List<List<Object>> results = new ArrayList<>();
        for (int threads : new int[] {1, 2, 3}) {
            Entrokit ek = Entrokit.create(backend, threads);
            OPENED.add(ek);
            assertEquals(threads, ek.threads());
            results.add(everything(ek));
        }
        assertSame(backend, results);
    }

    /** Batch 1 and 2 of 128257 logits (fewer rows than threads): every thread count gives the same bits. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.entrokit.TestBackends#names")
    void longRowsAreBitwiseIdenticalForOneTwoThreeAndSevenThreads(String backend) {
        TestBackends.open(backend);
        int v = 4 * 32768 + 1185;
        for (int rows : new int[] {1, 2}) {
            float[] t = TestLogits.batch(13, rows, v);
            float[] s = TestLogits.studentFor(t, 13, rows, v);
            int[] y = TestLogits.labels(13, s, rows, v, -100);
            if (rows == 2) {
                s[v + 99_000] = Float.NaN; // a NaN row: a NaN logit near the end
            }
            List<List<Object>> results = new ArrayList<>();
            for (int threads : new int[] {1, 2, 3, 7}) {
                try (Entrokit ek = Entrokit.create(backend, threads)) {
                    results.add(everything(ek, t, s, y, rows, v));
                }
            }
            assertSame(backend + " " + rows + " × " + v, results);
        }
    }

    /**
     * A draw of min-p alone on one long row keeping 4001 tokens: one read of the row on one thread, and on two (the
     * row is long enough to split) the same path, so the same token (a reviewer's row: the split ranking drew 31479
     * by float weights, one thread 31469 as the scalar backend does).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.entrokit.TestBackends#names")
    void minPDrawsOnALongRowIgnoreTheThreadCount(String backend) {
        TestBackends.open(backend);
        int v = 40_000;
        float[] x = new float[v];
        java.util.Arrays.fill(x, -1000f);
        x[20_000] = 5f;
        for (int j = 0; j < 4000; j++) {
            x[(int) ((long) j * (v - 1) / 4000)] = 5f - 5.6f;
        }
        SamplingFilters f = SamplingFilters.temperature(0.7f).minP(1e-4f);
        List<List<Object>> results = new ArrayList<>();
        for (int threads : new int[] {1, 2, 3}) {
            try (Entrokit ek = Entrokit.create(backend, threads)) {
                List<Object> tokens = new ArrayList<>();
                for (long seed = 4100; seed < 4140; seed++) {
                    int[] token = new int[1];
                    ek.decoding().sample(Tensor.of(x, 1, v), f, new long[] {seed}, 0, Tensor.of(token));
                    tokens.add(new long[] {token[0]});
                }
                results.add(tokens);
            }
        }
        assertSame(backend + " min-p draws", results);
    }

    private static void assertSame(String backend, List<List<Object>> results) {
        for (int k = 1; k < results.size(); k++) {
            for (int i = 0; i < results.get(0).size(); i++) {
                // assertArrayEquals on float[] compares floatToIntBits (all NaNs alike, else bit for bit).
                String what = backend + ": output #" + i + " differs between 1 thread and thread count #" + (k + 1);
                if (results.get(0).get(i) instanceof float[] a) {
                    assertArrayEquals(a, (float[]) results.get(k).get(i), what);
                } else {
                    assertArrayEquals((long[]) results.get(0).get(i), (long[]) results.get(k).get(i), what);
                }
            }
        }
    }
}
