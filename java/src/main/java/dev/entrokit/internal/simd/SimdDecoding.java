package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdConstants.ORDER;
import static dev.entrokit.internal.simd.VectorExp.expNonPositive;

import dev.entrokit.SamplingFilters;
import dev.entrokit.SamplingFilters.Filter;
import dev.entrokit.SamplingFilters.Kind;
import dev.entrokit.internal.DecodingSteps;
import dev.entrokit.internal.Philox;
import dev.entrokit.internal.scalar.ScalarSelectionKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Pipelines with an entropy-shaped step (SPEC §2) without sorting the vocabulary. The first step that
 * cuts bounds the logits of everything it can keep from below: ε, η and Mirostat keep {@code x ≥ m + t·ln(cutoff·D)},
 * top-nσ keeps {@code x ≥ m − n·σ}, typical keeps a band {@code |(x − m)/t − (ln D − H)| ≤ r} whose mass
 * reaches the target, and a prefix filter is ranked as {@link SimdSelectionKernels} ranks it. SIMD passes
 * give the row statistics ({@code D = Σ e^{(x−m)/t}}, the entropy term, the logit moments) in float lanes
 * summed into doubles per block; only the tokens above the bound (lowered by a margin that covers the
 * float32 rounding of those statistics) are gathered and sorted, and {@link DecodingSteps} runs the
 * pipeline on them in float64, with the statistics of the tokens below the bound for the first step.
 * Leading dynamic temperatures change {@code t} from an SIMD entropy pass.
 *
 * <p>As with the prefix filters, the float32 statistics can move a decision only where a token lies
 * within their rounding of the cut. What this class cannot bound (a first step whose cut falls below the
 * gathered tokens, a pipeline with nothing that cuts, a temperature whose {@code 2/t} overflows float)
 * returns {@link #FALLBACK}, and the caller runs the scalar reference for that row.
 */
final class SimdDecoding {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** {@link #survivors}: a special row. */
    static final int SPECIAL = -1;
    /** {@link #survivors}: run the scalar reference on this row. */
    static final int FALLBACK = -2;
    /** The survivors are in {@link #row}. */
    static final int DONE = 0;
    /** Slack on the logarithm of a float32 statistic, far above its rounding (about 1e-6 here). */
    private static final double LOG_MARGIN = 1e-4;

    private static final ThreadLocal<SimdDecoding> CURRENT = ThreadLocal.withInitial(SimdDecoding::new);

    final DecodingSteps.Row row = new DecodingSteps.Row();
    private final DecodingSteps.Rest rest = new DecodingSteps.Rest();
    /** {@link #sums}: count, mass, entropy term, Σ d, Σ (d − shift)² (d = x − m). */
    private final double[] stats = new double[5];

    private static final ScalarSelectionKernels REFERENCE = new ScalarSelectionKernels();

    static SimdDecoding get() {
        return CURRENT.get();
    }

    /** {@code SelectionKernels.keptMask} for a pipeline with an entropy-shaped step. */
    static int keptMask(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment mask, long maskOff) {
        SimdDecoding d = get();
        int status = d.survivors(x, xOff, n, f, Double.NaN);
        if (status == FALLBACK) {
            return REFERENCE.keptMask(x, xOff, n, f, mask, maskOff);
        }
        MemorySegment row = mask.asSlice(maskOff, n);
        row.fill((byte) 0);
        int m = status == SPECIAL ? 0 : d.row.m;
        for (int j = 0; j < m; j++) {
            row.set(ValueLayout.JAVA_BYTE, d.row.id[j], (byte) 1);
        }
        return m;
    }

    /** {@code SelectionKernels.maskLogits} for a pipeline with an entropy-shaped step; {@code out} may alias {@code x}. */
    static void maskLogits(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment out, long outOff) {
        SimdDecoding d = get();
        int status = d.survivors(x, xOff, n, f, Double.NaN); // the kept logits are now in d.row.logit
        if (status == FALLBACK) {
            REFERENCE.maskLogits(x, xOff, n, f, out, outOff);
            return;
        }
        // Vector stores into a heap segment are not intrinsified: fill off-heap and copy.
        MemorySegment dst = out.isNative() ? out : Workspace.get().staging(n);
        long dstOff = out.isNative() ? outOff : 0;
        SimdDistributionKernels.fill(dst, dstOff, n, status == SPECIAL ? Float.NaN : Float.NEGATIVE_INFINITY);
        if (dst != out) {
            MemorySegment.copy(dst, 0, out, outOff * Float.BYTES, (long) n * Float.BYTES);
        }
        int m = status == SPECIAL ? 0 : d.row.m;
        for (int j = 0; j < m; j++) {
            out.setAtIndex(F32, outOff + d.row.id[j], d.row.logit[j]);
        }
    }

    /** {@code SelectionKernels.sampleConstrained}, any pipeline with a temperature {@code > 0}. */
    static int sampleConstrained(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step,
                                 java.util.function.IntPredicate allowed, double[] stats, int at) {
        SimdDecoding d = get();
        int status = d.survivors(x, xOff, n, f, Philox.secondUniform(seed, row, step));
        if (status == FALLBACK) {
            return REFERENCE.sampleConstrained(x, xOff, n, f, seed, row, step, allowed, stats, at);
        }
        return DecodingSteps.sampleConstrained(status == SPECIAL ? null : d.row, seed, row, step, allowed, stats, at);
    }

    /** {@code SelectionKernels.keptTokens} for a pipeline with an entropy-shaped step. */
    static int keptTokens(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment indices, long indicesOff,
                          MemorySegment probs, long probsOff, int capacity) {
        SimdDecoding d = get();
        int status = d.survivors(x, xOff, n, f, Double.NaN);
        if (status == FALLBACK) {
            return REFERENCE.keptTokens(x, xOff, n, f, indices, indicesOff, probs, probsOff, capacity);
        }
        return DecodingSteps.writeTokens(status == SPECIAL ? null : d.row, indices, indicesOff, probs, probsOff, capacity);
    }

    /** {@code SelectionKernels.sample} for a pipeline with an entropy-shaped step and a temperature {@code > 0}. */
    static int sample(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step) {
        return sample(x, xOff, n, f, seed, row, step, null, 0);
    }

    /** As {@link #sample(MemorySegment, long, int, SamplingFilters, long, int, long)}, with the token's probability in {@code prob[at]}. */
    static int sample(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step, double[] prob,
                      int at) {
        SimdDecoding d = get();
        int status = d.survivors(x, xOff, n, f, Philox.secondUniform(seed, row, step));
        if (status == FALLBACK) {
            return REFERENCE.sample(x, xOff, n, f, seed, row, step, prob, at);
        }
        return DecodingSteps.sample(status == SPECIAL ? null : d.row, Philox.uniform(seed, row, step), prob, at);
    }

    /**
     * Runs {@code f} on row {@code x}: {@link #DONE} (survivors in {@link #row}), {@link #SPECIAL} or
     * {@link #FALLBACK}; {@code xtcChance} is XTC's draw (NaN for the ops without a seed).
     */
    int survivors(MemorySegment x, long off, int n, SamplingFilters f, double xtcChance) {
        row.xtcChance = xtcChance;
        float max = SimdSelectionKernels.maxOrNaN(x, off, n);
        if (Float.isNaN(max) || max == Float.POSITIVE_INFINITY || max == Float.NEGATIVE_INFINITY) {
            return SPECIAL;
        }
        List<Filter> filters = f.filters();
        double t = f.temperature();
        int s = 0;
        for (; s < filters.size() && filters.get(s).kind() == Kind.DYNAMIC_TEMPERATURE; s++) {
            if (!usable(t)) {
                return FALLBACK;
            }
            double[] st = sums(x, off, n, max, t, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 0);
            if (st[0] > 1) {
                Filter d = filters.get(s);
                double h = Math.log(st[1]) - st[2] / st[1];
                t *= d.value() + (d.second() - d.value()) * Math.pow(h / Math.log(st[0]), d.third());
            }
        }
        if (s == filters.size() || !usable(t)) {
            return FALLBACK; // nothing cuts: every live token survives, which needs the whole row ranked
        }
        Filter first = filters.get(s);
        Candidates c = Candidates.get();
        return switch (first.kind()) {
            case TOP_K, TOP_P, MIN_P, TOP_H -> ranked(x, off, n, t, filters, s, c);
            case EPSILON, ETA, TOP_N_SIGMA, TYPICAL, MIROSTAT -> bounded(x, off, n, max, t, filters, s, c);
            case XTC -> FALLBACK; // first, it keeps all of the row but its top: nothing to bound
            case DYNAMIC_TEMPERATURE -> throw new IllegalStateException("consumed above");
        };
    }

    /** A finite, positive {@code t} whose {@code 2/t} fits a float (the SIMD shift needs it). */
    private static boolean usable(double t) {
        return t > 0 && Float.isFinite((float) (2 / t)) && (float) (2 / t) > 0;
    }

    /** The first step is a prefix filter: rank it as the prefix kernels do, then the rest in float64. */
    private int ranked(MemorySegment x, long off, int n, double t, List<Filter> filters, int s, Candidates c) {
        Filter first = filters.get(s);
        boolean topK = first.kind() == Kind.TOP_K;
        Kept kept = topK ? SimdSelectionKernels.rank(x, off, n, (float) t, List.of(), first.k(), c)
                : SimdSelectionKernels.rank(x, off, n, (float) t, List.of(first), 0, c);
        if (kept == Kept.SPECIAL) {
            return SPECIAL;
        }
        if (!topK && kept != Kept.PREFIX) {
            return FALLBACK; // the cut reaches below the ranked candidates
        }
        int len = topK ? first.k() : c.kept;
        if (len == n && c.count < n || len > c.count) {
            return FALLBACK; // the cut reaches below the ranked candidates
        }
        while (len > 0 && c.logit[len - 1] == Float.NEGATIVE_INFINITY) {
            len--;
        }
        fill(c, len, t);
        return DecodingSteps.apply(row, filters, s + 1, null) ? DONE : FALLBACK;
    }

    /** The first step is ε, η, top-nσ or typical: bound it from below, gather above, the rest as sums. */
    private int bounded(MemorySegment x, long off, int n, float max, double t, List<Filter> filters, int s,
                        Candidates c) {
        Filter first = filters.get(s);
        double[] st = sums(x, off, n, max, t, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 0);
        double live = st[0];
        double d = st[1];
        double h = Math.log(d) - st[2] / d;
        double bound = switch (first.kind()) { // in units of s = (x − m)/t, except top-nσ (logits)
            case EPSILON -> Math.log(first.value() * d) - LOG_MARGIN;
            case MIROSTAT -> -first.value() * Math.log(2) + Math.log(d) - LOG_MARGIN; // q ≥ 2^{-μ}
            case ETA -> Math.log(Math.min(first.value(), Math.sqrt(first.value()) * Math.exp(-h)) * d)
                    - LOG_MARGIN * Math.max(1, h);
            case TOP_N_SIGMA -> {
                double mean = st[3] / live;
                double sigma = Math.sqrt(Math.max(0, st[4] / live - mean * mean));
                yield (-first.value() * sigma * (1 + LOG_MARGIN) - LOG_MARGIN) / t;
            }
            case TYPICAL -> typicalBound(x, off, n, max, t, d, h, live, first);
            default -> throw new IllegalStateException(first.toString());
        };
        float lb = Double.isNaN(bound) ? Float.NEGATIVE_INFINITY : Math.nextDown((float) (max + t * bound));
        if (Float.isNaN(lb) || lb < -Float.MAX_VALUE) {
            lb = Float.NEGATIVE_INFINITY;
        }
        lb = Math.min(lb, max);
        if (!SimdSelectionKernels.gather(x, off, n, lb, c)) {
            return SPECIAL;
        }
        c.max = c.sort(x, off);
        int len = c.count;
        while (len > 0 && c.logit[len - 1] == Float.NEGATIVE_INFINITY) {
            len--;
        }
        fill(c, len, t);
        DecodingSteps.Rest outside = rest.clear();
        if (lb != Float.NEGATIVE_INFINITY) {
            double[] below = sums(x, off, n, max, t, Float.NEGATIVE_INFINITY, lb, 0);
            outside.count = (long) below[0];
            outside.bound = lb;
            outside.mass = below[1];
            outside.entropyTerm = below[2];
            outside.sum = below[3];
            if (first.kind() == Kind.TOP_N_SIGMA && outside.count > 0) {
                // Squares about the outside's own mean, a second pass: Σ d² − (Σ d)²/count cancels badly.
                outside.sumSq = sums(x, off, n, max, t, Float.NEGATIVE_INFINITY, lb, outside.sum / outside.count)[4];
            }
        }
        return DecodingSteps.apply(row, filters, s, outside) ? DONE : FALLBACK;
    }

    /**
     * The lower end (in units of {@code s}) of a band around the entropy, {@code |s − (ln D − H)| ≤ r},
     * whose mass exceeds the target with margin and which holds {@code minKeep} tokens: {@code r}
     * doubles from 1/2 nat, one SIMD pass each. NaN when the band must hold every live token.
     */
    private double typicalBound(MemorySegment x, long off, int n, float max, double t, double d, double h,
                                double live, Filter first) {
        double center = Math.log(d) - h;
        double target = first.value() * d * (1 + LOG_MARGIN);
        for (double r = 0.5; r < 1e6; r *= 2) {
            float lo = Math.nextDown((float) (max + t * (center - r)));
            float hi = Math.nextUp((float) (max + t * (center + r)));
            double[] band = sums(x, off, n, max, t, lo, Math.nextUp(hi), 0);
            if (band[0] >= live) {
                return Double.NaN;
            }
            if (band[1] >= target && band[0] >= first.minKeep()) {
                return center - r - LOG_MARGIN;
            }
        }
        return Double.NaN;
    }

    /** The first {@code len} candidates, in SPEC order, into {@link #row} at temperature {@code t}. */
    private void fill(Candidates c, int len, double t) {
        row.reset(len, t); // keeps row.xtcChance
        System.arraycopy(c.index, 0, row.id, 0, len);
        System.arraycopy(c.logit, 0, row.logit, 0, len);
    }

    /**
     * Over the live tokens with {@code lo ≤ x < below}, with {@code d = x − m} and {@code w = e^{d/t}}:
     * their count, {@code Σ w}, {@code Σ w·d/t}, {@code Σ d}, {@code Σ (d − shift)²}, in float lanes added into
     * doubles per block (fixed lane order). {@code d/t} is the overflow-free {@code fma(x, ½, −m/2)·(2/t)}.
     */
    private double[] sums(MemorySegment x, long off, int n, float max, double t, float lo, float below, double shift) {
        float negHalfM = -max / 2;
        float center = max + (float) shift;
        float twoInvT = (float) (2 / t);
        float[] lanes = Workspace.get().lanes;
        double count = 0;
        double mass = 0;
        double ent = 0;
        double sum = 0;
        double sq = 0;
        int upper = F.loopBound(n);
        for (int start = 0, end; start < upper; start = end) {
            end = Math.min(upper, start + SimdConstants.BLOCK);
            FloatVector accW = FloatVector.zero(F);
            FloatVector accE = FloatVector.zero(F);
            FloatVector accD = FloatVector.zero(F);
            FloatVector accQ = FloatVector.zero(F);
            int in = 0;
            for (int i = start; i < end; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
                VectorMask<Float> m = v.compare(VectorOperators.GE, lo).and(v.compare(VectorOperators.LT, below))
                        .and(v.compare(VectorOperators.NE, Float.NEGATIVE_INFINITY));
                FloatVector z = v.fma(0.5f, negHalfM).mul(twoInvT);
                FloatVector w = expNonPositive(z);
                FloatVector dv = v.sub(max);
                FloatVector cv = v.sub(center);
                accW = accW.add(w, m);
                accE = accE.add(w.mul(z), m);
                accD = accD.add(dv, m);
                accQ = accQ.add(cv.mul(cv), m);
                in += m.trueCount();
            }
            count += in;
            mass += SimdDistributionKernels.sumLanes(accW, lanes);
            ent += SimdDistributionKernels.sumLanes(accE, lanes);
            sum += SimdDistributionKernels.sumLanes(accD, lanes);
            sq += SimdDistributionKernels.sumLanes(accQ, lanes);
        }
        for (int i = upper; i < n; i++) {
            float v = x.getAtIndex(F32, off + i);
            if (v >= lo && v < below && v != Float.NEGATIVE_INFINITY) {
                double z = ((double) v - max) / t;
                double w = Math.exp(z);
                double dv = (double) v - max;
                count++;
                mass += w;
                ent += w * z;
                sum += dv;
                sq += (dv - shift) * (dv - shift);
            }
        }
        stats[0] = count;
        stats[1] = mass;
        stats[2] = ent;
        stats[3] = sum;
        stats[4] = sq;
        return stats;
    }
}
