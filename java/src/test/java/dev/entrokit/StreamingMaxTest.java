package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Spec5.Kind;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * KL, reverse KL, soft-target and label cross-entropy, JSD and Jeffreys read each row once on the SIMD backend: a
 * running maximum per block, the sums rescaled whenever it grows (JSD and the gradients of KL, cross-entropy and
 * Jeffreys then work from the exps kept per block, rescaled to the row's maximum), and so does Min-K%++. Entropy runs on the same rows. These rows make it grow in every block (ascending ramps), only in the scalar tail, or
 * only after blocks that are entirely masked ({@code −inf}) on one side or both; the loss and its gradient
 * must still match the float64 oracle (SPEC §5) on every backend and width. Sizes span several blocks at
 * every width (a block is 64 vectors: 1024 floats at 512 bits, 256 at 128).
 */
@Tag("simd-width")
class StreamingMaxTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;
    private static final int[] SIZES = {3001, 4096, 5003};

    record Pair(String name, float[] teacher, float[] student) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Pair> pairs(int v) {
        SplittableRandom rnd = new SplittableRandom(v * 31L + 7);
        List<Pair> out = new ArrayList<>();
        float[] noise = new float[v];
        float[] noise2 = new float[v];
        for (int i = 0; i < v; i++) {
            noise[i] = (float) (rnd.nextGaussian() * 2);
            noise2[i] = (float) (rnd.nextGaussian() * 2);
        }
        float[] rampT = new float[v];
        float[] rampS = new float[v];
        float[] downT = new float[v];
        for (int i = 0; i < v; i++) {
            rampT[i] = i * 0.01f + noise[i];
            rampS[i] = i * 0.013f - 20f + noise2[i];
            downT[i] = -i * 0.01f + noise[i];
        }
        out.add(new Pair("ascending ramps", rampT, rampS));
        out.add(new Pair("descending teacher, ascending student", downT, rampS));
        float[] tailMaxT = noise.clone();
        float[] tailMaxS = noise2.clone();
        tailMaxT[v - 1] = 40f;
        tailMaxS[v - 2] = 35f;
        out.add(new Pair("max in the tail", tailMaxT, tailMaxS));
        int masked = v / 2 + 17;
        float[] maskedPrefixBoth = noise.clone();
        float[] maskedPrefixBothS = noise2.clone();
        for (int i = 0; i < masked; i++) {
            maskedPrefixBoth[i] = NEG_INF;
            maskedPrefixBothS[i] = NEG_INF;
        }
        out.add(new Pair("both masked for the first blocks", maskedPrefixBoth, maskedPrefixBothS));
        float[] maskedTeacherPrefix = rampT.clone();
        for (int i = 0; i < masked; i++) {
            maskedTeacherPrefix[i] = NEG_INF;
        }
        out.add(new Pair("teacher masked for the first blocks", maskedTeacherPrefix, noise2.clone()));
        float[] negative = new float[v];
        float[] negativeS = new float[v];
        for (int i = 0; i < v; i++) {
            negative[i] = -3e4f + noise[i];
            negativeS[i] = -2.5e4f + noise2[i] + i * 1e-3f;
        }
        out.add(new Pair("far below zero, rising", negative, negativeS));
        float[] maskedNegative = negative.clone();
        float[] maskedNegativeS = negativeS.clone();
        for (int i = 0; i < masked; i++) {
            maskedNegative[i] = NEG_INF;
            maskedNegativeS[i] = NEG_INF;
        }
        out.add(new Pair("masked leading blocks, then far below zero", maskedNegative, maskedNegativeS));
        return out;
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String b : TestBackends.NAMES) {
            for (int v : SIZES) {
                for (float t : new float[] {1f, 0.5f}) {
                    out.add(Arguments.of(b, v, t));
                }
            }
        }
        return out.stream();
    }

    /**
     * Min-K%++ reads each row once too: its three sums ({@code Σ e}, {@code Σ e·a}, {@code Σ e·a²}) are rescaled when
     * the running maximum grows. Every row of {@link #pairs} (both sides) is a one-position sequence, so each score is
     * that position's z-score, against the float64 oracle; the token is the row's last live entry, and, for a second
     * batch, its first.
     */
    @ParameterizedTest(name = "{0} V={1}")
    @MethodSource("sizes")
    void minKPlusPlusMatchesTheOracle(String backend, int v) {
        Entrokit ek = TestBackends.open(backend);
        List<float[]> rows = new ArrayList<>();
        for (Pair p : pairs(v)) {
            rows.add(p.teacher());
            rows.add(p.student());
        }
        int n = rows.size();
        float[] x = new float[n * v];
        for (int r = 0; r < n; r++) {
            System.arraycopy(rows.get(r), 0, x, r * v, v);
        }
        for (boolean last : new boolean[] {true, false}) {
            int[] ids = new int[n];
            for (int r = 0; r < n; r++) {
                float[] row = rows.get(r);
                int i = last ? v - 1 : 0;
                while (row[i] == NEG_INF) {
                    i += last ? -1 : 1;
                }
                ids[r] = i;
            }
            float[] scores = new float[n];
            ek.scores().minKPlusPlus(Tensor.of(x, n, v), Tensor.of(ids, n, 1), 1f, Tensor.of(scores));
            for (int r = 0; r < n; r++) {
                double ref = ScoringOracle.zScore(widen(rows.get(r)), ids[r]);
                Spec5.check(Kind.LOSS, scores[r], ref, backend + " V=" + v + " row " + r + " token " + ids[r]);
            }
        }
    }

    static Stream<Arguments> sizes() {
        List<Arguments> out = new ArrayList<>();
        for (String b : TestBackends.NAMES) {
            for (int v : SIZES) {
                out.add(Arguments.of(b, v));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void klAndReverseKlMatchTheOracle(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        LossOptions o = LossOptions.defaults().temperature(t);
        for (Pair p : pairs(v)) {
            double[] tw = widen(p.teacher());
            double[] sw = widen(p.student());
            String at = backend + " '" + p + "' V=" + v + " T=" + t;
            float[] grad = new float[v];
            double kl = ek.kl(Tensor.of(p.teacher(), 1, v), Tensor.of(p.student(), 1, v), o, null, Tensor.of(grad, 1, v));
            Spec5.check(Kind.LOSS, kl, Float64Oracle.kl(tw, sw, t), "kl " + at);
            Spec5.check(Kind.GRAD, grad, 0, Float64Oracle.qMinusPGrad(tw, sw, t, 1), "kl gradient " + at);
            assertOffHeapBatchAgrees(ek, p, v, o, kl, grad);
            double rklRef = Float64Oracle.rkl(tw, sw, t);
            double rkl = ek.rkl(Tensor.of(p.teacher(), 1, v), Tensor.of(p.student(), 1, v), o, null, Tensor.of(grad, 1, v));
            if (Double.isInfinite(rklRef)) {
                assertEquals(rklRef, rkl, "rkl " + at);
                for (float g : grad) {
                    assertTrue(Float.isNaN(g), at + ": the gradient of an infinite reverse KL is a NaN row");
                }
            } else {
                Spec5.check(Kind.LOSS, rkl, rklRef, "rkl " + at);
                Spec5.check(Kind.GRAD, grad, 0, Float64Oracle.rklGrad(tw, sw, t, 1), "rkl gradient " + at);
            }
        }
    }

    /** A loss with a gradient as the façade runs it, and its float64 oracle. */
    record Op(String name, Call call, Oracle value, GradOracle grad) {
        interface Call {
            double run(Entrokit ek, Tensor teacher, Tensor student, LossOptions o, Tensor rows, Tensor grad);
        }

        interface Oracle {
            double of(double[] teacher, double[] student, double t);
        }

        interface GradOracle {
            double[] of(double[] teacher, double[] student, double t);
        }
    }

    private static final float BETA = 0.3f;
    private static final float SMOOTHING = 0.1f;

    static final List<Op> OPS = List.of(
            new Op("entropy of the teacher", (ek, t, s, o, r, g) -> ek.entropy(t, o, r, g),
                    (t, s, temp) -> Float64Oracle.entropy(t, temp), (t, s, temp) -> Float64Oracle.entropyGrad(t, temp, 1)),
            new Op("entropy of the student", (ek, t, s, o, r, g) -> ek.entropy(s, o, r, g),
                    (t, s, temp) -> Float64Oracle.entropy(s, temp), (t, s, temp) -> Float64Oracle.entropyGrad(s, temp, 1)),
            new Op("cross-entropy", (ek, t, s, o, r, g) -> ek.crossEntropy(t, s, o, r, g),
                    Float64Oracle::crossEntropy, (t, s, temp) -> Float64Oracle.qMinusPGrad(t, s, temp, 1)),
            new Op("jsd", (ek, t, s, o, r, g) -> ek.jsd(t, s, o.beta(BETA), r, g),
                    (t, s, temp) -> Float64Oracle.jsd(t, s, BETA, temp),
                    (t, s, temp) -> Float64Oracle.jsdGrad(t, s, BETA, temp, 1)),
            new Op("jeffreys", (ek, t, s, o, r, g) -> ek.jeffreys(t, s, o, r, g),
                    Float64Oracle::jeffreys, (t, s, temp) -> Float64Oracle.jeffreysGrad(t, s, temp, 1)),
            // The label sits in the live tail of every pair; smoothing adds the mean over the row.
            new Op("cross-entropy with labels", (ek, t, s, o, r, g) -> ek.crossEntropyLabels(labels(s), s,
                    o.labelSmoothing(SMOOTHING), r, g),
                    (t, s, temp) -> Float64Oracle.crossEntropyLabel(s, s.length - 3, SMOOTHING, temp),
                    (t, s, temp) -> Float64Oracle.crossEntropyLabelGrad(s, s.length - 3, LossOptions.DEFAULT_IGNORE_INDEX,
                            SMOOTHING, temp, 1)));

    /** The label {@code V − 3} for every row of {@code logits}. */
    private static Tensor labels(Tensor logits) {
        int[] l = new int[(int) logits.rows()];
        java.util.Arrays.fill(l, (int) logits.cols() - 3);
        return Tensor.of(l);
    }

    /**
     * Entropy, cross-entropy (soft and with labels), JSD and Jeffreys with their gradients on the same rows, against the float64 oracle;
     * where the loss is infinite (Jeffreys on a teacher masked under a live student) the gradient must be the
     * scalar backend's special row. Each pair also runs as row 1 of an off-heap batch, bitwise equal to the heap call.
     */
    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void entropyCrossEntropyJsdAndJeffreysMatchTheOracle(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        LossOptions o = LossOptions.defaults().temperature(t);
        // Its own instance: the width reruns skip the shared scalar one.
        try (Entrokit scalar = Entrokit.create("scalar", 1)) {
            checkEveryOp(ek, scalar, backend, v, t, o);
        }
    }

    private static void checkEveryOp(Entrokit ek, Entrokit scalar, String backend, int v, float t, LossOptions o) {
        for (Pair p : pairs(v)) {
            double[] tw = widen(p.teacher());
            double[] sw = widen(p.student());
            for (Op op : OPS) {
                String at = op.name() + " " + backend + " '" + p + "' V=" + v + " T=" + t;
                float[] grad = new float[v];
                double value = op.call().run(ek, Tensor.of(p.teacher(), 1, v), Tensor.of(p.student(), 1, v), o, null,
                        Tensor.of(grad, 1, v));
                double ref = op.value().of(tw, sw, t);
                Spec5.check(Kind.LOSS, value, ref, at);
                if (Double.isInfinite(ref)) {
                    float[] scalarGrad = new float[v];
                    op.call().run(scalar, Tensor.of(p.teacher(), 1, v), Tensor.of(p.student(), 1, v), o, null,
                            Tensor.of(scalarGrad, 1, v));
                    Spec5.check(Kind.GRAD, grad, 0, widen(scalarGrad), "gradient of an infinite loss, " + at);
                } else {
                    Spec5.check(Kind.GRAD, grad, 0, op.grad().of(tw, sw, t), "gradient, " + at);
                }
                assertOffHeapBatchAgrees(ek, op, p, v, o, value, grad);
            }
        }
    }

    /** {@link #assertOffHeapBatchAgrees(Entrokit, Pair, int, LossOptions, double, float[])} for any {@link Op}. */
    private static void assertOffHeapBatchAgrees(Entrokit ek, Op op, Pair p, int v, LossOptions o, double value,
                                                 float[] grad) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment t = arena.allocate(2L * v * Float.BYTES, 64);
            MemorySegment s = arena.allocate(2L * v * Float.BYTES, 64);
            MemorySegment g = arena.allocate(2L * v * Float.BYTES, 64);
            MemorySegment rows = arena.allocate(2L * Float.BYTES, 64);
            for (int i = 0; i < v; i++) {
                t.setAtIndex(ValueLayout.JAVA_FLOAT, i, p.student()[i]);
                s.setAtIndex(ValueLayout.JAVA_FLOAT, i, p.teacher()[i]);
                t.setAtIndex(ValueLayout.JAVA_FLOAT, v + i, p.teacher()[i]);
                s.setAtIndex(ValueLayout.JAVA_FLOAT, v + i, p.student()[i]);
            }
            op.call().run(ek, Tensor.of(t, DType.F32, 2, v), Tensor.of(s, DType.F32, 2, v), o.reduction(Reduction.NONE),
                    Tensor.of(rows, DType.F32, 2), Tensor.of(g, DType.F32, 2, v));
            String at = op.name() + " '" + p + "'";
            assertEquals((float) value, rows.getAtIndex(ValueLayout.JAVA_FLOAT, 1), "off-heap loss of " + at);
            for (int i = 0; i < v; i++) {
                assertEquals(Float.floatToIntBits(grad[i]), Float.floatToIntBits(g.getAtIndex(ValueLayout.JAVA_FLOAT, v + i)),
                        "off-heap gradient of " + at + " at " + i);
            }
        }
    }

    /**
     * The same pair as row 1 of an off-heap batch, where the gradient is written in place rather than staged:
     * the loss and the gradient row are bitwise those of the heap call.
     */
    private static void assertOffHeapBatchAgrees(Entrokit ek, Pair p, int v, LossOptions o, double kl, float[] grad) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment t = arena.allocate(2L * v * Float.BYTES, 64);
            MemorySegment s = arena.allocate(2L * v * Float.BYTES, 64);
            MemorySegment g = arena.allocate(2L * v * Float.BYTES, 64);
            MemorySegment rows = arena.allocate(2L * Float.BYTES, 64);
            for (int i = 0; i < v; i++) {
                t.setAtIndex(ValueLayout.JAVA_FLOAT, i, p.student()[i]);
                s.setAtIndex(ValueLayout.JAVA_FLOAT, i, p.teacher()[i]);
                t.setAtIndex(ValueLayout.JAVA_FLOAT, v + i, p.teacher()[i]);
                s.setAtIndex(ValueLayout.JAVA_FLOAT, v + i, p.student()[i]);
            }
            ek.kl(Tensor.of(t, DType.F32, 2, v), Tensor.of(s, DType.F32, 2, v), o.reduction(Reduction.NONE),
                    Tensor.of(rows, DType.F32, 2), Tensor.of(g, DType.F32, 2, v));
            assertEquals((float) kl, rows.getAtIndex(ValueLayout.JAVA_FLOAT, 1), "off-heap loss of '" + p + "'");
            for (int i = 0; i < v; i++) {
                assertEquals(Float.floatToIntBits(grad[i]), Float.floatToIntBits(g.getAtIndex(ValueLayout.JAVA_FLOAT, v + i)),
                        "off-heap gradient of '" + p + "' at " + i);
            }
        }
    }
}
