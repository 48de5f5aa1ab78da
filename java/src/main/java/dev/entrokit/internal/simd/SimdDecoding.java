package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdConstants.ORDER;
import static dev.entrokit.internal.simd.VectorExp.expNonPositive;
import static dev.entrokit.internal.simd.VectorExp2.atLeastLow;
import static dev.entrokit.internal.simd.VectorExp2.exp2;
import static dev.entrokit.internal.simd.VectorExp2.exp2AtLeastLow;

import dev.entrokit.DType;
import dev.entrokit.SamplingFilters.Filter;
import dev.entrokit.SamplingFilters.Kind;
import dev.entrokit.SamplingFilters;
import dev.entrokit.internal.DecodingSteps;
import dev.entrokit.internal.HalfRows;
import dev.entrokit.internal.Philox;
import dev.entrokit.internal.scalar.ScalarSelectionKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Pipelines with an entropy-shaped step (SPEC §2) without sorting the vocabulary. The first step that
 * cuts bounds the logits of everything it can keep from below: ε, η and Mirostat keep {@code x ≥ m + t·ln(cutoff·D)},
 * top-nσ keeps {@code x ≥ m − n·σ}, typical keeps a band {@code |(x − m)/t − (ln D − H)| ≤ r} whose mass
 * reaches the target, and a prefix filter is ranked as {@link SimdSelectionKernels} ranks it. After the row
 * maximum, one SIMD pass gives the row statistics ({@code D = Σ e^{(x−m)/t}}, the entropy term where the step
 * reads it, and for typical {@code Σ w·z²}, whose variance bounds the band by Chebyshev), or for top-nσ two
 * passes without exp give the logit moments; all in float lanes summed into doubles per block. Only the tokens
 * above the bound (lowered by a margin that covers the float32 rounding of those statistics) are gathered and
 * sorted, and {@link DecodingSteps} runs the pipeline on them in float64; the first step sees the tokens below
 * the bound through their sums, the row's minus the gathered tokens' (no second pass over the row). Leading
 * dynamic temperatures change {@code t} from an SIMD entropy pass.
 *
 * <p>As with the prefix filters, the float32 statistics can move a decision only where a token lies
 * within their rounding of the cut. What this class cannot bound (a first step whose cut falls below the
 * gathered tokens, a pipeline with nothing that cuts, a temperature whose {@code 2/t} overflows float)
 * returns {@link Outcome#FALLBACK}, and the caller runs the scalar reference for that row.
 */
final class SimdDecoding {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** What {@link #survivors} found for a row. */
    enum Outcome {
        /** The survivors are in {@link #row}. */
        DONE,
        /** A special row (a NaN or {@code +inf} logit, or every token masked): it keeps nothing. */
        SPECIAL,
        /** Not decided here: run the scalar reference on this row. */
        FALLBACK,
        /**
         * The pipeline from {@link #prefixFrom} on is one min-p step at temperature {@link #shortcutT}, which leading
         * dynamic temperatures set (see {@link #minPAtFloatT}): the prefix kernels run it ({@link SimdSelectionKernels},
         * whose cuts below the ranked candidates {@link WideCut} takes) instead of {@link #ranked}, which hands such a
         * cut to the reference. Only for the callers that ask for it (see {@link #survivors(DType, MemorySegment, long,
         * int, SamplingFilters, double, Shortcuts)}).
         */
        PREFIX_FILTERS,
        /**
         * The pipeline ends with a threshold step (ε, η, Mirostat) that keeps {@link #cutLogit} and every logit above
         * it, too many tokens to sort (see {@link #thresholdCut}): {@link WideCut} masks or samples the row at that
         * cut. Only for the callers that ask for it ({@code keptMask}, {@code sample} without a token probability,
         * {@code maskLogits} from float32 to float32), as {@link #PREFIX_FILTERS}.
         */
        CUT,
        /**
         * The survivors and their weights are in {@link #row} in token id order (the gather's), not SPEC order: a closing
         * typical step over many gathered tokens ({@link #typicalBand}). Only for a caller that reads no order (any
         * {@link Shortcuts} but {@code NONE}): a mask reads none, {@code DecodingSteps.sample} and {@code sampleConstrained}
         * walk the survivors by id.
         */
        UNORDERED
    }

    /** Gathered tokens past which a closing threshold step is decided without sorting them ({@link #thresholdCut}). */
    private static final int UNSORTED_CUT_MIN = 4096;

    /** {@link #xtcSample}'s answer when it cannot decide the row (tokens are {@code ≥ −1}). */
    private static final int UNDECIDED = -2;
    /** The most tokens {@link #xtcSample} drops itself (each block of its walk sweeps them). */
    private static final int MAX_EXCLUDED = 256;
    /** Slack on the logarithm of a float32 statistic, far above its rounding (about 1e-6 here). */
    private static final double LOG_MARGIN = 1e-4;

    private static final ThreadLocal<SimdDecoding> CURRENT = ThreadLocal.withInitial(SimdDecoding::new);

    final DecodingSteps.Row row = new DecodingSteps.Row();
    /**
     * What a caller of {@link #survivors(DType, MemorySegment, long, int, SamplingFilters, double, Shortcuts)} can
     * take besides a survivor list: {@link Outcome#PREFIX_FILTERS} and {@link Outcome#CUT} for a mask
     * ({@code keptMask}, float32 {@code maskLogits}), the same for a draw ({@code sample} without a token probability)
     * but a cut only at a temperature that is a float exactly ({@link WideCut} weighs the draw at a float temperature;
     * the cut's kept set is decided in double and holds at any); {@link Outcome#UNORDERED} for those and for
     * {@code ANY_ORDER}, a caller that reads survivors in no particular order ({@code sample} with a token probability
     * and {@code sampleConstrained}, which walk them by id; {@code maskLogits} into half precision); or none of them
     * ({@code keptTokens}, which lists survivors in SPEC order).
     */
    enum Shortcuts { NONE, ANY_ORDER, MASK, DRAW }

    /** For {@link Outcome#PREFIX_FILTERS} and {@link Outcome#CUT}: the temperature the leading dynamic ones left. */
    double shortcutT;
    /** For {@link Outcome#PREFIX_FILTERS}: where the prefix filters start. */
    int prefixFrom;
    /** For {@link Outcome#CUT}: the lowest kept logit. */
    float cutLogit;
    private final DecodingSteps.Rest rest = new DecodingSteps.Rest();
    /** {@link #sums}: count, mass, entropy term, Σ d, Σ (d − shift)² (d = x − m). */
    private final double[] stats = new double[5];
    /** {@link #bands}: masses, then counts. */
    private final double[] bandSums = new double[2 * BANDS];

    private static final ScalarSelectionKernels REFERENCE = new ScalarSelectionKernels();

    static SimdDecoding get() {
        return CURRENT.get();
    }

    /**
     * {@code SelectionKernels.keptMask} for a pipeline with an entropy-shaped step, on a row of {@code type} elements:
     * F32, or BF16 read in registers ({@link HalfDecodingPasses}); a row sent to the reference is widened first.
     */
    static int keptMask(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment mask,
                        long maskOff) {
        SimdDecoding d = get();
        Outcome status = d.survivors(type, x, xOff, n, f, Double.NaN, Shortcuts.MASK);
        if (status == Outcome.PREFIX_FILTERS) {
            return SimdSelectionKernels.keptMaskOf(type, x, xOff, n, (float) d.shortcutT,
                    f.filters().subList(d.prefixFrom, f.filters().size()), mask, maskOff);
        }
        if (status == Outcome.CUT) {
            return WideCut.writeMask(type, x, xOff, n, d.cutLogit, Integer.MAX_VALUE, mask, maskOff);
        }
        if (status == Outcome.FALLBACK) {
            return REFERENCE.keptMask(reference(type, x, xOff, n), referenceOffset(type, xOff), n, f, mask, maskOff);
        }
        MemorySegment row = mask.asSlice(maskOff, n);
        row.fill((byte) 0);
        int m = status == Outcome.SPECIAL ? 0 : d.row.m;
        for (int j = 0; j < m; j++) {
            row.set(ValueLayout.JAVA_BYTE, d.row.id[j], (byte) 1);
        }
        return m;
    }

    /**
     * {@code SelectionKernels.maskLogits} for a pipeline with an entropy-shaped step on a row of {@code type} elements
     * (F32, or BF16 read in registers), into {@code outType} elements: F32, or the input's type. {@code out} may alias
     * {@code x}. A half output gets the kept logits' own bits (they are input elements) and the fill narrowed (exact).
     */
    static void maskLogits(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, DType outType,
                           MemorySegment out, long outOff) {
        SimdDecoding d = get();
        boolean plain = type == DType.F32 && outType == DType.F32; // the cut and prefix passes below are float32 ones
        Outcome status = d.survivors(type, x, xOff, n, f, Double.NaN, plain ? Shortcuts.MASK : Shortcuts.ANY_ORDER);
        // the kept logits are now in d.row.logit
        if (status == Outcome.PREFIX_FILTERS) {
            SimdSelectionKernels.maskLogitsOf(x, xOff, n, (float) d.shortcutT,
                    f.filters().subList(d.prefixFrom, f.filters().size()), out, outOff);
            return;
        }
        if (status == Outcome.CUT) {
            WideCut.maskLogits(x, xOff, n, d.cutLogit, Integer.MAX_VALUE, out, outOff);
            return;
        }
        if (status == Outcome.FALLBACK) {
            if (outType == DType.F32) {
                REFERENCE.maskLogits(reference(type, x, xOff, n), referenceOffset(type, xOff), n, f, out, outOff);
            } else {
                MemorySegment row = reference(type, x, xOff, n);
                REFERENCE.maskLogits(row, 0, n, f, row, 0);
                if (outType == DType.BF16) {
                    HalfWidening.narrowBf16(row, 0, out, outOff, n);
                } else {
                    HalfWidening.narrowF16(row, 0, out, outOff, n);
                }
            }
            return;
        }
        if (outType != DType.F32) {
            int m = status == Outcome.SPECIAL ? 0 : d.row.m;
            HalfSelectionPasses.fill(out, outOff, n, outType.narrow(status == Outcome.SPECIAL ? Float.NaN
                    : Float.NEGATIVE_INFINITY));
            for (int j = 0; j < m; j++) {
                out.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, outOff + d.row.id[j], outType.narrow(d.row.logit[j]));
            }
            return;
        }
        // Vector stores into a heap segment are not intrinsified: fill off-heap and copy.
        MemorySegment dst = out.isNative() ? out : Workspace.get().staging(n);
        long dstOff = out.isNative() ? outOff : 0;
        RowPasses.fill(dst, dstOff, n, status == Outcome.SPECIAL ? Float.NaN : Float.NEGATIVE_INFINITY);
        if (dst != out) {
            MemorySegment.copy(dst, 0, out, outOff * Float.BYTES, (long) n * Float.BYTES);
        }
        int m = status == Outcome.SPECIAL ? 0 : d.row.m;
        for (int j = 0; j < m; j++) {
            out.setAtIndex(F32, outOff + d.row.id[j], d.row.logit[j]);
        }
    }

    /** {@code SelectionKernels.sampleConstrained}, any pipeline with a temperature {@code > 0}, as {@link #keptMask}. */
    static int sampleConstrained(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row,
                                 long step, java.util.function.IntPredicate allowed, double[] stats, int at) {
        SimdDecoding d = get();
        Outcome status = d.survivors(type, x, xOff, n, f, Philox.secondUniform(seed, row, step), Shortcuts.ANY_ORDER);
        if (status == Outcome.FALLBACK) {
            return REFERENCE.sampleConstrained(reference(type, x, xOff, n), referenceOffset(type, xOff), n, f, seed, row,
                    step, allowed, stats, at);
        }
        return DecodingSteps.sampleConstrained(status == Outcome.SPECIAL ? null : d.row, seed, row, step, allowed, stats, at);
    }

    /** {@code SelectionKernels.keptTokens} for a pipeline with an entropy-shaped step, as {@link #keptMask}. */
    static int keptTokens(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment indices,
                          long indicesOff, MemorySegment probs, long probsOff, int capacity) {
        SimdDecoding d = get();
        Outcome status = d.survivors(type, x, xOff, n, f, Double.NaN);
        if (status == Outcome.FALLBACK) {
            return REFERENCE.keptTokens(reference(type, x, xOff, n), referenceOffset(type, xOff), n, f, indices,
                    indicesOff, probs, probsOff, capacity);
        }
        return DecodingSteps.writeTokens(status == Outcome.SPECIAL ? null : d.row, indices, indicesOff, probs, probsOff, capacity);
    }

    /** {@code SelectionKernels.sample} for a pipeline with an entropy-shaped step and a temperature {@code > 0}. */
    static int sample(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step) {
        return sample(DType.F32, x, xOff, n, f, seed, row, step, null, 0);
    }

    /**
     * As {@link #sample(MemorySegment, long, int, SamplingFilters, long, int, long)} on a row of {@code type} elements
     * (as {@link #keptMask}), with the token's probability in {@code prob[at]} unless {@code prob} is null. A lone XTC
     * without {@code prob} has its own float32 path ({@link #xtcSample}, whose walk has no half loops): the caller
     * widens such a half row first ({@link #ownPath}).
     */
    static int sample(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step,
                      double[] prob, int at) {
        SimdDecoding d = get();
        if (type == DType.F32 && prob == null && xtcAlone(f)) {
            int token = d.xtcSample(x, xOff, n, f.filters().get(0), f.temperature(), seed, row, step);
            if (token != UNDECIDED) {
                return token;
            }
        }
        Outcome status = d.survivors(type, x, xOff, n, f, Philox.secondUniform(seed, row, step),
                prob == null ? Shortcuts.DRAW : Shortcuts.ANY_ORDER);
        if (status == Outcome.PREFIX_FILTERS) {
            return SimdSelectionKernels.samplePrefixFilters(type, x, xOff, n, (float) d.shortcutT,
                    f.filters().subList(d.prefixFrom, f.filters().size()), seed, row, step);
        }
        if (status == Outcome.CUT) {
            return WideCut.sample(type, x, xOff, n, Candidates.get().max, (float) d.shortcutT, d.cutLogit, Integer.MAX_VALUE,
                    Philox.uniform(seed, row, step), Workspace.get().lanes);
        }
        if (status == Outcome.FALLBACK) {
            return REFERENCE.sample(reference(type, x, xOff, n), referenceOffset(type, xOff), n, f, seed, row, step,
                    prob, at);
        }
        return DecodingSteps.sample(status == Outcome.SPECIAL ? null : d.row, Philox.uniform(seed, row, step), prob, at);
    }

    /**
     * Whether {@code filters} from {@code s} on are one min-p step that the prefix kernels may run at {@code (float) t}
     * (they take a float temperature): the cast moves {@code t} by {@code δ} (relative, up to 2^−24), which moves a
     * kept token's {@code q/q_max ≥ r} decision and its weight by about {@code |ln r|·δ}; allowed while that stays
     * within half of SPEC §5's 1e-6 band. Top-p decides on masses that reach the row's whole spread: see
     * {@link #topPAtFloatT}. (Running any prefix filter at the float temperature moved min-p 1e-30's decision by 3e-6.)
     */
    private static boolean minPAtFloatT(List<Filter> filters, int s, double t) {
        if (s != filters.size() - 1 || filters.get(s).kind() != Kind.MIN_P) {
            return false;
        }
        return Math.abs(Math.log(filters.get(s).value())) * floatCastMove(t) <= 5e-7; // false for NaN
    }

    /** How far {@code (float) t} is from {@code t}, relative; NaN where the prefix kernels cannot take {@code (float) t}. */
    private static double floatCastMove(double t) {
        float tf = (float) t;
        if (!(tf > 0) || !Float.isFinite(tf) || !usable(tf)) {
            return Double.NaN;
        }
        return Math.abs((double) tf - t) / t;
    }

    /**
     * Whether {@code filters} from {@code s} on are one top-p step whose kept mask the prefix kernels may decide at
     * {@code (float) t}, for a row where {@link #ranked} could not (its cut lies below the ranked candidates: on flat
     * rows top-p after a dynamic temperature keeps tens of thousands of tokens, and every such row ran the scalar
     * reference). The cast moves {@code t} by {@code δ} (relative), which moves each probability by
     * {@code p_i·(z̄ − z_i)·δ} to first order ({@code z = (x − m)/t}), so any cumulative probability by at most
     * {@code δ·Σ p_i|z_i − z̄| ≤ δ·sd_p(z)}; allowed while twice that (for the float-lane sums that estimate it) stays
     * within half of SPEC §5's band. One more exp pass, only on such rows.
     */
    private boolean topPAtFloatT(DType type, MemorySegment x, long off, int n, float max, List<Filter> filters, int s,
                                 double t) {
        if (s != filters.size() - 1 || filters.get(s).kind() != Kind.TOP_P) {
            return false;
        }
        double moved = floatCastMove(t);
        if (!(moved > 0)) {
            return moved == 0;
        }
        double[] st = typicalMasses(type, x, off, n, max, t);
        double mean = st[2] / st[1];
        double sd = Math.sqrt(Math.max(0, st[3] / st[1] - mean * mean));
        return 2 * moved * sd <= 5e-7;
    }

    /** A pipeline of XTC alone at a usable temperature: {@link #xtcSample}'s case. */
    static boolean xtcAlone(SamplingFilters f) {
        return f.filters().size() == 1 && f.filters().get(0).kind() == Kind.XTC && usable(f.temperature());
    }

    /**
     * Whether a row of {@code type} runs here as it is: F32 and BF16 rows, but a lone XTC in a plain {@link #sample}
     * ({@code plainSample}: no token probability wanted) on a BF16 row, whose float32 walk ({@link #xtcSample}) needs
     * the widened row. F16 rows never: the caller widens them (see {@link HalfDecodingPasses}).
     */
    static boolean ownPath(DType type, SamplingFilters f, boolean plainSample) {
        return type == DType.F32 || type == DType.BF16 && !(plainSample && xtcAlone(f));
    }

    /** The row the reference runs on: {@code x} itself for F32, else the half row widened into the kernel buffer. */
    private static MemorySegment reference(DType type, MemorySegment x, long xOff, int n) {
        if (type == DType.F32) {
            return x;
        }
        MemorySegment row = HalfRows.kernelRow(n);
        if (type == DType.BF16) {
            HalfWidening.widenBf16(x, xOff, row, 0, n);
        } else {
            HalfWidening.widenF16(x, xOff, row, 0, n);
        }
        return row;
    }

    private static long referenceOffset(DType type, long xOff) {
        return type == DType.F32 ? xOff : 0;
    }

    /**
     * Runs {@code f} on row {@code x} of {@code type} elements (F32 or BF16): {@link Outcome#DONE} (survivors in
     * {@link #row}), {@link Outcome#SPECIAL} or {@link Outcome#FALLBACK}; {@code xtcChance} is XTC's draw (NaN for the
     * ops without a seed).
     */
    Outcome survivors(DType type, MemorySegment x, long off, int n, SamplingFilters f, double xtcChance) {
        return survivors(type, x, off, n, f, xtcChance, Shortcuts.NONE);
    }

    /**
     * {@link #survivors(DType, MemorySegment, long, int, SamplingFilters, double)}, or, as {@code shortcuts} allows,
     * {@link Outcome#PREFIX_FILTERS} for dynamic temperatures followed by one min-p step (the caller then runs the prefix
     * kernels at the temperature they leave: on flat rows, where that min-p keeps tens of thousands of tokens,
     * {@link #ranked} sent every row to the reference, see {@code bench/results/decoding-flat-rows-2026-12-07.md}) and
     * {@link Outcome#CUT} for a closing threshold step over many gathered tokens ({@link #thresholdCut}).
     */
    Outcome survivors(DType type, MemorySegment x, long off, int n, SamplingFilters f, double xtcChance,
                      Shortcuts shortcuts) {
        row.xtcChance = xtcChance;
        // The compare-and-blend maximum skips NaNs (faster than a NaN-propagating max): a NaN shows later, as a
        // NaN row sum (bounded), a NaN temperature (fallback) or in the gather (ranked).
        float max = type == DType.BF16 ? HalfDecodingPasses.max(x, off, n) : RowPasses.max(x, off, n);
        if (max == Float.POSITIVE_INFINITY || max == Float.NEGATIVE_INFINITY) {
            return Outcome.SPECIAL;
        }
        List<Filter> filters = f.filters();
        double t = f.temperature();
        int s = 0;
        for (; s < filters.size() && filters.get(s).kind() == Kind.DYNAMIC_TEMPERATURE; s++) {
            if (!usable(t)) {
                return Outcome.FALLBACK;
            }
            double[] st = masses(type, x, off, n, max, t);
            if (st[0] > 1) {
                Filter d = filters.get(s);
                double h = Math.log(st[1]) - st[2] / st[1];
                t *= d.value() + (d.second() - d.value()) * Math.pow(h / Math.log(st[0]), d.third());
            }
        }
        if (s == filters.size() || !usable(t)) {
            return Outcome.FALLBACK; // nothing cuts: every live token survives, which needs the whole row ranked
        }
        Filter first = filters.get(s);
        Candidates c = Candidates.get();
        return switch (first.kind()) {
            case TOP_K, TOP_P, MIN_P, TOP_H -> {
                if ((shortcuts == Shortcuts.MASK || shortcuts == Shortcuts.DRAW) && s > 0 && minPAtFloatT(filters, s, t)) {
                    shortcutT = t;
                    prefixFrom = s;
                    yield Outcome.PREFIX_FILTERS;
                }
                Outcome ranked = ranked(type, x, off, n, t, filters, s, c);
                if (ranked == Outcome.FALLBACK && shortcuts == Shortcuts.MASK && s > 0
                        && topPAtFloatT(type, x, off, n, max, filters, s, t)) {
                    shortcutT = t;
                    prefixFrom = s;
                    yield Outcome.PREFIX_FILTERS;
                }
                yield ranked;
            }
            case EPSILON, ETA, TOP_N_SIGMA, TYPICAL, MIROSTAT -> bounded(type, x, off, n, max, t, filters, s, c,
                    shortcuts);
            case XTC -> Outcome.FALLBACK; // first, it keeps all of the row but its top: nothing to bound
            case DYNAMIC_TEMPERATURE -> throw new IllegalStateException("consumed above");
        };
    }

    private static final double LOG2E = 1.4426950408889634;
    private static final double LN2 = 0.6931471805599453;

    /**
     * {@link #sample} for a pipeline of XTC alone, which keeps the whole row but (when it fires) its top: one exp pass
     * for the row's mass, the tokens that may reach XTC's threshold gathered and decided in float64, then the
     * inverse transform over the row without them ({@link WideCut#sampleExcluding}), or over all of it when XTC does
     * not fire. The reference ranks the whole row for this: 128 ns/element against 0.5 here (32 × 128256, one
     * thread). {@link #UNDECIDED} when a survivor's probability lies within 1e-6 of the threshold, which the row's
     * float-lane mass cannot decide, or when XTC would keep under 1 % of the row's mass or drop more than
     * {@link #MAX_EXCLUDED} tokens (see below).
     */
    private int xtcSample(MemorySegment x, long off, int n, Filter xtc, double t, long seed, int rowId, long step) {
        float max = RowPasses.max(x, off, n);
        if (max == Float.POSITIVE_INFINITY || max == Float.NEGATIVE_INFINITY) {
            return -1;
        }
        double[] st = mass(x, off, n, max, t);
        double live = st[0];
        double d = st[1];
        if (Double.isNaN(d)) {
            return -1; // a NaN logit
        }
        double u = Philox.uniform(seed, rowId, step);
        float[] lanes = Workspace.get().lanes;
        double threshold = xtc.value();
        if (xtc.second() > 0 && threshold <= 0.5 && live >= 2 && Philox.secondUniform(seed, rowId, step) <= xtc.second()) {
            float lb = Math.nextDown((float) (max + t * (Math.log(threshold * d) - LOG_MARGIN)));
            Candidates c = Candidates.get();
            if (!SimdSelectionKernels.gather(x, off, n, Math.min(lb, max), c)) {
                return -1;
            }
            c.sort(x, off);
            int last = 0;
            for (int j = 0; j < c.count; j++) {
                double q = Math.exp(((double) c.logit[j] - max) / t) / d;
                if (Math.abs(q - threshold) <= 1e-6 * threshold) {
                    return UNDECIDED; // undecidable with the float-lane mass (the tokens not gathered are below 1 − 1e-4 of it)
                }
                if (q < threshold) {
                    break;
                }
                last = j;
            }
            if (last > 0 && live - last >= xtc.minKeep()) {
                double excluded = 0;
                for (int j = 0; j < last; j++) {
                    excluded += Math.exp(((double) c.logit[j] - max) / t);
                }
                // The walk takes the dropped weights off float-lane block sums (1e-7 of the row's mass): with what is
                // kept under 1 % of the row, that error would be 1e-5 of the draw's law, and the dropped tokens, one
                // sweep of them per block, too many past a few hundred.
                if (d - excluded < 0.01 * d || last > MAX_EXCLUDED) {
                    return UNDECIDED;
                }
                return WideCut.sampleExcluding(x, off, n, max, (float) t, c, last, d, u, lanes);
            }
        }
        return WideCut.sampleAll(x, off, n, max, (float) t, d, u, lanes);
    }

    /** A finite, positive {@code t} whose {@code 2/t} fits a float (the SIMD shift needs it). */
    private static boolean usable(double t) {
        return t > 0 && Float.isFinite((float) (2 / t)) && (float) (2 / t) > 0;
    }

    /** The first step is a prefix filter: rank it as the prefix kernels do, then the rest in float64. */
    private Outcome ranked(DType type, MemorySegment x, long off, int n, double t, List<Filter> filters, int s,
                           Candidates c) {
        Filter first = filters.get(s);
        boolean topK = first.kind() == Kind.TOP_K;
        Kept kept = topK ? SimdSelectionKernels.rank(type, x, off, n, (float) t, List.of(), (int) Math.min(n, Math.max((long) first.k(), first.minKeep())), c)
                : SimdSelectionKernels.rank(type, x, off, n, (float) t, List.of(first), 0, c);
        if (kept == Kept.SPECIAL) {
            return Outcome.SPECIAL;
        }
        if (!topK && kept != Kept.PREFIX) {
            return Outcome.FALLBACK; // the cut reaches below the ranked candidates
        }
        int len = topK ? (int) Math.min(n, Math.max((long) first.k(), first.minKeep())) : c.kept;
        if (len == n && c.count < n || len > c.count) {
            return Outcome.FALLBACK; // the cut reaches below the ranked candidates
        }
        while (len > 0 && c.logit[len - 1] == Float.NEGATIVE_INFINITY) {
            len--;
        }
        fill(c, len, t);
        return DecodingSteps.apply(row, filters, s + 1, null) ? Outcome.DONE : Outcome.FALLBACK;
    }

    /**
     * The first step is ε, η, Mirostat, top-nσ or typical: bound it from below, gather above, and the rest's sums
     * as the row's minus the gathered tokens' (no second pass over the row). ε, η, Mirostat and typical read one
     * exp pass ({@link #masses}); top-nσ none (two moment passes, {@link #moments} and {@link #squares}).
     */
    private Outcome bounded(DType type, MemorySegment x, long off, int n, float max, double t, List<Filter> filters,
                            int s, Candidates c, Shortcuts shortcuts) {
        Filter first = filters.get(s);
        boolean sigma = first.kind() == Kind.TOP_N_SIGMA;
        double live;
        double d = 0;
        double e = 0;
        double sum = 0;
        double mean = 0;
        double squares = 0;
        if (sigma) {
            double[] m = moments(type, x, off, n, max);
            live = m[0];
            sum = m[1];
            mean = sum / live;
            squares = type == DType.BF16 ? HalfDecodingPasses.squares(x, off, n, max, mean) : squares(x, off, n, max, mean);
        } else {
            // ε and Mirostat need no entropy: the lighter pass.
            boolean entropy = first.kind() == Kind.ETA || first.kind() == Kind.TYPICAL;
            double[] st = first.kind() == Kind.TYPICAL ? typicalMasses(type, x, off, n, max, t)
                    : entropy ? masses(type, x, off, n, max, t) : mass(type, x, off, n, max, t);
            live = st[0];
            d = st[1];
            e = st[2];
        }
        if (Double.isNaN(d) || Double.isNaN(e) || Double.isNaN(squares)) {
            return Outcome.SPECIAL; // a NaN logit
        }
        double h = Math.log(d) - e / d;
        double bound = switch (first.kind()) { // in units of s = (x − m)/t
            case EPSILON -> Math.log(first.value() * d) - LOG_MARGIN;
            case MIROSTAT -> -first.value() * Math.log(2) + Math.log(d) - LOG_MARGIN; // q ≥ 2^{-μ}
            case ETA -> Math.log(Math.min(first.value(), Math.sqrt(first.value()) * Math.exp(-h)) * d)
                    - LOG_MARGIN * Math.max(1, h);
            case TOP_N_SIGMA -> (-first.value() * Math.sqrt(Math.max(0, squares / live)) * (1 + LOG_MARGIN) - LOG_MARGIN) / t;
            case TYPICAL -> typicalBound(type, x, off, n, max, t, d, h, live, first, stats[3]);
            default -> throw new IllegalStateException(first.toString());
        };
        float lb = Double.isNaN(bound) ? Float.NEGATIVE_INFINITY : Math.nextDown((float) (max + t * bound));
        if (Float.isNaN(lb) || lb < -Float.MAX_VALUE) {
            lb = Float.NEGATIVE_INFINITY;
        }
        lb = Math.min(lb, max);
        if (!SimdSelectionKernels.gather(type, x, off, n, lb, c)) {
            return Outcome.SPECIAL;
        }
        boolean cuts = shortcuts == Shortcuts.MASK || shortcuts == Shortcuts.DRAW && (double) (float) t == t;
        if (cuts && s == filters.size() - 1 && c.count >= UNSORTED_CUT_MIN && first.kind() != Kind.TOP_N_SIGMA
                && first.kind() != Kind.TYPICAL) {
            Outcome cut = thresholdCut(type, x, off, max, t, first, c, lb, live, d, e);
            if (cut != null) {
                return cut;
            }
        }
        if (shortcuts != Shortcuts.NONE && s == filters.size() - 1 && c.count >= UNSORTED_CUT_MIN
                && first.kind() == Kind.TYPICAL && first.minKeep() <= 1) {
            Outcome band = typicalBand(type, x, off, max, t, first, c, lb, live, d, e, shortcuts != Shortcuts.MASK);
            if (band != null) {
                return band;
            }
        }
        c.max = c.sort(type, x, off);
        int len = c.count;
        while (len > 0 && c.logit[len - 1] == Float.NEGATIVE_INFINITY) {
            len--;
        }
        fill(c, len, t);
        DecodingSteps.Rest outside = rest.clear();
        if (lb != Float.NEGATIVE_INFINITY && live > len) {
            outside.count = (long) live - len;
            outside.bound = lb;
            if (sigma) {
                outsideMoments(outside, len, max, sum, mean, squares);
            } else {
                outsideMasses(outside, len, max, t, d, e);
            }
        }
        return DecodingSteps.apply(row, filters, s, outside) ? Outcome.DONE : Outcome.FALLBACK;
    }

    /**
     * A closing threshold step (ε, η, Mirostat: {@code DecodingSteps.threshold}) over {@code c}'s gathered tokens in
     * gather order, without sorting them: it keeps the tokens whose weight {@code e^{(x − max)/t}} reaches
     * {@code cutoff} times the mass, which are every token at or above one logit, so the answer is that logit
     * ({@link Outcome#CUT}). The weights, the mass, η's entropy and the rest's sums are {@code DecodingSteps}' (the
     * gathered tokens' float64 sums, the rest from the row's float-lane sums as {@link #outsideMasses} takes them),
     * added in another order: an ulp of difference, against the float-lane sums' 1e-7. On flat rows η keeps 64 K–128 K
     * tokens, whose sort cost 38–79 ns per element (bench/results/decoding-flat-rows-2026-12-07.md). Null when the
     * sorted path must decide (a {@code minKeep} above the kept count, which keeps a prefix; nothing live gathered);
     * {@link Outcome#FALLBACK} when a token outside the gathered ones may pass, as {@code DecodingSteps} answers.
     */
    private Outcome thresholdCut(DType type, MemorySegment x, long off, float max, double t, Filter step, Candidates c,
                                 float lb, double live, double d, double e) {
        int count = c.count;
        double wIn = 0;
        double eIn = 0;
        int len = 0;
        for (int j = 0; j < count; j++) {
            float v = HalfSelectionPasses.at(type, x, off + c.index[j]);
            if (v != Float.NEGATIVE_INFINITY) {
                double z = ((double) v - max) / t;
                double w = Math.exp(z);
                len++;
                wIn += w;
                eIn += w * z;
            }
        }
        if (len == 0) {
            return null;
        }
        boolean rest = lb != Float.NEGATIVE_INFINITY && live > len;
        double outMass = rest ? Math.max(0, d - wIn) : 0;
        double outEntropy = rest ? Math.min(0, e - eIn) : 0;
        double cutoff = switch (step.kind()) {
            case EPSILON -> step.value();
            case MIROSTAT -> Math.pow(2, -step.value());
            case ETA -> {
                double dAll = outMass + wIn;
                double h = Math.log(dAll) - (outEntropy + eIn) / dAll;
                yield Math.min(step.value(), Math.sqrt(step.value()) * Math.exp(-h));
            }
            default -> throw new IllegalStateException(step.toString());
        };
        double total = wIn + outMass;
        // e^z/total ≥ cutoff is z ≥ ln(cutoff·total) but for the roundings of exp and of the division (a few ulp):
        // only a z within 1e-9 of that bound takes the exp (halved the time on flat rows: one exp per token, not two).
        double bound = Math.log(cutoff * total);
        double slack = Double.isFinite(bound) ? 1e-9 * (1 + Math.abs(bound)) : Double.NaN;
        int m = 0;
        float lowest = Float.POSITIVE_INFINITY;
        for (int j = 0; j < count; j++) {
            float v = HalfSelectionPasses.at(type, x, off + c.index[j]);
            if (v == Float.NEGATIVE_INFINITY) {
                continue;
            }
            double z = ((double) v - max) / t;
            boolean keep = z > bound + slack || !(z < bound - slack) && Math.exp(z) / total >= cutoff;
            if (keep) {
                m++;
                lowest = Math.min(lowest, v);
            }
        }
        boolean restMayPass = rest && !(Math.exp(((double) lb - max) / t) / total < cutoff);
        if (m == len && restMayPass) {
            return Outcome.FALLBACK;
        }
        if (step.minKeep() > m) {
            return null;
        }
        c.max = max;
        cutLogit = lowest;
        shortcutT = t;
        return Outcome.CUT;
    }

    /** How many bins {@link #typicalBand} cuts the keys into at each level. */
    private static final int KEY_BINS = 4096;
    /** Levels past which {@link #typicalBand} leaves the row to the sorted path (keys a few ulps apart need few). */
    private static final int MAX_KEY_LEVELS = 64;
    /** {@link #typicalBand}: mass per bin, and the gathered positions still in play. */
    private final double[] binMass = new double[KEY_BINS];
    private int[] inPlay = new int[0];

    /**
     * A closing typical step ({@code minKeep ≤ 1}) over {@code c}'s gathered tokens without sorting them, for a mask,
     * masked logits or a draw (every caller but {@code keptTokens}).
     * Typical keeps every token whose key {@code |−ln p − H|} is at most the key of the first rank, in key order, where
     * the cumulative probability reaches its target ({@code DecodingSteps.typical}); that key is the same whatever the
     * order of equal keys, so histograms find it: each level bins the keys still in play ({@link #KEY_BINS} bins, the
     * lowest key alone in the first, so that every level removes some), keeps the bin where the mass crosses the target,
     * and stops when that bin holds one key. The mass, entropy and rest are {@code DecodingSteps}' sums (the rest from
     * the row's float-lane sums, as {@link #outsideMasses} takes them) in another order: an ulp of difference, against
     * those sums' 1e-7. On flat rows typical keeps 48 K–95 K tokens, whose two sorts cost 89–111 ns per element
     * (bench/results/decoding-flat-rows-2026-12-07.md). {@link Outcome#UNORDERED} with the kept tokens in {@link #row}
     * in id order; with {@code weighed}, their weights as {@code DecodingSteps} leaves them, relative to the largest kept
     * logit (one more exp per kept token when that is not the row maximum), so that a draw, which walks by id, sums
     * what the sorted path sums, in the same order;
     * {@link Outcome#FALLBACK} when a token outside the gathered ones may be kept or the target is never reached with
     * tokens outside, as {@code DecodingSteps} answers; null when the sorted path must decide (nothing live gathered,
     * keys that need too many levels).
     */
    private Outcome typicalBand(DType type, MemorySegment x, long off, float max, double t, Filter step, Candidates c,
                                float lb, double live, double d, double e, boolean weighed) {
        int count = c.count;
        int[] ids = c.index;
        double[] w = c.weight;
        long[] key = c.key; // z, then the key, as double bits; -1 (a NaN) for a masked token
        float[] logit = c.logit;
        double wIn = 0;
        double eIn = 0;
        int len = 0;
        for (int j = 0; j < count; j++) {
            float v = HalfSelectionPasses.at(type, x, off + ids[j]);
            if (v == Float.NEGATIVE_INFINITY) {
                key[j] = -1;
                continue;
            }
            double z = ((double) v - max) / t;
            double wj = Math.exp(z);
            w[j] = wj;
            key[j] = Double.doubleToRawLongBits(z);
            logit[j] = v; // gather order here, not SPEC order: read back for the kept ones
            len++;
            wIn += wj;
            eIn += wj * z;
        }
        if (len == 0) {
            return null;
        }
        boolean rest = lb != Float.NEGATIVE_INFINITY && live > len;
        double outMass = rest ? Math.max(0, d - wIn) : 0;
        double outEntropy = rest ? Math.min(0, e - eIn) : 0;
        double total = wIn + outMass;
        double logTotal = Math.log(total);
        double h = logTotal - (outEntropy + eIn) / total;
        if (inPlay.length < len) {
            inPlay = new int[Math.max(len, 2 * inPlay.length)];
        }
        int[] pos = inPlay;
        int m = 0;
        double hi = 0;
        for (int j = 0; j < count; j++) {
            if (key[j] != -1) {
                double k = Math.abs(-(Double.longBitsToDouble(key[j]) - logTotal) - h);
                key[j] = Double.doubleToRawLongBits(k);
                hi = Math.max(hi, k);
                pos[m++] = j;
            }
        }
        double maxKey = hi;
        double lo = 0;
        double before = 0; // the mass of the keys below the bins in play
        double target = step.value() * total; // Σ w ≥ mass·total, not Σ w/total ≥ mass: the same up to an ulp
        if (Math.abs(wIn - target) <= 1e-9 * total) {
            // The whole gathered mass lies on the target (a mass of 1): whether the sums reach it is the rounding of
            // their order, and the reference's order may stop after the first tokens where this one keeps them all
            // (a reviewer's rows: 1366 kept against 4096, 4096 against 5). The sorted path adds in its order.
            return null;
        }
        double cutKey = Double.NaN;
        for (int level = 0; level < MAX_KEY_LEVELS; level++) {
            if (!(hi > lo)) {
                cutKey = hi; // one key left
                break;
            }
            double scale = KEY_BINS / (hi - lo);
            Arrays.fill(binMass, 0);
            for (int q = 0; q < m; q++) {
                int j = pos[q];
                binMass[keyBin(Double.longBitsToDouble(key[j]), lo, scale)] += w[j];
            }
            int b = 0;
            while (b < KEY_BINS && before + binMass[b] < target) {
                before += binMass[b];
                b++;
            }
            if (b == KEY_BINS) {
                if (level == 0) { // the target is never reached: the reference keeps every rank, or asks for the row
                    if (rest) {
                        return Outcome.FALLBACK;
                    }
                    cutKey = maxKey;
                    break;
                }
                return null; // reached at the level above, not in this order of summation
            }
            int kept = 0;
            double newLo = Double.POSITIVE_INFINITY;
            double newHi = 0;
            for (int q = 0; q < m; q++) {
                int j = pos[q];
                double k = Double.longBitsToDouble(key[j]);
                if (keyBin(k, lo, scale) == b) {
                    pos[kept++] = j;
                    newLo = Math.min(newLo, k);
                    newHi = Math.max(newHi, k);
                }
            }
            m = kept;
            lo = newLo;
            hi = newHi;
        }
        if (Double.isNaN(cutKey)) {
            return null;
        }
        if (rest && !(cutKey < ((double) max - lb) / t + logTotal - h)) {
            return Outcome.FALLBACK; // a token outside has a key above that bound, which the cut may reach
        }
        row.reset(len, t);
        int k = 0;
        float top = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < count; j++) {
            if (key[j] != -1 && Double.longBitsToDouble(key[j]) <= cutKey) {
                row.id[k] = ids[j];
                row.w[k] = w[j];
                row.logit[k++] = logit[j];
                top = Math.max(top, logit[j]);
            }
        }
        row.m = k;
        if (weighed && top != max) {
            // DecodingSteps weighs the survivors again after typical, relative to the first of them in SPEC order.
            for (int j = 0; j < k; j++) {
                row.w[j] = Math.exp((row.logit[j] - (double) top) / t);
            }
        }
        return Outcome.UNORDERED;
    }

    /** The bin of {@code key ≥ lo}: the lowest key alone in bin 0, the others by {@code (key − lo)·scale}, monotone. */
    private static int keyBin(double key, double lo, double scale) {
        return key == lo ? 0 : (int) Math.min(KEY_BINS - 1, Math.max(1, (key - lo) * scale));
    }

    /**
     * The rest's mass and entropy term: the row's (float lanes) less the gathered tokens' (float64). The
     * difference carries the row sums' rounding, about 1e-7 of the row's mass: what moves a decision by that
     * much is within SPEC §5's 1e-6 band.
     */
    private void outsideMasses(DecodingSteps.Rest outside, int len, float max, double t, double d, double e) {
        double wIn = 0;
        double eIn = 0;
        for (int j = 0; j < len; j++) {
            double z = ((double) row.logit[j] - max) / t;
            double w = Math.exp(z);
            wIn += w;
            eIn += w * z;
        }
        outside.mass = Math.max(0, d - wIn);
        outside.entropyTerm = Math.min(0, e - eIn); // every term w·z is ≤ 0 (ε and Mirostat read no entropy)
    }

    /**
     * The rest's {@code Σ d} and its squares about its own mean, from the row's: with {@code μ} the row mean,
     * {@code Σ_out (d − d̄_out)² = Σ_all (d − μ)² − Σ_in (d − μ)² − n_out (d̄_out − μ)²}, so that
     * {@link DecodingSteps} rebuilds the row's variance as the row's own squares.
     */
    private void outsideMoments(DecodingSteps.Rest outside, int len, float max, double sum, double mean, double squares) {
        double sIn = 0;
        double qIn = 0;
        for (int j = 0; j < len; j++) {
            double dj = (double) row.logit[j] - max;
            sIn += dj;
            qIn += (dj - mean) * (dj - mean);
        }
        outside.sum = sum - sIn;
        double gap = outside.sum / outside.count - mean;
        outside.sumSq = Math.max(0, squares - qIn - outside.count * gap * gap);
    }

    /**
     * The lower end (in units of {@code s}) of a band around the entropy, {@code |s − (ln D − H)| ≤ r},
     * whose mass exceeds the target with margin and which holds {@code minKeep} tokens: {@code r}
     * doubles from 1/2 nat, one SIMD pass each. NaN when the band must hold every live token.
     */
    private double typicalBound(DType type, MemorySegment x, long off, int n, float max, double t, double d, double h,
                                double live, Filter first, double e2) {
        double center = Math.log(d) - h;
        double target = first.value() * d * (1 + LOG_MARGIN);
        // Chebyshev, from the first pass alone: the center is the mean of z under q, so the mass outside
        // |z − center| ≤ r is at most Var_q(z)/r². The variance is padded by the float32 rounding of Σ w·z²
        // (cancellation against center²); a band too narrow only costs the reference's run, as DecodingSteps
        // checks the cut against the gathered tokens.
        double miss = 1 - first.value() * (1 + LOG_MARGIN);
        if (first.minKeep() == 1 && miss > 0) {
            double var = Math.max(0, e2 / d - center * center) + 1e-6 * (e2 / d) + 1e-12;
            double r = Math.sqrt(var / miss);
            if (r <= radius(BANDS - 1)) {
                return center - r - LOG_MARGIN;
            }
        }
        // Radii 1, 4 and 16 in one exp pass; the band's float32 edges need no care: DecodingSteps checks that the
        // cut stays above the gathered tokens and sends the row to the reference otherwise.
        double[] radii = bands(type, x, off, n, max, t, center);
        for (int k = 0; k < BANDS; k++) {
            if (radii[BANDS + k] >= live) {
                return Double.NaN;
            }
            if (radii[k] >= target && radii[BANDS + k] >= first.minKeep()) {
                return center - radius(k) - LOG_MARGIN;
            }
        }
        for (double r = 2 * radius(BANDS - 1); r < 1e6; r *= 2) {
            float lo = Math.nextDown((float) (max + t * (center - r)));
            float hi = Math.nextUp((float) (max + t * (center + r)));
            double[] band = sums(type, x, off, n, max, t, lo, Math.nextUp(hi), 0);
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

    /** How many radii {@link #bands} measures at once: 1, 4 and 16 nats. */
    private static final int BANDS = 3;

    /** {@link #radius}(k) for every k, for {@link HalfDecodingPasses#bands}' scalar tail. */
    private static final double[] RADII = {radius(0), radius(1), radius(2)};

    private static double radius(int k) {
        return 1 << (2 * k);
    }

    // The passes below branch on the row's element type once, here, into a loop of their own (HalfDecodingPasses for
    // BF16): a loop shared by two element types would share one profile.

    private double[] masses(DType type, MemorySegment x, long off, int n, float max, double t) {
        if (type == DType.BF16) {
            HalfDecodingPasses.masses(x, off, n, max, t, stats);
            return stats;
        }
        return masses(x, off, n, max, t);
    }

    private double[] typicalMasses(DType type, MemorySegment x, long off, int n, float max, double t) {
        if (type == DType.BF16) {
            HalfDecodingPasses.typicalMasses(x, off, n, max, t, stats);
            return stats;
        }
        return typicalMasses(x, off, n, max, t);
    }

    private double[] mass(DType type, MemorySegment x, long off, int n, float max, double t) {
        if (type == DType.BF16) {
            HalfDecodingPasses.mass(x, off, n, max, t, stats);
            return stats;
        }
        return mass(x, off, n, max, t);
    }

    private double[] moments(DType type, MemorySegment x, long off, int n, float max) {
        if (type == DType.BF16) {
            HalfDecodingPasses.moments(x, off, n, max, stats);
            return stats;
        }
        return moments(x, off, n, max);
    }

    private double[] bands(DType type, MemorySegment x, long off, int n, float max, double t, double center) {
        if (type != DType.BF16) {
            return bands(x, off, n, max, t, center);
        }
        java.util.Arrays.fill(bandSums, 0);
        HalfDecodingPasses.bands(x, off, n, max, t, (float) (center * LOG2E), (float) (radius(0) * LOG2E),
                (float) (radius(1) * LOG2E), (float) (radius(2) * LOG2E), center, RADII, BANDS, bandSums);
        return bandSums;
    }

    private double[] sums(DType type, MemorySegment x, long off, int n, float max, double t, float lo, float below,
                          double shift) {
        if (type == DType.BF16) {
            HalfDecodingPasses.sums(x, off, n, max, t, lo, below, shift, stats);
            return stats;
        }
        return sums(x, off, n, max, t, lo, below, shift);
    }

    /**
     * Over the live tokens, with {@code z = (x − m)/t} and {@code w = e^z}: their count, {@code Σ w} and
     * {@code Σ w·z}, in float lanes added into doubles per block (fixed lane order); one exp per token. The
     * exps are {@link VectorExp2#log2Units powers of two}: each masked token adds 2^−115 to {@code Σ w}, nothing a mass
     * of at least 1 (the maximum's own term) can show.
     */
    private double[] masses(MemorySegment x, long off, int n, float max, double t) {
        float c = VectorExp2.log2Scale(t);
        float[] lanes = Workspace.get().lanes;
        double count = 0;
        double mass = 0;
        double ent = 0;
        int upper = F.loopBound(n);
        for (int start = 0, end; start < upper; start = end) {
            end = Math.min(upper, start + SimdConstants.BLOCK);
            FloatVector accW = FloatVector.zero(F);
            FloatVector accE = FloatVector.zero(F);
            int in = 0;
            for (int i = start; i < end; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
                VectorMask<Float> m = v.compare(VectorOperators.NE, Float.NEGATIVE_INFINITY);
                FloatVector y = atLeastLow(VectorExp2.log2Units(v, max, c));
                FloatVector w = exp2AtLeastLow(y);
                accW = accW.add(w);
                accE = accE.add(w.mul(y), m);
                in += m.trueCount();
            }
            count += in;
            mass += SimdRows.sumLanes(accW, lanes);
            ent += SimdRows.sumLanes(accE, lanes);
        }
        ent *= LN2;
        for (int i = upper; i < n; i++) {
            float v = x.getAtIndex(F32, off + i);
            if (v != Float.NEGATIVE_INFINITY) {
                double z = ((double) v - max) / t;
                double w = Math.exp(z);
                count++;
                mass += w;
                ent += w * z;
            }
        }
        stats[0] = count;
        stats[1] = mass;
        stats[2] = ent;
        return stats;
    }

    /**
     * {@link #masses} and {@code Σ w·z²} in {@code stats[3]}, for typical's band: one exp per token.
     */
    private double[] typicalMasses(MemorySegment x, long off, int n, float max, double t) {
        float c = VectorExp2.log2Scale(t);
        float[] lanes = Workspace.get().lanes;
        double count = 0;
        double mass = 0;
        double ent = 0;
        double ent2 = 0;
        int upper = F.loopBound(n);
        for (int start = 0, end; start < upper; start = end) {
            end = Math.min(upper, start + SimdConstants.BLOCK);
            FloatVector accW = FloatVector.zero(F);
            FloatVector accE = FloatVector.zero(F);
            FloatVector accE2 = FloatVector.zero(F);
            int in = 0;
            for (int i = start; i < end; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
                VectorMask<Float> m = v.compare(VectorOperators.NE, Float.NEGATIVE_INFINITY);
                FloatVector y = atLeastLow(VectorExp2.log2Units(v, max, c));
                FloatVector w = exp2AtLeastLow(y);
                FloatVector wy = w.mul(y);
                accW = accW.add(w);
                accE = accE.add(wy, m);
                accE2 = accE2.add(wy.mul(y), m);
                in += m.trueCount();
            }
            count += in;
            mass += SimdRows.sumLanes(accW, lanes);
            ent += SimdRows.sumLanes(accE, lanes);
            ent2 += SimdRows.sumLanes(accE2, lanes);
        }
        ent *= LN2;
        ent2 *= LN2 * LN2;
        for (int i = upper; i < n; i++) {
            float v = x.getAtIndex(F32, off + i);
            if (v != Float.NEGATIVE_INFINITY) {
                double z = ((double) v - max) / t;
                double w = Math.exp(z);
                count++;
                mass += w;
                ent += w * z;
                ent2 += w * z * z;
            }
        }
        stats[0] = count;
        stats[1] = mass;
        stats[2] = ent;
        stats[3] = ent2;
        return stats;
    }

    /**
     * {@link #masses} without the entropy term ({@code stats[2]} is 0): the count and {@code Σ w} of the live
     * tokens, one exp per token.
     */
    private double[] mass(MemorySegment x, long off, int n, float max, double t) {
        float c = VectorExp2.log2Scale(t);
        float[] lanes = Workspace.get().lanes;
        double count = 0;
        double mass = 0;
        int upper = F.loopBound(n);
        for (int start = 0, end; start < upper; start = end) {
            end = Math.min(upper, start + SimdConstants.BLOCK);
            FloatVector accW = FloatVector.zero(F);
            int in = 0;
            for (int i = start; i < end; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
                accW = accW.add(exp2(VectorExp2.log2Units(v, max, c)));
                in += v.compare(VectorOperators.NE, Float.NEGATIVE_INFINITY).trueCount();
            }
            count += in;
            mass += SimdRows.sumLanes(accW, lanes);
        }
        for (int i = upper; i < n; i++) {
            float v = x.getAtIndex(F32, off + i);
            if (v != Float.NEGATIVE_INFINITY) {
                count++;
                mass += Math.exp(((double) v - max) / t);
            }
        }
        stats[0] = count;
        stats[1] = mass;
        stats[2] = 0;
        return stats;
    }

    /** Over the live tokens, with {@code d = x − m}: their count and {@code Σ d}; no exp. */
    private double[] moments(MemorySegment x, long off, int n, float max) {
        float[] lanes = Workspace.get().lanes;
        double count = 0;
        double sum = 0;
        int upper = F.loopBound(n);
        for (int start = 0, end; start < upper; start = end) {
            end = Math.min(upper, start + SimdConstants.BLOCK);
            FloatVector accD = FloatVector.zero(F);
            int in = 0;
            for (int i = start; i < end; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
                VectorMask<Float> m = v.compare(VectorOperators.NE, Float.NEGATIVE_INFINITY);
                accD = accD.add(v.sub(max), m);
                in += m.trueCount();
            }
            count += in;
            sum += SimdRows.sumLanes(accD, lanes);
        }
        for (int i = upper; i < n; i++) {
            float v = x.getAtIndex(F32, off + i);
            if (v != Float.NEGATIVE_INFINITY) {
                count++;
                sum += (double) v - max;
            }
        }
        stats[0] = count;
        stats[1] = sum;
        return stats;
    }

    /** {@code Σ (d − mean)²} over the live tokens, {@code d = x − m}: positive terms, no cancellation; no exp. */
    private static double squares(MemorySegment x, long off, int n, float max, double mean) {
        float center = (float) (max + mean);
        float[] lanes = Workspace.get().lanes;
        double sq = 0;
        int upper = F.loopBound(n);
        for (int start = 0, end; start < upper; start = end) {
            end = Math.min(upper, start + SimdConstants.BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
                FloatVector c = v.sub(center);
                acc = acc.add(c.mul(c), v.compare(VectorOperators.NE, Float.NEGATIVE_INFINITY));
            }
            sq += SimdRows.sumLanes(acc, lanes);
        }
        for (int i = upper; i < n; i++) {
            float v = x.getAtIndex(F32, off + i);
            if (v != Float.NEGATIVE_INFINITY) {
                double c = (double) v - max - mean;
                sq += c * c;
            }
        }
        return sq;
    }

    /**
     * For the radii {@link #radius}(k), the mass {@code Σ w} ({@code [k]}) and count ({@code [BANDS + k]}) of the
     * live tokens with {@code |z − center| ≤ radius(k)}, {@code z = (x − m)/t}; one exp per token. Three radii:
     * six accumulators with an inlined exp made C2 box the vectors (2.3 MB allocated per 32-row call).
     */
    private double[] bands(MemorySegment x, long off, int n, float max, double t, double center) {
        float scale = VectorExp2.log2Scale(t);
        // The band in log2 units, as the exps: |y − center·log2 e| ≤ radius·log2 e.
        float c = (float) (center * LOG2E);
        float r0 = (float) (radius(0) * LOG2E);
        float r1 = (float) (radius(1) * LOG2E);
        float r2 = (float) (radius(2) * LOG2E);
        float[] lanes = Workspace.get().lanes;
        double[] out = bandSums;
        java.util.Arrays.fill(out, 0);
        int upper = F.loopBound(n);
        for (int start = 0, end; start < upper; start = end) {
            end = Math.min(upper, start + SimdConstants.BLOCK);
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            FloatVector a2 = FloatVector.zero(F);
            int n0 = 0;
            int n1 = 0;
            int n2 = 0;
            for (int i = start; i < end; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * Float.BYTES, ORDER);
                FloatVector y = VectorExp2.log2Units(v, max, scale);
                FloatVector w = exp2(y);
                FloatVector dz = y.sub(c).abs(); // -inf tokens: +inf, in no band
                VectorMask<Float> m0 = dz.compare(VectorOperators.LE, r0);
                VectorMask<Float> m1 = dz.compare(VectorOperators.LE, r1);
                VectorMask<Float> m2 = dz.compare(VectorOperators.LE, r2);
                a0 = a0.add(w, m0);
                a1 = a1.add(w, m1);
                a2 = a2.add(w, m2);
                n0 += m0.trueCount();
                n1 += m1.trueCount();
                n2 += m2.trueCount();
            }
            out[0] += SimdRows.sumLanes(a0, lanes);
            out[1] += SimdRows.sumLanes(a1, lanes);
            out[2] += SimdRows.sumLanes(a2, lanes);
            out[BANDS] += n0;
            out[BANDS + 1] += n1;
            out[BANDS + 2] += n2;
        }
        for (int i = upper; i < n; i++) {
            float v = x.getAtIndex(F32, off + i);
            if (v != Float.NEGATIVE_INFINITY) {
                double z = ((double) v - max) / t;
                double dz = Math.abs(z - center);
                for (int k = 0; k < BANDS; k++) {
                    if (dz <= radius(k)) {
                        out[k] += Math.exp(z);
                        out[BANDS + k]++;
                    }
                }
            }
        }
        return out;
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
            mass += SimdRows.sumLanes(accW, lanes);
            ent += SimdRows.sumLanes(accE, lanes);
            sum += SimdRows.sumLanes(accD, lanes);
            sq += SimdRows.sumLanes(accQ, lanes);
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
