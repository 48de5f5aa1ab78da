package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.AdversarialRows.Named;
import dev.entrokit.Spec5.Kind;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SPEC §8: a row split into random shards (1 to 64, one-token shards, empty shards, shards that hold only
 * masked or NaN logits) gives, through states serialized, read back and merged in shard order, the values of
 * the unsharded op within SPEC §5 against the float64 oracle, and the gradients each shard writes from the
 * merged states match the oracle's gradient within SPEC §5, on every backend and SIMD width.
 */
@Tag("simd-width")
class ShardStatesTest {
    static final int[] SHARDS = {1, 2, 3, 7, 64};

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String b : TestBackends.NAMES) {
            for (int v : new int[] {5, 17, 100, 1025}) {
                for (float t : new float[] {1f, 0.7f}) {
                    out.add(Arguments.of(b, v, t));
                }
            }
        }
        return out.stream();
    }

    /** Shard boundaries: {@code shards + 1} sorted cuts of {@code [0, v]}; repeated cuts make empty shards. */
    static long[] cuts(SplittableRandom rnd, int v, int shards) {
        long[] c = new long[shards + 1];
        c[shards] = v;
        for (int i = 1; i < shards; i++) {
            double u = rnd.nextDouble();
            // A third of the cuts repeat their neighbour or sit one token further: empty and one-token shards.
            c[i] = u < 0.15 ? -1 : u < 0.3 ? -2 : rnd.nextInt(v + 1);
        }
        for (int i = 1; i < shards; i++) {
            if (c[i] == -1) {
                c[i] = c[i - 1];
            } else if (c[i] == -2) {
                c[i] = Math.min(v, c[i - 1] + 1);
            }
        }
        Arrays.sort(c, 1, shards);
        return c;
    }

    /**
     * Labels as {@link TestLogits#labels} (every fourth row ignored, else a live token), for adversarial rows too:
     * a row with no live token gets any column.
     */
    static int[] labels(long seed, float[] x, int rows, int v) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] y = new int[rows];
        for (int r = 0; r < rows; r++) {
            int k = rnd.nextInt(v);
            for (int tries = 0; tries < 1000 && x[r * v + k] == Float.NEGATIVE_INFINITY; tries++) {
                k = rnd.nextInt(v);
            }
            y[r] = r % 4 == 3 ? -100 : k;
        }
        return y;
    }

    /** Columns {@code [from, to)} of a row-major {@code rows × v} array. */
    static Tensor columns(float[] data, int rows, int v, long from, long to) {
        return Tensor.strided(MemorySegment.ofArray(data), DType.F32, rows, to - from, from, v);
    }

    /** A serialization round trip, through a byte array or an off-heap segment, alternately. */
    static ShardStates roundTrip(ShardStates s, int i) {
        if (i % 2 == 0) {
            return ShardStates.fromBytes(s.toBytes());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(s.byteSize() + 8);
            assertEquals(s.byteSize(), s.writeTo(seg, 8));
            return ShardStates.read(seg, 8);
        }
    }

    @FunctionalInterface
    interface ShardFn {
        ShardStates states(long from, long to);
    }

    /** Every shard's states (empty shards by {@link ShardStates#empty}), round-tripped, merged in shard order. */
    static ShardStates merged(long[] c, ShardFn fn, ShardOp op, int rows, int v, LossOptions o) {
        List<ShardStates> parts = new ArrayList<>();
        for (int i = 0; i + 1 < c.length; i++) {
            ShardStates s = c[i] == c[i + 1] ? ShardStates.empty(op, rows, v, o) : fn.states(c[i], c[i + 1]);
            assertEquals(c[i + 1] - c[i], s.covered(0));
            parts.add(roundTrip(s, i));
        }
        ShardStates m = ShardStates.mergeAll(parts);
        assertTrue(m.complete());
        return m;
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void singleRowOpsMatchTheUnshardedOracle(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        List<Named> rows = AdversarialRows.all(v, TestLogits.seed("shards", v));
        int n = rows.size();
        float[] x = AdversarialRows.batch(rows);
        int[] labels = labels(TestLogits.seed("shard-labels", v), x, n, v);
        labels[1] = -100;
        SplittableRandom rnd = new SplittableRandom(TestLogits.seed("cuts", v, t));
        for (int shards : SHARDS) {
            long[] c = cuts(rnd, v, shards);
            String how = backend + " V=" + v + " T=" + t + " cuts " + Arrays.toString(c);
            LossOptions o = LossOptions.defaults().temperature(t).labelSmoothing(shards % 2 == 0 ? 0.1f : 0f);

            ShardStates lse = merged(c, (a, b) -> ShardStates.of(ek, ShardOp.LOG_SUM_EXP, columns(x, n, v, a, b), a, v, o),
                    ShardOp.LOG_SUM_EXP, n, v, o);
            ShardStates ent = merged(c, (a, b) -> ShardStates.of(ek, ShardOp.ENTROPY, columns(x, n, v, a, b), a, v, o),
                    ShardOp.ENTROPY, n, v, o);
            ShardStates ce = merged(c, (a, b) -> ShardStates.ofLabels(ek, ShardOp.CROSS_ENTROPY_LABELS,
                    columns(x, n, v, a, b), Tensor.of(labels), a, v, o), ShardOp.CROSS_ENTROPY_LABELS, n, v, o);
            int[] ids = labels.clone();
            for (int r = 0; r < n; r++) {
                ids[r] = Math.floorMod(ids[r], v);
            }
            ShardStates lp = merged(c, (a, b) -> ShardStates.ofLabels(ek, ShardOp.TOKEN_LOGPROB, columns(x, n, v, a, b),
                    Tensor.of(ids), a, v, o), ShardOp.TOKEN_LOGPROB, n, v, o);
            float[] probs = new float[n * v];
            float[] logprobs = new float[n * v];
            float[] entGrad = new float[n * v];
            float[] ceGrad = new float[n * v];
            Arrays.fill(entGrad, 42f); // every column must be written by its shard
            Arrays.fill(ceGrad, 42f);
            for (int i = 0; i + 1 < c.length; i++) {
                if (c[i] == c[i + 1]) {
                    continue;
                }
                Tensor xs = columns(x, n, v, c[i], c[i + 1]);
                lse.softmax(ek, xs, c[i], columns(probs, n, v, c[i], c[i + 1]), false);
                ent.softmax(ek, xs, c[i], columns(logprobs, n, v, c[i], c[i + 1]), true);
                ent.gradient(ek, xs, c[i], columns(entGrad, n, v, c[i], c[i + 1]), 1f);
                ce.labelGradient(ek, xs, Tensor.of(labels), c[i], columns(ceGrad, n, v, c[i], c[i + 1]), 1f);
            }
            double[] lseV = lse.values();
            double[] entV = ent.values();
            double[] ceV = ce.values();
            double[] lpV = lp.values();
            for (int r = 0; r < n; r++) {
                double[] row = widen(x, r * v, v);
                String at = how + " row '" + rows.get(r) + "'";
                Spec5.check(Kind.LOG, (float) lseV[r], Float64Oracle.logSumExp(row, t), "logsumexp " + at);
                Spec5.check(Kind.PROB, probs, r * v, Float64Oracle.softmax(row, t), "softmax " + at);
                Spec5.check(Kind.LOG, logprobs, r * v, Float64Oracle.logSoftmax(row, t), "log_softmax " + at);
                Spec5.check(Kind.LOSS, (float) entV[r], Float64Oracle.entropy(row, t), "entropy " + at);
                Spec5.check(Kind.GRAD, entGrad, r * v, Float64Oracle.entropyGrad(row, t, 1), "entropy grad " + at);
                double eps = o.labelSmoothing();
                Spec5.check(Kind.LOSS, (float) ceV[r], Float64Oracle.crossEntropyLabelRow(row, labels[r], -100, eps, t),
                        "label CE " + at);
                Spec5.check(Kind.GRAD, ceGrad, r * v, Float64Oracle.crossEntropyLabelGrad(row, labels[r], -100, eps, t, 1),
                        "label CE grad " + at);
                double refLp = Float64Oracle.invalid(row) ? Double.NaN : Float64Oracle.logSoftmax(row, t)[ids[r]];
                Spec5.check(Kind.LOG, (float) lpV[r], refLp, "token log-prob " + at);
                if (!rows.get(r).valid()) {
                    assertTrue(Double.isNaN(lseV[r]) && Double.isNaN(entV[r]), "NaN row rule, " + at);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} V={1} T={2}")
    @MethodSource("cases")
    void pairOpsMatchTheUnshardedOracle(String backend, int v, float t) {
        Entrokit ek = TestBackends.open(backend);
        List<Named> rows = AdversarialRows.all(v, TestLogits.seed("shard-pair", v));
        int n = rows.size();
        float[] x = AdversarialRows.batch(rows);
        float[] ordinary = TestLogits.batch(TestLogits.seed("shard-pair-partner", v), n, v);
        SplittableRandom rnd = new SplittableRandom(TestLogits.seed("pair-cuts", v, t));
        for (PairOp op : new PairOp[] {PairOp.CROSS_ENTROPY, PairOp.KL, PairOp.RKL, PairOp.JSD}) {
            ShardOp sop = ShardOp.valueOf(op.name());
            for (float beta : op == PairOp.JSD ? new float[] {0.5f, 0.9f} : new float[] {0.5f}) {
                LossOptions o = LossOptions.defaults().temperature(t).beta(beta);
                for (boolean badTeacher : new boolean[] {true, false}) {
                    float[] teacher = badTeacher ? x : ordinary;
                    float[] student = badTeacher ? ordinary : x;
                    for (int shards : SHARDS) {
                        long[] c = cuts(rnd, v, shards);
                        String how = backend + " " + op + " β=" + beta + (badTeacher ? " teacher" : " student")
                                + " V=" + v + " T=" + t + " cuts " + Arrays.toString(c);
                        ShardStates m = merged(c, (a, b) -> ShardStates.ofPair(ek, sop, columns(teacher, n, v, a, b),
                                columns(student, n, v, a, b), a, v, o), sop, n, v, o);
                        if (sop == ShardOp.JSD) {
                            ShardStates norm = m;
                            m = merged(c, (a, b) -> norm.jsdTerms(ek, columns(teacher, n, v, a, b),
                                    columns(student, n, v, a, b), a), sop, n, v, o);
                        }
                        float[] grad = new float[n * v];
                        Arrays.fill(grad, 42f);
                        for (int i = 0; i + 1 < c.length; i++) {
                            if (c[i] < c[i + 1]) {
                                m.pairGradient(ek, columns(teacher, n, v, c[i], c[i + 1]),
                                        columns(student, n, v, c[i], c[i + 1]), c[i],
                                        columns(grad, n, v, c[i], c[i + 1]), 1f);
                            }
                        }
                        double[] values = m.values();
                        for (int r = 0; r < n; r++) {
                            String at = how + " row '" + rows.get(r) + "'";
                            double[] tr = widen(teacher, r * v, v);
                            double[] sr = widen(student, r * v, v);
                            double ref = op.oracle(tr, sr, t, beta);
                            Spec5.check(Kind.LOSS, (float) values[r], ref, at);
                            double[] g = op.oracleGrad(tr, sr, t, beta, 1);
                            if (AdversarialRowsTest.gradientDefined(ref, g)
                                    && !AdversarialRowsTest.rklGradientIllConditioned(op, beta, tr, sr, t)) {
                                Spec5.check(Kind.GRAD, grad, r * v, g, "grad " + at);
                            }
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.entrokit.TestBackends#names")
    void mergeIsAssociativeWithinSpecAndStatesRoundTripBitwise(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int v = 1000;
        int n = 4;
        float[] t = TestLogits.batch(TestLogits.seed("assoc-t"), n, v);
        float[] s = TestLogits.studentFor(t, TestLogits.seed("assoc-s"), n, v);
        LossOptions o = LossOptions.defaults().temperature(0.7f);
        long[] c = {0, 100, 101, 600, 1000};
        List<ShardStates> parts = new ArrayList<>();
        for (int i = 0; i + 1 < c.length; i++) {
            parts.add(ShardStates.ofPair(ek, ShardOp.KL, columns(t, n, v, c[i], c[i + 1]), columns(s, n, v, c[i], c[i + 1]),
                    c[i], v, o));
        }
        double[] leftFold = ShardStates.mergeAll(parts).values();
        double[] tree = parts.get(0).merge(parts.get(1)).merge(parts.get(2).merge(parts.get(3))).values();
        double[] reversed = parts.get(3).merge(parts.get(2)).merge(parts.get(1)).merge(parts.get(0)).values();
        for (int r = 0; r < n; r++) {
            double ref = Float64Oracle.kl(widen(t, r * v, v), widen(s, r * v, v), 0.7f);
            Spec5.check(Kind.LOSS, (float) leftFold[r], ref, "left fold, row " + r);
            Spec5.check(Kind.LOSS, (float) tree[r], ref, "tree, row " + r);
            Spec5.check(Kind.LOSS, (float) reversed[r], ref, "reversed, row " + r);
        }
        ShardStates one = parts.get(1);
        assertArrayEquals(one.toBytes(), roundTrip(one, 1).toBytes(), "a round trip keeps every bit");
        assertEquals(ShardStates.HEADER_BYTES + n * ShardStates.ROW_BYTES, one.toBytes().length);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.entrokit.TestBackends#names")
    void misuseIsRefusedByName(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int v = 10;
        float[] x = TestLogits.batch(3, 2, v);
        LossOptions o = LossOptions.defaults();
        var e = assertThrows(IllegalArgumentException.class,
                () -> ShardStates.of(ek, ShardOp.ENTROPY, columns(x, 2, v, 0, 6), 5, v, o));
        assertTrue(e.getMessage().startsWith("offset:"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ShardStates.of(ek, ShardOp.KL, columns(x, 2, v, 0, 6), 0, v, o));
        assertTrue(e.getMessage().startsWith("op:"), e.getMessage());
        ShardStates a = ShardStates.of(ek, ShardOp.ENTROPY, columns(x, 2, v, 0, 6), 0, v, o);
        ShardStates b = ShardStates.of(ek, ShardOp.LOG_SUM_EXP, columns(x, 2, v, 6, 10), 6, v, o);
        e = assertThrows(IllegalArgumentException.class, () -> a.merge(b));
        assertTrue(e.getMessage().startsWith("other:"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> a.merge(a));
        assertTrue(e.getMessage().contains("overlap"), e.getMessage());
        assertFalse(a.complete());
        var s = assertThrows(IllegalStateException.class, a::values);
        assertTrue(s.getMessage().contains("covers 6 of 10"), s.getMessage());
        byte[] bytes = a.toBytes();
        bytes[4] = 9;
        e = assertThrows(IllegalArgumentException.class, () -> ShardStates.fromBytes(bytes));
        assertTrue(e.getMessage().contains("version 9"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ShardStates.fromBytes(Arrays.copyOf(a.toBytes(), 40)));
        assertTrue(e.getMessage().startsWith("src:"), e.getMessage());
        ShardStates jsd = ShardStates.ofPair(ek, ShardOp.JSD, Tensor.of(x, 2, v), Tensor.of(x, 2, v), 0, v, o);
        s = assertThrows(IllegalStateException.class, jsd::values);
        assertTrue(s.getMessage().contains("jsdTerms"), s.getMessage());
    }
}
