package dev.entrokit.internal.scalar;

import static dev.entrokit.internal.scalar.ScalarRows.fillNaN;
import static dev.entrokit.internal.scalar.ScalarRows.get;
import static dev.entrokit.internal.scalar.ScalarRows.put;
import static dev.entrokit.internal.scalar.ScalarRows.rowMax;
import static dev.entrokit.internal.scalar.ScalarRows.sumExp;

import dev.entrokit.internal.SoftmaxKernels;
import java.lang.foreign.MemorySegment;

/**
 * The softmax family, float64 reference: SPEC §1 written out as plainly as possible, accumulating in
 * float64. Every other backend is tested against this class and {@link ScalarDivergenceKernels}, so
 * clarity wins over speed here.
 *
 * <p>Each row is shifted by its maximum logit {@code m}: {@code a_i = (x_i − m)/T ≤ 0}, so
 * {@code e_i = exp(a_i)} never overflows, {@code d = Σ e_i}, {@code log p_i = a_i − log d}.
 */
public final class ScalarSoftmaxKernels implements SoftmaxKernels {
    @Override
    public double logSumExp(MemorySegment x, long xOff, int n, float invT) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            return Double.NaN;
        }
        return m * invT + Math.log(sumExp(x, xOff, n, m, invT));
    }

    @Override
    public void softmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            fillNaN(out, outOff, n);
            return;
        }
        double d = sumExp(x, xOff, n, m, invT);
        for (int i = 0; i < n; i++) {
            put(out, outOff + i, Math.exp((get(x, xOff + i) - m) * invT) / d);
        }
    }

    @Override
    public void logSoftmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            fillNaN(out, outOff, n);
            return;
        }
        double logD = Math.log(sumExp(x, xOff, n, m, invT));
        for (int i = 0; i < n; i++) {
            put(out, outOff + i, (get(x, xOff + i) - m) * invT - logD);
        }
    }

    @Override
    public void softmaxStats(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT, boolean log,
                             double[] stats) {
        // Statistics first: out may alias x. Each one is the standalone op's own arithmetic, so the fused
        // call agrees with the separate ones bitwise; the scalar backend is the reference, not the fast path.
        double h = entropy(x, xOff, n, invT, null, 0, 0f);
        double lse = logSumExp(x, xOff, n, invT);
        double m = rowMax(x, xOff, n);
        stats[0] = Double.isNaN(h) ? Double.NaN : m;
        stats[1] = Double.isNaN(h) ? Double.NaN : lse;
        stats[2] = h;
        if (log) {
            logSoftmax(x, xOff, out, outOff, n, invT);
        } else {
            softmax(x, xOff, out, outOff, n, invT);
        }
    }

    @Override
    public void softmaxBackward(MemorySegment p, long pOff, MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                                int n, float invT) {
        double dot = 0;
        for (int i = 0; i < n; i++) {
            dot += get(dy, dyOff + i) * get(p, pOff + i);
        }
        for (int i = 0; i < n; i++) {
            put(dx, dxOff + i, get(p, pOff + i) * (get(dy, dyOff + i) - dot) * invT);
        }
    }

    @Override
    public void logSoftmaxBackward(MemorySegment y, long yOff, MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                                   int n, float invT) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += get(dy, dyOff + i);
        }
        for (int i = 0; i < n; i++) {
            put(dx, dxOff + i, (get(dy, dyOff + i) - Math.exp(get(y, yOff + i)) * sum) * invT);
        }
    }

    @Override
    public double entropy(MemorySegment x, long xOff, int n, float invT, MemorySegment grad, long gradOff, float gradScale) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            fillNaN(grad, gradOff, n);
            return Double.NaN;
        }
        double logD = Math.log(sumExp(x, xOff, n, m, invT));
        double h = 0;
        for (int i = 0; i < n; i++) {
            double logP = (get(x, xOff + i) - m) * invT - logD;
            if (logP != Double.NEGATIVE_INFINITY) { // 0 · log 0 = 0
                h -= Math.exp(logP) * logP;
            }
        }
        if (grad != null) {
            double scale = (double) gradScale * invT;
            for (int i = 0; i < n; i++) {
                double logP = (get(x, xOff + i) - m) * invT - logD;
                double g = logP == Double.NEGATIVE_INFINITY ? 0 : -Math.exp(logP) * (logP + h);
                put(grad, gradOff + i, g * scale);
            }
        }
        return h;
    }
}
