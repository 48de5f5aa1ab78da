package dev.entrokit;

import static dev.entrokit.SinkhornTest.expect;
import static dev.entrokit.SinkhornTest.near;
import static dev.entrokit.SinkhornTest.normalized;
import static dev.entrokit.SinkhornTest.planRowError;
import static dev.entrokit.SinkhornTest.randomCost;
import static dev.entrokit.SinkhornTest.randomWeights;
import static dev.entrokit.SinkhornTest.slice;
import static dev.entrokit.SinkhornTest.tolerance;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.entrokit.internal.SinkhornSolver;
import dev.entrokit.internal.TransportProblem;
import dev.entrokit.internal.scalar.ScalarSinkhorn;
import dev.entrokit.internal.simd.SimdSinkhorn;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Sinkhorn at scale: the streaming simd passes for point clouds (no {@code n × m} cost held) against the
 * dense simd passes, the scalar backend and {@link SinkhornReference} at SPEC §5's relative 1e-4 after the
 * same number of iterations, on odd sizes, every metric, balanced, unbalanced and annealed; their memory;
 * and ragged batches (each problem its own sizes and ε) against the same problems solved one by one.
 */
@Tag("simd-width")
class SinkhornScaleTest {

    private static void assumeSimd() {
        assumeTrue(TestBackends.available("simd"), "simd is not available here");
    }

    /** Problem {@code x [n, d]}, {@code y [m, d]} solved by {@code solver} directly (the façade's checks are not the subject). */
    private static SinkhornResult solve(SinkhornSolver solver, float[] x, float[] y, int n, int m, int d, Metric metric,
                                        float[] a, SinkhornOptions o) {
        TransportProblem problem = new TransportProblem(null, Tensor.of(x, n, d), Tensor.of(y, m, d), metric,
                a == null ? null : Tensor.of(a), null, 1, n, m, d);
        SinkhornResult out = new SinkhornResult(1, n, m, d, o.plan(), o.gradients());
        solver.solve(problem, 0, o, out);
        return out;
    }

    /**
     * {@code f} and {@code g} within {@code rel} of the larger of the two references' magnitudes: the
     * potentials are defined up to a shared constant ({@code f + c}, {@code g − c}), so one of them may be
     * near 0 (a 1 × 1 problem's {@code g}) while the other carries the cost.
     */
    private static void potentialsNear(SinkhornResult out, double[] f, double[] g, double rel, String what) {
        double scale = 0;
        for (double v : f) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (double v : g) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int k = 0; k < f.length; k++) {
            assertEquals(f[k], out.f()[k], rel * scale, what + " f[" + k + "]");
        }
        for (int k = 0; k < g.length; k++) {
            assertEquals(g[k], out.g()[k], rel * scale, what + " g[" + k + "]");
        }
    }

    private static void sameWithin(SinkhornResult out, SinkhornResult ref, double rel, String what) {
        potentialsNear(out, ref.f(), ref.g(), rel, what);
        near(out.cost()[0], ref.cost()[0], rel, what + " cost");
        near(out.objective()[0], ref.objective()[0], rel, what + " objective");
        if (ref.plan() != null) {
            near(out.plan(), 0, ref.plan(), rel, what + " plan");
        }
    }

    // ---------------------------------------------------------------- streaming point clouds

    @Test
    void streamingMatchesTheDensePathTheScalarBackendAndTheReference() {
        assumeSimd();
        SinkhornSolver streaming = SimdSinkhorn.streaming();
        SinkhornSolver dense = new SimdSinkhorn();
        SinkhornSolver scalar = new ScalarSinkhorn();
        int[][] sizes = {{1, 1}, {1, 7}, {5, 1}, {17, 33}, {100, 37}, {131, 257}};
        int[] dims = {1, 2, 3, 5};
        int seed = 100;
        for (int[] size : sizes) {
            int n = size[0];
            int m = size[1];
            for (Metric metric : Metric.values()) {
                int d = dims[seed % dims.length];
                float[] x = randomCost(seed++, n * d, 1f);
                float[] y = randomCost(seed++, m * d, 1f);
                float[] a = randomWeights(seed++, 1, n);
                SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.03).maxIter(40).tol(0).plan(true);
                String what = n + "x" + m + " d=" + d + " " + metric;
                SinkhornResult s = solve(streaming, x, y, n, m, d, metric, a, o);
                sameWithin(s, solve(dense, x, y, n, m, d, metric, a, o), 1e-4, what + " vs dense");
                sameWithin(s, solve(scalar, x, y, n, m, d, metric, a, o), 1e-4, what + " vs scalar");
                SinkhornReference ref = new SinkhornReference(SinkhornReference.cost(x, y, n, m, d, metric), n, m,
                        normalized(slice(a, 0, n)), SinkhornReference.uniform(m), 0.03, 40, Double.POSITIVE_INFINITY);
                potentialsNear(s, ref.f, ref.g, 1e-4, what + " vs reference");
                near(s.cost()[0], ref.cost, 1e-4, what + " vs reference cost");
                assertEquals(40, s.iterations()[0]);
                double actual = planRowError(s, 0, normalized(slice(a, 0, n)));
                assertEquals(actual, s.marginalError()[0], 1e-13 + 1e-6 * actual, what + " reported error");
            }
        }
    }

    @Test
    void streamingUnbalancedAnnealedAndStoppingMatchTheDensePath() {
        assumeSimd();
        SinkhornSolver streaming = SimdSinkhorn.streaming();
        SinkhornSolver dense = new SimdSinkhorn();
        SinkhornSolver scalar = new ScalarSinkhorn();
        int n = 61;
        int m = 45;
        int d = 3;
        float[] x = randomCost(201, n * d, 1f);
        float[] y = randomCost(202, m * d, 1f);
        float[] a = randomWeights(203, 1, n);
        for (Metric metric : Metric.values()) {
            SinkhornOptions unbalanced = SinkhornOptions.defaults().epsilon(0.05).maxIter(120).tol(0).rho(0.5);
            SinkhornResult s = solve(streaming, x, y, n, m, d, metric, a, unbalanced);
            sameWithin(s, solve(dense, x, y, n, m, d, metric, a, unbalanced), 1e-4, metric + " unbalanced vs dense");
            sameWithin(s, solve(scalar, x, y, n, m, d, metric, a, unbalanced), 1e-4, metric + " unbalanced vs scalar");
            SinkhornOptions annealed = SinkhornOptions.defaults().epsilon(0.01).maxIter(300).tol(0).annealing(1, 0.9);
            s = solve(streaming, x, y, n, m, d, metric, a, annealed);
            sameWithin(s, solve(scalar, x, y, n, m, d, metric, a, annealed), 1e-4, metric + " annealed vs scalar");
            // With a tolerance each path stops on its own; the reported error is the returned plan's and within tol.
            SinkhornOptions stopping = SinkhornOptions.defaults().epsilon(0.05).maxIter(3000).tol(1e-7).plan(true);
            s = solve(streaming, x, y, n, m, d, metric, a, stopping);
            double actual = planRowError(s, 0, normalized(slice(a, 0, n)));
            assertEquals(actual, s.marginalError()[0], 1e-13 + 1e-6 * actual, metric + " reported error");
            assertTrue(s.marginalError()[0] <= 1e-7, metric + " error " + s.marginalError()[0]);
            SinkhornResult ref = solve(scalar, x, y, n, m, d, metric, a, stopping);
            near(s.cost()[0], ref.cost()[0], 1e-4, metric + " converged cost");
            near(s.objective()[0], ref.objective()[0], 1e-4, metric + " converged objective");
        }
    }

    /** Costs far above ε (max C/ε beyond float32's range) run the scalar passes, bitwise. */
    @Test
    void streamingBeyondFloat32RangeRunsTheScalarPasses() {
        assumeSimd();
        int n = 23;
        int m = 31;
        int d = 2;
        float[] x = randomCost(211, n * d, 30f);
        float[] y = randomCost(212, m * d, 30f);
        SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.05).maxIter(25).tol(0);
        SinkhornResult s = solve(SimdSinkhorn.streaming(), x, y, n, m, d, Metric.SQEUCLIDEAN, null, o);
        SinkhornResult ref = solve(new ScalarSinkhorn(), x, y, n, m, d, Metric.SQEUCLIDEAN, null, o);
        assertArrayEquals(ref.f(), s.f());
        assertArrayEquals(ref.g(), s.g());
    }

    /**
     * Through the façade, clouds whose dense workspace would pass 2^24 floats stream: once its kernels are
     * compiled, a solve allocates O((n + m)·d) bytes (measured on the calling thread of a one-thread
     * instance), under 5 % of one n·m float matrix, and matches the scalar backend. Until C2 has compiled
     * them, vector code allocates a box per operation, so solves are repeated until one runs compiled.
     */
    @Test
    void largeCloudsStreamInLinearMemoryAndMatchTheScalarBackend() {
        assumeSimd();
        int n = 2100;
        int m = 2111;
        int d = 2;
        float[] x = randomCost(221, n * d, 1f);
        float[] y = randomCost(222, m * d, 1f);
        SinkhornOptions o = SinkhornOptions.defaults().epsilon(0.05).maxIter(2).tol(0);
        long denseBytes = (long) n * m * Float.BYTES;
        try (Entrokit one = Entrokit.create("simd", 1)) {
            long least = Long.MAX_VALUE;
            SinkhornResult s = null;
            for (int rep = 0; rep < 30 && least >= denseBytes / 20; rep++) {
                long before = allocatedBytes();
                s = one.transport().sinkhorn(Tensor.of(x, n, d), Tensor.of(y, m, d), Metric.SQEUCLIDEAN, null, null, o);
                least = Math.min(least, allocatedBytes() - before);
            }
            assertTrue(least < denseBytes / 20, "a solve allocated at least " + least + " bytes; one n x m float matrix is "
                    + denseBytes);
            SinkhornResult ref = TestBackends.scalarReference().transport().sinkhorn(Tensor.of(x, n, d), Tensor.of(y,
                    m, d), Metric.SQEUCLIDEAN, null, null, o);
            sameWithin(s, ref, 1e-4, "2100 x 2111");
        }
    }

    /**
     * The bytes this thread has allocated so far, from {@code com.sun.management.ThreadMXBean} (reached
     * reflectively: the test sources compile inside the library's module, which reads no management module).
     */
    private static long allocatedBytes() {
        try {
            Object bean = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
            return (long) Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes")
                    .invoke(bean);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("no per-thread allocation counter in this JVM", e);
        }
    }

    // ---------------------------------------------------------------- ragged batches

    /** A mix of given costs and point clouds, each with its own sizes, ε and marginals. */
    private static List<SinkhornProblem> raggedProblems() {
        List<SinkhornProblem> problems = new ArrayList<>();
        problems.add(SinkhornProblem.ofCost(Tensor.of(new float[] {0.7f}, 1, 1), null, null, 0.01));
        problems.add(SinkhornProblem.ofCost(Tensor.of(randomCost(301, 7 * 19, 1f), 7, 19),
                Tensor.of(randomWeights(302, 1, 7)), Tensor.of(randomWeights(303, 1, 19)), 0.05));
        problems.add(SinkhornProblem.ofPoints(Tensor.of(randomCost(304, 9 * 3, 1f), 9, 3),
                Tensor.of(randomCost(305, 21 * 3, 1f), 21, 3), Metric.SQEUCLIDEAN, null, null, 0.02));
        problems.add(SinkhornProblem.ofPoints(Tensor.of(randomCost(306, 33, 1f), 33, 1),
                Tensor.of(randomCost(307, 2, 1f), 2, 1), Metric.L1, Tensor.of(randomWeights(308, 1, 33)), null, 0.1));
        problems.add(SinkhornProblem.ofCost(Tensor.of(randomCost(309, 64 * 48, 3f), 64, 48), null, null, 0.5));
        problems.add(SinkhornProblem.ofPoints(Tensor.of(randomCost(310, 40 * 2, 1f), 40, 2),
                Tensor.of(randomCost(311, 13 * 2, 1f), 13, 2), Metric.EUCLIDEAN, null, null, 0.03));
        return problems;
    }

    private static SinkhornResult alone(Entrokit ek, SinkhornProblem q, SinkhornOptions o) {
        SinkhornOptions own = o.epsilon(q.epsilon());
        return q.points() ? ek.transport().sinkhorn(q.x(), q.y(), q.metric(), q.a(), q.b(),
                own) : ek.transport().sinkhorn(q.cost(), q.a(), q.b(), own);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void raggedBatchGivesEachProblemsOwnSolve(String backend) {
        Entrokit ek = TestBackends.open(backend);
        List<SinkhornProblem> problems = raggedProblems();
        for (SinkhornOptions o : new SinkhornOptions[] {
                SinkhornOptions.defaults().maxIter(500).tol(1e-6).plan(true).gradients(true),
                SinkhornOptions.defaults().maxIter(80).tol(0).rho(0.7)}) {
            SinkhornResult[] batch = ek.transport().sinkhorn(problems, o);
            assertEquals(problems.size(), batch.length);
            for (int i = 0; i < problems.size(); i++) {
                SinkhornResult one = alone(ek, problems.get(i), o);
                String what = backend + " problem " + i;
                assertEquals(1, batch[i].batch(), what);
                assertEquals(one.n(), batch[i].n(), what);
                assertEquals(one.m(), batch[i].m(), what);
                assertArrayEquals(one.f(), batch[i].f(), what + " f");
                assertArrayEquals(one.g(), batch[i].g(), what + " g");
                assertArrayEquals(one.iterations(), batch[i].iterations(), what + " iterations");
                assertArrayEquals(one.cost(), batch[i].cost(), what + " cost");
                assertArrayEquals(one.objective(), batch[i].objective(), what + " objective");
                assertArrayEquals(one.marginalError(), batch[i].marginalError(), what + " error");
                assertArrayEquals(one.plan(), batch[i].plan(), what + " plan");
                assertArrayEquals(one.gradA(), batch[i].gradA(), what + " gradA");
                assertArrayEquals(one.gradX(), batch[i].gradX(), what + " gradX");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void raggedBatchMatchesTheReferenceIterationForIteration(String backend) {
        Entrokit ek = TestBackends.open(backend);
        List<SinkhornProblem> problems = raggedProblems();
        SinkhornOptions o = SinkhornOptions.defaults().maxIter(37).tol(0);
        SinkhornResult[] batch = ek.transport().sinkhorn(problems, o);
        for (int i = 0; i < problems.size(); i++) {
            SinkhornProblem q = problems.get(i);
            int n = batch[i].n();
            int m = batch[i].m();
            double[] c;
            if (q.points()) {
                int d = (int) q.x().cols();
                c = SinkhornReference.cost(floats(q.x()), floats(q.y()), n, m, d, q.metric());
            } else {
                c = slice(floats(q.cost()), 0, n * m);
            }
            double[] a = q.a() == null ? SinkhornReference.uniform(n) : normalized(slice(floats(q.a()), 0, n));
            double[] b = q.b() == null ? SinkhornReference.uniform(m) : normalized(slice(floats(q.b()), 0, m));
            SinkhornReference ref = new SinkhornReference(c, n, m, a, b, q.epsilon(), 37, Double.POSITIVE_INFINITY);
            String what = backend + " problem " + i;
            potentialsNear(batch[i], ref.f, ref.g, tolerance(backend), what);
            near(batch[i].cost()[0], ref.cost, tolerance(backend), what + " cost");
        }
    }

    private static float[] floats(Tensor t) {
        return t.segment().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void raggedResultsDoNotDependOnTheThreadCount(String backend) {
        TestBackends.open(backend);
        List<SinkhornProblem> problems = raggedProblems();
        SinkhornOptions o = SinkhornOptions.defaults().maxIter(300).tol(1e-5);
        try (Entrokit one = Entrokit.create(backend, 1); Entrokit three = Entrokit.create(backend, 3)) {
            SinkhornResult[] r1 = one.transport().sinkhorn(problems, o);
            SinkhornResult[] r3 = three.transport().sinkhorn(problems, o);
            for (int i = 0; i < problems.size(); i++) {
                assertArrayEquals(r1[i].f(), r3[i].f(), "problem " + i);
                assertArrayEquals(r1[i].g(), r3[i].g(), "problem " + i);
                assertArrayEquals(r1[i].iterations(), r3[i].iterations(), "problem " + i);
            }
        }
        assertEquals(0, TestBackends.instance(backend).transport().sinkhorn(List.of(), o).length, "an empty batch");
    }

    @Test
    void raggedBatchRefusesABadProblemByIndexBeforeAnyWork() {
        Entrokit ek = TestBackends.scalarReference();
        SinkhornOptions o = SinkhornOptions.defaults();
        List<SinkhornProblem> good = raggedProblems();
        expect("problems: must not be null", () -> ek.transport().sinkhorn((List<SinkhornProblem>) null, o));
        expect("options: must not be null", () -> ek.transport().sinkhorn(good, null));
        List<SinkhornProblem> withNull = new ArrayList<>(good);
        withNull.add(2, null);
        expect("problems[2]: must not be null", () -> ek.transport().sinkhorn(withNull, o));
        expect("problems[6].a: weights of problem 6 sum to", () -> ek.transport().sinkhorn(with(good,
                SinkhornProblem.ofCost(
                Tensor.of(new float[6], 2, 3), Tensor.of(new float[] {0.2f, 0.3f}), null, 0.1)), o));
        expect("problems[6].epsilon: must be finite and > 0, got -1.0", () -> ek.transport().sinkhorn(with(good,
                SinkhornProblem.ofCost(Tensor.of(new float[6], 2, 3), null, null, -1)), o));
        expect("problems[6].epsilon: 1.0E-40 is too small for the costs of problem 6 (up to 2.0)",
                () -> ek.transport().sinkhorn(
                with(good, SinkhornProblem.ofCost(Tensor.of(new float[] {0, 2, 1, 0}, 2, 2), null, null, 1e-40)), o));
        expect("problems[6].epsilonStart: must be 0 (no annealing) or finite and >= epsilon",
                () -> ek.transport().sinkhorn(
                with(good, SinkhornProblem.ofCost(Tensor.of(new float[6], 2, 3), null, null, 2)), o.annealing(1, 0.9)));
        expect("problems[6].cost: a problem of a ragged batch is one problem, [n, m], got [2, 3, 1]",
                () -> ek.transport().sinkhorn(
                with(good, SinkhornProblem.ofCost(Tensor.of(new float[6], 2, 3, 1), null, null, 0.1)), o));
        expect("problems[6].cost: give a cost or two point clouds, not both", () -> ek.transport().sinkhorn(with(good,
                new SinkhornProblem(Tensor.of(new float[6], 2, 3), Tensor.of(new float[2], 2, 1), Tensor.of(new float[3], 3, 1),
                        Metric.L1, null, null, 0.1)), o));
        expect("problems[6].x: coordinates must be finite", () -> ek.transport().sinkhorn(with(good,
                SinkhornProblem.ofPoints(
                Tensor.of(new float[] {Float.NaN, 0}, 1, 2), Tensor.of(new float[2], 1, 2), Metric.L1, null, null, 0.1)), o));
        expect("problems[6].metric: must not be null", () -> ek.transport().sinkhorn(with(good,
                SinkhornProblem.ofPoints(
                Tensor.of(new float[2], 1, 2), Tensor.of(new float[2], 1, 2), null, null, null, 0.1)), o));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ek.transport().sinkhorn(with(good, SinkhornProblem.ofCost(Tensor.of(new float[] {-1}, 1, 1),
                        null, null, 1)), o));
        assertNotNull(e.getCause(), "the refusal keeps the check's own exception as its cause");
        assertTrue(e.getMessage().startsWith("problems[6].cost: entries must be finite and >= 0, got -1.0"), e.getMessage());
    }

    private static List<SinkhornProblem> with(List<SinkhornProblem> good, SinkhornProblem bad) {
        List<SinkhornProblem> all = new ArrayList<>(good);
        all.add(bad);
        return all;
    }
}
