package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The façade's contract for every public method of {@link Entrokit} and of its family views ({@link Decoding},
 * {@link DetectionScores}, {@link Transport}), driven by a table that must list every one of them
 * (adding a method without a row fails {@link #theTableCoversEveryPublicMethod}): a tensor argument
 * from a closed arena or from one confined to another thread, and a null reference argument, are
 * refused with an {@code IllegalArgumentException} that names that argument, before anything is
 * written; a closed instance refuses every op with {@code IllegalStateException}, its views' ops too.
 */
class ApiContractTest {
    private static final int R = 3;
    private static final int V = 8;
    private static final LossOptions O = LossOptions.defaults();
    private static final SamplingFilters F = SamplingFilters.temperature(1f).topK(4).topP(0.9f);
    /** Public methods that are not ops: they describe the instance, or make and end it. */
    private static final Set<String> NOT_OPS = Set.of("backendName()", "backendDescription()", "threads()", "close()",
            "get()", "create(String, int)", "configuredThreads()", "backends()", "warmUp()", "warmUpStatus()",
            "decoding()", "scores()", "transport()");
    /** The classes whose public methods are ops: the instance and its family views. */
    private static final List<Class<?>> OP_CLASSES = List.of(Entrokit.class, Decoding.class, DetectionScores.class,
            Transport.class);
    private static final Entrokit EK = Entrokit.create("scalar", 2);

    @AfterAll
    static void close() {
        EK.close();
    }

    /**
     * One public method: the class that declares it ({@link Entrokit} or one of its views), its name, its
     * parameters' names (a trailing {@code ?} marks one that may be null) and a fresh set of valid arguments.
     */
    record Call(Class<?> on, String method, List<String> params, Supplier<Object[]> args) {
        String name(int i) {
            return params.get(i).replace("?", "");
        }

        boolean nullable(int i) {
            return params.get(i).endsWith("?");
        }

        Method resolve() {
            Object[] a = args.get();
            List<Method> found = new ArrayList<>();
            for (Method m : on.getMethods()) {
                if (m.getName().equals(method) && m.getParameterCount() == a.length && accepts(m.getParameterTypes(), a)) {
                    found.add(m);
                }
            }
            assertEquals(1, found.size(), () -> method + params + " resolves to " + found);
            return found.get(0);
        }

        private static boolean accepts(Class<?>[] types, Object[] a) {
            for (int i = 0; i < types.length; i++) {
                Class<?> t = types[i].isPrimitive() ? box(types[i]) : types[i];
                if (a[i] != null && !t.isInstance(a[i])) {
                    return false;
                }
            }
            return true;
        }

        /** What the method is called on: {@code ek} itself, or its view that declares the method. */
        Object target(Entrokit ek) {
            if (on == Entrokit.class) {
                return ek;
            }
            if (on == Decoding.class) {
                return ek.decoding();
            }
            if (on == DetectionScores.class) {
                return ek.scores();
            }
            if (on == Transport.class) {
                return ek.transport();
            }
            throw new AssertionError(on);
        }

        @Override
        public String toString() {
            return (on == Entrokit.class ? "" : on.getSimpleName() + ".") + method + "(" + String.join(", ", params) + ")";
        }
    }

    private static Class<?> box(Class<?> p) {
        return switch (p.getName()) {
            case "int" -> Integer.class;
            case "long" -> Long.class;
            case "float" -> Float.class;
            case "double" -> Double.class;
            case "boolean" -> Boolean.class;
            default -> throw new AssertionError(p);
        };
    }

    /**
     * The overloads on device tensors, which need a GPU to run: CudaSharedChecksTest checks them without one
     * (closed instance, shared checks) and CudaEquivalenceTest on one.
     */
    private static boolean onDevice(Method m) {
        return Arrays.asList(m.getParameterTypes()).contains(dev.entrokit.cuda.DeviceTensor.class);
    }

    private static String signature(Method m) {
        return m.getName() + "(" + String.join(", ", Arrays.stream(m.getParameterTypes())
                .map(Class::getSimpleName).toList()) + ")";
    }

    private static Call call(String method, String params, Supplier<Object[]> args) {
        return call(Entrokit.class, method, params, args);
    }

    private static Call call(Class<?> on, String method, String params, Supplier<Object[]> args) {
        return new Call(on, method, List.of(params.split(" ")), args);
    }

    // ---------------------------------------------------------------- valid arguments

    private static Tensor logits(long seed) {
        return Tensor.of(TestLogits.batch(seed, R, V), R, V);
    }

    private static Tensor f32(long rows, long cols) {
        return Tensor.of(new float[(int) (rows * cols)], (int) rows, (int) cols);
    }

    private static Tensor rowOut() {
        return Tensor.of(new float[R]);
    }

    private static Tensor ids() {
        return Tensor.of(new int[] {1, 5, 1});
    }

    private static Tensor filled(float value, int... shape) {
        float[] x = new float[Arrays.stream(shape).reduce(1, (p, q) -> p * q)];
        Arrays.fill(x, value);
        return Tensor.of(MemorySegment.ofArray(x), DType.F32, Arrays.stream(shape).asLongStream().toArray());
    }

    private static Tensor probs() {
        float[] p = new float[R * V];
        EK.softmax(TestLogits.batch(9, R, V), V, p, 1f);
        return Tensor.of(p, R, V);
    }

    private static Tensor logprobs() {
        return Tensor.of(new float[] {-1f, -2f, -0.5f}, 1, R);
    }

    /** Two problems of {@code n} points in the plane. */
    private static Tensor points(int n, long seed) {
        float[] x = TestLogits.batch(seed, 2 * n, 2);
        return Tensor.of(x, 2, n, 2);
    }

    /** SinKD's {@code [B, V]} logits, {@code B = 4}. */
    private static Tensor batchLogits(long seed) {
        return Tensor.of(TestLogits.batch(seed, 4, V), 4, V);
    }

    static List<Call> table() {
        List<Call> t = new ArrayList<>();
        t.add(call("logSumExp", "logits out temperature", () -> new Object[] {logits(1), rowOut(), 1f}));
        t.add(call("softmax", "logits probs temperature", () -> new Object[] {logits(1), f32(R, V), 1f}));
        t.add(call("logSoftmax", "logits logprobs temperature", () -> new Object[] {logits(1), f32(R, V), 1f}));
        t.add(call("softmax", "logits probs temperature rowMax? rowLogSumExp? rowEntropy?",
                () -> new Object[] {logits(1), f32(R, V), 1f, rowOut(), rowOut(), rowOut()}));
        t.add(call("logSoftmax", "logits logprobs temperature rowMax? rowLogSumExp? rowEntropy?",
                () -> new Object[] {logits(1), f32(R, V), 1f, rowOut(), rowOut(), rowOut()}));
        t.add(call("softmaxBackward", "probs gradOutput gradInput temperature",
                () -> new Object[] {probs(), logits(2), f32(R, V), 1f}));
        t.add(call("logSoftmaxBackward", "logprobs gradOutput gradInput temperature",
                () -> new Object[] {logits(1), logits(2), f32(R, V), 1f}));
        t.add(call("entropy", "logits options rowLoss? grad?", () -> new Object[] {logits(1), O, rowOut(), f32(R, V)}));
        for (String loss : List.of("crossEntropy", "kl", "rkl", "jsd", "jeffreys", "chi2")) {
            t.add(call(loss, "teacher student options rowLoss? grad?",
                    () -> new Object[] {logits(1), logits(2), O, rowOut(), f32(R, V)}));
        }
        for (String loss : List.of("tv", "hellinger")) {
            t.add(call(loss, "teacher student options rowLoss?", () -> new Object[] {logits(1), logits(2), O, rowOut()}));
        }
        for (String loss : List.of("alphaDivergence", "renyi")) {
            t.add(call(loss, "teacher student alpha options rowLoss? grad?",
                    () -> new Object[] {logits(1), logits(2), 0.5f, O, rowOut(), f32(R, V)}));
        }
        t.add(call("loss", "op teacher student labels options rowLoss? grad?",
                () -> new Object[] {Loss.PLD, logits(1), logits(2), ids(), O, rowOut(), f32(R, V)}));
        t.add(call("crossEntropyLabels", "labels student options rowLoss? grad?",
                () -> new Object[] {ids(), logits(2), O, rowOut(), f32(R, V)}));
        t.add(call("pld", "teacher student labels options rowLoss? grad?",
                () -> new Object[] {logits(1), logits(2), ids(), O, rowOut(), f32(R, V)}));
        t.add(call("logprobEntropy", "logits ids options logprobs? entropy? logprobWeights? entropyWeights? grad?",
                () -> new Object[] {logits(1), ids(), O, rowOut(), rowOut(), filled(0.5f, R), filled(0.1f, R), f32(R, V)}));
        t.add(call("k3Kl", "logits ids refLogprobs options kl weights? grad?",
                () -> new Object[] {logits(1), ids(), filled(-1f, R), O, rowOut(), filled(1f, R), f32(R, V)}));
        t.add(call("sparseDistill", "divergence mass teacherIds teacherLogprobs student options rowLoss? grad?",
                () -> new Object[] {SparseDivergence.JSD, TeacherMass.REST_BUCKET, Tensor.of(new int[] {0, 1, 2, 3, 4, 5}, R, 2),
                    filled(-1f, R, 2), logits(1), O, rowOut(), f32(R, V)}));
        t.add(call("crossEntropyLabels", "labels student options ce rowLoss? zLoss? grad? predicted? correct?",
                () -> new Object[] {ids(), logits(2), O, CrossEntropyOptions.none().zLoss(1e-4f).softcap(30f), rowOut(),
                    rowOut(), f32(R, V), Tensor.of(new int[R]), Tensor.of(MemorySegment.ofArray(new byte[R]), DType.BOOL, R)}));
        t.add(call("tokenLogprob", "logits ids out", () -> new Object[] {logits(1), ids(), rowOut()}));
        t.add(call(DetectionScores.class, "minKProb", "logprobs k scores", () -> new Object[] {logprobs(), 0.5f, Tensor.of(new float[1])}));
        t.add(call(DetectionScores.class, "minKProb", "logits ids k scores", () -> new Object[] {logits(1), ids(), 0.5f, Tensor.of(new float[1])}));
        t.add(call(DetectionScores.class, "minKPlusPlus", "logits ids k scores",
                () -> new Object[] {logits(1), ids(), 0.5f, Tensor.of(new float[1])}));
        t.add(call(DetectionScores.class, "dcpdd", "logits ids freq a scores",
                () -> new Object[] {logits(1), ids(), filled(1f / V, V), 0.01f, Tensor.of(new float[1])}));
        t.add(call(DetectionScores.class, "likelihoodRatio", "logitsA logitsB ids scores",
                () -> new Object[] {logits(1), logits(2), ids(), Tensor.of(new float[1])}));
        t.add(call(DetectionScores.class, "minKProbPacked", "logprobs offsets k scores", () -> new Object[] {filled(-1f, 5),
                Tensor.of(new int[] {0, 2, 5}), 0.5f, Tensor.of(new float[2])}));
        t.add(call(DetectionScores.class, "minKPlusPlusPacked", "logprobs means variances offsets k scores", () -> new Object[] {filled(-1f, 5),
                filled(-2f, 5), filled(0.5f, 5), Tensor.of(new int[] {0, 2, 5}), 0.5f, Tensor.of(new float[2])}));
        t.add(call(DetectionScores.class, "dcpddPacked", "logprobs ids offsets freq a scores", () -> new Object[] {filled(-1f, 5),
                Tensor.of(new int[] {1, 5, 1, 0, 7}), Tensor.of(new int[] {0, 2, 5}), filled(1f / V, V), 0.01f,
                Tensor.of(new float[2])}));
        t.add(call(DetectionScores.class, "likelihoodRatioPacked", "logprobsA logprobsB offsets scores", () -> new Object[] {filled(-1f, 5),
                filled(-2f, 5), Tensor.of(new int[] {0, 2, 5}), Tensor.of(new float[2])}));
        t.add(call(Decoding.class, "contrastive", "logits lameLogits lambda threshold uncertainty out",
                () -> new Object[] {logits(1), logits(2), 0.5f, 0f, Uncertainty.ENTROPY, f32(R, V)}));
        t.add(call(Decoding.class, "injectPrior", "logits prior lambda out", () -> new Object[] {logits(1), filled(1f / V, R, V), 0.5f, f32(R, V)}));
        t.add(call(Transport.class, "sinkhorn", "cost a? b? options", () -> new Object[] {filled(1f, 2, 3, 4), filled(1f / 3, 2, 3),
                filled(0.25f, 2, 4), SinkhornOptions.defaults()}));
        t.add(call(Transport.class, "sinkhorn", "x y metric a? b? options", () -> new Object[] {points(3, 1), points(4, 2), Metric.SQEUCLIDEAN,
                filled(1f / 3, 2, 3), filled(0.25f, 2, 4), SinkhornOptions.defaults()}));
        t.add(call(Transport.class, "sinkhorn", "problems options", () -> new Object[] {List.of(SinkhornProblem.ofCost(filled(1f, 3, 4),
                filled(1f / 3, 3), null, 0.05), SinkhornProblem.ofPoints(Tensor.of(TestLogits.batch(1, 3, 2), 3, 2),
                Tensor.of(TestLogits.batch(2, 4, 2), 4, 2), Metric.L1, null, null, 0.1)),
                SinkhornOptions.defaults()}));
        t.add(call(Transport.class, "sinkhornDivergence", "x y metric a? b? options", () -> new Object[] {points(3, 1), points(4, 2),
                Metric.SQEUCLIDEAN, filled(1f / 3, 2, 3), filled(0.25f, 2, 4), SinkhornOptions.defaults()}));
        t.add(call(Transport.class, "sinkd", "teacher student options grad?",
                () -> new Object[] {batchLogits(1), batchLogits(2), SinkdOptions.defaults(), f32(4, V)}));
        t.add(call(Decoding.class, "topK", "logits k temperature indicesOut valuesOut probsOut?",
                () -> new Object[] {logits(1), 2, 1f, Tensor.of(new int[R * 2], R, 2), f32(R, 2), f32(R, 2)}));
        t.add(call(Decoding.class, "topP", "logits p temperature maskOut", () -> new Object[] {logits(1), 0.9f, 1f, mask()}));
        t.add(call(Decoding.class, "minP", "logits minP temperature maskOut", () -> new Object[] {logits(1), 0.1f, 1f, mask()}));
        t.add(call(Decoding.class, "topH", "logits alpha n mode temperature maskOut",
                () -> new Object[] {logits(1), 0.5f, 4, TopHMode.PAPER, 1f, mask()}));
        t.add(call(Decoding.class, "keptMask", "logits filters maskOut", () -> new Object[] {logits(1), F, mask()}));
        t.add(call(Decoding.class, "keptTokens", "logits filters indicesOut probsOut countsOut",
                () -> new Object[] {logits(1), F, Tensor.of(new int[R * 4], R, 4), f32(R, 4), Tensor.of(new int[R])}));
        t.add(call(Decoding.class, "maskLogits", "logits filters out", () -> new Object[] {logits(1), F, f32(R, V)}));
        t.add(call(Decoding.class, "sample", "logits filters seeds step tokensOut",
                () -> new Object[] {logits(1), F, new long[] {1, 2, 3}, 0L, Tensor.of(new int[R])}));
        t.add(call(Decoding.class, "sample", "logits filtersPerRow seeds step tokensOut",
                () -> new Object[] {logits(1), List.of(F, F, F), new long[] {1, 2, 3}, 0L, Tensor.of(new int[R])}));
        t.add(call(Decoding.class, "raceSample", "logits filters seeds step tokensOut",
                () -> new Object[] {logits(1), F, new long[] {1, 2, 3}, 0L, Tensor.of(new int[R])}));
        t.add(call(Decoding.class, "raceSample", "logits filtersPerRow seeds step tokensOut",
                () -> new Object[] {logits(1), List.of(F, F, F), new long[] {1, 2, 3}, 0L, Tensor.of(new int[R])}));
        t.add(call(Decoding.class, "shardSample", "logits offset temperature seeds step",
                () -> new Object[] {logits(1), 100, 1f, new long[] {1, 2, 3}, 0L}));
        t.add(call(Decoding.class, "shardCandidates", "logits offset temperature k", () -> new Object[] {logits(1), 100, 1f, 4}));
        t.add(call(Decoding.class, "mirostatV2", "logits filters tau eta mu seeds step tokensOut",
                () -> new Object[] {logits(1), F, 3f, 0.1f, new float[] {6, 6, 6}, new long[] {1, 2, 3}, 0L, Tensor.of(new int[R])}));
        t.add(call(Decoding.class, "sampleWithLogprobs",
                "logits filters seeds step tokensOut topN topIdsOut topLogprobsOut rankOut rawLogprobOut processedLogprobOut",
                () -> new Object[] {logits(1), F, new long[] {1, 2, 3}, 0L, Tensor.of(new int[R]), 2, Tensor.of(new int[R * 2], R, 2),
                        f32(R, 2), Tensor.of(new int[R]), rowOut(), rowOut()}));
        t.add(call(Decoding.class, "applyPenalties", "logits promptIds? outputIds? repetition? frequency? presence?",
                () -> new Object[] {logits(1), Tensor.of(new int[] {1, -1, 2, 3, 0, 0}, R, 2), Tensor.of(new int[] {4, 5, -1}, R, 1),
                        new float[] {1.1f, 1.2f, 1f}, new float[] {0.5f, 0f, 1f}, new float[] {0f, 0.5f, 1f}}));
        t.add(call(Decoding.class, "applyLogitBias", "logits ids bias",
                () -> new Object[] {logits(1), Tensor.of(new int[] {1, -1, 2, 3, 0, 0}, R, 2), f32(R, 2)}));
        t.add(call(Decoding.class, "speculativeChain", "draftIds draftProbs targetProbs seeds step acceptedOut tokensOut",
                () -> new Object[] {Tensor.of(new int[] {0, 1, 2, 3, 4, 5}, R, 2), Tensor.of(new float[R * 2 * V], R, 2, V),
                        Tensor.of(new float[R * 3 * V], R, 3, V), new long[] {1, 2, 3}, 0L, Tensor.of(new int[R]),
                        Tensor.of(new int[R * 3], R, 3)}));
        t.add(call(Decoding.class, "sampleConstrained", "logits filters constraint seeds step tokensOut rejectionsOut rejectedMassOut",
                () -> new Object[] {logits(1), F, (Decoding.TokenConstraint) (r, tok) -> tok % 2 == 0,
                        new long[] {1, 2, 3}, 0L, Tensor.of(new int[R]), Tensor.of(new int[R]), rowOut()}));
        t.add(call(Decoding.class, "restrictTokens", "logits ids allowed",
                () -> new Object[] {logits(1), Tensor.of(new int[] {1, -1, 2, 3, 0, 0}, R, 2), true}));
        t.add(call("softmax", "logits cols probs temperature",
                () -> new Object[] {TestLogits.batch(1, R, V), V, new float[R * V], 1f}));
        t.add(call("logSoftmax", "logits cols logprobs temperature",
                () -> new Object[] {TestLogits.batch(1, R, V), V, new float[R * V], 1f}));
        t.add(call("logSumExp", "logits cols out temperature", () -> new Object[] {TestLogits.batch(1, R, V), V, new float[R], 1f}));
        t.add(call("entropy", "logits cols options rowLoss? grad?",
                () -> new Object[] {TestLogits.batch(1, R, V), V, O, new float[R], new float[R * V]}));
        t.add(call("kl", "teacher student cols options rowLoss? grad?",
                () -> new Object[] {TestLogits.batch(1, R, V), TestLogits.batch(2, R, V), V, O, new float[R], new float[R * V]}));
        t.add(call("crossEntropyLabels", "labels student cols options rowLoss? grad?",
                () -> new Object[] {new int[] {1, 5, 1}, TestLogits.batch(2, R, V), V, O, new float[R], new float[R * V]}));
        return t;
    }

    private static Tensor mask() {
        return Tensor.ofMask(new byte[R * V], R, V);
    }

    // ---------------------------------------------------------------- running a row of the table

    /** Invokes {@code m} on {@code ek} or on its view that declares it; returns what it threw (null when it returned). */
    private static Throwable invoke(Entrokit ek, Call c, Method m, Object[] args) {
        try {
            m.invoke(c.target(ek), args);
            return null;
        } catch (InvocationTargetException e) {
            return e.getCause();
        } catch (IllegalAccessException e) {
            throw new AssertionError(e);
        }
    }

    private static void assertNamedRefusal(Throwable thrown, String name, String what, Call c) {
        assertNotNull(thrown, () -> c + ": " + name + " " + what + " was accepted");
        assertInstanceOf(IllegalArgumentException.class, thrown, () -> c + ": " + name + " " + what + " threw " + thrown);
        assertTrue(thrown.getMessage().startsWith(name + ":"), () -> c + ": message should name " + name + ": "
                + thrown.getMessage());
    }

    /** The bytes of every heap tensor and array argument, to show that a refusal wrote nothing. */
    private static List<byte[]> snapshot(Object[] args) {
        List<byte[]> out = new ArrayList<>();
        for (Object a : args) {
            MemorySegment s = a instanceof Tensor t ? t.segment()
                    : a instanceof float[] f ? MemorySegment.ofArray(f)
                    : a instanceof int[] i ? MemorySegment.ofArray(i) : null;
            if (s != null && s.scope().isAlive() && s.isAccessibleBy(Thread.currentThread())) {
                out.add(s.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            }
        }
        return out;
    }

    private static void assertUnchanged(List<byte[]> before, Object[] args, Call c) {
        List<byte[]> after = snapshot(args);
        assertEquals(before.size(), after.size());
        for (int i = 0; i < before.size(); i++) {
            assertArrayEquals(before.get(i), after.get(i), () -> c + ": an argument was written before the refusal");
        }
    }

    /** A copy of a contiguous tensor in {@code segment}, with the same dtype and shape. */
    private static Tensor copyInto(Tensor t, MemorySegment segment) {
        MemorySegment.copy(t.segment(), 0, segment, 0, t.segment().byteSize());
        return Tensor.of(segment, t.dtype(), t.shape());
    }

    private static Tensor inClosedArena(Tensor t) {
        assertEquals(0, t.offset(), "table tensors are contiguous from their first element");
        MemorySegment seg;
        try (Arena arena = Arena.ofConfined()) {
            seg = arena.allocate(t.segment().byteSize(), 8);
            copyInto(t, seg);
        }
        return Tensor.of(seg, t.dtype(), t.shape());
    }

    /** A confined arena owned by a thread of its own, alive until closed. */
    private static final class ForeignArena implements AutoCloseable {
        private final ExecutorService owner = Executors.newSingleThreadExecutor();
        private final Arena arena;

        ForeignArena() throws Exception {
            arena = owner.submit(Arena::ofConfined).get();
        }

        Tensor copy(Tensor t) throws Exception {
            return owner.submit(() -> copyInto(t, arena.allocate(t.segment().byteSize(), 8))).get();
        }

        @Override
        public void close() throws Exception {
            owner.submit(arena::close).get();
            owner.shutdown();
        }
    }

    // ---------------------------------------------------------------- the tests

    @Test
    void theTableCoversEveryPublicMethod() {
        Set<String> inTable = new TreeSet<>();
        for (Call c : table()) {
            Method m = c.resolve();
            assertEquals(m.getParameterCount(), c.params().size(), c::toString);
            assertTrue(inTable.add(c.on().getSimpleName() + "." + signature(m)), () -> "listed twice: " + c);
        }
        Set<String> publicOps = new TreeSet<>();
        for (Class<?> on : OP_CLASSES) {
            for (Method m : on.getMethods()) {
                if (m.getDeclaringClass() == on && !NOT_OPS.contains(signature(m)) && !onDevice(m)) {
                    publicOps.add(on.getSimpleName() + "." + signature(m));
                }
                if (m.getDeclaringClass() == on && Modifier.isStatic(m.getModifiers())) {
                    assertTrue(on == Entrokit.class && NOT_OPS.contains(signature(m)), () -> "a new static method: " + m);
                }
            }
        }
        assertEquals(publicOps, inTable, "every public op needs a row in table()");
    }

    @Test
    void everyRowOfTheTableIsAValidCall() {
        for (Call c : table()) {
            Throwable thrown = invoke(EK, c, c.resolve(), c.args().get());
            if (thrown != null) {
                fail(c + " should succeed with the table's arguments", thrown);
            }
        }
    }

    /** Memory a tensor argument can be moved into, unusable by this thread. */
    @FunctionalInterface
    private interface DeadMemory {
        Tensor copy(Tensor t) throws Exception;
    }

    /** Every tensor argument of every op, one at a time in {@code dead} memory: refused by name, nothing written. */
    private static void everyTensorArgumentIsRefused(DeadMemory dead, String what, String messagePart) throws Exception {
        for (Call c : table()) {
            Method m = c.resolve();
            for (int i = 0; i < m.getParameterCount(); i++) {
                if (m.getParameterTypes()[i] != Tensor.class) {
                    continue;
                }
                Object[] args = c.args().get();
                args[i] = dead.copy((Tensor) args[i]);
                List<byte[]> before = snapshot(args);
                Throwable thrown = invoke(EK, c, m, args);
                assertNamedRefusal(thrown, c.name(i), what, c);
                assertTrue(thrown.getMessage().contains(messagePart), thrown.getMessage());
                assertUnchanged(before, args, c);
            }
        }
    }

    @Test
    void tensorsFromAClosedArenaAreRefusedByName() throws Exception {
        everyTensorArgumentIsRefused(ApiContractTest::inClosedArena, "from a closed arena", "closed");
    }

    @Test
    void tensorsConfinedToAnotherThreadAreRefusedByName() throws Exception {
        try (ForeignArena foreign = new ForeignArena()) {
            everyTensorArgumentIsRefused(foreign::copy, "confined to another thread", "another thread");
        }
    }

    @Test
    void nullArgumentsAreRefusedByNameOrAcceptedWhereOptional() {
        for (Call c : table()) {
            Method m = c.resolve();
            for (int i = 0; i < m.getParameterCount(); i++) {
                if (m.getParameterTypes()[i].isPrimitive()) {
                    continue;
                }
                Object[] args = c.args().get();
                args[i] = null;
                Throwable thrown = invoke(EK, c, m, args);
                if (c.nullable(i)) {
                    if (thrown != null) {
                        fail(c + ": " + c.name(i) + " may be null", thrown);
                    }
                } else {
                    assertNamedRefusal(thrown, c.name(i), "null", c);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void aClosedInstanceRefusesEveryOpWhateverItsThreads(int threads) {
        Entrokit ek = Entrokit.create("scalar", threads);
        ek.close();
        for (Call c : table()) {
            Object[] args = c.args().get();
            List<byte[]> before = snapshot(args);
            Throwable thrown = invoke(ek, c, c.resolve(), args);
            assertInstanceOf(IllegalStateException.class, thrown, () -> c + " on a closed instance threw " + thrown);
            assertTrue(thrown.getMessage().startsWith("entrokit: closed"), thrown.getMessage());
            assertUnchanged(before, args, c);
        }
        assertDoesNotThrow(ek::close, "closing twice is harmless");
        assertEquals("scalar", ek.backendName(), "a closed instance can still be described");
        assertEquals(threads, ek.threads());
    }

    @Test
    void closingTheSharedInstanceLeavesItWorking() {
        Entrokit shared = Entrokit.get();
        shared.close();
        assertSame(shared, Entrokit.get());
        float[] lse = new float[R];
        shared.logSumExp(TestLogits.batch(1, R, V), V, lse, 1f);
        float[] expected = new float[R];
        EK.logSumExp(TestLogits.batch(1, R, V), V, expected, 1f);
        assertArrayEquals(expected, lse);
    }

    /** The host side of a device copy is checked before any native call, so no GPU is needed here. */
    @Test
    void deviceCopiesRefuseABadHostTensorByName() throws Exception {
        dev.entrokit.cuda.DeviceTensor device = dev.entrokit.cuda.DeviceTensor.wrap(64, 1024, DType.F32, R, V, V);
        assertNamedRefusal(assertThrows(IllegalArgumentException.class, () -> device.copyFrom((Tensor) null, null)),
                "host", "null", null);
        assertNamedRefusal(assertThrows(IllegalArgumentException.class,
                () -> device.copyFrom(inClosedArena(f32(R, V)), null)), "host", "from a closed arena", null);
        try (ForeignArena foreign = new ForeignArena()) {
            Tensor confined = foreign.copy(f32(R, V));
            assertNamedRefusal(assertThrows(IllegalArgumentException.class, () -> device.copyTo(confined, null)),
                    "host", "confined to another thread", null);
        }
        Tensor readOnly = Tensor.of(MemorySegment.ofArray(new float[R * V]).asReadOnly(), DType.F32, R, V);
        assertEquals("host: segment is read-only",
                assertThrows(IllegalArgumentException.class, () -> device.copyTo(readOnly, null)).getMessage());
    }

    @Test
    void aCloseDuringCallsOnOtherThreadsLetsEachFinishOrRefuse() throws Exception {
        int rows = 64;
        int v = 4096; // 64 × 4096 is over the parallel threshold, so each call hands rows to the pool
        float[] x = TestLogits.batch(3, rows, v);
        float[] expected = new float[rows];
        EK.logSumExp(x, v, expected, 1f);
        for (int round = 0; round < 20; round++) {
            Entrokit ek = Entrokit.create("scalar", 2);
            List<Throwable> unexpected = java.util.Collections.synchronizedList(new ArrayList<>());
            Thread caller = Thread.ofPlatform().start(() -> {
                for (int k = 0; k < 50; k++) {
                    float[] got = new float[rows];
                    try {
                        ek.logSumExp(x, v, got, 1f);
                        if (!Arrays.equals(expected, got)) {
                            unexpected.add(new AssertionError("a call that returned left rows unwritten"));
                        }
                    } catch (IllegalStateException e) {
                        if (!e.getMessage().startsWith("entrokit: closed")) {
                            unexpected.add(e);
                        }
                    } catch (RuntimeException e) {
                        unexpected.add(e);
                    }
                }
            });
            Thread.sleep(round % 3);
            ek.close();
            caller.join();
            assertTrue(unexpected.isEmpty(), () -> "round: " + unexpected);
        }
    }
}
