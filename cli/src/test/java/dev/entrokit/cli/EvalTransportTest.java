package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code eval sinkhorn}, {@code sinkhorn_divergence} and {@code sinkd} end to end: shapes, dtypes, and the
 * solver's acceptance check (float64 plans, costs and SPEC-order potentials after 1000 iterations on both
 * backends, against a float64 loop written here).
 */
class EvalTransportTest {
    private static final int B = 2;
    private static final int N = 3;
    private static final int M = 4;

    @TempDir
    Path dir;

    private Path write(String name, long[] shape, float[] data) {
        Path p = dir.resolve(name + ".npy");
        Npy.write(p, new NpyArray.Float32(shape, data));
        return p;
    }

    /** The data of a {@code <f8} file as written ({@link Npy#read} narrows it to float32, as inputs are). */
    private static double[] float64(Path file) {
        try {
            byte[] bytes = java.nio.file.Files.readAllBytes(file);
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            assertTrue(new String(bytes, 10, buf.getShort(8)).contains("'<f8'"), file.toString());
            int start = 10 + buf.getShort(8);
            double[] d = new double[(bytes.length - start) / 8];
            buf.position(start).slice().order(java.nio.ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(d);
            return d;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static float[] random(long seed, int count) {
        return DemoData.uniform(count, seed);
    }

    /** SPEC §3 in float64: 1000 iterations, f first, uniform marginals; returns {f, g, plan, cost}. */
    private static double[][] reference(float[] c, int p) {
        double eps = 0.1;
        double[] f = new double[N];
        double[] g = new double[M];
        for (int it = 0; it < 1000; it++) {
            for (int i = 0; i < N; i++) {
                double s = 0;
                for (int j = 0; j < M; j++) {
                    s += Math.exp((g[j] - c[(p * N + i) * M + j]) / eps);
                }
                f[i] = eps * Math.log(1.0 / N) - eps * Math.log(s);
            }
            for (int j = 0; j < M; j++) {
                double s = 0;
                for (int i = 0; i < N; i++) {
                    s += Math.exp((f[i] - c[(p * N + i) * M + j]) / eps);
                }
                g[j] = eps * Math.log(1.0 / M) - eps * Math.log(s);
            }
        }
        double[] plan = new double[N * M];
        double cost = 0;
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < M; j++) {
                plan[i * M + j] = Math.exp((f[i] + g[j] - c[(p * N + i) * M + j]) / eps);
                cost += plan[i * M + j] * c[(p * N + i) * M + j];
            }
        }
        return new double[][] {f, g, plan, {cost}};
    }

    @ParameterizedTest
    @ValueSource(strings = {"scalar", "simd"})
    void sinkhornWritesFloat64PotentialsPlansAndCosts(String backend) {
        float[] c = random(1, B * N * M);
        Path cost = write("cost", new long[] {B, N, M}, c);
        CliRunner.Result r = CliRunner.run("eval", "sinkhorn", "--backend", backend, "--set", "epsilon=0.1", "--set",
                "max_iter=1000", "--set", "tol=0", "--set", "plan=true", "--in", "cost=" + cost, "--out",
                dir.resolve(backend).toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("plan.npy (2, 3, 4) <f8"), r.out());
        double[] f = float64(dir.resolve(backend + "/f.npy"));
        double[] plan = float64(dir.resolve(backend + "/plan.npy"));
        double[] costs = float64(dir.resolve(backend + "/cost.npy"));
        NpyArray.Int32 its = NpyTest.assertInstance(NpyArray.Int32.class, Npy.read(dir.resolve(backend + "/iterations.npy")));
        assertTrue(r.out().contains("f.npy (2, 3) <f8"), r.out());
        assertArrayEquals(new int[] {1000, 1000}, its.data());
        double tol = backend.equals("scalar") ? 1e-12 : 1e-5;
        for (int p = 0; p < B; p++) {
            double[][] ref = reference(c, p);
            for (int i = 0; i < N; i++) {
                assertEquals(ref[0][i], f[p * N + i], tol, "f");
            }
            for (int k = 0; k < N * M; k++) {
                assertEquals(ref[2][k], plan[p * N * M + k], tol, "plan");
            }
            assertEquals(ref[3][0], costs[p], tol, "cost");
        }
    }

    @Test
    void oneProblemDropsTheBatchAxisAndPointsNeedBothClouds() {
        Path x = write("x", new long[] {N, 2}, random(2, N * 2));
        Path y = write("y", new long[] {M, 2}, random(3, M * 2));
        CliRunner.Result r = CliRunner.run("eval", "sinkhorn", "--set", "metric=l1", "--in", "x=" + x, "--in", "y=" + y,
                "--out", dir.resolve("p").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("f.npy (3,) <f8") && r.out().contains("cost.npy () <f8"), r.out());
        CliRunner.Result missing = CliRunner.run("eval", "sinkhorn", "--in", "x=" + x, "--out", dir.resolve("q").toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("x and y go together"), missing.err());
        CliRunner.Result bad = CliRunner.run("eval", "sinkhorn", "--set", "epsilon=0", "--in", "x=" + x, "--in", "y=" + y,
                "--out", dir.resolve("r").toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("epsilon: must be finite and > 0"), bad.err());
        CliRunner.Result div = CliRunner.run("eval", "sinkhorn_divergence", "--in", "x=" + x, "--in", "y=" + y, "--out",
                dir.resolve("d").toString());
        assertEquals(0, div.code(), div.err());
        assertTrue(div.out().contains("divergence.npy () <f8"), div.out());
    }

    @Test
    void sinkdWritesTheLossAndTheStudentGradient() {
        Path t = write("t", new long[] {4, 5}, random(4, 20));
        Path s = write("s", new long[] {4, 5}, random(5, 20));
        CliRunner.Result r = CliRunner.run("eval", "sinkd", "--set", "domain=log", "--in", "teacher=" + t, "--in",
                "student=" + s, "--out", dir.resolve("k").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("loss.npy () <f4") && r.out().contains("grad.npy (4, 5) <f4"), r.out());
    }
}
