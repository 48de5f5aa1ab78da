package dev.entrokit;

/**
 * The SPEC §1 teacher/student ops, each a {@link Loss} of the op table run through {@link Entrokit#loss}
 * and checked against its {@link LossOracles} entry, so one test body can cover all of them. JSD carries
 * its β in the options. {@code LossOracleCoverageTest} fails when a SPEC §1 pair loss of {@link Loss} has
 * no constant here.
 */
public enum PairOp {
    CROSS_ENTROPY(Loss.CROSS_ENTROPY),
    KL(Loss.KL),
    RKL(Loss.RKL),
    JSD(Loss.JSD),
    JEFFREYS(Loss.JEFFREYS),
    TV(Loss.TV),
    HELLINGER(Loss.HELLINGER);

    private final Loss loss;

    PairOp(Loss loss) {
        this.loss = loss;
    }

    /** The op table's constant. */
    public Loss loss() {
        return loss;
    }

    /** Whether the library offers a student gradient for this op. */
    public boolean hasGrad() {
        return loss.hasGradient();
    }

    /** Runs the op on {@code ek}; {@code grad} is ignored for ops without a gradient. */
    public double run(Entrokit ek, Tensor teacher, Tensor student, LossOptions o, Tensor rowLoss, Tensor grad) {
        return ek.loss(loss, teacher, student, null, o, rowLoss, hasGrad() ? grad : null);
    }

    /** The float64 row loss. */
    public double oracle(double[] t, double[] s, double temperature, double beta) {
        return LossOracles.forward(loss, t, s, 0, LossOracles.Args.of(temperature, beta));
    }

    /** The float64 gradient of {@code g ·} row loss w.r.t. the student logits. */
    public double[] oracleGrad(double[] t, double[] s, double temperature, double beta, double g) {
        if (!hasGrad()) {
            throw new UnsupportedOperationException(name() + " has no gradient");
        }
        return LossOracles.gradient(loss, t, s, 0, LossOracles.Args.of(temperature, beta), g);
    }
}
