package dev.entrokit;

import static dev.entrokit.internal.Checks.*;

import dev.entrokit.cuda.CudaKernels;
import dev.entrokit.cuda.CudaStream;
import dev.entrokit.cuda.DeviceTensor;
import dev.entrokit.internal.Backend;
import dev.entrokit.internal.Backends;
import dev.entrokit.internal.Checks;
import dev.entrokit.internal.DivergenceKernels;
import dev.entrokit.internal.HalfKernels;
import dev.entrokit.internal.HalfRows;
import dev.entrokit.internal.LossDriver;
import dev.entrokit.internal.Penalties;
import dev.entrokit.internal.PolicyDriver;
import dev.entrokit.internal.RowExecutor;
import dev.entrokit.internal.SoftmaxKernels;
import dev.entrokit.internal.ScoringKernels;
import dev.entrokit.internal.SelectionKernels;
import dev.entrokit.internal.SequenceScores;
import dev.entrokit.internal.SpeculativeSampling;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The public façade: every op checks its arguments, then delegates. The checks live in
 * {@code internal.Checks} (shared with the CUDA API); a per-row op then hands each row to the
 * backend's kernel ({@code SoftmaxKernels}, {@code DivergenceKernels}, {@code SelectionKernels}, {@code ScoringKernels})
 * through the row pool, the losses go to {@code internal.LossDriver} (reductions, {@code ignoreIndex},
 * the endpoints of JSD and the α-family), the sequence scores of SPEC §4 to
 * {@code internal.SequenceScores}, and optimal transport to {@code Transport}. No math happens here.
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
 * throws {@code IllegalStateException("entrokit: closed")}. The shared instance from {@link #get()}
 * lives as long as the JVM: other code in the process holds it too, so closing it does nothing
 * (try-with-resources on it is harmless).
 *
 * <p>Every tensor argument is checked before anything reads it: a null tensor, memory whose arena is
 * closed, or memory confined to another thread is refused with an {@code IllegalArgumentException}
 * that names the argument.
 */
public final class Entrokit implements AutoCloseable {
    /** Each thread's statistics of the row it is on: the fused softmax allocates nothing per row. */
    private static final ThreadLocal<double[]> ROW_STATS = ThreadLocal.withInitial(() -> new double[3]);

    private final Backend backend;
    private final SoftmaxKernels softmaxKernels;
    private final DivergenceKernels divergenceKernels;
    private final SelectionKernels selection;
    private final ScoringKernels scoring;
    private final RowExecutor rows;
    private final LossDriver losses;
    private final SequenceScores sequenceScores;
    private final PolicyDriver policy;
    private final boolean shared;
    private volatile boolean closed;

    private static final String CLOSED = "entrokit: closed; create a new instance or use Entrokit.get()";

    private Entrokit(Backend backend, int threads, boolean shared) {
        this.shared = shared;
        this.backend = backend;
        this.rows = new RowExecutor(threads);
        if (backend instanceof dev.entrokit.internal.HandoffBackend handoff) {
            rows.scope(handoff::pin);
        }
        this.softmaxKernels = backend.softmax();
        this.divergenceKernels = backend.divergences();
        this.selection = backend.selection();
        this.scoring = backend.scoring();
        this.losses = new LossDriver(softmaxKernels, divergenceKernels, rows, backend::half);
        this.sequenceScores = new SequenceScores(scoring, rows);
        this.policy = new PolicyDriver(backend.policy(), rows);
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
            closed = true;
            rows.close();
        }
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

    /** Refuses any op on a closed instance. */
    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(CLOSED);
        }
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

    /** {@link HalfRows#inRegister} for this instance's backend (read once per call, as the backend may hand off). */
    private HalfKernels inRegisterHalf(Tensor t) {
        return HalfRows.inRegister(t, backend::half);
    }

    /** {@code out[r] = log Σ_i exp(logits[r,i]/T)}; {@code out} is rank 1 with at least {@code rows} elements. */
    public void logSumExp(Tensor logits, Tensor out, float temperature) {
        checkOpen();
        float invT = invTemperature(temperature);
        int n = cols("logits", logits);
        rowOutput("out", out, DType.F32, logits.rows());
        noOverlap("out", out, "logits", logits, false);
        boolean shareable = shareable("logits", logits) & shareable("out", out);
        HalfRows.Rows x = HalfRows.of(logits, 0);
        HalfKernels hk = inRegisterHalf(logits);
        MemorySegment o = out.segment();
        rows.forEachRow((int) logits.rows(), n, shareable, r ->
                o.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, out.index(r), (float) (hk != null
                        ? hk.logSumExp(DType.BF16, logits.segment(), logits.index(r, 0), n, invT)
                        : softmaxKernels.logSumExp(x.read(r), x.at(r), n, invT))));
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
        HalfRows.Rows x = HalfRows.of(logits, 0);
        HalfRows.Rows o = HalfRows.of(probs, 1);
        HalfKernels hk = inRegisterHalf(logits);
        rows.forEachRow((int) logits.rows(), n, shareable("logits", logits) & shareable("probs", probs), r -> {
            if (hk != null) {
                hk.softmax(DType.BF16, logits.segment(), logits.index(r, 0), probs.dtype(), probs.segment(), probs.index(r, 0), n, invT);
                return;
            }
            softmaxKernels.softmax(x.read(r), x.at(r), o.write(r), o.at(r), n, invT);
            o.store(r);
        });
    }

    /** {@code out = log_softmax(logits/T)}, computed as {@code (x − m)/T − log d} so large logits stay exact. */
    public void logSoftmax(Tensor logits, Tensor logprobs, float temperature) {
        checkOpen();
        float invT = invTemperature(temperature);
        int n = cols("logits", logits);
        inPlaceOutput("logprobs", logprobs, "logits", logits);
        HalfRows.Rows x = HalfRows.of(logits, 0);
        HalfRows.Rows o = HalfRows.of(logprobs, 1);
        HalfKernels hk = inRegisterHalf(logits);
        rows.forEachRow((int) logits.rows(), n, shareable("logits", logits) & shareable("logprobs", logprobs), r -> {
            if (hk != null) {
                hk.logSoftmax(DType.BF16, logits.segment(), logits.index(r, 0), logprobs.dtype(), logprobs.segment(),
                        logprobs.index(r, 0), n, invT);
                return;
            }
            softmaxKernels.logSoftmax(x.read(r), x.at(r), o.write(r), o.at(r), n, invT);
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
        HalfRows.Rows x = HalfRows.of(logits, 0);
        HalfRows.Rows o = HalfRows.of(out, 1);
        HalfKernels hk = inRegisterHalf(logits);
        rows.forEachRow((int) logits.rows(), n, shareable, r -> {
            double[] values = ROW_STATS.get();
            if (hk != null) {
                hk.softmaxStats(DType.BF16, logits.segment(), logits.index(r, 0), out.dtype(), out.segment(), out.index(r, 0),
                        n, invT, log, values);
            } else {
                softmaxKernels.softmaxStats(x.read(r), x.at(r), o.write(r), o.at(r), n, invT, log, values);
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
        HalfRows.Rows p = HalfRows.of(probs, 0);
        HalfRows.Rows dy = HalfRows.of(gradOutput, 1);
        HalfRows.Rows dx = HalfRows.of(gradInput, 2);
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
        HalfRows.Rows y = HalfRows.of(logprobs, 0);
        HalfRows.Rows dy = HalfRows.of(gradOutput, 1);
        HalfRows.Rows dx = HalfRows.of(gradInput, 2);
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

    // ---------------------------------------------------------------- scoring helpers (SPEC §4)

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
        HalfRows.Rows x = HalfRows.of(logits, 0);
        rows.forEachRow((int) logits.rows(), n, shareable, r ->
                out.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, out.index(r), (float) scoring.tokenLogprob(
                        x.read(r), x.at(r), n, ids.getInt(r / perSeq, r % perSeq))));
    }

    /**
     * Min-K% Prob from token log-probabilities: per sequence, the mean of its {@code max(1, floor(k·T))}
     * smallest values (higher means more likely seen in training; the paper's score is the negative).
     * A NaN in a sequence makes its score NaN.
     *
     * @param logprobs {@code [S, T]} float32 log-probabilities, one row per sequence
     * @param k        the fraction in {@code (0, 1]}, read as the decimal it prints as ({@code 0.2f} is 20 %)
     * @param scores   rank-1 F32 with room for {@code S} values
     */
    public void minKProb(Tensor logprobs, float k, Tensor scores) {
        checkOpen();
        int kCount = kCount(k, cols("logprobs", logprobs));
        rowOutput("scores", scores, DType.F32, logprobs.rows());
        noOverlap("scores", scores, "logprobs", logprobs, false);
        shareable("logprobs", logprobs);
        shareable("scores", scores);
        SequenceScores.minKProb(logprobs, kCount, scores);
    }

    /**
     * Min-K% Prob from logits: {@link #tokenLogprob} fused with the selection of
     * {@link #minKProb(Tensor, float, Tensor)}; {@code ids} is {@code [S, T]} (or {@code [T]} for one
     * sequence) and {@code logits} holds its {@code S·T} rows in that order.
     */
    public void minKProb(Tensor logits, Tensor ids, float k, Tensor scores) {
        checkOpen();
        SequenceScores.Shape seq = sequences("logits", logits, ids, scores);
        sequenceScores.minKProb(logits, ids, seq, kCount(k, seq.length()), scores);
    }

    /**
     * Min-K%++ (SPEC §4): per position {@code z_t = (ℓ_t − μ_t)/σ_t} with {@code μ_t = Σ p log p} and
     * {@code σ_t² = Σ p (log p)² − μ_t²} under {@code p = softmax(x_t)}, all three from one pass after the
     * max; the score is the mean of the {@code max(1, floor(k·T))} smallest {@code z_t}. A position whose
     * distribution has {@code σ_t = 0} (a single live token, or uniform) has {@code z_t = 0} when
     * {@code ℓ_t = μ_t} and {@code −inf} below. Shapes as {@link #minKProb(Tensor, Tensor, float, Tensor)}.
     */
    public void minKPlusPlus(Tensor logits, Tensor ids, float k, Tensor scores) {
        checkOpen();
        SequenceScores.Shape seq = sequences("logits", logits, ids, scores);
        sequenceScores.minKPlusPlus(logits, ids, seq, kCount(k, seq.length()), scores);
    }

    /**
     * The DC-PDD score (SPEC §4, as its authors' code computes it): over the positions where a token id
     * occurs for the first time in its sequence, {@code c_t = p_t(y_t)·(−log f(y_t))} clipped above at
     * {@code a}, averaged. Higher means more likely seen in training (their code reports the negative).
     * Only first-occurrence positions are computed.
     *
     * @param freq rank-1 F32 with {@code V} entries in {@code (0, 1]}: a token-frequency distribution,
     *             e.g. Laplace-smoothed counts {@code (c_v + 1)/(Σc + V)}
     * @param a    the clip, finite and {@code > 0} (the authors use 0.01)
     * @see #minKProb(Tensor, Tensor, float, Tensor) for the shapes of {@code logits}, {@code ids}, {@code scores}
     */
    public void dcpdd(Tensor logits, Tensor ids, Tensor freq, float a, Tensor scores) {
        checkOpen();
        SequenceScores.Shape seq = sequences("logits", logits, ids, scores);
        positiveFinite("a", a);
        frequencies(freq, seq.vocab());
        sequenceScores.dcpdd(logits, ids, freq, a, seq.sharing(shareable("freq", freq)), scores);
    }

    /**
     * The out-of-distribution likelihood ratio of two models on the same tokens: per sequence
     * {@code Σ_t ℓ^a_t − ℓ^b_t} (e.g. {@code a} pretrained, {@code b} fine-tuned). A token masked by both
     * models gives NaN ({@code −inf − (−inf)}).
     *
     * @see #minKProb(Tensor, Tensor, float, Tensor) for the shapes; {@code logitsB} is shaped like {@code logitsA}
     */
    public void likelihoodRatio(Tensor logitsA, Tensor logitsB, Tensor ids, Tensor scores) {
        checkOpen();
        SequenceScores.Shape seq = sequences("logitsA", logitsA, ids, scores);
        cols("logitsB", logitsB);
        inputLike("logitsB", logitsB, "logitsA", logitsA);
        noOverlap("scores", scores, "logitsB", logitsB, false);
        sequenceScores.likelihoodRatio(logitsA, logitsB, ids, seq.sharing(shareable("logitsB", logitsB)), scores);
    }

    // ---------------------------------------------------------------- sequence scores of packed sequences

    /**
     * Min-K% Prob of packed sequences of their own lengths (e.g. a batch of documents read from a corpus):
     * sequence {@code q} is positions {@code [offsets[q], offsets[q+1])} of {@code logprobs}; its score is the
     * mean of its {@code max(1, floor(k·T_q))} smallest values, as {@link #minKProb(Tensor, float, Tensor)}
     * computes it for one row. Runs on the calling thread, in float64, position order.
     *
     * @param logprobs rank-1 F32 {@code [N]}: the token log-probabilities of every sequence, one after another
     * @param offsets  rank-1 I32 {@code [S + 1]}: 0, then each sequence's end; strictly increasing, the last {@code N}
     * @param k        the fraction in {@code (0, 1]}
     * @param scores   rank-1 F32 with room for {@code S} values
     */
    public void minKProbPacked(Tensor logprobs, Tensor offsets, float k, Tensor scores) {
        checkOpen();
        kCount(k, 1);
        SequenceScores.Shape seq = packed("logprobs", logprobs, offsets, scores);
        SequenceScores.minKProbPacked(logprobs, offsets, k, seq, scores);
    }

    /**
     * Min-K%++ (SPEC §4) of packed sequences from per-position values a model run already produced: the
     * token log-probability {@code ℓ_t}, and the mean {@code μ_t = Σ p log p} and variance
     * {@code σ_t² = Σ p (log p)² − μ_t²} of {@code log p} under the position's distribution. {@code z_t} is
     * formed as {@link #minKPlusPlus} forms it (0 where {@code σ_t = 0} and {@code ℓ_t = μ_t}, {@code −inf}
     * below); then each sequence's mean of its {@code max(1, floor(k·T_q))} smallest. Shapes as
     * {@link #minKProbPacked}; {@code means} and {@code variances} have {@code N} entries, variances {@code ≥ 0}.
     */
    public void minKPlusPlusPacked(Tensor logprobs, Tensor means, Tensor variances, Tensor offsets, float k,
                                   Tensor scores) {
        checkOpen();
        kCount(k, 1);
        SequenceScores.Shape seq = packed("logprobs", logprobs, offsets, scores);
        positions("means", means, logprobs.cols());
        variances(variances, logprobs.cols());
        noOverlap("scores", scores, "means", means, false);
        noOverlap("scores", scores, "variances", variances, false);
        SequenceScores.minKPlusPlusPacked(logprobs, means, variances, offsets, k, seq, scores);
    }

    /**
     * DC-PDD (SPEC §4) of packed sequences from per-position token log-probabilities and token ids: over
     * each sequence's first occurrences of a token id, {@code c_t = exp(ℓ_t)·(−log f(y_t))} clipped above at
     * {@code a}, averaged (as {@link #dcpdd} computes it from logits). Shapes as {@link #minKProbPacked}.
     *
     * @param ids  rank-1 I32 {@code [N]}, each in {@code [0, V)}
     * @param freq rank-1 F32 with {@code V} entries in {@code (0, 1]}, e.g. Laplace-smoothed counts
     *             {@code (c_v + 1)/(Σc + V)} of a reference corpus
     * @param a    the clip, finite and {@code > 0} (the authors use 0.01)
     */
    public void dcpddPacked(Tensor logprobs, Tensor ids, Tensor offsets, Tensor freq, float a, Tensor scores) {
        checkOpen();
        SequenceScores.Shape seq = packed("logprobs", logprobs, offsets, scores);
        positiveFinite("a", a);
        accessible("freq", freq);
        if (freq.rank() != 1 || freq.cols() < 1 || freq.cols() > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("freq: expected a rank-1 float tensor of V >= 1 entries, got " + freq);
        }
        frequencies(freq, (int) freq.cols());
        accessible("ids", ids);
        if (ids.rank() != 1) {
            throw new IllegalArgumentException("ids: expected a rank-1 I32 tensor of " + logprobs.cols() + " positions, got "
                    + ids);
        }
        Checks.ids(ids, logprobs.cols(), (int) freq.cols());
        noOverlap("scores", scores, "ids", ids, false);
        noOverlap("scores", scores, "freq", freq, false);
        SequenceScores.dcpddPacked(logprobs, ids, offsets, freq, a, seq, scores);
    }

    /**
     * The likelihood ratio of packed sequences from two models' per-position token log-probabilities: per
     * sequence {@code Σ_t ℓ^a_t − ℓ^b_t} in float64. Shapes as {@link #minKProbPacked}; {@code logprobsB} has
     * {@code N} entries too.
     */
    public void likelihoodRatioPacked(Tensor logprobsA, Tensor logprobsB, Tensor offsets, Tensor scores) {
        checkOpen();
        SequenceScores.Shape seq = packed("logprobsA", logprobsA, offsets, scores);
        positions("logprobsB", logprobsB, logprobsA.cols());
        noOverlap("scores", scores, "logprobsB", logprobsB, false);
        SequenceScores.likelihoodRatioPacked(logprobsA, logprobsB, offsets, seq, scores);
    }

    // ---------------------------------------------------------------- decoding-time logit transforms

    /**
     * USCD-style contrastive decoding, one row at a time: where the row's uncertainty is
     * {@code ≥ threshold}, {@code out = (1+λ)·logits − λ·lameLogits}; elsewhere {@code out = logits}
     * unchanged. The uncertainty is the entropy of {@code softmax(logits)} or the JSD (β = ½) between
     * {@code softmax(logits)} and {@code softmax(lameLogits)}, in nats. A contrasted token masked
     * ({@code −inf}) in either row stays masked; a special standard row, or a special lame row that is
     * needed, gives a NaN row. Ahead of the selection filters ({@link #maskLogits}, {@link #sample}).
     *
     * @param out shaped like {@code logits}; may be that very view (in place), must not overlap {@code lameLogits}
     */
    public void contrastive(Tensor logits, Tensor lameLogits, float lambda, float threshold, Uncertainty uncertainty,
                            Tensor out) {
        checkOpen();
        int n = cols("logits", logits);
        cols("lameLogits", lameLogits);
        inputLike("lameLogits", lameLogits, "logits", logits);
        Checks.contrastive(lambda, threshold, uncertainty);
        inPlaceOutput("out", out, "logits", logits);
        noOverlap("out", out, "lameLogits", lameLogits, false);
        boolean shareable = shareable("logits", logits) & shareable("lameLogits", lameLogits) & shareable("out", out);
        HalfRows.Rows xs = HalfRows.of(logits, 0);
        HalfRows.Rows ls = HalfRows.of(lameLogits, 1);
        HalfRows.Rows o = HalfRows.of(out, 2);
        rows.forEachRow((int) logits.rows(), n, shareable, r -> {
            MemorySegment x = xs.read(r);
            long xOff = xs.at(r);
            MemorySegment lame = ls.read(r);
            long lOff = ls.at(r);
            double u = uncertainty == Uncertainty.ENTROPY ? softmaxKernels.entropy(x, xOff, n, 1f, null, 0, 0f)
                    : divergenceKernels.jsd(x, xOff, lame, lOff, n, 1f, 0.5f, null, 0, 0f);
            scoring.contrastive(x, xOff, lame, lOff, o.write(r), o.at(r), n, lambda, u, threshold);
            o.store(r);
        });
    }

    /**
     * Logit-space prior injection {@code out = logits + λ·log prior} (e.g. an n-gram prior), one fused
     * pass; {@code prior = 0} masks a token. A special logits row, or a prior entry that is NaN,
     * negative or {@code +inf}, gives a NaN row.
     *
     * @param prior  probabilities shaped like {@code logits}, or one row of {@code V} shared by every row
     * @param lambda finite and {@code > 0}
     * @param out    shaped like {@code logits}; may be that very view (in place), must not overlap {@code prior}
     */
    public void injectPrior(Tensor logits, Tensor prior, float lambda, Tensor out) {
        checkOpen();
        int n = cols("logits", logits);
        cols("prior", prior);
        if (prior.rows() != 1 || prior.cols() != n) {
            inputLike("prior", prior, "logits", logits);
        }
        positiveFinite("lambda", lambda);
        inPlaceOutput("out", out, "logits", logits);
        noOverlap("out", out, "prior", prior, false);
        boolean shared = prior.rows() == 1;
        boolean shareable = shareable("logits", logits) & shareable("prior", prior) & shareable("out", out);
        HalfRows.Rows x = HalfRows.of(logits, 0);
        HalfRows.Rows pr = HalfRows.of(prior, 1);
        HalfRows.Rows o = HalfRows.of(out, 2);
        rows.forEachRow((int) logits.rows(), n, shareable, r -> {
            scoring.injectPrior(x.read(r), x.at(r), pr.read(shared ? 0 : r), pr.at(shared ? 0 : r), o.write(r), o.at(r), n,
                    lambda);
            o.store(r);
        });
    }

    // ---------------------------------------------------------------- optimal transport (SPEC §3)

    /**
     * Batched log-domain Sinkhorn on given costs: {@code B} independent problems, each stopping on its
     * own (see {@link SinkhornOptions}). Problems are spread over this instance's threads; the result
     * does not depend on how many.
     *
     * @param cost {@code [B, n, m]} float32 costs, finite and {@code ≥ 0}; {@code [n, m]} is one problem
     * @param a    {@code [B, n]} (or {@code [n]}) positive weights, each problem's summing to 1 when
     *             balanced; null for uniform
     * @param b    {@code [B, m]} (or {@code [m]}) the same for the columns; null for uniform
     */
    public SinkhornResult sinkhorn(Tensor cost, Tensor a, Tensor b, SinkhornOptions options) {
        checkOpen();
        boolean shareable = Transport.shareable("cost", cost) & Transport.shareable("a", a) & Transport.shareable("b", b);
        return Transport.solve(backend.transport(), rows, Transport.ofCost(cost, a, b), options, shareable);
    }

    /**
     * Batched Sinkhorn between point clouds, the cost computed from the points ({@link Metric}); with
     * gradients asked for, {@link SinkhornResult#gradX()} and {@link SinkhornResult#gradY()} too.
     *
     * @param x {@code [B, n, d]} (or {@code [n, d]}) finite float32 points
     * @param y {@code [B, m, d]} (or {@code [m, d]})
     */
    public SinkhornResult sinkhorn(Tensor x, Tensor y, Metric metric, Tensor a, Tensor b, SinkhornOptions options) {
        checkOpen();
        boolean shareable = Transport.shareable("x", x) & Transport.shareable("y", y) & Transport.shareable("a", a)
                & Transport.shareable("b", b);
        return Transport.solve(backend.transport(), rows, Transport.ofPoints(x, y, metric, a, b), options, shareable);
    }

    /**
     * A ragged batch of Sinkhorn problems in one call: each {@link SinkhornProblem} has its own
     * {@code n × m}, its own ε (which replaces {@code options.epsilon()}) and either a given cost or
     * two point clouds; the other options apply to every problem. Every problem is checked before any
     * runs (a refusal names it, e.g. {@code problems[3].a: ...}); the problems are then spread over
     * this instance's threads, one per task, and each result is what
     * {@link #sinkhorn(Tensor, Tensor, Tensor, SinkhornOptions)} (or the point-cloud overload) gives
     * for that problem alone with that ε, whatever the thread count.
     *
     * @return one result per problem, in order, each of batch 1
     */
    public SinkhornResult[] sinkhorn(List<SinkhornProblem> problems, SinkhornOptions options) {
        checkOpen();
        return Transport.solveRagged(backend.transport(), rows, problems, options);
    }

    /**
     * The debiased Sinkhorn divergence {@code S = OT(a,b) − ½ OT(a,a) − ½ OT(b,b)} of each problem, OT
     * being {@link SinkhornResult#objective()}; three solves per problem.
     */
    public double[] sinkhornDivergence(Tensor x, Tensor y, Metric metric, Tensor a, Tensor b, SinkhornOptions options) {
        checkOpen();
        boolean shareable = Transport.shareable("x", x) & Transport.shareable("y", y) & Transport.shareable("a", a)
                & Transport.shareable("b", b);
        return Transport.divergence(backend.transport(), rows, x, y, metric, a, b, options, shareable);
    }

    /**
     * SinKD's batch-wise distillation loss {@code Σ P ⊙ W} (see {@link SinkdOptions}) over {@code [B, V]}
     * teacher and student logits. The paper's code scales it by 0.001; that weight is the caller's.
     * SinKD couples the rows: every plan entry depends on every row through the normalizations, so a
     * NaN row (a NaN or {@code +inf} logit, or only {@code -inf} ones) in either tensor makes the loss
     * NaN and the whole gradient NaN, in both domains. Sizes whose {@code B × B} workspace (and, with
     * the gradient, the scalings of every iteration) cannot be allocated are refused before any work.
     *
     * @param grad {@code [B, V]} float32 for {@code ∂loss/∂student}, or null
     */
    public double sinkd(Tensor teacher, Tensor student, SinkdOptions options, Tensor grad) {
        checkOpen();
        // SinKD copies its inputs on this thread before any check of its own: dead memory is refused by name here.
        Transport.shareable("teacher", teacher);
        Transport.shareable("student", student);
        Transport.shareable("grad", grad);
        return Transport.sinkd(backend.transport(), rows, teacher, student, options, grad);
    }

    // ---------------------------------------------------------------- selection and sampling (SPEC §2)

    /**
     * The first {@code k} tokens of each row in SPEC order (probability descending, equal logits by
     * ascending index). A special row (a NaN or {@code +inf} logit, or all {@code -inf}) gives indices
     * {@code -1} and NaN values and probabilities.
     *
     * @param k           {@code 1 ≤ k ≤ V}
     * @param temperature {@code T > 0}, for {@code probsOut}
     * @param indicesOut  {@link DType#I32} {@code [R, k]}: the token ids
     * @param valuesOut   {@link DType#F32} {@code [R, k]}: the input logits at those ids
     * @param probsOut    {@link DType#F32} {@code [R, k]}: {@code softmax(logits/T)} over the whole row, at those ids;
     *                    or null, which saves the pass over the row that its softmax needs
     */
    public void topK(Tensor logits, int k, float temperature, Tensor indicesOut, Tensor valuesOut, Tensor probsOut) {
        checkOpen();
        int n = cols("logits", logits);
        Checks.topK(k, n);
        invTemperature(temperature);
        boolean shareable = Checks.topKOutputs(logits, k, indicesOut, valuesOut, probsOut);
        HalfRows.Rows x = HalfRows.of(logits, 0);
        rows.forEachRow((int) logits.rows(), n, shareable, row -> selection.topK(x.read(row), x.at(row), n, temperature, k,
                indicesOut.segment(), indicesOut.index(row, 0), valuesOut.segment(), valuesOut.index(row, 0),
                probsOut == null ? null : probsOut.segment(), probsOut == null ? 0 : probsOut.index(row, 0)));
    }

    /** Kept mask of top-p: the shortest prefix in SPEC order with cumulative probability {@code ≥ p}. See {@link #keptMask}. */
    public void topP(Tensor logits, float p, float temperature, Tensor maskOut) {
        checkOpen();
        keptMask(logits, Checks.pipeline(temperature).topP(p), maskOut);
    }

    /** Kept mask of min-p: every token with {@code p_i ≥ minP · max p}, {@code minP ∈ (0, 1]}. See {@link #keptMask}. */
    public void minP(Tensor logits, float minP, float temperature, Tensor maskOut) {
        checkOpen();
        keptMask(logits, Checks.pipeline(temperature).minP(minP), maskOut);
    }

    /** Kept mask of top-H ({@code α ∈ (0, 1]}, over the first {@code n ≥ 1} tokens, in {@code mode}). See {@link #keptMask}. */
    public void topH(Tensor logits, float alpha, int n, TopHMode mode, float temperature, Tensor maskOut) {
        checkOpen();
        keptMask(logits, Checks.pipeline(temperature).topH(alpha, n, mode), maskOut);
    }

    /**
     * The tokens the pipeline {@code filters} keeps, as a mask: {@code maskOut} is a {@link DType#BOOL}
     * tensor shaped like {@code logits} (one byte per token: 1 kept, 0 not; see {@link Tensor#ofMask}).
     * Filters apply in their order, each on the renormalized survivors of the last. A special row gives
     * an all-false mask. The temperature must be {@code > 0} (greedy is for {@link #sample} only).
     */
    public void keptMask(Tensor logits, SamplingFilters filters, Tensor maskOut) {
        checkOpen();
        int n = cols("logits", logits);
        filters(filters, n, false);
        Checks.drawFree(filters);
        output("maskOut", maskOut, DType.BOOL, logits.rows(), n);
        noOverlap("maskOut", maskOut, "logits", logits, false);
        HalfRows.Rows x = HalfRows.of(logits, 0);
        rows.forEachRow((int) logits.rows(), n, shareable("logits", logits) & shareable("maskOut", maskOut), r ->
                selection.keptMask(x.read(r), x.at(r), n, filters, maskOut.segment(), maskOut.index(r, 0)));
    }

    /**
     * The kept tokens of each row in SPEC order with their probabilities renormalized over the kept
     * set: row {@code r} of {@code indicesOut} / {@code probsOut} holds its first {@code min(kept, C)}
     * tokens, then ids {@code -1} and probabilities 0. {@code countsOut[r]} is how many the row keeps,
     * which may exceed {@code C}: then the row was truncated to its {@code C} most probable tokens
     * (compare the count with {@code C}). A special row keeps 0.
     *
     * @param indicesOut {@link DType#I32} {@code [R, C]}, {@code C ≥ 1}
     * @param probsOut   {@link DType#F32} {@code [R, C]}
     * @param countsOut  rank-1 {@link DType#I32} with at least {@code R} elements
     */
    public void keptTokens(Tensor logits, SamplingFilters filters, Tensor indicesOut, Tensor probsOut, Tensor countsOut) {
        checkOpen();
        int n = cols("logits", logits);
        filters(filters, n, false);
        Checks.drawFree(filters);
        int capacity = Checks.keptTokensOutputs(logits, indicesOut, probsOut, countsOut);
        boolean shareable = shareable("logits", logits) & shareable("indicesOut", indicesOut)
                & shareable("probsOut", probsOut) & shareable("countsOut", countsOut);
        HalfRows.Rows x = HalfRows.of(logits, 0);
        rows.forEachRow((int) logits.rows(), n, shareable, row -> countsOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED,
                countsOut.index(row), selection.keptTokens(x.read(row), x.at(row), n, filters,
                        indicesOut.segment(), indicesOut.index(row, 0), probsOut.segment(), probsOut.index(row, 0),
                        capacity)));
    }

    /**
     * The form decoding loops want: {@code out = logits} on the kept tokens, {@code -inf} elsewhere
     * ({@code out} is F32, or the logits' half type, shaped like {@code logits} and may be it). A special row
     * gives NaN everywhere.
     */
    public void maskLogits(Tensor logits, SamplingFilters filters, Tensor out) {
        checkOpen();
        int n = cols("logits", logits);
        filters(filters, n, false);
        Checks.drawFree(filters);
        inPlaceOutput("out", out, "logits", logits);
        HalfRows.Rows x = HalfRows.of(logits, 0);
        HalfRows.Rows o = HalfRows.of(out, 1);
        rows.forEachRow((int) logits.rows(), n, shareable("logits", logits) & shareable("out", out), r -> {
            selection.maskLogits(x.read(r), x.at(r), n, filters, o.write(r), o.at(r));
            o.store(r);
        });
    }

    /** {@link #sample(Tensor, List, long[], long, Tensor)} with the same pipeline for every row. */
    public void sample(Tensor logits, SamplingFilters filters, long[] seeds, long step, Tensor tokensOut) {
        checkOpen();
        notNull("filters", filters);
        long r = logits == null ? 0 : logits.rows();
        sample(logits, java.util.Collections.nCopies((int) Math.min(r, Integer.MAX_VALUE), filters), seeds, step, tokensOut);
    }

    /**
     * One token per row from the kept, renormalized distribution of row {@code r}'s pipeline, drawn
     * with Philox4x32-10 (key = {@code seeds[r]}, counter = {@code (r, step)}): the same seed, row and
     * step give the same token on every run and thread count. Temperature 0 is greedy (lowest index on
     * ties). A special row gives token {@code -1}.
     *
     * @param filtersPerRow one pipeline per row (a batch in a server mixes requests)
     * @param seeds         one seed per row
     * @param step          the decoding step (part of the counter)
     * @param tokensOut     rank-1 {@link DType#I32} with at least {@code R} elements
     */
    public void sample(Tensor logits, List<SamplingFilters> filtersPerRow, long[] seeds, long step, Tensor tokensOut) {
        checkOpen();
        int n = samplingArguments(logits, filtersPerRow, seeds, tokensOut);
        int nRows = (int) logits.rows();
        List<SamplingFilters> filters = List.copyOf(filtersPerRow);
        long[] s = seeds.clone();
        HalfRows.Rows x = HalfRows.of(logits, 0);
        HalfKernels hk = inRegisterHalf(logits);
        rows.forEachRow(nRows, n, shareable("logits", logits) & shareable("tokensOut", tokensOut), r -> {
            SamplingFilters f = filters.get(r);
            int token = hk != null && f.temperature() == 0f // greedy: argmax with the lowest index, as selection's
                    ? hk.argmax(DType.BF16, logits.segment(), logits.index(r, 0), n)
                    : selection.sample(x.read(r), x.at(r), n, f, s[r], r, step);
            tokensOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, tokensOut.index(r), token);
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

    /** {@link #topK(Tensor, int, float, Tensor, Tensor, Tensor)} on device tensors; {@code valuesOut} and {@code probsOut} may be null. */
    public void topK(DeviceTensor logits, int k, float temperature, DeviceTensor indicesOut, DeviceTensor valuesOut,
                     DeviceTensor probsOut, CudaStream stream) {
        checkOpen();
        CudaKernels.topK(logits, temperature, k, indicesOut, valuesOut, probsOut, stream);
    }

    /** {@link #keptMask(Tensor, SamplingFilters, Tensor)} on device tensors ({@code maskOut}: BOOL like {@code logits}). */
    public void keptMask(DeviceTensor logits, SamplingFilters filters, DeviceTensor maskOut, CudaStream stream) {
        checkOpen();
        CudaKernels.keptMask(logits, filters, maskOut, null, stream);
    }

    /** {@link #sample(Tensor, SamplingFilters, long[], long, Tensor)} on device tensors, one {@code seed} for every row. */
    public void sample(DeviceTensor logits, SamplingFilters filters, long seed, long step, DeviceTensor tokensOut,
                       CudaStream stream) {
        checkOpen();
        CudaKernels.sample(logits, filters, seed, 0, step, tokensOut, stream);
    }

    /** {@link #raceSample(Tensor, List, long[], long, Tensor)} with the same pipeline for every row. */
    public void raceSample(Tensor logits, SamplingFilters filters, long[] seeds, long step, Tensor tokensOut) {
        checkOpen();
        notNull("filters", filters);
        long r = logits == null ? 0 : logits.rows();
        raceSample(logits, java.util.Collections.nCopies((int) Math.min(r, Integer.MAX_VALUE), filters), seeds, step,
                tokensOut);
    }

    /**
     * One token per row from the kept, renormalized distribution of row {@code r}'s pipeline, drawn by
     * the exponential race (SPEC §2): token {@code i} gets the key {@code x_i/T − log E_i} with
     * {@code E_i ~ Exp(1)} from Philox4x32-10 keyed by ({@code seeds[r]}, {@code r}, {@code step}, global
     * id {@code i}), and the largest key among the kept tokens wins (the lower id on a tie). A token's
     * key depends on nothing else, so the row may be split anywhere: long rows are cut into fixed-size
     * chunks that run on the pool (batch-1 decoding uses every thread), and the token is the one that
     * {@link #shardSample} and {@link ShardSelection#sample} give for any sharding of the row. The same
     * token on every backend, SIMD width and thread count. Temperature 0 is greedy (lowest index on
     * ties). A special row gives {@code -1}.
     *
     * <p>This is a different draw from {@link #sample}'s inverse-CDF walk with the same seed: each has
     * the same law, not the same tokens.
     *
     * @param filtersPerRow one pipeline per row
     * @param seeds         one seed per row
     * @param step          the decoding step
     * @param tokensOut     rank-1 {@link DType#I32} with at least {@code R} elements
     */
    public void raceSample(Tensor logits, List<SamplingFilters> filtersPerRow, long[] seeds, long step,
                           Tensor tokensOut) {
        checkOpen();
        int n = samplingArguments(logits, filtersPerRow, seeds, tokensOut);
        int nRows = (int) logits.rows();
        int[] tokens = new int[nRows];
        ShardDriver.raceSample(rows, backend.shards(), logits, n, List.copyOf(filtersPerRow), seeds.clone(), step,
                shareable("logits", logits), tokens);
        for (int r = 0; r < nRows; r++) {
            tokensOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, tokensOut.index(r), tokens[r]);
        }
    }

    /** The checks {@link #sample} and {@link #raceSample} share; returns the row length. */
    private static int samplingArguments(Tensor logits, List<SamplingFilters> filtersPerRow, long[] seeds,
                                         Tensor tokensOut) {
        int n = cols("logits", logits);
        int nRows = (int) logits.rows();
        Checks.sampling(filtersPerRow, seeds, nRows, n);
        rowOutput("tokensOut", tokensOut, DType.I32, nRows);
        noOverlap("tokensOut", tokensOut, "logits", logits, false);
        return n;
    }

    /**
     * Each row's entry in the exponential race of {@link #raceSample} with no filter, for a shard of a
     * vocabulary-sharded row: {@code logits} holds global ids {@code offset … offset + V_shard − 1}.
     * Merge the entries of every shard of row {@code r} with {@link ShardSample#merge} and read
     * {@link ShardSample#token()}: the token {@code raceSample} gives for the whole row, whatever the
     * number of shards. Every shard must use the same seeds, step and temperature and the same row
     * numbering (row {@code r} of this tensor is row {@code r} of the batch).
     *
     * @param offset      the global id of the shard's first token; ids must stay below {@code 2^31 − 1}
     * @param temperature {@code T > 0}, or 0 for greedy
     * @param seeds       one seed per row
     * @param step        the decoding step
     */
    public ShardSample[] shardSample(Tensor logits, int offset, float temperature, long[] seeds, long step) {
        checkOpen();
        int n = cols("logits", logits);
        int nRows = (int) logits.rows();
        Checks.shardOffset(offset, n);
        Checks.samplingTemperature(temperature);
        Checks.seeds(seeds, nRows);
        float[] t = new float[nRows];
        java.util.Arrays.fill(t, temperature);
        return ShardDriver.race(rows, backend.shards(), logits, n, offset, t, seeds.clone(), step,
                shareable("logits", logits));
    }

    /**
     * Each row's candidate summary for a shard of a vocabulary-sharded row ({@link ShardCandidates}):
     * its first {@code k} live tokens in SPEC order with global ids from {@code offset}, its maximum and
     * {@code Σ exp((x − max)/T)}, and its bound. Merge the summaries of every shard with
     * {@link ShardCandidates#merge}, then {@link ShardCandidates#keep} a pipeline and, when
     * {@link ShardSelection#exact()}, {@link ShardSelection#sample} from it.
     *
     * @param offset      the global id of the shard's first token; ids must stay below {@code 2^31 − 1}
     * @param temperature {@code T > 0}, the temperature of the pipeline to be kept
     * @param k           {@code k ≥ 1} candidates per shard: at least a top-k's {@code k} or a top-H's {@code n}
     */
    public ShardCandidates[] shardCandidates(Tensor logits, int offset, float temperature, int k) {
        checkOpen();
        int n = cols("logits", logits);
        Checks.shardOffset(offset, n);
        Checks.temperature(temperature);
        Checks.candidateCount(k);
        return ShardDriver.candidates(rows, backend.shards(), logits, n, offset, temperature, k,
                shareable("logits", logits));
    }

    /**
     * Mirostat 2.0 (Basu et al.; llama.cpp's {@code mirostat_v2}), one decoding step for every row:
     * after {@code filters} (temperature {@code > 0}), keeps the survivors whose surprise {@code −log₂ q}
     * is at most row r's {@code mu[r]} (at least the most likely: {@link SamplingFilters#mirostat}), draws
     * a token as {@link #sample} does (Philox key {@code seeds[r]}, counter {@code (r, step)}), and then
     * sets {@code mu[r] ← mu[r] − eta·(−log₂ q_token − tau)}, {@code q_token} the token's probability
     * among the kept tokens. The state {@code mu} belongs to the caller: start it at {@code 2·tau} (as
     * llama.cpp does) and pass the same array at every step; rows never share it. A special row gives
     * token {@code -1} and keeps its {@code mu}.
     *
     * @param tau       the target surprise in bits, finite and {@code > 0}
     * @param eta       the learning rate, finite and {@code ≥ 0}
     * @param mu        one finite value per row, updated in place
     * @param seeds     one seed per row
     * @param step      the decoding step (part of the counter)
     * @param tokensOut rank-1 {@link DType#I32} with at least {@code R} elements
     */
    public void mirostatV2(Tensor logits, SamplingFilters filters, float tau, float eta, float[] mu, long[] seeds,
                           long step, Tensor tokensOut) {
        checkOpen();
        int n = cols("logits", logits);
        int nRows = (int) logits.rows();
        Checks.mirostat(filters, tau, eta, mu, seeds, nRows, n);
        rowOutput("tokensOut", tokensOut, DType.I32, nRows);
        noOverlap("tokensOut", tokensOut, "logits", logits, false);
        SamplingFilters[] perRow = new SamplingFilters[nRows];
        for (int r = 0; r < nRows; r++) {
            perRow[r] = filters.mirostat(mu[r]);
        }
        long[] s = seeds.clone();
        double[] prob = new double[nRows];
        HalfRows.Rows x = HalfRows.of(logits, 0);
        rows.forEachRow(nRows, n, shareable("logits", logits) & shareable("tokensOut", tokensOut), r ->
                tokensOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, tokensOut.index(r),
                        selection.sample(x.read(r), x.at(r), n, perRow[r], s[r], r, step, prob, r)));
        for (int r = 0; r < nRows; r++) { // on the caller, after every row ran: mu is the caller's array
            if (prob[r] > 0) {
                double surprise = -Math.log(prob[r]) / Math.log(2);
                mu[r] = (float) (mu[r] - eta * (surprise - tau));
            }
        }
    }

    /**
     * {@link #sample} with vLLM's log-prob outputs (its default {@code raw_logprobs} mode) for every row:
     * the token drawn from the pipeline's kept distribution, its rank among the raw logits
     * ({@code #{i : x_i ≥ x_token}}, so 1 for the most likely; ties count ahead, as vLLM counts them), its raw
     * log-probability {@code log_softmax(x)_token} (before the pipeline, temperature 1), its processed
     * log-probability {@code log q_token} among the kept tokens after the pipeline (0 at temperature 0, where
     * the chosen token has all the mass), and the {@code topN} largest raw log-probabilities with their ids
     * in SPEC order (logit descending, ties by ascending index). A special row gives token and ids
     * {@code -1}, rank 0 and NaN values.
     *
     * @param topN                how many raw log-probabilities to return per row, {@code 0 ≤ topN ≤ V}
     * @param topIdsOut           {@link DType#I32} {@code [R, topN]} (ignored when {@code topN = 0})
     * @param topLogprobsOut      {@link DType#F32} {@code [R, topN]} (ignored when {@code topN = 0})
     * @param rankOut             rank-1 {@link DType#I32}, a value per row
     * @param rawLogprobOut       rank-1 {@link DType#F32}, a value per row
     * @param processedLogprobOut rank-1 {@link DType#F32}, a value per row
     */
    public void sampleWithLogprobs(Tensor logits, SamplingFilters filters, long[] seeds, long step, Tensor tokensOut,
                                   int topN, Tensor topIdsOut, Tensor topLogprobsOut, Tensor rankOut,
                                   Tensor rawLogprobOut, Tensor processedLogprobOut) {
        checkOpen();
        int n = cols("logits", logits);
        int nRows = (int) logits.rows();
        notNull("filters", filters);
        Checks.sampling(java.util.Collections.nCopies(nRows, filters), seeds, nRows, n);
        boolean shareable = Checks.logprobOutputs(logits, n, tokensOut, topN, topIdsOut, topLogprobsOut, rankOut,
                rawLogprobOut, processedLogprobOut);
        long[] s = seeds.clone();
        double[] prob = new double[nRows];
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
        ValueLayout.OfInt i32 = ValueLayout.JAVA_INT_UNALIGNED;
        HalfRows.Rows xs = HalfRows.of(logits, 0);
        rows.forEachRow(nRows, n, shareable, r -> {
            MemorySegment x = xs.read(r);
            long off = xs.at(r);
            int token;
            if (filters.temperature() == 0f) {
                token = selection.sample(x, off, n, filters, s[r], r, step);
                prob[r] = token < 0 ? Double.NaN : 1;
            } else {
                token = selection.sample(x, off, n, filters, s[r], r, step, prob, r);
            }
            tokensOut.segment().setAtIndex(i32, tokensOut.index(r), token);
            boolean special = token < 0;
            rankOut.segment().setAtIndex(i32, rankOut.index(r),
                    special ? 0 : selection.countAtLeast(x, off, n, x.getAtIndex(f32, off + token)));
            rawLogprobOut.segment().setAtIndex(f32, rawLogprobOut.index(r),
                    special ? Float.NaN : (float) scoring.tokenLogprob(x, off, n, token));
            processedLogprobOut.segment().setAtIndex(f32, processedLogprobOut.index(r), (float) Math.log(prob[r]));
            if (topN > 0) {
                selection.topK(x, off, n, 1f, topN, topIdsOut.segment(), topIdsOut.index(r, 0),
                        topLogprobsOut.segment(), topLogprobsOut.index(r, 0), null, 0);
                double lse = special ? Double.NaN : softmaxKernels.logSumExp(x, off, n, 1f);
                for (int j = 0; j < topN; j++) {
                    long at = topLogprobsOut.index(r, j);
                    topLogprobsOut.segment().setAtIndex(f32, at, (float) (topLogprobsOut.segment().getAtIndex(f32, at) - lse));
                }
            }
        });
    }

    /**
     * vLLM's penalties, in place on {@code logits} ({@code [R, V]} F32, BF16 or F16), each row with its own
     * parameters (a server batch mixes requests): every token in row r's prompt or output ids gets the
     * repetition penalty {@code θ_r} once ({@code x/θ} where {@code x > 0}, {@code x·θ} otherwise: CTRL,
     * Transformers); every token generated {@code c > 0} times in row r's output ids loses
     * {@code frequency_r·c + presence_r} (OpenAI, vLLM). Id lists are I32 {@code [R, L]}, negative ids pad.
     * Nothing is allocated once a thread's scratch has grown to {@code V}.
     *
     * @param promptIds  the prompt's ids per row (repetition only), or null
     * @param outputIds  the generated ids per row (repetition, frequency, presence), or null
     * @param repetition θ per row, finite and {@code > 0} (1 = none), or null for none
     * @param frequency  per row, finite, or null for 0
     * @param presence   per row, finite, or null for 0
     */
    public void applyPenalties(Tensor logits, Tensor promptIds, Tensor outputIds, float[] repetition, float[] frequency,
                               float[] presence) {
        checkOpen();
        int n = Checks.logitsInPlace(logits);
        long nRows = logits.rows();
        Checks.tokenLists("promptIds", promptIds, nRows, n, true);
        Checks.tokenLists("outputIds", outputIds, nRows, n, true);
        Checks.perRow("repetition", repetition, nRows, true);
        Checks.perRow("frequency", frequency, nRows, false);
        Checks.perRow("presence", presence, nRows, false);
        boolean shareable = shareable("logits", logits) & (promptIds == null || shareable("promptIds", promptIds))
                & (outputIds == null || shareable("outputIds", outputIds));
        HalfRows.Rows x = HalfRows.of(logits, 0);
        rows.forEachRow((int) nRows, n, shareable, r -> {
            Penalties.apply(x.read(r), x.at(r), n,
                promptIds == null ? null : promptIds.segment(), promptIds == null ? 0 : promptIds.index(r, 0),
                promptIds == null ? 0 : (int) promptIds.cols(),
                outputIds == null ? null : outputIds.segment(), outputIds == null ? 0 : outputIds.index(r, 0),
                outputIds == null ? 0 : (int) outputIds.cols(),
                repetition == null ? 1f : repetition[r], frequency == null ? 0f : frequency[r],
                presence == null ? 0f : presence[r]);
            x.store(r);
        });
    }

    /**
     * A sparse logit bias, in place: {@code logits[r, ids[r, j]] += bias[r, j]} for every non-negative id
     * (I32 {@code ids} and F32 {@code bias}, both {@code [R, K]}; a negative id pads).
     */
    public void applyLogitBias(Tensor logits, Tensor ids, Tensor bias) {
        checkOpen();
        int n = Checks.logitsInPlace(logits);
        long nRows = logits.rows();
        Checks.tokenLists("ids", ids, nRows, n, false);
        accessible("bias", bias);
        floatType("bias", bias);
        if (bias.rank() > 2 || bias.rows() != nRows || bias.cols() != ids.cols()) {
            throw new IllegalArgumentException("bias: expected a float tensor [" + nRows + ", " + ids.cols() + "] like ids, got "
                    + bias);
        }
        HalfRows.Rows x = HalfRows.of(logits, 0);
        HalfRows.Rows b = HalfRows.of(bias, 1);
        rows.forEachRow((int) nRows, n, shareable("logits", logits) & shareable("ids", ids) & shareable("bias", bias), r -> {
            Penalties.bias(x.read(r), x.at(r), ids.segment(), ids.index(r, 0), b.read(r), b.at(r), (int) ids.cols());
            x.store(r);
        });
    }

    /**
     * Allowed or banned token ids, in place: banned ({@code allowed = false}) ids get {@code -inf}; with
     * {@code allowed = true} every token not listed for its row gets {@code -inf} (a row whose list is
     * all padding is left unrestricted). I32 {@code ids [R, K]}, negative ids pad.
     */
    public void restrictTokens(Tensor logits, Tensor ids, boolean allowed) {
        checkOpen();
        int n = Checks.logitsInPlace(logits);
        long nRows = logits.rows();
        Checks.tokenLists("ids", ids, nRows, n, false);
        HalfRows.Rows x = HalfRows.of(logits, 0);
        rows.forEachRow((int) nRows, n, shareable("logits", logits) & shareable("ids", ids), r -> {
            Penalties.restrict(x.read(r), x.at(r), n, ids.segment(), ids.index(r, 0), (int) ids.cols(), allowed);
            x.store(r);
        });
    }

    /**
     * Speculative decoding's chain rejection sampler (Leviathan et al. 2023; FlashInfer's
     * {@code chain_speculative_sampling}), one request per row {@code b}: draft token {@code d_i} is
     * accepted with probability {@code min(1, p_i(d_i)/q_i(d_i))}; at the first rejection the output is a
     * token from {@code normalize(max(0, p_i − q_i))} and the chain stops; when all {@code k} pass, a bonus
     * token comes from the last target row. The emitted tokens follow the target distributions exactly.
     * Every draw is Philox keyed by ({@code seeds[b]}, b, {@code step}, position). Probability rows are
     * renormalized as given; a request with a non-finite or negative probability, or a row summing to 0,
     * gets {@code -1} accepted and tokens {@code -1} (other requests are unaffected).
     *
     * @param draftIds    I32 {@code [B, k]}, ids in {@code [0, V)}
     * @param draftProbs  F32 {@code [B, k, V]}: the draft model's probabilities that drew the ids
     * @param targetProbs F32 {@code [B, k + 1, V]}: the target model's probabilities at each position
     * @param seeds       one seed per request
     * @param step        the decoding step (part of the counter)
     * @param acceptedOut rank-1 I32: how many drafts each request accepted
     * @param tokensOut   I32 {@code [B, k + 1]}: the accepted drafts, then the replacement or bonus token, then -1
     */
    public void speculativeChain(Tensor draftIds, Tensor draftProbs, Tensor targetProbs, long[] seeds, long step,
                                 Tensor acceptedOut, Tensor tokensOut) {
        checkOpen();
        int[] bkv = Checks.speculative(draftIds, draftProbs, targetProbs, seeds, acceptedOut, tokensOut);
        boolean shareable = shareable("draftIds", draftIds) & shareable("draftProbs", draftProbs)
                & shareable("targetProbs", targetProbs) & shareable("acceptedOut", acceptedOut) & shareable("tokensOut", tokensOut);
        // The sampler reads whole [k, V] probability blocks: half blocks are widened once for the call.
        Tensor draft = HalfRows.widened(draftProbs);
        Tensor target = HalfRows.widened(targetProbs);
        int k = bkv[1];
        int v = bkv[2];
        long[] s = seeds.clone();
        rows.forEachRow(bkv[0], k * v, shareable, b -> acceptedOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED,
                acceptedOut.index(b), SpeculativeSampling.chain(draftIds.segment(), draftIds.index(b, 0), k,
                        draft.segment(), draft.offset() + b * draft.batchStride(), draft.rowStride(),
                        target.segment(), target.offset() + b * target.batchStride(), target.rowStride(),
                        v, s[b], b, step, tokensOut.segment(), tokensOut.index(b, 0))));
    }

    /** Whether row {@code row} may emit {@code token}: the caller's constraint for {@link #sampleConstrained}. */
    @FunctionalInterface
    public interface TokenConstraint {
        /** True when {@code token} is allowed in row {@code row}. */
        boolean allows(int row, int token);
    }

    /**
     * Constrained sampling by rejection, the kernel under adaptive weighted rejection sampling (AWRS):
     * per row, a token is drawn from the pipeline's kept distribution; when {@code constraint} refuses
     * it, its mass is removed and the draw repeats over the kept tokens left (no new pass over the row),
     * the uniform of attempt {@code a} being Philox's at ({@code seeds[r]}, r, {@code step}, a). The token
     * then follows the kept distribution restricted to the allowed tokens. Writes the token ({@code -1}
     * when every kept token is refused, or for a special row), the number of rejections, and the refused
     * tokens' probability in the kept distribution (AWRS's weight is built from it). The constraint is
     * called on the calling thread, in row order.
     *
     * @param rejectionsOut   rank-1 {@link DType#I32}, a value per row
     * @param rejectedMassOut rank-1 {@link DType#F32}, a value per row (NaN for a special row)
     */
    public void sampleConstrained(Tensor logits, SamplingFilters filters, TokenConstraint constraint, long[] seeds, long step,
                                  Tensor tokensOut, Tensor rejectionsOut, Tensor rejectedMassOut) {
        checkOpen();
        int n = cols("logits", logits);
        int nRows = (int) logits.rows();
        notNull("filters", filters);
        notNull("constraint", constraint);
        Checks.sampling(java.util.Collections.nCopies(nRows, filters), seeds, nRows, n);
        filters(filters, n, false);
        rowOutput("tokensOut", tokensOut, DType.I32, nRows);
        rowOutput("rejectionsOut", rejectionsOut, DType.I32, nRows);
        rowOutput("rejectedMassOut", rejectedMassOut, DType.F32, nRows);
        Checks.distinctOutputs(logits, List.of(new Object[] {"tokensOut", tokensOut},
                new Object[] {"rejectionsOut", rejectionsOut}, new Object[] {"rejectedMassOut", rejectedMassOut}));
        long[] s = seeds.clone();
        double[] stats = new double[2 * nRows];
        HalfRows.Rows x = HalfRows.of(logits, 0);
        rows.forEachRow(nRows, n, false, r -> { // on the caller: the constraint need not be thread-safe
            int token = selection.sampleConstrained(x.read(r), x.at(r), n, filters, s[r], r, step,
                    t -> constraint.allows(r, t), stats, r);
            tokensOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, tokensOut.index(r), token);
            rejectionsOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, rejectionsOut.index(r), (int) stats[2 * r]);
            rejectedMassOut.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, rejectedMassOut.index(r),
                    (float) stats[2 * r + 1]);
        });
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
