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
    void neighbouringTokenIdsDifferWhateverTheTolerance() {
        for (NpyArray[] pair : new NpyArray[][] {
            {new NpyArray.Int32(new long[] {2}, new int[] {128255, 7}), new NpyArray.Int32(new long[] {2}, new int[] {128256, 7})},
            {new NpyArray.Int64(new long[] {2}, new long[] {128255, 7}), new NpyArray.Int32(new long[] {2}, new int[] {128256, 7})},
        }) {
            Path a = write("a", pair[0]);
            Path b = write("b", pair[1]);
            CliRunner.Result r = CliRunner.run("compare", a.toString(), b.toString());
            assertEquals(1, r.code(), r.out() + r.err());
            assertTrue(r.out().contains("compared exactly"), r.out());
            assertTrue(r.out().contains("differing: 1 of 2: [0] (a=128255, b=128256)"), r.out());
            assertTrue(r.out().contains("FAIL: 1 element differs"), r.out());
            assertEquals("", r.err());
            CliRunner.Result loose = CliRunner.run("compare", a.toString(), b.toString(), "--rtol", "0.5", "--atol", "10");
            assertEquals(1, loose.code(), loose.out());
            assertTrue(loose.out().contains("note: --rtol/--atol ignored"), loose.out());
        }
    }

    @Test
    void int64BeyondDoublePrecisionComparesExactly() {
        long big = (1L << 53) + 1; // (double) big == (double) (big - 1)
        Path a = write("a", new NpyArray.Int64(new long[] {1}, new long[] {big}));
        Path b = write("b", new NpyArray.Int64(new long[] {1}, new long[] {big - 1}));
        CliRunner.Result r = CliRunner.run("compare", a.toString(), b.toString());
        assertEquals(1, r.code(), r.out());
        assertTrue(r.out().contains("(a=" + big + ", b=" + (big - 1) + ")"), r.out());
        assertEquals(0, CliRunner.run("compare", a.toString(), a.toString()).code());
    }

    @Test
    void differingEntriesAreListedFirstFewWithTheCount() {
        int[] x = new int[12];
        int[] y = new int[12];
        for (int i = 0; i < 12; i++) {
            x[i] = i;
            y[i] = i % 2 == 0 ? i : -i; // the 6 odd positions differ
        }
        Path a = write("a", new NpyArray.Int32(new long[] {3, 4}, x));
        Path b = write("b", new NpyArray.Int32(new long[] {3, 4}, y));
        CliRunner.Result r = CliRunner.run("compare", a.toString(), b.toString());
        assertEquals(1, r.code());
        assertTrue(r.out().contains("differing: 6 of 12, the first 5: [0, 1] (a=1, b=-1), [0, 3] (a=3, b=-3), "
                + "[1, 1] (a=5, b=-5), [1, 3] (a=7, b=-7), [2, 1] (a=9, b=-9)"), r.out());

        Path m1 = write("m1", new NpyArray.Bool(new long[] {3}, new boolean[] {true, false, true}));
        Path m2 = write("m2", new NpyArray.Bool(new long[] {3}, new boolean[] {true, true, true}));
        CliRunner.Result masks = CliRunner.run("compare", m1.toString(), m2.toString());
        assertTrue(masks.out().contains("differing: 1 of 3: [1] (a=False, b=True)"), masks.out());

        CliRunner.Result floats = compare(new float[] {1f, 2.1f, 3f}, new float[] {1f, 2f, 3.5f});
        assertTrue(floats.out().contains("): 2 of 3: [1] (a=2.1, b=2.0), [2] (a=3.0, b=3.5)"), floats.out());
    }

    @Test
    void kindMismatchIsAUserError() {
        Path ids = write("ids", new NpyArray.Int32(new long[] {2}, new int[] {1, 2}));
        Path floats = write("f", new NpyArray.Float32(new long[] {2}, new float[] {1f, 2f}));
        Path mask = write("m", new NpyArray.Bool(new long[] {2}, new boolean[] {true, true}));
        for (Path[] pair : new Path[][] {{ids, floats}, {floats, ids}, {mask, ids}, {mask, floats}}) {
            CliRunner.Result r = CliRunner.run("compare", pair[0].toString(), pair[1].toString());
            assertEquals(2, r.code(), r.out() + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("dtypes differ in kind"), r.err());
        }
    }

    @Test
    void float64ValuesBeyondFloat32RangeAreComparedAsFloat64() {
        // Narrowed to float32 both would be +inf and "equal".
        Path a = write("a", new NpyArray.Float64(new long[] {2}, new double[] {1e39, 0.1}));
        Path b = write("b", new NpyArray.Float64(new long[] {2}, new double[] {2e39, 0.1}));
        CliRunner.Result r = CliRunner.run("compare", a.toString(), b.toString());
        assertEquals(1, r.code(), r.out());
        assertTrue(r.out().contains("[0] (a=1.0E39, b=2.0E39)"), r.out());
        Path c = write("c", new NpyArray.Float64(new long[] {2}, new double[] {1e39, 0.1 + 1e-12}));
        assertEquals(1, CliRunner.run("compare", a.toString(), c.toString(), "--rtol", "0", "--atol", "1e-13").code());
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
        assertEquals(java.util.List.of(1), c.firstBeyond());
        assertEquals(java.util.List.of(1L, 2L), java.util.Arrays.stream(NpyArray.unravel(5, new long[] {2, 3}))
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
