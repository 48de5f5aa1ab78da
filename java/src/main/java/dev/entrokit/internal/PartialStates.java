package dev.entrokit.internal;

import static dev.entrokit.internal.PartialStateKernels.BAD;
import static dev.entrokit.internal.PartialStateKernels.COUNT;
import static dev.entrokit.internal.PartialStateKernels.D;
import static dev.entrokit.internal.PartialStateKernels.DS;
import static dev.entrokit.internal.PartialStateKernels.FLAGS;
import static dev.entrokit.internal.PartialStateKernels.IGNORED;
import static dev.entrokit.internal.PartialStateKernels.INF_FWD;
import static dev.entrokit.internal.PartialStateKernels.INF_REV;
import static dev.entrokit.internal.PartialStateKernels.K;
import static dev.entrokit.internal.PartialStateKernels.LO;
import static dev.entrokit.internal.PartialStateKernels.LOS;
import static dev.entrokit.internal.PartialStateKernels.M;
import static dev.entrokit.internal.PartialStateKernels.MS;
import static dev.entrokit.internal.PartialStateKernels.TARGET;
import static dev.entrokit.internal.PartialStateKernels.TERMS;
import static dev.entrokit.internal.PartialStateKernels.U;
import static dev.entrokit.internal.PartialStateKernels.V;
import static dev.entrokit.internal.PartialStateKernels.WIDTH;

import dev.entrokit.ShardOp;

/**
 * Merging and finishing the partial-state records of {@link PartialStateKernels}, in float64, the same for
 * every backend. A merge rescales each side's sums from its own maxima to the larger one
 * ({@code f = e^{(m − M)/T}}, shifts {@code δ = (M − m)/T}), so it is associative and commutative in exact
 * arithmetic; in float64 a different grouping changes the last bits only, which is why callers that need
 * bitwise results merge in a fixed order.
 */
public final class PartialStates {
    private PartialStates() {
    }

    /** Writes the identity record (an empty piece) at {@code st[base..]}. */
    public static void identity(double[] st, int base) {
        st[base + COUNT] = 0;
        st[base + FLAGS] = 0;
        st[base + M] = Double.NEGATIVE_INFINITY;
        st[base + D] = 0;
        st[base + U] = 0;
        st[base + MS] = Double.NEGATIVE_INFINITY;
        st[base + DS] = 0;
        st[base + V] = 0;
        st[base + K] = Double.POSITIVE_INFINITY;
        st[base + LO] = Double.NaN;
        st[base + LOS] = Double.NaN;
    }

    private static double factor(double m, double top, double invT) {
        return m == Double.NEGATIVE_INFINITY ? 0 : Math.exp((m - top) * invT);
    }

    private static double lower(double a, double b) {
        return Double.isNaN(a) ? b : Double.isNaN(b) ? a : Math.min(a, b);
    }

    /**
     * Merges the records at {@code a[ia..]} and {@code b[ib..]} into {@code out[io..]}, which may be either of
     * them. Throws {@code IllegalArgumentException} where the two cannot belong to disjoint shards (the label
     * seen twice; JSD terms from different normalizers).
     */
    public static void merge(ShardOp op, float invT, double[] a, int ia, double[] b, int ib, double[] out, int io) {
        int fa = (int) a[ia + FLAGS];
        int fb = (int) b[ib + FLAGS];
        if ((fa & fb & TARGET) != 0) {
            throw new IllegalArgumentException("states: both hold the label's column, so their shards overlap");
        }
        double count = a[ia + COUNT] + b[ib + COUNT];
        int flags = fa | fb;
        if ((flags & TERMS) != 0) {
            if ((fa & TERMS) != (fb & TERMS) && a[ia + COUNT] != 0 && b[ib + COUNT] != 0) {
                throw new IllegalArgumentException("states: JSD terms cannot merge with JSD normalizers");
            }
            double u = a[ia + U] + b[ib + U];
            double v = a[ia + V] + b[ib + V];
            double[] src = a[ia + COUNT] != 0 || b[ib + COUNT] == 0 ? a : b;
            int is = src == a ? ia : ib;
            double m = src[is + M];
            double d = src[is + D];
            double ms = src[is + MS];
            double ds = src[is + DS];
            out[io + COUNT] = count;
            out[io + FLAGS] = flags;
            out[io + M] = m;
            out[io + D] = d;
            out[io + MS] = ms;
            out[io + DS] = ds;
            out[io + U] = u;
            out[io + V] = v;
            out[io + K] = src[is + K];
            out[io + LO] = src[is + LO];
            out[io + LOS] = src[is + LOS];
            return;
        }
        double ma = a[ia + M];
        double mb = b[ib + M];
        double top = Math.max(ma, mb);
        double ea = factor(ma, top, invT);
        double eb = factor(mb, top, invT);
        double shiftA = (top - ma) * invT;
        double shiftB = (top - mb) * invT;
        double d = ea * a[ia + D] + eb * b[ib + D];
        double msa = a[ia + MS];
        double msb = b[ib + MS];
        double topS = Math.max(msa, msb);
        double esa = factor(msa, topS, invT);
        double esb = factor(msb, topS, invT);
        double shiftSA = (topS - msa) * invT;
        double shiftSB = (topS - msb) * invT;
        double ds = esa * a[ia + DS] + esb * b[ib + DS];
        double u;
        double v = 0;
        double k;
        // The argmax that survives: the larger maximum, the lower index on ties (SPEC: ascending index).
        boolean argA = op.pair() ? (msa > msb || (msa == msb && a[ia + K] <= b[ib + K]))
                : (ma > mb || (ma == mb && a[ia + K] <= b[ib + K]));
        k = argA ? a[ia + K] : b[ib + K];
        switch (op) {
            case LOG_SUM_EXP -> u = 0;
            case ENTROPY -> u = shifted(ea, a[ia + U], shiftA, a[ia + D]) + shifted(eb, b[ib + U], shiftB, b[ib + D]);
            case CROSS_ENTROPY_LABELS, TOKEN_LOGPROB -> {
                u = (fa & TARGET) != 0 ? a[ia + U] : (fb & TARGET) != 0 ? b[ib + U] : 0;
                v = sumShifted(a[ia + V], a[ia + COUNT], ma, shiftA) + sumShifted(b[ib + V], b[ib + COUNT], mb, shiftB);
            }
            case CROSS_ENTROPY -> u = live(ma, msa, ea * (a[ia + U] - shiftSA * a[ia + D]))
                    + live(mb, msb, eb * (b[ib + U] - shiftSB * b[ib + D]));
            case KL -> u = live(ma, msa, ea * (a[ia + U] + (shiftSA - shiftA) * a[ia + D]))
                    + live(mb, msb, eb * (b[ib + U] + (shiftSB - shiftB) * b[ib + D]));
            case RKL -> {
                // c is relative to the surviving argmax k: the other side's c moves by
                // (s_k − s_k')/T − (t_k − t_k')/T = −δs − (t_k − t_k')/T.
                double tk = argA ? a[ia + V] : b[ib + V];
                u = live(msa, ma, esa * (a[ia + U] + (-shiftSA - (a[ia + V] - tk) * invT) * a[ia + DS]))
                        + live(msb, mb, esb * (b[ib + U] + (-shiftSB - (b[ib + V] - tk) * invT) * b[ib + DS]));
                v = tk;
            }
            case JSD -> u = 0;
            default -> throw new AssertionError(op);
        }
        out[io + COUNT] = count;
        out[io + FLAGS] = flags;
        out[io + M] = top;
        out[io + D] = d;
        out[io + U] = u;
        out[io + MS] = topS;
        out[io + DS] = ds;
        out[io + V] = v;
        out[io + K] = k;
        out[io + LO] = lower(a[ia + LO], b[ib + LO]);
        out[io + LOS] = lower(a[ia + LOS], b[ib + LOS]);
    }

    /** {@code f·(t − δ·d)}: a sum of {@code e^a·a} moved to a larger maximum; an empty side adds 0. */
    private static double shifted(double f, double t, double shift, double d) {
        return f == 0 ? 0 : f * (t - shift * d);
    }

    /** {@code Σ a} moved to a larger maximum: every element's {@code a} drops by {@code δ}. */
    private static double sumShifted(double sum, double count, double m, double shift) {
        return m == Double.NEGATIVE_INFINITY || count == 0 ? sum : sum - count * shift;
    }

    /** A pair sum, where both sides of the piece have a live token (else its terms are flagged or absent). */
    private static double live(double m, double other, double value) {
        return m == Double.NEGATIVE_INFINITY || other == Double.NEGATIVE_INFINITY ? 0 : value;
    }

    /**
     * The row's value from a merged record: logsumexp, entropy, the loss (hard-label CE, soft CE, KL, RKL, or
     * JSD from its terms, {@code beta} read by JSD only), or the token log-probability; NaN for NaN rows,
     * {@code +inf} where SPEC §1 says so. Unfinished JSD (normalizers only) is refused by the caller.
     */
    public static double finish(ShardOp op, float invT, float beta, float smoothing, long rowLength, double[] st,
                                int base) {
        int flags = (int) st[base + FLAGS];
        if ((flags & IGNORED) != 0) {
            return 0;
        }
        double m = st[base + M];
        double logD = Math.log(st[base + D]);
        if ((flags & BAD) != 0 || m == Double.NEGATIVE_INFINITY
                || (op.pair() && st[base + MS] == Double.NEGATIVE_INFINITY)) {
            return Double.NaN;
        }
        double logDs = Math.log(st[base + DS]);
        return switch (op) {
            case LOG_SUM_EXP -> m * invT + logD;
            case ENTROPY -> logD - st[base + U] / st[base + D];
            case TOKEN_LOGPROB -> (st[base + U] - m) * invT - logD;
            case CROSS_ENTROPY_LABELS -> {
                // ε = 1 drops the label term entirely (0 · inf would be NaN for a masked label).
                double loss = smoothing == 1f ? 0 : (1.0 - smoothing) * (logD - (st[base + U] - m) * invT);
                if (smoothing > 0) {
                    loss += smoothing * (logD - st[base + V] / rowLength);
                }
                yield loss;
            }
            case CROSS_ENTROPY -> (flags & INF_FWD) != 0 ? Double.POSITIVE_INFINITY : logDs - st[base + U] / st[base + D];
            case KL -> (flags & INF_FWD) != 0 ? Double.POSITIVE_INFINITY : st[base + U] / st[base + D] - logD + logDs;
            case RKL -> (flags & INF_REV) != 0 ? Double.POSITIVE_INFINITY
                    : st[base + U] / st[base + DS] + (m - st[base + V]) * invT + logD - logDs;
            case JSD -> beta * st[base + U] + (1.0 - beta) * st[base + V];
        };
    }

    /** Beyond this spread of live logits, in temperature units, SIMD kernels hand a row to the float64 reference. */
    public static final double EXTREME_SPREAD = 1e4;

    /** Whether the merged record's row spreads its live logits (either side of a pair) beyond {@link #EXTREME_SPREAD}. */
    public static boolean extreme(boolean pair, float invT, double[] st, int base) {
        return !((st[base + M] - st[base + LO]) * invT <= EXTREME_SPREAD)
                || (pair && !((st[base + MS] - st[base + LOS]) * invT <= EXTREME_SPREAD));
    }

    /** Copies one record. */
    public static void copy(double[] src, int is, double[] dst, int id) {
        System.arraycopy(src, is, dst, id, WIDTH);
    }
}
