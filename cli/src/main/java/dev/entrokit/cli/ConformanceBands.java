package dev.entrokit.cli;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The rows of a selection case whose decision SPEC §5 does not hold exact: those where a float64 sum
 * the filter compares with its threshold lies within {@link #BAND} of it, where float32 rounding may
 * legitimately decide either way. Computed here in float64, independently of any backend.
 */
final class ConformanceBands {
    /** SPEC §5's exemption band around a threshold. */
    static final double BAND = 1e-6;

    private ConformanceBands() {
    }

    /** The exempt rows of {@code c}'s selection output, ascending; empty for every other op. */
    static List<Integer> exemptRows(ConformanceCases.Case c) {
        Map<String, String> s = c.settings();
        boolean sampleFiltered = c.op() == EvalOp.SAMPLE && (s.containsKey("top_p") || s.containsKey("min_p"));
        if (c.op() != EvalOp.TOP_P_OP && c.op() != EvalOp.MIN_P_OP && c.op() != EvalOp.TOP_H_OP && !sampleFiltered) {
            return List.of();
        }
        NpyArray.Float32 x = (NpyArray.Float32) c.inputs().get("logits");
        long[] shape = x.shape();
        int v = (int) shape[shape.length - 1];
        int rows = x.data().length / v;
        double t = Double.parseDouble(s.getOrDefault("temperature", "1"));
        List<Integer> exempt = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            double[] p = probabilities(x.data(), r * v, v, t);
            if (p != null && nearThreshold(c.op(), s, p)) {
                exempt.add(r);
            }
        }
        return exempt;
    }

    private static boolean nearThreshold(EvalOp op, Map<String, String> s, double[] p) {
        Integer[] order = order(p);
        return switch (op) {
            case TOP_P_OP -> nearCut(p, order, order.length, Double.parseDouble(s.get("p")));
            case MIN_P_OP -> {
                double threshold = Double.parseDouble(s.get("min_p")) * p[order[0]];
                yield IntStream.range(0, p.length).anyMatch(i -> p[i] > 0 && Math.abs(p[i] - threshold) <= BAND);
            }
            case TOP_H_OP -> {
                int n = Math.min(Integer.parseInt(s.get("n")), p.length);
                double[] h = new double[n];
                double sum = 0;
                for (int m = 0; m < n; m++) {
                    double q = p[order[m]];
                    sum += q > 0 ? -q * Math.log(q) : 0;
                    h[m] = sum;
                }
                double tau = Double.parseDouble(s.get("alpha")) * h[n - 1];
                yield IntStream.range(0, n).anyMatch(m -> Math.abs(h[m] - tau) <= BAND);
            }
            default -> {
                // sample: temperature, then top-k, then top-p on the renormalized survivors (SPEC §2).
                int k = s.containsKey("top_k") ? Math.min(Integer.parseInt(s.get("top_k")), p.length) : p.length;
                double kept = 0;
                for (int m = 0; m < k; m++) {
                    kept += p[order[m]];
                }
                double[] q = new double[p.length];
                for (int m = 0; m < k; m++) {
                    q[order[m]] = p[order[m]] / kept;
                }
                yield s.containsKey("top_p") && nearCut(q, order, k, Double.parseDouble(s.get("top_p")));
            }
        };
    }

    /** Whether a cumulative sum over the first {@code k} of {@code order} lies within the band of {@code cut}. */
    private static boolean nearCut(double[] p, Integer[] order, int k, double cut) {
        double sum = 0;
        for (int m = 0; m < k; m++) {
            sum += p[order[m]];
            if (Math.abs(sum - cut) <= BAND) {
                return true;
            }
        }
        return false;
    }

    /** Indices by probability descending, ties by ascending index (SPEC §2). */
    private static Integer[] order(double[] p) {
        Integer[] idx = IntStream.range(0, p.length).boxed().toArray(Integer[]::new);
        java.util.Arrays.sort(idx, Comparator.<Integer>comparingDouble(i -> -p[i]).thenComparingInt(i -> i));
        return idx;
    }

    /** The float64 softmax of {@code x[from, from + v) / t}; null for the rows SPEC §1 makes NaN. */
    private static double[] probabilities(float[] x, int from, int v, double t) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < v; i++) {
            float e = x[from + i];
            if (Float.isNaN(e) || e == Float.POSITIVE_INFINITY) {
                return null;
            }
            max = Math.max(max, e);
        }
        if (max == Double.NEGATIVE_INFINITY) {
            return null;
        }
        double[] p = new double[v];
        double sum = 0;
        for (int i = 0; i < v; i++) {
            p[i] = Math.exp(((double) x[from + i] - max) / t);
            sum += p[i];
        }
        for (int i = 0; i < v; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
