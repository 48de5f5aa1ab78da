package dev.entrokit.internal;

import dev.entrokit.DType;
import dev.entrokit.Loss;
import dev.entrokit.LossOptions;
import dev.entrokit.Reduction;
import dev.entrokit.SamplingFilters;
import dev.entrokit.Tensor;
import dev.entrokit.Uncertainty;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/**
 * Every argument check of the host API (the façade {@code Entrokit}, the loss driver) and the ones
 * the CUDA API shares with it, so that the two cannot drift apart. Each check runs before any work
 * and refuses bad input with an {@link IllegalArgumentException} whose message names the argument
 * and the offending values; those messages are part of the contract (tests assert on them).
 *
 * <p>Public only so that {@code dev.entrokit} and {@code dev.entrokit.cuda} can call it: its package
 * is not exported from the module.
 */
public final class Checks {
    private Checks() {
    }

    // ---------------------------------------------------------------- scalars

    /**
     * A temperature usable by every op: finite, {@code > 0}, and not so small that {@code 2·log2(e)/T} overflows
     * float, about {@code T < 8.48e-39} (a subnormal temperature): the SIMD kernels scale half the logit difference by
     * {@code 2/T}, and by {@code 2·log2(e)/T} where they exponentiate in log2 units. The bound was {@code 2/T} until
     * those kernels clamped the larger scale to {@code Float.MAX_VALUE} and so ran every temperature in
     * {@code [5.9e-39, 8.5e-39)} at about 8.5e-39 (KL 0.773 against the reference's 1.261 at T = 6e-39).
     */
    public static void temperature(float temperature) {
        positiveFinite("temperature", temperature);
        if (Float.isInfinite(2f / temperature) || Float.isInfinite((float) (2 * LOG2E / temperature))) {
            throw new IllegalArgumentException("temperature: too small (2·log2(e)/T overflows float), got "
                    + temperature);
        }
    }

    private static final double LOG2E = 1.4426950408889634;

    /** Checks {@code temperature} as {@link #temperature} does and returns {@code 1/T}. */
    public static float invTemperature(float temperature) {
        temperature(temperature);
        return 1f / temperature;
    }

    /** Refuses a {@code value} that is NaN, infinite or {@code ≤ 0}. */
    public static void positiveFinite(String name, float value) {
        if (!(value > 0f) || Float.isInfinite(value)) {
            throw new IllegalArgumentException(name + ": must be finite and > 0, got " + value);
        }
    }

    /** The order of the α-family: finite and {@code ≥ 0}. */
    public static void alpha(float alpha) {
        if (!(alpha >= 0f) || Float.isInfinite(alpha)) {
            throw new IllegalArgumentException("alpha: must be finite and >= 0, got " + alpha);
        }
    }

    /** The knobs of contrastive decoding: a finite {@code lambda}, a threshold that is not NaN, an uncertainty. */
    public static void contrastive(float lambda, float threshold, Uncertainty uncertainty) {
        if (!Float.isFinite(lambda)) {
            throw new IllegalArgumentException("lambda: must be finite, got " + lambda);
        }
        if (Float.isNaN(threshold)) {
            throw new IllegalArgumentException("threshold: must not be NaN");
        }
        notNull("uncertainty", uncertainty);
    }

    /** Refuses a null reference argument. */
    public static void notNull(String name, Object value) {
        if (value == null) {
            throw new IllegalArgumentException(name + ": must not be null");
        }
    }

    /**
     * {@code max(1, floor(k·T))} for a fraction {@code k ∈ (0, 1]} of {@code length} positions, with
     * {@code k} read as the decimal it prints as (0.9f·10 is 9, not 8).
     */
    public static int kCount(float k, int length) {
        if (!(k > 0f && k <= 1f)) {
            throw new IllegalArgumentException("k: must be a fraction in (0, 1] (0.2 = 20 %), got " + k);
        }
        return Math.max(1, new java.math.BigDecimal(Float.toString(k)).multiply(java.math.BigDecimal.valueOf(length))
                .intValue());
    }

    /**
     * PLD sorts each row on the heap (a sort key and a suffix log-sum-exp per token, 16 bytes, per thread at
     * work): refused up front when that exceeds half the maximum heap, rather than failing with
     * {@code OutOfMemoryError} after some rows were written.
     */
    public static void sortHeap(int n, int nRows, int threads) {
        long need = 16L * n * Math.max(1, Math.min(threads, nRows));
        long max = Runtime.getRuntime().maxMemory();
        if (need > max / 2) {
            throw new IllegalArgumentException("student: PLD sorts rows of " + n + " tokens on the heap, " + (need >> 20)
                    + " MiB on " + threads + " thread(s), over half the maximum heap (" + (max >> 20)
                    + " MiB); shorten the rows or raise -Xmx");
        }
    }

    /**
     * Every check of {@link LossDriver#run}, in order; says whether worker threads may run rows.
     *
     * @param threads the worker count, for PLD's heap estimate
     */
    public static boolean loss(Loss op, int threads, Tensor teacher, Tensor student, Tensor labels,
                               LossOptions options, Tensor rowLoss, Tensor grad) {
        notNull("options", options);
        String studentName = op.studentName();
        int n = cols(studentName, student);
        int nRows = (int) student.rows();
        if (op == Loss.PLD) {
            sortHeap(n, nRows, threads);
        }
        if (teacher != null || op.readsTeacher()) {
            notNull("teacher", teacher);
            cols("teacher", teacher);
            inputLike("teacher", teacher, studentName, student);
        }
        if (labels != null || op.readsLabels()) {
            labels(labels, nRows, n, options.ignoreIndex());
        }
        if (rowLoss != null) {
            rowOutput("rowLoss", rowLoss, DType.F32, nRows);
        } else if (options.reduction() == Reduction.NONE) {
            throw new IllegalArgumentException("rowLoss: required when the reduction is NONE");
        }
        if (grad != null) {
            if (!op.hasGradient()) {
                throw new IllegalArgumentException("grad: " + op + " has no gradient; pass null");
            }
            // The kernels read the inputs again after writing the gradient, so no in-place use here.
            outputLike("grad", grad, studentName, student);
            noOverlap("grad", grad, studentName, student, false);
            if (teacher != null) {
                noOverlap("grad", grad, "teacher", teacher, false);
            }
        }
        return shareable(studentName, student) & (teacher == null || shareable("teacher", teacher))
                & (labels == null || shareable("labels", labels)) & (grad == null || shareable("grad", grad))
                & (rowLoss == null || shareable("rowLoss", rowLoss));
    }

    /**
     * Every check of the policy losses ({@code logprobEntropy}, {@code k3Kl}) after {@link #cols} of
     * {@code logits}: one id per row in {@code [0, V)} or {@code ignoreIndex}; reference log-probabilities, if
     * any, not NaN and {@code ≤ 0}; per-row outputs and weights (each null or one F32 value per row, the weights
     * finite); a gradient shaped like {@code logits}; no output overlapping an input. Only {@code SUM} is
     * accepted: the result is the weighted sum, so a mean goes into the weights. Says whether worker threads
     * may run rows.
     *
     * @param outputs  per-row outputs by name (entries may be null)
     * @param weights  per-row weights by name (entries may be null)
     */
    public static boolean policy(Tensor logits, Tensor ids, Tensor refLogprobs, LossOptions options,
                                 List<String> outputNames, List<Tensor> outputs, List<String> weightNames,
                                 List<Tensor> weights, Tensor grad) {
        notNull("options", options);
        if (options.reduction() != Reduction.SUM) {
            throw new IllegalArgumentException("reduction: the policy losses return the weighted sum over tokens;"
                    + " put a mean into the weights (reduction SUM), got " + options.reduction());
        }
        int n = cols("logits", logits);
        int nRows = (int) logits.rows();
        accessible("ids", ids);
        if (ids.dtype() != DType.I32 || ids.rank() != 1 || ids.cols() != nRows) {
            throw new IllegalArgumentException("ids: expected a rank-1 I32 tensor of " + nRows + " ids, got " + ids);
        }
        for (int r = 0; r < nRows; r++) {
            int y = ids.getInt(r);
            if (y != options.ignoreIndex() && (y < 0 || y >= n)) {
                throw new IllegalArgumentException("ids: " + y + " at row " + r + " is outside [0, " + n
                        + ") and is not ignoreIndex (" + options.ignoreIndex() + ")");
            }
        }
        boolean shareable = shareable("logits", logits) & shareable("ids", ids);
        if (refLogprobs != null) {
            rowInput("refLogprobs", refLogprobs, nRows);
            for (int r = 0; r < nRows; r++) {
                float v = refLogprobs.getFloat(r);
                if (!(v <= 0f)) {
                    throw new IllegalArgumentException("refLogprobs: " + v + " at row " + r
                            + " is not a log-probability (must be <= 0, not NaN)");
                }
            }
            shareable &= shareable("refLogprobs", refLogprobs);
        }
        for (int w = 0; w < weights.size(); w++) {
            Tensor t = weights.get(w);
            if (t != null) {
                String name = weightNames.get(w);
                rowInput(name, t, nRows);
                for (int r = 0; r < nRows; r++) {
                    if (!Float.isFinite(t.getFloat(r))) {
                        throw new IllegalArgumentException(name + ": " + t.getFloat(r) + " at row " + r
                                + " is not finite");
                    }
                }
                shareable &= shareable(name, t);
            }
        }
        List<String> names = new java.util.ArrayList<>(outputNames);
        List<Tensor> outs = new java.util.ArrayList<>(outputs);
        if (grad != null) {
            outputLike("grad", grad, "logits", logits);
            names.add("grad");
            outs.add(grad);
        }
        for (int o = 0; o < outs.size(); o++) {
            Tensor t = outs.get(o);
            if (t == null) {
                continue;
            }
            String name = names.get(o);
            if (t != grad) {
                rowOutput(name, t, DType.F32, nRows);
            }
            noOverlap(name, t, "logits", logits, false);
            noOverlap(name, t, "ids", ids, false);
            if (refLogprobs != null) {
                noOverlap(name, t, "refLogprobs", refLogprobs, false);
            }
            for (int w = 0; w < weights.size(); w++) {
                if (weights.get(w) != null) {
                    noOverlap(name, t, weightNames.get(w), weights.get(w), false);
                }
            }
            for (int p = 0; p < o; p++) {
                if (outs.get(p) != null) {
                    noOverlap(name, t, names.get(p), outs.get(p), false);
                }
            }
            shareable &= shareable(name, t);
        }
        return shareable;
    }

    /**
     * Every check of {@code sparseDistill}: the student's logits, the teacher's ids {@code [rows, k]} (I32) and
     * log-probabilities {@code [rows, k]} (F32) with {@code 1 ≤ k ≤ V}. A row is ignored when every id in it is
     * {@code ignoreIndex}; otherwise each id lies in {@code [0, V)} and appears once, each log-probability is
     * {@code ≤ 0} (not NaN), and with the rest bucket {@code Σ e^{lp} ≤ 1 + 1e-4} (rounding above 1 leaves no
     * rest). Then the loss outputs as {@link #loss}. Returns {@code k}, the number of rows that take part (for
     * the mean) and whether worker threads may run rows.
     */
    public static PolicyDriver.SparseShape sparseTeacher(Tensor ids, Tensor logprobs, Tensor student, boolean rest, LossOptions options,
                                     Tensor rowLoss, Tensor grad) {
        notNull("options", options);
        int n = cols("student", student);
        int nRows = (int) student.rows();
        accessible("teacherIds", ids);
        accessible("teacherLogprobs", logprobs);
        if (ids.dtype() != DType.I32 || ids.rank() > 2 || ids.rows() != nRows) {
            throw new IllegalArgumentException("teacherIds: expected an I32 tensor [" + nRows + ", k], got " + ids);
        }
        long k = ids.cols();
        if (k < 1 || k > n) {
            throw new IllegalArgumentException("teacherIds: k = " + k + " ids per row must be in [1, V = " + n + "]");
        }
        floatType("teacherLogprobs", logprobs);
        if (logprobs.rank() > 2 || logprobs.rows() != nRows || logprobs.cols() != k) {
            throw new IllegalArgumentException("teacherLogprobs: shape " + Arrays.toString(logprobs.shape())
                    + " does not match teacherIds " + Arrays.toString(ids.shape()));
        }
        int ignore = options.ignoreIndex();
        int[] row = new int[(int) k];
        long counted = 0;
        for (int r = 0; r < nRows; r++) {
            int ignored = 0;
            for (int j = 0; j < k; j++) {
                row[j] = ids.getInt(r, j);
                ignored += row[j] == ignore ? 1 : 0;
            }
            if (ignored == k) {
                continue;
            }
            for (int j = 0; j < k; j++) {
                if (row[j] < 0 || row[j] >= n) {
                    throw new IllegalArgumentException("teacherIds: " + row[j] + " at [" + r + ", " + j
                            + "] is outside [0, " + n + ")" + (row[j] == ignore
                            ? " (ignoreIndex marks a row only when every id in it is ignoreIndex)" : ""));
                }
            }
            Arrays.sort(row);
            for (int j = 1; j < k; j++) {
                if (row[j] == row[j - 1]) {
                    throw new IllegalArgumentException("teacherIds: id " + row[j] + " appears more than once in row "
                            + r);
                }
            }
            double mass = 0;
            for (int j = 0; j < k; j++) {
                float lp = logprobs.getFloat(r, j);
                if (!(lp <= 0f)) {
                    throw new IllegalArgumentException("teacherLogprobs: " + lp + " at [" + r + ", " + j
                            + "] is not a log-probability (must be <= 0, not NaN)");
                }
                mass += Math.exp(lp);
            }
            if (rest && mass > 1 + 1e-4) {
                throw new IllegalArgumentException("teacherLogprobs: row " + r + " holds probability " + mass
                        + " > 1; the rest bucket needs sum(exp(logprobs)) <= 1");
            }
            counted++;
        }
        if (rowLoss != null) {
            rowOutput("rowLoss", rowLoss, DType.F32, nRows);
            noOverlap("rowLoss", rowLoss, "student", student, false);
        } else if (options.reduction() == Reduction.NONE) {
            throw new IllegalArgumentException("rowLoss: required when the reduction is NONE");
        }
        if (grad != null) {
            outputLike("grad", grad, "student", student);
            noOverlap("grad", grad, "student", student, false);
            noOverlap("grad", grad, "teacherIds", ids, false);
            noOverlap("grad", grad, "teacherLogprobs", logprobs, false);
        }
        boolean shareable = shareable("student", student) & shareable("teacherIds", ids)
                & shareable("teacherLogprobs", logprobs) & (grad == null || shareable("grad", grad))
                & (rowLoss == null || shareable("rowLoss", rowLoss));
        return new PolicyDriver.SparseShape((int) k, counted, shareable);
    }

    /**
     * Every check of cross-entropy with options, after {@link #loss} has checked labels, student and the loss
     * outputs: class weights (if any) rank-1 F32 of {@code V} finite values {@code ≥ 0}, and the per-row outputs
     * {@code zLoss} (F32), {@code predicted} (I32), {@code correct} (BOOL), each null or one value per row,
     * overlapping no other argument. Says whether worker threads may touch them.
     */
    public static boolean crossEntropyOptions(Tensor student, Tensor labels, Tensor classWeights, Tensor rowLoss,
                                              Tensor grad, Tensor zLoss, Tensor predicted, Tensor correct) {
        int n = (int) student.cols();
        boolean shareable = true;
        if (classWeights != null) {
            accessible("classWeights", classWeights);
            floatType("classWeights", classWeights);
            if (classWeights.rank() != 1 || classWeights.cols() != n) {
                throw new IllegalArgumentException("classWeights: expected a rank-1 float tensor of V = " + n
                        + " weights, got " + classWeights);
            }
            for (int i = 0; i < n; i++) {
                float w = classWeights.getFloat(i);
                if (!(w >= 0f) || Float.isInfinite(w)) {
                    throw new IllegalArgumentException("classWeights: " + w + " at class " + i
                            + " must be finite and >= 0");
                }
            }
            shareable &= shareable("classWeights", classWeights);
        }
        String[] names = {"zLoss", "predicted", "correct"};
        Tensor[] outs = {zLoss, predicted, correct};
        DType[] types = {DType.F32, DType.I32, DType.BOOL};
        for (int o = 0; o < outs.length; o++) {
            if (outs[o] == null) {
                continue;
            }
            rowOutput(names[o], outs[o], types[o], student.rows());
            noOverlap(names[o], outs[o], "student", student, false);
            noOverlap(names[o], outs[o], "labels", labels, false);
            if (classWeights != null) {
                noOverlap(names[o], outs[o], "classWeights", classWeights, false);
            }
            if (rowLoss != null) {
                noOverlap(names[o], outs[o], "rowLoss", rowLoss, false);
            }
            if (grad != null) {
                noOverlap(names[o], outs[o], "grad", grad, false);
            }
            for (int p = 0; p < o; p++) {
                if (outs[p] != null) {
                    noOverlap(names[o], outs[o], names[p], outs[p], false);
                }
            }
            shareable &= shareable(names[o], outs[o]);
        }
        if (grad != null && classWeights != null) {
            noOverlap("grad", grad, "classWeights", classWeights, false);
        }
        return shareable;
    }

    /** A rank-1 float input (F32, BF16 or F16, read widened) with one value per row. */
    public static void rowInput(String name, Tensor t, long nRows) {
        accessible(name, t);
        floatType(name, t);
        if (t.rank() != 1 || t.cols() != nRows) {
            throw new IllegalArgumentException(name + ": expected a rank-1 float tensor of " + nRows + " values, got " + t);
        }
    }

    // ---------------------------------------------------------------- tensors

    /**
     * The first check of every tensor argument, before anything reads it: not null, its memory alive
     * and readable by this thread (see {@link MemoryAccess#check}).
     */
    public static void accessible(String name, Tensor t) {
        notNull(name, t);
        MemoryAccess.check(name, t.segment());
    }

    /** Checks a non-null tensor as {@link #accessible} does and says whether worker threads may touch it too. */
    public static boolean shareable(String name, Tensor t) {
        return MemoryAccess.check(name, t.segment());
    }

    /** Checks a float logits tensor (F32, BF16 or F16) of rank 1 or 2 (an input) and returns its row length. */
    public static int cols(String name, Tensor t) {
        accessible(name, t);
        floatType(name, t);
        if (t.rank() > 2) {
            throw new IllegalArgumentException(name + ": expected rank 1 or 2, got " + t);
        }
        if (t.cols() < 1 || t.cols() > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException(name + ": row length must be in [1, 2^31 - 64), got " + t.cols());
        }
        if (t.rows() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + ": too many rows: " + t.rows());
        }
        return (int) t.cols();
    }

    /** Refuses a tensor whose dtype is not a float type the kernels read: F32, BF16 or F16. */
    public static void floatType(String name, Tensor t) {
        if (t.dtype() != DType.F32 && !t.dtype().isHalf()) {
            throw new IllegalArgumentException(name + ": dtype " + t.dtype() + " is not a float type; expected F32, BF16 or F16");
        }
    }

    /**
     * An input with the shape of {@code ref} (read-only memory is fine), of any float dtype: a teacher may be
     * BF16 while its student is F32, each row is widened on its own.
     */
    public static void inputLike(String name, Tensor t, String refName, Tensor ref) {
        accessible(name, t);
        floatType(name, t);
        if (t.rows() != ref.rows() || t.cols() != ref.cols() || t.rank() > 2) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(t.shape())
                    + " does not match " + refName + " " + Arrays.toString(ref.shape()));
        }
    }

    /**
     * An output with the shape of {@code ref}: also writable, and F32 or {@code ref}'s own dtype (a half
     * output is the float32 result rounded once at the store).
     */
    public static void outputLike(String name, Tensor t, String refName, Tensor ref) {
        inputLike(name, t, refName, ref);
        if (t.dtype() != DType.F32 && t.dtype() != ref.dtype()) {
            throw new IllegalArgumentException(name + ": dtype " + t.dtype() + " must be F32 or " + refName + "'s "
                    + ref.dtype());
        }
        writable(name, t);
    }

    /**
     * An output shaped like the input {@code in} that may be that very view (in place) but must not
     * otherwise overlap it: {@link #outputLike} then {@link #noOverlap}.
     */
    public static void inPlaceOutput(String name, Tensor out, String inName, Tensor in) {
        outputLike(name, out, inName, in);
        noOverlap(name, out, inName, in, true);
    }

    /** A rank-1 output of {@code dtype} with room for one value per row. */
    public static void rowOutput(String name, Tensor t, DType dtype, long nRows) {
        accessible(name, t);
        if (t.dtype() != dtype || t.rank() != 1) {
            throw new IllegalArgumentException(name + ": expected a rank-1 " + dtype + " tensor, got " + t);
        }
        if (t.cols() < nRows) {
            throw new IllegalArgumentException(name + ": too small: holds " + t.cols() + " values, need " + nRows);
        }
        writable(name, t);
    }

    /** A writable rank-1 or rank-2 output of {@code dtype} shaped exactly {@code [nRows, nCols]}. */
    public static void output(String name, Tensor t, DType dtype, long nRows, long nCols) {
        accessible(name, t);
        if (t.dtype() != dtype || t.rank() > 2) {
            throw new IllegalArgumentException(name + ": expected a rank-1 or rank-2 " + dtype + " tensor, got " + t);
        }
        if (t.rows() != nRows || t.cols() != nCols) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(t.shape()) + " is not ["
                    + nRows + ", " + nCols + "]");
        }
        writable(name, t);
    }

    private static void writable(String name, Tensor t) {
        if (t.segment().isReadOnly()) {
            throw new IllegalArgumentException(name + ": segment is read-only");
        }
    }

    /**
     * Refuses an output that overlaps an input; {@code inPlaceAllowed} lets the very same view through
     * (the element-wise ops read each element before writing it).
     */
    public static void noOverlap(String outName, Tensor out, String inName, Tensor in, boolean inPlaceAllowed) {
        if (out.rows() == 0 || in.rows() == 0) {
            return;
        }
        boolean sameView = out.segment().equals(in.segment()) && out.dtype() == in.dtype() && out.offset() == in.offset()
                && out.rowStride() == in.rowStride() && out.rows() == in.rows() && out.cols() == in.cols();
        if (inPlaceAllowed && sameView) {
            return;
        }
        if (extent(out).asOverlappingSlice(extent(in)).isPresent()) {
            throw new IllegalArgumentException(outName + ": overlaps " + inName
                    + (inPlaceAllowed ? " (only the very same view, fully in place, is supported)" : ""));
        }
    }

    /** The bytes a rank-1 or rank-2 view spans, as a slice of its segment. */
    private static MemorySegment extent(Tensor t) {
        long size = t.dtype().byteSize();
        long first = t.index(0, 0) * size;
        long last = (t.index(t.rows() - 1, 0) + t.cols()) * size;
        return t.segment().asSlice(first, last - first);
    }

    /** {@code float[]} rows of {@code cols} values as a {@code [length/cols, cols]} tensor over the array (no copy). */
    public static Tensor rowsOf(String name, float[] data, int cols) {
        notNull(name, data);
        if (cols < 1 || data.length % cols != 0) {
            throw new IllegalArgumentException(name + ": length " + data.length + " is not a positive multiple of cols " + cols);
        }
        return Tensor.of(data, data.length / cols, cols);
    }

    /**
     * The arguments of a softmax or log-softmax backward after {@link #cols} of the forward output {@code y}:
     * {@code gradOutput} an input and {@code gradInput} an output shaped like {@code y}, the output in place
     * or apart from both; says whether worker threads may run rows.
     */
    public static boolean backward(String yName, Tensor y, Tensor gradOutput, Tensor gradInput) {
        inputLike("gradOutput", gradOutput, yName, y);
        inPlaceOutput("gradInput", gradInput, yName, y);
        noOverlap("gradInput", gradInput, "gradOutput", gradOutput, true);
        return shareable(yName, y) & shareable("gradOutput", gradOutput) & shareable("gradInput", gradInput);
    }

    // ---------------------------------------------------------------- ids, labels, frequencies

    /**
     * The ids and output of {@code tokenLogprob} after {@link #cols} of {@code logits}: one id per row,
     * one value per row, overlapping neither input; says whether worker threads may run rows.
     */
    public static boolean tokenLogprob(Tensor logits, Tensor ids, Tensor out) {
        int nRows = (int) logits.rows();
        ids(ids, nRows, (int) logits.cols());
        rowOutput("out", out, DType.F32, nRows);
        noOverlap("out", out, "logits", logits, false);
        noOverlap("out", out, "ids", ids, false);
        return shareable("logits", logits) & shareable("ids", ids) & shareable("out", out);
    }

    /** One label per row, I32 rank 1; each in {@code [0, n)} or equal to {@code ignoreIndex}. */
    public static void labels(Tensor labels, int nRows, int n, int ignoreIndex) {
        accessible("labels", labels);
        if (labels.dtype() != DType.I32 || labels.rank() != 1) {
            throw new IllegalArgumentException("labels: expected a rank-1 I32 tensor, got " + labels);
        }
        if (labels.cols() != nRows) {
            throw new IllegalArgumentException("labels: has " + labels.cols() + " entries for " + nRows + " rows");
        }
        for (int r = 0; r < nRows; r++) {
            int y = labels.getInt(r);
            if (y != ignoreIndex && (y < 0 || y >= n)) {
                throw new IllegalArgumentException("labels: " + y + " at row " + r + " is outside [0, " + n
                        + ") and is not ignoreIndex (" + ignoreIndex + ")");
            }
        }
    }

    /** Token ids: I32, rank 1 or 2, {@code nRows} in all, each in {@code [0, n)}. */
    public static void ids(Tensor ids, long nRows, int n) {
        accessible("ids", ids);
        if (ids.dtype() != DType.I32 || ids.rank() > 2) {
            throw new IllegalArgumentException("ids: expected a rank-1 or rank-2 I32 tensor, got " + ids);
        }
        if (ids.rows() * ids.cols() != nRows) {
            throw new IllegalArgumentException("ids: shape " + Arrays.toString(ids.shape()) + " holds "
                    + ids.rows() * ids.cols() + " positions, logits has " + nRows + " rows");
        }
        for (long q = 0; q < ids.rows(); q++) {
            for (long t = 0; t < ids.cols(); t++) {
                int y = ids.getInt(q, t);
                if (y < 0 || y >= n) {
                    throw new IllegalArgumentException("ids: " + y + " at [" + q + ", " + t + "] is outside [0, " + n + ")");
                }
            }
        }
    }

    /**
     * The arguments every sequence score shares: {@code logits} {@code [S·T, V]}, {@code ids} {@code [S, T]}
     * (or {@code [T]}) with {@code T ≥ 1}, {@code scores} with room for {@code S} values, overlapping neither.
     */
    public static SequenceScores.Shape sequences(String logitsName, Tensor logits, Tensor ids, Tensor scores) {
        int n = cols(logitsName, logits);
        ids(ids, logits.rows(), n);
        if (ids.cols() < 1) {
            throw new IllegalArgumentException("ids: need at least one position per sequence, got shape "
                    + Arrays.toString(ids.shape()));
        }
        rowOutput("scores", scores, DType.F32, ids.rows());
        noOverlap("scores", scores, logitsName, logits, false);
        noOverlap("scores", scores, "ids", ids, false);
        boolean shareable = shareable(logitsName, logits) & shareable("ids", ids) & shareable("scores", scores);
        return new SequenceScores.Shape((int) ids.rows(), (int) ids.cols(), n, shareable);
    }

    /** A token-frequency distribution: rank-1 F32 of {@code n} entries, each in {@code (0, 1]}. */
    public static void frequencies(Tensor freq, int n) {
        accessible("freq", freq);
        floatType("freq", freq);
        if (freq.rank() != 1 || freq.cols() != n) {
            throw new IllegalArgumentException("freq: expected a rank-1 float tensor of V = " + n + " entries, got " + freq);
        }
        for (int v = 0; v < n; v++) {
            float f = freq.getFloat(v);
            if (!(f > 0f && f <= 1f)) {
                throw new IllegalArgumentException("freq: entry " + v + " is " + f + "; expected a smoothed frequency in"
                        + " (0, 1], e.g. (count + 1)/(total + V)");
            }
        }
    }

    /**
     * Packed sequences (sequence {@code q} is positions {@code [offsets[q], offsets[q+1])} of rank-1
     * per-position tensors): {@code values} a rank-1 F32 tensor of {@code N ≥ 1} positions; {@code offsets}
     * a rank-1 I32 tensor of {@code S + 1 ≥ 2} boundaries, 0 first, {@code N} last, strictly increasing
     * (no empty sequence); {@code scores} room for {@code S} values, overlapping neither. Returns the
     * checked shape ({@code length} is 0: the sequences have their own lengths).
     */
    public static SequenceScores.Shape packed(String valuesName, Tensor values, Tensor offsets, Tensor scores) {
        positions(valuesName, values, -1);
        long n = values.cols();
        accessible("offsets", offsets);
        if (offsets.dtype() != DType.I32 || offsets.rank() != 1 || offsets.cols() < 2) {
            throw new IllegalArgumentException("offsets: expected a rank-1 I32 tensor of S + 1 >= 2 sequence boundaries, got "
                    + offsets);
        }
        if (offsets.cols() - 1 > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("offsets: too many sequences: " + (offsets.cols() - 1));
        }
        int count = (int) offsets.cols() - 1;
        if (offsets.getInt(0) != 0) {
            throw new IllegalArgumentException("offsets: must start at 0, got " + offsets.getInt(0));
        }
        for (int q = 0; q < count; q++) {
            int from = offsets.getInt(q);
            int to = offsets.getInt(q + 1);
            if (to <= from) {
                throw new IllegalArgumentException("offsets: sequence " + q + " is [" + from + ", " + to + "); every "
                        + "sequence needs at least one position and the offsets must increase");
            }
        }
        if (offsets.getInt(count) != n) {
            throw new IllegalArgumentException("offsets: the last offset is " + offsets.getInt(count) + ", but "
                    + valuesName + " has " + n + " positions");
        }
        rowOutput("scores", scores, DType.F32, count);
        noOverlap("scores", scores, valuesName, values, false);
        noOverlap("scores", scores, "offsets", offsets, false);
        boolean shareable = shareable(valuesName, values) & shareable("offsets", offsets) & shareable("scores", scores);
        return new SequenceScores.Shape(count, 0, 0, shareable);
    }

    /**
     * A per-position input of packed sequences: a rank-1 F32 tensor of {@code n} positions ({@code n < 0}:
     * any number from 1 to 2^31 − 9).
     */
    public static void positions(String name, Tensor t, long n) {
        accessible(name, t);
        floatType(name, t);
        if (t.rank() != 1) {
            throw new IllegalArgumentException(name + ": expected a rank-1 float tensor of per-position values, got " + t);
        }
        if (n < 0 && (t.cols() < 1 || t.cols() > Integer.MAX_VALUE - 8)) {
            throw new IllegalArgumentException(name + ": need 1 to 2^31 - 9 positions, got " + t.cols());
        }
        if (n >= 0 && t.cols() != n) {
            throw new IllegalArgumentException(name + ": has " + t.cols() + " positions, expected " + n);
        }
    }

    /** Per-position variances: as {@link #positions}, and no finite entry below 0 (NaN stays a NaN position). */
    public static void variances(Tensor variances, long n) {
        positions("variances", variances, n);
        for (long t = 0; t < n; t++) {
            float v = variances.getFloat(t);
            if (v < 0f) {
                throw new IllegalArgumentException("variances: entry " + t + " is " + v + "; a variance is >= 0");
            }
        }
    }

    // ---------------------------------------------------------------- selection

    /**
     * A sampling pipeline for rows of {@code n} tokens: not null, its temperature as {@link #temperature}
     * (or 0 where {@code greedyAllowed}), each top-k's {@code k ≤ n}.
     */
    public static void filters(SamplingFilters f, int n, boolean greedyAllowed) {
        notNull("filters", f);
        if (!greedyAllowed && f.temperature() == 0f) {
            throw new IllegalArgumentException("temperature: must be > 0 here, got 0 (greedy is for sample only)");
        }
        if (f.temperature() != 0f) {
            temperature(f.temperature()); // the same range as every other op (2/T must be finite)
        }
        for (SamplingFilters.Filter x : f.filters()) {
            if (x.kind() == SamplingFilters.Kind.TOP_K && x.k() > n) {
                throw new IllegalArgumentException("k: must be in [1, V = " + n + "], got " + x.k());
            }
        }
    }

    /**
     * A pipeline for an op that takes no seed: XTC draws at random, keyed like the sampler, so only the
     * sampling ops take it.
     */
    public static void drawFree(SamplingFilters f) {
        for (SamplingFilters.Filter x : f.filters()) {
            if (x.kind() == SamplingFilters.Kind.XTC) {
                throw new IllegalArgumentException("filters: xtc draws at random; only sample and mirostatV2 take it, got " + f);
            }
        }
    }

    /** A pipeline with no filter yet at {@code temperature}, checked as {@link #temperature} (no greedy 0). */
    public static SamplingFilters pipeline(float temperature) {
        temperature(temperature);
        return SamplingFilters.temperature(temperature);
    }

    /** One pipeline (each checked as {@link #filters}, greedy allowed) and one seed per row of {@code n} tokens. */
    public static void sampling(List<SamplingFilters> filtersPerRow, long[] seeds, int nRows, int n) {
        if (filtersPerRow == null || filtersPerRow.size() != nRows) {
            throw new IllegalArgumentException("filtersPerRow: expected one pipeline per row (" + nRows + "), got "
                    + (filtersPerRow == null ? "null" : filtersPerRow.size()));
        }
        for (SamplingFilters f : filtersPerRow) {
            filters(f, n, true);
        }
        if (seeds == null || seeds.length != nRows) {
            throw new IllegalArgumentException("seeds: expected one seed per row (" + nRows + "), got "
                    + (seeds == null ? "null" : seeds.length));
        }
    }

    /**
     * Mirostat's arguments, before any work: the pipeline (temperature {@code > 0}), {@code tau} finite
     * and {@code > 0}, {@code eta} finite and {@code ≥ 0}, one finite {@code mu} and one seed per row.
     */
    public static void mirostat(SamplingFilters f, float tau, float eta, float[] mu, long[] seeds, int nRows, int n) {
        filters(f, n, false);
        if (!(tau > 0f) || Float.isInfinite(tau)) {
            throw new IllegalArgumentException("tau: must be finite and > 0, got " + tau);
        }
        if (!(eta >= 0f) || Float.isInfinite(eta)) {
            throw new IllegalArgumentException("eta: must be finite and >= 0, got " + eta);
        }
        if (mu == null || mu.length != nRows) {
            throw new IllegalArgumentException("mu: expected one value per row (" + nRows + "), got "
                    + (mu == null ? "null" : mu.length));
        }
        for (int r = 0; r < nRows; r++) {
            if (!Float.isFinite(mu[r])) {
                throw new IllegalArgumentException("mu: must be finite, got " + mu[r] + " at row " + r);
            }
        }
        if (seeds == null || seeds.length != nRows) {
            throw new IllegalArgumentException("seeds: expected one seed per row (" + nRows + "), got "
                    + (seeds == null ? "null" : seeds.length));
        }
    }

    /**
     * A list of token ids per row for the pre-passes: I32 {@code [nRows, L]}, each id in {@code [0, n)} or
     * negative (padding); null allowed where {@code optional}.
     */
    public static void tokenLists(String name, Tensor t, long nRows, int n, boolean optional) {
        if (t == null && optional) {
            return;
        }
        accessible(name, t);
        if (t.dtype() != DType.I32 || t.rank() != 2 || t.rows() != nRows) {
            throw new IllegalArgumentException(name + ": expected an I32 tensor [" + nRows + ", L] (negative ids pad), got " + t);
        }
        for (long r = 0; r < nRows; r++) {
            for (long j = 0; j < t.cols(); j++) {
                int id = t.getInt(r, j);
                if (id >= n) {
                    throw new IllegalArgumentException(name + ": id " + id + " at [" + r + ", " + j + "] is not below V = " + n);
                }
            }
        }
    }

    /** Per-row parameters of the penalties: null, or one value per row, each finite (and {@code > 0} where {@code positive}). */
    public static void perRow(String name, float[] v, long nRows, boolean positive) {
        if (v == null) {
            return;
        }
        if (v.length != nRows) {
            throw new IllegalArgumentException(name + ": expected one value per row (" + nRows + "), got " + v.length);
        }
        for (int r = 0; r < v.length; r++) {
            if (!Float.isFinite(v[r]) || positive && !(v[r] > 0f)) {
                throw new IllegalArgumentException(name + ": must be finite" + (positive ? " and > 0" : "") + ", got "
                        + v[r] + " at row " + r);
            }
        }
    }

    /**
     * The chain rejection sampler's arguments: I32 {@code draftIds [B, k]} with ids in {@code [0, V)},
     * F32 {@code draftProbs [B, k, V]} and {@code targetProbs [B, k + 1, V]}, one seed per request, a
     * rank-1 I32 {@code acceptedOut} of {@code B} values and I32 {@code tokensOut [B, k + 1]}, the outputs
     * overlapping nothing. Returns {@code {B, k, V}}.
     */
    public static int[] speculative(Tensor draftIds, Tensor draftProbs, Tensor targetProbs, long[] seeds, Tensor acceptedOut,
                                    Tensor tokensOut) {
        accessible("draftIds", draftIds);
        accessible("draftProbs", draftProbs);
        accessible("targetProbs", targetProbs);
        if (draftIds.dtype() != DType.I32 || draftIds.rank() != 2 || draftIds.cols() < 1) {
            throw new IllegalArgumentException("draftIds: expected an I32 tensor [B, k] with k >= 1, got " + draftIds);
        }
        long b = draftIds.rows();
        long k = draftIds.cols();
        floatType("draftProbs", draftProbs);
        floatType("targetProbs", targetProbs);
        if (draftProbs.rank() != 3 || draftProbs.batch() != b || draftProbs.rows() != k) {
            throw new IllegalArgumentException("draftProbs: expected a float tensor [" + b + ", " + k + ", V], got " + draftProbs);
        }
        long v = draftProbs.cols();
        if (targetProbs.rank() != 3 || targetProbs.batch() != b
                || targetProbs.rows() != k + 1 || targetProbs.cols() != v) {
            throw new IllegalArgumentException("targetProbs: expected a float tensor [" + b + ", " + (k + 1) + ", " + v + "], got "
                    + targetProbs);
        }
        if (b > Integer.MAX_VALUE || v > Integer.MAX_VALUE || k * v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("draftProbs: too large, got " + draftProbs);
        }
        for (long r = 0; r < b; r++) {
            for (long i = 0; i < k; i++) {
                int id = draftIds.getInt(r, i);
                if (id < 0 || id >= v) {
                    throw new IllegalArgumentException("draftIds: id " + id + " at [" + r + ", " + i + "] is not in [0, V = " + v + ")");
                }
            }
        }
        if (seeds == null || seeds.length != b) {
            throw new IllegalArgumentException("seeds: expected one seed per request (" + b + "), got "
                    + (seeds == null ? "null" : seeds.length));
        }
        rowOutput("acceptedOut", acceptedOut, DType.I32, b);
        output("tokensOut", tokensOut, DType.I32, b, k + 1);
        for (Object[] in : new Object[][] {{"draftIds", draftIds}, {"draftProbs", draftProbs}, {"targetProbs", targetProbs}}) {
            noOverlap("acceptedOut", acceptedOut, (String) in[0], (Tensor) in[1], false);
            noOverlap("tokensOut", tokensOut, (String) in[0], (Tensor) in[1], false);
        }
        noOverlap("tokensOut", tokensOut, "acceptedOut", acceptedOut, false);
        return new int[] {(int) b, (int) k, (int) v};
    }

    /**
     * The outputs of {@code sampleWithLogprobs}: rank-1 {@code tokensOut}, {@code rankOut} (I32) and
     * {@code rawOut}, {@code processedOut} (F32) with a value per row; {@code topIdsOut} (I32) and
     * {@code topLogprobsOut} (F32) {@code [R, topN]} when {@code topN > 0} ({@code 0 ≤ topN ≤ V}); none
     * overlapping the logits. Says whether worker threads may run rows.
     */
    public static boolean logprobOutputs(Tensor logits, int n, Tensor tokensOut, int topN, Tensor topIdsOut,
                                         Tensor topLogprobsOut, Tensor rankOut, Tensor rawOut, Tensor processedOut) {
        long r = logits.rows();
        if (topN < 0 || topN > n) {
            throw new IllegalArgumentException("topN: must be in [0, V = " + n + "], got " + topN);
        }
        rowOutput("tokensOut", tokensOut, DType.I32, r);
        rowOutput("rankOut", rankOut, DType.I32, r);
        rowOutput("rawLogprobOut", rawOut, DType.F32, r);
        rowOutput("processedLogprobOut", processedOut, DType.F32, r);
        boolean shareable = shareable("logits", logits) & shareable("tokensOut", tokensOut) & shareable("rankOut", rankOut)
                & shareable("rawLogprobOut", rawOut) & shareable("processedLogprobOut", processedOut);
        List<Object[]> outs = new java.util.ArrayList<>(List.of(new Object[] {"tokensOut", tokensOut},
                new Object[] {"rankOut", rankOut}, new Object[] {"rawLogprobOut", rawOut},
                new Object[] {"processedLogprobOut", processedOut}));
        if (topN > 0) {
            output("topIdsOut", topIdsOut, DType.I32, r, topN);
            output("topLogprobsOut", topLogprobsOut, DType.F32, r, topN);
            shareable &= shareable("topIdsOut", topIdsOut) & shareable("topLogprobsOut", topLogprobsOut);
            outs.add(new Object[] {"topIdsOut", topIdsOut});
            outs.add(new Object[] {"topLogprobsOut", topLogprobsOut});
        }
        distinctOutputs(logits, outs);
        return shareable;
    }

    /** Outputs ({@code {name, tensor}} pairs) that overlap neither the logits nor each other. */
    public static void distinctOutputs(Tensor logits, List<Object[]> outs) {
        for (int i = 0; i < outs.size(); i++) {
            noOverlap((String) outs.get(i)[0], (Tensor) outs.get(i)[1], "logits", logits, false);
            for (int j = 0; j < i; j++) {
                noOverlap((String) outs.get(i)[0], (Tensor) outs.get(i)[1], (String) outs.get(j)[0], (Tensor) outs.get(j)[1], false);
            }
        }
    }

    /** Logits rewritten in place by a pre-pass: a writable F32, BF16 or F16 {@code [R, V]}; returns {@code V}. */
    public static int logitsInPlace(Tensor logits) {
        int n = cols("logits", logits);
        output("logits", logits, logits.dtype(), logits.rows(), n);
        return n;
    }

    /**
     * The outputs of top-k, each {@code [rows, k]} and overlapping no other argument: {@code indicesOut}
     * I32, {@code valuesOut} F32, {@code probsOut} F32 or null; says whether worker threads may run rows.
     */
    public static boolean topKOutputs(Tensor logits, int k, Tensor indicesOut, Tensor valuesOut, Tensor probsOut) {
        long r = logits.rows();
        output("indicesOut", indicesOut, DType.I32, r, k);
        output("valuesOut", valuesOut, DType.F32, r, k);
        noOverlap("indicesOut", indicesOut, "logits", logits, false);
        noOverlap("valuesOut", valuesOut, "logits", logits, false);
        noOverlap("valuesOut", valuesOut, "indicesOut", indicesOut, false);
        boolean shareable = shareable("logits", logits) & shareable("indicesOut", indicesOut)
                & shareable("valuesOut", valuesOut);
        if (probsOut != null) {
            output("probsOut", probsOut, DType.F32, r, k);
            noOverlap("probsOut", probsOut, "logits", logits, false);
            noOverlap("probsOut", probsOut, "indicesOut", indicesOut, false);
            noOverlap("probsOut", probsOut, "valuesOut", valuesOut, false);
            shareable &= shareable("probsOut", probsOut);
        }
        return shareable;
    }

    /**
     * The outputs of {@code keptTokens}: {@code indicesOut} I32 and {@code probsOut} F32 {@code [rows, C]},
     * {@code countsOut} I32 with one value per row, none overlapping another argument. Returns {@code C}.
     */
    public static int keptTokensOutputs(Tensor logits, Tensor indicesOut, Tensor probsOut, Tensor countsOut) {
        long r = logits.rows();
        accessible("indicesOut", indicesOut);
        int capacity = (int) Math.min(Integer.MAX_VALUE, indicesOut.cols());
        output("indicesOut", indicesOut, DType.I32, r, capacity);
        output("probsOut", probsOut, DType.F32, r, capacity);
        rowOutput("countsOut", countsOut, DType.I32, (int) r);
        noOverlap("indicesOut", indicesOut, "logits", logits, false);
        noOverlap("probsOut", probsOut, "logits", logits, false);
        noOverlap("probsOut", probsOut, "indicesOut", indicesOut, false);
        noOverlap("countsOut", countsOut, "logits", logits, false);
        noOverlap("countsOut", countsOut, "indicesOut", indicesOut, false);
        noOverlap("countsOut", countsOut, "probsOut", probsOut, false);
        return capacity;
    }

    /** A top-k count for rows of {@code n} tokens: {@code 1 ≤ k ≤ n}. */
    public static void topK(int k, long n) {
        if (k < 1 || k > n) {
            throw new IllegalArgumentException("k: must be in [1, V = " + n + "], got " + k);
        }
    }

    // ---------------------------------------------------------------- shards

    /**
     * A shard of {@code n} tokens starting at global id {@code offset}: ids {@code offset … offset + n − 1}
     * must be int32 ({@code offset ≥ 0}, {@code offset + n ≤ 2^31 − 1}), the race's counter word holds them.
     */
    public static void shardOffset(long offset, int n) {
        if (offset < 0 || offset + n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("offset: global ids offset .. offset + n - 1 must lie in [0, 2^31 - 1), got offset "
                    + offset + " with n = " + n);
        }
    }

    /** How many candidates a shard lists: {@code k ≥ 1}. */
    public static void candidateCount(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("k: must be >= 1, got " + k);
        }
    }

    /** A sampling temperature: 0 (greedy) or as {@link #temperature}. */
    public static void samplingTemperature(float temperature) {
        if (temperature != 0f) {
            temperature(temperature);
        }
    }

    /** One seed per row. */
    public static void seeds(long[] seeds, int nRows) {
        if (seeds == null || seeds.length != nRows) {
            throw new IllegalArgumentException("seeds: expected one seed per row (" + nRows + "), got "
                    + (seeds == null ? "null" : seeds.length));
        }
    }

    /**
     * A shard of a row (SPEC §8): {@code rowLength} in {@code [1, 2^31 − 64)}, and the shard's columns
     * {@code [offset, offset + cols)} inside it.
     */
    public static void shard(long offset, long cols, long rowLength) {
        if (rowLength < 1 || rowLength > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("rowLength: must be in [1, 2^31 - 64), got " + rowLength);
        }
        if (offset < 0 || offset > rowLength - cols) {
            throw new IllegalArgumentException("offset: the shard's columns [" + offset + ", " + (offset + cols)
                    + ") do not lie in the row's [0, " + rowLength + ")");
        }
    }
}
