package dev.entrokit;

/**
 * The teacher/student ops of SPEC §1, each with its library call and its {@link Float64Oracle} forward
 * value and student gradient, so one test body can cover all of them. JSD carries its β in the options.
 */
public enum PairOp {
    CROSS_ENTROPY(true),
    KL(true),
    RKL(true),
    JSD(true),
    JEFFREYS(true),
    TV(false),
    HELLINGER(false);

    private final boolean hasGrad;

    PairOp(boolean hasGrad) {
        this.hasGrad = hasGrad;
    }

    /** Whether the library offers a student gradient for this op. */
    public boolean hasGrad() {
        return hasGrad;
    }

    /** Runs the op on {@code ek}; {@code grad} is ignored for ops without a gradient. */
    public double run(Entrokit ek, Tensor teacher, Tensor student, LossOptions o, Tensor rowLoss, Tensor grad) {
        return switch (this) {
            case CROSS_ENTROPY -> ek.crossEntropy(teacher, student, o, rowLoss, grad);
            case KL -> ek.kl(teacher, student, o, rowLoss, grad);
            case RKL -> ek.rkl(teacher, student, o, rowLoss, grad);
            case JSD -> ek.jsd(teacher, student, o, rowLoss, grad);
            case JEFFREYS -> ek.jeffreys(teacher, student, o, rowLoss, grad);
            case TV -> ek.tv(teacher, student, o, rowLoss);
            case HELLINGER -> ek.hellinger(teacher, student, o, rowLoss);
        };
    }

    /** The float64 row loss. */
    public double oracle(double[] t, double[] s, double temperature, double beta) {
        return switch (this) {
            case CROSS_ENTROPY -> Float64Oracle.crossEntropy(t, s, temperature);
            case KL -> Float64Oracle.kl(t, s, temperature);
            case RKL -> Float64Oracle.rkl(t, s, temperature);
            case JSD -> Float64Oracle.jsd(t, s, beta, temperature);
            case JEFFREYS -> Float64Oracle.jeffreys(t, s, temperature);
            case TV -> Float64Oracle.tv(t, s, temperature);
            case HELLINGER -> Float64Oracle.hellinger(t, s, temperature);
        };
    }

    /** The float64 gradient of {@code g ·} row loss w.r.t. the student logits. */
    public double[] oracleGrad(double[] t, double[] s, double temperature, double beta, double g) {
        return switch (this) {
            case CROSS_ENTROPY, KL -> Float64Oracle.qMinusPGrad(t, s, temperature, g);
            case RKL -> Float64Oracle.rklGrad(t, s, temperature, g);
            case JSD -> Float64Oracle.jsdGrad(t, s, beta, temperature, g);
            case JEFFREYS -> Float64Oracle.jeffreysGrad(t, s, temperature, g);
            case TV, HELLINGER -> throw new UnsupportedOperationException(name() + " has no gradient");
        };
    }
}
