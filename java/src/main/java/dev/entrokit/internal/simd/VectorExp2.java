package dev.entrokit.internal.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * {@code 2^x} for {@code x ≤ 127}, with the log2e factor folded into the caller's scaling, so one FMA
 * makes the argument and no {@code ln 2} range reduction is needed: {@code n = round(x)},
 * {@code r = x − n ∈ [−½, ½]} (exact), Cephes' {@code exp2f} polynomial {@code 1 + r·P(r)} (degree 6,
 * at most 2 ulp on [−115, 100], see its test), and {@code 2^n} written into the exponent bits.
 *
 * <p>{@code x} below {@link #LOW} counts as {@code LOW}: the result is then {@code 2^−115 ≈ 2.4e-35}, not
 * 0. Callers sum such terms next to terms of order 1 (or check that the sum is not tiny), so the
 * difference never shows, and skipping the blend to 0 saves two operations in the hottest loop. Where an exp is
 * stored, or a sum must be exactly 0 on a row whose every token is masked, {@link #exp2OrZero} blends those lanes
 * to 0 on the mask it computes anyway (one more operation: KL 0.846 against 0.830 ns/pair with the floored form,
 * log-sum-exp 0.477 against 0.441 ns/element, one thread, within the runs' spread).
 * NaN gives NaN (the polynomial carries it), which the mass passes rely on to find a NaN row.
 */
final class VectorExp2 {
    /** Above the float denormals (2^−126), so the products stay normal and fast. */
    static final float LOW = -115f;
    /** 1.5·2^23 + 127: adding it rounds to an integer {@code n} and leaves {@code n + 127} in the low bits. */
    private static final float ROUND_BIASED = 12582912f + 127f;
    private static final float P0 = 1.535336188319500e-4f;
    private static final float P1 = 1.339887440266574e-3f;
    private static final float P2 = 9.618437357674640e-3f;
    private static final float P3 = 5.550332471162809e-2f;
    private static final float P4 = 2.402264791363012e-1f;
    private static final float P5 = 6.931472028550421e-1f;

    private VectorExp2() {
    }

    private static final double LOG2E = 1.4426950408889634;
    /**
     * {@code ln 2}: a sum {@code Σ e_i·y_i} over arguments in log2 units is {@code log2 e} times the same sum in nats,
     * so kernels that add such terms in float lanes multiply the double total by this once (a rounding of 1e-16,
     * far below the 1e-7 the float argument already carries).
     */
    static final double LN2 = 0.6931471805599453;

    /**
     * {@code 2·log2(e)/t} rounded to a float (at most {@code Float.MAX_VALUE}): the scale {@link #log2Units} applies
     * to half the logit difference. Positive wherever {@code (float) (2/t)} is, since {@code log2 e > 1}.
     */
    static float log2Scale(double t) {
        return (float) Math.min(2 * LOG2E / t, Float.MAX_VALUE);
    }

    /**
     * {@link #log2Scale} from the {@code 2/T} the kernels already hold ({@code 2f·invT}, exact unless it overflowed):
     * {@code log2 e·twoInvT} in double is {@code 2·log2 e/T} there, and an infinite {@code twoInvT} gives
     * {@code Float.MAX_VALUE} as {@link #log2Scale} does.
     */
    static float log2ScaleOfTwoInvT(float twoInvT) {
        return (float) Math.min(LOG2E * twoInvT, Float.MAX_VALUE);
    }

    /**
     * {@code y = (x − m)·log2(e)/t}, so that {@code e^{(x − m)/t} = 2^y}, as {@code fma(x, ½, −m/2)·scale} with
     * {@code scale = }{@link #log2Scale}{@code (t)}: halving first keeps {@code x − m} finite for any two floats (a
     * plain {@code (x − m)·log2e/t} turned a spread past {@code Float.MAX_VALUE} into {@code −inf}, a weight of 2^−115
     * where T ≈ 1e38 gives it a real one). Passes that only add exps use {@link #exp2}, whose argument needs no
     * {@code ln 2} reduction: 9 multiply-adds per vector instead of {@link VectorExp}'s 13 with the same shift (a
     * mass pass went from 0.34 to 0.26 ns/element, one thread, 32 × 128256). The float scale is off by up to 2^−24 of
     * itself, as the {@code 2/t} of that shift is: about 1e-7 of the row's mass for the flattest rows. A masked
     * token ({@code −inf}) gives {@code −inf}, which {@link #atLeastLow} turns into a term of 2^−115.
     */
    static FloatVector log2Units(FloatVector v, float max, float scale) {
        return v.fma(0.5f, -0.5f * max).mul(scale);
    }

    static FloatVector exp2(FloatVector x) {
        return exp2AtLeastLow(atLeastLow(x));
    }

    /**
     * {@link #exp2} with the lanes below {@link #LOW} (a masked {@code −inf} among them) exactly 0, as
     * {@link VectorExp#expNonPositive} gives below its own threshold ({@code 2^−115 ≈ e^−79.7}): for exps that are
     * stored (probabilities, gradients) or summed where an empty row must still sum to 0 (a row whose every token is
     * masked is recognized by {@code d = 0}). One more blend than {@link #exp2}, on the mask it already computes.
     */
    static FloatVector exp2OrZero(FloatVector x) {
        VectorMask<Float> low = x.compare(VectorOperators.LT, LOW);
        return exp2AtLeastLow(x.blend(LOW, low)).blend(0f, low);
    }

    /** {@code x}, with the lanes below {@link #LOW} (and {@code −inf}) set to {@code LOW}; NaN stays NaN. */
    static FloatVector atLeastLow(FloatVector x) {
        return x.blend(LOW, x.compare(VectorOperators.LT, LOW));
    }

    /** {@link #exp2} of an {@code x} already {@link #atLeastLow}, for callers that reuse the clamped argument. */
    static FloatVector exp2AtLeastLow(FloatVector x) {
        FloatVector t = x.add(ROUND_BIASED);
        FloatVector r = x.sub(t.sub(ROUND_BIASED));
        FloatVector p = r.fma(P0, P1);
        p = p.fma(r, FloatVector.broadcast(SimdConstants.F, P2));
        p = p.fma(r, FloatVector.broadcast(SimdConstants.F, P3));
        p = p.fma(r, FloatVector.broadcast(SimdConstants.F, P4));
        p = p.fma(r, FloatVector.broadcast(SimdConstants.F, P5));
        p = p.fma(r, FloatVector.broadcast(SimdConstants.F, 1f));
        FloatVector scale = t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale);
    }
}
