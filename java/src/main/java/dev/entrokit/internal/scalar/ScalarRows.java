package dev.entrokit.internal.scalar;

import static dev.entrokit.internal.scalar.ScalarRows.rowMax;
import static dev.entrokit.internal.scalar.ScalarRows.sumExp;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Element access and the row maximum and normalizer shared by the scalar reference families.
 */
final class ScalarRows {

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private ScalarRows() {
    }


    static double get(MemorySegment seg, long i) {
        return seg.getAtIndex(F32, i);
    }

    static void put(MemorySegment seg, long i, double v) {
        seg.setAtIndex(F32, i, (float) v);
    }

    /** The row's maximum, or NaN when SPEC §1 makes the whole row NaN (a NaN, a +inf, or all -inf). */
    static double rowMax(MemorySegment x, long off, int n) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            double v = get(x, off + i);
            if (Double.isNaN(v) || v == Double.POSITIVE_INFINITY) {
                return Double.NaN;
            }
            m = Math.max(m, v);
        }
        return m == Double.NEGATIVE_INFINITY ? Double.NaN : m;
    }

    /** {@code d = Σ exp((x_i − m)/T)}. */
    static double sumExp(MemorySegment x, long off, int n, double m, double invT) {
        double d = 0;
        for (int i = 0; i < n; i++) {
            d += Math.exp((get(x, off + i) - m) * invT);
        }
        return d;
    }

    static void fillNaN(MemorySegment out, long off, int n) {
        if (out != null) {
            for (int i = 0; i < n; i++) {
                put(out, off + i, Double.NaN);
            }
        }
    }

    static void fill(MemorySegment out, long off, int n, double v) {
        if (out != null) {
            for (int i = 0; i < n; i++) {
                put(out, off + i, v);
            }
        }
    }
}
