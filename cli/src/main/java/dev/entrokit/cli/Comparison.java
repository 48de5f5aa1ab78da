package dev.entrokit.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * Element-wise agreement of an array with a reference {@code b}.
 *
 * <p>Reals pass when {@code |a − b| ≤ atol + rtol·|b|}; NaN equals NaN and an infinity equals the
 * same infinity, because backends must reproduce special values exactly (SPEC §1); any other pairing
 * with a special value is a mismatch. Integers and booleans (token ids, indices, masks) must be
 * equal: a relative tolerance on ids would pass 128255 against 128256.
 *
 * @param exact        whether the elements were compared for equality (integers, booleans)
 * @param count        elements compared
 * @param beyond       elements that differ (beyond tolerance), special-value mismatches included
 * @param special      mismatches involving NaN or an infinity
 * @param maxAbs       largest {@code |a − b|} over pairs of finite values
 * @param maxAbsAt     flat index of {@code maxAbs}, -1 if none
 * @param maxRel       largest {@code |a − b| / |b|} over finite pairs (infinite when {@code b = 0 ≠ a})
 * @param maxRelAt     flat index of {@code maxRel}, -1 if none
 * @param firstBeyond  flat indices of the first {@link #SHOWN} elements that differ, ascending
 */
public record Comparison(boolean exact, long count, long beyond, long special, double maxAbs, int maxAbsAt,
                         double maxRel, int maxRelAt, List<Integer> firstBeyond) {
    /** How many differing elements a report lists. */
    public static final int SHOWN = 5;

    /** Keeps an unmodifiable copy. */
    public Comparison {
        firstBeyond = List.copyOf(firstBeyond);
    }

    /**
     * Compares {@code a} with reference {@code b}: exactly when both hold integers or booleans, within
     * {@code atol + rtol·|b|} when both hold reals. The arrays must have the same size and kind.
     */
    public static Comparison of(NpyArray a, NpyArray b, double rtol, double atol) {
        int n = a.size();
        if (b.size() != n) {
            throw new IllegalArgumentException("sizes differ: " + n + " and " + b.size());
        }
        if (a.kind() != b.kind()) {
            throw new IllegalArgumentException("kinds differ: " + a.dtypeName() + " and " + b.dtypeName());
        }
        return a.kind() == NpyArray.Kind.FLOAT ? reals(a, b, n, rtol, atol) : exact(a, b, n);
    }

    private static Comparison exact(NpyArray a, NpyArray b, int n) {
        long beyond = 0;
        List<Integer> first = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (a.getLong(i) != b.getLong(i)) {
                beyond++;
                if (first.size() < SHOWN) {
                    first.add(i);
                }
            }
        }
        return new Comparison(true, n, beyond, 0, 0, -1, 0, -1, first);
    }

    private static Comparison reals(NpyArray a, NpyArray b, int n, double rtol, double atol) {
        long beyond = 0;
        long special = 0;
        double maxAbs = 0;
        double maxRel = 0;
        int maxAbsAt = -1;
        int maxRelAt = -1;
        List<Integer> first = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double x = a.getDouble(i);
            double y = b.getDouble(i);
            boolean ok;
            if (!Double.isFinite(x) || !Double.isFinite(y)) {
                ok = Double.compare(x, y) == 0 || (Double.isNaN(x) && Double.isNaN(y));
                if (!ok) {
                    special++;
                }
            } else {
                double d = Math.abs(x - y);
                double rel = d == 0 ? 0 : d / Math.abs(y);
                if (d > maxAbs || maxAbsAt < 0) {
                    maxAbs = d;
                    maxAbsAt = i;
                }
                if (rel > maxRel || maxRelAt < 0) {
                    maxRel = rel;
                    maxRelAt = i;
                }
                ok = d <= atol + rtol * Math.abs(y);
            }
            if (!ok) {
                beyond++;
                if (first.size() < SHOWN) {
                    first.add(i);
                }
            }
        }
        return new Comparison(false, n, beyond, special, maxAbs, maxAbsAt, maxRel, maxRelAt, first);
    }

    /** Whether every element is within tolerance (equal, when {@link #exact}). */
    public boolean within() {
        return beyond == 0;
    }
}
