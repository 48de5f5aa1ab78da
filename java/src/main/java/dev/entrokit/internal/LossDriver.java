package dev.entrokit.internal;

import dev.entrokit.DType;
import dev.entrokit.Loss;
import dev.entrokit.LossOptions;
import dev.entrokit.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Runs every per-row loss of the host API over a backend's kernels: checks the arguments (through
 * {@link Checks}), derives each row's upstream gradient from the reduction, runs one kernel call per
 * row, then reduces the row values in row order on the caller (so the result does not depend on the
 * thread count).
 *
 * <p>Labels and {@code ignoreIndex}: an ignored row gets loss 0 and a zero-filled gradient and leaves
 * the {@code MEAN}. Endpoints where a loss's formula is 0/0 run the limit's own kernel: JSD β = 0/1
 * are {@code kl}/{@code rkl}, Amari α = 0/1 are {@code rkl}/{@code kl}, Rényi α = 1 is {@code kl}.
 */
public final class LossDriver {
    /** The losses whose kernels have typed methods ({@link DivergenceKernels#kl(DType, MemorySegment, long, MemorySegment, long, int, float, MemorySegment, long, float)} …). */
    private static final Set<Loss> READS_PAIR_TYPED = EnumSet.of(Loss.CROSS_ENTROPY, Loss.KL, Loss.RKL, Loss.JSD,
            Loss.JEFFREYS);
    private final SoftmaxKernels softmax;
    private final DivergenceKernels divergences;
    private final RowExecutor rows;
    private final Supplier<HalfKernels> half;

    /** A driver over one backend's kernels, spreading rows over {@code rows}. */
    public LossDriver(SoftmaxKernels softmax, DivergenceKernels divergences, RowExecutor rows, Supplier<HalfKernels> half) {
        this.softmax = softmax;
        this.divergences = divergences;
        this.rows = rows;
        this.half = half;
    }

    /**
     * Checks the arguments of {@code op}, runs it row by row and returns the reduced loss (for
     * {@code NONE}, the sum of the rows).
     *
     * @param teacher null for the losses that read none (entropy, hard-label cross-entropy)
     * @param labels  null unless {@code op} reads labels
     * @param options with the op's {@link Loss#parameter()} (β of JSD, α of the α-family)
     * @param rowLoss per-row values, or null unless the reduction is {@code NONE}
     * @param grad    gradient w.r.t. {@code student}, or null
     */
    public double run(Loss op, Tensor teacher, Tensor student, Tensor labels, LossOptions options, Tensor rowLoss,
                      Tensor grad) {
        boolean shareable = Checks.loss(op, rows.threads(), teacher, student, labels, options, rowLoss, grad);
        int n = (int) student.cols();
        int nRows = (int) student.rows();
        int counted = nRows;
        if (labels != null) {
            counted = 0;
            for (int r = 0; r < nRows; r++) {
                counted += labels.getInt(r) == options.ignoreIndex() ? 0 : 1;
            }
        }
        double perRowGrad = switch (options.reduction()) {
            case NONE, SUM -> options.gradScale();
            case MEAN -> counted == 0 ? 0 : (double) options.gradScale() / counted;
            case BATCHMEAN -> nRows == 0 ? 0 : (double) options.gradScale() / nRows;
        };
        float g = (float) perRowGrad;
        float invT = 1f / options.temperature();
        float beta = options.beta();
        float alpha = options.alpha();
        double[] values = new double[nRows];
        // Half rows are widened per thread and a half gradient is narrowed once at the store (HalfRows), except a pair
        // that the divergence kernels read in registers (HalfRows.pairInRegister): those get the tensors' own rows.
        DType pair = READS_PAIR_TYPED.contains(op) ? HalfRows.pairInRegister(teacher, student) : null;
        DType type = pair != null ? pair : DType.F32;
        HalfRows.Rows sx = pair != null ? null : HalfRows.of(student, 0, half);
        HalfRows.Rows tx = pair != null ? null : HalfRows.of(teacher, 1, half);
        HalfRows.Rows gx = HalfRows.of(grad, 2, half);
        // An entropy without a gradient reads a half row in registers (HalfRows.softmaxInRegister says which rows).
        HalfKernels hk = op == Loss.ENTROPY && grad == null ? HalfRows.softmaxInRegister(student, half) : null;
        RowExecutor.RowTask task = r -> {
            if (hk != null) {
                values[r] = hk.entropy(student.dtype(), student.segment(), student.index(r, 0), n, invT);
                return;
            }
            if (labels != null && labels.getInt(r) == options.ignoreIndex()) {
                if (grad != null) {
                    HalfRows.zero(grad, r);
                }
                values[r] = 0; // an ignored row: loss 0, gradient 0, and it leaves the MEAN
                return;
            }
            MemorySegment s = sx == null ? student.segment() : sx.read(r);
            long sOff = sx == null ? student.index(r, 0) : sx.at(r);
            MemorySegment t = tx != null ? tx.read(r) : teacher != null ? teacher.segment() : null;
            long tOff = tx != null ? tx.at(r) : teacher != null ? teacher.index(r, 0) : 0;
            MemorySegment gs = gx == null ? null : gx.write(r);
            long gOff = gx == null ? 0 : gx.at(r);
            values[r] = switch (op) {
                case ENTROPY -> softmax.entropy(s, sOff, n, invT, gs, gOff, g);
                case CROSS_ENTROPY -> divergences.crossEntropy(type, t, tOff, s, sOff, n, invT, gs, gOff, g);
                case CROSS_ENTROPY_LABELS ->
                        divergences.crossEntropyLabel(s, sOff, n, labels.getInt(r), options.labelSmoothing(), invT, gs, gOff, g);
                case KL -> divergences.kl(type, t, tOff, s, sOff, n, invT, gs, gOff, g);
                case RKL -> divergences.rkl(type, t, tOff, s, sOff, n, invT, gs, gOff, g);
                case JSD -> {
                    // Liger/TRL convention: the endpoints are the two KLs, not the formula's limit 0.
                    if (beta == 0f) {
                        yield divergences.kl(type, t, tOff, s, sOff, n, invT, gs, gOff, g);
                    } else if (beta == 1f) {
                        yield divergences.rkl(type, t, tOff, s, sOff, n, invT, gs, gOff, g);
                    }
                    yield divergences.jsd(type, t, tOff, s, sOff, n, invT, beta, gs, gOff, g);
                }
                case JEFFREYS -> divergences.jeffreys(type, t, tOff, s, sOff, n, invT, gs, gOff, g);
                case TV -> divergences.tv(t, tOff, s, sOff, n, invT);
                case HELLINGER -> divergences.hellinger(t, tOff, s, sOff, n, invT);
                // The α-family's limits are the KL kernels themselves: the formula is 0/0 there.
                case ALPHA -> alpha == 0f ? divergences.rkl(t, tOff, s, sOff, n, invT, gs, gOff, g)
                        : alpha == 1f ? divergences.kl(t, tOff, s, sOff, n, invT, gs, gOff, g)
                        : divergences.alphaDivergence(t, tOff, s, sOff, n, invT, alpha, gs, gOff, g);
                case RENYI -> alpha == 1f ? divergences.kl(t, tOff, s, sOff, n, invT, gs, gOff, g)
                        : divergences.renyi(t, tOff, s, sOff, n, invT, alpha, gs, gOff, g);
                case CHI2 -> divergences.chi2(t, tOff, s, sOff, n, invT, gs, gOff, g);
                case PLD -> divergences.pld(t, tOff, s, sOff, n, labels.getInt(r), invT, gs, gOff, g);
            };
            if (gx != null) {
                gx.store(r);
            }
        };
        rows.forEachRow(nRows, n, shareable, task);
        double sum = 0;
        for (int r = 0; r < nRows; r++) {
            sum += values[r];
            if (rowLoss != null) {
                rowLoss.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, rowLoss.index(r), (float) values[r]);
            }
        }
        return switch (options.reduction()) {
            case NONE, SUM -> sum;
            case MEAN -> sum / counted;
            case BATCHMEAN -> sum / nRows;
        };
    }
}
