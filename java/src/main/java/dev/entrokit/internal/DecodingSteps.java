package dev.entrokit.internal;

import dev.entrokit.SamplingFilters;
import dev.entrokit.SamplingFilters.Filter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

/**
 * A pipeline with an entropy-shaped step (SPEC §2, "Entropy-based truncation and temperature") on a
 * row's survivors, in float64: the one definition both CPU backends run, the scalar backend on the
 * whole sorted row and the simd backend on the candidates it gathered (with the statistics of the rest
 * of the row for the first step). Typical sampling keeps a set that is not a prefix of SPEC order and
 * the dynamic temperature changes the weights, so the state between steps is the list of survivors in
 * SPEC order and the temperature reached so far, not one prefix length.
 *
 * <p>Weights are {@code w_j = exp((x_j − x_0)/t)} with {@code x_0} the first survivor's logit and
 * {@code t} the temperature reached; {@code t = 0} (a dynamic temperature with {@code T_min = 0} on a
 * row of entropy 0) is the limit, where the survivors tied with {@code x_0} weigh 1 and the others 0.
 */
public final class DecodingSteps {

    private DecodingSteps() {
    }

    /** Whether {@code f} holds a step that only this engine runs (any entropy-shaped one). */
    public static boolean needed(SamplingFilters f) {
        for (Filter filter : f.filters()) {
            switch (filter.kind()) {
                case TOP_K, TOP_P, MIN_P, TOP_H -> { }
                case TYPICAL, EPSILON, ETA, TOP_N_SIGMA, DYNAMIC_TEMPERATURE, MIROSTAT, XTC -> {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The live tokens of the row that are not in the {@link Row}: every one has a logit below
     * {@link #bound}, and their sums are taken at the row's temperature {@code t} relative to the row's
     * first survivor {@code x_0}. They matter only for the first step the engine runs; a step that
     * would need one of them kept leaves the row undecided.
     */
    public static final class Rest {
        /** How many live tokens lie outside. */
        public long count;
        /** Every token outside has a logit {@code < bound}. */
        public float bound;
        /** {@code Σ w}. */
        public double mass;
        /** {@code Σ w·(x − x_0)/t}. */
        public double entropyTerm;
        /** {@code Σ d} and {@code Σ (d − d̄)²} with {@code d = x − x_0} and {@code d̄} their own mean. */
        public double sum;
        public double sumSq;

        /** No token outside. */
        public Rest clear() {
            count = 0;
            bound = Float.NEGATIVE_INFINITY;
            mass = 0;
            entropyTerm = 0;
            sum = 0;
            sumSq = 0;
            return this;
        }
    }

    /**
     * The survivors of one row in SPEC order ({@code id}, {@code logit}), their weights once
     * {@link #apply} returns, and the temperature {@code t} reached. Arrays grow and are reused: a
     * thread's row allocates nothing once they are large enough.
     */
    public static final class Row {
        public int[] id = new int[0];
        public float[] logit = new float[0];
        public double[] w = new double[0];
        /** Typical's ranking (a permutation of survivor slots) and its keys, and the merge sort's scratch. */
        private int[] perm = new int[0];
        private int[] scratch = new int[0];
        private double[] key = new double[0];
        private long[] byId = new long[0];
        /** How many survivors. */
        public int m;
        /** The temperature reached. */
        public double t;
        /** XTC's draw, uniform in [0, 1) ({@code Philox.secondUniform}); NaN where the op has no draw. */
        public double xtcChance = Double.NaN;

        /** Room for {@code n} survivors (contents not kept). */
        public void reset(int n, double temperature) {
            if (id.length < n) {
                int size = Math.max(n, 2 * id.length);
                id = new int[size];
                logit = new float[size];
                w = new double[size];
                perm = new int[size];
                scratch = new int[size];
                key = new double[size];
                byId = new long[size];
            }
            m = n;
            t = temperature;
        }

        /** Recomputes {@link #w} from the logits at {@link #t}. */
        void weigh() {
            double x0 = logit[0];
            for (int j = 0; j < m; j++) {
                w[j] = t == 0 ? (logit[j] == x0 ? 1 : 0) : Math.exp((logit[j] - x0) / t);
            }
        }

        /** {@code log w_j = (x_j − x_0)/t} from the logits, never from an underflowed weight. */
        double logWeight(int j) {
            double dx = (double) logit[j] - logit[0];
            return dx == 0 ? 0 : t == 0 ? Double.NEGATIVE_INFINITY : dx / t;
        }
    }

    /**
     * Runs {@code filters[from..]} on the survivors of {@code r} (the first with {@code rest}, null when
     * the row holds every live token), leaving the survivors in {@code r} with their weights. Returns
     * false when the first step's cut may reach a token outside the row: the caller must then run the
     * whole row instead.
     */
    public static boolean apply(Row r, List<Filter> filters, int from, Rest rest) {
        r.weigh();
        for (int s = from; s < filters.size() && r.m > 0; s++) {
            Rest outside = s == from && rest != null && rest.count > 0 ? rest : null;
            Filter f = filters.get(s);
            int m = switch (f.kind()) {
                case TOP_K -> outside != null && f.k() > r.m ? -1 : Math.min(r.m, f.k());
                case TOP_P -> topP(r, f.value(), outside);
                case MIN_P -> minP(r, f.value());
                case TOP_H -> topH(r, f, outside);
                case EPSILON -> threshold(r, f.value(), f.minKeep(), outside);
                case MIROSTAT -> threshold(r, Math.pow(2, -f.value()), f.minKeep(), outside);
                case ETA -> threshold(r, eta(r, f.value(), outside), f.minKeep(), outside);
                case TOP_N_SIGMA -> topNSigma(r, f.value(), f.minKeep(), outside);
                case TYPICAL -> typical(r, f.value(), f.minKeep(), outside);
                case DYNAMIC_TEMPERATURE -> dynamicTemperature(r, f, outside);
                case XTC -> outside != null ? -1 : xtc(r, f);
            };
            if (m >= 0 && f.minKeep() > m && isPrefix(f.kind())) {
                // min_tokens_to_keep on a prefix filter: the first minKeep survivors; a floor beyond the
                // gathered ones lies among the tokens outside.
                m = f.minKeep() <= r.m ? f.minKeep() : outside != null ? -1 : r.m;
            }
            if (m < 0) {
                return false;
            }
            r.m = m;
        }
        if (r.m > 0) {
            r.weigh();
        }
        return true;
    }

    private static boolean isPrefix(SamplingFilters.Kind kind) {
        return switch (kind) {
            case TOP_K, TOP_P, MIN_P, TOP_H -> true;
            default -> false;
        };
    }

    /**
     * The first {@code capacity} survivors of {@code r} (null: a special row) and their probabilities
     * (weights over their float64 sum in SPEC order), as {@code SelectionKernels.keptTokens} writes them.
     */
    public static int writeTokens(DecodingSteps.Row r, MemorySegment indices, long indicesOff, MemorySegment probs,
                                     long probsOff, int capacity) {
        int len = r == null ? 0 : r.m;
        double total = 0;
        for (int j = 0; j < len; j++) {
            total += r.w[j];
        }
        for (int j = 0; j < capacity; j++) {
            boolean live = j < len;
            indices.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, indicesOff + j, live ? r.id[j] : -1);
            probs.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, probsOff + j, live ? (float) (r.w[j] / total) : 0f);
        }
        return len;
    }

    /**
     * Draws from the survivors of {@code r} (null: a special row, -1) as {@code ScalarSelectionKernels.sample} does: their
     * weights walked by ascending id, the first whose running sum exceeds {@code u · total}. With
     * {@code prob} non-null, {@code prob[at]} receives the drawn token's renormalized probability (NaN
     * for a special row).
     */
    public static int sample(DecodingSteps.Row r, double u, double[] prob, int at) {
        if (prob != null) {
            prob[at] = Double.NaN;
        }
        if (r == null || r.m == 0) {
            return -1;
        }
        long[] byId = r.byId;
        for (int j = 0; j < r.m; j++) {
            byId[j] = ((long) r.id[j] << 32) | j;
        }
        Arrays.sort(byId, 0, r.m);
        double total = 0;
        for (int j = 0; j < r.m; j++) {
            total += r.w[(int) byId[j]];
        }
        double target = u * total;
        double cum = 0;
        int last = -1;
        int slot = -1;
        for (int j = 0; j < r.m; j++) {
            long e = byId[j];
            double w = r.w[(int) e];
            if (w > 0) {
                cum += w;
                last = (int) (e >>> 32);
                slot = (int) e;
                if (cum > target) {
                    break;
                }
            }
        }
        if (prob != null && slot >= 0) {
            prob[at] = r.w[slot] / total;
        }
        return last;
    }

    /**
     * Constrained sampling by rejection (the kernel under adaptive weighted rejection sampling): draws
     * from the survivors of {@code r} as {@link #sample} does, with the uniform of attempt {@code a} from
     * {@code Philox.uniform(seed, row, step, a)}; a token {@code allowed} refuses loses its mass and the
     * draw repeats over the survivors left (never over the row again). Returns the token, or -1 when
     * every survivor is refused or the row is special ({@code r} null); {@code stats[2·at]} receives the
     * number of rejections and {@code stats[2·at + 1]} the refused tokens' probability in the kept
     * distribution (what AWRS's weight needs).
     */
    public static int sampleConstrained(DecodingSteps.Row r, long seed, int row, long step,
                                        java.util.function.IntPredicate allowed, double[] stats, int at) {
        stats[2 * at] = 0;
        stats[2 * at + 1] = r == null ? Double.NaN : 0;
        if (r == null || r.m == 0) {
            return -1;
        }
        long[] byId = r.byId;
        double[] w = r.key; // a copy of the weights by id order, zeroed as tokens are refused
        for (int j = 0; j < r.m; j++) {
            byId[j] = ((long) r.id[j] << 32) | j;
        }
        Arrays.sort(byId, 0, r.m);
        double total = 0;
        for (int j = 0; j < r.m; j++) {
            w[j] = r.w[(int) byId[j]];
            total += w[j];
        }
        int rejections = 0;
        double rejected = 0;
        for (int attempt = 0; attempt < r.m; attempt++) {
            double left = 0;
            for (int j = 0; j < r.m; j++) {
                left += w[j];
            }
            if (!(left > 0)) {
                break;
            }
            double target = Philox.uniform(seed, row, step, attempt) * left;
            double cum = 0;
            int pick = -1;
            for (int j = 0; j < r.m; j++) {
                if (w[j] > 0) {
                    cum += w[j];
                    pick = j;
                    if (cum > target) {
                        break;
                    }
                }
            }
            int token = (int) (byId[pick] >>> 32);
            if (allowed.test(token)) {
                stats[2 * at] = rejections;
                stats[2 * at + 1] = rejected;
                return token;
            }
            rejections++;
            rejected += w[pick] / total;
            w[pick] = 0;
        }
        stats[2 * at] = rejections;
        stats[2 * at + 1] = rejected;
        return -1;
    }

    // ---------------------------------------------------------------- the prefix filters (as ScalarSelectionKernels)

    private static int topP(Row r, float p, Rest outside) {
        double threshold = p * (mass(r) + (outside == null ? 0 : outside.mass));
        double cum = 0;
        for (int j = 0; j < r.m; j++) {
            cum += r.w[j];
            if (cum >= threshold) {
                return j + 1;
            }
        }
        return outside == null ? r.m : -1;
    }

    private static int minP(Row r, float ratio) {
        double threshold = ratio * r.w[0];
        int m = 1;
        while (m < r.m && r.w[m] >= threshold) {
            m++;
        }
        return m;
    }

    private static int topH(Row r, Filter f, Rest outside) {
        int nEff = Math.min(f.n(), r.m);
        if (outside != null && f.n() > r.m) {
            return -1;
        }
        double z = f.mode() == dev.entrokit.TopHMode.PAPER ? mass(r) + (outside == null ? 0 : outside.mass) : prefixMass(r, nEff);
        return topHKeep(r.w, nEff, z, f.value());
    }

    /**
     * Top-H's cut on weights in SPEC order: {@code max(1, max{m ≤ nEff : S(m) ≤ α·S(nEff)})} with
     * {@code S(m) = Σ_{j<m} −q_j log q_j}, {@code q_j = w_j / z} (SPEC §2); shared with the simd kernel.
     */
    public static int topHKeep(double[] w, int nEff, double z, float alpha) {
        double full = 0;
        for (int j = 0; j < nEff; j++) {
            full += plogp(w[j] / z);
        }
        double tau = alpha * full;
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

    // ---------------------------------------------------------------- the entropy-shaped steps

    /** {@code min(ε, √ε·e^{−H})} over the survivors (and the rest of the row). */
    private static double eta(Row r, float epsilon, Rest outside) {
        return Math.min(epsilon, Math.sqrt(epsilon) * Math.exp(-entropy(r, outside)));
    }

    /**
     * Keeps the survivors with {@code p_j ≥ cutoff} (a prefix: weights fall along SPEC order) and those
     * whose logit is at least the {@code minKeep}-th largest.
     */
    private static int threshold(Row r, double cutoff, int minKeep, Rest outside) {
        double total = mass(r) + (outside == null ? 0 : outside.mass);
        int m = 0;
        while (m < r.m && r.w[m] / total >= cutoff) {
            m++;
        }
        // Every token outside weighs less than e^{(bound − x_0)/t}: below the cutoff, none of them passes.
        boolean restMayPass = outside != null && !(Math.exp((outside.bound - (double) r.logit[0]) / r.t) / total < cutoff);
        return keepAtLeast(r, m, minKeep, outside, restMayPass);
    }

    /** Survivors with {@code x ≥ x_0 − n·σ}, σ the population standard deviation of their logits. */
    private static int topNSigma(Row r, float n, int minKeep, Rest outside) {
        double x0 = r.logit[0];
        long count = r.m + (outside == null ? 0 : outside.count);
        double sum = outside == null ? 0 : outside.sum;
        for (int j = 0; j < r.m; j++) {
            sum += r.logit[j] - x0;
        }
        double mean = sum / count;
        // Over the outside, Σ (d − mean)² = Σ (d − d̄)² + count·(d̄ − mean)²: no cancellation.
        double sq = 0;
        if (outside != null) {
            double gap = outside.sum / outside.count - mean;
            sq = outside.sumSq + outside.count * gap * gap;
        }
        for (int j = 0; j < r.m; j++) {
            double d = r.logit[j] - x0 - mean;
            sq += d * d;
        }
        double cut = -n * Math.sqrt(Math.max(0, sq) / count); // relative to x_0, the maximum
        int m = 0;
        while (m < r.m && (double) r.logit[m] - x0 >= cut) {
            m++;
        }
        return keepAtLeast(r, m, minKeep, outside, outside != null && !((double) outside.bound - x0 <= cut));
    }

    /**
     * Extends a kept prefix of {@code m} to every survivor whose logit is at least the {@code minKeep}-th
     * largest (all of a tie at that logit, as Transformers' {@code scores < topk(...)[-1]} keeps them);
     * -1 when the prefix may run past the row into the rest ({@code restMayPass}: a token outside may
     * pass the threshold). A token outside is below every survivor, so it never ties the floor.
     */
    private static int keepAtLeast(Row r, int m, int minKeep, Rest outside, boolean restMayPass) {
        if (m == r.m && restMayPass) {
            return -1;
        }
        if (minKeep > m) {
            if (minKeep > r.m) {
                return outside != null ? -1 : r.m; // the floor lies outside
            }
            float floor = r.logit[minKeep - 1];
            m = minKeep;
            while (m < r.m && r.logit[m] >= floor) {
                m++;
            }
        }
        return m;
    }

    /**
     * Locally typical sampling (Transformers' {@code TypicalLogitsWarper}): survivors ranked by
     * {@code |−log p_j − H|}, ties by ascending index; with {@code c} the first rank where the cumulative
     * probability reaches {@code mass} (the last rank if it never does), keeps every survivor whose key
     * is at most the key at {@code c} and the first {@code minKeep} ranks.
     */
    private static int typical(Row r, float mass, int minKeep, Rest outside) {
        double total = mass(r) + (outside == null ? 0 : outside.mass);
        double h = entropy(r, outside);
        double logTotal = Math.log(total);
        int m = r.m;
        for (int j = 0; j < m; j++) {
            r.key[j] = Math.abs(-(r.logWeight(j) - logTotal) - h);
            r.perm[j] = j;
        }
        sortByKey(r, m);
        double cum = 0;
        int below = 0; // ranks whose cumulative probability is still < mass
        while (below < m) {
            cum += r.w[r.perm[below]] / total;
            if (!(cum < mass)) {
                break;
            }
            below++;
        }
        int c = Math.min(below, m - 1);
        double cutKey = r.key[r.perm[c]];
        int last = Math.max(c, Math.min(minKeep, m) - 1); // the highest rank kept
        double lastKey = Math.max(cutKey, r.key[r.perm[last]]);
        if (outside != null) {
            // A token outside has x < bound, so -log p > (x_0 − bound)/t + log total: its key exceeds this.
            double outsideKey = ((double) r.logit[0] - outside.bound) / r.t + logTotal - h;
            if (below == m || minKeep > m || !(lastKey < outsideKey)) {
                return -1;
            }
        }
        // Ranks after `last` with a key equal to the cut key are kept too (a tie at the cut).
        int kept = 0;
        for (int j = 0; j < m; j++) {
            r.scratch[j] = 0;
        }
        for (int q = 0; q < m; q++) {
            int j = r.perm[q];
            if (q <= last || r.key[j] <= cutKey) {
                r.scratch[j] = 1;
            }
        }
        for (int j = 0; j < m; j++) { // compact in SPEC order
            if (r.scratch[j] != 0) {
                r.id[kept] = r.id[j];
                r.logit[kept] = r.logit[j];
                r.w[kept] = r.w[j];
                kept++;
            }
        }
        r.m = kept;
        if (kept > 0) {
            r.weigh(); // the first survivor may have changed: weights are relative to it
        }
        return kept;
    }

    /**
     * XTC (llama.cpp): when the draw is at most the probability, drops the survivors before the last one
     * (in SPEC order) with {@code q ≥ threshold}, if that is not the first and at least {@code minKeep}
     * remain.
     */
    private static int xtc(Row r, Filter f) {
        if (Double.isNaN(r.xtcChance)) {
            throw new IllegalStateException("xtc needs a draw: the façade lets only sample and mirostatV2 run it");
        }
        if (!(f.second() > 0) || f.value() > 0.5f || r.m < 2 || r.xtcChance > f.second()) {
            return r.m;
        }
        double total = mass(r);
        int last = 0;
        for (int j = 0; j < r.m && r.w[j] / total >= f.value(); j++) {
            last = j;
        }
        if (last == 0 || r.m - last < f.minKeep()) {
            return r.m;
        }
        int m = r.m - last;
        System.arraycopy(r.id, last, r.id, 0, m);
        System.arraycopy(r.logit, last, r.logit, 0, m);
        r.m = m;
        r.weigh(); // relative to the new first survivor
        return m;
    }

    /** Multiplies {@code t} by {@code T_min + (T_max − T_min)·(H / log m)^κ} over the {@code m} survivors. */
    private static int dynamicTemperature(Row r, Filter f, Rest outside) {
        long count = r.m + (outside == null ? 0 : outside.count);
        if (count <= 1) {
            return r.m;
        }
        double h = entropy(r, outside);
        double normalized = h / Math.log(count);
        double tMin = f.value();
        double tMax = f.second();
        double temperature = tMin + (tMax - tMin) * Math.pow(normalized, f.third());
        r.t *= temperature;
        r.weigh();
        return outside != null ? -1 : r.m; // the rest's weights changed with t: only a whole row goes on
    }

    /** {@code H = log d − Σ w·log w / d} over the survivors (and the rest), {@code 0·log 0 = 0}. */
    private static double entropy(Row r, Rest outside) {
        double d = outside == null ? 0 : outside.mass;
        double e = outside == null ? 0 : outside.entropyTerm;
        for (int j = 0; j < r.m; j++) {
            d += r.w[j];
            if (r.w[j] > 0) {
                e += r.w[j] * r.logWeight(j);
            }
        }
        return Math.log(d) - e / d;
    }

    private static double mass(Row r) {
        return prefixMass(r, r.m);
    }

    private static double prefixMass(Row r, int len) {
        double s = 0;
        for (int j = 0; j < len; j++) {
            s += r.w[j];
        }
        return s;
    }

    /**
     * Sorts {@code perm[0..m)} by key ascending, then token id ascending: a merge sort on primitive
     * arrays (no boxing, no allocation).
     */
    private static void sortByKey(Row r, int m) {
        int[] a = r.perm;
        int[] b = r.scratch;
        for (int width = 1; width < m; width *= 2) {
            for (int lo = 0; lo < m; lo += 2 * width) {
                int mid = Math.min(lo + width, m);
                int hi = Math.min(lo + 2 * width, m);
                int i = lo;
                int j = mid;
                for (int k = lo; k < hi; k++) {
                    b[k] = i < mid && (j >= hi || before(r, a[i], a[j])) ? a[i++] : a[j++];
                }
            }
            int[] swap = a;
            a = b;
            b = swap;
        }
        if (a != r.perm) {
            System.arraycopy(a, 0, r.perm, 0, m);
        }
    }

    private static boolean before(Row r, int p, int q) {
        int c = Double.compare(r.key[p], r.key[q]);
        return c < 0 || c == 0 && r.id[p] <= r.id[q];
    }
}
