package dev.entrokit;

/**
 * Settings of the SinKD batch distillation loss (SPEC §3): student and teacher rows become
 * {@code softmax(logits/T)}, the cost is the {@code B × B} matrix of L1 distances between them, and
 * the loss is {@code Σ P ⊙ W} after {@code iterations} Sinkhorn steps at {@code ε}.
 *
 * @param temperature {@code T > 0}; the paper uses 2
 * @param epsilon     {@code ε}; the paper uses 0.1. At least 0.005, so that {@code exp(−W/ε)} (with
 *                    {@code W ≤ 2}) stays a normal double in the gradient
 * @param iterations  row/column normalizations; the paper uses 20. The loss keeps {@code O(B²)}
 *                    memory whatever the count; the gradient keeps every iteration's scalings
 *                    ({@code 16·B} bytes each), and counts beyond the heap are refused
 * @param logDomain   false: the paper's plain normalizations of {@code K = exp(−W/ε)}, in float64;
 *                    true: the same iterations through the backend's log-domain Sinkhorn solver
 *                    (uniform marginals, so its plan is scaled by {@code B} to the paper's all-ones ones)
 */
public record SinkdOptions(float temperature, double epsilon, int iterations, boolean logDomain) {

    /** Validates every field; the message names the field and the value. */
    public SinkdOptions {
        LossOptions.checkTemperature(temperature);
        if (!(epsilon >= 0.005) || Double.isInfinite(epsilon)) {
            throw new IllegalArgumentException("epsilon: must be finite and >= 0.005, got " + epsilon);
        }
        if (iterations < 0) {
            throw new IllegalArgumentException("iterations: must be >= 0, got " + iterations);
        }
    }

    /** The paper's settings: T = 2, ε = 0.1, 20 iterations, plain domain. */
    public static SinkdOptions defaults() {
        return new SinkdOptions(2f, 0.1, 20, false);
    }

    /** A copy with another temperature. */
    public SinkdOptions temperature(float t) {
        return new SinkdOptions(t, epsilon, iterations, logDomain);
    }

    /** A copy with another ε. */
    public SinkdOptions epsilon(double e) {
        return new SinkdOptions(temperature, e, iterations, logDomain);
    }

    /** A copy with another number of iterations. */
    public SinkdOptions iterations(int k) {
        return new SinkdOptions(temperature, epsilon, k, logDomain);
    }

    /** A copy that runs the plain-domain iterations (false) or the log-domain solver (true). */
    public SinkdOptions logDomain(boolean l) {
        return new SinkdOptions(temperature, epsilon, iterations, l);
    }
}
