package dev.entrokit;

import static dev.entrokit.internal.Checks.*;

import dev.entrokit.internal.Checks;
import dev.entrokit.internal.SequenceScores;

/**
 * The sequence scores of pretraining-data detection (SPEC §4): Min-K% Prob ({@link #minKProb}), Min-K%++
 * ({@link #minKPlusPlus}), DC-PDD ({@link #dcpdd}) and the likelihood ratio of two models
 * ({@link #likelihoodRatio}), from logits and token ids, and their {@code …Packed} forms over per-position
 * values a model run already produced, for documents of their own lengths. One float per sequence; the
 * per-position values come from the backend's fused {@link Entrokit#tokenLogprob} kernels through the
 * instance's row pool, and each sequence is then reduced on the calling thread in float64, in position
 * order, so no score depends on the thread count.
 *
 * <p>Obtained from an instance, {@code ek.scores()}: each {@link Entrokit} has one, made with it, which
 * runs on that instance's backend and row pool. Thread-safe as the instance is. Its lifetime is the
 * instance's: once a {@link Entrokit#create created} instance is {@link Entrokit#close() closed}, every op
 * here throws the same {@code IllegalStateException("entrokit: closed")} as the instance's own ops; the
 * view of the shared {@link Entrokit#get()} instance always works.
 */
public final class DetectionScores {
    private final Engine engine;
    private final SequenceScores sequenceScores;

    DetectionScores(Engine engine) {
        this.engine = engine;
        this.sequenceScores = new SequenceScores(engine.scoring, engine.rows, engine.backend::half);
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
        engine.checkOpen();
        int kCount = kCount(k, cols("logprobs", logprobs));
        rowOutput("scores", scores, DType.F32, logprobs.rows());
        noOverlap("scores", scores, "logprobs", logprobs, false);
        shareable("logprobs", logprobs);
        shareable("scores", scores);
        SequenceScores.minKProb(logprobs, kCount, scores);
    }

    /**
     * Min-K% Prob from logits: {@link Entrokit#tokenLogprob} fused with the selection of
     * {@link #minKProb(Tensor, float, Tensor)}; {@code ids} is {@code [S, T]} (or {@code [T]} for one
     * sequence) and {@code logits} holds its {@code S·T} rows in that order.
     */
    public void minKProb(Tensor logits, Tensor ids, float k, Tensor scores) {
        engine.checkOpen();
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
        engine.checkOpen();
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
        engine.checkOpen();
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
        engine.checkOpen();
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
        engine.checkOpen();
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
        engine.checkOpen();
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
        engine.checkOpen();
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
        engine.checkOpen();
        SequenceScores.Shape seq = packed("logprobsA", logprobsA, offsets, scores);
        positions("logprobsB", logprobsB, logprobsA.cols());
        noOverlap("scores", scores, "logprobsB", logprobsB, false);
        SequenceScores.likelihoodRatioPacked(logprobsA, logprobsB, offsets, seq, scores);
    }
}
