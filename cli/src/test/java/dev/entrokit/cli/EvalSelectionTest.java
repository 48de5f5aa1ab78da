package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code eval top_k}, {@code top_h} and {@code sample} end to end, checked against float64 math done here. */
class EvalSelectionTest {
    // Row 0 has a tie straddling k = 3 (indices 1, 3, 4 all 2.0); row 1 a masked token.
    private static final float[] LOGITS = {0.5f, 2f, -1f, 2f, 2f, 1f, 3f, Float.NEGATIVE_INFINITY, 0f, 1f, -2f, 2.5f};
    private static final int R = 2;
    private static final int V = 6;

    @TempDir
    Path dir;

    @Test
    void topKWritesIndicesValuesAndWholeRowProbabilities() {
        Path in = write();
        CliRunner.Result r = CliRunner.run("eval", "top_k", "--backend", "scalar", "--set", "k=3", "--set", "temperature=2",
                "--in", "logits=" + in, "--out", dir.resolve("k").toString());
        assertEquals(0, r.code(), r.err());
        NpyArray.Int32 idx = NpyTest.assertInstance(NpyArray.Int32.class, Npy.read(dir.resolve("k/indices.npy")));
        NpyArray.Float32 val = NpyTest.assertInstance(NpyArray.Float32.class, Npy.read(dir.resolve("k/values.npy")));
        NpyArray.Float32 prob = NpyTest.assertInstance(NpyArray.Float32.class, Npy.read(dir.resolve("k/probs.npy")));
        assertArrayEquals(new long[] {R, 3}, idx.shape());
        assertArrayEquals(new int[] {1, 3, 4, 0, 5, 3}, idx.data());
        for (int row = 0; row < R; row++) {
            double[] p = EvalCommandTest.softmax6(LOGITS, row, 2.0);
            for (int j = 0; j < 3; j++) {
                int i = idx.data()[row * 3 + j];
                assertEquals(LOGITS[row * V + i], val.data()[row * 3 + j]);
                assertEquals(p[i], prob.data()[row * 3 + j], 1e-6 + 1e-5 * p[i]);
            }
        }
    }

    @Test
    void topHWritesABooleanMask() {
        Path in = write();
        CliRunner.Result r = CliRunner.run("eval", "top_h", "--set", "alpha=1", "--set", "n=2", "--set", "mode=normalized",
                "--in", "logits=" + in, "--out", dir.resolve("h").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("|b1"), r.out());
        NpyArray.Bool m = NpyTest.assertInstance(NpyArray.Bool.class, Npy.read(dir.resolve("h/mask.npy")));
        // α = 1 keeps the first n = 2 in order: row 0 {1, 3} (the tie by index), row 1 {0, 5}.
        assertArrayEquals(new boolean[] {false, true, false, true, false, false, true, false, false, false, false, true},
                m.data());
        CliRunner.Result bad = CliRunner.run("eval", "top_h", "--set", "mode=exact", "--in", "logits=" + in, "--out",
                dir.resolve("bad").toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("mode: expected paper or normalized"), bad.err());
    }

    @Test
    void sampleIsReproducibleGreedyAtZeroAndStaysInTheKeptSet() {
        Path in = write();
        String[] base = {"eval", "sample", "--in", "logits=" + in, "--set", "seed=7", "--set", "step=3", "--set", "top_k=2"};
        int[] a = tokens(base, "a");
        assertArrayEquals(a, tokens(base, "b"));
        assertTrue(a[0] == 1 || a[0] == 3, "row 0 kept {1, 3}, drew " + a[0]);
        assertTrue(a[1] == 0 || a[1] == 5, "row 1 kept {0, 5}, drew " + a[1]);
        String[] greedy = {"eval", "sample", "--in", "logits=" + in, "--set", "temperature=0"};
        assertArrayEquals(new int[] {1, 0}, tokens(greedy, "g"));
        CliRunner.Result bad = CliRunner.run("eval", "top_p", "--set", "temperature=0", "--in", "logits=" + in, "--out",
                dir.resolve("t0").toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("temperature"), bad.err());
        CliRunner.Result badP = CliRunner.run("eval", "sample", "--set", "top_p=1.5", "--in", "logits=" + in, "--out",
                dir.resolve("p").toString());
        assertEquals(2, badP.code());
        assertTrue(badP.err().contains("p: must be in (0, 1]"), badP.err());
    }

    @Test
    void perRowSeedsGiveEachRowItsOwnDraw() {
        // 8 identical flat rows: with one seed per row, row r draws what a single-seed run with seed s_r draws at row r.
        int rows = 8;
        int v = 64;
        float[] flat = new float[rows * v];
        Path in = dir.resolve("flat.npy");
        Npy.write(in, new NpyArray.Float32(new long[] {rows, v}, flat));
        int[] seeds = {11, 11, 12, 13, 14, 15, 16, 17};
        Path seedFile = dir.resolve("seeds.npy");
        Npy.write(seedFile, new NpyArray.Int32(new long[] {rows}, seeds));
        int[] perRow = tokens(new String[] {"eval", "sample", "--in", "logits=" + in, "--in", "seeds=" + seedFile}, "s", rows);
        for (int r = 0; r < rows; r++) {
            int[] single = tokens(new String[] {"eval", "sample", "--in", "logits=" + in, "--set", "seed=" + seeds[r]},
                    "one" + r, rows);
            assertEquals(single[r], perRow[r], "row " + r);
        }
        assertTrue(java.util.Arrays.stream(perRow).distinct().count() > 1, "different seeds should not all agree");
    }

    private int[] tokens(String[] args, String out) {
        return tokens(args, out, R);
    }

    private int[] tokens(String[] args, String out, int rows) {
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--out";
        all[args.length + 1] = dir.resolve(out).toString();
        CliRunner.Result r = CliRunner.run(all);
        assertEquals(0, r.code(), r.err());
        NpyArray.Int32 t = NpyTest.assertInstance(NpyArray.Int32.class, Npy.read(dir.resolve(out + "/tokens.npy")));
        assertArrayEquals(new long[] {rows}, t.shape());
        return t.data();
    }

    private Path write() {
        Path f = dir.resolve("logits.npy");
        Npy.write(f, new NpyArray.Float32(new long[] {R, V}, LOGITS));
        return f;
    }
}
