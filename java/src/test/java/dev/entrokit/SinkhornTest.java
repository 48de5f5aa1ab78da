package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The batched Sinkhorn solver on every backend against {@link SinkhornReference}, an
 * independent float64 loop, at SPEC §5's "relative 1e-4 after the same number of iterations" (the
 * scalar backend, float64 throughout, at 1e-10), and its closed forms, stopping rule, options,
 * gradients and argument checks.
 */
@Tag("simd-width")
class SinkhornTest {

    /** Per-backend tolerance, relative to the largest reference value. */
    static double tolerance(String backend) {
        return backend.equals("scalar") ? 1e-10 : 1e-4;
    }

    static void near(double[] out, int off, double[] ref, double rel, String what) {
        double scale = 0;
        for (double r : ref) {
            scale = Math.max(scale, Math.abs(r));
        }
        for (int k = 0; k < ref.length; k++) {
            if (!(Math.abs(out[off + k] - ref[k]) <= rel * scale)) {
                fail(String.format("%s[%d]: got %s, expected %s (allowed %.3g)", what, k, out[off + k], ref[k], rel * scale));
            }
        }
    }

    static void near(double out, double ref, double rel, String what) {
        if (!(Math.abs(out - ref) <= rel * Math.abs(ref))) {
            fail(String.format("%s: got %s, expected %s (relative %.3g > %.3g)", what, out, ref,
                    Math.abs(out - ref) / Math.abs(ref), rel));
        }
    }

    static float[] randomCost(long seed, int count, float scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] c = new float[count];
        for (int i = 0; i < count; i++) {
            c[i] = (float) (scale * r.nextDouble());
        }
        return c;
    }

    static float[] randomWeights(long seed, int batch, int k) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[batch * k];
        for (int p = 0; p < batch; p++) {
            double s = 0;
            for (int i = 0; i < k; i++) {
                w[p * k + i] = (float) (0.2 + r.nextDouble());
                s += w[p * k + i];
            }
            for (int i = 0; i < k; i++) {
                w[p * k + i] /= (float) s;
            }
        }
        return w;
    }

    /** Balanced marginals as the solver uses them: divided by their float64 sum. */
    static double[] normalized(double[] w) {
        double s = 0;
        for (double v : w) {
            s += v;
        }
        for (int k = 0; k < w.length; k++) {
            w[k] /= s;
        }
        return w;
    }

    static double[] slice(float[] v, int off, int len) {
        double[] d = new double[len];
        for (int k = 0; k < len; k++) {
            d[k] = v[off + k];
        }
        return d;
    }

    /** A batch of random costs with random marginals. */
    record Batch(int batch, int n, int m, float[] cost, float[] a, float[] b) {
        static Batch random(long seed, int batch, int n, int m) {
            return new Batch(batch, n, m, randomCost(seed, batch * n * m, 1f), randomWeights(seed + 1, batch, n),
                    randomWeights(seed + 2, batch, m));
        }

        SinkhornResult solve(Entrokit ek, SinkhornOptions o) {
            return ek.transport().sinkhorn(Tensor.of(cost, batch, n, m), Tensor.of(a, batch, n), Tensor.of(b, batch,
                    m), o);
        }
    }

    // ---------------------------------------------------------------- against the independent loop

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void costGivenMatchesTheReferenceIterationForIteration(String backend) {
        Entrokit ek = TestBackends.open(backend);
        Batch data = Batch.random(1, 3, 7, 19);
        int n = data.n();
        int m = data.m();
        float[] cost = data.cost();
        for (int iters : new int[] {1, 2, 37}) {
            SinkhornResult r = data.solve(ek, SinkhornOptions.defaults().epsilon(0.05).maxIter(iters).tol(0).plan(true));
            for (int p = 0; p < data.batch(); p++) {
                SinkhornReference ref = new SinkhornReference(slice(cost, p * n * m, n * m), n, m,
                        normalized(slice(data.a(), p * n, n)), normalized(slice(data.b(), p * m, m)), 0.05, iters,
                        Double.POSITIVE_INFINITY);
                String what = backend + " problem " + p + " after " + iters;
                near(r.f(), p * n, ref.f, tolerance(backend), what + " f");
                near(r.g(), p * m, ref.g, tolerance(backend), what + " g");
                near(r.plan(), p * n * m, ref.plan, tolerance(backend), what + " plan");
                near(r.cost()[p], ref.cost, tolerance(backend), what + " cost");
                assertEquals(iters, r.iterations()[p]);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void pointCloudsMatchTheReferenceForEveryMetric(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int batch = 2;
        int n = 9;
        int m = 21;
        int d = 3;
        float[] x = randomCost(4, batch * n * d, 1f);
        float[] y = randomCost(5, batch * m * d, 1f);
        for (Metric metric : Metric.values()) {
            SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.02).maxIter(60).tol(0);
            SinkhornResult r = ek.transport().sinkhorn(Tensor.of(x, batch, n, d), Tensor.of(y, batch, m, d), metric,
                    null, null, o);
            for (int p = 0; p < batch; p++) {
                double[] c = SinkhornReference.cost(Arrays.copyOfRange(x, p * n * d, (p + 1) * n * d),
                        Arrays.copyOfRange(y, p * m * d, (p + 1) * m * d), n, m, d, metric);
                SinkhornReference ref = new SinkhornReference(c, n, m, SinkhornReference.uniform(n),
                        SinkhornReference.uniform(m), 0.02, 60, Double.POSITIVE_INFINITY);
                String what = backend + " " + metric + " problem " + p;
                near(r.f(), p * n, ref.f, tolerance(backend), what + " f");
                near(r.g(), p * m, ref.g, tolerance(backend), what + " g");
                near(r.cost()[p], ref.cost, tolerance(backend), what + " cost");
            }
        }
    }

    /** Costs of 10 at ε = 0.05: every first-pass term is e^−200, below the SIMD exp's floor. */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void largeCostsAtSmallEpsilonStayExact(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int n = 33;
        int m = 17;
        float[] cost = randomCost(6, n * m, 2f);
        for (int k = 0; k < cost.length; k++) {
            cost[k] += 10f;
        }
        SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.05).maxIter(200).tol(0);
        SinkhornResult r = ek.transport().sinkhorn(Tensor.of(cost, n, m), null, null, o);
        SinkhornReference ref = new SinkhornReference(slice(cost, 0, n * m), n, m, SinkhornReference.uniform(n),
                SinkhornReference.uniform(m), 0.05, 200, Double.POSITIVE_INFINITY);
        near(r.f(), 0, ref.f, tolerance(backend), backend + " f");
        near(r.g(), 0, ref.g, tolerance(backend), backend + " g");
        near(r.cost()[0], ref.cost, tolerance(backend), backend + " cost");
    }

    /** The acceptance check of the solver: 1000 iterations at ε = 0.05, simd against scalar. */
    @Test
    void simdMatchesScalarAfterAThousandIterations() {
        Entrokit simd = TestBackends.open("simd");
        Entrokit scalar = TestBackends.scalarReference();
        int batch = 4;
        int n = 64;
        int m = 48;
        float[] cost = randomCost(7, batch * n * m, 1f);
        SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.05).maxIter(1000).tol(0).plan(true);
        SinkhornResult s = simd.transport().sinkhorn(Tensor.of(cost, batch, n, m), null, null, o);
        SinkhornResult ref = scalar.transport().sinkhorn(Tensor.of(cost, batch, n, m), null, null, o);
        near(s.f(), 0, ref.f(), 1e-4, "f");
        near(s.g(), 0, ref.g(), 1e-4, "g");
        near(s.plan(), 0, ref.plan(), 1e-4, "plan");
        for (int p = 0; p < batch; p++) {
            near(s.cost()[p], ref.cost()[p], 1e-4, "cost " + p);
            near(s.objective()[p], ref.objective()[p], 1e-4, "objective " + p);
        }
    }

    /** Beyond its workspace (2^24 floats per thread) the simd backend runs the scalar passes. */
    @Test
    void simdBeyondItsWorkspaceRunsTheScalarPasses() {
        Entrokit simd = TestBackends.open("simd");
        int n = 2100;
        float[] cost = randomCost(29, n * n, 1f);
        SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.1).maxIter(2).tol(0);
        SinkhornResult s = simd.transport().sinkhorn(Tensor.of(cost, n, n), null, null, o);
        SinkhornResult ref = TestBackends.scalarReference().transport().sinkhorn(Tensor.of(cost, n, n), null, null, o);
        assertArrayEquals(ref.f(), s.f());
        assertArrayEquals(ref.g(), s.g());
    }

    // ---------------------------------------------------------------- convergence and closed forms

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void marginalsHoldAtConvergence(String backend) {
        Entrokit ek = TestBackends.open(backend);
        Batch data = Batch.random(8, 2, 12, 30);
        int n = data.n();
        int m = data.m();
        float[] a = data.a();
        float[] b = data.b();
        double tol = backend.equals("scalar") ? 1e-9 : 1e-5;
        SinkhornResult r = data.solve(ek, SinkhornOptions.defaults().epsilon(0.1).maxIter(5000).tol(tol).plan(true));
        for (int p = 0; p < data.batch(); p++) {
            assertTrue(r.marginalError()[p] <= tol, backend + " error " + r.marginalError()[p]);
            assertTrue(r.iterations()[p] < 5000 && r.iterations()[p] % 10 == 0, "stopped at a check: " + r.iterations()[p]);
            for (int i = 0; i < n; i++) {
                double s = 0;
                for (int j = 0; j < m; j++) {
                    s += r.plan()[(p * n + i) * m + j];
                }
                assertEquals(normalized(slice(a, p * n, n))[i], s, 3 * tol, "row " + i);
            }
            for (int j = 0; j < m; j++) {
                double s = 0;
                for (int i = 0; i < n; i++) {
                    s += r.plan()[(p * n + i) * m + j];
                }
                assertEquals(normalized(slice(b, p * m, m))[j], s, 1e-6, "column " + j);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void largeEpsilonGivesTheIndependentCoupling(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int n = 5;
        int m = 8;
        float[] cost = randomCost(11, n * m, 1f);
        float[] a = randomWeights(12, 1, n);
        float[] b = randomWeights(13, 1, m);
        SinkhornResult r = ek.transport().sinkhorn(Tensor.of(cost, n, m), Tensor.of(a), Tensor.of(b),
                SinkhornOptions.defaults().epsilon(1e5).maxIter(50).tol(0).plan(true));
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                assertEquals((double) a[i] * b[j], r.plan()[i * m + j], 1e-5 * a[i] * b[j]);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void oneByOneIsTheCostItself(String backend) {
        Entrokit ek = TestBackends.open(backend);
        SinkhornResult r = ek.transport().sinkhorn(Tensor.of(new float[] {0.7f}, 1, 1), null, null,
                SinkhornOptions.defaults().epsilon(0.01).maxIter(3).tol(0).plan(true));
        // SIMD potentials are float32-accurate, and the plan divides their rounding by ε = 0.01.
        assertEquals(1.0, r.plan()[0], backend.equals("scalar") ? 1e-12 : 1e-5);
        assertEquals(0.7f, r.cost()[0], 1e-5);
        assertEquals(0.7f, r.f()[0] + r.g()[0], 1e-6);
        assertEquals(0.0, r.marginalError()[0], backend.equals("scalar") ? 1e-12 : 1e-4);
    }

    /** In one dimension the optimal plan matches sorted points; small ε approaches that cost. */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void oneDimensionalPointsApproachTheSortedMatching(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int n = 16;
        float[] x = randomCost(14, n, 1f);
        float[] y = randomCost(15, n, 1f);
        float[] xs = x.clone();
        float[] ys = y.clone();
        Arrays.sort(xs);
        Arrays.sort(ys);
        double exact = 0;
        for (int k = 0; k < n; k++) {
            exact += (double) (xs[k] - ys[k]) * (xs[k] - ys[k]) / n;
        }
        SinkhornResult r = ek.transport().sinkhorn(Tensor.of(x, n, 1), Tensor.of(y, n, 1), Metric.SQEUCLIDEAN, null,
                null, SinkhornOptions.defaults().epsilon(1e-4).maxIter(20000).tol(1e-7).annealing(1, 0.95));
        assertEquals(exact, r.cost()[0], 0.02 * exact + 1e-4, backend);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void eachProblemStopsOnItsOwn(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int n = 6;
        int m = 6;
        float[] cost = randomCost(16, 2 * n * m, 1f);
        Arrays.fill(cost, 0, n * m, 0.5f); // a constant cost converges in the first iteration
        SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.05).maxIter(500).tol(1e-6);
        SinkhornResult r = ek.transport().sinkhorn(Tensor.of(cost, 2, n, m), null, null, o);
        assertEquals(10, r.iterations()[0], "the first check");
        assertTrue(r.iterations()[1] > 10, "problem 1 ran " + r.iterations()[1]);
        SinkhornResult exact = ek.transport().sinkhorn(Tensor.of(cost, 2, n, m), null, null, o.tol(0));
        assertArrayEquals(new int[] {500, 500}, exact.iterations(), "tol = 0 runs every iteration");
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void unbalancedMatchesTheReferenceAndTendsToBalanced(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int n = 10;
        int m = 14;
        float[] cost = randomCost(17, n * m, 1f);
        float[] a = randomWeights(18, 1, n);
        float[] b = randomWeights(19, 1, m);
        SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.05).maxIter(300).tol(0).rho(0.5);
        SinkhornResult r = ek.transport().sinkhorn(Tensor.of(cost, n, m), Tensor.of(a), Tensor.of(b), o);
        SinkhornReference ref = new SinkhornReference(slice(cost, 0, n * m), n, m, slice(a, 0, n), slice(b, 0, m), 0.05,
                300, 0.5);
        near(r.f(), 0, ref.f, tolerance(backend), "unbalanced f");
        near(r.g(), 0, ref.g, tolerance(backend), "unbalanced g");
        near(r.cost()[0], ref.cost, tolerance(backend), "unbalanced cost");
        SinkhornResult huge = ek.transport().sinkhorn(Tensor.of(cost, n, m), Tensor.of(a), Tensor.of(b),
                o.rho(1e7).maxIter(2000));
        SinkhornResult balanced = ek.transport().sinkhorn(Tensor.of(cost, n, m), Tensor.of(a), Tensor.of(b),
                o.rho(Double.POSITIVE_INFINITY).maxIter(2000));
        near(huge.cost()[0], balanced.cost()[0], 1e-4, "ρ → ∞ cost");
        near(huge.f(), 0, balanced.f(), 1e-3, "ρ → ∞ f");
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void annealingEndsAtTheTargetEpsilon(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int n = 20;
        float[] cost = randomCost(20, n * n, 1f);
        SinkhornOptions plain = SinkhornOptions.defaults().epsilon(0.02).maxIter(3000).tol(1e-7);
        SinkhornResult annealed = ek.transport().sinkhorn(Tensor.of(cost, n, n), null, null, plain.annealing(1, 0.8));
        SinkhornResult direct = ek.transport().sinkhorn(Tensor.of(cost, n, n), null, null, plain);
        near(annealed.cost()[0], direct.cost()[0], 1e-4, "annealed cost");
        near(annealed.objective()[0], direct.objective()[0], 1e-4, "annealed objective");
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void debiasedDivergenceIsZeroOnIdenticalCloudsAndPositiveOtherwise(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int n = 12;
        float[] x = randomCost(21, 2 * n * 2, 1f);
        float[] y = x.clone();
        for (int k = n * 2; k < y.length; k++) {
            y[k] += 0.5f;
        }
        double[] s = ek.transport().sinkhornDivergence(Tensor.of(x, 2, n, 2), Tensor.of(y, 2, n, 2),
                Metric.SQEUCLIDEAN, null, null, SinkhornOptions.defaults().epsilon(0.05).tol(1e-8).maxIter(5000));
        assertEquals(0, s[0], 1e-6, "identical clouds");
        assertTrue(s[1] > 0.3, "shifted by (0.5, 0.5): " + s[1]);
    }

    // ---------------------------------------------------------------- envelope gradients

    @Test
    void envelopeGradientsMatchCentralDifferences() {
        Entrokit ek = TestBackends.scalarReference();
        int n = 5;
        int m = 6;
        int d = 2;
        float[] x = randomCost(22, n * d, 1f);
        float[] y = randomCost(23, m * d, 1f);
        float[] a = randomWeights(24, 1, n);
        SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.1).maxIter(20000).tol(1e-13).checkEvery(1)
                .gradients(true).plan(true);
        for (Metric metric : Metric.values()) {
            SinkhornResult r = ek.transport().sinkhorn(Tensor.of(x, n, d), Tensor.of(y, m, d), metric, Tensor.of(a),
                    null, o);
            double h = 1e-3;
            for (int k = 0; k < n * d; k++) {
                float[] up = x.clone();
                float[] down = x.clone();
                up[k] += (float) h;
                down[k] -= (float) h;
                double step = (double) up[k] - down[k];
                double num = (objective(ek, up, y, a, metric, o) - objective(ek, down, y, a, metric, o)) / step;
                assertEquals(num, r.gradX()[k], 2e-4 * Math.max(1, Math.abs(num)), metric + " dx " + k);
            }
            for (int k = 0; k < m * d; k++) {
                float[] up = y.clone();
                float[] down = y.clone();
                up[k] += (float) h;
                down[k] -= (float) h;
                double step = (double) up[k] - down[k];
                double num = (objective(ek, x, up, a, metric, o) - objective(ek, x, down, a, metric, o)) / step;
                assertEquals(num, r.gradY()[k], 2e-4 * Math.max(1, Math.abs(num)), metric + " dy " + k);
            }
            // Along a_i − a_0 (keeps the sum 1): the centered f gives the directional derivative.
            for (int i = 1; i < n; i++) {
                float[] up = a.clone();
                float[] down = a.clone();
                up[i] += (float) h;
                up[0] -= (float) h;
                down[i] -= (float) h;
                down[0] += (float) h;
                double num = (objective(ek, x, y, up, metric, o) - objective(ek, x, y, down, metric, o)) / (2 * h);
                assertEquals(num, r.gradA()[i] - r.gradA()[0], 2e-4 * Math.max(1, Math.abs(num)), metric + " da " + i);
            }
        }
    }

    private static double objective(Entrokit ek, float[] x, float[] y, float[] a, Metric metric, SinkhornOptions o) {
        int d = 2;
        return ek.transport().sinkhorn(Tensor.of(x, x.length / d, d), Tensor.of(y, y.length / d, d), metric,
                Tensor.of(a), null, o.gradients(false).plan(false)).objective()[0];
    }

    @Test
    void planIsTheCostGradient() {
        Entrokit ek = TestBackends.scalarReference();
        int n = 4;
        int m = 5;
        float[] cost = randomCost(25, n * m, 1f);
        SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.1).maxIter(20000).tol(1e-13).checkEvery(1).plan(true);
        SinkhornResult r = ek.transport().sinkhorn(Tensor.of(cost, n, m), null, null, o);
        for (int k = 0; k < n * m; k++) {
            float[] up = cost.clone();
            float[] down = cost.clone();
            up[k] += 1e-3f;
            down[k] -= 1e-3f;
            double num = (ek.transport().sinkhorn(Tensor.of(up, n, m), null, null, o.plan(false)).objective()[0]
                    - ek.transport().sinkhorn(Tensor.of(down, n, m), null, null, o.plan(false)).objective()[0])
                    / ((double) up[k] - down[k]);
            assertEquals(num, r.plan()[k], 1e-6, "dC " + k);
        }
    }

    // ---------------------------------------------------------------- outputs and determinism

    @Test
    void objectiveIsThePrimalEntropicObjective() {
        Entrokit ek = TestBackends.scalarReference();
        int n = 6;
        int m = 7;
        float[] cost = randomCost(26, n * m, 1f);
        SinkhornResult r = ek.transport().sinkhorn(Tensor.of(cost, n, m), null, null,
                SinkhornOptions.defaults().epsilon(0.1).maxIter(40).tol(0).plan(true));
        double primal = 0;
        for (int k = 0; k < n * m; k++) {
            double p = r.plan()[k];
            primal += p * cost[k] + 0.1 * p * (Math.log(p) - 1);
        }
        assertEquals(primal, r.objective()[0], 1e-12);
        assertNull(r.gradA());
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void resultsDoNotDependOnTheThreadCount(String backend) {
        TestBackends.open(backend);
        int batch = 5;
        int n = 40;
        int m = 33;
        float[] cost = randomCost(27, batch * n * m, 1f);
        SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.05).maxIter(200).tol(1e-4);
        try (Entrokit one = Entrokit.create(backend, 1); Entrokit three = Entrokit.create(backend, 3)) {
            SinkhornResult r1 = one.transport().sinkhorn(Tensor.of(cost, batch, n, m), null, null, o);
            SinkhornResult r3 = three.transport().sinkhorn(Tensor.of(cost, batch, n, m), null, null, o);
            assertArrayEquals(r1.f(), r3.f());
            assertArrayEquals(r1.g(), r3.g());
            assertArrayEquals(r1.iterations(), r3.iterations());
        }
    }

    /** {@code Σ_i |Σ_j P_ij − a_i|} of problem {@code p}'s returned plan, in float64. */
    static double planRowError(SinkhornResult r, int p, double[] a) {
        int n = r.n();
        int m = r.m();
        double err = 0;
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < m; j++) {
                s += r.plan()[(p * n + i) * m + j];
            }
            err += Math.abs(s - a[i]);
        }
        return err;
    }

    /**
     * The error reported is the returned plan's: float32 logs once showed converged rows as 1e-16 off
     * while the plan's rows were 4e-8 off, and the simd backend stopped early on that.
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void reportedErrorIsTheReturnedPlans(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int[][] sizes = {{20, 30}, {1, 1}, {1, 7}, {5, 1}, {3, 5}, {17, 31}, {33, 2}};
        for (int[] size : sizes) {
            Batch data = Batch.random(41, 3, size[0], size[1]);
            int n = data.n();
            for (double tol : new double[] {1e-9, 1e-6, 0}) {
                SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.05).maxIter(tol == 0 ? 37 : 2000).tol(tol)
                        .plan(true);
                SinkhornResult r = data.solve(ek, o);
                for (int p = 0; p < data.batch(); p++) {
                    String what = backend + " " + n + "x" + data.m() + " tol " + tol + " problem " + p;
                    double actual = planRowError(r, p, normalized(slice(data.a(), p * n, n)));
                    assertEquals(actual, r.marginalError()[p], 1e-13 + 1e-6 * actual, what);
                    assertTrue(r.marginalError()[p] <= tol || r.iterations()[p] == o.maxIter(), what + " stopped at "
                            + r.iterations()[p] + " with error " + r.marginalError()[p]);
                }
            }
        }
        // The same for costs from points (the simd workspace rounds them to float32).
        float[] x = randomCost(42, 2 * 13 * 3, 1f);
        float[] y = randomCost(43, 2 * 19 * 3, 1f);
        SinkhornResult r = ek.transport().sinkhorn(Tensor.of(x, 2, 13, 3), Tensor.of(y, 2, 19, 3), Metric.EUCLIDEAN,
                null, null, SinkhornOptions.defaults().epsilon(0.02).maxIter(3000).plan(true));
        for (int p = 0; p < 2; p++) {
            double actual = planRowError(r, p, SinkhornReference.uniform(13));
            assertEquals(actual, r.marginalError()[p], 1e-13 + 1e-6 * actual, backend + " points problem " + p);
            assertTrue(r.marginalError()[p] <= 1e-9, backend + " points error " + r.marginalError()[p]);
        }
    }

    /**
     * Costs far above ε, where float32 exponents lose SPEC §5's 1e-4 (the simd backend was 2.2e-4 off at
     * costs to 1e4, ε = 0.05, and NaN or 1e12 off at ε = 1e-10 and below): the simd backend must match
     * the scalar one, which must match the independent loop.
     */
    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void costsFarAboveEpsilonStayWithinTolerance(String backend) {
        Entrokit ek = TestBackends.open(backend);
        Entrokit scalar = TestBackends.scalarReference();
        int n = 20;
        int m = 30;
        double[][] cases = {{1e4, 0.05}, {1, 1e-10}, {2000, 1}, {1, 1e-3}, {3e4, 1e-7}};
        for (double[] c : cases) {
            float[] cost = randomCost(44, n * m, (float) c[0]);
            SinkhornOptions o = SinkhornOptions.defaults().epsilon(c[1]).maxIter(60).tol(0).plan(true);
            SinkhornResult r = ek.transport().sinkhorn(Tensor.of(cost, n, m), null, null, o);
            SinkhornResult s = scalar.transport().sinkhorn(Tensor.of(cost, n, m), null, null, o);
            SinkhornReference ref = new SinkhornReference(slice(cost, 0, n * m), n, m, SinkhornReference.uniform(n),
                    SinkhornReference.uniform(m), c[1], 60, Double.POSITIVE_INFINITY);
            String what = backend + " costs to " + c[0] + " at epsilon " + c[1];
            near(s.cost()[0], ref.cost, 1e-10, what + " scalar cost");
            near(r.cost()[0], s.cost()[0], tolerance(backend), what + " cost");
            near(r.f(), 0, s.f(), tolerance(backend), what + " f");
            near(r.g(), 0, s.g(), tolerance(backend), what + " g");
            near(r.plan(), 0, s.plan(), tolerance(backend), what + " plan");
            assertTrue(Double.isFinite(r.marginalError()[0]), what + " error " + r.marginalError()[0]);
        }
    }

    /** An ε that float64 cannot resolve against the costs is refused, by name, with the ratio. */
    @Test
    void epsilonTooSmallForTheCostsIsRefused() {
        Entrokit ek = TestBackends.scalarReference();
        float[] cost = randomCost(45, 2 * 3 * 4, 1f);
        Arrays.fill(cost, 0, 12, 0f); // problem 0 has no cost to resolve: only problem 1 is named
        cost[17] = 2;
        for (String backend : TestBackends.availableNames()) {
            Entrokit e = TestBackends.instance(backend);
            for (double eps : new double[] {1e-38, 1e-40, 1e-300}) {
                expect("epsilon: " + eps + " is too small for the costs of problem 1 (up to 2.0): max cost / epsilon",
                        () -> e.transport().sinkhorn(Tensor.of(cost, 2, 3, 4), null, null,
                                SinkhornOptions.defaults().epsilon(eps)));
            }
            // Points: the bound is the cost across the box holding both clouds, here (3 − 0)² + (1 − 0)².
            expect("epsilon: 1.0E-12 is too small for the costs of problem 0 (up to 10.0)",
                    () -> e.transport().sinkhorn(
                    Tensor.of(new float[] {0, 0, 3, 1}, 2, 2), Tensor.of(new float[] {1, 1}, 1, 2), Metric.SQEUCLIDEAN,
                    null, null, SinkhornOptions.defaults().epsilon(1e-12)));
        }
        expect("epsilon: 4.9E-324 is subnormal", () -> SinkhornOptions.defaults().epsilon(Double.MIN_VALUE));
        // All costs 0: any normal ε is fine (the independent coupling).
        SinkhornResult r = ek.transport().sinkhorn(Tensor.of(new float[6], 2, 3), null, null,
                SinkhornOptions.defaults().epsilon(Double.MIN_NORMAL).plan(true));
        assertEquals(1.0 / 6, r.plan()[4], 1e-15);
    }

    // ---------------------------------------------------------------- argument checks

    @Test
    void badInputIsRefusedWithAMessage() {
        Entrokit ek = TestBackends.scalarReference();
        SinkhornOptions o = SinkhornOptions.defaults();
        float[] cost = randomCost(28, 2 * 3 * 4, 1f);
        expect("cost: entries must be finite and >= 0, got -1.0", () -> {
            float[] c = cost.clone();
            c[5] = -1;
            ek.transport().sinkhorn(Tensor.of(c, 2, 3, 4), null, null, o);
        });
        expect("cost: entries must be finite and >= 0, got NaN", () -> {
            float[] c = cost.clone();
            c[0] = Float.NaN;
            ek.transport().sinkhorn(Tensor.of(c, 2, 3, 4), null, null, o);
        });
        expect("epsilon: must be finite and > 0, got 0.0", () -> o.epsilon(0));
        expect("epsilon: must be finite and > 0, got -0.1", () -> o.epsilon(-0.1));
        expect("a: weights of problem 1 sum to", () ->
                ek.transport().sinkhorn(Tensor.of(cost, 2, 3, 4),
                        Tensor.of(new float[] {0.2f, 0.3f, 0.5f, 0.2f, 0.3f, 0.6f}, 2, 3), null, o));
        expect("b: shape [2, 3] does not match [2, 4]", () ->
                ek.transport().sinkhorn(Tensor.of(cost, 2, 3, 4), null, Tensor.of(new float[6], 2, 3), o));
        expect("y: shape [2, 4, 3] does not match x [2, 3, 2]", () ->
                ek.transport().sinkhorn(Tensor.of(new float[12], 2, 3, 2), Tensor.of(new float[24], 2, 4, 3),
                        Metric.L1, null, null, o));
        expect("a: weights must be finite and > 0", () ->
                ek.transport().sinkhorn(Tensor.of(cost, 2, 3, 4),
                        Tensor.of(new float[] {0, 0.5f, 0.5f, 0.2f, 0.3f, 0.5f}, 2, 3), null, o));
        expect("cost: expected [B, n, m] or [n, m]", () -> ek.transport().sinkhorn(Tensor.of(new float[3]), null, null,
                o));
        expect("x: coordinates must be finite", () -> ek.transport().sinkhorn(Tensor.of(new float[] {Float.NaN, 0}, 1,
                2), Tensor.of(new float[2], 1, 2), Metric.SQEUCLIDEAN, null, null, o));
        expect("rho: must be > 0", () -> o.rho(0));
        expect("epsilonStart: must be 0 (no annealing) or finite and >= epsilon", () -> o.annealing(0.01, 0.9));
        expect("metric: expected sqeuclidean, l1 or euclidean, got 'cosine'", () -> Metric.of("cosine"));
    }

    static void expect(String message, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().startsWith(message), "message was: " + e.getMessage());
    }
}
