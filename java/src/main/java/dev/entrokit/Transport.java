package dev.entrokit;

import static dev.entrokit.TransportDriver.shareable;

import java.util.List;

/**
 * Batched entropic optimal transport (SPEC §3): log-domain Sinkhorn on given costs or between point clouds,
 * ragged batches of problems of their own sizes and ε, the debiased Sinkhorn divergence, and the SinKD
 * distillation loss. Every argument is checked before any work (shapes, finite non-negative costs, finite
 * points, marginals, an ε that float64 resolves against the costs); problems are then spread over the
 * instance's threads, one per task, so no result depends on the thread count.
 *
 * <p>Obtained from an instance, {@code ek.transport()}: each {@link Entrokit} has one, made with it, which
 * runs on that instance's backend and row pool. Thread-safe as the instance is. Its lifetime is the
 * instance's: once a {@link Entrokit#create created} instance is {@link Entrokit#close() closed}, every op
 * here throws the same {@code IllegalStateException("entrokit: closed")} as the instance's own ops; the
 * view of the shared {@link Entrokit#get()} instance always works.
 */
public final class Transport {
    private final Engine engine;

    Transport(Engine engine) {
        this.engine = engine;
    }

    /**
     * Batched log-domain Sinkhorn on given costs: {@code B} independent problems, each stopping on its
     * own (see {@link SinkhornOptions}). Problems are spread over this instance's threads; the result
     * does not depend on how many.
     *
     * @param cost {@code [B, n, m]} float32 costs, finite and {@code ≥ 0}; {@code [n, m]} is one problem
     * @param a    {@code [B, n]} (or {@code [n]}) positive weights, each problem's summing to 1 when
     *             balanced; null for uniform
     * @param b    {@code [B, m]} (or {@code [m]}) the same for the columns; null for uniform
     */
    public SinkhornResult sinkhorn(Tensor cost, Tensor a, Tensor b, SinkhornOptions options) {
        engine.checkOpen();
        boolean shareable = shareable("cost", cost) & shareable("a", a) & shareable("b", b);
        return TransportDriver.solve(engine.backend.transport(), engine.rows, TransportDriver.ofCost(cost, a, b),
                options, shareable);
    }

    /**
     * Batched Sinkhorn between point clouds, the cost computed from the points ({@link Metric}); with
     * gradients asked for, {@link SinkhornResult#gradX()} and {@link SinkhornResult#gradY()} too.
     *
     * @param x {@code [B, n, d]} (or {@code [n, d]}) finite float32 points
     * @param y {@code [B, m, d]} (or {@code [m, d]})
     */
    public SinkhornResult sinkhorn(Tensor x, Tensor y, Metric metric, Tensor a, Tensor b, SinkhornOptions options) {
        engine.checkOpen();
        boolean shareable = shareable("x", x) & shareable("y", y) & shareable("a", a) & shareable("b", b);
        return TransportDriver.solve(engine.backend.transport(), engine.rows, TransportDriver.ofPoints(x, y, metric, a, b),
                options, shareable);
    }

    /**
     * A ragged batch of Sinkhorn problems in one call: each {@link SinkhornProblem} has its own
     * {@code n × m}, its own ε (which replaces {@code options.epsilon()}) and either a given cost or
     * two point clouds; the other options apply to every problem. Every problem is checked before any
     * runs (a refusal names it, e.g. {@code problems[3].a: ...}); the problems are then spread over
     * this instance's threads, one per task, and each result is what
     * {@link #sinkhorn(Tensor, Tensor, Tensor, SinkhornOptions)} (or the point-cloud overload) gives
     * for that problem alone with that ε, whatever the thread count.
     *
     * @return one result per problem, in order, each of batch 1
     */
    public SinkhornResult[] sinkhorn(List<SinkhornProblem> problems, SinkhornOptions options) {
        engine.checkOpen();
        return TransportDriver.solveRagged(engine.backend.transport(), engine.rows, problems, options);
    }

    /**
     * The debiased Sinkhorn divergence {@code S = OT(a,b) − ½ OT(a,a) − ½ OT(b,b)} of each problem, OT
     * being {@link SinkhornResult#objective()}; three solves per problem.
     */
    public double[] sinkhornDivergence(Tensor x, Tensor y, Metric metric, Tensor a, Tensor b, SinkhornOptions options) {
        engine.checkOpen();
        boolean shareable = shareable("x", x) & shareable("y", y) & shareable("a", a) & shareable("b", b);
        return TransportDriver.divergence(engine.backend.transport(), engine.rows, x, y, metric, a, b, options,
                shareable);
    }

    /**
     * SinKD's batch-wise distillation loss {@code Σ P ⊙ W} (see {@link SinkdOptions}) over {@code [B, V]}
     * teacher and student logits. The paper's code scales it by 0.001; that weight is the caller's.
     * SinKD couples the rows: every plan entry depends on every row through the normalizations, so a
     * NaN row (a NaN or {@code +inf} logit, or only {@code -inf} ones) in either tensor makes the loss
     * NaN and the whole gradient NaN, in both domains. Sizes whose {@code B × B} workspace (and, with
     * the gradient, the scalings of every iteration) cannot be allocated are refused before any work.
     *
     * @param grad {@code [B, V]} float32 for {@code ∂loss/∂student}, or null
     */
    public double sinkd(Tensor teacher, Tensor student, SinkdOptions options, Tensor grad) {
        engine.checkOpen();
        // SinKD copies its inputs on this thread before any check of its own: dead memory is refused by name here.
        shareable("teacher", teacher);
        shareable("student", student);
        shareable("grad", grad);
        return TransportDriver.sinkd(engine.backend.transport(), engine.rows, teacher, student, options, grad);
    }
}
