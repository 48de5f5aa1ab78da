package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The scoring ops of {@code eval} end to end, against float64 math done here. */
class EvalScoringTest {
    private static final float[] LOGITS = {0.5f, -1f, 2f, 0.25f, 3f, Float.NEGATIVE_INFINITY, 1f, -0.5f,
        1f, 0f, -2f, 0.5f, 2.5f, -1f, 0.75f, 0f};
    private static final int V = 4;

    @TempDir
    Path dir;

    private static double logprob(int row, int id) {
        double[] p = EvalCommandTest.softmax(LOGITS, row, 1);
        return Math.log(p[id]);
    }

    @Test
    void tokenLogprobAndMinKProbFollowTheSequenceShapes() {
        // logits [2, 2, V]: two sequences of two positions; ids [2, 2].
        Path logits = write("logits", new NpyArray.Float32(new long[] {2, 2, V}, LOGITS));
        int[] y = {2, 0, 1, 3};
        Path ids = write("ids", new NpyArray.Int32(new long[] {2, 2}, y));
        CliRunner.Result r = CliRunner.run("eval", "token_logprob", "--in", "logits=" + logits, "--in", "ids=" + ids,
                "--out", dir.resolve("lp").toString());
        assertEquals(0, r.code(), r.err());
        NpyArray.Float32 lp = read("lp/logprob.npy");
        assertArrayEquals(new long[] {2, 2}, lp.shape());
        for (int t = 0; t < 4; t++) {
            double ref = logprob(t, y[t]);
            assertEquals(ref, lp.data()[t], 1e-5 * Math.max(1, Math.abs(ref)), "logprob " + t);
        }
        r = CliRunner.run("eval", "min_k_prob", "--set", "k=0.5", "--in", "logits=" + logits, "--in", "ids=" + ids,
                "--out", dir.resolve("mk").toString());
        assertEquals(0, r.code(), r.err());
        NpyArray.Float32 score = read("mk/score.npy");
        assertArrayEquals(new long[] {2}, score.shape());
        for (int q = 0; q < 2; q++) {
            double ref = Math.min(logprob(2 * q, y[2 * q]), logprob(2 * q + 1, y[2 * q + 1]));
            assertEquals(ref, score.data()[q], 1e-5 * Math.max(1, Math.abs(ref)), "min-k score " + q);
        }
        Path lpFile = write("lp2", lp);
        r = CliRunner.run("eval", "min_k_prob", "--set", "k=0.5", "--in", "logprobs=" + lpFile, "--out",
                dir.resolve("mk2").toString());
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(score.data(), read("mk2/score.npy").data(), 1e-6f);
        r = CliRunner.run("eval", "min_k_prob", "--in", "logits=" + logits, "--out", dir.resolve("bad").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("ids"), r.err());
    }

    @Test
    void alphaDivergenceAtOneIsKlAndContrastivePassesCertainRowsThrough() {
        Path t = write("t", new NpyArray.Float32(new long[] {2, 2 * V}, LOGITS));
        float[] other = LOGITS.clone();
        for (int i = 0; i < other.length; i++) {
            other[i] = other[i] == Float.NEGATIVE_INFINITY ? other[i] : other[(i + 1) % other.length] * 0.5f;
        }
        other[5] = Float.NEGATIVE_INFINITY;
        Path s = write("s", new NpyArray.Float32(new long[] {2, 2 * V}, other));
        CliRunner.Result a = CliRunner.run("eval", "alpha_div", "--set", "alpha=1", "--in", "teacher=" + t, "--in",
                "student=" + s, "--out", dir.resolve("a").toString());
        CliRunner.Result k = CliRunner.run("eval", "kl", "--in", "teacher=" + t, "--in", "student=" + s, "--out",
                dir.resolve("k").toString());
        assertEquals(0, a.code() + k.code(), a.err() + k.err());
        assertArrayEquals(read("k/loss.npy").data(), read("a/loss.npy").data());
        CliRunner.Result c = CliRunner.run("eval", "contrastive", "--set", "lambda=1", "--set", "threshold=100",
                "--in", "logits=" + t, "--in", "lame_logits=" + s, "--out", dir.resolve("c").toString());
        assertEquals(0, c.code(), c.err());
        assertArrayEquals(LOGITS, read("c/logits.npy").data(), "entropy never reaches 100 nats: unchanged");
    }

    private Path write(String name, NpyArray a) {
        Path f = dir.resolve(name + ".npy");
        Npy.write(f, a);
        return f;
    }

    private NpyArray.Float32 read(String relative) {
        return NpyTest.assertInstance(NpyArray.Float32.class, Npy.read(dir.resolve(relative)));
    }
}
