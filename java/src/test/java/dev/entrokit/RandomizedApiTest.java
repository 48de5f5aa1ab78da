package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The seeded, reproducible API harness: {@value #DEFAULT_CASES} random calls ({@link ApiScenario#draw}:
 * shapes with 0 rows or 1 column, odd sizes, strides, offsets, dtypes, read-only memory, special values,
 * parameter extremes) on each CPU backend, each checked for
 * <ul>
 *   <li>{@link ApiScenario}'s invariants and its float64 oracles;</li>
 *   <li>thread-count determinism: 1 and 2 threads give bitwise the same outputs (big cases are drawn
 *       above the splitting threshold);</li>
 *   <li>row independence: each row computed alone gives bitwise what it gave in the batch.</li>
 * </ul>
 * A failure names its seed; {@code -Dentrokit.fuzz.seed=S -Dentrokit.fuzz.cases=1} replays that one
 * case, and {@code -Dentrokit.fuzz.cases=N} runs a longer series. Memory from closed or foreign-thread
 * arenas, overlapping outputs and closed instances are checked by the tests below it.
 */
@Tag("simd-width")
class RandomizedApiTest {
    static final int DEFAULT_CASES = 400;
    static final long BASE_SEED = Long.getLong("entrokit.fuzz.seed", 0x12_2026L);
    static final int CASES = Integer.getInteger("entrokit.fuzz.cases", DEFAULT_CASES);
    private static final List<Entrokit> OPENED = new ArrayList<>();

    @AfterAll
    static void close() {
        OPENED.forEach(Entrokit::close);
    }

    private static synchronized Entrokit open(String backend, int threads) {
        Entrokit ek = Entrokit.create(backend, threads);
        OPENED.add(ek);
        return ek;
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void randomCallsKeepEveryInvariant(String backend) {
        TestBackends.open(backend);
        Entrokit one = open(backend, 1);
        Entrokit two = open(backend, 2);
        List<AssertionError> failures = new ArrayList<>();
        for (int i = 0; i < CASES; i++) {
            long seed = BASE_SEED + i;
            ApiScenario.Seeded choices = new ApiScenario.Seeded(seed);
            // One case in eight is big enough for the rows to be split over threads.
            boolean big = choices.range(0, 7) == 0;
            ApiScenario.Call call = ApiScenario.draw(choices, big ? 12 : 6, big ? 6000 : 70);
            try {
                checkCase(backend, one, two, call);
            } catch (AssertionError e) {
                // Every failing seed is listed, so that one run shows every defect it reaches.
                AssertionError named = new AssertionError("seed " + seed + " (replay: -Dentrokit.fuzz.seed=" + seed
                        + " -Dentrokit.fuzz.cases=1): " + e.getMessage(), e);
                List<String> lines = named.getMessage().lines().toList();
                System.err.println("RandomizedApiTest " + backend + ": " + lines.getFirst()
                        + (lines.size() > 1 ? " ... " + lines.getLast() : ""));
                failures.add(named);
            }
        }
        if (!failures.isEmpty()) {
            AssertionError first = failures.getFirst();
            throw new AssertionError(failures.size() + " of " + CASES + " cases failed on " + backend + "; the first: "
                    + first.getMessage(), first);
        }
    }

    private static void checkCase(String backend, Entrokit one, Entrokit two, ApiScenario.Call call) {
        ApiScenario.Result a = ApiScenario.run(one, call);
        ApiScenario.Result b = ApiScenario.run(two, call);
        ApiScenario.check(call, b, backend);
        ApiScenario.checkOracle(call, b, backend);
        assertEquals(a.refused() == null, b.refused() == null, () -> backend + ": 1 and 2 threads disagree on refusing " + call);
        if (b.refused() != null) {
            return;
        }
        assertEquals(Double.doubleToLongBits(a.value()), Double.doubleToLongBits(b.value()),
                () -> backend + ": returned value differs between 1 and 2 threads: " + call);
        for (int r = 0; r < b.rows().length; r++) {
            assertBitwise(a.rows()[r], b.rows()[r], backend + ": row " + r + " differs between 1 and 2 threads: " + call);
        }
        if (call.rowwise()) {
            for (int r = 0; r < call.rows(); r++) {
                ApiScenario.Result alone = ApiScenario.run(one, call.row(r));
                int row = r;
                assertTrue(alone.refused() == null, () -> backend + ": row " + row + " alone is refused ("
                        + alone.refused() + ") but accepted in the batch: " + call);
                assertBitwise(alone.rows()[0], b.rows()[r], backend + ": row " + r + " alone differs from the batch: " + call);
            }
        }
    }

    private static void assertBitwise(float[] expected, float[] got, String what) {
        assertEquals(expected.length, got.length, what);
        for (int i = 0; i < got.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(got[i])) {
                fail(what + "\n  at output " + i + ": " + expected[i] + " vs " + got[i]);
            }
        }
    }

    // ------------------------------------------------------------------ memory and lifecycle

    /** One op per kind of argument, each given {@code bad} in place of the argument it names. */
    private static Map<String, Consumer<MemorySegment>> opsTaking(Entrokit ek) {
        int rows = 2;
        int v = 8;
        float[] logits = TestLogits.batch(7, rows, v);
        Tensor x = Tensor.of(logits, rows, v);
        return Map.of(
                "logits", seg -> ek.softmax(Tensor.of(seg, DType.F32, rows, v), Tensor.of(new float[rows * v], rows, v), 1f),
                "probs", seg -> ek.softmax(x, Tensor.of(seg, DType.F32, rows, v), 1f),
                "rowLoss", seg -> ek.entropy(x, LossOptions.defaults(), Tensor.of(seg, DType.F32, rows), null),
                "labels", seg -> ek.crossEntropyLabels(Tensor.of(seg, DType.I32, rows), x, LossOptions.defaults(), null, null),
                "ids", seg -> ek.tokenLogprob(x, Tensor.of(seg, DType.I32, rows), Tensor.of(new float[rows])),
                "freq", seg -> ek.scores().dcpdd(x, Tensor.of(new int[] {1, 2}), Tensor.of(seg, DType.F32, v), 0.01f,
                        Tensor.of(new float[1])),
                "tokensOut", seg -> ek.decoding().sample(x, SamplingFilters.temperature(1f), new long[rows], 0,
                        Tensor.of(seg, DType.I32, rows)),
                "indicesOut", seg -> ek.decoding().topK(x, 2, 1f, Tensor.of(seg, DType.I32, rows, 2),
                        Tensor.of(new float[4], rows, 2), null));
    }

    /** A segment of 64 valid entries (floats 0.125, ints 1) for any of {@link #opsTaking}'s arguments. */
    private static MemorySegment filled(Arena arena) {
        MemorySegment seg = arena.allocate(256, 4);
        for (int i = 0; i < 64; i++) {
            seg.setAtIndex(ValueLayout.JAVA_INT, i, 1);
        }
        return seg;
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void memoryOfAClosedArenaIsRefusedByName(String backend) {
        Entrokit ek = TestBackends.open(backend);
        for (var op : opsTaking(ek).entrySet()) {
            Arena arena = Arena.ofShared();
            MemorySegment seg = filled(arena);
            arena.close();
            expectRefusal(op.getKey(), "closed arena", () -> op.getValue().accept(seg));
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void memoryConfinedToAnotherThreadIsRefusedByName(String backend) throws Exception {
        Entrokit ek = TestBackends.open(backend);
        for (var op : opsTaking(ek).entrySet()) {
            Arena arena = CompletableFuture.supplyAsync(Arena::ofConfined).get();
            MemorySegment seg = CompletableFuture.supplyAsync(() -> arena.allocate(256, 4)).get();
            expectRefusal(op.getKey(), "arena confined to another thread", () -> op.getValue().accept(seg));
        }
    }

    private static void expectRefusal(String argument, String why, Runnable call) {
        try {
            call.run();
            fail(argument + " from a " + why + " was accepted");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().startsWith(argument + ":"), () -> "refusal of " + argument + " from a " + why
                    + " names another argument: " + e.getMessage());
        } catch (RuntimeException e) {
            throw new AssertionError(argument + " from a " + why + " threw " + e, e);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void outputsOverlappingInputsOrReadOnlyAreRefused(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] buf = TestLogits.batch(3, 3, 16);
        MemorySegment seg = MemorySegment.ofArray(buf);
        Tensor in = Tensor.strided(seg, DType.F32, 2, 16, 0, 16);
        Tensor shifted = Tensor.strided(seg, DType.F32, 2, 16, 8, 16);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ek.softmax(in, shifted, 1f));
        assertTrue(e.getMessage().startsWith("probs:"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ek.kl(in, in, LossOptions.defaults(), null,
                Tensor.strided(seg, DType.F32, 2, 16, 16, 16)));
        assertTrue(e.getMessage().startsWith("grad:"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ek.softmax(in, Tensor.of(seg.asReadOnly(), DType.F32, 2, 16), 1f));
        assertTrue(e.getMessage().startsWith("probs:"), e.getMessage());
        // The very same view is the documented in-place form: accepted, and equal to the out-of-place result.
        float[] expected = new float[32];
        ek.softmax(in, Tensor.of(expected, 2, 16), 1f);
        ek.softmax(in, in, 1f);
        assertArrayEquals(expected, java.util.Arrays.copyOf(buf, 32));
    }

    @Test
    void aClosedInstanceRefusesEveryCall() {
        for (String backend : TestBackends.availableNames()) {
            for (int threads : new int[] {1, 2}) {
                Entrokit ek = Entrokit.create(backend, threads);
                ek.close();
                float[] x = TestLogits.batch(5, 2, 8);
                assertThrows(IllegalStateException.class, () -> ek.softmax(x, 8, new float[16], 1f),
                        backend + " with " + threads + " threads computed after close()");
            }
        }
    }
}
