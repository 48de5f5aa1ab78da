package dev.entrokit;

import dev.entrokit.internal.Backend;
import dev.entrokit.internal.Backends;
import dev.entrokit.internal.DistributionKernels;
import dev.entrokit.internal.MemoryAccess;
import dev.entrokit.internal.RowExecutor;
import dev.entrokit.internal.ScoringKernels;
import dev.entrokit.internal.SelectionKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The public façade: checks every argument, then runs the kernel of the chosen backend over the rows.
 *
 * <p>Tensors hold {@code [rows, V]} logits (a rank-1 tensor is one row). Outputs go into caller
 * buffers; per-row losses into a rank-1 tensor of at least {@code rows} elements. Every kernel lives
 * in {@link DistributionKernels} and its implementations ({@code ScalarDistributionKernels},
 * {@code SimdDistributionKernels}), one method per op with the same name as here.
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
    private final Backend backend;
    private final DistributionKernels kernels;
    private final SelectionKernels selection;
    private final ScoringKernels scoring;
    private final RowExecutor rows;
    private final boolean shared;
    private volatile boolean closed;

    private static final String CLOSED = "entrokit: closed; create a new instance or use Entrokit.get()";

    private Entrokit(Backend backend, int threads, boolean shared) {
        this.shared = shared;
        this.backend = backend;
        this.kernels = backend.distribution();
        this.selection = backend.selection();
        this.scoring = backend.scoring();
        this.rows = new RowExecutor(threads);
    }

    /** The default instance, built on first use; a configuration error is kept and reported on every call. */
    private static final class Default {
        static final Entrokit INSTANCE;
        static final RuntimeException FAILURE;

        static {
            Entrokit instance = null;
            RuntimeException failure = null;
            try {
                instance = new Entrokit(Backends.select(Backends.requested()), RowExecutor.configuredThreads(), true);
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
     * @throws IllegalStateException when the backend is unavailable, with the reasons
     */
    public static Entrokit create(String name, int threads) {
        if (name == null) {
            throw new IllegalArgumentException("backend: must not be null");
        }
        return new Entrokit(Backends.select(name), threads, false);
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

    /** Refuses any op on a closed instance. */
    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(CLOSED);
        }
    }

    // ---------------------------------------------------------------- softmax family

    /** {@code out[r] = log Σ_i exp(logits[r,i]/T)}; {@code out} is rank 1 with at least {@code rows} elements. */
    public void logSumExp(Tensor logits, Tensor out, float temperature) {
        checkOpen();
        float invT = invTemperature(temperature);
        int n = cols("logits", logits);
        checkRowOutput("out", out, DType.F32, logits.rows());
        checkNoOverlap("out", out, "logits", logits, false);
        boolean shareable = shareable("logits", logits) & shareable("out", out);
        MemorySegment x = logits.segment();
        MemorySegment o = out.segment();
        rows.forEachRow((int) logits.rows(), n, shareable, r ->
                o.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, out.index(r), (float) kernels.logSumExp(x, logits.index(r, 0), n, invT)));
    }

    /**
     * {@code probs = softmax(logits/T)} row by row; {@code probs} has the shape of {@code logits} and may be the
     * very same view (in place), but must not otherwise overlap it.
     */
    public void softmax(Tensor logits, Tensor probs, float temperature) {
        checkOpen();
        float invT = invTemperature(temperature);
        int n = cols("logits", logits);
        checkOutputLike("probs", probs, "logits", logits);
        checkNoOverlap("probs", probs, "logits", logits, true);
        rows.forEachRow((int) logits.rows(), n, shareable("logits", logits) & shareable("probs", probs), r ->
                kernels.softmax(logits.segment(), logits.index(r, 0), probs.segment(), probs.index(r, 0), n, invT));
    }

    /** {@code out = log_softmax(logits/T)}, computed as {@code (x − m)/T − log d} so large logits stay exact. */
    public void logSoftmax(Tensor logits, Tensor logprobs, float temperature) {
        checkOpen();
        float invT = invTemperature(temperature);
        int n = cols("logits", logits);
        checkOutputLike("logprobs", logprobs, "logits", logits);
        checkNoOverlap("logprobs", logprobs, "logits", logits, true);
        rows.forEachRow((int) logits.rows(), n, shareable("logits", logits) & shareable("logprobs", logprobs), r ->
                kernels.logSoftmax(logits.segment(), logits.index(r, 0), logprobs.segment(), logprobs.index(r, 0), n, invT));
    }

    /** Softmax backward: {@code gradInput = p ⊙ (gradOutput − Σ gradOutput·p) / T} from the forward output {@code probs}. */
    public void softmaxBackward(Tensor probs, Tensor gradOutput, Tensor gradInput, float temperature) {
        checkOpen();
        float invT = invTemperature(temperature);
        int n = cols("probs", probs);
        checkInputLike("gradOutput", gradOutput, "probs", probs);
        checkOutputLike("gradInput", gradInput, "probs", probs);
        checkNoOverlap("gradInput", gradInput, "probs", probs, true);
        checkNoOverlap("gradInput", gradInput, "gradOutput", gradOutput, true);
        boolean shareable = shareable("probs", probs) & shareable("gradOutput", gradOutput) & shareable("gradInput", gradInput);
        rows.forEachRow((int) probs.rows(), n, shareable, r -> kernels.softmaxBackward(probs.segment(), probs.index(r, 0),
                gradOutput.segment(), gradOutput.index(r, 0), gradInput.segment(), gradInput.index(r, 0), n, invT));
    }

    /** Log-softmax backward: {@code gradInput = (gradOutput − exp(y) · Σ gradOutput) / T} from the forward output {@code y}. */
    public void logSoftmaxBackward(Tensor logprobs, Tensor gradOutput, Tensor gradInput, float temperature) {
        checkOpen();
        float invT = invTemperature(temperature);
        int n = cols("logprobs", logprobs);
        checkInputLike("gradOutput", gradOutput, "logprobs", logprobs);
        checkOutputLike("gradInput", gradInput, "logprobs", logprobs);
        checkNoOverlap("gradInput", gradInput, "logprobs", logprobs, true);
        checkNoOverlap("gradInput", gradInput, "gradOutput", gradOutput, true);
        boolean shareable = shareable("logprobs", logprobs) & shareable("gradOutput", gradOutput)
                & shareable("gradInput", gradInput);
        rows.forEachRow((int) logprobs.rows(), n, shareable, r -> kernels.logSoftmaxBackward(logprobs.segment(), logprobs.index(r, 0),
                gradOutput.segment(), gradOutput.index(r, 0), gradInput.segment(), gradInput.index(r, 0), n, invT));
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
        checkOpen();
        return runLoss(Op.ENTROPY, null, logits, null, options, rowLoss, grad);
    }

    /** Soft-target cross-entropy {@code −Σ softmax(t) log_softmax(s)}; {@code grad} w.r.t. the student. See {@link #entropy}. */
    public double crossEntropy(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        checkOpen();
        return runLoss(Op.CROSS_ENTROPY, teacher, student, null, options, rowLoss, grad);
    }

    /**
     * Hard-label cross-entropy with {@code ignoreIndex} and label smoothing from {@code options}.
     * {@code labels} is a rank-1 {@link DType#I32} tensor with one label per row; ignored rows give 0,
     * a zero gradient, and leave the {@code MEAN}.
     */
    public double crossEntropyLabels(Tensor labels, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        checkOpen();
        return runLoss(Op.CROSS_ENTROPY_LABELS, null, student, labels, options, rowLoss, grad);
    }

    /** Forward KL {@code KL(softmax(t)‖softmax(s))}; {@code grad} w.r.t. the student. See {@link #entropy}. */
    public double kl(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        checkOpen();
        return runLoss(Op.KL, teacher, student, null, options, rowLoss, grad);
    }

    /** Reverse KL {@code KL(softmax(s)‖softmax(t))}; {@code grad} w.r.t. the student. */
    public double rkl(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        checkOpen();
        return runLoss(Op.RKL, teacher, student, null, options, rowLoss, grad);
    }

    /** Generalized JSD with {@code options.beta()} (0 gives forward KL, 1 reverse KL); {@code grad} w.r.t. the student. */
    public double jsd(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        checkOpen();
        return runLoss(Op.JSD, teacher, student, null, options, rowLoss, grad);
    }

    /** Jeffreys divergence {@code KL(p‖q) + KL(q‖p)}; {@code grad} w.r.t. the student. */
    public double jeffreys(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        checkOpen();
        return runLoss(Op.JEFFREYS, teacher, student, null, options, rowLoss, grad);
    }

    /** Total variation distance {@code ½ Σ |p − q|} (no gradient). */
    public double tv(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss) {
        checkOpen();
        return runLoss(Op.TV, teacher, student, null, options, rowLoss, null);
    }

    /** Hellinger distance {@code sqrt(½ Σ (√p − √q)²)} (no gradient). */
    public double hellinger(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss) {
        checkOpen();
        return runLoss(Op.HELLINGER, teacher, student, null, options, rowLoss, null);
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
        checkAlpha(alpha);
        return runLoss(Op.ALPHA, teacher, student, null, options, alpha, rowLoss, grad);
    }

    /**
     * Rényi divergence {@code D_α(p‖q) = log(Σ_i p_i^α q_i^{1−α}) / (α − 1)} for any finite {@code α ≥ 0}:
     * {@code α = 1} is {@code KL(p‖q)} (the limit), {@code α = 0} is {@code −log Σ_{p_i>0} q_i}. Gradient
     * w.r.t. the student: {@code (q − r)/T}. Masks and special values as {@link #alphaDivergence}.
     */
    public double renyi(Tensor teacher, Tensor student, float alpha, LossOptions options, Tensor rowLoss, Tensor grad) {
        checkOpen();
        checkAlpha(alpha);
        return runLoss(Op.RENYI, teacher, student, null, options, alpha, rowLoss, grad);
    }

    /**
     * Pearson {@code χ²(p‖q) = Σ_i (p_i − q_i)²/q_i = Σ_i p_i²/q_i − 1} ({@code +inf} where the student
     * masks a token the teacher keeps). Gradient w.r.t. the student: {@code S·(q − r)/T} with
     * {@code S = χ² + 1}, {@code r_i = (p_i²/q_i)/S}.
     */
    public double chi2(Tensor teacher, Tensor student, LossOptions options, Tensor rowLoss, Tensor grad) {
        checkOpen();
        return runLoss(Op.CHI2, teacher, student, null, options, 2f, rowLoss, grad);
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
        checkOpen();
        return runLoss(Op.PLD, teacher, student, labels, options, Float.NaN, rowLoss, grad);
    }

    private static void checkAlpha(float alpha) {
        if (!(alpha >= 0f) || Float.isInfinite(alpha)) {
            throw new IllegalArgumentException("alpha: must be finite and >= 0, got " + alpha);
        }
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
        int nRows = (int) logits.rows();
        checkIds(ids, nRows, n);
        checkRowOutput("out", out, DType.F32, nRows);
        checkNoOverlap("out", out, "logits", logits, false);
        checkNoOverlap("out", out, "ids", ids, false);
        long perSeq = ids.cols();
        rows.forEachRow(nRows, n, shareable("logits", logits) & shareable("ids", ids) & shareable("out", out), r ->
                out.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, out.index(r), (float) scoring.tokenLogprob(
                        logits.segment(), logits.index(r, 0), n, ids.getInt(r / perSeq, r % perSeq))));
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
        int nT = cols("logprobs", logprobs);
        int kCount = kCount(k, nT);
        int nSeq = (int) logprobs.rows();
        checkRowOutput("scores", scores, DType.F32, nSeq);
        checkNoOverlap("scores", scores, "logprobs", logprobs, false);
        shareable("logprobs", logprobs);
        shareable("scores", scores);
        double[] values = new double[nT];
        for (int q = 0; q < nSeq; q++) {
            for (int t = 0; t < nT; t++) {
                values[t] = logprobs.getFloat(q, t);
            }
            setScore(scores, q, meanOfSmallest(values, kCount));
        }
    }

    /**
     * Min-K% Prob from logits: {@link #tokenLogprob} fused with the selection of
     * {@link #minKProb(Tensor, float, Tensor)}; {@code ids} is {@code [S, T]} (or {@code [T]} for one
     * sequence) and {@code logits} holds its {@code S·T} rows in that order.
     */
    public void minKProb(Tensor logits, Tensor ids, float k, Tensor scores) {
        checkOpen();
        SequenceShape seq = sequences("logits", logits, ids, scores);
        int kCount = kCount(k, seq.length);
        double[] lp = new double[seq.rows()];
        rows.forEachRow(seq.rows(), seq.vocab, seq.shareable, r -> lp[r] = scoring.tokenLogprob(logits.segment(),
                logits.index(r, 0), seq.vocab, seq.id(ids, r)));
        for (int q = 0; q < seq.count; q++) {
            setScore(scores, q, meanOfSmallest(java.util.Arrays.copyOfRange(lp, q * seq.length, (q + 1) * seq.length), kCount));
        }
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
        SequenceShape seq = sequences("logits", logits, ids, scores);
        int kCount = kCount(k, seq.length);
        double[] z = new double[seq.rows()];
        rows.forEachRow(seq.rows(), seq.vocab, seq.shareable, r -> {
            double[] m = new double[3];
            scoring.tokenLogprobMoments(logits.segment(), logits.index(r, 0), seq.vocab, seq.id(ids, r), m);
            double sigma = Math.sqrt(m[2]);
            double diff = m[0] - m[1];
            z[r] = sigma > 0 ? diff / sigma : diff == 0 ? 0 : diff * Double.POSITIVE_INFINITY;
        });
        for (int q = 0; q < seq.count; q++) {
            setScore(scores, q, meanOfSmallest(java.util.Arrays.copyOfRange(z, q * seq.length, (q + 1) * seq.length), kCount));
        }
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
        SequenceShape seq = sequences("logits", logits, ids, scores);
        if (!(a > 0f) || Float.isInfinite(a)) {
            throw new IllegalArgumentException("a: must be finite and > 0, got " + a);
        }
        checkFrequencies(freq, seq.vocab);
        // First occurrences, found from the ids alone so that no other position costs a pass.
        boolean[] first = new boolean[seq.rows()];
        java.util.BitSet seen = new java.util.BitSet(seq.vocab);
        for (int q = 0; q < seq.count; q++) {
            seen.clear();
            for (int t = 0; t < seq.length; t++) {
                int r = q * seq.length + t;
                int y = seq.id(ids, r);
                first[r] = !seen.get(y);
                seen.set(y);
            }
        }
        double[] c = new double[seq.rows()];
        rows.forEachRow(seq.rows(), seq.vocab, seq.shareable & shareable("freq", freq), r -> {
            if (first[r]) {
                int y = seq.id(ids, r);
                double p = Math.exp(scoring.tokenLogprob(logits.segment(), logits.index(r, 0), seq.vocab, y));
                c[r] = Math.min(p * -Math.log(freq.getFloat(y)), a); // Math.min keeps a NaN
            }
        });
        for (int q = 0; q < seq.count; q++) {
            double sum = 0;
            int count = 0;
            for (int r = q * seq.length; r < (q + 1) * seq.length; r++) {
                if (first[r]) {
                    sum += c[r];
                    count++;
                }
            }
            setScore(scores, q, sum / count);
        }
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
        SequenceShape seq = sequences("logitsA", logitsA, ids, scores);
        cols("logitsB", logitsB);
        checkInputLike("logitsB", logitsB, "logitsA", logitsA);
        checkNoOverlap("scores", scores, "logitsB", logitsB, false);
        double[] diff = new double[seq.rows()];
        rows.forEachRow(seq.rows(), seq.vocab, seq.shareable & shareable("logitsB", logitsB), r -> {
            int y = seq.id(ids, r);
            diff[r] = scoring.tokenLogprob(logitsA.segment(), logitsA.index(r, 0), seq.vocab, y)
                    - scoring.tokenLogprob(logitsB.segment(), logitsB.index(r, 0), seq.vocab, y);
        });
        for (int q = 0; q < seq.count; q++) {
            double sum = 0;
            for (int r = q * seq.length; r < (q + 1) * seq.length; r++) {
                sum += diff[r];
            }
            setScore(scores, q, sum);
        }
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
        checkInputLike("lameLogits", lameLogits, "logits", logits);
        if (!Float.isFinite(lambda)) {
            throw new IllegalArgumentException("lambda: must be finite, got " + lambda);
        }
        if (Float.isNaN(threshold)) {
            throw new IllegalArgumentException("threshold: must not be NaN");
        }
        if (uncertainty == null) {
            throw new IllegalArgumentException("uncertainty: must not be null");
        }
        checkOutputLike("out", out, "logits", logits);
        checkNoOverlap("out", out, "logits", logits, true);
        checkNoOverlap("out", out, "lameLogits", lameLogits, false);
        boolean shareable = shareable("logits", logits) & shareable("lameLogits", lameLogits) & shareable("out", out);
        rows.forEachRow((int) logits.rows(), n, shareable, r -> {
            MemorySegment x = logits.segment();
            long xOff = logits.index(r, 0);
            double u = uncertainty == Uncertainty.ENTROPY ? kernels.entropy(x, xOff, n, 1f, null, 0, 0f)
                    : kernels.jsd(x, xOff, lameLogits.segment(), lameLogits.index(r, 0), n, 1f, 0.5f, null, 0, 0f);
            scoring.contrastive(x, xOff, lameLogits.segment(), lameLogits.index(r, 0), out.segment(), out.index(r, 0), n,
                    lambda, u, threshold);
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
            checkInputLike("prior", prior, "logits", logits);
        }
        if (!(lambda > 0f) || Float.isInfinite(lambda)) {
            throw new IllegalArgumentException("lambda: must be finite and > 0, got " + lambda);
        }
        checkOutputLike("out", out, "logits", logits);
        checkNoOverlap("out", out, "logits", logits, true);
        checkNoOverlap("out", out, "prior", prior, false);
        boolean shared = prior.rows() == 1;
        boolean shareable = shareable("logits", logits) & shareable("prior", prior) & shareable("out", out);
        rows.forEachRow((int) logits.rows(), n, shareable, r -> scoring.injectPrior(logits.segment(), logits.index(r, 0),
                prior.segment(), prior.index(shared ? 0 : r, 0), out.segment(), out.index(r, 0), n, lambda));
    }

    // ---------------------------------------------------------------- helpers of the sequence scores

    /**
     * The checked shape of a sequence score: {@code count} sequences of {@code length} positions over a
     * vocabulary of {@code vocab}; {@code shareable} as {@link #shareable} for logits, ids and scores.
     */
    private record SequenceShape(int count, int length, int vocab, boolean shareable) {
        int rows() {
            return count * length;
        }

        int id(Tensor ids, int row) {
            return ids.getInt(row / length, row % length);
        }
    }

    private static SequenceShape sequences(String logitsName, Tensor logits, Tensor ids, Tensor scores) {
        int n = cols(logitsName, logits);
        checkIds(ids, logits.rows(), n);
        if (ids.cols() < 1) {
            throw new IllegalArgumentException("ids: need at least one position per sequence, got shape "
                    + java.util.Arrays.toString(ids.shape()));
        }
        checkRowOutput("scores", scores, DType.F32, ids.rows());
        checkNoOverlap("scores", scores, logitsName, logits, false);
        checkNoOverlap("scores", scores, "ids", ids, false);
        boolean shareable = shareable(logitsName, logits) & shareable("ids", ids) & shareable("scores", scores);
        return new SequenceShape((int) ids.rows(), (int) ids.cols(), n, shareable);
    }

    /** Token ids: I32, rank 1 or 2, {@code nRows} in all, each in {@code [0, n)}. */
    private static void checkIds(Tensor ids, long nRows, int n) {
        accessible("ids", ids);
        if (ids.dtype() != DType.I32 || ids.rank() > 2) {
            throw new IllegalArgumentException("ids: expected a rank-1 or rank-2 I32 tensor, got " + ids);
        }
        if (ids.rows() * ids.cols() != nRows) {
            throw new IllegalArgumentException("ids: shape " + java.util.Arrays.toString(ids.shape()) + " holds "
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

    /** {@code max(1, floor(k·T))}, with {@code k} read as the decimal it prints as (0.9f·10 is 9, not 8). */
    private static int kCount(float k, int length) {
        if (!(k > 0f && k <= 1f)) {
            throw new IllegalArgumentException("k: must be a fraction in (0, 1] (0.2 = 20 %), got " + k);
        }
        return Math.max(1, new java.math.BigDecimal(Float.toString(k)).multiply(java.math.BigDecimal.valueOf(length))
                .intValue());
    }

    /** Mean of the {@code k} smallest values (sorts {@code values}); NaN when any value is NaN. */
    private static double meanOfSmallest(double[] values, int k) {
        for (double v : values) {
            if (Double.isNaN(v)) {
                return Double.NaN;
            }
        }
        java.util.Arrays.sort(values);
        double sum = 0;
        for (int i = 0; i < k; i++) {
            sum += values[i];
        }
        return sum / k;
    }

    private static void setScore(Tensor scores, int q, double value) {
        scores.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, scores.index(q), (float) value);
    }

    private static void checkFrequencies(Tensor freq, int n) {
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
        if (k < 1 || k > n) {
            throw new IllegalArgumentException("k: must be in [1, V = " + n + "], got " + k);
        }
        invTemperature(temperature);
        long r = logits.rows();
        checkOutput("indicesOut", indicesOut, DType.I32, r, k);
        checkOutput("valuesOut", valuesOut, DType.F32, r, k);
        checkNoOverlap("indicesOut", indicesOut, "logits", logits, false);
        checkNoOverlap("valuesOut", valuesOut, "logits", logits, false);
        checkNoOverlap("valuesOut", valuesOut, "indicesOut", indicesOut, false);
        boolean shareable = shareable("logits", logits) & shareable("indicesOut", indicesOut)
                & shareable("valuesOut", valuesOut);
        if (probsOut != null) {
            checkOutput("probsOut", probsOut, DType.F32, r, k);
            checkNoOverlap("probsOut", probsOut, "logits", logits, false);
            checkNoOverlap("probsOut", probsOut, "indicesOut", indicesOut, false);
            checkNoOverlap("probsOut", probsOut, "valuesOut", valuesOut, false);
            shareable &= shareable("probsOut", probsOut);
        }
        rows.forEachRow((int) r, n, shareable, row -> selection.topK(logits.segment(), logits.index(row, 0), n, temperature, k,
                indicesOut.segment(), indicesOut.index(row, 0), valuesOut.segment(), valuesOut.index(row, 0),
                probsOut == null ? null : probsOut.segment(), probsOut == null ? 0 : probsOut.index(row, 0)));
    }

    /** Kept mask of top-p: the shortest prefix in SPEC order with cumulative probability {@code ≥ p}. See {@link #keptMask}. */
    public void topP(Tensor logits, float p, float temperature, Tensor maskOut) {
        checkOpen();
        keptMask(logits, positiveTemperature(temperature).topP(p), maskOut);
    }

    /** Kept mask of min-p: every token with {@code p_i ≥ minP · max p}, {@code minP ∈ (0, 1]}. See {@link #keptMask}. */
    public void minP(Tensor logits, float minP, float temperature, Tensor maskOut) {
        checkOpen();
        keptMask(logits, positiveTemperature(temperature).minP(minP), maskOut);
    }

    /** Kept mask of top-H ({@code α ∈ (0, 1]}, over the first {@code n ≥ 1} tokens, in {@code mode}). See {@link #keptMask}. */
    public void topH(Tensor logits, float alpha, int n, TopHMode mode, float temperature, Tensor maskOut) {
        checkOpen();
        keptMask(logits, positiveTemperature(temperature).topH(alpha, n, mode), maskOut);
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
        checkFilters(filters, n, false);
        checkOutput("maskOut", maskOut, DType.BOOL, logits.rows(), n);
        checkNoOverlap("maskOut", maskOut, "logits", logits, false);
        rows.forEachRow((int) logits.rows(), n, shareable("logits", logits) & shareable("maskOut", maskOut), r -> selection.keptMask(logits.segment(), logits.index(r, 0), n,
                filters, maskOut.segment(), maskOut.index(r, 0)));
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
        checkFilters(filters, n, false);
        long r = logits.rows();
        accessible("indicesOut", indicesOut);
        int capacity = (int) Math.min(Integer.MAX_VALUE, indicesOut.cols());
        checkOutput("indicesOut", indicesOut, DType.I32, r, capacity);
        checkOutput("probsOut", probsOut, DType.F32, r, capacity);
        checkRowOutput("countsOut", countsOut, DType.I32, (int) r);
        checkNoOverlap("indicesOut", indicesOut, "logits", logits, false);
        checkNoOverlap("probsOut", probsOut, "logits", logits, false);
        checkNoOverlap("probsOut", probsOut, "indicesOut", indicesOut, false);
        checkNoOverlap("countsOut", countsOut, "logits", logits, false);
        checkNoOverlap("countsOut", countsOut, "indicesOut", indicesOut, false);
        checkNoOverlap("countsOut", countsOut, "probsOut", probsOut, false);
        boolean shareable = shareable("logits", logits) & shareable("indicesOut", indicesOut)
                & shareable("probsOut", probsOut) & shareable("countsOut", countsOut);
        rows.forEachRow((int) r, n, shareable, row -> countsOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED,
                countsOut.index(row), selection.keptTokens(logits.segment(), logits.index(row, 0), n, filters,
                        indicesOut.segment(), indicesOut.index(row, 0), probsOut.segment(), probsOut.index(row, 0),
                        capacity)));
    }

    /**
     * The form decoding loops want: {@code out = logits} on the kept tokens, {@code -inf} elsewhere
     * ({@code out} is F32 shaped like {@code logits} and may be it). A special row gives NaN everywhere.
     */
    public void maskLogits(Tensor logits, SamplingFilters filters, Tensor out) {
        checkOpen();
        int n = cols("logits", logits);
        checkFilters(filters, n, false);
        checkOutputLike("out", out, "logits", logits);
        checkNoOverlap("out", out, "logits", logits, true);
        rows.forEachRow((int) logits.rows(), n, shareable("logits", logits) & shareable("out", out), r -> selection.maskLogits(logits.segment(), logits.index(r, 0), n,
                filters, out.segment(), out.index(r, 0)));
    }

    /** {@link #sample(Tensor, List, long[], long, Tensor)} with the same pipeline for every row. */
    public void sample(Tensor logits, SamplingFilters filters, long[] seeds, long step, Tensor tokensOut) {
        checkOpen();
        if (filters == null) {
            throw new IllegalArgumentException("filters: must not be null");
        }
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
        int n = cols("logits", logits);
        int nRows = (int) logits.rows();
        if (filtersPerRow == null || filtersPerRow.size() != nRows) {
            throw new IllegalArgumentException("filtersPerRow: expected one pipeline per row (" + nRows + "), got "
                    + (filtersPerRow == null ? "null" : filtersPerRow.size()));
        }
        for (SamplingFilters f : filtersPerRow) {
            checkFilters(f, n, true);
        }
        if (seeds == null || seeds.length != nRows) {
            throw new IllegalArgumentException("seeds: expected one seed per row (" + nRows + "), got "
                    + (seeds == null ? "null" : seeds.length));
        }
        checkRowOutput("tokensOut", tokensOut, DType.I32, nRows);
        checkNoOverlap("tokensOut", tokensOut, "logits", logits, false);
        List<SamplingFilters> filters = List.copyOf(filtersPerRow);
        long[] s = seeds.clone();
        rows.forEachRow(nRows, n, shareable("logits", logits) & shareable("tokensOut", tokensOut), r -> tokensOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, tokensOut.index(r),
                selection.sample(logits.segment(), logits.index(r, 0), n, filters.get(r), s[r], r, step)));
    }

    private static SamplingFilters positiveTemperature(float temperature) {
        invTemperature(temperature);
        return SamplingFilters.temperature(temperature);
    }

    private static void checkFilters(SamplingFilters f, int n, boolean greedyAllowed) {
        if (f == null) {
            throw new IllegalArgumentException("filters: must not be null");
        }
        if (!greedyAllowed && f.temperature() == 0f) {
            throw new IllegalArgumentException("temperature: must be > 0 here, got 0 (greedy is for sample only)");
        }
        if (f.temperature() != 0f) {
            LossOptions.checkTemperature(f.temperature()); // the same range as every other op (2/T must be finite)
        }
        for (SamplingFilters.Filter x : f.filters()) {
            if (x.kind() == SamplingFilters.Kind.TOP_K && x.k() > n) {
                throw new IllegalArgumentException("k: must be in [1, V = " + n + "], got " + x.k());
            }
        }
    }

    private static void checkOutput(String name, Tensor t, DType dtype, long nRows, long nCols) {
        accessible(name, t);
        if (t.dtype() != dtype || t.rank() > 2) {
            throw new IllegalArgumentException(name + ": expected a rank-1 or rank-2 " + dtype + " tensor, got " + t);
        }
        if (t.rows() != nRows || t.cols() != nCols) {
            throw new IllegalArgumentException(name + ": shape " + java.util.Arrays.toString(t.shape()) + " is not ["
                    + nRows + ", " + nCols + "]");
        }
        if (t.segment().isReadOnly()) {
            throw new IllegalArgumentException(name + ": segment is read-only");
        }
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
        if (out == null) {
            throw new IllegalArgumentException("out: must not be null");
        }
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
        if (labels == null) {
            throw new IllegalArgumentException("labels: must not be null");
        }
        return crossEntropyLabels(Tensor.of(labels), rowsOf("student", student, cols),
                options, rowLoss == null ? null : Tensor.of(rowLoss), grad == null ? null : rowsOf("grad", grad, cols));
    }

    private static Tensor rowsOf(String name, float[] data, int cols) {
        if (data == null) {
            throw new IllegalArgumentException(name + ": must not be null");
        }
        if (cols < 1 || data.length % cols != 0) {
            throw new IllegalArgumentException(name + ": length " + data.length + " is not a positive multiple of cols " + cols);
        }
        return Tensor.of(data, data.length / cols, cols);
    }

    // ---------------------------------------------------------------- the loss driver

    private enum Op { ENTROPY, CROSS_ENTROPY, CROSS_ENTROPY_LABELS, KL, RKL, JSD, JEFFREYS, TV, HELLINGER, ALPHA, RENYI,
        CHI2, PLD }

    private double runLoss(Op op, Tensor teacher, Tensor student, Tensor labels, LossOptions options, Tensor rowLoss,
                           Tensor grad) {
        return runLoss(op, teacher, student, labels, options, Float.NaN, rowLoss, grad);
    }

    /** The loss driver; {@code alpha} is read by the α-family only. */
    private double runLoss(Op op, Tensor teacher, Tensor student, Tensor labels, LossOptions options, float alpha,
                           Tensor rowLoss, Tensor grad) {
        if (options == null) {
            throw new IllegalArgumentException("options: must not be null");
        }
        String studentName = op == Op.ENTROPY ? "logits" : "student";
        int n = cols(studentName, student);
        int nRows = (int) student.rows();
        if (op == Op.PLD) {
            checkSortHeap(n, nRows);
        }
        if (teacher != null || (op != Op.ENTROPY && op != Op.CROSS_ENTROPY_LABELS)) {
            if (teacher == null) {
                throw new IllegalArgumentException("teacher: must not be null");
            }
            cols("teacher", teacher);
            checkInputLike("teacher", teacher, studentName, student);
        }
        if (labels != null || op == Op.CROSS_ENTROPY_LABELS || op == Op.PLD) {
            checkLabels(labels, nRows, n, options.ignoreIndex());
        }
        if (rowLoss != null) {
            checkRowOutput("rowLoss", rowLoss, DType.F32, nRows);
        } else if (options.reduction() == Reduction.NONE) {
            throw new IllegalArgumentException("rowLoss: required when the reduction is NONE");
        }
        if (grad != null) {
            // The kernels read the inputs again after writing the gradient, so no in-place use here.
            checkOutputLike("grad", grad, studentName, student);
            checkNoOverlap("grad", grad, studentName, student, false);
            if (teacher != null) {
                checkNoOverlap("grad", grad, "teacher", teacher, false);
            }
        }
        boolean shareable = shareable(studentName, student) & (teacher == null || shareable("teacher", teacher))
                & (labels == null || shareable("labels", labels)) & (grad == null || shareable("grad", grad))
                & (rowLoss == null || shareable("rowLoss", rowLoss));

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
        double[] values = new double[nRows];
        MemorySegment gs = grad == null ? null : grad.segment();
        rows.forEachRow(nRows, n, shareable, r -> {
            long sOff = student.index(r, 0);
            long gOff = grad == null ? 0 : grad.index(r, 0);
            MemorySegment s = student.segment();
            if (labels != null && labels.getInt(r) == options.ignoreIndex()) {
                if (gs != null) {
                    gs.asSlice(gOff * 4, (long) n * 4).fill((byte) 0);
                }
                values[r] = 0; // an ignored row: loss 0, gradient 0, and it leaves the MEAN
                return;
            }
            values[r] = switch (op) {
                case ENTROPY -> kernels.entropy(s, sOff, n, invT, gs, gOff, g);
                case CROSS_ENTROPY -> kernels.crossEntropy(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT, gs, gOff, g);
                case CROSS_ENTROPY_LABELS ->
                        kernels.crossEntropyLabel(s, sOff, n, labels.getInt(r), options.labelSmoothing(), invT, gs, gOff, g);
                case KL -> kernels.kl(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT, gs, gOff, g);
                case RKL -> kernels.rkl(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT, gs, gOff, g);
                case JSD -> {
                    // Liger/TRL convention: the endpoints are the two KLs, not the formula's limit 0.
                    if (beta == 0f) {
                        yield kernels.kl(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT, gs, gOff, g);
                    } else if (beta == 1f) {
                        yield kernels.rkl(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT, gs, gOff, g);
                    }
                    yield kernels.jsd(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT, beta, gs, gOff, g);
                }
                case JEFFREYS -> kernels.jeffreys(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT, gs, gOff, g);
                case TV -> kernels.tv(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT);
                case HELLINGER -> kernels.hellinger(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT);
                // The α-family's limits are the KL kernels themselves: the formula is 0/0 there.
                case ALPHA -> alpha == 0f ? kernels.rkl(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT, gs, gOff, g)
                        : alpha == 1f ? kernels.kl(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT, gs, gOff, g)
                        : scoring.alphaDivergence(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT, alpha, gs, gOff, g);
                case RENYI -> alpha == 1f ? kernels.kl(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT, gs, gOff, g)
                        : scoring.renyi(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT, alpha, gs, gOff, g);
                case CHI2 -> scoring.chi2(teacher.segment(), teacher.index(r, 0), s, sOff, n, invT, gs, gOff, g);
                case PLD -> scoring.pld(teacher.segment(), teacher.index(r, 0), s, sOff, n, labels.getInt(r), invT, gs, gOff, g);
            };
        });
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

    // ---------------------------------------------------------------- argument checks

    /**
     * PLD sorts each row on the heap (a sort key and a suffix log-sum-exp per token, 16 bytes, per thread at
     * work): refused up front when that exceeds half the maximum heap, rather than failing with
     * {@code OutOfMemoryError} after some rows were written.
     */
    private void checkSortHeap(int n, int nRows) {
        long need = 16L * n * Math.max(1, Math.min(rows.threads(), nRows));
        long max = Runtime.getRuntime().maxMemory();
        if (need > max / 2) {
            throw new IllegalArgumentException("student: PLD sorts rows of " + n + " tokens on the heap, " + (need >> 20)
                    + " MiB on " + rows.threads() + " thread(s), over half the maximum heap (" + (max >> 20)
                    + " MiB); shorten the rows or raise -Xmx");
        }
    }

    private static float invTemperature(float temperature) {
        LossOptions.checkTemperature(temperature);
        return 1f / temperature;
    }

    /** Checks a float32 logits tensor of rank 1 or 2 (an input) and returns its row length. */
    private static int cols(String name, Tensor t) {
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
    private static void checkInputLike(String name, Tensor t, String refName, Tensor ref) {
        accessible(name, t);
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException(name + ": dtype " + t.dtype() + " is not supported yet; F32 only");
        }
        if (t.rows() != ref.rows() || t.cols() != ref.cols() || t.rank() > 2) {
            throw new IllegalArgumentException(name + ": shape " + java.util.Arrays.toString(t.shape())
                    + " does not match " + refName + " " + java.util.Arrays.toString(ref.shape()));
        }
    }

    /** An output with the shape of {@code ref}: also writable. */
    private static void checkOutputLike(String name, Tensor t, String refName, Tensor ref) {
        checkInputLike(name, t, refName, ref);
        if (t.segment().isReadOnly()) {
            throw new IllegalArgumentException(name + ": segment is read-only");
        }
    }

    /** A rank-1 output of {@code dtype} with room for one value per row. */
    private static void checkRowOutput(String name, Tensor t, DType dtype, long nRows) {
        accessible(name, t);
        if (t.dtype() != dtype || t.rank() != 1) {
            throw new IllegalArgumentException(name + ": expected a rank-1 " + dtype + " tensor, got " + t);
        }
        if (t.cols() < nRows) {
            throw new IllegalArgumentException(name + ": too small: holds " + t.cols() + " values, need " + nRows);
        }
        if (t.segment().isReadOnly()) {
            throw new IllegalArgumentException(name + ": segment is read-only");
        }
    }

    /** The bytes a rank-1 or rank-2 view spans, as a slice of its segment. */
    private static MemorySegment extent(Tensor t) {
        long size = t.dtype().byteSize();
        long first = t.index(0, 0) * size;
        long last = (t.index(t.rows() - 1, 0) + t.cols()) * size;
        return t.segment().asSlice(first, last - first);
    }

    /**
     * Refuses an output that overlaps an input; {@code inPlaceAllowed} lets the very same view through
     * (the element-wise ops read each element before writing it).
     */
    private static void checkNoOverlap(String outName, Tensor out, String inName, Tensor in, boolean inPlaceAllowed) {
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

    /**
     * The first check of every tensor argument, before anything reads it: not null, its memory alive
     * and readable by this thread (see {@link MemoryAccess#check}).
     */
    private static void accessible(String name, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": must not be null");
        }
        MemoryAccess.check(name, t.segment());
    }

    /** Checks a non-null tensor as {@link #accessible} does and says whether worker threads may touch it too. */
    static boolean shareable(String name, Tensor t) {
        return MemoryAccess.check(name, t.segment());
    }

    private static void checkLabels(Tensor labels, int nRows, int n, int ignoreIndex) {
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
}
