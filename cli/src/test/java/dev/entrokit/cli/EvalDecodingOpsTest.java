package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code eval process_logits}, {@code mirostat}, {@code speculative} and {@code constrained} end to end on both CPU
 * backends, on rows whose answers follow from SPEC §2 by hand, and their user errors.
 */
class EvalDecodingOpsTest {
    private static final float LN2 = (float) Math.log(2);
    private static final float NEG = Float.NEGATIVE_INFINITY;
    private static final String[] BACKENDS = {"scalar", "simd"};

    @TempDir
    Path dir;

    private Path write(String name, NpyArray a) {
        Path p = dir.resolve(name + ".npy");
        Npy.write(p, a);
        return p;
    }

    /** Runs {@code eval op} with {@code --in} files and {@code --set} pairs; returns its outputs by name. */
    private Map<String, NpyArray> eval(String op, String backend, Map<String, Path> in, String... sets) {
        Path out = dir.resolve(op + "-" + backend + "-" + Integer.toHexString((in.toString() + List.of(sets)).hashCode()));
        List<String> args = new ArrayList<>(List.of("eval", op, "--backend", backend, "--out", out.toString()));
        in.forEach((k, v) -> args.addAll(List.of("--in", k + "=" + v)));
        for (String s : sets) {
            args.addAll(List.of("--set", s));
        }
        CliRunner.Result r = CliRunner.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        Map<String, NpyArray> outs = new java.util.HashMap<>();
        for (String line : r.out().strip().split("\n")) {
            Path file = Path.of(line.split(" ")[1]);
            String name = file.getFileName().toString().replace(".npy", "");
            outs.put(name, Npy.read(file));
        }
        return outs;
    }

    private static float[] floats(NpyArray a) {
        return NpyTest.assertInstance(NpyArray.Float32.class, a).data();
    }

    private static int[] ints(NpyArray a) {
        return NpyTest.assertInstance(NpyArray.Int32.class, a).data();
    }

    private int error(String... args) {
        CliRunner.Result r = CliRunner.run(args);
        assertEquals(1, r.err().strip().lines().count(), r.err());
        return r.code();
    }

    private String errorText(String... args) {
        CliRunner.Result r = CliRunner.run(args);
        assertEquals(2, r.code(), r.out() + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        return r.err();
    }

    @Test
    void processLogitsRunsThePrePassesInVllmOrder() {
        // Row 0: allowed ids {1, 2, 3, 4}, token 4 banned, +1.5 on token 2 (listed twice: +0.5 and +1), then θ = 2 on
        // tokens 1, 2 and 3 (prompt 3, output 1, 2, 2) and the frequency 0.25 / presence 0.5 on 1 and 2.
        // Row 1: no restriction (all padding), θ = 0.5 on the prompt's token 0 only, no output ids.
        float[] x = {3f, 2f, -1f, 4f, 1f, 0.5f, -2f, 1f, 0f, NEG, 2f, 3f};
        Map<String, Path> in = new java.util.LinkedHashMap<>();
        in.put("logits", write("logits", new NpyArray.Float32(new long[] {2, 6}, x)));
        in.put("allowed_ids", write("allowed", new NpyArray.Int32(new long[] {2, 4}, new int[] {1, 2, 3, 4, -1, -1, -1, -1})));
        in.put("banned_ids", write("banned", new NpyArray.Int32(new long[] {2, 1}, new int[] {4, -1})));
        in.put("bias_ids", write("bias_ids", new NpyArray.Int32(new long[] {2, 2}, new int[] {2, 2, -1, 5})));
        in.put("bias", write("bias", new NpyArray.Float32(new long[] {2, 2}, new float[] {0.5f, 1f, 9f, -1f})));
        in.put("prompt_ids", write("prompt", new NpyArray.Int32(new long[] {2, 1}, new int[] {3, 0})));
        in.put("output_ids", write("output", new NpyArray.Int32(new long[] {2, 3}, new int[] {1, 2, 2, -1, -1, -1})));
        in.put("repetition", write("rep", new NpyArray.Float32(new long[] {2}, new float[] {2f, 0.5f})));
        in.put("frequency", write("freq", new NpyArray.Float32(new long[] {2}, new float[] {0.25f, 0.25f})));
        in.put("presence", write("pres", new NpyArray.Float32(new long[] {2}, new float[] {0.5f, 0.5f})));
        float[] want = {NEG, 2f / 2 - (0.25f + 0.5f), 0.5f / 2 - (2 * 0.25f + 0.5f), 4f / 2, NEG, NEG,
                -2f * 0.5f, 1f, 0f, NEG, 2f, 3f - 1f};
        for (String backend : BACKENDS) {
            assertArrayEquals(want, floats(eval("process_logits", backend, in).get("logits")), backend);
        }
        // The same penalty for every row from the settings; the input file is left as it was.
        Map<String, Path> few = Map.of("logits", in.get("logits"), "output_ids", in.get("output_ids"));
        float[] uniform = floats(eval("process_logits", "simd", few, "repetition_penalty=2", "presence_penalty=1").get("logits"));
        assertArrayEquals(new float[] {3f, 2f / 2 - 1, -1f * 2 - 1, 4f, 1f, 0.5f, -2f, 1f, 0f, NEG, 2f, 3f}, uniform);
        assertArrayEquals(x, floats(Npy.read(in.get("logits"))));
    }

    @Test
    void mirostatTruncatesAtMuAndUpdatesIt() {
        // p = (0.5, 0.25, 0.125, 0.125): μ = 1.5 bits keeps q ≥ 2^-1.5 = 0.354, token 0 alone (q = 1, surprise 0), so
        // μ ← 1.5 − 0.1·(0 − 5) = 2. μ = 2.5 keeps tokens 0 and 1 (2/3, 1/3): μ ← 2.5 − 0.1·(−log2 q − 5).
        Path logits = write("logits", new NpyArray.Float32(new long[] {2, 4}, new float[] {2 * LN2, LN2, 0f, 0f, 2 * LN2, LN2, 0f, 0f}));
        Path mu = write("mu", new NpyArray.Float32(new long[] {2}, new float[] {1.5f, 2.5f}));
        for (String backend : BACKENDS) {
            for (long seed = 1; seed <= 6; seed++) {
                Map<String, NpyArray> out = eval("mirostat", backend, Map.of("logits", logits, "mu", mu), "seed=" + seed,
                        "tau=5", "eta=0.1");
                int[] tokens = ints(out.get("tokens"));
                float[] next = floats(out.get("mu"));
                assertEquals(0, tokens[0], backend);
                assertEquals(2f, next[0], 1e-6f, backend);
                assertTrue(tokens[1] == 0 || tokens[1] == 1, backend + " drew " + tokens[1]);
                double q = tokens[1] == 0 ? 2 / 3.0 : 1 / 3.0;
                assertEquals(2.5 - 0.1 * (-Math.log(q) / Math.log(2) - 5), next[1], 1e-5, backend);
            }
            // Without a mu input every row starts at 2·tau: τ = 0.75 keeps token 0 alone on both rows.
            Map<String, NpyArray> start = eval("mirostat", backend, Map.of("logits", logits), "tau=0.75", "eta=1");
            assertArrayEquals(new int[] {0, 0}, ints(start.get("tokens")));
            assertArrayEquals(new float[] {2.25f, 2.25f}, floats(start.get("mu")), 1e-6f);
        }
    }

    @Test
    void speculativeAcceptsWhatTheTargetAgreesWithAndReplacesTheRest() {
        // Request 0: draft and target agree at both positions (accepted: u·q < q = p), bonus from a one-hot p_2 → 3.
        // Request 1: the target gives the first draft 0, so it is rejected and replaced from max(0, p − q) = one-hot 2
        // (q = (0.7, 0.3, 0, 0) against p = (0, 0.3, 0.7, 0)).
        float[] q = {0.25f, 0.25f, 0.25f, 0.25f, 0.1f, 0.6f, 0.2f, 0.1f,
            0.7f, 0.3f, 0f, 0f, 0.25f, 0.25f, 0.25f, 0.25f};
        float[] p = {0.25f, 0.25f, 0.25f, 0.25f, 0.1f, 0.6f, 0.2f, 0.1f, 0f, 0f, 0f, 1f,
            0f, 0.3f, 0.7f, 0f, 0.5f, 0.5f, 0f, 0f, 1f, 0f, 0f, 0f};
        Map<String, Path> in = Map.of(
                "draft_ids", write("draft_ids", new NpyArray.Int32(new long[] {2, 2}, new int[] {2, 1, 0, 3})),
                "draft_probs", write("draft_probs", new NpyArray.Float32(new long[] {2, 2, 4}, q)),
                "target_probs", write("target_probs", new NpyArray.Float32(new long[] {2, 3, 4}, p)));
        for (String backend : BACKENDS) {
            for (long seed : new long[] {1, 2, 3}) {
                Map<String, NpyArray> out = eval("speculative", backend, in, "seed=" + seed, "step=4");
                assertArrayEquals(new int[] {2, 0}, ints(out.get("accepted")), backend);
                assertArrayEquals(new int[] {2, 1, 3, 2, -1, -1}, ints(out.get("tokens")), backend);
            }
        }
    }

    @Test
    void constrainedSamplingDrawsOnlyAllowedTokensAndCountsTheRejections() {
        // p = (0.5, 0.25, 0.125, 0.125); row 0 allows token 3 alone, row 1 nothing.
        Path logits = write("logits", new NpyArray.Float32(new long[] {2, 4}, new float[] {2 * LN2, LN2, 0f, 0f, 2 * LN2, LN2, 0f, 0f}));
        Path allowed = write("allowed", new NpyArray.Bool(new long[] {2, 4},
                new boolean[] {false, false, false, true, false, false, false, false}));
        double[] p = {0.5, 0.25, 0.125, 0.125};
        for (String backend : BACKENDS) {
            for (long seed = 1; seed <= 5; seed++) {
                Map<String, NpyArray> out = eval("constrained", backend, Map.of("logits", logits, "allowed", allowed),
                        "seed=" + seed);
                int[] tokens = ints(out.get("tokens"));
                int[] rejections = ints(out.get("rejections"));
                float[] mass = floats(out.get("rejected_mass"));
                assertEquals(3, tokens[0], backend);
                // The rejected mass is the probability of `rejections` distinct refused tokens.
                boolean found = false;
                for (int subset = 0; subset < 8; subset++) {
                    double m = 0;
                    for (int i = 0; i < 3; i++) {
                        m += (subset >> i & 1) != 0 ? p[i] : 0;
                    }
                    found |= Integer.bitCount(subset) == rejections[0] && Math.abs(m - mass[0]) < 1e-6;
                }
                assertTrue(found, backend + ": " + rejections[0] + " rejections, mass " + mass[0]);
                assertEquals(-1, tokens[1], backend);
                assertEquals(4, rejections[1], backend);
                assertEquals(1f, mass[1], 1e-6f, backend);
            }
            // With a steps pipeline the draws stay among the kept tokens: top_k:1 keeps token 0, which row 0 refuses.
            Map<String, NpyArray> k1 = eval("constrained", backend, Map.of("logits", logits, "allowed", allowed), "steps=top_k:1");
            assertArrayEquals(new int[] {-1, -1}, ints(k1.get("tokens")));
            assertArrayEquals(new int[] {1, 1}, ints(k1.get("rejections")));
        }
    }

    @Test
    void badInputsAreOneLineUserErrors() {
        Path logits = write("logits", new NpyArray.Float32(new long[] {2, 4}, new float[8]));
        Path rep = write("rep", new NpyArray.Float32(new long[] {2}, new float[] {1f, 2f}));
        Path ids = write("ids", new NpyArray.Int32(new long[] {2, 1}, new int[] {0, 1}));
        Path out = dir.resolve("bad");
        assertTrue(errorText("eval", "process_logits", "--in", "logits=" + logits, "--in", "repetition=" + rep, "--set",
                "repetition_penalty=2", "--out", out.toString()).contains("both give the repetition penalty"));
        assertTrue(errorText("eval", "process_logits", "--in", "logits=" + logits, "--in", "bias_ids=" + ids, "--out",
                out.toString()).contains("bias_ids and bias come together"));
        assertTrue(errorText("eval", "process_logits", "--in", "logits=" + logits, "--set", "repetition_penalty=0", "--out",
                out.toString()).contains("repetition"));
        Path far = write("far", new NpyArray.Int32(new long[] {2, 1}, new int[] {0, 9}));
        assertTrue(errorText("eval", "process_logits", "--in", "logits=" + logits, "--in", "banned_ids=" + far, "--out",
                out.toString()).contains("9"));
        assertTrue(errorText("eval", "mirostat", "--in", "logits=" + logits, "--set", "tau=0", "--out", out.toString())
                .contains("tau"));
        Path seeds = write("seeds", new NpyArray.Int64(new long[] {2}, new long[] {1, 2}));
        assertTrue(errorText("eval", "mirostat", "--in", "logits=" + logits, "--in", "seeds=" + seeds, "--set", "seed=3",
                "--out", out.toString()).contains("give one of them"));
        Path draft = write("draft", new NpyArray.Int32(new long[] {1, 2}, new int[] {0, 1}));
        Path q = write("q", new NpyArray.Float32(new long[] {1, 2, 4}, new float[8]));
        assertTrue(errorText("eval", "speculative", "--in", "draft_ids=" + draft, "--in", "draft_probs=" + q, "--in",
                "target_probs=" + q, "--out", out.toString()).contains("target_probs: expected floats shaped [1, 3, 4]"));
        Path mask = write("mask", new NpyArray.Bool(new long[] {2, 3}, new boolean[6]));
        assertTrue(errorText("eval", "constrained", "--in", "logits=" + logits, "--in", "allowed=" + mask, "--out",
                out.toString()).contains("allowed: expected booleans"));
        assertEquals(2, error("eval", "constrained", "--in", "logits=" + logits, "--out", out.toString()));
    }

    @Test
    void theHelpDocumentsTheNewOps() {
        String help = EvalOp.helpTable();
        for (String s : new String[] {"process_logits", "mirostat", "speculative", "constrained", "draft_probs",
                "repetition_penalty", "min_tokens_to_keep", "tau=5", "eta=0.1"}) {
            assertTrue(help.contains(s), s + " missing from\n" + help);
        }
    }
}
