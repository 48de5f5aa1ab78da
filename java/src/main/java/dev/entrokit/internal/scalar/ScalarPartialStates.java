package dev.entrokit.internal.scalar;

import static dev.entrokit.internal.PartialStateKernels.BAD;
import static dev.entrokit.internal.PartialStateKernels.COUNT;
import static dev.entrokit.internal.PartialStateKernels.D;
import static dev.entrokit.internal.PartialStateKernels.DS;
import static dev.entrokit.internal.PartialStateKernels.FLAGS;
import static dev.entrokit.internal.PartialStateKernels.INF_FWD;
import static dev.entrokit.internal.PartialStateKernels.INF_REV;
import static dev.entrokit.internal.PartialStateKernels.K;
import static dev.entrokit.internal.PartialStateKernels.LO;
import static dev.entrokit.internal.PartialStateKernels.LOS;
import static dev.entrokit.internal.PartialStateKernels.M;
import static dev.entrokit.internal.PartialStateKernels.MS;
import static dev.entrokit.internal.PartialStateKernels.TARGET;
import static dev.entrokit.internal.PartialStateKernels.U;
import static dev.entrokit.internal.PartialStateKernels.V;

import dev.entrokit.ShardOp;
import dev.entrokit.internal.PartialStateKernels;
import dev.entrokit.internal.PartialStates;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The float64 reference of the partial states: the sums of {@link ScalarSoftmaxKernels}, taken over one
 * piece of a row relative to the piece's own maxima, and its output and gradient formulas evaluated with the
 * row's merged maxima and normalizers.
 */
public final class ScalarPartialStates implements PartialStateKernels {
    /** The one instance; it holds no state. */
    public static final ScalarPartialStates INSTANCE = new ScalarPartialStates();

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private static double get(MemorySegment seg, long i) {
        return seg.getAtIndex(F32, i);
    }

    private static void put(MemorySegment seg, long i, double v) {
        seg.setAtIndex(F32, i, (float) v);
    }

    /** {@code acc[0] = max}, {@code acc[1]} its first index (−1 when none is live), {@code acc[2]} the smallest live logit; NaN max for a NaN or {@code +inf} logit. */
    private static void scan(MemorySegment x, long off, int n, double[] acc) {
        double m = Double.NEGATIVE_INFINITY;
        double lo = Double.NaN;
        int k = -1;
        for (int i = 0; i < n; i++) {
            double v = get(x, off + i);
            if (Double.isNaN(v) || v == Double.POSITIVE_INFINITY) {
                acc[0] = Double.NaN;
                return;
            }
            if (v > m) {
                m = v;
                k = i;
            }
            if (v != Double.NEGATIVE_INFINITY && !(v >= lo)) {
                lo = v;
            }
        }
        acc[0] = m;
        acc[1] = k;
        acc[2] = lo;
    }

    @Override
    public void single(MemorySegment x, long off, int n, long globalOffset, float invT, boolean entropy, int label,
                       boolean sumShifted, double[] st, int base) {
        PartialStates.identity(st, base);
        st[base + COUNT] = n;
        double[] acc = new double[3];
        scan(x, off, n, acc);
        double m = acc[0];
        if (Double.isNaN(m)) {
            st[base + FLAGS] = BAD;
            return;
        }
        int flags = 0;
        if (label >= 0) {
            st[base + U] = get(x, off + label);
            flags |= TARGET;
        }
        st[base + FLAGS] = flags;
        if (sumShifted) {
            st[base + V] = n == 0 ? 0 : Double.NEGATIVE_INFINITY;
        }
        if (m == Double.NEGATIVE_INFINITY) {
            return; // an empty or all-masked piece adds nothing but its count (and its masked Σ a)
        }
        st[base + M] = m;
        st[base + LO] = acc[2];
        st[base + K] = globalOffset + (long) acc[1];
        double d = 0;
        double t = 0;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double xi = get(x, off + i);
            double a = (xi - m) * invT;
            double e = Math.exp(a);
            d += e;
            if (entropy && xi != Double.NEGATIVE_INFINITY) { // 0 · log 0 = 0
                t += e * a;
            }
            sum += a;
        }
        st[base + D] = d;
        if (entropy) {
            st[base + U] = t;
        }
        if (sumShifted) {
            st[base + V] = sum;
        }
    }

    @Override
    public void pair(ShardOp op, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, long globalOffset,
                     float invT, double[] st, int base) {
        PartialStates.identity(st, base);
        st[base + COUNT] = n;
        double[] acc = new double[3];
        scan(t, tOff, n, acc);
        double mt = acc[0];
        double lot = acc[2];
        scan(s, sOff, n, acc);
        double ms = acc[0];
        if (Double.isNaN(mt) || Double.isNaN(ms)) {
            st[base + FLAGS] = BAD;
            return;
        }
        int k = (int) acc[1];
        st[base + M] = mt;
        st[base + MS] = ms;
        st[base + LO] = lot;
        st[base + LOS] = acc[2];
        int flags = 0;
        double dt = 0;
        double ds = 0;
        double u = 0;
        double sk = k < 0 ? 0 : get(s, sOff + k);
        double tk = k < 0 ? 0 : get(t, tOff + k);
        for (int i = 0; i < n; i++) {
            double ti = get(t, tOff + i);
            double si = get(s, sOff + i);
            double a = (ti - mt) * invT;
            double b = (si - ms) * invT;
            if (mt != Double.NEGATIVE_INFINITY) {
                dt += Math.exp(a);
            }
            if (ms != Double.NEGATIVE_INFINITY) {
                ds += Math.exp(b);
            }
            switch (op) {
                case KL, CROSS_ENTROPY -> {
                    if (ti == Double.NEGATIVE_INFINITY) {
                        continue;
                    }
                    if (si == Double.NEGATIVE_INFINITY) {
                        flags |= INF_FWD;
                        continue;
                    }
                    u += op == ShardOp.KL ? Math.exp(a) * (a - b) : Math.exp(a) * b;
                }
                case RKL -> {
                    if (si == Double.NEGATIVE_INFINITY) {
                        continue;
                    }
                    if (ti == Double.NEGATIVE_INFINITY) {
                        flags |= INF_REV;
                        continue;
                    }
                    // c from logit differences relative to the student's argmax: nothing large cancels (SPEC §1).
                    u += Math.exp(b) * ((si - sk) * invT - (ti - tk) * invT);
                }
                default -> {
                }
            }
        }
        st[base + FLAGS] = flags;
        st[base + D] = dt;
        st[base + DS] = ds;
        st[base + U] = u;
        if (k >= 0) {
            st[base + K] = globalOffset + k;
            if (op == ShardOp.RKL) {
                st[base + V] = tk;
            }
        }
    }

    @Override
    public void jsdTerms(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta,
                         double mt, double logDt, double ms, double logDs, boolean extreme, double[] out) {
        double b = beta;
        double logB = Math.log(b);
        double log1mB = Math.log1p(-b);
        double towardP = 0;
        double towardQ = 0;
        for (int i = 0; i < n; i++) {
            double logP = (get(t, tOff + i) - mt) * invT - logDt;
            double logQ = (get(s, sOff + i) - ms) * invT - logDs;
            double p = Math.exp(logP);
            double q = Math.exp(logQ);
            double logM = ScalarDivergenceKernels.logAddExp(logB + logP, log1mB + logQ);
            if (p > 0) {
                towardP += p * (logP - logM);
            }
            if (q > 0) {
                towardQ += q * (logQ - logM);
            }
        }
        out[0] = towardP;
        out[1] = towardQ;
    }

    /** The reference keeps nothing: phase 2 writes every probability from {@code x}. */
    @Override
    public boolean expStats(MemorySegment x, long off, int n, long globalOffset, float invT, MemorySegment out,
                            long outOff, double[] st, int base) {
        single(x, off, n, globalOffset, invT, false, -1, false, st, base);
        return false;
    }

    @Override
    public void scale(MemorySegment out, long off, int n, double factor) {
        for (int i = 0; i < n; i++) {
            put(out, off + i, get(out, off + i) * factor);
        }
    }

    @Override
    public void softmax(MemorySegment x, long off, int n, float invT, double m, double logD, MemorySegment out,
                        long outOff) {
        for (int i = 0; i < n; i++) {
            put(out, outOff + i, Math.exp((get(x, off + i) - m) * invT - logD));
        }
    }

    @Override
    public void logSoftmax(MemorySegment x, long off, int n, float invT, double m, double logD, MemorySegment out,
                           long outOff) {
        for (int i = 0; i < n; i++) {
            put(out, outOff + i, (get(x, off + i) - m) * invT - logD);
        }
    }

    @Override
    public void entropyGrad(MemorySegment x, long off, int n, float invT, double m, double logD, double h,
                            boolean extreme, MemorySegment grad, long gOff, float gradScale) {
        double scale = (double) gradScale * invT;
        for (int i = 0; i < n; i++) {
            double logP = (get(x, off + i) - m) * invT - logD;
            double g = logP == Double.NEGATIVE_INFINITY ? 0 : -Math.exp(logP) * (logP + h);
            put(grad, gOff + i, g * scale);
        }
    }

    @Override
    public void labelGrad(MemorySegment s, long off, int n, float invT, double m, double logD, int label,
                          float smoothing, long rowLength, boolean extreme, MemorySegment grad, long gOff,
                          float gradScale) {
        double scale = (double) gradScale * invT;
        double uniform = (double) smoothing / rowLength;
        for (int i = 0; i < n; i++) {
            double q = Math.exp((get(s, off + i) - m) * invT - logD);
            double target = uniform + (i == label ? 1.0 - smoothing : 0.0);
            put(grad, gOff + i, (q - target) * scale);
        }
    }

    @Override
    public void qMinusP(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, double mt,
                        double logDt, double ms, double logDs, boolean extreme, MemorySegment grad, long gOff,
                        float gradScale) {
        double scale = (double) gradScale * invT;
        for (int i = 0; i < n; i++) {
            double p = Math.exp((get(t, tOff + i) - mt) * invT - logDt);
            double q = Math.exp((get(s, sOff + i) - ms) * invT - logDs);
            put(grad, gOff + i, (q - p) * scale);
        }
    }

    @Override
    public void rklGrad(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, double ms,
                        double logDs, double tk, double mean, boolean extreme, MemorySegment grad, long gOff,
                        float gradScale) {
        double scale = (double) gradScale * invT;
        for (int i = 0; i < n; i++) {
            double logQ = (get(s, sOff + i) - ms) * invT - logDs;
            double c = (get(s, sOff + i) - ms) * invT - (get(t, tOff + i) - tk) * invT;
            double g = logQ == Double.NEGATIVE_INFINITY ? 0 : Math.exp(logQ) * (c - mean);
            put(grad, gOff + i, g * scale);
        }
    }

    @Override
    public void jsdGrad(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta,
                        double mt, double logDt, double ms, double logDs, double towardQ, boolean extreme,
                        MemorySegment grad, long gOff, float gradScale) {
        double b = beta;
        double logB = Math.log(b);
        double log1mB = Math.log1p(-b);
        double scale = (double) gradScale * invT * (1 - b);
        for (int i = 0; i < n; i++) {
            double logP = (get(t, tOff + i) - mt) * invT - logDt;
            double logQ = (get(s, sOff + i) - ms) * invT - logDs;
            double q = Math.exp(logQ);
            double logM = ScalarDivergenceKernels.logAddExp(logB + logP, log1mB + logQ);
            double g = q > 0 ? q * (logQ - logM - towardQ) : 0;
            put(grad, gOff + i, g * scale);
        }
    }
}
