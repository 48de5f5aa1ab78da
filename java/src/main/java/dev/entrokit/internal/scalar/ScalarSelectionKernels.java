package dev.entrokit.internal.scalar;

import dev.entrokit.SamplingFilters;
import dev.entrokit.internal.DecodingSteps;
import dev.entrokit.internal.Philox;
import dev.entrokit.internal.SelectionKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The plain version of SPEC §2: sort the whole row (stably, by logit descending then index), compute
 * float64 weights {@code w_i = exp((x_i − max)/T)}, and apply each filter to a prefix of the sorted
 * row. Every filter keeps a prefix of SPEC order, so the state between filters is one length.
 *
 * <p>Sampling walks the kept tokens in ascending index order, adding their weights in float64, and
 * returns the first token whose running sum exceeds {@code u · total}; this order needs no sort, so
 * a faster backend can reproduce it exactly.
 */
public final class ScalarSelectionKernels implements SelectionKernels {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;

    /**
     * A row in SPEC order: {@code order[j]} is the j-th token, {@code w[i]} the weight of token i, and
     * the first {@code live} tokens are the unmasked ones ({@code -inf} logits sort last).
     */
    private record Sorted(int[] order, double[] w, int live) {
        double wAt(int j) {
            return w[order[j]];
        }
    }

    @Override
    public void topK(MemorySegment x, long xOff, int n, float temperature, int k, MemorySegment indices,
                     long indicesOff, MemorySegment values, long valuesOff, MemorySegment probs, long probsOff) {
        Sorted s = sort(x, xOff, n, temperature);
        double total = s == null ? Double.NaN : prefixSum(s, n);
        for (int j = 0; j < k; j++) {
            int i = s == null ? -1 : s.order[j];
            indices.setAtIndex(I, indicesOff + j, i);
            values.setAtIndex(F, valuesOff + j, s == null ? Float.NaN : x.getAtIndex(F, xOff + i));
            if (probs != null) {
                probs.setAtIndex(F, probsOff + j, s == null ? Float.NaN : (float) (s.w[i] / total));
            }
        }
    }

    @Override
    public int keptTokens(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment indices,
                          long indicesOff, MemorySegment probs, long probsOff, int capacity) {
        if (DecodingSteps.needed(f)) {
            return DecodingSteps.writeTokens(survivors(x, xOff, n, f, Double.NaN), indices, indicesOff, probs, probsOff, capacity);
        }
        Sorted s = sort(x, xOff, n, f.temperature());
        int len = s == null ? 0 : keptPrefix(s, n, f);
        double total = s == null ? Double.NaN : prefixSum(s, len);
        for (int j = 0; j < capacity; j++) {
            boolean live = j < len;
            indices.setAtIndex(I, indicesOff + j, live ? s.order[j] : -1);
            probs.setAtIndex(F, probsOff + j, live ? (float) (s.wAt(j) / total) : 0f);
        }
        return len;
    }

    @Override
    public int keptMask(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment mask, long maskOff) {
        boolean[] kept = kept(x, xOff, n, f);
        int count = 0;
        for (int i = 0; i < n; i++) {
            boolean keep = kept != null && kept[i];
            mask.set(ValueLayout.JAVA_BYTE, maskOff + i, (byte) (keep ? 1 : 0));
            count += keep ? 1 : 0;
        }
        return count;
    }

    @Override
    public void maskLogits(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment out, long outOff) {
        boolean[] kept = kept(x, xOff, n, f); // computed before any write: out may alias x
        for (int i = 0; i < n; i++) {
            float v = kept == null ? Float.NaN : kept[i] ? x.getAtIndex(F, xOff + i) : Float.NEGATIVE_INFINITY;
            out.setAtIndex(F, outOff + i, v);
        }
    }

    @Override
    public int sample(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step) {
        if (f.temperature() == 0f) {
            return argmax(x, xOff, n);
        }
        if (DecodingSteps.needed(f)) {
            return DecodingSteps.sample(survivors(x, xOff, n, f, Philox.secondUniform(seed, row, step)),
                    Philox.uniform(seed, row, step), null, 0);
        }
        Sorted s = sort(x, xOff, n, f.temperature());
        if (s == null) {
            return -1;
        }
        boolean[] kept = new boolean[n];
        int len = keptPrefix(s, n, f);
        for (int j = 0; j < len; j++) {
            kept[s.order[j]] = true;
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            total += kept[i] ? s.w[i] : 0;
        }
        double target = Philox.uniform(seed, row, step) * total;
        double cum = 0;
        int last = -1;
        for (int i = 0; i < n; i++) {
            if (kept[i] && s.w[i] > 0) {
                cum += s.w[i];
                last = i;
                if (cum > target) {
                    return i;
                }
            }
        }
        return last; // unreachable: the same sum reaches total > target; kept for safety
    }

    @Override
    public int sample(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step, double[] prob,
                      int at) {
        return DecodingSteps.sample(survivors(x, xOff, n, f, Philox.secondUniform(seed, row, step)),
                Philox.uniform(seed, row, step), prob, at);
    }

    @Override
    public int sampleConstrained(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step,
                                 java.util.function.IntPredicate allowed, double[] stats, int at) {
        return DecodingSteps.sampleConstrained(survivors(x, xOff, n, f, Philox.secondUniform(seed, row, step)), seed, row,
                step, allowed, stats, at);
    }

    @Override
    public int countAtLeast(MemorySegment x, long xOff, int n, float value) {
        int count = 0;
        for (int i = 0; i < n; i++) {
            count += x.getAtIndex(F, xOff + i) >= value ? 1 : 0;
        }
        return count;
    }

    // ---------------------------------------------------------------- the pieces

    /** Kept flags by index, or null for a special row. */
    private static boolean[] kept(MemorySegment x, long xOff, int n, SamplingFilters f) {
        if (DecodingSteps.needed(f)) {
            DecodingSteps.Row r = survivors(x, xOff, n, f, Double.NaN);
            if (r == null) {
                return null;
            }
            boolean[] kept = new boolean[n];
            for (int j = 0; j < r.m; j++) {
                kept[r.id[j]] = true;
            }
            return kept;
        }
        Sorted s = sort(x, xOff, n, f.temperature());
        if (s == null) {
            return null;
        }
        boolean[] kept = new boolean[n];
        int len = keptPrefix(s, n, f);
        for (int j = 0; j < len; j++) {
            kept[s.order[j]] = true;
        }
        return kept;
    }

    /**
     * The survivors of a pipeline with an entropy-shaped step, in SPEC order with their final weights
     * ({@link DecodingSteps} on every live token), or null for a special row; {@code xtcChance} is XTC's
     * draw (NaN for the ops that take no seed, which the façade keeps XTC from).
     */
    private static DecodingSteps.Row survivors(MemorySegment x, long xOff, int n, SamplingFilters f, double xtcChance) {
        Sorted s = sort(x, xOff, n, f.temperature());
        if (s == null) {
            return null;
        }
        DecodingSteps.Row r = new DecodingSteps.Row();
        r.reset(s.live, f.temperature());
        r.xtcChance = xtcChance;
        for (int j = 0; j < s.live; j++) {
            r.id[j] = s.order[j];
            r.logit[j] = x.getAtIndex(F, xOff + s.order[j]);
        }
        DecodingSteps.apply(r, f.filters(), 0, null);
        return r;
    }

    /** Length of the prefix of SPEC order that survives every filter, in order. */
    private static int keptPrefix(Sorted s, int n, SamplingFilters f) {
        // Masked tokens are never kept, whatever a formula says (top-H's S(m) stops growing at them).
        int len = s.live;
        for (SamplingFilters.Filter filter : f.filters()) {
            int cut = switch (filter.kind()) {
                case TOP_K -> Math.min(len, filter.k());
                case TOP_P -> topP(s, len, filter.value());
                case MIN_P -> minP(s, len, filter.value());
                case TOP_H -> switch (filter.mode()) {
                    case PAPER -> topHPaper(s, len, filter.value(), filter.n());
                    case NORMALIZED -> topHNormalized(s, len, filter.value(), filter.n());
                };
                default -> throw new IllegalStateException("entropy-shaped steps run in DecodingSteps: " + filter);
            };
            // min_tokens_to_keep: the first minKeep survivors, never more than there are (masked ones are not survivors).
            len = Math.max(cut, Math.min(filter.minKeep(), len));
        }
        return len;
    }

    /** Shortest prefix with cumulative ≥ p·total (the crossing token kept). */
    private static int topP(Sorted s, int len, float p) {
        // Comparing unnormalized sums with p·total, where total is this very loop's sum, makes p = 1
        // stop exactly at the last positive weight instead of depending on rounding of cum/total.
        double threshold = p * prefixSum(s, len);
        double cum = 0;
        for (int j = 0; j < len; j++) {
            cum += s.wAt(j);
            if (cum >= threshold) {
                return j + 1;
            }
        }
        return len;
    }

    /** Every token with w ≥ r·w_max; the first of the prefix is the maximum. */
    private static int minP(Sorted s, int len, float r) {
        double threshold = r * s.wAt(0);
        int m = 1;
        while (m < len && s.wAt(m) >= threshold) {
            m++;
        }
        return m;
    }

    /** PAPER: q over the whole survivor set, entropy prefix of the first n, τ = α·S(n). */
    private static int topHPaper(Sorted s, int len, float alpha, int n) {
        return topH(s, Math.min(n, len), prefixSum(s, len), alpha);
    }

    /** NORMALIZED: q renormalized over the first n survivors, τ = α·H(q). */
    private static int topHNormalized(Sorted s, int len, float alpha, int n) {
        int nEff = Math.min(n, len);
        return topH(s, nEff, prefixSum(s, nEff), alpha);
    }

    /** {@code max(1, max{m ≤ nEff : S(m) ≤ α·S(nEff)})} with {@code q_j = w_j / z}. */
    private static int topH(Sorted s, int nEff, double z, float alpha) {
        double full = 0;
        for (int j = 0; j < nEff; j++) {
            full += plogp(s.wAt(j) / z);
        }
        double tau = alpha * full;
        double cum = 0;
        int keep = 1;
        for (int m = 1; m <= nEff; m++) {
            cum += plogp(s.wAt(m - 1) / z);
            if (cum <= tau) {
                keep = m;
            }
        }
        return keep;
    }

    /** {@code −q log q}, with {@code 0 · log 0 = 0}. */
    private static double plogp(double q) {
        return q > 0 ? -q * Math.log(q) : 0;
    }

    private static double prefixSum(Sorted s, int len) {
        double sum = 0;
        for (int j = 0; j < len; j++) {
            sum += s.wAt(j);
        }
        return sum;
    }

    /**
     * The row in SPEC order with its weights, or null for a special row. Sorting by logit is sorting by
     * probability (exp is monotone) without the ties that rounding of exp could create between
     * distinct logits. Each key packs the logit (as an order-reversed sortable int) above the index, so
     * one primitive sort gives logit descending, then index ascending.
     */
    private static Sorted sort(MemorySegment x, long xOff, int n, float temperature) {
        long[] keys = new long[n];
        float max = Float.NEGATIVE_INFINITY;
        int live = 0;
        for (int i = 0; i < n; i++) {
            float z = x.getAtIndex(F, xOff + i) + 0f; // + 0f turns -0.0 into 0.0: equal logits tie
            if (Float.isNaN(z) || z == Float.POSITIVE_INFINITY) {
                return null;
            }
            max = Math.max(max, z);
            live += z > Float.NEGATIVE_INFINITY ? 1 : 0;
            int bits = Float.floatToIntBits(z);
            int sortable = bits ^ ((bits >> 31) & 0x7FFFFFFF); // signed-int order == float order
            keys[i] = ((long) ~sortable << 32) | i;            // ~ reverses it: larger logits first
        }
        if (max == Float.NEGATIVE_INFINITY) {
            return null;
        }
        Arrays.sort(keys);
        int[] order = new int[n];
        double[] w = new double[n];
        for (int j = 0; j < n; j++) {
            order[j] = (int) keys[j];
        }
        for (int i = 0; i < n; i++) {
            w[i] = Math.exp(((double) x.getAtIndex(F, xOff + i) - max) / temperature);
        }
        return new Sorted(order, w, live);
    }

    /** Lowest index of the largest logit, or -1 for a special row. */
    private static int argmax(MemorySegment x, long xOff, int n) {
        int best = -1;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float z = x.getAtIndex(F, xOff + i);
            if (Float.isNaN(z) || z == Float.POSITIVE_INFINITY) {
                return -1;
            }
            if (z > max) { // strict: the first of equal maxima wins
                max = z;
                best = i;
            }
        }
        return best;
    }
}
