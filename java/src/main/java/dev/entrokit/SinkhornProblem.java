package dev.entrokit;

/**
 * One problem of a ragged Sinkhorn batch ({@link Transport#sinkhorn(java.util.List, SinkhornOptions)}):
 * its own sizes {@code n × m}, its own ε, and either a given cost or two point clouds. Build it with
 * {@link #ofCost} or {@link #ofPoints}; the solver checks it (and names it by its index) before any
 * problem of the batch runs.
 *
 * @param cost    {@code [n, m]} float32 costs, finite and {@code ≥ 0}; null for point clouds
 * @param x       {@code [n, d]} finite float32 points; null for a given cost
 * @param y       {@code [m, d]} finite float32 points; null for a given cost
 * @param metric  the ground cost between points; null for a given cost
 * @param a       {@code [n]} positive weights (summing to 1 when balanced), or null for uniform
 * @param b       {@code [m]} the same for the columns, or null for uniform
 * @param epsilon this problem's regularization ε, which replaces {@link SinkhornOptions#epsilon()}
 *                (the batch's other settings apply to every problem)
 */
public record SinkhornProblem(Tensor cost, Tensor x, Tensor y, Metric metric, Tensor a, Tensor b, double epsilon) {

    /** A problem on a given {@code [n, m]} cost, with marginals (null: uniform) and its ε. */
    public static SinkhornProblem ofCost(Tensor cost, Tensor a, Tensor b, double epsilon) {
        return new SinkhornProblem(cost, null, null, null, a, b, epsilon);
    }

    /** A problem between point clouds {@code x [n, d]} and {@code y [m, d]}, with marginals (null: uniform) and its ε. */
    public static SinkhornProblem ofPoints(Tensor x, Tensor y, Metric metric, Tensor a, Tensor b, double epsilon) {
        return new SinkhornProblem(null, x, y, metric, a, b, epsilon);
    }

    /** Whether the cost comes from point clouds (no cost tensor). */
    public boolean points() {
        return cost == null;
    }
}
