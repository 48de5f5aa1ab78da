package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.VectorExp.expNonPositive;
import static dev.entrokit.internal.simd.VectorExp2.atLeastLow;
import static dev.entrokit.internal.simd.VectorExp2.exp2;
import static dev.entrokit.internal.simd.VectorExp2.exp2AtLeastLow;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The row passes of {@link SimdDecoding} (the pipelines with an entropy-shaped step) on a row of bfloat16 elements
 * widened in registers as they are loaded ({@link HalfVectors#fromBf16}: a shift, exact). Each method is its
 * {@link SimdDecoding} namesake with the load replaced: same loop structure, same blocks, same order of float
 * additions, so its results are bitwise those of the namesake on the row widened to float32. Results go into the
 * caller's {@code stats} array, as the namesakes leave them in theirs.
 *
 * <p>Measured through the façade ({@code HalfOpsProbe}, one thread, thread CPU time, 32 × 128256, the base build and
 * this one alternated twice): bfloat16 rows read here run the entropy-shaped pipelines at 1.03–1.17× float32's
 * elements per second (typical 1.08–1.11×, ε 1.07–1.10×, η 1.03–1.10×, top-nσ 1.00–1.15×, Mirostat 1.12×, dynamic
 * temperature → min-p 1.04–1.17×, top-k → XTC 1.10–1.36×), where the widened copy gave 0.89–1.08×.
 *
 * <p>bfloat16 only. binary16 twins of these loops (the same methods with {@link HalfVectors#fromF16}: 6–7 vector
 * operations per load) measured slower than widening the row once, in every exp pass: f16 against f32 in the same
 * runs, copy → registers, typical 0.76–0.79× → 0.59–0.60× (and its loop boxed its vectors, 776 KB per call), ε
 * 0.74–0.78× → 0.70–0.71×, η 0.75–0.78× → 0.67–0.69×, top-nσ 0.71–0.75× → 0.57–0.58×, maskLogits η 0.83–0.84× →
 * 0.74–0.75×, sampleConstrained typical 0.76–0.77× → 0.50–0.57×; only top-k → XTC, whose passes after the row
 * maximum are the ranking's, was not slower (0.59–0.72× → 0.69–0.78×). So binary16 rows keep the copy, and the twins
 * were not kept. One element type per loop, one hot loop per method (see {@link HalfSelectionPasses}).
 */
final class HalfDecodingPasses {
    private static final double LN2 = 0.6931471805599453;

    private HalfDecodingPasses() {
    }

    private static float at(MemorySegment x, long i) {
        return HalfSelectionPasses.at(x, i);
    }

    /** {@code RowPasses.max}: the row maximum, ignoring NaN ({@link SimdHalfKernels#max}: on the row's keys). */
    static float max(MemorySegment x, long off, int n) {
        return SimdHalfKernels.max(true, x, off, n);
    }

    /** {@code SimdDecoding.masses}: count, {@code Σ w}, {@code Σ w·z} into {@code stats[0..2]}. */
    static void masses(MemorySegment x, long off, int n, float max, double t, double[] stats) {
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
                FloatVector v = HalfVectors.loadBf16(x, off + i);
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
            float v = at(x, off + i);
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
    }

    /** {@code SimdDecoding.typicalMasses}: {@link #masses} and {@code Σ w·z²} in {@code stats[3]}. */
    static void typicalMasses(MemorySegment x, long off, int n, float max, double t, double[] stats) {
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
                FloatVector v = HalfVectors.loadBf16(x, off + i);
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
            float v = at(x, off + i);
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
    }

    /** {@code SimdDecoding.mass}: count and {@code Σ w} into {@code stats[0..1]}, 0 in {@code stats[2]}. */
    static void mass(MemorySegment x, long off, int n, float max, double t, double[] stats) {
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
                FloatVector v = HalfVectors.loadBf16(x, off + i);
                accW = accW.add(exp2(VectorExp2.log2Units(v, max, c)));
                in += v.compare(VectorOperators.NE, Float.NEGATIVE_INFINITY).trueCount();
            }
            count += in;
            mass += SimdRows.sumLanes(accW, lanes);
        }
        for (int i = upper; i < n; i++) {
            float v = at(x, off + i);
            if (v != Float.NEGATIVE_INFINITY) {
                count++;
                mass += Math.exp(((double) v - max) / t);
            }
        }
        stats[0] = count;
        stats[1] = mass;
        stats[2] = 0;
    }

    /** {@code SimdDecoding.moments}: count and {@code Σ d} into {@code stats[0..1]}; no exp. */
    static void moments(MemorySegment x, long off, int n, float max, double[] stats) {
        float[] lanes = Workspace.get().lanes;
        double count = 0;
        double sum = 0;
        int upper = F.loopBound(n);
        for (int start = 0, end; start < upper; start = end) {
            end = Math.min(upper, start + SimdConstants.BLOCK);
            FloatVector accD = FloatVector.zero(F);
            int in = 0;
            for (int i = start; i < end; i += L) {
                FloatVector v = HalfVectors.loadBf16(x, off + i);
                VectorMask<Float> m = v.compare(VectorOperators.NE, Float.NEGATIVE_INFINITY);
                accD = accD.add(v.sub(max), m);
                in += m.trueCount();
            }
            count += in;
            sum += SimdRows.sumLanes(accD, lanes);
        }
        for (int i = upper; i < n; i++) {
            float v = at(x, off + i);
            if (v != Float.NEGATIVE_INFINITY) {
                count++;
                sum += (double) v - max;
            }
        }
        stats[0] = count;
        stats[1] = sum;
    }

    /** {@code SimdDecoding.squares}: {@code Σ (d − mean)²} over the live tokens; no exp. */
    static double squares(MemorySegment x, long off, int n, float max, double mean) {
        float center = (float) (max + mean);
        float[] lanes = Workspace.get().lanes;
        double sq = 0;
        int upper = F.loopBound(n);
        for (int start = 0, end; start < upper; start = end) {
            end = Math.min(upper, start + SimdConstants.BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (int i = start; i < end; i += L) {
                FloatVector v = HalfVectors.loadBf16(x, off + i);
                FloatVector c = v.sub(center);
                acc = acc.add(c.mul(c), v.compare(VectorOperators.NE, Float.NEGATIVE_INFINITY));
            }
            sq += SimdRows.sumLanes(acc, lanes);
        }
        for (int i = upper; i < n; i++) {
            float v = at(x, off + i);
            if (v != Float.NEGATIVE_INFINITY) {
                double c = (double) v - max - mean;
                sq += c * c;
            }
        }
        return sq;
    }

    /**
     * {@code SimdDecoding.bands}: for three radii, the mass ({@code out[k]}) and count ({@code out[bands + k]}) of the
     * live tokens in the band; {@code c} and {@code r0..r2} in log2 units, as there. {@code out} is zeroed by the
     * caller.
     */
    static void bands(MemorySegment x, long off, int n, float max, double t, float c, float r0, float r1, float r2,
                      double center, double[] radii, int bands, double[] out) {
        float scale = VectorExp2.log2Scale(t);
        float[] lanes = Workspace.get().lanes;
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
                FloatVector v = HalfVectors.loadBf16(x, off + i);
                FloatVector y = VectorExp2.log2Units(v, max, scale);
                FloatVector w = exp2(y);
                FloatVector dz = y.sub(c).abs();
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
            out[bands] += n0;
            out[bands + 1] += n1;
            out[bands + 2] += n2;
        }
        for (int i = upper; i < n; i++) {
            float v = at(x, off + i);
            if (v != Float.NEGATIVE_INFINITY) {
                double z = ((double) v - max) / t;
                double dz = Math.abs(z - center);
                for (int k = 0; k < bands; k++) {
                    if (dz <= radii[k]) {
                        out[k] += Math.exp(z);
                        out[bands + k]++;
                    }
                }
            }
        }
    }

    /** {@code SimdDecoding.sums}: count, {@code Σ w}, {@code Σ w·d/t}, {@code Σ d}, {@code Σ (d − shift)²} into {@code stats[0..4]}. */
    static void sums(MemorySegment x, long off, int n, float max, double t, float lo, float below, double shift,
                     double[] stats) {
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
                FloatVector v = HalfVectors.loadBf16(x, off + i);
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
            float v = at(x, off + i);
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
    }
}
