package dev.entrokit.cli;

import dev.entrokit.LossOptions;
import dev.entrokit.SamplingFilters;
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
 * @param given       the selection settings the user gave ({@code sample} applies only those filters)
 */
record EvalSettings(LossOptions loss, float temperature, int k, float p, float minP, float alpha, int n,
                    TopHMode mode, long seed, long step, int topK, float topP, float topH, Scoring scoring,
                    TransportSettings transport,
                    Set<Setting> given) {

    /**
     * The settings of the scoring ops.
     *
     * @param kFraction   Min-K%'s k as a fraction in (0, 1]
     * @param a           DC-PDD's clip
     * @param lambda      contrastive decoding's λ
     * @param threshold   contrastive decoding's uncertainty threshold
     * @param uncertainty what contrastive decoding measures
     */
    record Scoring(float kFraction, float a, float lambda, float threshold, Uncertainty uncertainty) {
        static final Scoring DEFAULTS = new Scoring(0.2f, 0.01f, 0.5f, 0f, Uncertainty.ENTROPY);

        Scoring withKFraction(float v) {
            return new Scoring(v, a, lambda, threshold, uncertainty);
        }

        Scoring withA(float v) {
            return new Scoring(kFraction, v, lambda, threshold, uncertainty);
        }

        Scoring withLambda(float v) {
            return new Scoring(kFraction, a, v, threshold, uncertainty);
        }

        Scoring withThreshold(float v) {
            return new Scoring(kFraction, a, lambda, v, uncertainty);
        }

        Scoring withUncertainty(Uncertainty v) {
            return new Scoring(kFraction, a, lambda, threshold, v);
        }
    }

    EvalSettings {
        given = Set.copyOf(given);
    }

    /** The defaults of {@link Setting}, with per-row losses for the loss ops. */
    static EvalSettings defaults(LossOptions loss) {
        return new EvalSettings(loss, 1f, 50, 0.9f, 0.1f, 0.4f, SamplingFilters.DEFAULT_TOP_H_N, TopHMode.PAPER, 0, 0,
                0, 0f, 0f, Scoring.DEFAULTS, TransportSettings.DEFAULTS, EnumSet.noneOf(Setting.class));
    }

    /** Whether the user set {@code s}. */
    boolean has(Setting s) {
        return given.contains(s);
    }

    /** The pipeline of {@code sample}: temperature, then top_k, top_p, min_p, top_h where given, in that order. */
    SamplingFilters sampleFilters() {
        SamplingFilters f = SamplingFilters.temperature(temperature);
        if (has(Setting.TOP_K)) {
            f = f.topK(topK);
        }
        if (has(Setting.TOP_P)) {
            f = f.topP(topP);
        }
        if (has(Setting.MIN_P)) {
            f = f.minP(minP);
        }
        if (has(Setting.TOP_H)) {
            f = f.topH(topH, n, mode);
        }
        return f;
    }

    /** A copy with {@code s} marked as given. */
    EvalSettings mark(Setting s) {
        EnumSet<Setting> g = given.isEmpty() ? EnumSet.noneOf(Setting.class) : EnumSet.copyOf(given);
        g.add(s);
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, topK, topP, topH, scoring, transport, g);
    }

    EvalSettings withLoss(LossOptions l) {
        return new EvalSettings(l, temperature, k, p, minP, alpha, n, mode, seed, step, topK, topP, topH, scoring, transport, given);
    }

    EvalSettings withTemperature(float t) {
        SamplingFilters.temperature(t); // checks it
        LossOptions l = t == 0f ? loss : loss.temperature(t);
        return new EvalSettings(l, t, k, p, minP, alpha, n, mode, seed, step, topK, topP, topH, scoring, transport, given);
    }

    EvalSettings withK(int v, boolean forSample) {
        SamplingFilters.temperature(1f).topK(v);
        return forSample ? new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, v, topP, topH, scoring, transport, given)
                : new EvalSettings(loss, temperature, v, p, minP, alpha, n, mode, seed, step, topK, topP, topH, scoring, transport, given);
    }

    EvalSettings withP(float v, boolean forSample) {
        SamplingFilters.temperature(1f).topP(v);
        return forSample ? new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, topK, v, topH, scoring, transport, given)
                : new EvalSettings(loss, temperature, k, v, minP, alpha, n, mode, seed, step, topK, topP, topH, scoring, transport, given);
    }

    EvalSettings withMinP(float v) {
        SamplingFilters.temperature(1f).minP(v);
        return new EvalSettings(loss, temperature, k, p, v, alpha, n, mode, seed, step, topK, topP, topH, scoring, transport, given);
    }

    EvalSettings withAlpha(float v, boolean forSample) {
        SamplingFilters.temperature(1f).topH(v);
        return forSample ? new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, topK, topP, v, scoring, transport, given)
                : new EvalSettings(loss, temperature, k, p, minP, v, n, mode, seed, step, topK, topP, topH, scoring, transport, given);
    }

    EvalSettings withN(int v) {
        SamplingFilters.temperature(1f).topH(1f, v, TopHMode.PAPER);
        return new EvalSettings(loss, temperature, k, p, minP, alpha, v, mode, seed, step, topK, topP, topH, scoring, transport, given);
    }

    EvalSettings withMode(TopHMode v) {
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, v, seed, step, topK, topP, topH, scoring, transport, given);
    }

    EvalSettings withSeed(long v) {
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, v, step, topK, topP, topH, scoring, transport, given);
    }

    EvalSettings withStep(long v) {
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, v, topK, topP, topH, scoring, transport, given);
    }

    EvalSettings withScoring(Scoring v) {
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, topK, topP, topH, v, transport, given);
    }

    EvalSettings withTransport(TransportSettings t) {
        return new EvalSettings(loss, temperature, k, p, minP, alpha, n, mode, seed, step, topK, topP, topH, scoring, t, given);
    }
}
