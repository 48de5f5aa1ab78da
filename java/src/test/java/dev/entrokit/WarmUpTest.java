package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.entrokit.internal.Backends;
import dev.entrokit.internal.HandoffBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The SIMD warm-up (SPEC §6): an {@code auto} instance answers with the scalar kernels until the
 * warm-up is done and with the SIMD kernels after; an explicit backend never hands off; the
 * {@code entrokit.warmup} modes.
 */
class WarmUpTest {
    private static final int ROWS = 3;
    private static final int COLS = 1001;

    /** A teacher and a student batch on which float32 and float64 accumulation differ in the last bits. */
    static float[][] pair() {
        SplittableRandom rnd = new SplittableRandom(2026);
        float[] t = new float[ROWS * COLS];
        float[] s = new float[ROWS * COLS];
        for (int i = 0; i < t.length; i++) {
            t[i] = (float) (4 * rnd.nextGaussian());
            s[i] = (float) (t[i] + rnd.nextGaussian());
        }
        t[COLS + 3] = Float.NEGATIVE_INFINITY; // a masked teacher token in row 1
        return new float[][] {t, s};
    }

    /** The per-row KL losses of {@code ek} on {@code in}. */
    static float[] kl(Entrokit ek, float[][] in) {
        float[] rowLoss = new float[ROWS];
        ek.kl(Tensor.of(in[0], ROWS, COLS), Tensor.of(in[1], ROWS, COLS), LossOptions.defaults().reduction(Reduction.NONE),
                Tensor.of(rowLoss), null);
        return rowLoss;
    }

    private static int[] topK(Entrokit ek, float[] x, float[] probs) {
        int[] idx = new int[ROWS * 7];
        ek.decoding().topK(Tensor.of(x, ROWS, COLS), 7, 0.8f, Tensor.of(idx, ROWS, 7), Tensor.of(new float[ROWS * 7],
                ROWS, 7), Tensor.of(probs, ROWS, 7));
        return idx;
    }

    private static float[] tokenLogprob(Entrokit ek, float[] x) {
        float[] out = new float[ROWS];
        ek.tokenLogprob(Tensor.of(x, ROWS, COLS), Tensor.of(new int[] {5, 500, 1000}, 1, ROWS), Tensor.of(out));
        return out;
    }

    private static double sinkhornCost(Entrokit ek, float[] x) {
        float[] cost = Arrays.copyOf(x, 2 * 10 * 10);
        for (int i = 0; i < cost.length; i++) {
            cost[i] = Math.abs(cost[i]);
        }
        return ek.transport().sinkhorn(Tensor.of(cost, 2, 10, 10), null, null,
                SinkhornOptions.defaults().maxIter(10).tol(0)).cost()[0];
    }

    @Test
    void autoAnswersWithTheScalarKernelsUntilTheWarmUpIsDoneThenWithTheSimdOnes() {
        assumeTrue(TestBackends.available("simd"), "no simd backend here");
        float[][] in = pair();
        Entrokit scalar = TestBackends.scalarReference();
        Entrokit simd = TestBackends.instance("simd");
        float[] fromScalar = kl(scalar, in);
        float[] fromSimd = kl(simd, in);
        assertFalse(Arrays.equals(fromScalar, fromSimd), "the inputs must tell the backends apart: " + Arrays.toString(fromScalar));
        float[] pScalar = new float[ROWS * 7];
        float[] pSimd = new float[ROWS * 7];
        int[] iScalar = topK(scalar, in[0], pScalar);
        int[] iSimd = topK(simd, in[0], pSimd);

        AtomicBoolean ready = new AtomicBoolean(false);
        HandoffBackend handoff = new HandoffBackend(Backends.byName("simd"), Backends.byName("scalar"), ready::get);
        try (Entrokit auto = Entrokit.on(handoff, 2)) {
            assertEquals("simd", auto.backendName(), "it is the simd backend, answering from scalar meanwhile");
            assertTrue(auto.backendDescription().contains("answering with the scalar kernels"), auto.backendDescription());
            assertArrayEquals(fromScalar, kl(auto, in), "while warming up: the scalar kernels, bit for bit");
            float[] p = new float[ROWS * 7];
            assertArrayEquals(iScalar, topK(auto, in[0], p));
            assertArrayEquals(pScalar, p);
            assertArrayEquals(tokenLogprob(scalar, in[0]), tokenLogprob(auto, in[0]));
            assertEquals(sinkhornCost(scalar, in[0]), sinkhornCost(auto, in[0]));

            ready.set(true);
            assertFalse(auto.backendDescription().contains("answering"), auto.backendDescription());
            assertArrayEquals(fromSimd, kl(auto, in), "once warm: the simd kernels, bit for bit");
            assertArrayEquals(iSimd, topK(auto, in[0], p));
            assertArrayEquals(pSimd, p);
            assertArrayEquals(tokenLogprob(simd, in[0]), tokenLogprob(auto, in[0]));
            assertEquals(sinkhornCost(simd, in[0]), sinkhornCost(auto, in[0]));
        }
    }

    /**
     * The warm-up ending in the middle of a call: the readiness flag turns true right after its first read. Each
     * call reads it once and runs all its rows on that backend, so the batch is the scalar one bit for bit (read
     * per kernel call, its first row would have been scalar and the rest SIMD), and the next call is SIMD.
     */
    @Test
    void aCallThatSpansTheEndOfTheWarmUpRunsEveryRowOnOneBackend() {
        assumeTrue(TestBackends.available("simd"), "no simd backend here");
        float[][] in = pair();
        float[] fromScalar = kl(TestBackends.scalarReference(), in);
        float[] fromSimd = kl(TestBackends.instance("simd"), in);
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        HandoffBackend handoff = new HandoffBackend(Backends.byName("simd"), Backends.byName("scalar"),
                () -> reads.getAndIncrement() > 0);
        for (int threads : new int[] {1, 2}) {
            try (Entrokit auto = Entrokit.on(handoff, threads)) {
                reads.set(0);
                assertArrayEquals(fromScalar, kl(auto, in), threads + " thread(s): the whole batch on the scalar kernels");
                assertArrayEquals(fromSimd, kl(auto, in), threads + " thread(s): the next call on the simd ones");
            }
        }
    }

    /**
     * The warm-up stands aside while hand-off calls run: that needs each call counted from its first row to its
     * last, on every thread count, and uncounted when it ends, also when it fails (else the warm-up would wait for
     * a call that is gone).
     */
    @Test
    void aHandOffCallIsCountedInFlightWhileItsRowsRun() {
        assumeTrue(TestBackends.available("simd"), "no simd backend here");
        dev.entrokit.internal.CallGauge calls = new dev.entrokit.internal.CallGauge();
        HandoffBackend handoff = new HandoffBackend(Backends.byName("simd"), Backends.byName("scalar"), () -> false,
                calls);
        for (int threads : new int[] {1, 2}) {
            dev.entrokit.internal.RowExecutor rows = new dev.entrokit.internal.RowExecutor(threads);
            rows.scope(handoff.rowScope());
            java.util.concurrent.ConcurrentLinkedQueue<Integer> seen = new java.util.concurrent.ConcurrentLinkedQueue<>();
            long ended = calls.ended();
            rows.forEachRow(8, 1 << 20, true, r -> seen.add(calls.inFlight()));
            assertEquals(8, seen.size());
            assertTrue(seen.stream().allMatch(c -> c == 1), threads + " thread(s): in flight during the rows " + seen);
            assertEquals(0, calls.inFlight(), threads + " thread(s): not in flight after the call");
            assertEquals(ended + 1, calls.ended(), threads + " thread(s): counted as ended");
            assertThrows(IllegalStateException.class, () -> rows.forEachRow(8, 1 << 20, true, r -> {
                if (r == 5) {
                    throw new IllegalStateException("row 5");
                }
            }));
            assertEquals(0, calls.inFlight(), threads + " thread(s): not in flight after a failed call");
            assertEquals(ended + 2, calls.ended(), threads + " thread(s): a failed call ends too");
            rows.close();
        }
    }

    @Test
    void afterWarmUpAutoIsThePlainSimdBackendAndExplicitSimdNeverHandsOff() {
        assumeTrue(TestBackends.available("simd"), "no simd backend here");
        assumeTrue(Backends.select("auto").name().equals("simd"), "auto picks another backend here");
        float[][] in = pair();
        float[] fromSimd = kl(TestBackends.instance("simd"), in);
        try (Entrokit simd = Entrokit.create("simd", 1)) {
            assertArrayEquals(fromSimd, kl(simd, in), "an explicit simd instance runs the simd kernels at once");
            assertFalse(simd.backendDescription().contains("answering"), simd.backendDescription());
        }
        Entrokit.warmUp();
        assertTrue(Entrokit.warmUpStatus().matches("(background|wait|off) \\((done|stopped unsettled) after \\d+ rounds, .*\\)"),
                Entrokit.warmUpStatus());
        try (Entrokit auto = Entrokit.create("auto", 1)) {
            assertArrayEquals(fromSimd, kl(auto, in));
            assertFalse(auto.backendDescription().contains("answering"), auto.backendDescription());
        }
    }

    // ------------------------------------------------------------------ fresh JVMs, one per mode

    /**
     * Loops that only half inputs run (bfloat16 selection, decoding, softmax family and pair losses read in registers;
     * selection on 16-bit keys, binary16 selection in registers and the binary16 widening of the other ops), as {@code Class::method}.
     */
    private static final List<String> HALF_LOOPS = List.of(
            "HalfKeyPasses::gather", "HalfSelectionPasses::sampleLargest",
            "HalfSelectionPasses::sampleLargestF16", "HalfSelectionPasses::massBelowF16", "HalfKeyPasses::maxKey",
            "HalfDecodingPasses::max", "HalfDecodingPasses::masses", "HalfDecodingPasses::typicalMasses",
            "HalfDecodingPasses::moments", "HalfDecodingPasses::squares",
            "HalfPairPasses::klBlockSums", "SimdHalfKernels::softmax", "SimdHalfKernels::logSumExp",
            "SimdHalfKernels::sumExpF16", "SimdHalfKernels::expStoreEntropySumsF16", "SimdHalfKernels::sumExpBlockF16",
            "HalfWidening::widenF16", "HalfWidening::narrowF16");

    private static Map<String, List<String>> probe(String backend, String mode)
            throws IOException, InterruptedException {
        return probe(backend, mode, List.of());
    }

    /**
     * Runs {@link WarmUpProbe} in a fresh JVM with {@code jvmFlags} added; its {@code key=value} lines by key, and
     * every other line (the JVM's own output, such as {@code -XX:+PrintCompilation}'s) under the key {@code jvm}, in
     * order, up to the probe's first line.
     */
    private static Map<String, List<String>> probe(String backend, String mode, List<String> jvmFlags)
            throws IOException, InterruptedException {
        Path out = Files.createTempFile("entrokit-warmup", ".txt");
        try {
            List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                    "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"));
            if (mode != null) {
                cmd.add("-Dentrokit.warmup=" + mode);
            }
            cmd.addAll(jvmFlags);
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), WarmUpProbe.class.getName(), backend));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD);
            pb.environment().remove("ENTROKIT_BACKEND");
            pb.environment().remove("ENTROKIT_WARMUP");
            Process p = pb.start();
            // An overloaded machine stretches the warm-up; the probe is killed after this.
            assertTrue(p.waitFor(540, TimeUnit.SECONDS), "the child JVM did not finish");
            assertEquals(0, p.exitValue());
            Map<String, List<String>> m = new HashMap<>();
            boolean probeStarted = false;
            for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
                int eq = line.indexOf('=');
                boolean mine = eq > 0 && line.substring(0, eq).matches("[a-z]+");
                probeStarted |= mine;
                if (mine) {
                    m.computeIfAbsent(line.substring(0, eq), k -> new ArrayList<>()).add(line.substring(eq + 1));
                } else if (!probeStarted) {
                    m.computeIfAbsent("jvm", k -> new ArrayList<>()).add(line);
                }
            }
            return m;
        } finally {
            Files.deleteIfExists(out);
        }
    }

    @Test
    void freshJvmModes() throws Exception {
        assumeTrue(TestBackends.available("simd"), "no simd backend here");
        assumeTrue(Backends.select("auto").name().equals("simd"), "auto picks another backend here");
        float[][] in = pair();
        String scalar = Arrays.toString(kl(TestBackends.scalarReference(), in));
        String simd = Arrays.toString(kl(TestBackends.instance("simd"), in));

        // Default (background): auto starts on the scalar kernels (the switch itself is the in-process test above).
        Map<String, List<String>> auto = probe("auto", null);
        assertEquals("background (running)", auto.get("status").get(0), auto.toString());
        assertTrue(auto.get("description").get(0).contains("answering with the scalar kernels"), auto.toString());
        assertEquals(scalar, auto.get("first").get(0), "a fresh JVM's first auto call is the scalar reference's");

        // An explicit simd instance runs simd from its first call, and under background starts no warm-up.
        Map<String, List<String>> explicit = probe("simd", null);
        assertEquals("background (not started)", explicit.get("status").get(0), explicit.toString());
        assertEquals(simd, explicit.get("first").get(0));

        // wait: creation returns once the warm-up is done, so auto is simd from its first call. The JIT's log up to
        // then shows the warm-up's calls: the half kernels' own loops were compiled (the probe's KL is float32).
        Map<String, List<String>> waited = probe("auto", "wait", List.of("-XX:+PrintCompilation"));
        assertTrue(waited.get("status").get(0).matches("wait \\((done|stopped unsettled) after \\d+ rounds, .*\\)"),
                waited.get("status").toString());
        assertEquals(simd, waited.get("first").get(0));
        List<String> jit = waited.getOrDefault("jvm", List.of());
        for (String loop : HALF_LOOPS) {
            assertTrue(jit.stream().anyMatch(l -> l.contains("dev.entrokit.internal.simd." + loop + " ")),
                    "the warm-up never ran " + loop + " often enough to compile it (" + jit.size() + " JIT lines)");
        }

        // off: nothing starts and auto is simd at once.
        Map<String, List<String>> off = probe("auto", "off");
        assertEquals("off (not started)", off.get("status").get(0), off.toString());
        assertFalse(off.get("description").get(0).contains("answering"), off.toString());
        assertEquals(simd, off.get("first").get(0));

        Map<String, List<String>> bad = probe("auto", "sometimes");
        assertEquals("-Dentrokit.warmup: unknown 'sometimes', expected one of background, wait, off",
                bad.get("refused").get(0), bad.toString());
    }
}
