package dev.entrokit.internal;

import dev.entrokit.DType;
import dev.entrokit.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.BitSet;
import java.util.function.Supplier;

/**
 * The sequence scores of SPEC §4 (Min-K% Prob, Min-K%++, DC-PDD, the likelihood ratio), which no
 * backend owns: the per-position values come from the backend's {@link ScoringKernels} through the
 * row pool, then each sequence's score is formed on the caller in float64, in position order, so it
 * does not depend on the thread count. Every argument is checked by the caller ({@link Checks}).
 */
public final class SequenceScores {
    private final ScoringKernels scoring;
    private final RowExecutor rows;
    /** The backend's half kernels (asked per call, only for a half tensor), or the scalar loops' when it is not known. */
    private final Supplier<HalfKernels> half;
    /** Whether {@link #half} is the backend's own: only its own kernels give its bits in registers. */
    private final boolean backendHalf;

    /**
     * Scores computed with {@code scoring}'s per-position kernels, spread over {@code rows}; half rows are widened by
     * the scalar loops into a float32 copy (the backend's half kernels are not known, and only its own give its bits).
     */
    public SequenceScores(ScoringKernels scoring, RowExecutor rows) {
        this.scoring = scoring;
        this.rows = rows;
        this.half = () -> dev.entrokit.internal.scalar.ScalarHalfKernels.INSTANCE;
        this.backendHalf = false;
    }

    /**
     * As {@link #SequenceScores(ScoringKernels, RowExecutor)} with the same backend's half kernels ({@code backend::half},
     * asked per call and only for a half tensor: see {@link HalfRows#of(Tensor, int, Supplier)}): they widen half
     * rows, and Min-K% Prob reads the rows {@link HalfRows#softmaxInRegister} names (BF16, F16) through
     * {@link HalfKernels#tokenLogprob}, without the float32 copy.
     */
    public SequenceScores(ScoringKernels scoring, RowExecutor rows, Supplier<HalfKernels> half) {
        this.scoring = scoring;
        this.rows = rows;
        this.half = half;
        this.backendHalf = true;
    }

    /**
     * The checked shape of a sequence score (see {@link Checks#sequences}): {@code count} sequences of
     * {@code length} positions over a vocabulary of {@code vocab}; {@code shareable} as
     * {@link Checks#shareable} for every tensor involved.
     */
    public record Shape(int count, int length, int vocab, boolean shareable) {
        int rows() {
            return count * length;
        }

        int id(Tensor ids, int row) {
            return ids.getInt(row / length, row % length);
        }

        /** This shape, with {@code shareable} also requiring {@code alsoShareable} (one more tensor). */
        public Shape sharing(boolean alsoShareable) {
            return new Shape(count, length, vocab, shareable & alsoShareable);
        }
    }

    /** Min-K% Prob from log-probabilities {@code [S, T]}: each row's mean of its {@code kCount} smallest. */
    public static void minKProb(Tensor logprobs, int kCount, Tensor scores) {
        int nT = (int) logprobs.cols();
        double[] values = new double[nT];
        for (int q = 0; q < (int) logprobs.rows(); q++) {
            for (int t = 0; t < nT; t++) {
                values[t] = logprobs.getFloat(q, t);
            }
            setScore(scores, q, meanOfSmallest(values, kCount));
        }
    }

    /** Min-K% Prob from logits: the token log-probabilities, then each sequence's mean of its {@code kCount} smallest. */
    public void minKProb(Tensor logits, Tensor ids, Shape seq, int kCount, Tensor scores) {
        double[] lp = new double[seq.rows()];
        HalfRows.Rows x = HalfRows.of(logits, 0, half);
        HalfKernels hk = backendHalf ? HalfRows.softmaxInRegister(logits, half) : null;
        DType type = logits.dtype();
        rows.forEachRow(seq.rows(), seq.vocab(), seq.shareable(), r -> lp[r] = hk != null
                ? hk.tokenLogprob(type, logits.segment(), logits.index(r, 0), seq.vocab(), seq.id(ids, r))
                : scoring.tokenLogprob(x.read(r), x.at(r), seq.vocab(), seq.id(ids, r)));
        meansOfSmallest(lp, seq, kCount, scores);
    }

    /** Min-K%++: the z-score of each position's token, then each sequence's mean of its {@code kCount} smallest. */
    public void minKPlusPlus(Tensor logits, Tensor ids, Shape seq, int kCount, Tensor scores) {
        double[] z = new double[seq.rows()];
        HalfRows.Rows x = HalfRows.of(logits, 0, half);
        rows.forEachRow(seq.rows(), seq.vocab(), seq.shareable(), r -> {
            double[] m = new double[3];
            scoring.tokenLogprobMoments(x.read(r), x.at(r), seq.vocab(), seq.id(ids, r), m);
            double sigma = Math.sqrt(m[2]);
            double diff = m[0] - m[1];
            z[r] = sigma > 0 ? diff / sigma : diff == 0 ? 0 : diff * Double.POSITIVE_INFINITY;
        });
        meansOfSmallest(z, seq, kCount, scores);
    }

    /** DC-PDD: the clipped calibrated probability averaged over each sequence's first occurrences. */
    public void dcpdd(Tensor logits, Tensor ids, Tensor freq, float a, Shape seq, Tensor scores) {
        // First occurrences, found from the ids alone so that no other position costs a pass.
        boolean[] first = new boolean[seq.rows()];
        BitSet seen = new BitSet(seq.vocab());
        for (int q = 0; q < seq.count(); q++) {
            seen.clear();
            for (int t = 0; t < seq.length(); t++) {
                int r = q * seq.length() + t;
                int y = seq.id(ids, r);
                first[r] = !seen.get(y);
                seen.set(y);
            }
        }
        double[] c = new double[seq.rows()];
        HalfRows.Rows x = HalfRows.of(logits, 0, half);
        rows.forEachRow(seq.rows(), seq.vocab(), seq.shareable(), r -> {
            if (first[r]) {
                int y = seq.id(ids, r);
                double p = Math.exp(scoring.tokenLogprob(x.read(r), x.at(r), seq.vocab(), y));
                c[r] = Math.min(p * -Math.log(freq.getFloat(y)), a); // Math.min keeps a NaN
            }
        });
        for (int q = 0; q < seq.count(); q++) {
            double sum = 0;
            int count = 0;
            for (int r = q * seq.length(); r < (q + 1) * seq.length(); r++) {
                if (first[r]) {
                    sum += c[r];
                    count++;
                }
            }
            setScore(scores, q, sum / count);
        }
    }

    /** The likelihood ratio: per sequence, {@code Σ_t ℓ^a_t − ℓ^b_t}. */
    public void likelihoodRatio(Tensor logitsA, Tensor logitsB, Tensor ids, Shape seq, Tensor scores) {
        double[] diff = new double[seq.rows()];
        HalfRows.Rows a = HalfRows.of(logitsA, 0, half);
        HalfRows.Rows b = HalfRows.of(logitsB, 1, half);
        rows.forEachRow(seq.rows(), seq.vocab(), seq.shareable(), r -> {
            int y = seq.id(ids, r);
            diff[r] = scoring.tokenLogprob(a.read(r), a.at(r), seq.vocab(), y)
                    - scoring.tokenLogprob(b.read(r), b.at(r), seq.vocab(), y);
        });
        for (int q = 0; q < seq.count(); q++) {
            double sum = 0;
            for (int r = q * seq.length(); r < (q + 1) * seq.length(); r++) {
                sum += diff[r];
            }
            setScore(scores, q, sum);
        }
    }

    // ---------------------------------------------------------------- packed sequences (given per-position values)

    /**
     * Min-K% Prob of packed sequences: sequence {@code q} is positions {@code [offsets[q], offsets[q+1])} of
     * {@code logprobs}; each one's mean of its {@code max(1, floor(k·T_q))} smallest.
     */
    public static void minKProbPacked(Tensor logprobs, Tensor offsets, float k, Shape seq, Tensor scores) {
        for (int q = 0; q < seq.count(); q++) {
            int from = offsets.getInt(q);
            int to = offsets.getInt(q + 1);
            double[] values = new double[to - from];
            for (int t = from; t < to; t++) {
                values[t - from] = logprobs.getFloat(t);
            }
            setScore(scores, q, meanOfSmallest(values, Checks.kCount(k, to - from)));
        }
    }

    /**
     * Min-K%++ of packed sequences from the per-position {@code ℓ_t}, {@code μ_t} and {@code σ_t²} (as
     * {@link ScoringKernels#tokenLogprobMoments} emits them): {@code z_t} exactly as
     * {@link #minKPlusPlus} forms it, then each sequence's mean of its {@code kCount} smallest.
     */
    public static void minKPlusPlusPacked(Tensor logprobs, Tensor means, Tensor variances, Tensor offsets, float k,
                                          Shape seq, Tensor scores) {
        for (int q = 0; q < seq.count(); q++) {
            int from = offsets.getInt(q);
            int to = offsets.getInt(q + 1);
            double[] z = new double[to - from];
            for (int t = from; t < to; t++) {
                double sigma = Math.sqrt(variances.getFloat(t));
                double diff = (double) logprobs.getFloat(t) - means.getFloat(t);
                z[t - from] = sigma > 0 ? diff / sigma : diff == 0 ? 0 : diff * Double.POSITIVE_INFINITY;
            }
            setScore(scores, q, meanOfSmallest(z, Checks.kCount(k, to - from)));
        }
    }

    /**
     * DC-PDD of packed sequences from the per-position {@code ℓ_t} and token ids: as {@link #dcpdd}, with
     * {@code p_t(y_t) = exp(ℓ_t)}.
     */
    public static void dcpddPacked(Tensor logprobs, Tensor ids, Tensor offsets, Tensor freq, float a, Shape seq,
                                   Tensor scores) {
        BitSet seen = new BitSet((int) freq.cols());
        for (int q = 0; q < seq.count(); q++) {
            seen.clear();
            double sum = 0;
            int count = 0;
            for (int t = offsets.getInt(q); t < offsets.getInt(q + 1); t++) {
                int y = ids.getInt(t);
                if (!seen.get(y)) {
                    seen.set(y);
                    double p = Math.exp(logprobs.getFloat(t));
                    sum += Math.min(p * -Math.log(freq.getFloat(y)), a); // Math.min keeps a NaN
                    count++;
                }
            }
            setScore(scores, q, sum / count);
        }
    }

    /** The likelihood ratio of packed sequences: per sequence, {@code Σ_t ℓ^a_t − ℓ^b_t} in float64. */
    public static void likelihoodRatioPacked(Tensor logprobsA, Tensor logprobsB, Tensor offsets, Shape seq,
                                             Tensor scores) {
        for (int q = 0; q < seq.count(); q++) {
            double sum = 0;
            for (int t = offsets.getInt(q); t < offsets.getInt(q + 1); t++) {
                sum += (double) logprobsA.getFloat(t) - logprobsB.getFloat(t);
            }
            setScore(scores, q, sum);
        }
    }

    private static void meansOfSmallest(double[] values, Shape seq, int kCount, Tensor scores) {
        for (int q = 0; q < seq.count(); q++) {
            setScore(scores, q, meanOfSmallest(Arrays.copyOfRange(values, q * seq.length(), (q + 1) * seq.length()), kCount));
        }
    }

    /** Mean of the {@code k} smallest values (sorts {@code values}); NaN when any value is NaN. */
    private static double meanOfSmallest(double[] values, int k) {
        for (double v : values) {
            if (Double.isNaN(v)) {
                return Double.NaN;
            }
        }
        Arrays.sort(values);
        double sum = 0;
        for (int i = 0; i < k; i++) {
            sum += values[i];
        }
        return sum / k;
    }

    private static void setScore(Tensor scores, int q, double value) {
        scores.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, scores.index(q), (float) value);
    }
}
