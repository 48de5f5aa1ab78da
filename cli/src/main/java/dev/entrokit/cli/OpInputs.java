package dev.entrokit.cli;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The arrays given to {@code eval} by name, with the shape checks the ops share.
 *
 * <p>The ops compute in float32 and index in int32, so each input is narrowed here, by name: a
 * finite float64 beyond float32's range (it would become an infinity and NaN the row) or an int64
 * outside int32 is refused with the input, the index and the value. Inputs the library takes as
 * int64 ({@link #INT64_INPUTS}) keep their width.
 */
public record OpInputs(Map<String, NpyArray> arrays) {
    /** Inputs the library takes as 64-bit integers. */
    static final Set<String> INT64_INPUTS = Set.of("seeds");

    /**
     * Narrows every input and checks that its shape can be indexed with ints.
     *
     * @throws UserException naming the input when a value or a dimension does not fit
     */
    public OpInputs {
        Map<String, NpyArray> narrowed = new LinkedHashMap<>();
        arrays.forEach((name, a) -> narrowed.put(name, narrow(name, checkIndexable(name, a))));
        arrays = Map.copyOf(narrowed);
    }

    /**
     * Refuses a shape the ops cannot index: an empty array may have a dimension of 2^31 or more, or
     * rows beyond an int, that a non-empty one could never have.
     */
    private static NpyArray checkIndexable(String name, NpyArray a) {
        long[] shape = a.shape();
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] > Npy.MAX_ELEMENTS) {
                throw new UserException(name + ": dimension " + d + " of shape " + NpyArray.shapeString(shape) + " is "
                        + shape[d] + "; eval takes dimensions up to " + Npy.MAX_ELEMENTS);
            }
        }
        long[] leading = Arrays.copyOf(shape, Math.max(0, shape.length - 1));
        if (Arrays.stream(leading).noneMatch(d -> d == 0)) {
            long rows = 1;
            for (long d : leading) {
                rows *= d; // both factors are below 2^31: no overflow
                if (rows > Npy.MAX_ELEMENTS) {
                    throw new UserException(name + ": shape " + NpyArray.shapeString(shape) + " has more than "
                            + Npy.MAX_ELEMENTS + " rows (the product of all dimensions but the last), more than eval takes");
                }
            }
        }
        return a;
    }

    private static NpyArray narrow(String name, NpyArray a) {
        return switch (a) {
            case NpyArray.Float64 f -> {
                double[] d = f.data();
                float[] out = new float[d.length];
                for (int i = 0; i < d.length; i++) {
                    out[i] = (float) d[i];
                    if (Float.isInfinite(out[i]) && Double.isFinite(d[i])) {
                        throw new UserException(name + ": float64 value " + d[i] + " at " + NpyArray.indexString(i, f.shape())
                                + " is beyond float32's range (|x| <= " + Float.MAX_VALUE + "); eval computes in float32");
                    }
                }
                yield new NpyArray.Float32(f.shape(), out);
            }
            case NpyArray.Int64 l when !INT64_INPUTS.contains(name) -> {
                long[] v = l.data();
                int[] out = new int[v.length];
                for (int i = 0; i < v.length; i++) {
                    out[i] = (int) v[i];
                    if (out[i] != v[i]) {
                        throw new UserException(name + ": int64 value " + v[i] + " at " + NpyArray.indexString(i, l.shape())
                                + " does not fit in int32, which " + name + " is read as");
                    }
                }
                yield new NpyArray.Int32(l.shape(), out);
            }
            default -> a;
        };
    }

    /** Whether input {@code name} was given. */
    public boolean has(String name) {
        return arrays.containsKey(name);
    }

    /** Input {@code name} as rows of float logits. */
    public LogitRows logits(String name) {
        NpyArray a = arrays.get(name);
        if (a == null) {
            throw new UserException("missing input '" + name + "' (give --in " + name + "=FILE.npy)");
        }
        return LogitRows.of(name, a);
    }

    /** Teacher and student logits of identical shape: {@code [0]} the teacher, {@code [1]} the student. */
    public LogitRows[] teacherStudent() {
        LogitRows t = logits("teacher");
        LogitRows s = logits("student");
        if (!Arrays.equals(t.shape(), s.shape())) {
            throw new UserException("teacher: shape " + NpyArray.shapeString(t.shape()) + " does not match student "
                    + NpyArray.shapeString(s.shape()));
        }
        return new LogitRows[] {t, s};
    }

    /**
     * The integer labels for {@code student}: one per row, shaped like the rows ({@code student}'s
     * shape without its last dimension) or flat {@code [R]}.
     */
    public int[] labels(LogitRows student) {
        return integers("labels", student);
    }

    /**
     * Per-row seeds for {@code logits} when a {@code seeds} input is given (one integer per row, shaped
     * like the rows or flat; int32 or the full int64 range), else {@code fallback} for every row.
     */
    public long[] seeds(LogitRows logits, long fallback) {
        long[] seeds = new long[logits.rows()];
        if (has("seeds")) {
            NpyArray given = perRow("seeds", logits);
            for (int r = 0; r < seeds.length; r++) {
                seeds[r] = given.getLong(r);
            }
        } else {
            Arrays.fill(seeds, fallback);
        }
        return seeds;
    }

    /** Token ids for {@code logits}: one per row, shaped like its rows ({@code [..., T]} for {@code [..., T, V]}). */
    public NpyArray.Int32 ids(LogitRows logits) {
        integers("ids", logits);
        NpyArray.Int32 ids = (NpyArray.Int32) arrays.get("ids");
        if (!Arrays.equals(ids.shape(), logits.rowShape())) {
            throw new UserException("ids: shape " + NpyArray.shapeString(ids.shape()) + " does not match the rows of "
                    + logits.name() + " " + NpyArray.shapeString(logits.shape()) + " (expected "
                    + NpyArray.shapeString(logits.rowShape()) + ")");
        }
        return ids;
    }

    /**
     * Float input {@code name} with one value per row of {@code like}, shaped like its rows or flat; null when
     * it was not given.
     */
    public float[] rowFloats(String name, LogitRows like) {
        NpyArray a = arrays.get(name);
        if (a == null) {
            return null;
        }
        if (!(floats(a) instanceof NpyArray.Float32 f)) {
            throw new UserException(name + ": expected floats (<f4, <f8 or <f2), got " + a.descr());
        }
        boolean flat = f.shape().length == 1 && f.shape()[0] == like.rows();
        if (!flat && !Arrays.equals(f.shape(), like.rowShape())) {
            throw new UserException(name + ": shape " + NpyArray.shapeString(f.shape()) + " does not match the "
                    + like.rows() + " rows of " + like.name() + " " + NpyArray.shapeString(like.shape()) + " (expected "
                    + NpyArray.shapeString(like.rowShape()) + ")");
        }
        return f.data();
    }

    /**
     * Input {@code name} with a vector of its own length {@code k} per row of {@code like}: shape {@code [..., k]}
     * where {@code like} is {@code [..., V]}; integers or floats as {@code integers} says.
     */
    public NpyArray rowVectors(String name, LogitRows like, boolean integers) {
        NpyArray a = arrays.get(name);
        if (a == null) {
            throw new UserException("missing input '" + name + "' (give --in " + name + "=FILE.npy)");
        }
        a = integers ? a : floats(a);
        if (integers ? !(a instanceof NpyArray.Int32) : !(a instanceof NpyArray.Float32)) {
            throw new UserException(name + ": expected " + (integers ? "integers (<i4 or <i8)" : "floats (<f4, <f8 or <f2)")
                    + ", got " + a.descr());
        }
        long[] rows = like.rowShape();
        long[] shape = a.shape();
        if (shape.length != rows.length + 1 || !Arrays.equals(Arrays.copyOf(shape, rows.length), rows)) {
            throw new UserException(name + ": shape " + NpyArray.shapeString(shape) + " does not match the rows of "
                    + like.name() + " " + NpyArray.shapeString(like.shape()) + " (expected "
                    + NpyArray.shapeString(rows) + " plus one dimension k)");
        }
        return a;
    }

    /** A half array as float32 (widened exactly) for the inputs eval reads as floats beside the logits; others as they are. */
    static NpyArray floats(NpyArray a) {
        return a instanceof NpyArray.Half h ? new NpyArray.Float32(h.shape(), h.widened()) : a;
    }

    /** Integer input {@code name} with one value per row of {@code student}, shaped like its rows or flat. */
    private int[] integers(String name, LogitRows student) {
        return ((NpyArray.Int32) perRow(name, student)).data();
    }

    /** Integer input {@code name} (int32, or int64 for {@link #INT64_INPUTS}) with one value per row of {@code student}. */
    private NpyArray perRow(String name, LogitRows student) {
        NpyArray labels = arrays.get(name);
        if (labels == null) {
            throw new UserException("missing input '" + name + "' (give --in " + name + "=FILE.npy)");
        }
        if (labels.kind() != NpyArray.Kind.INTEGER) {
            throw new UserException(name + ": expected integers (<i4 or <i8), got " + labels.descr());
        }
        long[] rowShape = student.rowShape();
        boolean flat = labels.shape().length == 1 && labels.shape()[0] == student.rows();
        if (!flat && !Arrays.equals(labels.shape(), rowShape)) {
            throw new UserException(name + ": shape " + NpyArray.shapeString(labels.shape()) + " does not match the "
                    + student.rows() + " rows of " + student.name() + " " + NpyArray.shapeString(student.shape()) + " (expected "
                    + NpyArray.shapeString(rowShape) + ")");
        }
        return labels;
    }
}
