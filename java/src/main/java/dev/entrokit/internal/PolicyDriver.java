package dev.entrokit.internal;

import dev.entrokit.CrossEntropyOptions;
import dev.entrokit.LossOptions;
import dev.entrokit.SparseDivergence;
import dev.entrokit.TeacherMass;
import dev.entrokit.Tensor;
import dev.entrokit.internal.scalar.SparseBuckets;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

/**
 * Runs the policy losses (token log-probability, entropy, k3) and the sparse-teacher divergences over a
 * backend's {@link PolicyKernels}: checks through {@link Checks}, one kernel call per row on the row pool,
 * then the reduction in row order on the caller (so the result does not depend on the thread count).
 * Ignored rows ({@code ignoreIndex}) give 0 in every output and a zero gradient.
 */
public final class PolicyDriver {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Per-thread room for a row's three values, so that a row allocates nothing. */
    private static final ThreadLocal<double[]> OUT = ThreadLocal.withInitial(() -> new double[3]);

    /** What {@link Checks#sparseTeacher} found: ids per row, rows that take part, and whether threads may share. */
    public record SparseShape(int k, long counted, boolean shareable) {
    }

    private final PolicyKernels kernels;
    private final RowExecutor rows;
    private final java.util.function.Supplier<HalfKernels> half;

    /** A driver over one backend's kernels, spreading rows over {@code rows}; half rows widened by the scalar loops. */
    public PolicyDriver(PolicyKernels kernels, RowExecutor rows) {
        this(kernels, rows, () -> dev.entrokit.internal.scalar.ScalarHalfKernels.INSTANCE);
    }

    /**
     * As {@link #PolicyDriver(PolicyKernels, RowExecutor)}, half rows widened and narrowed by {@code half.get()} (the
     * backend's, e.g. {@code backend::half}: asked per call, and only for a half tensor; see {@link HalfRows#of}).
     */
    public PolicyDriver(PolicyKernels kernels, RowExecutor rows, java.util.function.Supplier<HalfKernels> half) {
        this.kernels = kernels;
        this.rows = rows;
        this.half = half;
    }

    /**
     * Per token {@code ℓ}, {@code H} and (with {@code refLogprobs}) {@code k3}; the gradient of
     * {@code J = gradScale·Σ_t (w_t ℓ_t + c_t H_t + κ_t k3_t)}; returns {@code J / gradScale}, the sum. A null
     * weight tensor stands for {@code defaultK3Weight} (κ) or 0 (w, c) in every row.
     */
    public double logprobEntropy(Tensor logits, Tensor ids, Tensor refLogprobs, LossOptions options, Tensor logprobs,
                                 Tensor entropy, Tensor k3, Tensor wLogprob, Tensor wEntropy, Tensor wK3,
                                 float defaultK3Weight, Tensor grad) {
        boolean shareable = Checks.policy(logits, ids, refLogprobs, options,
                Arrays.asList("logprobs", "entropy", "kl"), Arrays.asList(logprobs, entropy, k3),
                List.of("logprobWeights", "entropyWeights", "weights"), Arrays.asList(wLogprob, wEntropy, wK3), grad);
        int n = (int) logits.cols();
        int nRows = (int) logits.rows();
        float invT = 1f / options.temperature();
        double g = options.gradScale();
        double[] values = new double[nRows];
        HalfRows.Rows lx = HalfRows.of(logits, 0, half);
        HalfRows.Rows gx = HalfRows.of(grad, 2, half);
        rows.forEachRow(nRows, n, shareable, r -> {
            int id = ids.getInt(r);
            if (id == options.ignoreIndex()) {
                if (grad != null) {
                    HalfRows.zero(grad, r);
                }
                write(logprobs, r, 0);
                write(entropy, r, 0);
                write(k3, r, 0);
                values[r] = 0;
                return;
            }
            double wl = weight(wLogprob, r, 0);
            double wh = weight(wEntropy, r, 0);
            double wk = refLogprobs == null ? 0 : weight(wK3, r, defaultK3Weight);
            double ref = refLogprobs == null ? Double.NaN : refLogprobs.getFloat(r);
            double[] out = OUT.get();
            MemorySegment gs = gx == null ? null : gx.write(r);
            kernels.logprobEntropy(lx.read(r), lx.at(r), n, id, invT, ref, out, gs, gx == null ? 0 : gx.at(r), wl * g,
                    wh * g, wk * g);
            if (gx != null) {
                gx.store(r);
            }
            write(logprobs, r, out[0]);
            write(entropy, r, out[1]);
            write(k3, r, out[2]);
            values[r] = term(wl, out[0]) + term(wh, out[1]) + term(wk, out[2]);
        });
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        return sum;
    }

    /** A row's upstream gradient: {@code gradScale}, over {@code total} for {@code MEAN}, over the rows for {@code BATCHMEAN}. */
    private static double rowScale(LossOptions options, double total, int nRows) {
        double g = options.gradScale();
        return switch (options.reduction()) {
            case NONE, SUM -> g;
            case MEAN -> total == 0 ? 0 : g / total;
            case BATCHMEAN -> nRows == 0 ? 0 : g / nRows;
        };
    }

    /** {@code w·v}, where a zero weight leaves even an infinite value out of the sum. */
    private static double term(double w, double v) {
        return w == 0 ? 0 : w * v;
    }

    private static double weight(Tensor w, int r, float dflt) {
        return w == null ? dflt : w.getFloat(r);
    }

    private static void write(Tensor out, int r, double v) {
        if (out != null) {
            out.segment().setAtIndex(F32, out.index(r), (float) v);
        }
    }

    /**
     * A sparse-teacher divergence per row, reduced per {@code options} ({@code MEAN} over the rows that take part,
     * {@code BATCHMEAN} over all); returns the reduced loss (for {@code NONE}, the sum of the rows).
     */
    public double sparse(SparseDivergence divergence, TeacherMass mass, Tensor ids, Tensor logprobs, Tensor student,
                         LossOptions options, Tensor rowLoss, Tensor grad) {
        Checks.notNull("divergence", divergence);
        Checks.notNull("mass", mass);
        SparseShape shape = Checks.sparseTeacher(ids, logprobs, student, mass == TeacherMass.REST_BUCKET, options,
                rowLoss, grad);
        int n = (int) student.cols();
        int nRows = (int) student.rows();
        int k = shape.k();
        long counted = shape.counted();
        float g = (float) rowScale(options, counted, nRows);
        float invT = 1f / options.temperature();
        float beta = options.beta();
        // JSD's endpoints are the two KLs (SPEC §1's convention), not the formula's limit 0.
        int op = switch (divergence) {
            case FORWARD_KL -> SparseBuckets.FORWARD_KL;
            case REVERSE_KL -> SparseBuckets.REVERSE_KL;
            case JSD -> beta == 0f ? SparseBuckets.FORWARD_KL : beta == 1f ? SparseBuckets.REVERSE_KL : SparseBuckets.JSD;
        };
        boolean rest = mass == TeacherMass.REST_BUCKET;
        double[] values = new double[nRows];
        HalfRows.Rows sx = HalfRows.of(student, 0, half);
        HalfRows.Rows px = HalfRows.of(logprobs, 1, half);
        HalfRows.Rows gx = HalfRows.of(grad, 2, half);
        rows.forEachRow(nRows, n, shape.shareable(), r -> {
            if (ids.getInt(r, 0) == options.ignoreIndex()) {
                if (grad != null) {
                    HalfRows.zero(grad, r);
                }
                values[r] = 0; // an ignored row: loss 0, gradient 0, and it leaves the MEAN
                return;
            }
            MemorySegment gs = gx == null ? null : gx.write(r);
            values[r] = kernels.sparseDivergence(op, rest, ids.segment(), ids.index(r, 0), px.read(r),
                    px.at(r), k, sx.read(r), sx.at(r), n, invT, beta, gs, gx == null ? 0 : gx.at(r), g);
            if (gx != null) {
                gx.store(r);
            }
        });
        double sum = 0;
        for (int r = 0; r < nRows; r++) {
            sum += values[r];
            write(rowLoss, r, values[r]);
        }
        return switch (options.reduction()) {
            case NONE, SUM -> sum;
            case MEAN -> sum / counted;
            case BATCHMEAN -> sum / nRows;
        };
    }

    /**
     * Hard-label cross-entropy with z-loss, soft-capping and class weights (PyTorch's semantics: a row weighs
     * {@code w_label}, and {@code MEAN} divides the cross-entropy part by {@code Σ w_label} over the rows that
     * take part, the z-loss part by their count); optional per-row z-loss, predicted token and whether it is
     * the label. Returns the reduced loss (for {@code NONE}, the sum of the rows).
     */
    public double crossEntropy(Tensor labels, Tensor student, LossOptions options, CrossEntropyOptions ce,
                               Tensor rowLoss, Tensor zLoss, Tensor grad, Tensor predicted, Tensor correct) {
        Checks.notNull("ce", ce);
        boolean shareable = Checks.loss(dev.entrokit.Loss.CROSS_ENTROPY_LABELS, rows.threads(), null, student, labels,
                options, rowLoss, grad);
        Tensor weights = ce.classWeights();
        shareable &= Checks.crossEntropyOptions(student, labels, weights, rowLoss, grad, zLoss, predicted, correct);
        int n = (int) student.cols();
        int nRows = (int) student.rows();
        int ignore = options.ignoreIndex();
        long counted = 0;
        double weightSum = 0;
        for (int r = 0; r < nRows; r++) {
            int y = labels.getInt(r);
            if (y != ignore) {
                counted++;
                weightSum += weights == null ? 1 : weights.getFloat(y);
            }
        }
        double gCe = rowScale(options, weightSum, nRows);
        double gZ = rowScale(options, counted, nRows);
        float invT = 1f / options.temperature();
        double[] ceValues = new double[nRows];
        double[] zValues = new double[nRows];
        // Class weights are one row of V read by every row: widened once for the call.
        Tensor wide = HalfRows.widened(weights);
        MemorySegment ws = wide == null ? null : wide.segment();
        long wOff = wide == null ? 0 : wide.index(0);
        HalfRows.Rows sx = HalfRows.of(student, 0, half);
        HalfRows.Rows gx = HalfRows.of(grad, 2, half);
        rows.forEachRow(nRows, n, shareable, r -> {
            int y = labels.getInt(r);
            boolean ignored = y == ignore;
            double[] out = OUT.get();
            MemorySegment gs = gx == null || ignored ? null : gx.write(r);
            // An ignored row still predicts a token; its loss and gradient are 0 and it is never correct.
            kernels.crossEntropyOptions(sx.read(r), sx.at(r), n, ignored ? 0 : y, invT,
                    options.labelSmoothing(), ce.zLoss(), ce.softcap(), ws, wOff, out, gs, gx == null ? 0 : gx.at(r), gCe,
                    gZ);
            if (ignored) {
                if (grad != null) {
                    HalfRows.zero(grad, r);
                }
                out[0] = 0;
                out[1] = 0;
            } else if (gx != null) {
                gx.store(r);
            }
            ceValues[r] = out[0];
            zValues[r] = out[1];
            write(zLoss, r, out[1]);
            if (predicted != null) {
                predicted.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, predicted.index(r), (int) out[2]);
            }
            if (correct != null) {
                correct.segment().set(ValueLayout.JAVA_BYTE, correct.index(r), (byte) (!ignored && out[2] == y ? 1 : 0));
            }
        });
        double ceSum = 0;
        double zSum = 0;
        for (int r = 0; r < nRows; r++) {
            ceSum += ceValues[r];
            zSum += zValues[r];
            write(rowLoss, r, ceValues[r] + zValues[r]);
        }
        return switch (options.reduction()) {
            case NONE, SUM -> ceSum + zSum;
            case MEAN -> ceSum / weightSum + zSum / counted;
            case BATCHMEAN -> (ceSum + zSum) / nRows;
        };
    }
}
