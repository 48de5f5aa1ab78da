package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Entrokit;
import dev.entrokit.SamplingFilters;
import dev.entrokit.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code eval} refuses before any work because it could not compute it faithfully: values its
 * float32/int32 inputs cannot hold, shapes it cannot index, settings that would size an output
 * beyond its input, and two arguments that say the same thing.
 */
class EvalInputChecksTest {
    @TempDir
    Path dir;

    @Test
    void float64LogitsBeyondFloat32RangeAreRefusedByName() {
        for (double v : new double[] {1e39, -1e39, Double.MAX_VALUE}) {
            Path f = write("big", new NpyArray.Float64(new long[] {1, 4}, new double[] {0, 1, v, 2}));
            CliRunner.Result r = eval("softmax", "--in", "logits=" + f);
            assertUserError(r, "logits: float64 value " + v + " at [0, 2] is beyond float32's range");
            assertFalse(Files.exists(dir.resolve("out/probs.npy")), "nothing is written");
        }
    }

    @Test
    void float64LogitsWithinRangeAreNarrowedAsFloat32WouldHoldThem() {
        // Specials pass through as the row rules want them; finite values round to nearest.
        double[] values = {0.1, 3.4e38, Double.NEGATIVE_INFINITY, 1e-50};
        Path f = write("ok", new NpyArray.Float64(new long[] {1, 4}, values));
        CliRunner.Result r = eval("log_softmax", "--backend", "scalar", "--in", "logits=" + f);
        assertEquals(0, r.code(), r.err());
        NpyArray.Float32 lp = NpyTest.assertInstance(NpyArray.Float32.class, Npy.read(dir.resolve("out/logprobs.npy")));
        // 3.4e38 dominates: its log-probability is 0 and the others' are -inf or about -3.4e38.
        assertEquals(0f, lp.data()[1]);
        assertEquals(Float.NEGATIVE_INFINITY, lp.data()[2]);
        assertEquals((float) (0.1f - 3.4e38f), lp.data()[0]);
    }

    @Test
    void int64LabelsAndIdsOutsideInt32AreRefusedByName() {
        Path student = write("s", new NpyArray.Float32(new long[] {2, 3}, new float[6]));
        Path labels = write("labels", new NpyArray.Int64(new long[] {2}, new long[] {0, 1L << 32}));
        assertUserError(eval("cross_entropy", "--in", "student=" + student, "--in", "labels=" + labels),
                "labels: int64 value 4294967296 at [1] does not fit in int32");
        Path ids = write("ids", new NpyArray.Int64(new long[] {2}, new long[] {-(1L << 31) - 1, 0}));
        assertUserError(eval("token_logprob", "--in", "logits=" + student, "--in", "ids=" + ids),
                "ids: int64 value -2147483649 at [0] does not fit in int32");
    }

    @Test
    void int64SeedsKeepAllTheirBits() throws Exception {
        float[] logits = {0.1f, 0.2f, 0.3f, 0.4f, 1f, 1f, 1f, 1f, 2f, 0f, 2f, 0f};
        long[] seeds = {1L << 40, -7L, Long.MAX_VALUE};
        Path x = write("x", new NpyArray.Float32(new long[] {3, 4}, logits));
        Path s = write("seeds", new NpyArray.Int64(new long[] {3}, seeds));
        CliRunner.Result r = eval("sample", "--backend", "scalar", "--set", "step=5", "--in", "logits=" + x, "--in", "seeds=" + s);
        assertEquals(0, r.code(), r.err());
        int[] expected = new int[3];
        try (Entrokit ek = Entrokit.create("scalar", 1)) {
            ek.decoding().sample(Tensor.of(logits, 3, 4), SamplingFilters.temperature(1f), seeds, 5,
                    Tensor.of(expected));
        }
        assertArrayEquals(expected, NpyTest.assertInstance(NpyArray.Int32.class, Npy.read(dir.resolve("out/tokens.npy"))).data());
    }

    @Test
    void seedsInputAndSeedSettingTogetherAreRefused() {
        Path x = write("x", new NpyArray.Float32(new long[] {2, 3}, new float[6]));
        Path s = write("seeds", new NpyArray.Int32(new long[] {2}, new int[] {1, 2}));
        CliRunner.Result r = eval("sample", "--set", "seed=3", "--in", "logits=" + x, "--in", "seeds=" + s);
        assertUserError(r, "--in seeds=");
        assertTrue(r.err().contains("--set seed=3"), r.err());
        assertEquals(0, eval("sample", "--in", "logits=" + x, "--in", "seeds=" + s).code());
        assertEquals(0, eval("sample", "--set", "seed=3", "--in", "logits=" + x).code());
    }

    @Test
    void emptyArraysWithDimensionsBeyondIntAreRefusedByName() {
        Path wide = write("wide", new NpyArray.Float32(new long[] {0, 1L << 31}, new float[0]));
        assertUserError(eval("softmax", "--in", "logits=" + wide), "logits: dimension 1 of shape (0, 2147483648) is 2147483648");
        Path tall = write("tall", new NpyArray.Float32(new long[] {1L << 31, 0}, new float[0]));
        assertUserError(eval("entropy", "--in", "logits=" + tall), "logits: dimension 0 of shape (2147483648, 0)");
        Path rows = write("rows", new NpyArray.Float32(new long[] {1 << 16, 1 << 16, 0}, new float[0]));
        assertUserError(eval("logsumexp", "--in", "logits=" + rows), "logits: shape (65536, 65536, 0) has more than");
        Path cost = write("cost", new NpyArray.Float32(new long[] {0, 1L << 31, 2}, new float[0]));
        assertUserError(eval("sinkhorn", "--in", "cost=" + cost), "cost: dimension 1");
    }

    @Test
    void emptyArraysThatFitGiveEmptyOutputs() {
        Path empty = write("empty", new NpyArray.Float32(new long[] {0, 5}, new float[0]));
        CliRunner.Result r = eval("softmax", "--in", "logits=" + empty);
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(new long[] {0, 5}, Npy.read(dir.resolve("out/probs.npy")).shape());
    }

    @Test
    void topKBeyondTheVocabularyIsRefusedBeforeAllocating() {
        Path x = write("x", new NpyArray.Float32(new long[] {3, 8}, new float[24]));
        for (String k : new String[] {"1073741824", "536870912", "9", "2147483647"}) {
            CliRunner.Result r = eval("top_k", "--set", "k=" + k, "--in", "logits=" + x);
            assertUserError(r, "k: must be <= V = 8 (the last dimension of logits (3, 8)), got " + k);
        }
        CliRunner.Result ok = eval("top_k", "--set", "k=8", "--in", "logits=" + x);
        assertEquals(0, ok.code(), ok.err());
        assertArrayEquals(new long[] {3, 8}, Npy.read(dir.resolve("out/indices.npy")).shape());
    }

    @Test
    void sinkhornPlanThatNoArrayHoldsIsRefusedBeforeSolving() {
        Path points = write("p", new NpyArray.Float32(new long[] {50_000, 1}, new float[50_000]));
        assertUserError(eval("sinkhorn", "--set", "plan=true", "--in", "x=" + points, "--in", "y=" + points),
                "plan: an output of shape [1, 50000, 50000] holds more than 2147483639 elements");
    }

    private CliRunner.Result eval(String op, String... args) {
        String[] all = new String[args.length + 4];
        all[0] = "eval";
        all[1] = op;
        System.arraycopy(args, 0, all, 2, args.length);
        all[args.length + 2] = "--out";
        all[args.length + 3] = dir.resolve("out").toString();
        return CliRunner.run(all);
    }

    private Path write(String name, NpyArray array) {
        Path f = dir.resolve(name + ".npy");
        Npy.write(f, array);
        return f;
    }

    private static void assertUserError(CliRunner.Result r, String expected) {
        assertEquals(2, r.code(), () -> "stdout: " + r.out() + "\nstderr: " + r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), () -> "one line expected, got:\n" + r.err());
        assertTrue(err.contains(expected), () -> "expected '" + expected + "' in: " + err);
        assertFalse(err.contains("Exception") || err.contains("\tat "), () -> "no stack trace expected: " + err);
    }
}
