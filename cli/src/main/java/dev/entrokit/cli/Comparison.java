package dev.entrokit.cli;

/**
 * Element-wise agreement of an array with a reference: {@code |a − b| ≤ atol + rtol·|b|}, {@code b}
 * the reference. NaN equals NaN and an infinity equals the same infinity, because backends must
 * reproduce special values exactly (SPEC §1); any other pairing with a special value is a mismatch.
 *
 * @param count        elements compared
 * @param beyond       elements beyond tolerance, special-value mismatches included
 * @param special      mismatches involving NaN or an infinity
 * @param maxAbs       largest {@code |a − b|} over pairs of finite values
 * @param maxAbsAt     flat index of {@code maxAbs}, -1 if none
 * @param maxRel       largest {@code |a − b| / |b|} over finite pairs (infinite when {@code b = 0 ≠ a})
 * @param maxRelAt     flat index of {@code maxRel}, -1 if none
 * @param firstBeyond  flat index of the first element beyond tolerance, -1 if none
 */
public record Comparison(long count, long beyond, long special, double maxAbs, int maxAbsAt, double maxRel,
                         int maxRelAt, int firstBeyond) {

    /** Compares {@code a} with reference {@code b}; the arrays must have the same size. */
    public static Comparison of(NpyArray a, NpyArray b, double rtol, double atol) {
        int n = a.size();
        if (b.size() != n) {
            throw new IllegalArgumentException("sizes differ: " + n + " and " + b.size());
        }
        long beyond = 0;
        long special = 0;
        double maxAbs = 0;
        double maxRel = 0;
        int maxAbsAt = -1;
        int maxRelAt = -1;
        int firstBeyond = -1;
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
                if (firstBeyond < 0) {
                    firstBeyond = i;
                }
            }
        }
        return new Comparison(n, beyond, special, maxAbs, maxAbsAt, maxRel, maxRelAt, firstBeyond);
    }

    /** Whether every element is within tolerance. */
    public boolean within() {
        return beyond == 0;
    }
}
