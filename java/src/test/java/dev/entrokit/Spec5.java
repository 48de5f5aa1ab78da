package dev.entrokit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The tolerances of SPEC §5, exactly as written there, as assertions of a float32 output against a
 * float64 reference (or against another backend's float32 output).
 *
 * <ul>
 *   <li>probabilities: {@code |out − ref| ≤ 1e-6 + 1e-5·|ref|}</li>
 *   <li>log-softmax, logsumexp: {@code |out − ref| ≤ 1e-5·max(1, |ref|)}</li>
 *   <li>per-row losses: {@code |out − ref| ≤ 1e-5·max(1, |ref|)}</li>
 *   <li>gradients: {@code |out − ref| ≤ 1e-6 + 1e-5·|ref|}</li>
 * </ul>
 *
 * Special values are compared exactly: a NaN reference needs a NaN output, an infinite reference the
 * same infinity. A finite reference beyond the float32 range (e.g. a logsumexp of {@code Float.MAX_VALUE}
 * logits at {@code T < 1}) cannot be represented, so the output must be that value rounded to float32
 * (the infinity of its sign).
 */
public final class Spec5 {
    private Spec5() {
    }

    /** Which tolerance of SPEC §5 applies. */
    public enum Kind {
        PROB, LOG, LOSS, GRAD;

        /** The allowed absolute error for a reference value. */
        public double allowed(double ref) {
            double a = Math.abs(ref);
            return switch (this) {
                case PROB, GRAD -> 1e-6 + 1e-5 * a;
                case LOG, LOSS -> 1e-5 * Math.max(1, a);
            };
        }
    }

    /** Whether {@code out} matches {@code ref} under {@code kind}. */
    public static boolean matches(Kind kind, double out, double ref) {
        if (Double.isNaN(ref)) {
            return Double.isNaN(out);
        }
        if (Double.isInfinite(ref)) {
            return out == ref;
        }
        if (Float.isInfinite((float) ref)) {
            return out == (float) ref;
        }
        if (!Double.isFinite(out)) {
            return false;
        }
        return Math.abs(out - ref) <= kind.allowed(ref);
    }

    /** Asserts one scalar value. */
    public static void check(Kind kind, double out, double ref, String what) {
        if (!matches(kind, out, ref)) {
            fail(String.format("%s: got %s, expected %s (|diff| %.3g > allowed %.3g, %s tolerance of SPEC §5)", what,
                    out, ref, Math.abs(out - ref), kind.allowed(ref), kind));
        }
    }

    /** Asserts {@code n} elements of {@code out} starting at {@code outOff} against {@code ref}. */
    public static void check(Kind kind, float[] out, int outOff, double[] ref, String what) {
        int bad = 0;
        int first = -1;
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < ref.length; i++) {
            double o = out[outOff + i];
            if (!matches(kind, o, ref[i])) {
                bad++;
                if (first < 0) {
                    first = i;
                }
                double excess = Double.isFinite(o) && Double.isFinite(ref[i])
                        ? Math.abs(o - ref[i]) / kind.allowed(ref[i]) : Double.POSITIVE_INFINITY;
                if (worstAt < 0 || excess > worst) {
                    worst = excess;
                    worstAt = i;
                }
            }
        }
        if (bad > 0) {
            fail(String.format("%s: %d of %d elements outside the %s tolerance of SPEC §5; first at %d: got %s, expected %s;"
                            + " worst at %d: got %s, expected %s (%.3g× the allowed error)", what, bad, ref.length, kind,
                    first, out[outOff + first], ref[first], worstAt, out[outOff + worstAt], ref[worstAt], worst));
        }
    }

    /** Asserts a float32 row against another float32 row (e.g. simd against scalar). */
    public static void check(Kind kind, float[] out, int outOff, float[] ref, int refOff, int n, String what) {
        check(kind, out, outOff, Float64Oracle.widen(ref, refOff, n), what);
    }

    /**
     * Asserts a reduced loss {@code Σ_r w·ref_r} (w = 1 for SUM/NONE, 1/count for MEAN/BATCHMEAN): each row may
     * be off by its SPEC §5 loss tolerance, so the reduction may be off by the weighted sum of those.
     */
    public static void checkReduced(double out, double[] rowRefs, double weight, String what) {
        double ref = 0;
        double allowed = 0;
        for (double r : rowRefs) {
            ref += weight * r;
            allowed += Math.abs(weight) * Kind.LOSS.allowed(r);
        }
        if (Double.isNaN(ref) ? !Double.isNaN(out) : Double.isInfinite(ref) ? out != ref
                : !(Math.abs(out - ref) <= allowed)) {
            fail(String.format("%s: reduced loss %s, expected %s (allowed error %.3g)", what, out, ref, allowed));
        }
    }
}
