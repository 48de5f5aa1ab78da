package dev.entrokit;

/**
 * The tests' oracle map: the float64 value and student gradient of every {@link Loss}, from the
 * definitions ({@link Float64Oracle}, {@link ScoringOracle}) and never from the kernels. The switches
 * are exhaustive, so a constant added to {@link Loss} without an oracle does not compile;
 * {@code LossOracleCoverageTest} checks every constant against the scalar backend through the op table.
 */
final class LossOracles {
    private LossOracles() {
    }

    /**
     * What the oracle reads of a {@link LossOptions}, in float64: tests pass temperatures and parameters
     * that are not floats too, and the oracle takes them as given.
     */
    record Args(double temperature, double beta, double alpha, int ignoreIndex, double labelSmoothing) {
        static Args of(LossOptions o) {
            return new Args(o.temperature(), o.beta(), o.alpha(), o.ignoreIndex(), o.labelSmoothing());
        }

        /** Temperature {@code t}, JSD's {@code beta}; the other fields at their defaults. */
        static Args of(double t, double beta) {
            return new Args(t, beta, LossOptions.DEFAULT_ALPHA, LossOptions.DEFAULT_IGNORE_INDEX, 0);
        }
    }

    /**
     * One row's loss. {@code teacher} is ignored by the losses that read none and {@code label} by the ones
     * that read no labels; the parameter comes from {@code o} as {@link Loss#parameter()} says.
     */
    static double forward(Loss op, double[] teacher, double[] student, int label, Args o) {
        double t = o.temperature();
        return switch (op) {
            case ENTROPY -> Float64Oracle.entropy(student, t);
            case CROSS_ENTROPY -> Float64Oracle.crossEntropy(teacher, student, t);
            case CROSS_ENTROPY_LABELS -> Float64Oracle.crossEntropyLabelRow(student, label, o.ignoreIndex(),
                    o.labelSmoothing(), t);
            case KL -> Float64Oracle.kl(teacher, student, t);
            case RKL -> Float64Oracle.rkl(teacher, student, t);
            case JSD -> Float64Oracle.jsd(teacher, student, o.beta(), t);
            case JEFFREYS -> Float64Oracle.jeffreys(teacher, student, t);
            case TV -> Float64Oracle.tv(teacher, student, t);
            case HELLINGER -> Float64Oracle.hellinger(teacher, student, t);
            case ALPHA -> ScoringOracle.amari(teacher, student, o.alpha(), t);
            case RENYI -> ScoringOracle.renyi(teacher, student, o.alpha(), t);
            case CHI2 -> ScoringOracle.chi2(teacher, student, t);
            case PLD -> label == o.ignoreIndex() ? 0 : ScoringOracle.pld(teacher, student, label, t);
        };
    }

    /**
     * The gradient of {@code g ·} the row loss w.r.t. the student logits: the closed form where the oracle
     * has one, else central differences of {@link #forward} (the α-family, χ², PLD); null where the loss
     * has no gradient.
     */
    static double[] gradient(Loss op, double[] teacher, double[] student, int label, Args o, double g) {
        double t = o.temperature();
        return switch (op) {
            case ENTROPY -> Float64Oracle.entropyGrad(student, t, g);
            case CROSS_ENTROPY, KL -> Float64Oracle.qMinusPGrad(teacher, student, t, g);
            case CROSS_ENTROPY_LABELS -> Float64Oracle.crossEntropyLabelGrad(student, label, o.ignoreIndex(),
                    o.labelSmoothing(), t, g);
            case RKL -> Float64Oracle.rklGrad(teacher, student, t, g);
            case JSD -> Float64Oracle.jsdGrad(teacher, student, o.beta(), t, g);
            case JEFFREYS -> Float64Oracle.jeffreysGrad(teacher, student, t, g);
            case TV, HELLINGER -> null;
            case ALPHA, RENYI, CHI2, PLD -> CentralDifferences.scale(CentralDifferences.gradient(
                    x -> forward(op, teacher, x, label, o), student), g);
        };
    }
}
