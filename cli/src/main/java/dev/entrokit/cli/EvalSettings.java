package dev.entrokit.cli;

import dev.entrokit.CrossEntropyOptions;
import dev.entrokit.LossOptions;
import dev.entrokit.SamplingFilters;
import dev.entrokit.TeacherMass;
import dev.entrokit.TopHMode;
import dev.entrokit.Uncertainty;
import java.util.EnumSet;
import java.util.Set;

/**
 * Every {@code --set} of {@code eval}, parsed: the loss settings in a {@link LossOptions}, the
 * selection settings beside it. Values are checked by the library ({@link LossOptions},
 * {@link SamplingFilters}) as they are set, so its messages reach the user unchanged.
 *
 * @param loss        the loss and softmax settings
 * @param temperature the temperature of the selection ops (0 = greedy, for {@code sample} only)
 * @param transport   the settings of the transport ops
 * @param steps       the pipeline of {@code decode}, as written ({@link Pipeline}); empty for none
 * @param given       the selection settings the user gave ({@code sample} applies only those filters)
 * @param decoding    the settings of mirostat and process_logits
 * @param minKeep     {@code min_tokens_to_keep} of the top_p, min_p and top_h ops and of each filter of {@code sample}
 */
record EvalSettings(LossOptions loss, float temperature, int k, float p, float minP, float alpha, int n,
                    TopHMode mode, long seed, long step, int topK, float topP, float topH, int minKeep, Decoding decoding, Scoring scoring,
                    TransportSettings transport, String steps,
                    Set<Setting> given) {

    /**
     * The settings of the scoring ops.
     *
     * @param kFraction   Min-K%'s k as a fraction in (0, 1]
     * @param a           DC-PDD's clip
     * @param lambda      contrastive decoding's λ
     * @param threshold   contrastive decoding's uncertainty threshold
     * @param uncertainty what contrastive decoding measures
     * @param mass        what the sparse-teacher ops compare over
     * @param ce          cross_entropy_opts' z-loss and soft-cap (its class weights are an input)
     */
    record Scoring(float kFraction, float a, float lambda, float threshold, Uncertainty uncertainty,
                   TeacherMass mass, CrossEntropyOptions ce) {
        static final Scoring DEFAULTS = new Scoring(0.2f, 0.01f, 0.5f, 0f, Uncertainty.ENTROPY,
                TeacherMass.RENORMALIZED, CrossEntropyOptions.none());

        Scoring withKFraction(float v) {
            return new Scoring(v, a, lambda, threshold, uncertainty, mass, ce);
        }

        Scoring withA(float v) {
            return new Scoring(kFraction, v, lambda, threshold, uncertainty, mass, ce);
        }

        Scoring withLambda(float v) {
            return new Scoring(kFraction, a, v, threshold, uncertainty, mass, ce);
        }

        Scoring withThreshold(float v) {
            return new Scoring(kFraction, a, lambda, v, uncertainty, mass, ce);
        }

        Scoring withUncertainty(Uncertainty v) {
            return new Scoring(kFraction, a, lambda, threshold, v, mass, ce);
        }

        Scoring withCe(CrossEntropyOptions v) {
            return new Scoring(kFraction, a, lambda, threshold, uncertainty, mass, v);
        }

        Scoring withMass(TeacherMass v) {
            return new Scoring(kFraction, a, lambda, threshold, uncertainty, v, ce);
        }
    }

    /**
     * The settings of {@code mirostat} and {@code process_logits}: Mirostat's target surprise and learning rate,
     * and the penalties every row gets when no per-row input gives them.
     */
    record Decoding(float tau, float eta, float repetition, float frequency, float presence) {
        static final Decoding DEFAULTS = new Decoding(5f, 0.1f, 1f, 0f, 0f);

        Decoding withTau(float v) {
            return new Decoding(v, eta, repetition, frequency, presence);
        }

        Decoding withEta(float v) {
            return new Decoding(tau, v, repetition, frequency, presence);
        }

        Decoding withRepetition(float v) {
            return new Decoding(tau, eta, v, frequency, presence);
        }

        Decoding withFrequency(float v) {
            return new Decoding(tau, eta, repetition, v, presence);
        }

        Decoding withPresence(float v) {
            return new Decoding(tau, eta, repetition, frequency, v);
        }
    }

    EvalSettings {
        given = Set.copyOf(given);
    }

    EvalSettings withDecoding(Decoding d) {
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, topK, topP, topH, minKeep, d, scoring, transport, steps, given);
    }

    /** The defaults of {@link Setting}, with per-row losses for the loss ops. */
    static EvalSettings defaults(LossOptions loss) {
        return new EvalSettings(loss, 1f, 50, 0.9f, 0.1f, 0.4f, SamplingFilters.DEFAULT_TOP_H_N, TopHMode.PAPER, 0, 0,
                0, 0f, 0f, 1, Decoding.DEFAULTS, Scoring.DEFAULTS, TransportSettings.DEFAULTS, "", EnumSet.noneOf(Setting.class));
    }

    /** Whether the user set {@code s}. */
    boolean has(Setting s) {
        return given.contains(s);
    }

    /** The pipeline of {@code sample}: temperature, then top_k, top_p, min_p, top_h where given, in that order. */
    SamplingFilters sampleFilters() {
        SamplingFilters f = SamplingFilters.temperature(temperature);
        if (has(Setting.TOP_K)) {
            f = f.topK(topK, minKeep);
        }
        if (has(Setting.TOP_P)) {
            f = f.topP(topP, minKeep);
        }
        if (has(Setting.MIN_P)) {
            f = f.minP(minP, minKeep);
        }
        if (has(Setting.TOP_H)) {
            f = f.topH(topH, n, mode, minKeep);
        }
        return f;
    }

    /** {@code min_tokens_to_keep}, checked by the library. */
    EvalSettings withMinKeep(int v) {
        SamplingFilters.temperature(1f).topP(1f, v);
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, topK, topP, topH, v, decoding, scoring, transport, steps, given);
    }

    /** A copy with {@code s} marked as given. */
    EvalSettings mark(Setting s) {
        EnumSet<Setting> g = given.isEmpty() ? EnumSet.noneOf(Setting.class) : EnumSet.copyOf(given);
        g.add(s);
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, topK, topP, topH, minKeep, decoding, scoring, transport, steps, g);
    }

    EvalSettings withLoss(LossOptions l) {
        return new EvalSettings(l, temperature, k, p, minP, alpha, n, mode, seed, step, topK, topP, topH, minKeep, decoding, scoring, transport, steps, given);
    }

    EvalSettings withTemperature(float t) {
        SamplingFilters.temperature(t); // checks it
        LossOptions l = t == 0f ? loss : loss.temperature(t);
        return new EvalSettings(l, t, k, p, minP, alpha, n, mode, seed, step, topK, topP, topH, minKeep, decoding, scoring, transport, steps, given);
    }

    EvalSettings withK(int v, boolean forSample) {
        SamplingFilters.temperature(1f).topK(v);
        return forSample ? new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, v, topP, topH, minKeep, decoding, scoring, transport, steps, given)
                : new EvalSettings(loss, temperature, v, p, minP, alpha, n, mode, seed, step, topK, topP, topH, minKeep, decoding, scoring, transport, steps, given);
    }

    EvalSettings withP(float v, boolean forSample) {
        SamplingFilters.temperature(1f).topP(v);
        return forSample ? new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, topK, v, topH, minKeep, decoding, scoring, transport, steps, given)
                : new EvalSettings(loss, temperature, k, v, minP, alpha, n, mode, seed, step, topK, topP, topH, minKeep, decoding, scoring, transport, steps, given);
    }

    EvalSettings withMinP(float v) {
        SamplingFilters.temperature(1f).minP(v);
        return new EvalSettings(loss, temperature, k, p, v, alpha, n, mode, seed, step, topK, topP, topH, minKeep, decoding, scoring, transport, steps, given);
    }

    EvalSettings withAlpha(float v, boolean forSample) {
        SamplingFilters.temperature(1f).topH(v);
        return forSample ? new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, topK, topP, v, minKeep, decoding, scoring, transport, steps, given)
                : new EvalSettings(loss, temperature, k, p, minP, v, n, mode, seed, step, topK, topP, topH, minKeep, decoding, scoring, transport, steps, given);
    }

    EvalSettings withN(int v) {
        SamplingFilters.temperature(1f).topH(1f, v, TopHMode.PAPER);
        return new EvalSettings(loss, temperature, k, p, minP, alpha, v, mode, seed, step, topK, topP, topH, minKeep, decoding, scoring, transport, steps, given);
    }

    EvalSettings withMode(TopHMode v) {
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, v, seed, step, topK, topP, topH, minKeep, decoding, scoring, transport, steps, given);
    }

    EvalSettings withSeed(long v) {
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, v, step, topK, topP, topH, minKeep, decoding, scoring, transport, steps, given);
    }

    EvalSettings withStep(long v) {
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, v, topK, topP, topH, minKeep, decoding, scoring, transport, steps, given);
    }

    EvalSettings withScoring(Scoring v) {
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, topK, topP, topH, minKeep, decoding, v, transport, steps, given);
    }

    /** The {@code decode} pipeline, checked by parsing it (at temperature 1: the temperature may follow). */
    EvalSettings withSteps(String v) {
        Pipeline.parse(v, 1f);
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, topK, topP, topH, minKeep, decoding, scoring, transport, v, given);
    }

    EvalSettings withTransport(TransportSettings t) {
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, topK, topP, topH, minKeep, decoding, scoring, t, steps, given);
    }
}
