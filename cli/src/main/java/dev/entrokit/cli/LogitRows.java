package dev.entrokit.cli;

import dev.entrokit.Tensor;
import java.util.Arrays;

/**
 * A float32 array seen as rows of logits: the last dimension is the vocabulary {@code V}, every
 * leading dimension is flattened into rows. A rank-1 array of length {@code V} is one row, and its
 * per-row outputs then have shape {@code ()}, as NumPy's {@code axis=-1} reductions give.
 *
 * @param name    the input name, for messages
 * @param shape   the full shape, rank at least 1
 * @param data    the values in C order
 */
public record LogitRows(String name, long[] shape, float[] data, NpyArray.Half half) {

    /** Views {@code array} as logits; integer or boolean arrays and 0-d arrays are refused. */
    public static LogitRows of(String name, NpyArray array) {
        if (array instanceof NpyArray.UInt16) {
            throw new UserException(name + ": <u2 holds raw 16-bit patterns; add --set dtype=bf16 to read them as"
                    + " bfloat16");
        }
        if (array.shape().length == 0 && array.kind() == NpyArray.Kind.FLOAT) {
            throw new UserException(name + ": expected at least one dimension (rows of logits), got shape ()");
        }
        if (array instanceof NpyArray.Half h) {
            // The library reads the half tensor itself; data holds the widened values for the CLI's own use.
            return new LogitRows(name, h.shape(), h.widened(), h);
        }
        if (!(array instanceof NpyArray.Float32 f)) {
            throw new UserException(name + ": expected float logits (<f4, <f8, <f2, or <u2 with --set dtype=bf16), got "
                    + array.descr());
        }
        return new LogitRows(name, f.shape(), f.data(), null);
    }

    /** Elements per row. */
    public int cols() {
        return Math.toIntExact(shape[shape.length - 1]);
    }

    /** Number of rows: the product of the leading dimensions. */
    public int rows() {
        return Math.toIntExact(Npy.elementCount(rowShape()));
    }

    /** The shape of a per-row output: every dimension but the last. */
    public long[] rowShape() {
        return Arrays.copyOf(shape, shape.length - 1);
    }

    /** A {@code [rows, cols]} tensor over the data. */
    public Tensor tensor() {
        return half == null ? Tensor.of(data, rows(), cols()) : Tensor.of(half.bits(), half.dtype(), rows(), cols());
    }

    /** A new zeroed array shaped like this one. */
    public NpyArray.Float32 newLike() {
        return new NpyArray.Float32(shape, new float[data.length]);
    }

    /** A new zeroed per-row output. */
    public NpyArray.Float32 newPerRow() {
        return new NpyArray.Float32(rowShape(), new float[rows()]);
    }
}
