package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompareCommandTest {
    private static final float NAN = Float.NaN;
    private static final float INF = Float.POSITIVE_INFINITY;

    @TempDir
    Path dir;

    @Test
    void withinToleranceExitsZero() {
        CliRunner.Result r = compare(new float[] {1f, 2f, NAN, INF, -INF}, new float[] {1f + 1e-6f, 2f, NAN, INF, -INF});
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("max abs error"), r.out());
        assertTrue(r.out().contains("max rel error"), r.out());
        assertTrue(r.out().contains("beyond tolerance (|a-b| > 1.0E-6 + 1.0E-5*|b|): 0"), r.out());
    }

    @Test
    void beyondToleranceExitsOneAndCountsTheElements() {
        CliRunner.Result r = compare(new float[] {1f, 2.1f, 3f}, new float[] {1f, 2f, 3.5f});
        assertEquals(1, r.code(), r.out());
        assertTrue(r.out().contains("beyond tolerance (|a-b| > 1.0E-6 + 1.0E-5*|b|): 2"), r.out());
        assertTrue(r.out().contains("max abs error: 5.000000e-01 at [2]"), r.out());
    }

    @Test
    void toleranceOptionsWidenTheTest() {
        CliRunner.Result r = compare(new float[] {1f, 2.1f}, new float[] {1f, 2f}, "--rtol", "0.1", "--atol", "0");
        assertEquals(0, r.code(), r.out());
    }

    @Test
    void nanAgainstANumberAndOppositeInfinitiesAreMismatches() {
        assertEquals(1, compare(new float[] {NAN}, new float[] {0f}).code());
        assertEquals(1, compare(new float[] {0f}, new float[] {NAN}).code());
        assertEquals(1, compare(new float[] {INF}, new float[] {-INF}).code());
        CliRunner.Result r = compare(new float[] {INF, 1f}, new float[] {3e38f, 1f}, "--rtol", "1");
        assertEquals(1, r.code());
        assertTrue(r.out().contains("NaN/inf mismatches: 1"), r.out());
    }

    @Test
    void integerAndBooleanArraysCompare() {
        Path a = write("a", new NpyArray.Int32(new long[] {3}, new int[] {1, 2, 3}));
        Path b = write("b", new NpyArray.Int32(new long[] {3}, new int[] {1, 2, 4}));
        assertEquals(0, CliRunner.run("compare", a.toString(), a.toString()).code());
        assertEquals(1, CliRunner.run("compare", a.toString(), b.toString()).code());
        Path m1 = write("m1", new NpyArray.Bool(new long[] {2}, new boolean[] {true, false}));
        Path m2 = write("m2", new NpyArray.Bool(new long[] {2}, new boolean[] {true, true}));
        assertEquals(0, CliRunner.run("compare", m1.toString(), m1.toString()).code());
        assertEquals(1, CliRunner.run("compare", m1.toString(), m2.toString()).code());
    }

    @Test
    void shapeMismatchIsAUserError() {
        Path a = write("a", new NpyArray.Float32(new long[] {2, 3}, new float[6]));
        Path b = write("b", new NpyArray.Float32(new long[] {3, 2}, new float[6]));
        CliRunner.Result r = CliRunner.run("compare", a.toString(), b.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("shapes differ") && r.err().contains("(2, 3)") && r.err().contains("(3, 2)"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
    }

    @Test
    void comparisonRecordsWhereTheWorstErrorIs() {
        Comparison c = Comparison.of(new NpyArray.Float32(new long[] {3}, new float[] {1f, 0.5f, 0f}),
                new NpyArray.Float32(new long[] {3}, new float[] {1f, 1f, 0f}), 1e-5, 1e-6);
        assertEquals(0.5, c.maxAbs());
        assertEquals(1, c.maxAbsAt());
        assertEquals(0.5, c.maxRel());
        assertEquals(1, c.beyond());
        assertEquals(1, c.firstBeyond());
        assertEquals(java.util.List.of(1L, 2L), java.util.Arrays.stream(CompareCommand.unravel(5, new long[] {2, 3}))
                .boxed().toList());
    }

    private CliRunner.Result compare(float[] a, float[] b, String... options) {
        Path fa = write("a", new NpyArray.Float32(new long[] {a.length}, a));
        Path fb = write("b", new NpyArray.Float32(new long[] {b.length}, b));
        String[] args = new String[3 + options.length];
        args[0] = "compare";
        args[1] = fa.toString();
        args[2] = fb.toString();
        System.arraycopy(options, 0, args, 3, options.length);
        return CliRunner.run(args);
    }

    private Path write(String name, NpyArray array) {
        Path f = dir.resolve(name + ".npy");
        Npy.write(f, array);
        return f;
    }
}
