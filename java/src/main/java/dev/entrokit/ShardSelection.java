package dev.entrokit;

import dev.entrokit.internal.ExponentialRace;

/**
 * What a pipeline keeps of a row whose shards were summarized and merged ({@link ShardCandidates#keep}).
 *
 * <p>{@link #exact()} is true when the merged lists decide the pipeline: every cut lies among the
 * candidates that rank before the first unlisted token ({@link ShardCandidates#bound()}), and a
 * top-p, min-p or top-H that needs the row's mass or the tokens below the lists does not reach past
 * them (min-p is decided past them when the bound's weight fails it). Then the kept tokens are those the unsharded row keeps,
 * except where a cumulative mass lies within rounding of its threshold (SPEC §5); the ids, logits and
 * renormalized probabilities are in SPEC order. When it is false nothing is listed: summarize the
 * shards again with a larger {@code k}, or gather the row. A special row, or one with no live token,
 * keeps nothing, exactly.
 */
public final class ShardSelection {
    private final boolean exact;
    private final boolean special;
    private final int[] ids;
    private final float[] logits;
    private final double[] probs;
    private final float temperature;

    ShardSelection(boolean exact, boolean special, int[] ids, float[] logits, double[] probs, float temperature) {
        this.exact = exact;
        this.special = special;
        this.ids = ids;
        this.logits = logits;
        this.probs = probs;
        this.temperature = temperature;
    }

    /** Whether the candidates decided the pipeline (see the class comment). */
    public boolean exact() {
        return exact;
    }

    /** Whether a logit of the row was NaN or {@code +inf}. */
    public boolean special() {
        return special;
    }

    /** How many tokens are kept (0 when not {@link #exact()}). */
    public int count() {
        return ids.length;
    }

    /** The kept global ids in SPEC order (a copy). */
    public int[] ids() {
        return ids.clone();
    }

    /** Their logits (a copy). */
    public float[] logits() {
        return logits.clone();
    }

    /** Their probabilities renormalized over the kept set, float64 (a copy). */
    public double[] probs() {
        return probs.clone();
    }

    /**
     * The exponential race over the kept tokens with key (seed, row, step, global id): the same token
     * as {@link Decoding#raceSample} on the unsharded row. {@code −1} when nothing is kept.
     *
     * @throws IllegalStateException when the selection is not {@link #exact()}
     */
    public int sample(long seed, int row, long step) {
        if (!exact) {
            throw new IllegalStateException("selection: not exact (the candidate lists did not decide the "
                    + "pipeline); summarize the shards with a larger k");
        }
        return race(ids, logits, ids.length, temperature, seed, row, step);
    }

    /**
     * The race over tokens in SPEC order: once a logit lies more than {@code G_MAX} temperatures below
     * the best key, neither it nor any later token can win.
     */
    static int race(int[] ids, float[] logits, int len, float temperature, long seed, int row, long step) {
        int best = -1;
        double bestKey = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) {
            if (best >= 0 && (double) logits[j] / temperature + ExponentialRace.G_MAX
                    < bestKey - ExponentialRace.margin(bestKey)) {
                break;
            }
            double key = ExponentialRace.key(logits[j], temperature, seed, row, step, ids[j]);
            if (best < 0 || ExponentialRace.beats(key, ids[j], bestKey, best)) {
                best = ids[j];
                bestKey = key;
            }
        }
        return best;
    }
}
