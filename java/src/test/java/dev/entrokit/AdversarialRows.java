package dev.entrokit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The adversarial rows of the issue (§8) and SPEC §1, each with a name: masked entries, single finite
 * values, ties, huge offsets, values near {@code Float.MAX_VALUE}, and the rows SPEC makes NaN (NaN or
 * {@code +inf} anywhere, all {@code -inf}) with the bad value at the start, middle and end of the row so
 * that vector tails see it too. Needs {@code V ≥ 5}.
 */
public final class AdversarialRows {
    private AdversarialRows() {
    }

    /** One named row. */
    public record Named(String name, float[] row, boolean valid) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static float[] gaussian(SplittableRandom rnd, int v, double scale, double offset) {
        float[] x = new float[v];
        for (int i = 0; i < v; i++) {
            double u = rnd.nextDouble();
            double w = rnd.nextDouble();
            x[i] = (float) (offset + scale * Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * w));
        }
        return x;
    }

    private static float[] filled(int v, float value) {
        float[] x = new float[v];
        Arrays.fill(x, value);
        return x;
    }

    /** Every adversarial row for length {@code v}. */
    public static List<Named> all(int v, long seed) {
        if (v < 5) {
            throw new IllegalArgumentException("V must be at least 5, got " + v);
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Named> rows = new ArrayList<>();
        rows.add(new Named("ordinary", gaussian(rnd, v, 3, 0), true));

        float[] masked = gaussian(rnd, v, 3, 0);
        int maskedCount = 0;
        for (int i = 0; i < v; i++) {
            if (rnd.nextDouble() < 0.3 && maskedCount < v - 1) {
                masked[i] = Float.NEGATIVE_INFINITY;
                maskedCount++;
            }
        }
        if (maskedCount == 0) {
            masked[v - 1] = Float.NEGATIVE_INFINITY;
        }
        rows.add(new Named("30% -inf", masked, true));

        float[] oneLast = filled(v, Float.NEGATIVE_INFINITY);
        oneLast[v - 1] = 2.5f;
        rows.add(new Named("one finite value (last)", oneLast, true));
        float[] oneFirst = filled(v, Float.NEGATIVE_INFINITY);
        oneFirst[0] = -7.25f;
        rows.add(new Named("one finite value (first)", oneFirst, true));

        rows.add(new Named("all equal", filled(v, 3.25f), true));
        rows.add(new Named("all equal, -1e30", filled(v, -1e30f), true));
        rows.add(new Named("all equal, Float.MAX_VALUE", filled(v, Float.MAX_VALUE), true));
        rows.add(new Named("+1e4 offset", gaussian(rnd, v, 1, 1e4), true));
        rows.add(new Named("-1e4 offset", gaussian(rnd, v, 1, -1e4), true));
        float[] mixed = gaussian(rnd, v, 1, 0);
        for (int i = 0; i < v; i++) {
            mixed[i] += i % 2 == 0 ? 1e4f : -1e4f;
        }
        rows.add(new Named("±1e4 alternating", mixed, true));

        float[] maxTies = gaussian(rnd, v, 3, 0);
        maxTies[0] = Float.MAX_VALUE;
        maxTies[v / 2] = Float.MAX_VALUE;
        maxTies[v - 1] = Float.MAX_VALUE;
        rows.add(new Named("three ties at Float.MAX_VALUE", maxTies, true));
        float[] extremes = new float[v];
        for (int i = 0; i < v; i++) {
            extremes[i] = i % 3 == 0 ? -Float.MAX_VALUE : i % 3 == 1 ? Float.MAX_VALUE : 0f;
        }
        rows.add(new Named("±Float.MAX_VALUE and 0", extremes, true));
        float[] nearMax = new float[v];
        for (int i = 0; i < v; i++) {
            nearMax[i] = Math.nextDown(Float.MAX_VALUE) - (float) (i % 4) * Math.ulp(Float.MAX_VALUE);
        }
        rows.add(new Named("a few ulps below Float.MAX_VALUE", nearMax, true));

        float[] ties = new float[v];
        for (int i = 0; i < v; i++) {
            ties[i] = (i % 3 == 0) ? 4f : (i % 3 == 1 ? 1f : -2f);
        }
        rows.add(new Named("ties", ties, true));

        for (String where : new String[] {"first", "middle", "last"}) {
            int at = where.equals("first") ? 0 : where.equals("middle") ? v / 2 : v - 1;
            float[] nan = gaussian(rnd, v, 3, 0);
            nan[at] = Float.NaN;
            rows.add(new Named("NaN " + where, nan, false));
            float[] inf = gaussian(rnd, v, 3, 0);
            inf[at] = Float.POSITIVE_INFINITY;
            rows.add(new Named("+inf " + where, inf, false));
        }
        rows.add(new Named("all -inf", filled(v, Float.NEGATIVE_INFINITY), false));
        float[] both = filled(v, Float.NEGATIVE_INFINITY);
        both[v - 1] = Float.POSITIVE_INFINITY;
        rows.add(new Named("-inf and +inf", both, false));
        float[] nanMasked = filled(v, Float.NEGATIVE_INFINITY);
        nanMasked[v / 2] = Float.NaN;
        rows.add(new Named("NaN among -inf", nanMasked, false));
        rows.add(new Named("all +inf", filled(v, Float.POSITIVE_INFINITY), false));
        return rows;
    }

    /** Stacks the rows into one row-major batch. */
    public static float[] batch(List<Named> rows) {
        return TestLogits.stack(rows.stream().map(Named::row).toArray(float[][]::new));
    }
}
