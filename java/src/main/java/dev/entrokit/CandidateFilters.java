package dev.entrokit;

import dev.entrokit.SamplingFilters.Filter;
import java.util.List;

/**
 * The SPEC §2 filters on a merged candidate list, as the scalar reference applies them to a sorted
 * row, with one question more at each cut: is it decided by what is listed? Only the first
 * {@code known} candidates, those that rank before the first unlisted token (the bound), are
 * certainly the first tokens of the row in SPEC order.
 */
final class CandidateFilters {
    /** The kept set is every live token of the row, more than the lists hold. */
    private static final int ALL = Integer.MAX_VALUE;
    /** {@link #keptPrefix}: the lists do not decide the pipeline. */
    static final int UNDECIDED = -1;

    private CandidateFilters() {
    }

    /** {@code exp((x_j − max)/T)} in float64, as the reference weighs a token. */
    static double[] weights(ShardCandidates c) {
        double[] w = new double[c.count()];
        for (int j = 0; j < w.length; j++) {
            w[j] = Math.exp(((double) c.logit(j) - c.max()) / c.temperature());
        }
        return w;
    }

    /** The kept prefix length, or {@link #UNDECIDED}, with {@code w} from {@link #weights}. The row has a live token. */
    static int keptPrefix(ShardCandidates c, double[] w, List<Filter> filters) {
        boolean complete = c.bound() == Float.NEGATIVE_INFINITY;
        int known = c.known();
        // Invariant: len == ALL, or every one of the first len tokens is known.
        int len = complete ? c.count() : ALL;
        for (Filter f : filters) {
            int before = len;
            len = switch (f.kind()) {
                case TOP_K -> len != ALL ? Math.min(len, f.k()) : f.k() <= known ? f.k() : UNDECIDED;
                case TOP_P -> topP(w, len, known, f.value() * (len == ALL ? c.sumExp() : prefixSum(w, len)));
                case MIN_P -> minP(c, w, len, known, f.value());
                case TOP_H -> topH(c, w, len, known, f);
                default -> throw new IllegalArgumentException("filters: " + f.kind()
                        + " is not supported on shard candidates");
            };
            if (len != UNDECIDED && len != ALL && f.minKeep() > len) {
                // min_tokens_to_keep: the first minKeep survivors, which must be known.
                len = before != ALL ? Math.min(f.minKeep(), before) : f.minKeep() <= known ? f.minKeep() : UNDECIDED;
            }
            if (len == UNDECIDED) {
                return UNDECIDED;
            }
        }
        return len == ALL ? UNDECIDED : len;
    }

    private static int topP(double[] w, int len, int known, double threshold) {
        int lim = Math.min(len, known);
        double cum = 0;
        for (int j = 0; j < lim; j++) {
            cum += w[j];
            if (cum >= threshold) {
                return j + 1;
            }
        }
        return len == ALL ? UNDECIDED : len;
    }

    private static int minP(ShardCandidates c, double[] w, int len, int known, float r) {
        double threshold = r * w[0];
        int lim = Math.min(len, known);
        if (lim == 0) {
            return UNDECIDED; // the maximum ties with an unlisted token
        }
        int m = 1;
        while (m < lim && w[m] >= threshold) {
            m++;
        }
        if (m < lim || len != ALL) {
            return m;
        }
        // Every known token passed; the others weigh at most the bound's weight.
        double rest = Math.exp(((double) c.bound() - c.max()) / c.temperature());
        return rest < threshold ? m : UNDECIDED;
    }

    private static int topH(ShardCandidates c, double[] w, int len, int known, Filter f) {
        int nEff = len == ALL ? f.n() : Math.min(f.n(), len);
        if (nEff > known) {
            return UNDECIDED;
        }
        double z = switch (f.mode()) {
            case PAPER -> len == ALL ? c.sumExp() : prefixSum(w, len);
            case NORMALIZED -> prefixSum(w, nEff);
        };
        double full = 0;
        for (int j = 0; j < nEff; j++) {
            full += plogp(w[j] / z);
        }
        double tau = f.value() * full;
        double cum = 0;
        int keep = 1;
        for (int m = 1; m <= nEff; m++) {
            cum += plogp(w[m - 1] / z);
            if (cum <= tau) {
                keep = m;
            }
        }
        return keep;
    }

    private static double plogp(double q) {
        return q > 0 ? -q * Math.log(q) : 0;
    }

    private static double prefixSum(double[] w, int len) {
        double s = 0;
        for (int j = 0; j < len; j++) {
            s += w[j];
        }
        return s;
    }
}
