package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The policy and sparse-teacher ops of {@code eval} end to end, against float64 math done here. */
class EvalPolicyTest {
    private static final float[] LOGITS = {0.5f, -1f, 2f, 0.25f, 3f, Float.NEGATIVE_INFINITY, 1f, -0.5f,
        1f, 0f, -2f, 0.5f};
    private static final int V = 4;

    @TempDir
    Path dir;

    @Test
    void logprobEntropyAndK3FollowTheirDefinitions() {
        Path logits = write("logits", new NpyArray.Float32(new long[] {3, V}, LOGITS));
        int[] y = {2, 0, -100};
        Path ids = write("ids", new NpyArray.Int32(new long[] {3}, y));
        Path ref = write("ref", new NpyArray.Float32(new long[] {3}, new float[] {-1f, -0.5f, -2f}));
        CliRunner.Result r = CliRunner.run("eval", "logprob_entropy", "--set", "temperature=2", "--in",
                "logits=" + logits, "--in", "ids=" + ids, "--out", dir.resolve("le").toString());
        assertEquals(0, r.code(), r.err());
        NpyArray.Float32 lp = read("le/logprob.npy");
        NpyArray.Float32 h = read("le/entropy.npy");
        NpyArray.Float32 grad = read("le/grad.npy");
        assertArrayEquals(new long[] {3}, lp.shape());
        assertArrayEquals(new long[] {3, V}, grad.shape());
        for (int row = 0; row < 2; row++) {
            double[] p = EvalCommandTest.softmax(LOGITS, row, 2);
            double ent = 0;
            for (double pi : p) {
                ent -= pi == 0 ? 0 : pi * Math.log(pi);
            }
            assertEquals(Math.log(p[y[row]]), lp.data()[row], 1e-5, "logprob " + row);
            assertEquals(ent, h.data()[row], 1e-5, "entropy " + row);
            for (int i = 0; i < V; i++) {
                // d(ℓ + H)/dx with both weights 1 (eval's default), T = 2
                double lpI = p[i] == 0 ? 0 : Math.log(p[i]);
                double want = ((i == y[row] ? 1 : 0) - p[i] - p[i] * (lpI + ent)) / 2;
                assertEquals(want, grad.data()[row * V + i], 1e-6 + 1e-5 * Math.abs(want), "grad " + row + "," + i);
            }
        }
        assertEquals(0f, lp.data()[2], "ignored row");
        r = CliRunner.run("eval", "k3_kl", "--in", "logits=" + logits, "--in", "ids=" + ids, "--in", "ref_logprobs=" + ref,
                "--out", dir.resolve("k3").toString());
        assertEquals(0, r.code(), r.err());
        NpyArray.Float32 k3 = read("k3/kl.npy");
        for (int row = 0; row < 2; row++) {
            double l = Math.log(EvalCommandTest.softmax(LOGITS, row, 1)[y[row]]);
            double d = new float[] {-1f, -0.5f}[row] - l;
            assertEquals(Math.exp(d) - d - 1, k3.data()[row], 1e-5, "k3 " + row);
        }
        Path bad = write("badref", new NpyArray.Float32(new long[] {3}, new float[] {-1f, 0.5f, -2f}));
        r = CliRunner.run("eval", "k3_kl", "--in", "logits=" + logits, "--in", "ids=" + ids, "--in", "ref_logprobs=" + bad,
                "--out", dir.resolve("bad").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("refLogprobs: 0.5 at row 1"), r.err());
    }

    @Test
    void sparseTeacherOpsTakeIdsAndLogprobsPerRow() {
        Path student = write("student", new NpyArray.Float32(new long[] {3, V}, LOGITS));
        Path ids = write("ids", new NpyArray.Int32(new long[] {3, 2}, new int[] {2, 0, 1, 3, 3, 2}));
        float[] lp = {-0.2f, -2f, -0.7f, -1.2f, -0.1f, -3f};
        Path lps = write("lp", new NpyArray.Float32(new long[] {3, 2}, lp));
        CliRunner.Result r = CliRunner.run("eval", "sparse_kl", "--in", "student=" + student, "--in",
                "teacher_ids=" + ids, "--in", "teacher_logprobs=" + lps, "--out", dir.resolve("kl").toString());
        assertEquals(0, r.code(), r.err());
        NpyArray.Float32 loss = read("kl/loss.npy");
        // renormalized: both sides over the two ids
        double[] q = EvalCommandTest.softmax(LOGITS, 0, 1);
        double p0 = Math.exp(lp[0]) / (Math.exp(lp[0]) + Math.exp(lp[1]));
        double q0 = q[2] / (q[2] + q[0]);
        double want = p0 * Math.log(p0 / q0) + (1 - p0) * Math.log((1 - p0) / (1 - q0));
        assertEquals(want, loss.data()[0], 1e-5, "renormalized forward KL");
        r = CliRunner.run("eval", "sparse_jsd", "--set", "mass=rest", "--set", "beta=0", "--in", "student=" + student,
                "--in", "teacher_ids=" + ids, "--in", "teacher_logprobs=" + lps, "--out", dir.resolve("rest").toString());
        assertEquals(0, r.code(), r.err());
        double pa = Math.exp(lp[0]);
        double pb = Math.exp(lp[1]);
        double rest = pa * Math.log(pa / q[2]) + pb * Math.log(pb / q[0])
                + (1 - pa - pb) * Math.log((1 - pa - pb) / (1 - q[2] - q[0]));
        assertEquals(rest, read("rest/loss.npy").data()[0], 1e-5, "rest bucket, JSD at β = 0 is forward KL");
        r = CliRunner.run("eval", "sparse_rkl", "--set", "mass=all", "--in", "student=" + student, "--in",
                "teacher_ids=" + ids, "--in", "teacher_logprobs=" + lps, "--out", dir.resolve("bad").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("mass: expected renormalized or rest"), r.err());
        Path dup = write("dup", new NpyArray.Int32(new long[] {3, 2}, new int[] {2, 0, 1, 1, 3, 2}));
        r = CliRunner.run("eval", "sparse_rkl", "--in", "student=" + student, "--in", "teacher_ids=" + dup, "--in",
                "teacher_logprobs=" + lps, "--out", dir.resolve("bad2").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("teacherIds: id 1 appears more than once in row 1"), r.err());
    }

    @Test
    void crossEntropyOptsAddsTheZLossAndReportsThePrediction() {
        Path student = write("student", new NpyArray.Float32(new long[] {3, V}, LOGITS));
        Path labels = write("labels", new NpyArray.Int32(new long[] {3}, new int[] {2, 0, -100}));
        Path weights = write("w", new NpyArray.Float32(new long[] {V}, new float[] {1f, 2f, 0.5f, 1f}));
        CliRunner.Result r = CliRunner.run("eval", "cross_entropy_opts", "--set", "z_loss=0.01", "--set", "softcap=2",
                "--in", "student=" + student, "--in", "labels=" + labels, "--in", "class_weights=" + weights, "--out",
                dir.resolve("ce").toString());
        assertEquals(0, r.code(), r.err());
        float[] capped = new float[V];
        for (int i = 0; i < V; i++) {
            capped[i] = LOGITS[i] == Float.NEGATIVE_INFINITY ? LOGITS[i] : (float) (2 * Math.tanh(LOGITS[i] / 2));
        }
        double[] p = EvalCommandTest.softmax(capped, 0, 1);
        double lse = 0;
        for (float c : capped) {
            lse += Math.exp(c);
        }
        lse = Math.log(lse);
        double want = 0.5 * -Math.log(p[2]) + 0.01 * lse * lse;
        assertEquals(want, read("ce/loss.npy").data()[0], 1e-5, "weighted CE + z-loss on capped logits");
        assertEquals(0.01 * lse * lse, read("ce/z_loss.npy").data()[0], 1e-6);
        NpyArray.Int32 predicted = NpyTest.assertInstance(NpyArray.Int32.class, Npy.read(dir.resolve("ce/predicted.npy")));
        NpyArray.Bool correct = NpyTest.assertInstance(NpyArray.Bool.class, Npy.read(dir.resolve("ce/correct.npy")));
        assertArrayEquals(new int[] {2, 0, 0}, predicted.data());
        assertArrayEquals(new boolean[] {true, true, false}, correct.data());
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
