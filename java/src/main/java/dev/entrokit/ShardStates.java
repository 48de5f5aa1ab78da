package dev.entrokit;

import static dev.entrokit.internal.PartialStateKernels.BAD;
import static dev.entrokit.internal.PartialStateKernels.COUNT;
import static dev.entrokit.internal.PartialStateKernels.D;
import static dev.entrokit.internal.PartialStateKernels.DS;
import static dev.entrokit.internal.PartialStateKernels.FLAGS;
import static dev.entrokit.internal.PartialStateKernels.IGNORED;
import static dev.entrokit.internal.PartialStateKernels.INF_REV;
import static dev.entrokit.internal.PartialStateKernels.M;
import static dev.entrokit.internal.PartialStateKernels.MS;
import static dev.entrokit.internal.PartialStateKernels.TERMS;
import static dev.entrokit.internal.PartialStateKernels.U;
import static dev.entrokit.internal.PartialStateKernels.V;
import static dev.entrokit.internal.PartialStateKernels.WIDTH;

import dev.entrokit.internal.Checks;
import dev.entrokit.internal.HalfKernels;
import dev.entrokit.internal.HalfRows;
import dev.entrokit.internal.PartialStateKernels;
import dev.entrokit.internal.PartialStates;
import dev.entrokit.internal.RowExecutor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.function.Supplier;

/**
 * Per-row partial states of a vocabulary shard (SPEC §8): what tensor-parallel training and decoding exchange
 * instead of whole rows. Each process holds the logits of columns {@code [offset, offset + cols)} of every row
 * of length {@code rowLength}; it computes its states ({@link #of}, {@link #ofLabels}, {@link #ofPair}),
 * serializes them ({@link #toBytes}, {@link #writeTo}), all-gathers them (NCCL, MPI, Spark's barrier
 * {@code allGather}), {@link #merge}s every shard's states in shard order, and {@link #finish}es the merged
 * states into the row values: logsumexp, entropy, cross-entropy, KL, reverse KL, JSD, token log-probabilities.
 * The backward needs no further exchange: each process writes its own columns of the softmax or of the
 * gradient from the merged states ({@link #softmax}, {@link #gradient}, {@link #labelGradient},
 * {@link #pairGradient}). JSD takes one more round: its terms need the row's normalizers first
 * ({@link #jsdTerms}).
 *
 * <p>A merge is associative and commutative in exact arithmetic; in float64 the grouping changes the last
 * bits, so merge in one fixed order (shard order) when results must be bitwise reproducible. Merged results
 * agree with the unsharded op within SPEC §5. Instances are immutable; {@link #merge} returns a new one.
 */
public final class ShardStates {
    /** The serialized form's version; {@link #read} refuses others. */
    public static final byte VERSION = 1;
    /** Bytes before the first row's record in the serialized form. */
    public static final int HEADER_BYTES = 32;
    /** Bytes per row in the serialized form: {@code 11} little-endian float64 fields (SPEC §8). */
    public static final int ROW_BYTES = WIDTH * Double.BYTES;

    private static final int MAGIC = 0x5350_4B45; // "EKPS" little-endian
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final ShardOp op;
    private final boolean terms;
    private final float temperature;
    private final float beta;
    private final float smoothing;
    private final int rows;
    private final long rowLength;
    private final double[] st;

    private ShardStates(ShardOp op, boolean terms, float temperature, float beta, float smoothing, int rows,
                        long rowLength, double[] st) {
        this.op = op;
        this.terms = terms;
        this.temperature = temperature;
        this.beta = beta;
        this.smoothing = smoothing;
        this.rows = rows;
        this.rowLength = rowLength;
        this.st = st;
    }

    private float invT() {
        return 1f / temperature;
    }

    // ---------------------------------------------------------------- phase 1

    /**
     * States of {@link ShardOp#LOG_SUM_EXP} or {@link ShardOp#ENTROPY} for a shard: {@code logits} holds
     * columns {@code [offset, offset + cols)} of rows {@code rowLength} long, at {@code options.temperature()}.
     */
    public static ShardStates of(Entrokit ek, ShardOp op, Tensor logits, long offset, long rowLength,
                                 LossOptions options) {
        Checks.notNull("ek", ek);
        Checks.notNull("op", op);
        Checks.notNull("options", options);
        if (op != ShardOp.LOG_SUM_EXP && op != ShardOp.ENTROPY) {
            throw new IllegalArgumentException("op: " + op + " is not a single-row op without labels; use "
                    + (op.pair() ? "ofPair" : "ofLabels"));
        }
        int n = Checks.cols("logits", logits);
        Checks.shard(offset, n, rowLength);
        boolean shareable = Checks.shareable("logits", logits);
        RowExecutor exec = ek.rowsForShards();
        PartialStateKernels ps = ek.partialStates();
        Supplier<HalfKernels> half = ek.halfKernels();
        int nRows = (int) logits.rows();
        double[] st = new double[nRows * WIDTH];
        float invT = 1f / options.temperature();
        boolean entropy = op == ShardOp.ENTROPY;
        HalfRows.Rows x = HalfRows.of(logits, 0, half);
        exec.forEachRow(nRows, n, shareable, r -> ps.single(x.read(r), x.at(r), n, offset, invT,
                entropy, -1, false, st, r * WIDTH));
        return new ShardStates(op, false, options.temperature(), 0f, 0f, nRows, rowLength, st);
    }

    /**
     * States of {@link ShardOp#CROSS_ENTROPY_LABELS} or {@link ShardOp#TOKEN_LOGPROB}: {@code labels} is a rank-1
     * I32 tensor of one <em>global</em> column per row (in {@code [0, rowLength)}; for cross-entropy also
     * {@code options.ignoreIndex()}, which gives 0 and a zero gradient). Cross-entropy reads
     * {@code options.labelSmoothing()}; both read the temperature.
     */
    public static ShardStates ofLabels(Entrokit ek, ShardOp op, Tensor logits, Tensor labels, long offset,
                                       long rowLength, LossOptions options) {
        Checks.notNull("ek", ek);
        Checks.notNull("op", op);
        Checks.notNull("options", options);
        if (op != ShardOp.CROSS_ENTROPY_LABELS && op != ShardOp.TOKEN_LOGPROB) {
            throw new IllegalArgumentException("op: " + op + " takes no labels; use " + (op.pair() ? "ofPair" : "of"));
        }
        int n = Checks.cols("logits", logits);
        Checks.shard(offset, n, rowLength);
        int nRows = (int) logits.rows();
        boolean ce = op == ShardOp.CROSS_ENTROPY_LABELS;
        if (ce) {
            Checks.labels(labels, nRows, (int) rowLength, options.ignoreIndex());
        } else {
            Checks.ids(labels, nRows, (int) rowLength);
        }
        boolean shareable = Checks.shareable("logits", logits) & Checks.shareable("labels", labels);
        RowExecutor exec = ek.rowsForShards();
        PartialStateKernels ps = ek.partialStates();
        Supplier<HalfKernels> half = ek.halfKernels();
        double[] st = new double[nRows * WIDTH];
        float invT = 1f / options.temperature();
        float eps = ce ? options.labelSmoothing() : 0f;
        HalfRows.Rows x = HalfRows.of(logits, 0, half);
        exec.forEachRow(nRows, n, shareable, r -> {
            long y = labels.getInt(r);
            int local = y >= offset && y < offset + n ? (int) (y - offset) : -1;
            ps.single(x.read(r), x.at(r), n, offset, invT, false, local, eps > 0, st, r * WIDTH);
            if (ce && y == options.ignoreIndex()) {
                st[r * WIDTH + FLAGS] = (int) st[r * WIDTH + FLAGS] | IGNORED;
            }
        });
        return new ShardStates(op, false, options.temperature(), 0f, eps, nRows, rowLength, st);
    }

    /**
     * States of a teacher/student op ({@link ShardOp#CROSS_ENTROPY}, {@link ShardOp#KL}, {@link ShardOp#RKL},
     * {@link ShardOp#JSD}) over the same columns of both. For JSD these are the normalizers: merge them, then
     * take {@link #jsdTerms}.
     */
    public static ShardStates ofPair(Entrokit ek, ShardOp op, Tensor teacher, Tensor student, long offset,
                                     long rowLength, LossOptions options) {
        Checks.notNull("ek", ek);
        Checks.notNull("op", op);
        Checks.notNull("options", options);
        if (!op.pair()) {
            throw new IllegalArgumentException("op: " + op + " reads one distribution; use of or ofLabels");
        }
        int n = Checks.cols("student", student);
        Checks.cols("teacher", teacher);
        Checks.inputLike("teacher", teacher, "student", student);
        Checks.shard(offset, n, rowLength);
        if (op == ShardOp.JSD && !(options.beta() > 0f && options.beta() < 1f)) {
            throw new IllegalArgumentException("beta: sharded JSD takes 0 < beta < 1 (use KL or RKL at the ends), got "
                    + options.beta());
        }
        boolean shareable = Checks.shareable("student", student) & Checks.shareable("teacher", teacher);
        RowExecutor exec = ek.rowsForShards();
        PartialStateKernels ps = ek.partialStates();
        Supplier<HalfKernels> half = ek.halfKernels();
        int nRows = (int) student.rows();
        double[] st = new double[nRows * WIDTH];
        float invT = 1f / options.temperature();
        HalfRows.Rows t = HalfRows.of(teacher, 1, half);
        HalfRows.Rows x = HalfRows.of(student, 0, half);
        exec.forEachRow(nRows, n, shareable, r -> ps.pair(op, t.read(r), t.at(r), x.read(r), x.at(r), n, offset, invT,
                st, r * WIDTH));
        return new ShardStates(op, false, options.temperature(), op == ShardOp.JSD ? options.beta() : 0f, 0f, nRows,
                rowLength, st);
    }

    /** The states of a shard with no columns: the identity of {@link #merge}. */
    public static ShardStates empty(ShardOp op, int rows, long rowLength, LossOptions options) {
        Checks.notNull("op", op);
        Checks.notNull("options", options);
        if (rows < 0) {
            throw new IllegalArgumentException("rows: must be >= 0, got " + rows);
        }
        Checks.shard(0, 0, rowLength);
        double[] st = new double[rows * WIDTH];
        for (int r = 0; r < rows; r++) {
            PartialStates.identity(st, r * WIDTH);
        }
        return new ShardStates(op, false, options.temperature(), op == ShardOp.JSD ? options.beta() : 0f,
                op == ShardOp.CROSS_ENTROPY_LABELS ? options.labelSmoothing() : 0f, rows, rowLength, st);
    }

    // ---------------------------------------------------------------- merging

    /**
     * The states of both shards together (this one's columns and {@code other}'s, which must not overlap).
     * Refused unless both have the same op, stage, rows, row length, temperature, β and smoothing.
     */
    public ShardStates merge(ShardStates other) {
        Checks.notNull("other", other);
        // An empty shard's states are the identity of either JSD round: ShardStates.empty serves both.
        boolean eitherStage = op == ShardOp.JSD && terms != other.terms && (empty() || other.empty());
        boolean mergedTerms = eitherStage ? !empty() ? terms : other.terms : terms;
        compatible(other, eitherStage);
        double[] out = new double[st.length];
        float invT = invT();
        for (int r = 0; r < rows; r++) {
            int b = r * WIDTH;
            if (st[b + COUNT] + other.st[b + COUNT] > rowLength) {
                throw new IllegalArgumentException("other: row " + r + " would cover " + (long) (st[b + COUNT]
                        + other.st[b + COUNT]) + " of " + rowLength + " columns, so the shards overlap");
            }
            PartialStates.merge(op, invT, st, b, other.st, b, out, b);
        }
        return new ShardStates(op, mergedTerms, temperature, beta, smoothing, rows, rowLength, out);
    }

    /** Whether no row covers any column (the states of an empty shard). */
    private boolean empty() {
        for (int r = 0; r < rows; r++) {
            if (st[r * WIDTH + COUNT] != 0) {
                return false;
            }
        }
        return true;
    }

    /** Merges {@code states} in list order (use shard order for bitwise-reproducible results). */
    public static ShardStates mergeAll(List<ShardStates> states) {
        Checks.notNull("states", states);
        if (states.isEmpty()) {
            throw new IllegalArgumentException("states: empty; merge at least one");
        }
        ShardStates acc = states.get(0);
        Checks.notNull("states[0]", acc);
        for (int i = 1; i < states.size(); i++) {
            acc = acc.merge(states.get(i));
        }
        return acc;
    }

    private void compatible(ShardStates o, boolean eitherStage) {
        if (o.op != op || (o.terms != terms && !eitherStage)) {
            throw new IllegalArgumentException("other: holds " + o.describe() + ", this holds " + describe());
        }
        if (o.rows != rows || o.rowLength != rowLength) {
            throw new IllegalArgumentException("other: " + o.rows + " rows of " + o.rowLength + " columns, this "
                    + rows + " rows of " + rowLength);
        }
        if (Float.compare(o.temperature, temperature) != 0 || Float.compare(o.beta, beta) != 0
                || Float.compare(o.smoothing, smoothing) != 0) {
            throw new IllegalArgumentException("other: temperature " + o.temperature + ", beta " + o.beta
                    + ", labelSmoothing " + o.smoothing + " differ from this one's " + temperature + ", " + beta + ", "
                    + smoothing);
        }
    }

    private String describe() {
        return op + (terms ? " terms" : op == ShardOp.JSD ? " normalizers" : " states");
    }

    // ---------------------------------------------------------------- finishing

    /** Whether every row covers all {@code rowLength} columns (every shard merged). */
    public boolean complete() {
        for (int r = 0; r < rows; r++) {
            if (st[r * WIDTH + COUNT] != rowLength) {
                return false;
            }
        }
        return true;
    }

    private void requireComplete(String what) {
        for (int r = 0; r < rows; r++) {
            if (st[r * WIDTH + COUNT] != rowLength) {
                throw new IllegalStateException("states: row " + r + " covers " + (long) st[r * WIDTH + COUNT] + " of "
                        + rowLength + " columns; merge every shard before " + what);
            }
        }
    }

    /**
     * The row values of the merged states: logsumexp, entropy, the loss (ignored label rows give 0), or the
     * token log-probability; NaN for NaN rows and {@code +inf} where SPEC §1 says so, as the unsharded op.
     *
     * @throws IllegalStateException when a row misses columns, or JSD has only its normalizers
     */
    public double[] values() {
        requireComplete("finishing");
        if (op == ShardOp.JSD && !terms) {
            throw new IllegalStateException("states: JSD normalizers; take jsdTerms of the merged normalizers, merge"
                    + " those, then finish");
        }
        double[] v = new double[rows];
        for (int r = 0; r < rows; r++) {
            v[r] = PartialStates.finish(op, invT(), beta, smoothing, rowLength, st, r * WIDTH);
        }
        return v;
    }

    /** {@link #values()} into {@code out}, a rank-1 F32 tensor of at least {@code rows} elements. */
    public void finish(Tensor out) {
        Checks.rowOutput("out", out, DType.F32, rows);
        double[] v = values();
        for (int r = 0; r < rows; r++) {
            out.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, out.index(r), (float) v[r]);
        }
    }

    /**
     * JSD's second round: from the merged, complete normalizers, this shard's terms
     * ({@code Σ p log(p/M)}, {@code Σ q log(q/M)} over its columns). Merge every shard's terms, then finish
     * them or take {@link #pairGradient} from them.
     */
    public ShardStates jsdTerms(Entrokit ek, Tensor teacher, Tensor student, long offset) {
        Checks.notNull("ek", ek);
        if (op != ShardOp.JSD || terms) {
            throw new IllegalStateException("states: jsdTerms needs JSD normalizers, these are " + describe());
        }
        requireComplete("taking JSD terms");
        int n = pairShape(teacher, student, offset);
        boolean shareable = Checks.shareable("student", student) & Checks.shareable("teacher", teacher);
        RowExecutor exec = ek.rowsForShards();
        PartialStateKernels ps = ek.partialStates();
        Supplier<HalfKernels> half = ek.halfKernels();
        float invT = invT();
        double[] out = new double[st.length];
        HalfRows.Rows t = HalfRows.of(teacher, 1, half);
        HalfRows.Rows x = HalfRows.of(student, 0, half);
        exec.forEachRow(rows, n, shareable, r -> {
            int b = r * WIDTH;
            PartialStates.copy(st, b, out, b);
            out[b + COUNT] = n;
            out[b + FLAGS] = (int) st[b + FLAGS] | TERMS;
            if (nanRow(b)) {
                out[b + U] = Double.NaN;
                out[b + V] = Double.NaN;
                return;
            }
            double[] two = new double[2];
            ps.jsdTerms(t.read(r), t.at(r), x.read(r), x.at(r), n, invT, beta,
                    st[b + M], Math.log(st[b + D]), st[b + MS], Math.log(st[b + DS]),
                    PartialStates.extreme(true, invT, st, b), two);
            out[b + U] = two[0];
            out[b + V] = two[1];
        });
        return new ShardStates(op, true, temperature, beta, smoothing, rows, rowLength, out);
    }

    private boolean nanRow(int b) {
        return ((int) st[b + FLAGS] & BAD) != 0 || st[b + M] == Double.NEGATIVE_INFINITY
                || (op.pair() && st[b + MS] == Double.NEGATIVE_INFINITY);
    }

    // ---------------------------------------------------------------- phase 2: this shard's columns

    private int singleShape(Tensor logits, long offset, Tensor out, String outName) {
        int n = Checks.cols("logits", logits);
        Checks.shard(offset, n, rowLength);
        if (logits.rows() != rows) {
            throw new IllegalArgumentException("logits: " + logits.rows() + " rows, the states have " + rows);
        }
        Checks.outputLike(outName, out, "logits", logits);
        return n;
    }

    private int pairShape(Tensor teacher, Tensor student, long offset) {
        int n = Checks.cols("student", student);
        Checks.cols("teacher", teacher);
        Checks.inputLike("teacher", teacher, "student", student);
        Checks.shard(offset, n, rowLength);
        if (student.rows() != rows) {
            throw new IllegalArgumentException("student: " + student.rows() + " rows, the states have " + rows);
        }
        return n;
    }

    /**
     * Writes this shard's columns of {@code softmax(x/T)} (or, with {@code log}, of log-softmax) from merged,
     * complete {@link ShardOp#LOG_SUM_EXP} or {@link ShardOp#ENTROPY} states; {@code out} may be {@code logits}.
     */
    public void softmax(Entrokit ek, Tensor logits, long offset, Tensor out, boolean log) {
        Checks.notNull("ek", ek);
        if (op != ShardOp.LOG_SUM_EXP && op != ShardOp.ENTROPY) {
            throw new IllegalStateException("states: softmax needs LOG_SUM_EXP or ENTROPY states, these are " + describe());
        }
        requireComplete("writing the softmax");
        int n = singleShape(logits, offset, out, "out");
        Checks.noOverlap("out", out, "logits", logits, true);
        boolean shareable = Checks.shareable("logits", logits) & Checks.shareable("out", out);
        PartialStateKernels ps = ek.partialStates();
        Supplier<HalfKernels> half = ek.halfKernels();
        float invT = invT();
        HalfRows.Rows x = HalfRows.of(logits, 0, half);
        HalfRows.Rows o = HalfRows.of(out, 1, half);
        ek.rowsForShards().forEachRow(rows, n, shareable, r -> {
            int b = r * WIDTH;
            // A NaN row: NaN everywhere, through the log-softmax writer with log d = NaN.
            double logD = nanRow(b) ? Double.NaN : Math.log(st[b + D]);
            double m = nanRow(b) ? 0 : st[b + M];
            if (log || Double.isNaN(logD)) {
                ps.logSoftmax(x.read(r), x.at(r), n, invT, m, logD, o.write(r), o.at(r));
            } else {
                ps.softmax(x.read(r), x.at(r), n, invT, m, logD, o.write(r), o.at(r));
            }
            o.store(r);
        });
    }

    /**
     * Writes this shard's columns of the entropy gradient {@code −p ⊙ (log p + H) · gradScale/T} from merged,
     * complete {@link ShardOp#ENTROPY} states; {@code gradScale} is each row's upstream gradient.
     */
    public void gradient(Entrokit ek, Tensor logits, long offset, Tensor grad, float gradScale) {
        Checks.notNull("ek", ek);
        if (op != ShardOp.ENTROPY) {
            throw new IllegalStateException("states: gradient(logits) needs ENTROPY states, these are " + describe());
        }
        requireComplete("writing the gradient");
        gradScale(gradScale);
        int n = singleShape(logits, offset, grad, "grad");
        Checks.noOverlap("grad", grad, "logits", logits, false);
        boolean shareable = Checks.shareable("logits", logits) & Checks.shareable("grad", grad);
        PartialStateKernels ps = ek.partialStates();
        Supplier<HalfKernels> half = ek.halfKernels();
        float invT = invT();
        HalfRows.Rows x = HalfRows.of(logits, 0, half);
        HalfRows.Rows g = HalfRows.of(grad, 2, half);
        ek.rowsForShards().forEachRow(rows, n, shareable, r -> {
            int b = r * WIDTH;
            if (nanRow(b)) {
                ps.logSoftmax(x.read(r), x.at(r), n, invT, 0, Double.NaN, g.write(r), g.at(r));
                g.store(r);
                return;
            }
            double logD = Math.log(st[b + D]);
            double h = PartialStates.finish(op, invT, 0, 0, rowLength, st, b);
            ps.entropyGrad(x.read(r), x.at(r), n, invT, st[b + M], logD, h,
                    PartialStates.extreme(false, invT, st, b), g.write(r), g.at(r), gradScale);
            g.store(r);
        });
    }

    /**
     * Writes this shard's columns of the hard-label cross-entropy gradient
     * {@code (q − (1−ε)·onehot(y) − ε/V) · gradScale/T} from merged, complete {@link ShardOp#CROSS_ENTROPY_LABELS}
     * states; {@code labels} as given to {@link #ofLabels}; ignored rows get 0.
     */
    public void labelGradient(Entrokit ek, Tensor logits, Tensor labels, long offset, Tensor grad, float gradScale) {
        Checks.notNull("ek", ek);
        if (op != ShardOp.CROSS_ENTROPY_LABELS) {
            throw new IllegalStateException("states: labelGradient needs CROSS_ENTROPY_LABELS states, these are "
                    + describe());
        }
        requireComplete("writing the gradient");
        gradScale(gradScale);
        int n = singleShape(logits, offset, grad, "grad");
        Checks.noOverlap("grad", grad, "logits", logits, false);
        Checks.accessible("labels", labels);
        if (labels.dtype() != DType.I32 || labels.rank() != 1 || labels.cols() != rows) {
            throw new IllegalArgumentException("labels: expected a rank-1 I32 tensor of " + rows + " labels, got " + labels);
        }
        boolean shareable = Checks.shareable("logits", logits) & Checks.shareable("grad", grad)
                & Checks.shareable("labels", labels);
        PartialStateKernels ps = ek.partialStates();
        Supplier<HalfKernels> half = ek.halfKernels();
        float invT = invT();
        HalfRows.Rows x = HalfRows.of(logits, 0, half);
        HalfRows.Rows g = HalfRows.of(grad, 2, half);
        ek.rowsForShards().forEachRow(rows, n, shareable, r -> {
            int b = r * WIDTH;
            if (((int) st[b + FLAGS] & IGNORED) != 0) {
                HalfRows.zero(grad, r);
                return;
            }
            if (nanRow(b)) {
                ps.logSoftmax(x.read(r), x.at(r), n, invT, 0, Double.NaN, g.write(r), g.at(r));
                g.store(r);
                return;
            }
            long y = labels.getInt(r);
            int local = y >= offset && y < offset + n ? (int) (y - offset) : -1;
            ps.labelGrad(x.read(r), x.at(r), n, invT, st[b + M], Math.log(st[b + D]), local, smoothing,
                    rowLength, false, g.write(r), g.at(r), gradScale);
            g.store(r);
        });
    }

    /**
     * Writes this shard's columns of the gradient w.r.t. the student (SPEC §1: {@code q − p} for cross-entropy and
     * KL, the reverse-KL and JSD formulas) from merged, complete states: {@link ShardOp#CROSS_ENTROPY},
     * {@link ShardOp#KL}, {@link ShardOp#RKL}, or JSD <em>terms</em>. An infinite reverse KL gives NaN.
     */
    public void pairGradient(Entrokit ek, Tensor teacher, Tensor student, long offset, Tensor grad, float gradScale) {
        Checks.notNull("ek", ek);
        if (!op.pair() || (op == ShardOp.JSD && !terms)) {
            throw new IllegalStateException("states: pairGradient needs CROSS_ENTROPY, KL, RKL states or JSD terms,"
                    + " these are " + describe());
        }
        requireComplete("writing the gradient");
        gradScale(gradScale);
        int n = pairShape(teacher, student, offset);
        Checks.outputLike("grad", grad, "student", student);
        Checks.noOverlap("grad", grad, "student", student, false);
        Checks.noOverlap("grad", grad, "teacher", teacher, false);
        boolean shareable = Checks.shareable("student", student) & Checks.shareable("teacher", teacher)
                & Checks.shareable("grad", grad);
        PartialStateKernels ps = ek.partialStates();
        Supplier<HalfKernels> half = ek.halfKernels();
        float invT = invT();
        HalfRows.Rows tx = HalfRows.of(teacher, 1, half);
        HalfRows.Rows sx = HalfRows.of(student, 0, half);
        HalfRows.Rows gx = HalfRows.of(grad, 2, half);
        ek.rowsForShards().forEachRow(rows, n, shareable, r -> {
            int b = r * WIDTH;
            MemorySegment t = tx.read(r);
            long tOff = tx.at(r);
            MemorySegment s = sx.read(r);
            long sOff = sx.at(r);
            MemorySegment g = gx.write(r);
            long gOff = gx.at(r);
            if (nanRow(b) || (op == ShardOp.RKL && ((int) st[b + FLAGS] & INF_REV) != 0)) {
                ps.logSoftmax(s, sOff, n, invT, 0, Double.NaN, g, gOff);
                gx.store(r);
                return;
            }
            double logDt = Math.log(st[b + D]);
            double logDs = Math.log(st[b + DS]);
            boolean extreme = PartialStates.extreme(true, invT, st, b);
            switch (op) {
                case CROSS_ENTROPY, KL -> ps.qMinusP(t, tOff, s, sOff, n, invT, st[b + M], logDt, st[b + MS], logDs,
                        extreme, g, gOff, gradScale);
                case RKL -> ps.rklGrad(t, tOff, s, sOff, n, invT, st[b + MS], logDs, st[b + V], st[b + U] / st[b + DS],
                        extreme, g, gOff, gradScale);
                default -> ps.jsdGrad(t, tOff, s, sOff, n, invT, beta, st[b + M], logDt, st[b + MS], logDs, st[b + V],
                        extreme, g, gOff, gradScale);
            }
            gx.store(r);
        });
    }

    private static void gradScale(float gradScale) {
        if (!Float.isFinite(gradScale)) {
            throw new IllegalArgumentException("gradScale: must be finite, got " + gradScale);
        }
    }

    // ---------------------------------------------------------------- serialized form

    /** Bytes of the serialized form: {@link #HEADER_BYTES} + rows · {@link #ROW_BYTES}. */
    public long byteSize() {
        return HEADER_BYTES + (long) rows * ROW_BYTES;
    }

    /** The serialized form (SPEC §8) as a new array. */
    public byte[] toBytes() {
        if (byteSize() > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("states: " + byteSize() + " bytes do not fit an array; use writeTo");
        }
        byte[] out = new byte[(int) byteSize()];
        writeTo(MemorySegment.ofArray(out), 0);
        return out;
    }

    /** Writes the serialized form at {@code byteOffset} of {@code dst}; returns the bytes written. */
    public long writeTo(MemorySegment dst, long byteOffset) {
        Checks.notNull("dst", dst);
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("dst: segment is read-only");
        }
        if (byteOffset < 0 || byteOffset > dst.byteSize() - byteSize()) {
            throw new IllegalArgumentException("dst: needs " + byteSize() + " bytes at offset " + byteOffset
                    + ", the segment has " + dst.byteSize());
        }
        MemorySegment out = dst.asSlice(byteOffset, byteSize());
        out.set(I32, 0, MAGIC);
        out.set(ValueLayout.JAVA_BYTE, 4, VERSION);
        out.set(ValueLayout.JAVA_BYTE, 5, (byte) op.ordinal());
        out.set(ValueLayout.JAVA_BYTE, 6, (byte) (terms ? 2 : 1));
        out.set(ValueLayout.JAVA_BYTE, 7, (byte) 0);
        out.set(F32, 8, temperature);
        out.set(F32, 12, beta);
        out.set(F32, 16, smoothing);
        out.set(I32, 20, rows);
        out.set(I64, 24, rowLength);
        for (int i = 0; i < st.length; i++) {
            out.set(F64, HEADER_BYTES + (long) i * Double.BYTES, st[i]);
        }
        return byteSize();
    }

    /** Reads states from their serialized form. */
    public static ShardStates fromBytes(byte[] bytes) {
        Checks.notNull("bytes", bytes);
        return read(MemorySegment.ofArray(bytes), 0);
    }

    /** Reads states serialized at {@code byteOffset} of {@code src}, refusing a wrong magic, version or size. */
    public static ShardStates read(MemorySegment src, long byteOffset) {
        Checks.notNull("src", src);
        if (byteOffset < 0 || byteOffset > src.byteSize() - HEADER_BYTES) {
            throw new IllegalArgumentException("src: no " + HEADER_BYTES + "-byte header at offset " + byteOffset
                    + " of " + src.byteSize() + " bytes");
        }
        MemorySegment in = src.asSlice(byteOffset);
        if (in.get(I32, 0) != MAGIC) {
            throw new IllegalArgumentException("src: not entrokit shard states (magic " + Integer.toHexString(in.get(I32, 0))
                    + ")");
        }
        byte version = in.get(ValueLayout.JAVA_BYTE, 4);
        if (version != VERSION) {
            throw new IllegalArgumentException("src: version " + version + ", this library reads " + VERSION);
        }
        int ordinal = in.get(ValueLayout.JAVA_BYTE, 5);
        byte stage = in.get(ValueLayout.JAVA_BYTE, 6);
        int rows = in.get(I32, 20);
        long rowLength = in.get(I64, 24);
        float temperature = in.get(F32, 8);
        if (ordinal < 0 || ordinal >= ShardOp.values().length || (stage != 1 && stage != 2) || rows < 0
                || rowLength < 1 || rowLength > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("src: malformed header (op " + ordinal + ", stage " + stage + ", rows "
                    + rows + ", rowLength " + rowLength + ")");
        }
        Checks.temperature(temperature);
        ShardOp op = ShardOp.values()[ordinal];
        if (stage == 2 && op != ShardOp.JSD) {
            throw new IllegalArgumentException("src: stage 2 (terms) exists for JSD only, got " + op);
        }
        long size = HEADER_BYTES + (long) rows * ROW_BYTES;
        if (in.byteSize() < size) {
            throw new IllegalArgumentException("src: " + rows + " rows need " + size + " bytes, " + in.byteSize()
                    + " remain");
        }
        double[] st = new double[rows * WIDTH];
        for (int i = 0; i < st.length; i++) {
            st[i] = in.get(F64, HEADER_BYTES + (long) i * Double.BYTES);
        }
        return new ShardStates(op, stage == 2, temperature, in.get(F32, 12), in.get(F32, 16), rows, rowLength, st);
    }

    // ---------------------------------------------------------------- accessors

    /** The op these states summarize. */
    public ShardOp op() {
        return op;
    }

    /** Rows. */
    public int rows() {
        return rows;
    }

    /** The full row length {@code V} the shards split. */
    public long rowLength() {
        return rowLength;
    }

    /** Columns of row {@code row} these states cover so far. */
    public long covered(int row) {
        java.util.Objects.checkIndex(row, rows);
        return (long) st[row * WIDTH + COUNT];
    }
}
