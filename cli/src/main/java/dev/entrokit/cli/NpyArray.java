package dev.entrokit.cli;

import dev.entrokit.DType;
import java.util.Arrays;

/**
 * An n-dimensional array as a {@code .npy} file holds it: a C-order shape and flat data in the
 * file's own element type. {@link Npy} never narrows: {@code compare} must see float64 and int64
 * values as they are, and {@code eval} narrows its inputs by name ({@link OpInputs}) so that a value
 * float32 or int32 cannot hold is refused with the input's name.
 */
public sealed interface NpyArray permits NpyArray.Float32, NpyArray.Float64, NpyArray.Int32, NpyArray.Int64,
        NpyArray.Bool, NpyArray.Half, NpyArray.UInt16 {

    /** The kinds of element: values of different kinds are never compared with each other. */
    enum Kind {
        /** {@code <f4}, {@code <f8}, {@code <f2}, and bfloat16 patterns read as such. */
        FLOAT,
        /** {@code <i4}, {@code <i8}, {@code <u2}. */
        INTEGER,
        /** {@code |b1}. */
        BOOL
    }

    /** The dimensions, outermost first; a copy. Empty for a 0-d array (one element). */
    long[] shape();

    /** The {@code descr} this array is written with: {@code <f4}, {@code <f8}, {@code <i4}, {@code <i8} or {@code |b1}. */
    String descr();

    /** The element type in NumPy's words, for messages: {@code float32}, {@code int64}, {@code bool}... */
    default String dtypeName() {
        return switch (this) {
            case Float32 f -> "float32";
            case Float64 f -> "float64";
            case Int32 i -> "int32";
            case Int64 i -> "int64";
            case Bool b -> "bool";
            case Half h -> h.dtype() == DType.F16 ? "float16" : "bfloat16";
            case UInt16 u -> "uint16";
        };
    }

    /** Whether the elements are reals, integers or booleans. */
    default Kind kind() {
        return switch (this) {
            case Float32 f -> Kind.FLOAT;
            case Float64 f -> Kind.FLOAT;
            case Int32 i -> Kind.INTEGER;
            case Int64 i -> Kind.INTEGER;
            case Bool b -> Kind.BOOL;
            case Half h -> Kind.FLOAT;
            case UInt16 u -> Kind.INTEGER;
        };
    }

    /** Number of elements: the product of the shape (1 for a 0-d array). */
    default int size() {
        return Math.toIntExact(Npy.elementCount(shape()));
    }

    /** Element {@code i} in C order as a double (booleans as 0 or 1), for comparisons of reals. */
    double getDouble(int i);

    /**
     * Element {@code i} of an integer or boolean array (booleans as 0 or 1), exactly: int64 values
     * beyond 2^53 are not all doubles, so exact comparisons use this rather than {@link #getDouble}.
     */
    default long getLong(int i) {
        return switch (this) {
            case Int32 a -> a.data()[i];
            case Int64 a -> a.data()[i];
            case Bool a -> a.data()[i] ? 1 : 0;
            case UInt16 a -> a.bits()[i] & 0xffff;
            default -> throw new IllegalStateException("getLong: " + dtypeName() + " elements are not integers");
        };
    }

    /** Element {@code i} as its own type prints it: {@code 0.1} for a float32 0.1, not its double expansion. */
    default String format(int i) {
        return switch (this) {
            case Float32 a -> Float.toString(a.data()[i]);
            case Float64 a -> Double.toString(a.data()[i]);
            case Half a -> Float.toString(a.dtype().widen(a.bits()[i]));
            case Bool a -> a.data()[i] ? "True" : "False";
            default -> Long.toString(getLong(i));
        };
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

    /** Int64 data as the file holds it ({@code eval} takes it as such only where the op does, e.g. seeds). */
    record Int64(long[] shape, long[] data) implements NpyArray {
        /** Checks that {@code data} has exactly as many elements as {@code shape} says. */
        public Int64 {
            shape = checked(shape, data.length);
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public String descr() {
            return "<i8";
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

    /**
     * Half-precision floats as 16-bit patterns: {@code <f2} (IEEE binary16, {@link DType#F16}), or bfloat16
     * ({@link DType#BF16}), which NumPy has no dtype for: read from and written as {@code <u2} raw patterns.
     */
    record Half(long[] shape, short[] bits, DType dtype) implements NpyArray {
        /** Checks the element count and that {@code dtype} is a half type. */
        public Half {
            shape = checked(shape, bits.length);
            if (!dtype.isHalf()) {
                throw new IllegalArgumentException("dtype: " + dtype + " is not BF16 or F16");
            }
        }

        /** {@code values} rounded once to {@code dtype} (nearest, ties to even). */
        static Half rounded(long[] shape, float[] values, DType dtype) {
            short[] bits = new short[values.length];
            for (int i = 0; i < values.length; i++) {
                bits[i] = dtype.narrow(values[i]);
            }
            return new Half(shape, bits, dtype);
        }

        /** The values widened to float32 (exact). */
        float[] widened() {
            float[] out = new float[bits.length];
            for (int i = 0; i < bits.length; i++) {
                out[i] = dtype.widen(bits[i]);
            }
            return out;
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public String descr() {
            return dtype == DType.F16 ? "<f2" : "<u2";
        }

        @Override
        public double getDouble(int i) {
            return dtype.widen(bits[i]);
        }
    }

    /** Unsigned 16-bit integers ({@code <u2}): raw bfloat16 patterns until {@code --set dtype=bf16} says so. */
    record UInt16(long[] shape, short[] bits) implements NpyArray {
        /** Checks that {@code bits} has exactly as many elements as {@code shape} says. */
        public UInt16 {
            shape = checked(shape, bits.length);
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public String descr() {
            return "<u2";
        }

        @Override
        public double getDouble(int i) {
            return bits[i] & 0xffff;
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

    /** The multi-index of flat position {@code flat} in a C-order array of {@code shape}. */
    static long[] unravel(long flat, long[] shape) {
        long[] idx = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = shape[d] == 0 ? 0 : flat % shape[d];
            flat = shape[d] == 0 ? 0 : flat / shape[d];
        }
        return idx;
    }

    /** Flat position {@code flat} as NumPy indexes it, e.g. {@code [1, 2]}, for messages. */
    static String indexString(long flat, long[] shape) {
        return Arrays.toString(unravel(flat, shape));
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
