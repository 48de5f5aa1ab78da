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
     * A temperature usable by every op: finite, {@code > 0}, and not so small that {@code 2/T}
     * overflows float (the kernels scale by {@code 1/T} and some by {@code 2/T}).
     */
    public static void temperature(float temperature) {
        positiveFinite("temperature", temperature);
        if (Float.isInfinite(2f / temperature)) {
            throw new IllegalArgumentException("temperature: too small (2/T overflows float), got " + temperature);
        }
    }

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

    /** Checks a float32 logits tensor of rank 1 or 2 (an input) and returns its row length. */
    public static int cols(String name, Tensor t) {
        accessible(name, t);
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException(name + ": dtype " + t.dtype() + " is not supported yet; F32 only");
        }
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

    /** An input with the shape of {@code ref} (read-only memory is fine). */
    public static void inputLike(String name, Tensor t, String refName, Tensor ref) {
        accessible(name, t);
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException(name + ": dtype " + t.dtype() + " is not supported yet; F32 only");
        }
        if (t.rows() != ref.rows() || t.cols() != ref.cols() || t.rank() > 2) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(t.shape())
                    + " does not match " + refName + " " + Arrays.toString(ref.shape()));
        }
    }

    /** An output with the shape of {@code ref}: also writable. */
    public static void outputLike(String name, Tensor t, String refName, Tensor ref) {
        inputLike(name, t, refName, ref);
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
        boolean sameView = out.segment().equals(in.segment()) && out.offset() == in.offset()
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
        if (freq.dtype() != DType.F32 || freq.rank() != 1 || freq.cols() != n) {
            throw new IllegalArgumentException("freq: expected a rank-1 F32 tensor of V = " + n + " entries, got " + freq);
        }
        for (int v = 0; v < n; v++) {
            float f = freq.getFloat(v);
            if (!(f > 0f && f <= 1f)) {
                throw new IllegalArgumentException("freq: entry " + v + " is " + f + "; expected a smoothed frequency in"
                        + " (0, 1], e.g. (count + 1)/(total + V)");
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
