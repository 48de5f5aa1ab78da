package dev.entrokit.cli;

import java.util.Arrays;
import java.util.Map;

/** The arrays given to {@code eval} by name, with the shape checks the ops share. */
public record OpInputs(Map<String, NpyArray> arrays) {

    /** Keeps an unmodifiable copy. */
    public OpInputs {
        arrays = Map.copyOf(arrays);
    }

    /** Whether input {@code name} was given. */
    public boolean has(String name) {
        return arrays.containsKey(name);
    }

    /** Input {@code name} as rows of float logits. */
    public Logits logits(String name) {
        NpyArray a = arrays.get(name);
        if (a == null) {
            throw new UserException("missing input '" + name + "' (give --in " + name + "=FILE.npy)");
        }
        return Logits.of(name, a);
    }

    /** Teacher and student logits of identical shape: {@code [0]} the teacher, {@code [1]} the student. */
    public Logits[] teacherStudent() {
        Logits t = logits("teacher");
        Logits s = logits("student");
        if (!Arrays.equals(t.shape(), s.shape())) {
            throw new UserException("teacher: shape " + NpyArray.shapeString(t.shape()) + " does not match student "
                    + NpyArray.shapeString(s.shape()));
        }
        return new Logits[] {t, s};
    }

    /**
     * The integer labels for {@code student}: one per row, shaped like the rows ({@code student}'s
     * shape without its last dimension) or flat {@code [R]}.
     */
    public int[] labels(Logits student) {
        return integers("labels", student);
    }

    /**
     * Per-row seeds for {@code logits} when a {@code seeds} input is given (one integer per row, shaped
     * like the rows or flat; int64 files must hold values that fit 32 bits), else {@code fallback} for every row.
     */
    public long[] seeds(Logits logits, long fallback) {
        long[] seeds = new long[logits.rows()];
        if (has("seeds")) {
            int[] given = integers("seeds", logits);
            for (int r = 0; r < seeds.length; r++) {
                seeds[r] = given[r];
            }
        } else {
            Arrays.fill(seeds, fallback);
        }
        return seeds;
    }

    /** Token ids for {@code logits}: one per row, shaped like its rows ({@code [..., T]} for {@code [..., T, V]}). */
    public NpyArray.Int32 ids(Logits logits) {
        integers("ids", logits);
        NpyArray.Int32 ids = (NpyArray.Int32) arrays.get("ids");
        if (!Arrays.equals(ids.shape(), logits.rowShape())) {
            throw new UserException("ids: shape " + NpyArray.shapeString(ids.shape()) + " does not match the rows of "
                    + logits.name() + " " + NpyArray.shapeString(logits.shape()) + " (expected "
                    + NpyArray.shapeString(logits.rowShape()) + ")");
        }
        return ids;
    }

    /** Integer input {@code name} with one value per row of {@code student}, shaped like its rows or flat. */
    private int[] integers(String name, Logits student) {
        NpyArray a = arrays.get(name);
        if (a == null) {
            throw new UserException("missing input '" + name + "' (give --in " + name + "=FILE.npy)");
        }
        if (!(a instanceof NpyArray.Int32 labels)) {
            throw new UserException(name + ": expected integers (<i4 or <i8), got " + a.descr());
        }
        long[] rowShape = student.rowShape();
        boolean flat = labels.shape().length == 1 && labels.shape()[0] == student.rows();
        if (!flat && !Arrays.equals(labels.shape(), rowShape)) {
            throw new UserException(name + ": shape " + NpyArray.shapeString(labels.shape()) + " does not match the "
                    + student.rows() + " rows of " + student.name() + " " + NpyArray.shapeString(student.shape()) + " (expected "
                    + NpyArray.shapeString(rowShape) + ")");
        }
        return labels.data();
    }
}
