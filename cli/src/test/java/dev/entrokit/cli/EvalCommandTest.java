package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code eval} end to end: .npy files in, .npy files out, checked against float64 math done here. */
class EvalCommandTest {
    private static final float[] TEACHER = {0.5f, -1f, 2f, 0.25f, 3f, Float.NEGATIVE_INFINITY, 1f, -0.5f};
    private static final float[] STUDENT = {1f, 0f, -2f, 0.5f, 2.5f, -1f, 0.75f, 0f};
    private static final int R = 2;
    private static final int V = 4;

    @TempDir
    Path dir;

    @Test
    void softmaxWithTemperatureMatchesFloat64() {
        Path logits = write("logits", new NpyArray.Float32(new long[] {R, V}, STUDENT));
        CliRunner.Result r = CliRunner.run("eval", "softmax", "--backend", "scalar", "--set", "temperature=2",
                "--in", "logits=" + logits, "--out", dir.resolve("out").toString());
        assertEquals(0, r.code(), r.err());
        NpyArray.Float32 probs = read("out/probs.npy");
        assertArrayEquals(new long[] {R, V}, probs.shape());
        for (int row = 0; row < R; row++) {
            double[] p = softmax(STUDENT, row, 2.0);
            for (int i = 0; i < V; i++) {
                double got = probs.data()[row * V + i];
                assertEquals(p[i], got, 1e-6 + 1e-5 * p[i], "probs[" + row + "," + i + "]");
            }
        }
    }

    @Test
    void klLossAndGradMatchFloat64() {
        Path t = write("teacher", new NpyArray.Float32(new long[] {R, V}, TEACHER));
        Path s = write("student", new NpyArray.Float32(new long[] {R, V}, STUDENT));
        CliRunner.Result r = CliRunner.run("eval", "kl", "--in", "teacher=" + t, "--in", "student=" + s, "--out",
                dir.resolve("kl").toString());
        assertEquals(0, r.code(), r.err());
        NpyArray.Float32 loss = read("kl/loss.npy");
        NpyArray.Float32 grad = read("kl/grad.npy");
        assertArrayEquals(new long[] {R}, loss.shape());
        assertArrayEquals(new long[] {R, V}, grad.shape());
        for (int row = 0; row < R; row++) {
            double[] p = softmax(TEACHER, row, 1);
            double[] q = softmax(STUDENT, row, 1);
            double kl = 0;
            for (int i = 0; i < V; i++) {
                if (p[i] > 0) {
                    kl += p[i] * (Math.log(p[i]) - Math.log(q[i]));
                }
                double g = q[i] - p[i];
                assertEquals(g, grad.data()[row * V + i], 1e-6 + 1e-5 * Math.abs(g), "grad[" + row + "," + i + "]");
            }
            assertEquals(kl, loss.data()[row], 1e-5 * Math.max(1, kl), "loss[" + row + "]");
        }
    }

    @Test
    void crossEntropyWithLabelsHonoursIgnoreIndexAndSmoothing() {
        Path s = write("student", new NpyArray.Float32(new long[] {R, V}, STUDENT));
        Path labels = write("labels", new NpyArray.Int32(new long[] {R}, new int[] {2, -1}));
        double eps = 0.1;
        CliRunner.Result r = CliRunner.run("eval", "cross_entropy", "--in", "student=" + s, "--in", "labels=" + labels,
                "--set", "ignore_index=-1", "--set", "label_smoothing=" + eps, "--out", dir.resolve("ce").toString());
        assertEquals(0, r.code(), r.err());
        NpyArray.Float32 loss = read("ce/loss.npy");
        NpyArray.Float32 grad = read("ce/grad.npy");
        double[] q = softmax(STUDENT, 0, 1);
        double expected = 0;
        for (int i = 0; i < V; i++) {
            double target = (i == 2 ? 1 - eps : 0) + eps / V;
            expected -= target * Math.log(q[i]);
            assertEquals(q[i] - target, grad.data()[i], 1e-6 + 1e-5 * Math.abs(q[i] - target), "grad[0," + i + "]");
            assertEquals(0f, grad.data()[V + i], "ignored row has a zero gradient");
        }
        assertEquals(expected, loss.data()[0], 1e-5 * Math.max(1, expected));
        assertEquals(0f, loss.data()[1], "ignored row has loss 0");
    }

    @Test
    void oneDimensionalLogitsAreOneRowWithScalarPerRowOutputs() {
        float[] row = {1f, 2f, 3f};
        Path logits = write("row", new NpyArray.Float32(new long[] {3}, row));
        CliRunner.Result r = CliRunner.run("eval", "logsumexp", "--in", "logits=" + logits, "--out",
                dir.resolve("lse").toString());
        assertEquals(0, r.code(), r.err());
        NpyArray.Float32 lse = read("lse/lse.npy");
        assertArrayEquals(new long[] {}, lse.shape());
        double expected = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
        assertEquals(expected, lse.data()[0], 1e-5 * expected);
    }

    @Test
    void everyOpRunsAndWritesItsDeclaredOutputs() {
        Path t = write("teacher", new NpyArray.Float32(new long[] {R, V}, TEACHER));
        Path s = write("student", new NpyArray.Float32(new long[] {R, V}, STUDENT));
        Path labels = write("labels", new NpyArray.Int32(new long[] {R}, new int[] {0, 3}));
        Path freq = write("freq", new NpyArray.Float32(new long[] {V}, new float[] {0.25f, 0.25f, 0.25f, 0.25f}));
        Path ref = write("ref", new NpyArray.Float32(new long[] {R}, new float[] {-0.5f, -2f}));
        Path topIds = write("top_ids", new NpyArray.Int32(new long[] {R, 2}, new int[] {0, 2, 3, 1}));
        Path topLp = write("top_lp", new NpyArray.Float32(new long[] {R, 2}, new float[] {-0.5f, -2f, -1f, -1.5f}));
        Path allowed = write("allowed", new NpyArray.Bool(new long[] {R, V}, new boolean[] {true, false, true, true,
            false, true, true, false}));
        java.util.Map<String, Path> files = java.util.Map.of("teacher", t, "logits_b", t, "labels", labels, "ids", labels,
                "freq", freq, "seeds", labels, "ref_logprobs", ref, "teacher_ids", topIds, "teacher_logprobs", topLp,
                "allowed", allowed);
        for (EvalOp op : EvalOp.values()) {
            if (java.util.EnumSet.of(EvalOp.SINKHORN, EvalOp.SINKHORN_DIVERGENCE, EvalOp.SINKD).contains(op)) {
                continue; // costs, point clouds, batch-wise losses: EvalTransportTest
            }
            if (op == EvalOp.SPECULATIVE) {
                continue; // draft and target probabilities [B, k(+1), V]: EvalDecodingOpsTest
            }
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("eval", op.key()));
            java.util.List<String> inputs = new java.util.ArrayList<>(op.required());
            if (!op.oneOf().isEmpty()) { // the last alternative: labels, or logits+ids
                inputs.addAll(java.util.List.of(op.oneOf().getLast().split("\\+")));
            }
            for (String in : inputs) {
                args.add("--in");
                args.add(in + "=" + files.getOrDefault(in, s));
            }
            if (op == EvalOp.TOP_K_OP) { // the default k = 50 exceeds V = 4 here
                args.addAll(java.util.List.of("--set", "k=" + V));
            }
            Path out = dir.resolve("all-" + op.key());
            args.add("--out");
            args.add(out.toString());
            CliRunner.Result r = CliRunner.run(args.toArray(String[]::new));
            assertEquals(0, r.code(), op.key() + ": " + r.err());
            for (EvalOp.Output o : op.outputs()) {
                NpyArray a = Npy.read(out.resolve(o.name() + ".npy"));
                boolean perRow = o.perRow() && !o.shape().endsWith("k]");
                long[] expected = o.shape().equals("[S]") ? new long[] {} : perRow ? new long[] {R} : new long[] {R, V};
                assertArrayEquals(expected, a.shape(), op.key() + "/" + o.name());
            }
        }
    }

    @Test
    void helpListsEveryOpWithItsInputsOutputsAndSettings() {
        CliRunner.Result r = CliRunner.run("eval", "--help");
        assertEquals(0, r.code());
        for (EvalOp op : EvalOp.values()) {
            assertTrue(r.out().contains("  " + op.key() + " "), op.key());
            for (EvalOp.Output o : op.outputs()) {
                assertTrue(r.out().contains(o.name() + " " + o.shape()), o.name());
            }
        }
        for (Setting s : Setting.values()) {
            assertTrue(r.out().contains(s.key() + "=" + s.defaultValue()), s.key());
        }
        assertTrue(r.out().contains("student, teacher | labels"), r.out());
    }

    // ------------------------------------------------------------ helpers

    static double[] softmax(float[] data, int row, double temperature) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < V; i++) {
            m = Math.max(m, data[row * V + i] / temperature);
        }
        double[] p = new double[V];
        double sum = 0;
        for (int i = 0; i < V; i++) {
            p[i] = Math.exp(data[row * V + i] / temperature - m);
            sum += p[i];
        }
        for (int i = 0; i < V; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** Float64 softmax of row {@code row} of a [*, 6] array, for {@link EvalSelectionTest}. */
    static double[] softmax6(float[] data, int row, double temperature) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < 6; i++) {
            m = Math.max(m, data[row * 6 + i] / temperature);
        }
        double[] p = new double[6];
        double sum = 0;
        for (int i = 0; i < 6; i++) {
            p[i] = Math.exp(data[row * 6 + i] / temperature - m);
            sum += p[i];
        }
        for (int i = 0; i < 6; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private Path write(String name, NpyArray a) {
        Path f = dir.resolve(name + ".npy");
        Npy.write(f, a);
        assertTrue(Files.exists(f));
        return f;
    }

    private NpyArray.Float32 read(String relative) {
        return NpyTest.assertInstance(NpyArray.Float32.class, Npy.read(dir.resolve(relative)));
    }
}
