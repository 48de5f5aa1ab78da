package dev.entrokit.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The adversarial rows of the conformance kit, each labelled with its kind: the catalogue the library's
 * own tests use (masked tokens, one live token, ties, ±1e4 offsets, {@code FLT_MAX} ties, the rows SPEC §1
 * makes NaN with the bad value first, in the middle and last), plus near-uniform and one-hot rows, and
 * for two-distribution ops the pairs implementations get wrong (a masked teacher, a token that
 * underflows in both distributions). Every row is drawn from the given generator only, so a seed
 * gives the same bytes on every run.
 */
final class ConformanceRows {
    /** The narrowest row the catalogue is built for: the NaN rows put their bad value at three places. */
    static final int MIN_WIDTH = 5;

    private ConformanceRows() {
    }

    /** One labelled row of logits. */
    record Row(String kind, float[] values) {
    }

    /** One labelled pair of rows: the teacher's and the student's logits. */
    record Pair(String kind, float[] teacher, float[] student) {
    }

    /** Every single-distribution row kind at width {@code v}. */
    static List<Row> logits(int v, SplittableRandom rnd) {
        if (v < MIN_WIDTH) {
            throw new IllegalArgumentException("v: must be >= " + MIN_WIDTH + ", got " + v);
        }
        List<Row> rows = new ArrayList<>();
        rows.add(new Row("ordinary", gaussian(rnd, v, 3, 0)));
        rows.add(new Row("masked tokens (30% -inf)", masked(rnd, gaussian(rnd, v, 3, 0))));
        float[] oneLast = filled(v, Float.NEGATIVE_INFINITY);
        oneLast[v - 1] = 2.5f;
        rows.add(new Row("one live token (last)", oneLast));
        float[] oneFirst = filled(v, Float.NEGATIVE_INFINITY);
        oneFirst[0] = -7.25f;
        rows.add(new Row("one live token (first)", oneFirst));
        rows.add(new Row("all equal", filled(v, 3.25f)));
        rows.add(new Row("all equal at -1e30", filled(v, -1e30f)));
        rows.add(new Row("all equal at FLT_MAX", filled(v, Float.MAX_VALUE)));
        rows.add(new Row("+1e4 offset", gaussian(rnd, v, 1, 1e4)));
        rows.add(new Row("-1e4 offset", gaussian(rnd, v, 1, -1e4)));
        float[] alternating = gaussian(rnd, v, 1, 0);
        for (int i = 0; i < v; i++) {
            alternating[i] += i % 2 == 0 ? 1e4f : -1e4f;
        }
        rows.add(new Row("±1e4 alternating", alternating));
        float[] maxTies = gaussian(rnd, v, 3, 0);
        maxTies[0] = Float.MAX_VALUE;
        maxTies[v / 2] = Float.MAX_VALUE;
        maxTies[v - 1] = Float.MAX_VALUE;
        rows.add(new Row("three FLT_MAX ties", maxTies));
        float[] extremes = new float[v];
        for (int i = 0; i < v; i++) {
            extremes[i] = i % 3 == 0 ? -Float.MAX_VALUE : i % 3 == 1 ? Float.MAX_VALUE : 0f;
        }
        rows.add(new Row("±FLT_MAX and 0", extremes));
        float[] nearMax = new float[v];
        for (int i = 0; i < v; i++) {
            nearMax[i] = Math.nextDown(Float.MAX_VALUE) - (float) (i % 4) * Math.ulp(Float.MAX_VALUE);
        }
        rows.add(new Row("ulps below FLT_MAX", nearMax));
        float[] ties = new float[v];
        for (int i = 0; i < v; i++) {
            ties[i] = i % 3 == 0 ? 4f : i % 3 == 1 ? 1f : -2f;
        }
        rows.add(new Row("ties", ties));
        float[] nearUniform = new float[v];
        for (int i = 0; i < v; i++) {
            nearUniform[i] = (float) (1e-6 * rnd.nextDouble());
        }
        rows.add(new Row("near-uniform", nearUniform));
        float[] oneHot = filled(v, -1e4f);
        oneHot[v / 3] = 0f;
        rows.add(new Row("one-hot", oneHot));
        for (String where : new String[] {"first", "middle", "last"}) {
            int at = where.equals("first") ? 0 : where.equals("middle") ? v / 2 : v - 1;
            float[] nan = gaussian(rnd, v, 3, 0);
            nan[at] = Float.NaN;
            rows.add(new Row("NaN " + where, nan));
            float[] inf = gaussian(rnd, v, 3, 0);
            inf[at] = Float.POSITIVE_INFINITY;
            rows.add(new Row("+inf " + where, inf));
        }
        rows.add(new Row("all -inf", filled(v, Float.NEGATIVE_INFINITY)));
        float[] both = filled(v, Float.NEGATIVE_INFINITY);
        both[v - 1] = Float.POSITIVE_INFINITY;
        rows.add(new Row("-inf and +inf", both));
        float[] nanMasked = filled(v, Float.NEGATIVE_INFINITY);
        nanMasked[v / 2] = Float.NaN;
        rows.add(new Row("NaN among -inf", nanMasked));
        rows.add(new Row("all +inf", filled(v, Float.POSITIVE_INFINITY)));
        return rows;
    }

    /**
     * Teacher/student pairs at width {@code v}: each single-row kind as the teacher against an ordinary
     * student and as the student against an ordinary teacher, then the pairs that only exist together.
     */
    static List<Pair> pairs(int v, SplittableRandom rnd) {
        List<Pair> pairs = new ArrayList<>();
        for (Row r : logits(v, rnd)) {
            pairs.add(new Pair(r.kind().equals("masked tokens (30% -inf)") ? "masked teacher" : "teacher: " + r.kind(),
                    r.values(), gaussian(rnd, v, 3, 0)));
        }
        for (Row r : logits(v, rnd)) {
            pairs.add(new Pair(r.kind().equals("masked tokens (30% -inf)") ? "masked student" : "student: " + r.kind(),
                    gaussian(rnd, v, 3, 0), r.values()));
        }
        float[] t = masked(rnd, gaussian(rnd, v, 3, 0));
        float[] s = gaussian(rnd, v, 3, 0);
        for (int i = 0; i < v; i++) {
            if (t[i] == Float.NEGATIVE_INFINITY) {
                s[i] = Float.NEGATIVE_INFINITY;
            }
        }
        pairs.add(new Pair("both masked at the same tokens", t, s));
        // exp(-200) ≈ 1e-87 is below float32's smallest subnormal: the token's probability is 0 in
        // both, so log((p + q) / 2) is log 0 for an implementation that does not guard it.
        float[] ut = gaussian(rnd, v, 1, 0);
        float[] us = gaussian(rnd, v, 1, 0);
        ut[v / 2] = -200f;
        us[v / 2] = -200f;
        pairs.add(new Pair("a token underflowing in both", ut, us));
        float[] same = gaussian(rnd, v, 3, 0);
        pairs.add(new Pair("identical rows", same, same.clone()));
        pairs.add(new Pair("both +1e4 offset", gaussian(rnd, v, 1, 1e4), gaussian(rnd, v, 1, 1e4)));
        float[] hotT = filled(v, -1e4f);
        float[] hotS = filled(v, -1e4f);
        hotT[0] = 0f;
        hotS[v - 1] = 0f;
        pairs.add(new Pair("one-hot on different tokens", hotT, hotS));
        return pairs;
    }

    /** The rows stacked into one row-major {@code [rows, v]} array. */
    static float[] stack(List<float[]> rows, int v) {
        float[] out = new float[rows.size() * v];
        for (int r = 0; r < rows.size(); r++) {
            System.arraycopy(rows.get(r), 0, out, r * v, v);
        }
        return out;
    }

    private static float[] masked(SplittableRandom rnd, float[] x) {
        int count = 0;
        for (int i = 0; i < x.length; i++) {
            if (rnd.nextDouble() < 0.3 && count < x.length - 1) {
                x[i] = Float.NEGATIVE_INFINITY;
                count++;
            }
        }
        if (count == 0) {
            x[x.length - 1] = Float.NEGATIVE_INFINITY;
        }
        return x;
    }

    static float[] gaussian(SplittableRandom rnd, int v, double scale, double offset) {
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
}
