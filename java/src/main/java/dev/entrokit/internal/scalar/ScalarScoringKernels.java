package dev.entrokit.internal.scalar;

import static dev.entrokit.internal.scalar.ScalarRows.fill;
import static dev.entrokit.internal.scalar.ScalarRows.get;
import static dev.entrokit.internal.scalar.ScalarRows.put;
import static dev.entrokit.internal.scalar.ScalarRows.rowMax;
import static dev.entrokit.internal.scalar.ScalarRows.sumExp;

import dev.entrokit.internal.ScoringKernels;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The reference for the scoring helpers and the α-family, accumulating in float64 and written for
 * clarity; every other backend is tested against it. PLD's sort also serves the SIMD backend.
 */
public final class ScalarScoringKernels implements ScoringKernels {
    @Override
    public double tokenLogprob(MemorySegment x, long xOff, int n, int id) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            return Double.NaN;
        }
        return (get(x, xOff + id) - m) - Math.log(sumExp(x, xOff, n, m, 1.0));
    }

    @Override
    public void tokenLogprobMoments(MemorySegment x, long xOff, int n, int id, double[] out) {
        double m = rowMax(x, xOff, n);
        if (Double.isNaN(m)) {
            Arrays.fill(out, 0, 3, Double.NaN);
            return;
        }
        // With a = x − m: log p = a − log d, so μ = E[a] − log d and σ² = Var[a] = E[a²] − E[a]².
        double d = 0;
        double t1 = 0;
        double t2 = 0;
        for (int i = 0; i < n; i++) {
            double a = get(x, xOff + i) - m;
            if (a != Double.NEGATIVE_INFINITY) { // 0 · log 0 = 0
                double e = Math.exp(a);
                d += e;
                t1 += e * a;
                t2 += e * a * a;
            }
        }
        double logD = Math.log(d);
        double mean = t1 / d;
        out[0] = (get(x, xOff + id) - m) - logD;
        out[1] = mean - logD;
        out[2] = Math.max(0, t2 / d - mean * mean);
    }

    // ---------------------------------------------------------------- decoding-time logit transforms

    @Override
    public void contrastive(MemorySegment x, long xOff, MemorySegment lame, long lameOff, MemorySegment out,
                            long outOff, int n, float lambda, double u, float threshold) {
        if (Double.isNaN(u)) {
            fill(out, outOff, n, Double.NaN);
            return;
        }
        if (!(u >= threshold)) {
            if (out != x || outOff != xOff) {
                for (int i = 0; i < n; i++) {
                    put(out, outOff + i, get(x, xOff + i));
                }
            }
            return;
        }
        if (Double.isNaN(rowMax(lame, lameOff, n))) {
            fill(out, outOff, n, Double.NaN);
            return;
        }
        for (int i = 0; i < n; i++) {
            double xi = get(x, xOff + i);
            double li = get(lame, lameOff + i);
            boolean masked = xi == Double.NEGATIVE_INFINITY || li == Double.NEGATIVE_INFINITY;
            put(out, outOff + i, masked ? Double.NEGATIVE_INFINITY : (1.0 + lambda) * xi - (double) lambda * li);
        }
    }

    @Override
    public void injectPrior(MemorySegment x, long xOff, MemorySegment prior, long priorOff, MemorySegment out,
                            long outOff, int n, float lambda) {
        boolean bad = Double.isNaN(rowMax(x, xOff, n));
        for (int i = 0; i < n && !bad; i++) {
            double p = get(prior, priorOff + i);
            bad = !(p >= 0) || p == Double.POSITIVE_INFINITY;
        }
        if (bad) {
            fill(out, outOff, n, Double.NaN);
            return;
        }
        for (int i = 0; i < n; i++) {
            put(out, outOff + i, get(x, xOff + i) + lambda * Math.log(get(prior, priorOff + i)));
        }
    }
}
