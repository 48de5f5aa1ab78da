package dev.entrokit.cli;

import java.util.Arrays;

/**
 * An n-dimensional array as a {@code .npy} file holds it: a C-order shape and flat data in one of
 * the three element types the command line deals in. Wider types ({@code <f8}, {@code <i8}) are
 * narrowed by {@link Npy} on the way in.
 */
public sealed interface NpyArray permits NpyArray.Float32, NpyArray.Float64, NpyArray.Int32, NpyArray.Bool {

    /** The dimensions, outermost first; a copy. Empty for a 0-d array (one element). */
    long[] shape();

    /** The {@code descr} this array is written with: {@code <f4}, {@code <i4} or {@code |b1}. */
    String descr();

    /** Number of elements: the product of the shape (1 for a 0-d array). */
    default int size() {
        return Math.toIntExact(Npy.elementCount(shape()));
    }

    /** Element {@code i} in C order as a double (booleans as 0 or 1), for comparisons. */
    double getDouble(int i);

    /** Whether this array holds reals rather than integers or booleans. */
    default boolean isFloat() {
        return this instanceof Float32 || this instanceof Float64;
    }

    /** Float32 data. */
    record Float32(long[] shape, float[] data) implements NpyArray {
        /** Checks that {@code data} has exactly as many elements as {@code shape} says. */
        public Float32 {
            shape = checked(shape, data.length);
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public String descr() {
            return "<f4";
        }

        @Override
        public double getDouble(int i) {
            return data[i];
        }
    }

    /** Float64 data: the outputs that are computed and returned in double (Sinkhorn's). */
    record Float64(long[] shape, double[] data) implements NpyArray {
        /** Checks that {@code data} has exactly as many elements as {@code shape} says. */
        public Float64 {
            shape = checked(shape, data.length);
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public String descr() {
            return "<f8";
        }

        @Override
        public double getDouble(int i) {
            return data[i];
        }
    }

    /** Int32 data (labels, indices, counts). */
    record Int32(long[] shape, int[] data) implements NpyArray {
        /** Checks that {@code data} has exactly as many elements as {@code shape} says. */
        public Int32 {
            shape = checked(shape, data.length);
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public String descr() {
            return "<i4";
        }

        @Override
        public double getDouble(int i) {
            return data[i];
        }
    }

    /** Boolean data (masks). */
    record Bool(long[] shape, boolean[] data) implements NpyArray {
        /** Checks that {@code data} has exactly as many elements as {@code shape} says. */
        public Bool {
            shape = checked(shape, data.length);
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public String descr() {
            return "|b1";
        }

        @Override
        public double getDouble(int i) {
            return data[i] ? 1 : 0;
        }
    }

    /** The shape as NumPy prints it: {@code ()}, {@code (5,)}, {@code (2, 3)}. */
    static String shapeString(long[] shape) {
        if (shape.length == 1) {
            return "(" + shape[0] + ",)";
        }
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        return sb.append(')').toString();
    }

    private static long[] checked(long[] shape, int length) {
        long[] copy = shape.clone();
        if (Npy.elementCount(copy) != length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(copy) + " holds " + Npy.elementCount(copy)
                    + " elements, data has " + length);
        }
        return copy;
    }
}
