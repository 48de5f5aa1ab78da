package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code eval decode} end to end: a pipeline written as {@code steps}, applied in that order, on rows
 * whose answers follow from the definitions (SPEC §2) by hand; and the user errors of the setting.
 */
class EvalDecodeTest {
    private static final float LN2 = (float) Math.log(2);
    // Row 0: p = (0.5, 0.25, 0.125, 0.125), H = 1.75 ln 2. Row 1: logits (4, 2, 0, 0), σ = √(11/4).
    private static final float[] LOGITS = {2 * LN2, LN2, 0f, 0f, 4f, 2f, 0f, 0f};
    private static final int R = 2;
    private static final int V = 4;

    @TempDir
    Path dir;

    private record Out(boolean[] mask, float[] probs, int[] tokens) {
    }

    private Out decode(String backend, String steps, String... more) {
        Path in = dir.resolve("logits.npy");
        Npy.write(in, new NpyArray.Float32(new long[] {R, V}, LOGITS));
        Path out = dir.resolve(backend + "-" + Integer.toHexString(steps.hashCode()));
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("eval", "decode", "--backend", backend,
                "--set", "steps=" + steps, "--in", "logits=" + in, "--out", out.toString()));
        args.addAll(java.util.List.of(more));
        CliRunner.Result r = CliRunner.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return new Out(NpyTest.assertInstance(NpyArray.Bool.class, Npy.read(out.resolve("mask.npy"))).data(),
                NpyTest.assertInstance(NpyArray.Float32.class, Npy.read(out.resolve("probs.npy"))).data(),
                NpyTest.assertInstance(NpyArray.Int32.class, Npy.read(out.resolve("tokens.npy"))).data());
    }

    @Test
    void stepsApplyInTheOrderWrittenOnEveryCpuBackend() {
        for (String backend : new String[] {"scalar", "simd"}) {
            // ε = 0.2 keeps p ≥ 0.2: row 0 tokens {0, 1}, renormalized (2/3, 1/3); row 1 p ∝ (e^4, e^2, 1, 1)
            // = (0.844, 0.114, ...): {0}, and ε = 0.1 adds token 1.
            Out eps = decode(backend, "epsilon:0.2");
            assertArrayEquals(new boolean[] {true, true, false, false, true, false, false, false}, eps.mask(), backend);
            assertEquals(2 / 3.0, eps.probs()[0], 1e-6);
            assertEquals(1 / 3.0, eps.probs()[1], 1e-6);
            assertEquals(0f, eps.probs()[2]);
            assertEquals(1f, eps.probs()[4]);
            Out eps1 = decode(backend, "epsilon:0.1");
            assertEquals(Math.exp(4) / (Math.exp(4) + Math.exp(2)), eps1.probs()[4], 1e-6);
            // Typical 0.7 on row 0: keys ln2·(0.75, 0.25, 1.25, 1.25); token 1 then token 0 reach 0.75.
            // Then top-nσ with n = 0 keeps the maximum of what is left: token 0 on both rows.
            Out typ = decode(backend, "typical:0.7");
            assertTrue(typ.mask()[0] && typ.mask()[1] && !typ.mask()[2] && !typ.mask()[3], backend + " typical");
            Out chain = decode(backend, "typical:0.7,top_n_sigma:0");
            assertArrayEquals(new boolean[] {true, false, false, false, true, false, false, false}, chain.mask(), backend);
            assertArrayEquals(new int[] {0, 0}, chain.tokens(), backend + " one token left, sampled");
            // The other order: top-nσ first (row 0: max only), then typical has one token to keep.
            Out reversed = decode(backend, "top_n_sigma:0:2,typical:0.7");
            assertTrue(reversed.mask()[0] && reversed.mask()[1], backend + " min_tokens_to_keep = 2");
            // The log-prob outputs: row 1 keeps only token 0 (rank 1, raw log-prob 4 − lse, processed 0).
            double lse = Math.log(Math.exp(4) + Math.exp(2) + 2);
            Path dirOut = dir.resolve(backend + "-" + Integer.toHexString("typical:0.7,top_n_sigma:0".hashCode()));
            NpyArray.Int32 rank = NpyTest.assertInstance(NpyArray.Int32.class, Npy.read(dirOut.resolve("rank.npy")));
            NpyArray.Float32 raw = NpyTest.assertInstance(NpyArray.Float32.class, Npy.read(dirOut.resolve("raw_logprob.npy")));
            NpyArray.Float32 processed = NpyTest.assertInstance(NpyArray.Float32.class,
                    Npy.read(dirOut.resolve("processed_logprob.npy")));
            assertArrayEquals(new int[] {1, 1}, rank.data());
            assertEquals(4 - lse, raw.data()[1], 1e-5);
            assertEquals(0f, processed.data()[1], 1e-6);
            // min_tokens_to_keep on a prefix filter: top-p 0.1 keeps the first token alone, a floor of 3 the
            // first three in SPEC order (row 0: tokens 2 and 3 tie, the lower index first).
            Out floor = decode(backend, "top_p:0.1:3");
            assertArrayEquals(new boolean[] {true, true, true, false, true, true, true, false}, floor.mask(), backend);
            assertEquals(0.5 / 0.875, floor.probs()[0], 1e-6);
            assertArrayEquals(new boolean[] {true, true, false, false, true, true, false, false},
                    decode(backend, "min_p:0.9:2").mask(), backend + " min_p floor");
            assertArrayEquals(new boolean[] {true, true, true, true, true, true, true, true},
                    decode(backend, "top_h:0.1:100:paper:9").mask(), backend + " a floor past V keeps every live token");
            // Sampled tokens lie in the mask and repeat for the same seeds and step.
            Out a = decode(backend, "dynamic_temperature:0.5:1.5:1,top_k:3", "--set", "seed=7", "--set", "step=2");
            Out b = decode(backend, "dynamic_temperature:0.5:1.5:1,top_k:3", "--set", "seed=7", "--set", "step=2");
            assertArrayEquals(a.tokens(), b.tokens());
            for (int r = 0; r < R; r++) {
                assertTrue(a.mask()[r * V + a.tokens()[r]], backend + " row " + r + " sampled " + a.tokens()[r]);
            }
        }
    }

    @Test
    void badStepsAreOneLineUserErrors() {
        Path in = dir.resolve("logits.npy");
        Npy.write(in, new NpyArray.Float32(new long[] {R, V}, LOGITS));
        String[][] cases = {
                {"steps=nucleus:0.9", "steps: unknown step 'nucleus:0.9'"},
                {"steps=typical", "steps: typical needs argument 1"},
                {"steps=typical:x", "steps: typical argument 1 'x' is not a number"},
                {"steps=typical:1.5", "typical_p: must be in (0, 1]"},
                {"steps=eta:0.1:0", "min_tokens_to_keep: must be >= 1"},
                {"steps=top_k:2:3:4", "top_k takes at most 2"},
                {"steps=top_p:0.5:0", "min_tokens_to_keep: must be >= 1"},
                {"steps=dynamic_temperature:1:0.5", "t_max: must be finite, > 0 and >= t_min"},
        };
        for (String[] c : cases) {
            CliRunner.Result r = CliRunner.run("eval", "decode", "--set", c[0], "--in", "logits=" + in, "--out",
                    dir.resolve("bad").toString());
            assertEquals(2, r.code(), c[0]);
            assertTrue(r.err().contains(c[1]), c[0] + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), c[0] + ": " + r.err());
        }
        CliRunner.Result k = CliRunner.run("eval", "decode", "--set", "steps=top_k:5", "--in", "logits=" + in, "--out",
                dir.resolve("k").toString());
        assertEquals(2, k.code(), k.err());
        assertTrue(k.err().contains("k: must be in [1, V = 4]"), k.err());
    }
}
