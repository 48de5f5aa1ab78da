package dev.entrokit;

import static dev.entrokit.internal.Checks.*;

import dev.entrokit.cuda.CudaKernels;
import dev.entrokit.cuda.CudaStream;
import dev.entrokit.cuda.DeviceTensor;
import dev.entrokit.internal.Backend;
import dev.entrokit.internal.Backends;
import dev.entrokit.internal.Checks;
import dev.entrokit.internal.HalfKernels;
import dev.entrokit.internal.HalfRows;
import dev.entrokit.internal.LossDriver;
import dev.entrokit.internal.PolicyDriver;
import dev.entrokit.internal.RowExecutor;
import dev.entrokit.internal.RowSplit;
import dev.entrokit.internal.ScoringKernels;
import dev.entrokit.internal.SoftmaxKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The public façade: every op checks its arguments, then delegates. The checks live in
 * {@code internal.Checks} (shared with the CUDA API); a per-row op then hands each row to the
 * backend's kernel ({@code SoftmaxKernels}, {@code DivergenceKernels}, {@code ScoringKernels}) through the
 * row pool, and the losses go to {@code internal.LossDriver} (reductions, {@code ignoreIndex}, the endpoints
 * of JSD and the α-family) or {@code internal.PolicyDriver}. No math happens here.
 *
 * <p>This class holds the distribution ops (the softmax family and its backwards), the losses and
 * divergences ({@link #loss} and its named shorthands, the policy and sparse-teacher losses),
 * {@link #tokenLogprob}, the {@code float[]} conveniences, and the {@link DeviceTensor} overloads of the
 * softmax family and the losses. The other families are views of the same instance, made with it:
 * {@link #decoding()} (selection, sampling and the logit passes ahead of them, SPEC §2), {@link #scores()}
 * (the sequence scores of pretraining-data detection, SPEC §4) and {@link #transport()} (Sinkhorn and SinKD,
 * SPEC §3).
 *
 * <p>Tensors hold {@code [rows, V]} logits (a rank-1 tensor is one row). Outputs go into caller
 * buffers; per-row losses into a rank-1 tensor of at least {@code rows} elements.
 *
 * <p>Float inputs, wherever a parameter below says F32 or float32 for an input, may also be
 * {@link DType#BF16} or {@link DType#F16} (SPEC §6, "Input dtypes"): each half row is widened exactly and
 * the op computes what it computes on the float32 row of those values. An output shaped like an input
 * (probabilities, log-probabilities, gradients, masked logits, in-place passes) may be F32 or that input's
 * own half type, rounded once at the store; per-row and per-position outputs are F32.
 *
 * <p>Host and device: the ops on {@link Tensor}s (host memory) run on this instance's backend; on the
 * {@code cuda} backend that is the best CPU backend ({@code simd}, else {@code scalar}), since copying
 * every row to the GPU and back would cost more than it saves. The overloads on
 * {@link DeviceTensor}s run on CUDA, queued on a {@link CudaStream}, whatever the backend. Both take
 * the same option types and are checked by the same checks. {@link #backendDescription()} says which
 * runs where.
 *
 * <p>Use {@link #get()} for the backend configured at start ({@code -Dentrokit.backend},
 * {@code -Dentrokit.threads}), or {@link #create(String, int)} for a specific one. Instances are
 * thread-safe.
 *
 * <p>Lifetime: an instance from {@link #create} is yours to {@link #close()}; after that every op
 * throws {@code IllegalStateException("entrokit: closed")}, the ops of its views too. The shared
 * instance from {@link #get()} lives as long as the JVM: other code in the process holds it too, so
 * closing it does nothing (try-with-resources on it is harmless).
 *
 * <p>Every tensor argument is checked before anything reads it: a null tensor, memory whose arena is
 * closed, or memory confined to another thread is refused with an {@code IllegalArgumentException}
 * that names the argument.
 */
public final class Entrokit implements AutoCloseable {
    /** Each thread's statistics of the row it is on: the fused softmax allocates nothing per row. */
    private static final ThreadLocal<double[]> ROW_STATS = ThreadLocal.withInitial(() -> new double[3]);

    private final Engine engine;
    private final Backend backend;
    private final SoftmaxKernels softmaxKernels;
    private final ScoringKernels scoring;
    private final RowExecutor rows;
    private final LossDriver losses;
    private final PolicyDriver policy;
    private final Decoding decoding;
    private final DetectionScores scores;
    private final Transport transport;
    private final boolean shared;

    private Entrokit(Backend backend, int threads, boolean shared) {
        this.shared = shared;
        this.engine = new Engine(backend, threads);
        this.backend = backend;
        this.rows = engine.rows;
        this.softmaxKernels = engine.softmax;
        this.scoring = engine.scoring;
        this.losses = new LossDriver(softmaxKernels, engine.divergences, rows, backend::half);
        this.policy = new PolicyDriver(backend.policy(), rows, backend::half);
        this.decoding = new Decoding(engine);
        this.scores = new DetectionScores(engine);
        this.transport = new Transport(engine);
    }

    /** The default instance, built on first use; a configuration error is kept and reported on every call. */
    private static final class Default {
        static final Entrokit INSTANCE;
        static final RuntimeException FAILURE;

        static {
            Entrokit instance = null;
            RuntimeException failure = null;
            try {
                String request = Backends.requested();
                instance = new Entrokit(WarmUp.attach(Backends.select(request), request),
                        RowExecutor.configuredThreads(), true);
            } catch (RuntimeException e) {
                failure = e;
            }
            INSTANCE = instance;
            FAILURE = failure;
        }
    }

    /**
     * The instance configured by {@code entrokit.backend} / {@code entrokit.threads} (or their env twins).
     *
     * @throws IllegalStateException when that configuration names an unavailable backend or is malformed
     */
    public static Entrokit get() {
        if (Default.FAILURE != null) {
            throw new IllegalStateException("no default entrokit instance: " + Default.FAILURE.getMessage(),
                    Default.FAILURE);
        }
        return Default.INSTANCE;
    }

    /**
     * A new instance on backend {@code name} ({@code auto}, {@code scalar}, {@code simd}, {@code cuda})
     * with its own pool of {@code threads}; close it to stop the pool.
     *
     * <p>With the default {@code -Dentrokit.warmup=background}, an {@code auto} instance that would run
     * SIMD kernels starts the JVM's one SIMD warm-up ({@link #warmUp()}) and, created before it is done,
     * answers with the scalar kernels (the reference) until then and with the SIMD kernels after. With
     * {@code wait}, creating any instance that runs SIMD kernels returns once the warm-up is done;
     * {@code off} starts nothing. An instance that names its backend always runs that backend's kernels
     * (and under {@code background} starts no warm-up: its own first calls compile them sooner alone).
     *
     * @throws IllegalStateException    when the backend is unavailable, with the reasons
     * @throws IllegalArgumentException for an unknown backend name or {@code entrokit.warmup} value
     */
    public static Entrokit create(String name, int threads) {
        if (name == null) {
            throw new IllegalArgumentException("backend: must not be null");
        }
        return new Entrokit(WarmUp.attach(Backends.select(name), name), threads, false);
    }

    /** An instance on exactly {@code backend}, without the warm-up's hand-off (the warm-up's own, and tests'). */
    static Entrokit on(Backend backend, int threads) {
        return new Entrokit(backend, threads, false);
    }

    /**
     * Blocks until the JVM's SIMD warm-up is done, starting it if no instance has (even under
     * {@code -Dentrokit.warmup=off}): from then on the SIMD kernels run compiled, and {@code auto}
     * instances answer with them. The warm-up calls every SIMD kernel family on small heap and native
     * inputs, for at least 600 rounds and until a round's CPU time stops falling (seconds on a quiet
     * machine, longer on an overloaded one; at most 3000 rounds). Returns at once when it is done
     * already or when the SIMD backend is unavailable here.
     */
    public static void warmUp() {
        WarmUp.await();
    }

    /**
     * The SIMD warm-up's setting ({@code background}, {@code wait} or {@code off}, from
     * {@code -Dentrokit.warmup} or {@code ENTROKIT_WARMUP}) and, in parentheses, how far it got, in
     * one line (e.g. {@code background (running)}).
     *
     * @throws IllegalArgumentException when the setting is not one of those three
     */
    public static String warmUpStatus() {
        return WarmUp.describe();
    }

    /**
     * The thread count the default instance uses: {@code -Dentrokit.threads}, else
     * {@code ENTROKIT_THREADS}, else the available processors.
     *
     * @throws IllegalArgumentException when the setting is not a positive integer
     */
    public static int configuredThreads() {
        return RowExecutor.configuredThreads();
    }

    /** Every backend the library has, available or not, best first. */
    public static List<BackendInfo> backends() {
        return Backends.all().stream()
                .map(b -> new BackendInfo(b.name(), b.available(), b.reasons(), b.description()))
                .toList();
    }

    /** Name of the backend this instance runs on. */
    public String backendName() {
        return backend.name();
    }

    /** Configuration of this instance's backend, in one line. */
    public String backendDescription() {
        return backend.description();
    }

    /** Worker threads used to split rows. */
    public int threads() {
        return rows.threads();
    }

    /**
     * Stops this instance's worker threads; from then on every op throws
     * {@code IllegalStateException("entrokit: closed")}, whatever the thread count. A call already
     * running on another thread either completes every row (rows the stopped pool no longer takes run
     * on that call's own thread) or throws that same exception; it never returns with rows unwritten.
     * Closing twice is harmless. {@link #backendName()}, {@link #backendDescription()} and {@link #threads()} still
     * answer, so that a closed instance can be described.
     *
     * <p>On the shared instance of {@link #get()} this does nothing: it belongs to the whole JVM, and
     * closing it for one caller would break every other.
     */
    @Override
    public void close() {
        if (!shared) {
            engine.close();
        }
    }

    /**
     * The decoding ops of this instance (SPEC §2: selection, sampling, the exponential race and its shards,
     * Mirostat, log-prob outputs, penalties and biases, contrastive decoding, prior injection, speculative
     * and constrained sampling): one {@link Decoding} per instance, on its backend and pool, closed with it.
     */
    public Decoding decoding() {
        return decoding;
    }

    /**
     * The sequence scores of this instance (SPEC §4: Min-K%, Min-K%++, DC-PDD, the likelihood ratio, and their
     * packed forms): one {@link DetectionScores} per instance, on its backend and pool, closed with it.
     */
    public DetectionScores scores() {
        return scores;
    }

    /**
     * The optimal-transport ops of this instance (SPEC §3: Sinkhorn, ragged batches, the debiased divergence,
     * SinKD): one {@link Transport} per instance, on its backend and pool, closed with it.
     */
    public Transport transport() {
        return transport;
    }

    /** The open instance's row pool, for {@link ShardStates}. */
    RowExecutor rowsForShards() {
        checkOpen();
        return rows;
    }

    /** The backend's partial-state kernels, for {@link ShardStates}. */
    dev.entrokit.internal.PartialStateKernels partialStates() {
        return backend.partialStates();
    }

    /** The backend's half conversions for {@link ShardStates} ({@link HalfRows#of(Tensor, int, java.util.function.Supplier)}). */
    java.util.function.Supplier<HalfKernels> halfKernels() {
        return backend::half;
    }

    /** Refuses any op on a closed instance. */
    private void checkOpen() {
        engine.checkOpen();
    }

    /**
     * Any loss of the op table on host tensors: what {@link #kl}, {@link #jsd}, {@link #pld} … each call,
     * for code that picks the loss at run time. {@code op.reads()} says which of {@code teacher} and
     * {@code labels} it reads (the other must be null); its parameter comes from {@code options}
     * ({@link Loss#parameter()}: β for JSD, α for the α-family); {@code grad} must be null where
     * {@code op.hasGradient()} is false. Each op's definition is on its named method.
     *
     * @param rowLoss per-row values (nullable unless the reduction is {@link Reduction#NONE})
     * @param grad    gradient of the returned loss w.r.t. {@code student} (nullable)
     * @return the reduced loss (for {@code NONE}, the sum of the rows)
     */
    public double loss(Loss op, Tensor teacher, Tensor student, Tensor labels, LossOptions options, Tensor rowLoss,
                       Tensor grad) {
        checkOpen();
        notNull("op", op);
        if (teacher != null && !op.readsTeacher()) {
            throw new IllegalArgumentException("teacher: " + op + " reads no teacher; pass null");
        }
        if (labels != null && !op.readsLabels()) {
            throw new IllegalArgumentException("labels: " + op + " reads no labels; pass null");
        }
        return losses.run(op, teacher, student, labels, options, rowLoss, grad);
    }

    // ---------------------------------------------------------------- softmax family

    /**
     * {@link Engine#softmaxInRegisterHalf}: the softmax family and the token log-probabilities read BF16 and F16 rows in
     * registers.
     */
    private HalfKernels softmaxInRegisterHalf(Tensor t) {
        return engine.softmaxInRegisterHalf(t);
    }

    /** {@code out[r] = log Σ_i exp(logits[r,i]/T)}; {@code out} is rank 1 with at least {@code rows} elements. */
    public void logSumExp(Tensor logits, Tensor out, float temperature) {
        checkOpen();
        float invT = invTemperature(temperature);
        int n = cols("logits", logits);
        rowOutput("out", out, DType.F32, logits.rows());
        noOverlap("out", out, "logits", logits, false);
        boolean shareable = shareable("logits", logits) & shareable("out", out);
        HalfRows.Rows x = HalfRows.of(logits, 0, backend::half);
        HalfKernels hk = softmaxInRegisterHalf(logits);
        MemorySegment o = out.segment();
        RowSplit split = rowSplit(logits, logits, shareable);
        rows.forEachRow((int) logits.rows(), n, shareable, r ->
                o.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, out.index(r), (float) (hk != null
                        ? hk.logSumExp(logits.dtype(), logits.segment(), logits.index(r, 0), n, invT)
                        : softmaxKernels.logSumExp(x.read(r), x.at(r), n, invT, split))));
    }

    /**
     * Who runs the chunks of a long float32 row when the call has fewer rows than threads ({@link RowSplit}): every
     * thread, with the same bits; half rows (widened per thread) run whole.
     */
    private RowSplit rowSplit(Tensor logits, Tensor out, boolean shareable) {
        return logits.dtype() == DType.F32 && out.dtype() == DType.F32
                ? rows.split((int) logits.rows(), logits.cols(), shareable) : RowSplit.SERIAL;
    }

    /**
     * {@code probs = softmax(logits/T)} row by row; {@code probs} has the shape of {@code logits} and may be the
     * very same view (in place), but must not otherwise overlap it.
     */
    public void softmax(Tensor logits, Tensor probs, float temperature) {
        checkOpen();
        float invT = invTemperature(temperature);
        int n = cols("logits", logits);
        inPlaceOutput("probs", probs, "logits", logits);
        HalfRows.Rows x = HalfRows.of(logits, 0, backend::half);
        HalfRows.Rows o = HalfRows.of(probs, 1, backend::half);
        HalfKernels hk = softmaxInRegisterHalf(logits);
        boolean shareable = shareable("logits", logits) & shareable("probs", probs);
        RowSplit split = rowSplit(logits, probs, shareable);
        rows.forEachRow((int) logits.rows(), n, shareable, r -> {
            if (hk != null) {
                hk.softmax(logits.dtype(), logits.segment(), logits.index(r, 0), probs.dtype(), probs.segment(), probs.index(r, 0), n, invT);
                return;
            }
            softmaxKernels.softmax(x.read(r), x.at(r), o.write(r), o.at(r), n, invT, split);
            o.store(r);
        });
    }

    /** {@code out = log_softmax(logits/T)}, computed as {@code (x − m)/T − log d} so large logits stay exact. */
    public void logSoftmax(Tensor logits, Tensor logprobs, float temperature) {
        checkOpen();
        float invT = invTemperature(temperature);
        int n = cols("logits", logits);
        inPlaceOutput("logprobs", logprobs, "logits", logits);
        HalfRows.Rows x = HalfRows.of(logits, 0, backend::half);
        HalfRows.Rows o = HalfRows.of(logprobs, 1, backend::half);
        HalfKernels hk = softmaxInRegisterHalf(logits);
        boolean shareable = shareable("logits", logits) & shareable("logprobs", logprobs);
        RowSplit split = rowSplit(logits, logprobs, shareable);
        rows.forEachRow((int) logits.rows(), n, shareable, r -> {
            if (hk != null) {
                hk.logSoftmax(logits.dtype(), logits.segment(), logits.index(r, 0), logprobs.dtype(), logprobs.segment(),
                        logprobs.index(r, 0), n, invT);
                return;
            }
            softmaxKernels.logSoftmax(x.read(r), x.at(r), o.write(r), o.at(r), n, invT, split);
            o.store(r);
        });
    }

    /**
     * {@link #softmax(Tensor, Tensor, float)} with each row's statistics from the same exps — what a decoding
     * step needs beside the probabilities (entropy-based samplers read the entropy): one read of the row for
     * its max and one exp per element, instead of a softmax and an entropy call that exponentiate twice.
     * Outputs and statistics equal the separate calls ({@link #softmax(Tensor, Tensor, float)},
     * {@link #logSumExp}, {@link #entropy}) bitwise on the same backend. A special row (SPEC §1) gives NaN
     * probabilities and NaN statistics.
     *
     * @param probs        shaped like {@code logits}; may be the very same view (in place)
     * @param rowMax       per row, the largest logit (before the temperature); rank-1 F32, nullable
     * @param rowLogSumExp per row, {@code log Σ exp(logits/T)}; rank-1 F32, nullable
     * @param rowEntropy   per row, the entropy of the softmax (nats); rank-1 F32, nullable
     */
    public void softmax(Tensor logits, Tensor probs, float temperature, Tensor rowMax, Tensor rowLogSumExp,
                        Tensor rowEntropy) {
        softmaxStats(logits, "probs", probs, temperature, false, rowMax, rowLogSumExp, rowEntropy);
    }

    /**
     * {@link #logSoftmax(Tensor, Tensor, float)} with each row's statistics, as
     * {@link #softmax(Tensor, Tensor, float, Tensor, Tensor, Tensor)} gives them (one exp per element).
     *
     * @param logprobs shaped like {@code logits}; may be the very same view (in place)
     */
    public void logSoftmax(Tensor logits, Tensor logprobs, float temperature, Tensor rowMax, Tensor rowLogSumExp,
                           Tensor rowEntropy) {
        softmaxStats(logits, "logprobs", logprobs, temperature, true, rowMax, rowLogSumExp, rowEntropy);
    }

    private void softmaxStats(Tensor logits, String outName, Tensor out, float temperature, boolean log, Tensor rowMax,
                              Tensor rowLogSumExp, Tensor rowEntropy) {
        checkOpen();
        float invT = invTemperature(temperature);
        int n = cols("logits", logits);
        inPlaceOutput(outName, out, "logits", logits);
        Tensor[] stats = {rowMax, rowLogSumExp, rowEntropy};
        String[] names = {"rowMax", "rowLogSumExp", "rowEntropy"};
        boolean shareable = shareable("logits", logits) & shareable(outName, out);
        for (int k = 0; k < 3; k++) {
            if (stats[k] != null) {
                rowOutput(names[k], stats[k], DType.F32, logits.rows());
                noOverlap(names[k], stats[k], "logits", logits, false);
                noOverlap(names[k], stats[k], outName, out, false);
                shareable &= shareable(names[k], stats[k]);
                for (int j = 0; j < k; j++) {
                    if (stats[j] != null) {
                        noOverlap(names[k], stats[k], names[j], stats[j], false);
                    }
                }
            }
        }
        HalfRows.Rows x = HalfRows.of(logits, 0, backend::half);
        HalfRows.Rows o = HalfRows.of(out, 1, backend::half);
        HalfKernels hk = softmaxInRegisterHalf(logits);
        RowSplit split = rowSplit(logits, out, shareable);
        rows.forEachRow((int) logits.rows(), n, shareable, r -> {
            double[] values = ROW_STATS.get();
            if (hk != null) {
                hk.softmaxStats(logits.dtype(), logits.segment(), logits.index(r, 0), out.dtype(), out.segment(), out.index(r, 0),
                        n, invT, log, values);
            } else {
                softmaxKernels.softmaxStats(x.read(r), x.at(r), o.write(r), o.at(r), n, invT, log, values, split);
                o.store(r);
            }
            for (int k = 0; k < 3; k++) {
                if (stats[k] != null) {
                    stats[k].segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, stats[k].index(r), (float) values[k]);
                }
            }
        });
    }

    /** Softmax backward: {@code gradInput = p ⊙ (gradOutput − Σ gradOutput·p) / T} from the forward output {@code probs}. */
    public void softmaxBackward(Tensor probs, Tensor gradOutput, Tensor gradInput, float temperature) {
        checkOpen();
        float invT = invTemperature(temperature);
        int n = cols("probs", probs);
        boolean shareable = Checks.backward("probs", probs, gradOutput, gradInput);
        HalfRows.Rows p = HalfRows.of(probs, 0, backend::half);
        HalfRows.Rows dy = HalfRows.of(gradOutput, 1, backend::half);
        HalfRows.Rows dx = HalfRows.of(gradInput, 2, backend::half);
        rows.forEachRow((int) probs.rows(), n, shareable, r -> {
            softmaxKernels.softmaxBackward(p.read(r), p.at(r), dy.read(r), dy.at(r), dx.write(r), dx.at(r), n, invT);
            dx.store(r);
        });
    }

    /** Log-softmax backward: {@code gradInput = (gradOutput − exp(y) · Σ gradOutput) / T} from the forward output {@code y}. */
    public void logSoftmaxBackward(Tensor logprobs, Tensor gradOutput, Tensor gradInput, float temperature) {
        checkOpen();
        float invT = invTemperature(temperature);
        int n = cols("logprobs", logprobs);
        boolean shareable = Checks.backward("logprobs", logprobs, gradOutput, gradInput);
        HalfRows.Rows y = HalfRows.of(logprobs, 0, backend::half);
        HalfRows.Rows dy = HalfRows.of(gradOutput, 1, backend::half);
        HalfRows.Rows dx = HalfRows.of(gradInput, 2, backend::half);
        rows.forEachRow((int) logprobs.rows(), n, shareable, r -> {
            softmaxKernels.logSoftmaxBackward(y.read(r), y.at(r), dy.read(r), dy.at(r), dx.write(r), dx.at(r), n, invT);
            dx.store(r);
        });
    }

    // ---------------------------------------------------------------- losses

    /**
     * Entropy {@code H(softmax(logits/T))} per row, reduced per {@code options}.
     *
     * @param rowLoss per-row values (nullable unless the reduction is {@link Reduction#NONE})
     * @param grad    gradient of the returned loss w.r.t. {@code logits} (nullable)
     * @return the reduced loss (for {@code NONE}, the sum of the rows)
     */
    public double entropy(Tensor logits, LossOptions options, Tensor rowLoss, Tensor grad) {
        return loss(Loss.ENTROPY, null, logits, null, options, rowLoss, grad);
    }

    /** Soft-target cross-entropy {@code −Σ softmax(t) log_softmax(s)}; {@code grad} w.r.t. the student. See {@link #entropy}. */
    public double crossEntropy(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        return loss(Loss.CROSS_ENTROPY, teacher, student, null, options, rowLoss, grad);
    }

    /**
     * Hard-label cross-entropy with {@code ignoreIndex} and label smoothing from {@code options}.
     * {@code labels} is a rank-1 {@link DType#I32} tensor with one label per row; ignored rows give 0,
     * a zero gradient, and leave the {@code MEAN}.
     */
    public double crossEntropyLabels(Tensor labels, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        return loss(Loss.CROSS_ENTROPY_LABELS, null, student, labels, options, rowLoss, grad);
    }

    /**
     * Hard-label cross-entropy with the options of Liger-Kernel's fused CE: per row, with the logits soft-capped
     * ({@code y = c·tanh(x/c)}, {@code −inf} kept) and {@code z = y/T}, the loss
     * {@code (1−ε)·w_label·(−log p_label) + (ε/V)·Σ_i w_i·(−log p_i)} (PyTorch's {@code weight} and
     * {@code label_smoothing}; {@code w = 1} without class weights) plus the z-loss {@code λ·lse(z)²}. The
     * gradient is the derivative of the reduced loss, soft-capping's {@code 1 − tanh²(x/c)} included. {@code MEAN}
     * is PyTorch's weighted mean: the cross-entropy part divided by {@code Σ w_label} over the rows that take part,
     * the z-loss part by their count (as Liger). Ignored rows ({@code options.ignoreIndex()}) give 0 and a zero
     * gradient. A row whose loss is not finite has a NaN gradient.
     *
     * @param ce        z-loss, soft-cap, class weights
     * @param zLoss     per-row z-loss {@code λ·lse²} (rank-1 F32, nullable); {@code rowLoss} holds the total
     * @param predicted per-row index of the largest logit, lowest on ties, −1 for a special row (rank-1 I32,
     *                  nullable)
     * @param correct   per-row whether {@code predicted} is the label (rank-1 BOOL, nullable; false when ignored)
     * @see #crossEntropyLabels(Tensor, Tensor, LossOptions, Tensor, Tensor) for the rest
     */
    public double crossEntropyLabels(Tensor labels, Tensor student, LossOptions options, CrossEntropyOptions ce,
                                     Tensor rowLoss, Tensor zLoss, Tensor grad, Tensor predicted, Tensor correct) {
        checkOpen();
        return policy.crossEntropy(labels, student, options, ce, rowLoss, zLoss, grad, predicted, correct);
    }

    /** Forward KL {@code KL(softmax(t)‖softmax(s))}; {@code grad} w.r.t. the student. See {@link #entropy}. */
    public double kl(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        return loss(Loss.KL, teacher, student, null, options, rowLoss, grad);
    }

    /** Reverse KL {@code KL(softmax(s)‖softmax(t))}; {@code grad} w.r.t. the student. */
    public double rkl(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        return loss(Loss.RKL, teacher, student, null, options, rowLoss, grad);
    }

    /** Generalized JSD with {@code options.beta()} (0 gives forward KL, 1 reverse KL); {@code grad} w.r.t. the student. */
    public double jsd(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        return loss(Loss.JSD, teacher, student, null, options, rowLoss, grad);
    }

    /** Jeffreys divergence {@code KL(p‖q) + KL(q‖p)}; {@code grad} w.r.t. the student. */
    public double jeffreys(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        return loss(Loss.JEFFREYS, teacher, student, null, options, rowLoss, grad);
    }

    /** Total variation distance {@code ½ Σ |p − q|} (no gradient). */
    public double tv(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss) {
        return loss(Loss.TV, teacher, student, null, options, rowLoss, null);
    }

    /** Hellinger distance {@code sqrt(½ Σ (√p − √q)²)} (no gradient). */
    public double hellinger(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss) {
        return loss(Loss.HELLINGER, teacher, student, null, options, rowLoss, null);
    }

    /**
     * Amari α-divergence {@code D_α(p‖q) = (1 − Σ_i p_i^α q_i^{1−α}) / (α(1−α))}, {@code p = softmax(t/T)},
     * {@code q = softmax(s/T)}, for any finite {@code α ≥ 0}; its limits are the KLs, used exactly at the
     * ends: {@code α = 1} gives {@code KL(p‖q)}, {@code α = 0} gives {@code KL(q‖p)}. Masked teacher tokens
     * add 0 ({@code 0^α = 0}); a student-masked token under a live teacher token adds 0 for {@code α < 1}
     * and makes the loss {@code +inf} for {@code α > 1}. {@code grad} w.r.t. the student is
     * {@code (S/α)·(q − r)/T}, {@code r_i = p_i^α q_i^{1−α}/S}; a non-finite loss gets a NaN gradient.
     *
     * @see #kl(Tensor, Tensor, LossOptions, Tensor, Tensor) for {@code rowLoss}, {@code grad} and the reductions
     */
    public double alphaDivergence(Tensor teacher, Tensor student, float alpha, LossOptions options, Tensor rowLoss,
                                  Tensor grad) {
        checkOpen();
        alpha(alpha);
        notNull("options", options);
        return loss(Loss.ALPHA, teacher, student, null, options.alpha(alpha), rowLoss, grad);
    }

    /**
     * Rényi divergence {@code D_α(p‖q) = log(Σ_i p_i^α q_i^{1−α}) / (α − 1)} for any finite {@code α ≥ 0}:
     * {@code α = 1} is {@code KL(p‖q)} (the limit), {@code α = 0} is {@code −log Σ_{p_i>0} q_i}. Gradient
     * w.r.t. the student: {@code (q − r)/T}. Masks and special values as {@link #alphaDivergence}.
     */
    public double renyi(Tensor teacher, Tensor student, float alpha, LossOptions options, Tensor rowLoss, Tensor grad) {
        checkOpen();
        alpha(alpha);
        notNull("options", options);
        return loss(Loss.RENYI, teacher, student, null, options.alpha(alpha), rowLoss, grad);
    }

    /**
     * Pearson {@code χ²(p‖q) = Σ_i (p_i − q_i)²/q_i = Σ_i p_i²/q_i − 1} ({@code +inf} where the student
     * masks a token the teacher keeps). Gradient w.r.t. the student: {@code S·(q − r)/T} with
     * {@code S = χ² + 1}, {@code r_i = (p_i²/q_i)/S}.
     */
    public double chi2(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        return loss(Loss.CHI2, teacher, student, null, options, rowLoss, grad);
    }

    /**
     * Plackett–Luce distillation (PLD, Bassam et al. 2025): with the ranking {@code π} = the label first,
     * then every other token by teacher logit descending (equal logits by ascending index),
     * {@code L = Σ_{k=1}^{V} α_k (log Σ_{j≥k} exp(s_{π_j}/T) − s_{π_k}/T)}, {@code α_k = softmax(t/T)_{π_k}}:
     * a sum over the V ranks (the weights sum to 1, so no further normalization). Masked teacher tokens
     * weigh 0; a student-masked token with teacher weight makes the loss {@code +inf}. {@code grad} w.r.t.
     * the student: {@code ∂L/∂s_i = (e^{s_i/T} Σ_{k ≤ rank(i)} α_k / Σ_{j≥k} e^{s_{π_j}/T} − α_{rank(i)}) / T}.
     * One sort of the teacher row and one suffix log-sum-exp; labels as
     * {@link #crossEntropyLabels} ({@code ignoreIndex} rows give 0 and leave the {@code MEAN}).
     */
    public double pld(Tensor teacher, Tensor student, Tensor labels, LossOptions options, Tensor rowLoss, Tensor grad) {
        return loss(Loss.PLD, teacher, student, labels, options, rowLoss, grad);
    }

    // ---------------------------------------------------------------- policy and sparse-teacher losses

    /**
     * The RL trainer's per-token step in one read of each row: with {@code p = softmax(logits/T)},
     * {@code ℓ_t = log p[ids_t]} and {@code H_t = −Σ p log p}, and the gradient of
     * {@code J = Σ_t (w_t·ℓ_t + c_t·H_t)} w.r.t. the logits,
     * {@code (gradScale/T)·[w_t·(onehot(ids_t) − p) − c_t·p ⊙ (log p + H_t)]}, for caller weights {@code w}
     * (e.g. advantages over the token count) and {@code c} (the entropy bonus). Rows whose id is
     * {@code options.ignoreIndex()} give 0 everywhere and a zero gradient. A masked target has
     * {@code ℓ = −inf}, and then, when its weight is not 0, a NaN gradient row (SPEC §1: an infinite loss has no
     * derivative); a special row (SPEC §1) is NaN throughout.
     *
     * @param logits         {@code [N, V]} float32
     * @param ids            rank-1 I32, {@code N} ids in {@code [0, V)} or {@code ignoreIndex}
     * @param options        temperature, ignore index and upstream gradient; the reduction must be {@code SUM}
     *                       (put a mean into the weights)
     * @param logprobs       rank-1 F32 output of {@code N} values {@code ℓ_t} (nullable)
     * @param entropy        rank-1 F32 output of {@code N} values {@code H_t} (nullable)
     * @param logprobWeights {@code w}: rank-1 F32, {@code N} finite values; null means 0
     * @param entropyWeights {@code c}: rank-1 F32, {@code N} finite values; null means 0
     * @param grad           {@code ∂J/∂logits} times {@code gradScale}, shaped like {@code logits} (nullable)
     * @return {@code J}
     */
    public double logprobEntropy(Tensor logits, Tensor ids, LossOptions options, Tensor logprobs, Tensor entropy,
                                 Tensor logprobWeights, Tensor entropyWeights, Tensor grad) {
        checkOpen();
        return policy.logprobEntropy(logits, ids, null, options, logprobs, entropy, null, logprobWeights,
                entropyWeights, null, 0f, grad);
    }

    /**
     * The per-token k3 estimator of {@code KL(π‖π_ref)} (Schulman's "k3", as in GRPO): with
     * {@code ℓ_t = log softmax(logits_t/T)[ids_t]} and {@code δ_t = refLogprobs_t − ℓ_t},
     * {@code k3_t = e^{δ_t} − δ_t − 1 ≥ 0}, and the gradient of {@code Σ_t κ_t·k3_t} w.r.t. the logits,
     * {@code (gradScale/T)·κ_t·(1 − e^{δ_t})·(onehot(ids_t) − p)}. A reference log-probability of {@code −inf}
     * (the reference masks the token) or a masked target makes {@code k3 = +inf}, and its gradient row NaN.
     * Ignored rows and special rows as {@link #logprobEntropy}.
     *
     * @param refLogprobs rank-1 F32, {@code N} reference log-probabilities, each {@code ≤ 0} (not NaN)
     * @param kl          rank-1 F32 output of {@code N} values {@code k3_t}
     * @param weights     {@code κ}: rank-1 F32, {@code N} finite values; null means 1
     * @return {@code Σ_t κ_t·k3_t}
     * @see #logprobEntropy for {@code logits}, {@code ids}, {@code options} and {@code grad}
     */
    public double k3Kl(Tensor logits, Tensor ids, Tensor refLogprobs, LossOptions options, Tensor kl, Tensor weights,
                       Tensor grad) {
        checkOpen();
        Checks.notNull("refLogprobs", refLogprobs);
        Checks.notNull("kl", kl);
        return policy.logprobEntropy(logits, ids, refLogprobs, options, null, null, kl, null, null, weights, 1f,
                grad);
    }

    /**
     * Distillation from a sparse teacher, as vLLM and SGLang return it and offline datasets store it: per row
     * {@code k} distinct token ids and their log-probabilities (taken as given, no temperature), against the
     * student's full logits at temperature {@code T}, {@code q = softmax(student/T)}. {@code mass} says what
     * is compared: both sides renormalized over the {@code k} ids, or the ids plus one rest bucket holding the
     * teacher's missing mass {@code 1 − Σ e^{lp}} against the student's {@code 1 − Σ_j q_{id_j}}. The
     * gradient w.r.t. the student, for a token {@code i} in bucket {@code b}, is
     * {@code (gradScale/T)·ρ_i·(u_b − Σ_b' Q_b' u_b')} with {@code u = ∂L/∂Q} and {@code ρ_i} the token's
     * share of the compared student mass (0 outside the ids when renormalized): forward KL gives
     * {@code Q_j − P_j} at the ids. JSD uses {@code options.beta()} (0 gives forward KL, 1 reverse KL).
     *
     * <p>A row whose ids are all {@code options.ignoreIndex()} is ignored (loss 0, zero gradient, leaves the
     * {@code MEAN}). Refused by name before any work: an id outside {@code [0, V)}, an id twice in a row, a
     * log-probability above 0 or NaN, and, with the rest bucket, a row whose probabilities sum above
     * {@code 1 + 1e-4}. Renormalized, a row where either side has no mass on the ids is NaN; reverse KL is
     * {@code +inf} where the teacher gives 0 to a bucket the student keeps, with a NaN gradient row.
     *
     * @param teacherIds      I32 {@code [N, k]}, {@code 1 ≤ k ≤ V}
     * @param teacherLogprobs F32 {@code [N, k]}
     * @param student         F32 {@code [N, V]}
     * @see #kl(Tensor, Tensor, LossOptions, Tensor, Tensor) for {@code rowLoss}, {@code grad} and the reductions
     */
    public double sparseDistill(SparseDivergence divergence, TeacherMass mass, Tensor teacherIds,
                                Tensor teacherLogprobs, Tensor student, LossOptions options, Tensor rowLoss,
                                Tensor grad) {
        checkOpen();
        return policy.sparse(divergence, mass, teacherIds, teacherLogprobs, student, options, rowLoss, grad);
    }

    // ---------------------------------------------------------------- token log-probabilities (SPEC §4)

    /**
     * {@code out[t] = log_softmax(logits[t])[ids[t]]}, fused: a max pass and a sum pass per row, no
     * softmax written. A special row (SPEC §1) gives NaN; a masked target token gives {@code −inf}.
     *
     * @param logits {@code [T, V]} float32 (rows in position order)
     * @param ids    {@link DType#I32} with {@code T} token ids in {@code [0, V)}: rank 1 {@code [T]}, or rank 2
     *               {@code [S, T']} with {@code S·T' = T} (the shape the sequence scores take)
     * @param out    rank-1 F32 with room for {@code T} values
     */
    public void tokenLogprob(Tensor logits, Tensor ids, Tensor out) {
        checkOpen();
        int n = cols("logits", logits);
        boolean shareable = Checks.tokenLogprob(logits, ids, out);
        long perSeq = ids.cols();
        HalfRows.Rows x = HalfRows.of(logits, 0, backend::half);
        HalfKernels hk = softmaxInRegisterHalf(logits);
        rows.forEachRow((int) logits.rows(), n, shareable, r -> {
            int id = ids.getInt(r / perSeq, r % perSeq);
            double lp = hk != null ? hk.tokenLogprob(logits.dtype(), logits.segment(), logits.index(r, 0), n, id)
                    : scoring.tokenLogprob(x.read(r), x.at(r), n, id);
            out.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, out.index(r), (float) lp);
        });
    }

    // ---------------------------------------------------------------- device tensors (CUDA)

    /*
     * Device memory is not readable by the CPU, so these run on CUDA whatever this instance's backend: the
     * checks are the host's (Checks, through CudaKernels), the work is queued on the stream and is done
     * when the stream is synchronized or a result is copied back.
     */

    /** {@link #softmax(Tensor, Tensor, float)} on device tensors (F32, BF16 or F16), queued on {@code stream}. */
    public void softmax(DeviceTensor logits, DeviceTensor probs, float temperature, CudaStream stream) {
        checkOpen();
        CudaKernels.softmax(logits, probs, temperature, stream);
    }

    /** {@link #logSoftmax(Tensor, Tensor, float)} on device tensors, queued on {@code stream}. */
    public void logSoftmax(DeviceTensor logits, DeviceTensor logprobs, float temperature, CudaStream stream) {
        checkOpen();
        CudaKernels.logSoftmax(logits, logprobs, temperature, stream);
    }

    /** {@link #logSumExp(Tensor, Tensor, float)} on device tensors ({@code out}: F32, one per row), queued on {@code stream}. */
    public void logSumExp(DeviceTensor logits, DeviceTensor out, float temperature, CudaStream stream) {
        checkOpen();
        CudaKernels.logSumExp(logits, out, temperature, stream);
    }

    /**
     * {@link #loss(Loss, Tensor, Tensor, Tensor, LossOptions, Tensor, Tensor)} on device tensors, queued on
     * {@code stream}: per-row values into {@code rowLoss} (not reduced; see
     * {@link CudaKernels#loss CudaKernels.loss} for the reductions and the losses with a CUDA kernel).
     */
    public void loss(Loss op, DeviceTensor teacher, DeviceTensor student, DeviceTensor labels, LossOptions options,
                     DeviceTensor rowLoss, DeviceTensor grad, CudaStream stream) {
        checkOpen();
        CudaKernels.loss(op, teacher, student, labels, options, rowLoss, grad, stream);
    }


    // ---------------------------------------------------------------- float[] conveniences

    /** {@link #softmax(Tensor, Tensor, float)} over {@code float[]} rows of {@code cols} logits. */
    public void softmax(float[] logits, int cols, float[] probs, float temperature) {
        checkOpen();
        softmax(rowsOf("logits", logits, cols), rowsOf("probs", probs, cols), temperature);
    }

    /** {@link #logSoftmax(Tensor, Tensor, float)} over {@code float[]} rows of {@code cols} logits. */
    public void logSoftmax(float[] logits, int cols, float[] logprobs, float temperature) {
        checkOpen();
        logSoftmax(rowsOf("logits", logits, cols), rowsOf("logprobs", logprobs, cols), temperature);
    }

    /** {@link #logSumExp(Tensor, Tensor, float)} over {@code float[]} rows; {@code out} holds one value per row. */
    public void logSumExp(float[] logits, int cols, float[] out, float temperature) {
        checkOpen();
        notNull("out", out);
        logSumExp(rowsOf("logits", logits, cols), Tensor.of(out), temperature);
    }

    /** {@link #entropy(Tensor, LossOptions, Tensor, Tensor)} over {@code float[]}; {@code rowLoss} and {@code grad} may be null. */
    public double entropy(float[] logits, int cols, LossOptions options, float[] rowLoss, float[] grad) {
        checkOpen();
        return entropy(rowsOf("logits", logits, cols), options, rowLoss == null ? null : Tensor.of(rowLoss),
                grad == null ? null : rowsOf("grad", grad, cols));
    }

    /** {@link #kl(Tensor, Tensor, LossOptions, Tensor, Tensor)} over {@code float[]}; {@code rowLoss} and {@code grad} may be null. */
    public double kl(float[] teacher, float[] student, int cols, LossOptions options, float[] rowLoss, float[] grad) {
        checkOpen();
        return kl(rowsOf("teacher", teacher, cols), rowsOf("student", student, cols), options,
                rowLoss == null ? null : Tensor.of(rowLoss), grad == null ? null : rowsOf("grad", grad, cols));
    }

    /** {@link #crossEntropyLabels(Tensor, Tensor, LossOptions, Tensor, Tensor)} over arrays. */
    public double crossEntropyLabels(int[] labels, float[] student, int cols, LossOptions options, float[] rowLoss,
                                     float[] grad) {
        checkOpen();
        notNull("labels", labels);
        return crossEntropyLabels(Tensor.of(labels), rowsOf("student", student, cols),
                options, rowLoss == null ? null : Tensor.of(rowLoss), grad == null ? null : rowsOf("grad", grad, cols));
    }
}
