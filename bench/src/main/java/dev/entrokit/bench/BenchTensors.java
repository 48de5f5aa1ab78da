package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/** Off-heap tensors for the workload benchmarks, in one shared arena (threads read them). */
final class BenchTensors implements AutoCloseable {
    private final Arena arena = Arena.ofShared();

    Tensor load(Path npy, int rows, int cols) throws IOException {
        return load(npy, new long[] {rows, cols});
    }

    /** A float32 {@code .npy} file of any rank, off-heap, as a tensor of {@code shape}. */
    Tensor load(Path npy, long... shape) throws IOException {
        float[] data = Npy.readFloats(npy, count(shape));
        MemorySegment seg = arena.allocate((long) data.length * Float.BYTES, 64);
        MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_FLOAT, 0, data.length);
        return Tensor.of(seg, DType.F32, shape);
    }

    /** An int32 {@code .npy} file, off-heap, as an {@link DType#I32} tensor of {@code shape}. */
    Tensor loadInts(Path npy, long... shape) throws IOException {
        int[] data = Npy.readInts(npy, count(shape));
        MemorySegment seg = arena.allocate((long) data.length * Integer.BYTES, 64);
        MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_INT, 0, data.length);
        return Tensor.of(seg, DType.I32, shape);
    }

    /** {@code rows × cols} logits drawn from {@code N(0, sigma²)}: no spikes, a wide nucleus. */
    Tensor gaussian(int rows, int cols, double sigma, long seed) {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        MemorySegment seg = arena.allocate((long) rows * cols * Float.BYTES, 64);
        for (long i = 0; i < (long) rows * cols; i++) {
            seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (sigma * rnd.nextGaussian()));
        }
        return Tensor.of(seg, DType.F32, rows, cols);
    }

    Tensor zeros(DType dtype, long... shape) {
        long bytes = dtype.byteSize() * count(shape);
        return Tensor.of(arena.allocate(Math.max(bytes, 1), 64), dtype, shape);
    }

    /** The number of elements of {@code shape}. */
    static long count(long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    static double finite(double v) {
        if (!Double.isFinite(v)) {
            throw new IllegalStateException("kernel returned " + v);
        }
        return v;
    }

    @Override
    public void close() {
        arena.close();
    }
}
