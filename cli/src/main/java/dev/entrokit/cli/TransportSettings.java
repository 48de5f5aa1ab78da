package dev.entrokit.cli;

import dev.entrokit.Metric;
import dev.entrokit.SinkdOptions;
import dev.entrokit.SinkhornOptions;

/**
 * The {@code --set}s of the transport ops ({@code sinkhorn}, {@code sinkhorn_divergence}, {@code sinkd}),
 * each checked by the library's own option records as it is set. {@code epsilon} and {@code max_iter}
 * are null until set: their defaults differ between Sinkhorn (0.05, 1000) and SinKD (0.1, 20).
 */
record TransportSettings(Double epsilon, Integer maxIter, double tol, double rho, double epsilonStart,
                         double epsilonDecay, boolean plan, Metric metric, boolean logDomain) {
    static final TransportSettings DEFAULTS = new TransportSettings(null, null, 1e-9, Double.POSITIVE_INFINITY, 0, 0.9,
            false, Metric.SQEUCLIDEAN, false);

    /** The solver options these settings give. */
    SinkhornOptions sinkhorn() {
        SinkhornOptions d = SinkhornOptions.defaults();
        return new SinkhornOptions(epsilon != null ? epsilon : d.epsilon(), maxIter != null ? maxIter : d.maxIter(), tol,
                d.checkEvery(), rho, epsilonStart, epsilonDecay, plan, false);
    }

    /** SinKD's options: the paper's unless set; {@code temperature} only when the user gave one. */
    SinkdOptions sinkd(Float temperature) {
        SinkdOptions d = SinkdOptions.defaults();
        return new SinkdOptions(temperature != null ? temperature : d.temperature(), epsilon != null ? epsilon : d.epsilon(),
                maxIter != null ? maxIter : d.iterations(), logDomain);
    }

    TransportSettings withEpsilon(double v) {
        SinkhornOptions.defaults().epsilon(v);
        return new TransportSettings(v, maxIter, tol, rho, epsilonStart, epsilonDecay, plan, metric, logDomain);
    }

    TransportSettings withMaxIter(int v) {
        SinkhornOptions.defaults().maxIter(v);
        return new TransportSettings(epsilon, v, tol, rho, epsilonStart, epsilonDecay, plan, metric, logDomain);
    }

    TransportSettings withTol(double v) {
        SinkhornOptions.defaults().tol(v);
        return new TransportSettings(epsilon, maxIter, v, rho, epsilonStart, epsilonDecay, plan, metric, logDomain);
    }

    TransportSettings withRho(double v) {
        SinkhornOptions.defaults().rho(v);
        return new TransportSettings(epsilon, maxIter, tol, v, epsilonStart, epsilonDecay, plan, metric, logDomain);
    }

    /** ε-annealing start (checked against ε when the options are built, since either may come first). */
    TransportSettings withEpsilonStart(double v) {
        return new TransportSettings(epsilon, maxIter, tol, rho, v, epsilonDecay, plan, metric, logDomain);
    }

    TransportSettings withEpsilonDecay(double v) {
        SinkhornOptions.defaults().annealing(0, v);
        return new TransportSettings(epsilon, maxIter, tol, rho, epsilonStart, v, plan, metric, logDomain);
    }

    TransportSettings withPlan(boolean v) {
        return new TransportSettings(epsilon, maxIter, tol, rho, epsilonStart, epsilonDecay, v, metric, logDomain);
    }

    TransportSettings withMetric(Metric v) {
        return new TransportSettings(epsilon, maxIter, tol, rho, epsilonStart, epsilonDecay, plan, v, logDomain);
    }

    TransportSettings withLogDomain(boolean v) {
        return new TransportSettings(epsilon, maxIter, tol, rho, epsilonStart, epsilonDecay, plan, metric, v);
    }
}
