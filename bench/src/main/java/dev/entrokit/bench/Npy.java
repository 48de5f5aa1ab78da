package dev.entrokit.bench;

import dev.entrokit.cli.NpyArray;
import dev.entrokit.cli.UserException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The benchmarks' view of the one {@code .npy} codec, the CLI's ({@link dev.entrokit.cli.Npy}): flat arrays
 * of a known length in and out, and a missing, malformed or mis-shaped file as an {@link IOException}, which
 * is how the workloads report an input they cannot use.
 */
final class Npy {
    private Npy() {
    }

    /** Writes a {@code <f4} array of {@code shape}; its element count must be {@code data.length}. */
    static void writeFloats(Path file, float[] data, long... shape) throws IOException {
        write(file, new NpyArray.Float32(shape, data));
    }

    /** Writes a {@code <i4} array of {@code shape}; its element count must be {@code data.length}. */
    static void writeInts(Path file, int[] data, long... shape) throws IOException {
        write(file, new NpyArray.Int32(shape, data));
    }

    /** Reads a {@code <f4} file of exactly {@code expected} elements. */
    static float[] readFloats(Path file, long expected) throws IOException {
        if (read(file, expected) instanceof NpyArray.Float32 f) {
            return f.data();
        }
        throw new IOException(file + ": expected float32 (<f4)");
    }

    /** Reads a {@code <i4} file of exactly {@code expected} elements. */
    static int[] readInts(Path file, long expected) throws IOException {
        if (read(file, expected) instanceof NpyArray.Int32 i) {
            return i.data();
        }
        throw new IOException(file + ": expected int32 (<i4)");
    }

    private static NpyArray read(Path file, long expected) throws IOException {
        NpyArray a;
        try {
            a = dev.entrokit.cli.Npy.read(file);
        } catch (UserException e) {
            throw new IOException(e.getMessage(), e);
        }
        long count = dev.entrokit.cli.Npy.elementCount(a.shape());
        if (count != expected) {
            throw new IOException(file + ": expected " + expected + " elements, got shape " + NpyArray.shapeString(a.shape()));
        }
        return a;
    }

    private static void write(Path file, NpyArray a) throws IOException {
        try {
            dev.entrokit.cli.Npy.write(file, a);
        } catch (UserException e) {
            throw new IOException(e.getMessage(), e);
        }
    }
}
