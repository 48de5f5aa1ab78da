package dev.entrokit.cli;

import static dev.entrokit.cli.Setting.BETA;
import static dev.entrokit.cli.Setting.IGNORE_INDEX;
import static dev.entrokit.cli.Setting.ALPHA;
import static dev.entrokit.cli.Setting.K;
import static dev.entrokit.cli.Setting.LABEL_SMOOTHING;
import static dev.entrokit.cli.Setting.MIN_P;
import static dev.entrokit.cli.Setting.MODE;
import static dev.entrokit.cli.Setting.N;
import static dev.entrokit.cli.Setting.P;
import static dev.entrokit.cli.Setting.SEED;
import static dev.entrokit.cli.Setting.STEP;
import static dev.entrokit.cli.Setting.STEPS;
import static dev.entrokit.cli.Setting.TEMPERATURE;
import static dev.entrokit.cli.Setting.TOP_H;
import static dev.entrokit.cli.Setting.TOP_K;
import static dev.entrokit.cli.Setting.TOP_P;

import dev.entrokit.Entrokit;
import dev.entrokit.Loss;
import dev.entrokit.LossOptions;
import dev.entrokit.Reduction;
import dev.entrokit.SamplingFilters;
import dev.entrokit.TeacherMass;
import dev.entrokit.Tensor;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The table of ops {@code eval} and {@code demo} run: names, inputs, outputs, settings and how each
 * calls the library. Adding an op means adding one constant here; the help text, the argument checks
 * and the demo follow from it.
 */
public enum EvalOp {
    /** Row-wise softmax. */
    SOFTMAX("softmax", List.of("logits"), List.of(), List.of(new Output("probs", "[..., V]", Tolerance.ABS_REL)),
            EnumSet.of(TEMPERATURE), (ek, in, o) -> {
                LogitRows x = in.logits("logits");
                NpyArray.Float32 p = x.newLike();
                return call(() -> ek.softmax(x.tensor(), tensor(x, p), o.temperature()), "probs", p);
            }),
    /** Row-wise log-softmax. */
    LOG_SOFTMAX("log_softmax", List.of("logits"), List.of(),
            List.of(new Output("logprobs", "[..., V]", Tolerance.SCALED)), EnumSet.of(TEMPERATURE), (ek, in, o) -> {
                LogitRows x = in.logits("logits");
                NpyArray.Float32 p = x.newLike();
                return call(() -> ek.logSoftmax(x.tensor(), tensor(x, p), o.temperature()), "logprobs", p);
            }),
    /** Row-wise log-sum-exp. */
    LOGSUMEXP("logsumexp", List.of("logits"), List.of(), List.of(new Output("lse", "[...]", Tolerance.SCALED)),
            EnumSet.of(TEMPERATURE), (ek, in, o) -> {
                LogitRows x = in.logits("logits");
                NpyArray.Float32 lse = x.newPerRow();
                return call(() -> ek.logSumExp(x.tensor(), Tensor.of(lse.data()), o.temperature()), "lse", lse);
            }),
    /** Entropy of each row's softmax. */
    ENTROPY("entropy", List.of("logits"), List.of(), List.of(new Output("entropy", "[...]", Tolerance.SCALED)),
            EnumSet.of(TEMPERATURE), (ek, in, o) -> {
                LogitRows x = in.logits("logits");
                NpyArray.Float32 h = x.newPerRow();
                return call(() -> ek.entropy(x.tensor(), o, Tensor.of(h.data()), null), "entropy", h);
            }),
    /** Cross-entropy against soft teacher targets or hard labels. */
    CROSS_ENTROPY("cross_entropy", List.of("student"), List.of("teacher", "labels"), lossAndGrad(),
            EnumSet.of(TEMPERATURE, IGNORE_INDEX, LABEL_SMOOTHING), (ek, in, o) -> {
                if (in.has("labels")) {
                    LogitRows s = in.logits("student");
                    Tensor labels = Tensor.of(in.labels(s));
                    return lossCall(s, (row, grad) -> ek.crossEntropyLabels(labels, s.tensor(), o, row, grad), true);
                }
                LogitRows[] ts = in.teacherStudent();
                return lossCall(ts[1], (row, grad) -> ek.crossEntropy(ts[0].tensor(), ts[1].tensor(), o, row, grad), true);
            }),
    /** Forward KL(teacher || student). */
    KL(Loss.KL),
    /** Reverse KL(student || teacher). */
    RKL(Loss.RKL),
    /** Generalized Jensen-Shannon divergence. */
    JSD(Loss.JSD),
    /** Symmetric KL. */
    JEFFREYS(Loss.JEFFREYS),
    /** Total variation distance. */
    TV(Loss.TV),
    /** Hellinger distance. */
    HELLINGER(Loss.HELLINGER),
    /** The k most probable tokens of each row (SPEC §2 order), their logits and probabilities. */
    TOP_K_OP("top_k", List.of("logits"), List.of(), List.of(new Output("indices", "[..., k]", Tolerance.EXACT),
            new Output("values", "[..., k]", Tolerance.EXACT), new Output("probs", "[..., k]", Tolerance.ABS_REL)),
            EnumSet.of(TEMPERATURE, K), (ek, in, s, x) -> {
                int k = s.k();
                // Checked here, before k sizes three outputs: the library would refuse it only after.
                if (k > x.cols()) {
                    throw new UserException("k: must be <= V = " + x.cols() + " (the last dimension of logits "
                            + NpyArray.shapeString(x.shape()) + "), got " + k);
                }
                long[] shape = withLast(x.rowShape(), k);
                NpyArray.Int32 idx = new NpyArray.Int32(shape, new int[x.rows() * k]);
                NpyArray.Float32 val = new NpyArray.Float32(shape, new float[x.rows() * k]);
                NpyArray.Float32 prob = new NpyArray.Float32(shape, new float[x.rows() * k]);
                Map<String, NpyArray> outs = new LinkedHashMap<>();
                outs.put("indices", idx);
                outs.put("values", val);
                outs.put("probs", prob);
                return new Call(() -> ek.decoding().topK(x.tensor(), k, s.temperature(), Tensor.of(idx.data(),
                        x.rows(), k), Tensor.of(val.data(), x.rows(), k), Tensor.of(prob.data(), x.rows(), k)), outs);
            }),
    /** Kept mask of top-p. */
    TOP_P_OP("top_p", List.of("logits"), List.of(), maskOutput(), EnumSet.of(TEMPERATURE, P, Setting.MIN_KEEP),
            (ek, in, s, x) -> maskCall(ek, x, SamplingFilters.temperature(s.temperature()).topP(s.p(), s.minKeep()))),
    /** Kept mask of min-p. */
    MIN_P_OP("min_p", List.of("logits"), List.of(), maskOutput(), EnumSet.of(TEMPERATURE, MIN_P, Setting.MIN_KEEP),
            (ek, in, s, x) -> maskCall(ek, x, SamplingFilters.temperature(s.temperature()).minP(s.minP(), s.minKeep()))),
    /** Kept mask of top-H. */
    TOP_H_OP("top_h", List.of("logits"), List.of(), maskOutput(), EnumSet.of(TEMPERATURE, ALPHA, N, MODE, Setting.MIN_KEEP),
            (ek, in, s, x) -> maskCall(ek, x,
                    SamplingFilters.temperature(s.temperature()).topH(s.alpha(), s.n(), s.mode(), s.minKeep()))),
    /**
     * One token per row (Philox4x32-10, key = seed, counter = (row, step)); temperature 0 is greedy.
     * An optional {@code seeds} input gives each row its own seed (as a server batch mixing requests).
     */
    SAMPLE("sample", List.of("logits"), List.of(), List.of("seeds"), List.of(new Output("tokens", "[...]", Tolerance.EXACT)),
            EnumSet.of(TEMPERATURE, SEED, STEP, TOP_K, TOP_P, MIN_P, TOP_H, Setting.MIN_KEEP), (ek, in, s, x) -> {
                SamplingFilters f = s.sampleFilters();
                NpyArray.Int32 tokens = new NpyArray.Int32(x.rowShape(), new int[x.rows()]);
                long[] seeds = in.seeds(x, s.seed());
                return call(() -> ek.decoding().sample(x.tensor(), f, seeds, s.step(), Tensor.of(tokens.data())),
                        "tokens", tokens);
            }),
    /**
     * A whole decoding step with a pipeline given as {@code steps} (prefix filters and the entropy-shaped
     * steps of SPEC §2, in the order written): the kept mask, the kept tokens' renormalized probabilities
     * by token (0 elsewhere), one sampled token per row (seeds as for {@code sample}), and vLLM's log-prob
     * outputs of that token: its rank among the raw logits, its raw and its processed log-probability.
     */
    DECODE("decode", List.of("logits"), List.of(), List.of("seeds"), List.of(new Output("mask", "[..., V]", Tolerance.EXACT),
            new Output("probs", "[..., V]", Tolerance.ABS_REL), new Output("tokens", "[...]", Tolerance.EXACT),
            new Output("rank", "[...]", Tolerance.EXACT), new Output("raw_logprob", "[...]", Tolerance.SCALED),
            new Output("processed_logprob", "[...]", Tolerance.SCALED)),
            EnumSet.of(TEMPERATURE, STEPS, SEED, STEP), (ek, in, s, x) -> {
                SamplingFilters f = Pipeline.parse(s.steps(), s.temperature());
                int rows = x.rows();
                int v = x.cols();
                NpyArray.Bool mask = new NpyArray.Bool(x.shape(), new boolean[x.data().length]);
                NpyArray.Float32 probs = x.newLike();
                NpyArray.Int32 tokens = new NpyArray.Int32(x.rowShape(), new int[rows]);
                NpyArray.Int32 rank = new NpyArray.Int32(x.rowShape(), new int[rows]);
                NpyArray.Float32 raw = x.newPerRow();
                NpyArray.Float32 processed = x.newPerRow();
                long[] seeds = in.seeds(x, s.seed());
                Map<String, NpyArray> outs = new LinkedHashMap<>();
                outs.put("mask", mask);
                outs.put("probs", probs);
                outs.put("tokens", tokens);
                outs.put("rank", rank);
                outs.put("raw_logprob", raw);
                outs.put("processed_logprob", processed);
                return new Call(() -> {
                    byte[] bytes = new byte[x.data().length];
                    ek.decoding().keptMask(x.tensor(), f, Tensor.ofMask(bytes, rows, v));
                    for (int i = 0; i < bytes.length; i++) {
                        mask.data()[i] = bytes[i] != 0;
                    }
                    int[] ids = new int[x.data().length];
                    float[] p = new float[x.data().length];
                    ek.decoding().keptTokens(x.tensor(), f, Tensor.of(ids, rows, v), Tensor.of(p, rows, v),
                            Tensor.of(new int[rows]));
                    for (int r = 0; r < rows; r++) {
                        for (int j = 0; j < v && ids[r * v + j] >= 0; j++) {
                            probs.data()[r * v + ids[r * v + j]] = p[r * v + j];
                        }
                    }
                    ek.decoding().sampleWithLogprobs(x.tensor(), f, seeds, s.step(), Tensor.of(tokens.data()), 0, null,
                            null, Tensor.of(rank.data()), Tensor.of(raw.data()), Tensor.of(processed.data()));
                }, outs);
            }),
    /**
     * The logit pre-passes of a decoding server, in vLLM's order, on a copy of the logits: allowed_ids (every
     * other token masked), banned_ids (masked), the sparse bias (bias_ids with bias), then the repetition
     * penalty over prompt_ids and output_ids and the frequency and presence penalties over output_ids (per row
     * from the repetition, frequency and presence inputs, or the same for every row from the settings). Id
     * lists are [..., L] per row, a negative id pads.
     */
    PROCESS_LOGITS("process_logits", List.of("logits"), List.of(), List.of("allowed_ids", "banned_ids", "bias_ids", "bias",
            "prompt_ids", "output_ids", "repetition", "frequency", "presence"),
            List.of(new Output("logits", "[..., V]", Tolerance.EXACT)),
            EnumSet.of(Setting.REPETITION_PENALTY, Setting.FREQUENCY_PENALTY, Setting.PRESENCE_PENALTY),
            DecodingOps::processLogits),
    /**
     * Mirostat 2.0, one step: the steps pipeline, then each row's truncation at mu (the mu input, else 2 * tau),
     * a token per row (seeds as for sample) and mu updated from the drawn token's surprise.
     */
    MIROSTAT("mirostat", List.of("logits"), List.of(), List.of("mu", "seeds"), List.of(
            new Output("tokens", "[...]", Tolerance.EXACT), new Output("mu", "[...]", Tolerance.SCALED)),
            EnumSet.of(TEMPERATURE, STEPS, Setting.TAU, Setting.ETA, SEED, STEP), DecodingOps::mirostat),
    /**
     * Speculative decoding's chain rejection sampler: draft_ids [B, k], draft_probs [B, k, V], target_probs
     * [B, k + 1, V] give how many drafts each request accepts and its emitted tokens [B, k + 1] (-1 after them).
     */
    SPECULATIVE("speculative", List.of("draft_ids", "draft_probs", "target_probs"), List.of(), List.of("seeds"),
            List.of(new Output("accepted", "[B]", Tolerance.EXACT), new Output("tokens", "[B, k + 1]", Tolerance.EXACT)),
            EnumSet.of(SEED, STEP), DecodingOps::speculative),
    /**
     * Constrained sampling by rejection: the allowed mask [..., V] (booleans) is the constraint; per row the token
     * drawn from the steps pipeline's kept distribution restricted to it, the rejections before it and the
     * rejected probability mass.
     */
    CONSTRAINED("constrained", List.of("logits", "allowed"), List.of(), List.of("seeds"), List.of(
            new Output("tokens", "[...]", Tolerance.EXACT), new Output("rejections", "[...]", Tolerance.EXACT),
            new Output("rejected_mass", "[...]", Tolerance.ABS_REL)),
            EnumSet.of(TEMPERATURE, STEPS, SEED, STEP), DecodingOps::constrained),
    /** log_softmax(logits)[id] per row, fused. */
    TOKEN_LOGPROB("token_logprob", List.of("logits", "ids"), List.of(),
            List.of(new Output("logprob", "[..., T]", Tolerance.SCALED)), EnumSet.noneOf(Setting.class), (ek, in, s, x) -> {
                NpyArray.Float32 lp = x.newPerRow();
                Tensor ids = Tensor.of(in.ids(x).data());
                return call(() -> ek.tokenLogprob(x.tensor(), ids, Tensor.of(lp.data())), "logprob", lp);
            }),
    /** Min-K% Prob per sequence, from log-probs [S, T] or from logits [S, T, V] and ids [S, T]. */
    MIN_K_PROB("min_k_prob", List.of(), List.of("logprobs", "logits+ids"), score(), EnumSet.of(Setting.K_FRACTION),
            (ek, in, s, x) -> {
                float k = s.scoring().kFraction();
                if (x == null) {
                    LogitRows lp = in.logits("logprobs");
                    NpyArray.Float32 score = lp.newPerRow();
                    return call(() -> ek.scores().minKProb(lp.tensor(), k, Tensor.of(score.data())), "score", score);
                }
                return sequenceCall(in, x, (ids, score) -> ek.scores().minKProb(x.tensor(), ids, k, score));
            }),
    /** Min-K%++ per sequence: the mean of the k smallest z-scores. */
    MIN_K_PP("min_k_pp", List.of("logits", "ids"), List.of(), score(), EnumSet.of(Setting.K_FRACTION),
            (ek, in, s, x) -> sequenceCall(in, x, (ids, score) -> ek.scores().minKPlusPlus(x.tensor(), ids,
                    s.scoring().kFraction(), score))),
    /** DC-PDD per sequence, with a token-frequency distribution freq [V]. */
    DCPDD("dcpdd", List.of("logits", "ids", "freq"), List.of(), score(), EnumSet.of(Setting.CLIP), (ek, in, s, x) -> {
        LogitRows f = in.logits("freq");
        return sequenceCall(in, x, (ids, score) -> ek.scores().dcpdd(x.tensor(), ids, Tensor.of(f.data()),
                s.scoring().a(), score));
    }),
    /** Sum over each sequence of log p_a(id) - log p_b(id). */
    LIKELIHOOD_RATIO("likelihood_ratio", List.of("logits_a", "logits_b", "ids"), List.of(), score(),
            EnumSet.noneOf(Setting.class), (ek, in, s, x) -> {
                LogitRows a = in.logits("logits_a");
                LogitRows b = in.logits("logits_b");
                return sequenceCall(in, a, (ids, score) -> ek.scores().likelihoodRatio(a.tensor(), b.tensor(), ids,
                        score));
            }),
    /** USCD-style contrast of logits against lame_logits on uncertain rows. */
    CONTRASTIVE("contrastive", List.of("logits", "lame_logits"), List.of(),
            List.of(new Output("logits", "[..., V]", Tolerance.SCALED)),
            EnumSet.of(Setting.LAMBDA, Setting.THRESHOLD, Setting.UNCERTAINTY), (ek, in, s, x) -> {
                LogitRows lame = in.logits("lame_logits");
                NpyArray.Float32 out = x.newLike();
                EvalSettings.Scoring c = s.scoring();
                return call(() -> ek.decoding().contrastive(x.tensor(), lame.tensor(), c.lambda(), c.threshold(),
                        c.uncertainty(), tensor(x, out)), "logits", out);
            }),
    /** Plackett-Luce distillation (label first, then teacher order). */
    PLD("pld", List.of("teacher", "student", "labels"), List.of(), lossAndGrad(), EnumSet.of(TEMPERATURE, IGNORE_INDEX),
            (ek, in, o) -> {
                LogitRows[] ts = in.teacherStudent();
                Tensor labels = Tensor.of(in.labels(ts[1]));
                return lossCall(ts[1], (row, grad) -> ek.pld(ts[0].tensor(), ts[1].tensor(), labels, o, row, grad), true);
            }),
    /** Amari alpha-divergence. */
    ALPHA_DIV(Loss.ALPHA),
    /** Renyi divergence of order alpha. */
    RENYI(Loss.RENYI),
    /** Pearson chi-squared divergence. */
    CHI2(Loss.CHI2),
    /**
     * Token log-prob and entropy at a temperature, with the gradient of sum(w * logprob + c * entropy); the
     * weights w (logprob_weights) and c (entropy_weights) are 1 where not given.
     */
    LOGPROB_ENTROPY("logprob_entropy", List.of("logits", "ids"), List.of(), List.of("logprob_weights", "entropy_weights"),
            List.of(new Output("logprob", "[...]", Tolerance.SCALED), new Output("entropy", "[...]", Tolerance.SCALED),
                    new Output("grad", "[..., V]", Tolerance.ABS_REL)),
            EnumSet.of(TEMPERATURE, IGNORE_INDEX), (ek, in, s, x) -> {
                Tensor ids = Tensor.of(in.ids(x).data());
                Tensor w = ones(in.rowFloats("logprob_weights", x), x);
                Tensor c = ones(in.rowFloats("entropy_weights", x), x);
                NpyArray.Float32 lp = x.newPerRow();
                NpyArray.Float32 h = x.newPerRow();
                NpyArray.Float32 grad = x.newLike();
                LossOptions o = s.loss().reduction(Reduction.SUM);
                return new Call(() -> ek.logprobEntropy(x.tensor(), ids, o, Tensor.of(lp.data()), Tensor.of(h.data()), w, c,
                        tensor(x, grad)), named("logprob", lp, "entropy", h, "grad", grad));
            }),
    /** The k3 estimator of KL to reference log-probs, with the gradient of sum(weights * k3) (weights 1 if absent). */
    K3_KL("k3_kl", List.of("logits", "ids", "ref_logprobs"), List.of(), List.of("weights"),
            List.of(new Output("kl", "[...]", Tolerance.SCALED), new Output("grad", "[..., V]", Tolerance.ABS_REL)),
            EnumSet.of(TEMPERATURE, IGNORE_INDEX), (ek, in, s, x) -> {
                Tensor ids = Tensor.of(in.ids(x).data());
                float[] ref = in.rowFloats("ref_logprobs", x);
                float[] weights = in.rowFloats("weights", x);
                NpyArray.Float32 kl = x.newPerRow();
                NpyArray.Float32 grad = x.newLike();
                LossOptions o = s.loss().reduction(Reduction.SUM);
                return new Call(() -> ek.k3Kl(x.tensor(), ids, Tensor.of(ref), o, Tensor.of(kl.data()),
                        weights == null ? null : Tensor.of(weights), tensor(x, grad)), named("kl", kl, "grad", grad));
            }),
    /**
     * Hard-label cross-entropy with Liger's options: z-loss and soft-cap settings, optional class_weights [V];
     * also the per-row z-loss, predicted token and whether it is the label.
     */
    CROSS_ENTROPY_OPTS("cross_entropy_opts", List.of("student", "labels"), List.of(), List.of("class_weights"),
            List.of(new Output("loss", "[...]", Tolerance.SCALED), new Output("z_loss", "[...]", Tolerance.SCALED),
                    new Output("grad", "[..., V]", Tolerance.ABS_REL), new Output("predicted", "[...]", Tolerance.EXACT),
                    new Output("correct", "[...]", Tolerance.EXACT)),
            EnumSet.of(TEMPERATURE, IGNORE_INDEX, LABEL_SMOOTHING, Setting.Z_LOSS, Setting.SOFTCAP), (ek, in, s) -> {
                LogitRows x = in.logits("student");
                Tensor labels = Tensor.of(in.labels(x));
                dev.entrokit.CrossEntropyOptions ce = s.scoring().ce();
                if (in.has("class_weights")) {
                    LogitRows w = in.logits("class_weights");
                    if (w.shape().length != 1) {
                        throw new UserException("class_weights: expected shape (" + x.cols() + ",), got "
                                + NpyArray.shapeString(w.shape()));
                    }
                    ce = ce.classWeights(Tensor.of(w.data()));
                }
                dev.entrokit.CrossEntropyOptions options = ce;
                NpyArray.Float32 loss = x.newPerRow();
                NpyArray.Float32 z = x.newPerRow();
                NpyArray.Float32 grad = x.newLike();
                NpyArray.Int32 predicted = new NpyArray.Int32(x.rowShape(), new int[x.rows()]);
                NpyArray.Bool correct = new NpyArray.Bool(x.rowShape(), new boolean[x.rows()]);
                byte[] bytes = new byte[x.rows()];
                Map<String, NpyArray> outs = named("loss", loss, "z_loss", z, "grad", grad, "predicted", predicted,
                        "correct", correct);
                return new Call(() -> {
                    ek.crossEntropyLabels(labels, x.tensor(), s.loss(), options, Tensor.of(loss.data()),
                            Tensor.of(z.data()), tensor(x, grad), Tensor.of(predicted.data()),
                            Tensor.of(java.lang.foreign.MemorySegment.ofArray(bytes), dev.entrokit.DType.BOOL, bytes.length));
                    for (int i = 0; i < bytes.length; i++) {
                        correct.data()[i] = bytes[i] != 0;
                    }
                }, outs);
            }),
    /** Forward KL from a sparse teacher (ids + log-probs [..., k]) to the student's logits. */
    SPARSE_KL("sparse_kl", List.of("teacher_ids", "teacher_logprobs", "student"), List.of(), List.of(), lossAndGrad(),
            EnumSet.of(TEMPERATURE, IGNORE_INDEX, Setting.MASS),
            (ek, in, s) -> sparse(ek, in, s, dev.entrokit.SparseDivergence.FORWARD_KL)),
    /** Reverse KL between the student and a sparse teacher. */
    SPARSE_RKL("sparse_rkl", List.of("teacher_ids", "teacher_logprobs", "student"), List.of(), List.of(), lossAndGrad(),
            EnumSet.of(TEMPERATURE, IGNORE_INDEX, Setting.MASS),
            (ek, in, s) -> sparse(ek, in, s, dev.entrokit.SparseDivergence.REVERSE_KL)),
    /** Generalized JSD between a sparse teacher and the student. */
    SPARSE_JSD("sparse_jsd", List.of("teacher_ids", "teacher_logprobs", "student"), List.of(), List.of(), lossAndGrad(),
            EnumSet.of(TEMPERATURE, IGNORE_INDEX, BETA, Setting.MASS),
            (ek, in, s) -> sparse(ek, in, s, dev.entrokit.SparseDivergence.JSD)),
    /** Batched entropic optimal transport (SPEC §3): potentials, costs and, with plan=true, the plans. */
    SINKHORN("sinkhorn", List.of(), List.of("cost", "x"), List.of("y", "a", "b"), List.of(
            new Output("f", "[B, n]", Tolerance.TRANSPORT), new Output("g", "[B, m]", Tolerance.TRANSPORT),
            new Output("cost", "[B]", Tolerance.TRANSPORT), new Output("objective", "[B]", Tolerance.TRANSPORT),
            new Output("iterations", "[B]", Tolerance.EXACT), new Output("marginal_error", "[B]", Tolerance.TRANSPORT),
            new Output("plan", "[B, n, m] (plan=true)", Tolerance.TRANSPORT)),
            EnumSet.of(Setting.EPSILON, Setting.MAX_ITER, Setting.TOL, Setting.RHO, Setting.EPSILON_START,
                    Setting.EPSILON_DECAY, Setting.PLAN, Setting.METRIC), TransportOps::sinkhorn),
    /** Debiased Sinkhorn divergence between point clouds. */
    SINKHORN_DIVERGENCE("sinkhorn_divergence", List.of("x", "y"), List.of(), List.of("a", "b"),
            List.of(new Output("divergence", "[B]", Tolerance.TRANSPORT)), EnumSet.of(Setting.EPSILON, Setting.MAX_ITER,
                    Setting.TOL, Setting.RHO, Setting.EPSILON_START, Setting.EPSILON_DECAY, Setting.METRIC),
            TransportOps::divergence),
    /** SinKD's batch-wise distillation loss and its gradient w.r.t. the student. */
    SINKD("sinkd", List.of("teacher", "student"), List.of(), List.of(), List.of(new Output("loss", "[]", Tolerance.SCALED),
            new Output("grad", "[B, V]", Tolerance.ABS_REL)),
            EnumSet.of(TEMPERATURE, Setting.EPSILON, Setting.MAX_ITER, Setting.DOMAIN), TransportOps::sinkd);

    /**
     * One output of an op.
     *
     * @param name      file name without {@code .npy}
     * @param shape     its shape, for the help text
     * @param tolerance how closely a backend must match the scalar reference (SPEC §5)
     */
    public record Output(String name, String shape, Tolerance tolerance) {
        /** Whether this output holds one value per row (a loss, an entropy) rather than one per logit. */
        public boolean perRow() {
            return !shape.endsWith("V]");
        }
    }

    /** A prepared call: inputs checked, outputs allocated; {@link #run()} may be repeated (the demo times it). */
    public record Call(Runnable kernel, Map<String, NpyArray> outputs) {
        /** Runs the kernel, overwriting {@link #outputs()}. */
        public void run() {
            kernel.run();
        }
    }

    /** Builds the call for given inputs and options. */
    @FunctionalInterface
    interface Preparer {
        Call prepare(Entrokit ek, OpInputs in, LossOptions options);
    }

    /** Builds the call of an op that reads its own settings and inputs (the transport ops). */
    @FunctionalInterface
    interface SettingsPreparer {
        Call prepare(Entrokit ek, OpInputs in, EvalSettings settings);
    }

    /** Builds the call of a selection op from its settings and its {@code logits} input. */
    @FunctionalInterface
    interface SelectionPreparer {
        Call prepare(Entrokit ek, OpInputs in, EvalSettings settings, LogitRows logits);
    }

    private final String key;
    private final List<String> required;
    private final List<String> oneOf;
    private final List<String> optional;
    private final List<Output> outputs;
    private final Set<Setting> settings;
    private final Preparer preparer;
    private final SelectionPreparer selectionPreparer;
    private final SettingsPreparer settingsPreparer;

    /**
     * A teacher/student loss of the op table: its name, outputs (a gradient where it has one) and
     * parameter setting come from {@link Loss}, and it runs through {@link Entrokit#loss}.
     */
    EvalOp(Loss loss) {
        this(loss.cliName(), List.of("teacher", "student"), List.of(), loss.hasGradient() ? lossAndGrad() : lossOnly(),
                settingsOf(loss), (ek, in, o) -> pair(in, (t, s, row, grad) -> ek.loss(loss, t, s, null, o, row, grad),
                        loss.hasGradient()));
    }

    EvalOp(String key, List<String> required, List<String> oneOf, List<Output> outputs, Set<Setting> settings,
           Preparer preparer) {
        this(key, required, oneOf, outputs, settings, preparer, null);
    }

    EvalOp(String key, List<String> required, List<String> oneOf, List<Output> outputs, Set<Setting> settings,
           SelectionPreparer preparer) {
        this(key, required, oneOf, outputs, settings, null, preparer);
    }

    EvalOp(String key, List<String> required, List<String> oneOf, List<Output> outputs, Set<Setting> settings,
           Preparer preparer, SelectionPreparer selectionPreparer) {
        this(key, required, oneOf, List.of(), outputs, settings, preparer, selectionPreparer, null);
    }

    EvalOp(String key, List<String> required, List<String> oneOf, List<String> optional, List<Output> outputs,
           Set<Setting> settings, SelectionPreparer preparer) {
        this(key, required, oneOf, optional, outputs, settings, null, preparer, null);
    }

    EvalOp(String key, List<String> required, List<String> oneOf, List<String> optional, List<Output> outputs,
           Set<Setting> settings, SettingsPreparer preparer) {
        this(key, required, oneOf, optional, outputs, settings, null, null, preparer);
    }

    EvalOp(String key, List<String> required, List<String> oneOf, List<String> optional, List<Output> outputs,
           Set<Setting> settings, Preparer preparer, SelectionPreparer selectionPreparer, SettingsPreparer settingsPreparer) {
        this.key = key;
        this.required = required;
        this.oneOf = oneOf;
        this.optional = optional;
        this.settingsPreparer = settingsPreparer;
        this.outputs = outputs;
        this.settings = settings;
        this.preparer = preparer;
        this.selectionPreparer = selectionPreparer;
    }

    /** The op called {@code name} on the command line; an unknown name is a {@link UserException}. */
    public static EvalOp byName(String name) {
        for (EvalOp op : values()) {
            if (op.key.equals(name)) {
                return op;
            }
        }
        throw new UserException("unknown op '" + name + "'; expected one of " + names());
    }

    /** Every op name, comma-separated. */
    public static String names() {
        List<String> k = new ArrayList<>();
        for (EvalOp op : values()) {
            k.add(op.key);
        }
        return String.join(", ", k);
    }

    /** The command-line name. */
    public String key() {
        return key;
    }

    /** Inputs that must all be given. */
    public List<String> required() {
        return required;
    }

    /** Inputs of which exactly one must be given (empty when there is no choice). */
    public List<String> oneOf() {
        return oneOf;
    }

    /** Inputs that may be given or left out. */
    public List<String> optional() {
        return optional;
    }

    /** The outputs, in the order they are written. */
    public List<Output> outputs() {
        return outputs;
    }

    /** The settings this op accepts. */
    public Set<Setting> settings() {
        return settings;
    }

    /**
     * The options for this op: per-row losses ({@link Reduction#NONE}), upstream gradient 1 so that
     * {@code grad} is the gradient of the sum of the rows, then each {@code --set} applied in turn.
     */
    public EvalSettings options(Map<String, String> sets) {
        EvalSettings o = EvalSettings.defaults(LossOptions.defaults().reduction(Reduction.NONE).gradScale(1f));
        for (Map.Entry<String, String> e : sets.entrySet()) {
            Setting s = settings.stream().filter(x -> x.named(e.getKey())).findFirst().orElseThrow(() ->
                    new UserException("op " + key + " has no setting '" + e.getKey() + "'; it accepts "
                            + String.join(", ", settings.stream().map(Setting::key).toList())));
            if (o.has(s)) {
                // Only the old and the new name of one setting can meet here: neither could silently win.
                throw new UserException(s.key() + ": given twice (" + s.alias() + " is its old name)");
            }
            try {
                o = s.apply(o, e.getValue()).mark(s);
            } catch (IllegalArgumentException ex) {
                throw new UserException(ex.getMessage(), ex);
            }
        }
        if (this != SAMPLE && o.temperature() == 0f) {
            throw new UserException("temperature: must be finite and > 0, got 0 (0 = greedy is for sample only)");
        }
        return o;
    }

    /**
     * Checks that the given input names are exactly what this op takes. An alternative of {@link #oneOf}
     * may be a group such as {@code logits+ids}: all of its inputs, given together.
     */
    public void checkInputNames(Set<String> given) {
        List<List<String>> groups = oneOf.stream().map(g -> List.of(g.split("\\+"))).toList();
        for (String name : given) {
            if (!required.contains(name) && groups.stream().noneMatch(g -> g.contains(name)) && !optional.contains(name)) {
                throw new UserException("op " + key + " has no input '" + name + "'; it takes " + inputsText());
            }
        }
        for (String name : required) {
            if (!given.contains(name)) {
                throw new UserException("op " + key + " needs input '" + name + "' (--in " + name + "=FILE.npy)");
            }
        }
        List<List<String>> chosen = groups.stream().filter(g -> g.stream().anyMatch(given::contains)).toList();
        if (!oneOf.isEmpty() && chosen.size() != 1) {
            throw new UserException("op " + key + " needs exactly one of " + String.join(", ", oneOf) + ", got "
                    + chosen.size());
        }
        for (List<String> g : chosen) {
            for (String name : g) {
                if (!given.contains(name)) {
                    throw new UserException("op " + key + " needs input '" + name + "' with " + String.join("+", g));
                }
            }
        }
    }

    /**
     * Refuses inputs and settings that both say the same thing, since neither could silently win:
     * {@code sample}'s {@code seeds} input against its {@code seed} setting.
     */
    public void checkCombination(Set<String> inputNames, EvalSettings options) {
        if ((this == SAMPLE || this == DECODE || this == MIROSTAT || this == SPECULATIVE || this == CONSTRAINED)
                && inputNames.contains("seeds") && options.has(SEED)) {
            throw new UserException(key + ": --in seeds=... (a seed per row) and --set seed=" + options.seed()
                    + " (one seed for all rows) both give the seeds; give one of them");
        }
    }

    /** Checks shapes and allocates outputs; {@link Call#run()} then computes them. */
    public Call prepare(Entrokit ek, OpInputs inputs, EvalSettings options) {
        checkInputNames(inputs.arrays().keySet());
        checkCombination(inputs.arrays().keySet(), options);
        if (settingsPreparer != null) {
            return settingsPreparer.prepare(ek, inputs, options);
        }
        return preparer != null ? preparer.prepare(ek, inputs, options.loss())
                : selectionPreparer.prepare(ek, inputs, options, inputs.has("logits") ? inputs.logits("logits") : null);
    }

    /** The op table for {@code eval --help}: one line per op, then the settings and the shape rules. */
    public static String helpTable() {
        // picocli wraps footer lines at 80 columns, so every line here stays shorter than that.
        StringBuilder sb = new StringBuilder("Ops: inputs -> outputs, then the settings each accepts:%n");
        for (EvalOp op : values()) {
            List<String> outs = op.outputs.stream().map(x -> x.name() + " " + x.shape()).toList();
            wrap(sb, String.format(Locale.ROOT, "  %-14s %s -> ", op.key, op.inputsText()), outs);
            wrap(sb, String.format(Locale.ROOT, "  %-14s set: ", ""), op.settings.stream().map(Setting::key).toList());
        }
        sb.append("%nSettings (--set NAME=VALUE), with defaults:%n");
        for (Setting s : Setting.values()) {
            sb.append(String.format(Locale.ROOT, "  %-22s %s%n", s.key() + "=" + s.defaultValue(), s.help()));
        }
        sb.append("Old names, still accepted by the ops that take the setting:%n");
        for (Setting s : Setting.values()) {
            if (s.alias() != null) {
                List<String> ops = Arrays.stream(values()).filter(op -> op.settings.contains(s)).map(EvalOp::key).toList();
                sb.append(String.format(Locale.ROOT, "  %-22s = %s (%s)%n", s.alias(), s.key(), String.join(", ", ops)));
            }
        }
        sb.append("%nShapes: logits, teacher and student are [R, V] floats (<f4; <f8 is read as%n")
          .append("float32, and a finite value beyond float32's range is refused). More%n")
          .append("leading dimensions are more rows ([..., V]); a 1-d array of V logits is one%n")
          .append("row, and its per-row outputs ([...]) then have shape ().%n")
          .append("labels: integers (<i4, or <i8 within int32), one per row, shaped [...] or%n")
          .append("[R]; ids alike, shaped [...]. sample's seeds: one per row, any int64, and%n")
          .append("not together with --set seed.%n")
          .append("grad = d(sum over rows of loss)/d(student). Outputs: DIR/NAME.npy, <f4;%n")
          .append("indices and tokens <i4, masks |b1 (true = kept). top_k/top_p/min_p/top_h%n")
          .append("order: probability descending, ties by ascending index (SPEC 2).%n")
          .append("Sequence scores: logits [..., T, V] with ids [..., T] (ints in [0, V))%n")
          .append("give score [...], one per sequence (the last axis of ids); freq [V].%n")
          .append("process_logits: id lists [..., L] per row (negative ids pad), bias like%n")
          .append("bias_ids; repetition, frequency, presence one float per row. mirostat:%n")
          .append("mu one float per row (2 * tau if left out). speculative: draft_ids%n")
          .append("[B, k], draft_probs [B, k, V], target_probs [B, k + 1, V]. constrained:%n")
          .append("allowed |b1 shaped like logits (true = the constraint allows the token).%n")
          .append("sinkhorn: cost [B, n, m] (or [n, m], one problem), or x [B, n, d] with%n")
          .append("y [B, m, d]; a, b: marginals (uniform if left out). Outputs <f8.%n")
          .append("%nHalf precision, settings every op takes: float inputs may be <f2 (f16);%n")
          .append("  dtype=bf16               read <u2 inputs as raw bfloat16 patterns%n")
          .append("                           (NumPy has no bf16: a.view(np.uint16))%n")
          .append("  out_dtype=f32|bf16|f16   write the float outputs shaped like a float%n")
          .append("                           input (probs, logprobs, grad) as <f2, or bf16%n")
          .append("                           patterns as <u2; rounded once, ties to even%n");
        // picocli formats the footer with String.format, so the %n above become line breaks there.
        return sb.toString();
    }

    /** {@code prefix} and the comma-separated items, continued on indented lines below 80 columns. */
    private static void wrap(StringBuilder sb, String prefix, List<String> items) {
        StringBuilder line = new StringBuilder(prefix);
        for (int i = 0; i < items.size(); i++) {
            String item = items.get(i) + (i + 1 < items.size() ? "," : "");
            if (line.length() + item.length() > 78 && line.length() > 17) {
                sb.append(line.toString().stripTrailing()).append("%n");
                line = new StringBuilder(" ".repeat(17));
            }
            line.append(item).append(' ');
        }
        sb.append(line.toString().stripTrailing()).append("%n");
    }

    private String inputsText() {
        List<String> parts = new ArrayList<>(required);
        if (!oneOf.isEmpty()) {
            parts.add(String.join(" | ", oneOf));
        }
        if (!optional.isEmpty()) {
            parts.add("[" + String.join(", ", optional) + "]");
        }
        return String.join(", ", parts);
    }

    // ---------------------------------------------------------------- helpers shared by the constants

    /** Runs a two-distribution loss: writes into the per-row buffer and, when given, the gradient. */
    @FunctionalInterface
    private interface PairKernel {
        void run(Tensor teacher, Tensor student, Tensor rowLoss, Tensor grad);
    }

    /** Runs a loss on the student alone (the teacher, if any, is captured). */
    @FunctionalInterface
    private interface LossKernel {
        void run(Tensor rowLoss, Tensor grad);
    }

    /** Temperature, and the setting of the loss's parameter. */
    private static Set<Setting> settingsOf(Loss loss) {
        return switch (loss.parameter()) {
            case NONE -> EnumSet.of(TEMPERATURE);
            case BETA -> EnumSet.of(TEMPERATURE, BETA);
            case ALPHA -> EnumSet.of(TEMPERATURE, Setting.DIV_ALPHA);
        };
    }

    private static List<Output> lossAndGrad() {
        return List.of(new Output("loss", "[...]", Tolerance.SCALED), new Output("grad", "[..., V]", Tolerance.ABS_REL));
    }

    private static List<Output> lossOnly() {
        return List.of(new Output("loss", "[...]", Tolerance.SCALED));
    }

    private static Call pair(OpInputs in, PairKernel kernel, boolean withGrad) {
        LogitRows[] ts = in.teacherStudent();
        return lossCall(ts[1], (row, grad) -> kernel.run(ts[0].tensor(), ts[1].tensor(), row, grad), withGrad);
    }

    private static Call lossCall(LogitRows student, LossKernel kernel, boolean withGrad) {
        NpyArray.Float32 loss = student.newPerRow();
        NpyArray.Float32 grad = withGrad ? student.newLike() : null;
        Tensor rowT = Tensor.of(loss.data());
        Tensor gradT = withGrad ? tensor(student, grad) : null;
        Map<String, NpyArray> outs = new LinkedHashMap<>();
        outs.put("loss", loss);
        if (withGrad) {
            outs.put("grad", grad);
        }
        return new Call(() -> kernel.run(rowT, gradT), outs);
    }

    private static List<Output> score() {
        return List.of(new Output("score", "[S]", Tolerance.SCALED));
    }

    /** Runs a sequence score: {@code ids} shaped like the rows of {@code logits}, one score per sequence (its last axis). */
    @FunctionalInterface
    private interface SequenceKernel {
        void run(Tensor ids, Tensor scores);
    }

    private static Call sequenceCall(OpInputs in, LogitRows logits, SequenceKernel kernel) {
        NpyArray.Int32 ids = in.ids(logits);
        long[] shape = ids.shape();
        int length = Math.toIntExact(shape[shape.length - 1]);
        int sequences = length == 0 ? 0 : ids.data().length / length;
        NpyArray.Float32 score = new NpyArray.Float32(Arrays.copyOf(shape, shape.length - 1), new float[sequences]);
        Tensor idsT = Tensor.of(ids.data(), sequences, length);
        return call(() -> kernel.run(idsT, Tensor.of(score.data())), "score", score);
    }

    /** The outputs in order from {@code name, array} pairs. */
    private static Map<String, NpyArray> named(Object... pairs) {
        Map<String, NpyArray> outs = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            outs.put((String) pairs[i], (NpyArray) pairs[i + 1]);
        }
        return outs;
    }

    /** The per-row weights as given, or 1 in every row. */
    private static Tensor ones(float[] given, LogitRows like) {
        if (given != null) {
            return Tensor.of(given);
        }
        float[] w = new float[like.rows()];
        Arrays.fill(w, 1f);
        return Tensor.of(w);
    }

    /** A sparse-teacher divergence: teacher ids and log-probs {@code [..., k]} against the student {@code [..., V]}. */
    private static Call sparse(Entrokit ek, OpInputs in, EvalSettings s, dev.entrokit.SparseDivergence d) {
        LogitRows student = in.logits("student");
        NpyArray.Int32 ids = (NpyArray.Int32) in.rowVectors("teacher_ids", student, true);
        NpyArray.Float32 lp = (NpyArray.Float32) in.rowVectors("teacher_logprobs", student, false);
        if (!Arrays.equals(ids.shape(), lp.shape())) {
            throw new UserException("teacher_logprobs: shape " + NpyArray.shapeString(lp.shape())
                    + " does not match teacher_ids " + NpyArray.shapeString(ids.shape()));
        }
        long[] shape = ids.shape();
        int k = Math.toIntExact(shape[shape.length - 1]);
        Tensor idsT = Tensor.of(ids.data(), student.rows(), k);
        Tensor lpT = Tensor.of(lp.data(), student.rows(), k);
        TeacherMass mass = s.scoring().mass();
        return lossCall(student, (row, grad) -> ek.sparseDistill(d, mass, idsT, lpT, student.tensor(), s.loss(), row,
                grad), true);
    }

    private static List<Output> maskOutput() {
        return List.of(new Output("mask", "[..., V]", Tolerance.EXACT));
    }

    /** The kept mask of {@code f}: the library writes bytes, the .npy holds booleans. */
    private static Call maskCall(Entrokit ek, LogitRows x, SamplingFilters f) {
        byte[] bytes = new byte[x.data().length];
        NpyArray.Bool mask = new NpyArray.Bool(x.shape(), new boolean[bytes.length]);
        return call(() -> {
            ek.decoding().keptMask(x.tensor(), f, Tensor.ofMask(bytes, x.rows(), x.cols()));
            for (int i = 0; i < bytes.length; i++) {
                mask.data()[i] = bytes[i] != 0;
            }
        }, "mask", mask);
    }

    private static long[] withLast(long[] shape, long last) {
        long[] s = Arrays.copyOf(shape, shape.length + 1);
        s[shape.length] = last;
        return s;
    }

    private static Call call(Runnable run, String name, NpyArray out) {
        return new Call(run, Map.of(name, out));
    }

    private static Tensor tensor(LogitRows like, NpyArray.Float32 out) {
        return Tensor.of(out.data(), like.rows(), like.cols());
    }
}
