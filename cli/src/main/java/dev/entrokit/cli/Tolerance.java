package dev.entrokit.cli;

/**
 * The SPEC §5 tolerance an output is held to when {@code demo} compares a backend with the scalar
 * reference. Kept beside the op table so a new output states its tolerance where it is declared.
 */
public enum Tolerance {
    /** Probabilities and gradients: {@code |out − ref| ≤ 1e-6 + 1e-5·|ref|}. */
    ABS_REL {
        @Override
        public double allowed(double ref) {
            return 1e-6 + 1e-5 * Math.abs(ref);
        }
    },
    /** Indices, tokens, masks and selected logits: exact (SPEC §5, away from near-threshold sums). */
    EXACT {
        @Override
        public double allowed(double ref) {
            return 0;
        }
    },
    /** Sinkhorn costs, potentials and plans: {@code |out − ref| ≤ 1e-4·max(1, |ref|)} (SPEC §5). */
    TRANSPORT {
        @Override
        public double allowed(double ref) {
            return 1e-4 * Math.max(1, Math.abs(ref));
        }
    },
    /** Log-probabilities, logsumexp and per-row losses: {@code |out − ref| ≤ 1e-5·max(1, |ref|)}. */
    SCALED {
        @Override
        public double allowed(double ref) {
            return 1e-5 * Math.max(1, Math.abs(ref));
        }
    };

    /** The largest difference allowed from reference value {@code ref}. */
    public abstract double allowed(double ref);

    /**
     * Whether {@code out} matches {@code ref}: NaN matches NaN, an infinity matches the same infinity,
     * anything else must lie within {@link #allowed}.
     */
    public boolean accepts(double out, double ref) {
        if (Double.isNaN(out) || Double.isNaN(ref) || Double.isInfinite(out) || Double.isInfinite(ref)) {
            return Double.compare(out, ref) == 0;
        }
        return Math.abs(out - ref) <= allowed(ref);
    }
}
