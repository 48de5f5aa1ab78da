package dev.entrokit;

/** What one loss call produced: the returned (reduced) value, the per-row losses and the gradient. */
public record Run(double value, float[] rowLoss, float[] grad) {

    /** Runs {@code op} with per-row losses and (where the op has one) a gradient, on contiguous tensors. */
    public static Run pair(Entrokit ek, PairOp op, float[] teacher, float[] student, int rows, int v, LossOptions o) {
        float[] rowLoss = new float[rows];
        float[] grad = op.hasGrad() ? new float[rows * v] : null;
        double value = op.run(ek, Tensor.of(teacher, rows, v), Tensor.of(student, rows, v), o, Tensor.of(rowLoss),
                grad == null ? null : Tensor.of(grad, rows, v));
        return new Run(value, rowLoss, grad);
    }

    /** Entropy with per-row values and gradient. */
    public static Run entropy(Entrokit ek, float[] logits, int rows, int v, LossOptions o) {
        float[] rowLoss = new float[rows];
        float[] grad = new float[rows * v];
        double value = ek.entropy(Tensor.of(logits, rows, v), o, Tensor.of(rowLoss), Tensor.of(grad, rows, v));
        return new Run(value, rowLoss, grad);
    }

    /** Hard-label cross-entropy with per-row values and gradient. */
    public static Run labels(Entrokit ek, int[] labels, float[] student, int rows, int v, LossOptions o) {
        float[] rowLoss = new float[rows];
        float[] grad = new float[rows * v];
        double value = ek.crossEntropyLabels(Tensor.of(labels), Tensor.of(student, rows, v), o, Tensor.of(rowLoss),
                Tensor.of(grad, rows, v));
        return new Run(value, rowLoss, grad);
    }
}
