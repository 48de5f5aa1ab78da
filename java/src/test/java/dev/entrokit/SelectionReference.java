package dev.entrokit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An independent float64 reference for SPEC §2, written from the SPEC text: probabilities by a
 * two-pass softmax, order by a comparator sort on (probability descending, index ascending), and each
 * filter on an explicit list of survivors with renormalized probabilities. Slow and obvious.
 *
 * <p>Thresholds get a 1e-9 slack ({@code cum ≥ p − 1e-9}, {@code S ≤ τ + 1e-12}): SPEC §5 leaves a
 * cumulative sum within 1e-6 of its threshold undecided, and the test rows keep away from that band
 * except where a sum lands on the threshold by construction (p = 1, α = 1).
 */
final class SelectionReference {
    private SelectionReference() {
    }

    /** {@code softmax(x/T)} of one row in float64; null for a special row (NaN, +inf, all -inf). */
    static double[] probs(float[] x, int off, int n, double t) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float z = x[off + i];
            if (Float.isNaN(z) || z == Float.POSITIVE_INFINITY) {
                return null;
            }
            max = Math.max(max, z);
        }
        if (max == Double.NEGATIVE_INFINITY) {
            return null;
        }
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp((x[off + i] - max) / t);
            sum += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** Indices in SPEC order. */
    static List<Integer> order(double[] p) {
        Integer[] idx = new Integer[p.length];
        for (int i = 0; i < p.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        return new ArrayList<>(Arrays.asList(idx));
    }

    /** Indices in SPEC order by the row's logits: descending, equal logits by ascending index. */
    static List<Integer> logitOrder(float[] x, int off, int n) {
        Integer[] idx = new Integer[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> x[off + a] != x[off + b] ? Float.compare(x[off + b], x[off + a]) : Integer.compare(a, b));
        return new ArrayList<>(Arrays.asList(idx));
    }

    /** The kept tokens (in SPEC order) of the pipeline on one row; empty for a special row. */
    static List<Integer> kept(float[] x, int off, int n, SamplingFilters f) {
        return kept(x, off, n, f, new double[1]);
    }

    /**
     * How close the row's decisions come to their thresholds: the smallest {@code |statistic −
     * threshold|} over every filter and position (cumulative probability for top-p, {@code q_i − r·max}
     * for min-p, partial entropy for top-H). Below 1e-6 SPEC §5 leaves the row undecided.
     */
    static double margin(float[] x, int off, int n, SamplingFilters f) {
        double[] margin = {Double.POSITIVE_INFINITY};
        kept(x, off, n, f, margin);
        return margin[0];
    }

    /**
     * The kept tokens' probabilities by index (zero elsewhere): the survivors' weights at the
     * temperature the pipeline reached (a dynamic temperature changes it), renormalized; null for a
     * special row.
     */
    static double[] keptProbabilities(float[] x, int off, int n, SamplingFilters f) {
        return keptProbabilities(x, off, n, f, Double.NaN);
    }

    /** As {@link #keptProbabilities(float[], int, int, SamplingFilters)} with XTC's draw {@code xtcChance}. */
    static double[] keptProbabilities(float[] x, int off, int n, SamplingFilters f, double xtcChance) {
        double[][] q = new double[1][];
        kept(x, off, n, f, new double[1], q, xtcChance);
        return q[0];
    }

    /** {@link #margin} of a pipeline with XTC, whose draw is {@code xtcChance}. */
    static double margin(float[] x, int off, int n, SamplingFilters f, double xtcChance) {
        double[] margin = {Double.POSITIVE_INFINITY};
        kept(x, off, n, f, margin, new double[1][], xtcChance);
        return margin[0];
    }

    private static List<Integer> kept(float[] x, int off, int n, SamplingFilters f, double[] margin) {
        return kept(x, off, n, f, margin, new double[1][], Double.NaN);
    }

    private static List<Integer> kept(float[] x, int off, int n, SamplingFilters f, double[] margin, double[][] finalQ,
                                      double xtcChance) {
        double[] p = probs(x, off, n, f.temperature()); // replaced by the survivors' weights after a dynamic temperature
        if (p == null) {
            return List.of();
        }
        // SPEC §2: a masked (-inf) token is never kept, whatever a filter's formula says.
        // Ordered by logit, not by the float64 probability: logits 1e-30 apart are distinct tokens in SPEC §2's
        // order even where their probabilities round to the same double (ties by index only for equal logits).
        List<Integer> kept = new ArrayList<>(logitOrder(x, off, n).stream().filter(i -> x[off + i] != Float.NEGATIVE_INFINITY).toList());
        double t = f.temperature();
        for (SamplingFilters.Filter filter : f.filters()) {
            double[] q = renormalized(p, kept);
            List<Integer> survivors = kept;
            kept = switch (filter.kind()) {
                case TOP_K -> kept.subList(0, Math.min(filter.k(), kept.size()));
                case TOP_P -> {
                    double cum = 0;
                    int m = kept.size();
                    for (int j = 0; j < kept.size(); j++) {
                        cum += q[kept.get(j)];
                        margin[0] = Math.min(margin[0], Math.abs(cum - filter.value()));
                        if (cum >= filter.value() - 1e-9) {
                            m = j + 1;
                            break;
                        }
                    }
                    yield kept.subList(0, m);
                }
                case MIN_P -> {
                    double max = q[kept.get(0)];
                    List<Integer> out = new ArrayList<>();
                    for (int i : kept) {
                        margin[0] = Math.min(margin[0], Math.abs(q[i] - filter.value() * max));
                        if (q[i] >= filter.value() * max) {
                            out.add(i);
                        }
                    }
                    yield out;
                }
                case TOP_H -> kept.subList(0, topH(q, kept, filter, margin));
                case EPSILON -> atLeast(x, off, kept, cutoff(q, kept, filter.value(), margin), filter.minKeep());
                case ETA -> {
                    double eta = Math.min(filter.value(), Math.sqrt(filter.value()) * Math.exp(-entropy(q, kept)));
                    yield atLeast(x, off, kept, cutoff(q, kept, eta, margin), filter.minKeep());
                }
                case MIROSTAT -> atLeast(x, off, kept, cutoff(q, kept, Math.pow(2, -filter.value()), margin), filter.minKeep());
                case TOP_N_SIGMA -> atLeast(x, off, kept, nSigma(x, off, kept, filter.value(), margin), filter.minKeep());
                case TYPICAL -> typical(x, off, q, kept, filter, margin);
                case XTC -> {
                    // llama.cpp: fires when the draw is at most the probability, never above a threshold of 0.5;
                    // drops the tokens with q ≥ threshold before the last of them.
                    if (Double.isNaN(xtcChance)) {
                        throw new IllegalArgumentException("xtc needs a draw");
                    }
                    margin[0] = Math.min(margin[0], Math.abs(xtcChance - filter.second()));
                    if (!(filter.second() > 0) || filter.value() > 0.5f || kept.size() < 2 || xtcChance > filter.second()) {
                        yield kept;
                    }
                    int last = 0;
                    for (int j = 0; j < kept.size(); j++) {
                        double qj = q[kept.get(j)];
                        if (filter.value() > 0) {
                            margin[0] = Math.min(margin[0], Math.abs(qj - filter.value()) / filter.value());
                        }
                        if (qj < filter.value()) {
                            break;
                        }
                        last = j;
                    }
                    yield last == 0 || kept.size() - last < filter.minKeep() ? kept : kept.subList(last, kept.size());
                }
                case DYNAMIC_TEMPERATURE -> {
                    if (kept.size() > 1) {
                        double h = entropy(q, kept);
                        t *= filter.value() + (filter.second() - filter.value()) * Math.pow(h / Math.log(kept.size()), filter.third());
                        p = atTemperature(x, off, n, kept, t);
                    }
                    yield kept;
                }
            };
            if (prefixFilter(filter.kind()) && kept.size() < Math.min(filter.minKeep(), survivors.size())) {
                // min_tokens_to_keep (Transformers): the first minKeep survivors in SPEC order, never a masked one.
                kept = survivors.subList(0, Math.min(filter.minKeep(), survivors.size()));
            }
            kept = new ArrayList<>(kept);
        }
        finalQ[0] = renormalized(p, kept);
        return kept;
    }

    private static boolean prefixFilter(SamplingFilters.Kind kind) {
        return kind == SamplingFilters.Kind.TOP_K || kind == SamplingFilters.Kind.TOP_P
                || kind == SamplingFilters.Kind.MIN_P || kind == SamplingFilters.Kind.TOP_H;
    }

    /** The survivors with {@code q_i ≥ cutoff}, in order; the margin is relative to the cutoff. */
    private static List<Integer> cutoff(double[] q, List<Integer> kept, double cutoff, double[] margin) {
        List<Integer> out = new ArrayList<>();
        for (int i : kept) {
            if (cutoff > 0 && cutoff <= 1) { // a cutoff of 0 keeps everything, one above 1 nothing: no decision is close
                margin[0] = Math.min(margin[0], Math.abs(q[i] - cutoff) / cutoff);
            }
            if (q[i] >= cutoff) {
                out.add(i);
            }
        }
        return out;
    }

    /** {@code passed} plus every survivor whose logit is at least the {@code minKeep}-th largest, in SPEC order. */
    private static List<Integer> atLeast(float[] x, int off, List<Integer> kept, List<Integer> passed, int minKeep) {
        float floor = x[off + kept.get(Math.min(minKeep, kept.size()) - 1)];
        java.util.Set<Integer> pass = new java.util.HashSet<>(passed);
        List<Integer> out = new ArrayList<>();
        for (int i : kept) {
            if (pass.contains(i) || x[off + i] >= floor) {
                out.add(i);
            }
        }
        return out;
    }

    /** Top-nσ: survivors with {@code x ≥ max − n·σ}, σ the population deviation of their logits (two passes). */
    private static List<Integer> nSigma(float[] x, int off, List<Integer> kept, float n, double[] margin) {
        double max = Double.NEGATIVE_INFINITY;
        double mean = 0;
        for (int i : kept) {
            max = Math.max(max, x[off + i]);
            mean += x[off + i];
        }
        mean /= kept.size();
        double var = 0;
        for (int i : kept) {
            var += (x[off + i] - mean) * (x[off + i] - mean);
        }
        double cut = max - n * Math.sqrt(var / kept.size());
        List<Integer> out = new ArrayList<>();
        for (int i : kept) {
            margin[0] = Math.min(margin[0], Math.abs(x[off + i] - cut) / Math.max(1, Math.abs(cut)));
            if (x[off + i] >= cut) {
                out.add(i);
            }
        }
        return out;
    }

    /**
     * Locally typical: survivors ranked by {@code |−log q_i − H|} (ties by index), cut where the
     * cumulative probability in that order reaches the mass (the last rank if never); keeps every key up
     * to the cut's and the first {@code minKeep} ranks. {@code log q_i} from the logits, so a probability
     * that underflows still has its surprise.
     */
    private static List<Integer> typical(float[] x, int off, double[] q, List<Integer> kept, SamplingFilters.Filter f,
                                         double[] margin) {
        double h = entropy(q, kept);
        // The surprise from q itself: a token whose q underflows has an infinite key here and a finite one
        // in the kernels (from its logit); only a cut that reaches it can tell, and then both keep it.
        java.util.Map<Integer, Double> key = new java.util.HashMap<>();
        for (int i : kept) {
            key.put(i, q[i] > 0 ? Math.abs(-Math.log(q[i]) - h) : Double.POSITIVE_INFINITY);
        }
        List<Integer> byKey = new ArrayList<>(kept);
        byKey.sort((a, b) -> key.get(a).equals(key.get(b)) ? Integer.compare(a, b) : Double.compare(key.get(a), key.get(b)));
        double cum = 0;
        int c = byKey.size() - 1;
        for (int j = 0; j < byKey.size(); j++) {
            cum += q[byKey.get(j)];
            margin[0] = Math.min(margin[0], Math.abs(cum - f.value()));
            if (cum >= f.value()) {
                c = j;
                break;
            }
        }
        double cutKey = key.get(byKey.get(c));
        for (int i : kept) {
            double k = key.get(i);
            if (x[off + i] != x[off + byKey.get(c)] && k != cutKey && Double.isFinite(k)) {
                margin[0] = Math.min(margin[0], Math.abs(k - cutKey) / Math.max(1, cutKey));
            }
        }
        java.util.Set<Integer> keep = new java.util.HashSet<>();
        for (int j = 0; j < byKey.size(); j++) {
            if (j < f.minKeep() || key.get(byKey.get(j)) <= cutKey) {
                keep.add(byKey.get(j));
            }
        }
        return kept.stream().filter(keep::contains).toList();
    }

    /** {@code −Σ q log q} over the survivors. */
    private static double entropy(double[] q, List<Integer> kept) {
        double h = 0;
        for (int i : kept) {
            h -= q[i] > 0 ? q[i] * Math.log(q[i]) : 0;
        }
        return h;
    }

    /**
     * Weights of the survivors at temperature {@code t} (zero elsewhere), relative to their largest logit;
     * {@code t = 0} is the limit, where that logit's ties share the mass.
     */
    private static double[] atTemperature(float[] x, int off, int n, List<Integer> kept, double t) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i : kept) {
            max = Math.max(max, x[off + i]);
        }
        double[] w = new double[n];
        for (int i : kept) {
            w[i] = t == 0 ? (x[off + i] == max ? 1 : 0) : Math.exp((x[off + i] - max) / t);
        }
        return w;
    }

    private static int topH(double[] q, List<Integer> kept, SamplingFilters.Filter filter, double[] margin) {
        int n = Math.min(filter.n(), kept.size());
        double[] r = new double[n];
        double z = 0;
        for (int j = 0; j < n; j++) {
            r[j] = q[kept.get(j)];
            z += r[j];
        }
        if (filter.mode() == TopHMode.NORMALIZED) {
            for (int j = 0; j < n; j++) {
                r[j] /= z;
            }
        }
        double[] s = new double[n + 1];
        for (int m = 1; m <= n; m++) {
            s[m] = s[m - 1] + (r[m - 1] == 0 ? 0 : -r[m - 1] * Math.log(r[m - 1]));
        }
        double tau = filter.value() * s[n];
        int keep = 1;
        for (int m = 1; m <= n; m++) {
            margin[0] = Math.min(margin[0], Math.abs(s[m] - tau));
            if (s[m] <= tau + 1e-12) {
                keep = m;
            }
        }
        return keep;
    }

    /** Probabilities renormalized over the survivors (zero elsewhere). */
    static double[] renormalized(double[] p, List<Integer> kept) {
        double z = 0;
        for (int i : kept) {
            z += p[i];
        }
        double[] q = new double[p.length];
        for (int i : kept) {
            q[i] = p[i] / z;
        }
        return q;
    }

    /** The mask of {@link #kept} by index. */
    static boolean[] mask(float[] x, int off, int n, SamplingFilters f) {
        boolean[] m = new boolean[n];
        for (int i : kept(x, off, n, f)) {
            m[i] = true;
        }
        return m;
    }
}
