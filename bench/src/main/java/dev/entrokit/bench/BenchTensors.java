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
        float[] data = Npy.readFloats(npy, (long) rows * cols);
        MemorySegment seg = arena.allocate((long) data.length * Float.BYTES, 64);
        MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_FLOAT, 0, data.length);
        return Tensor.of(seg, DType.F32, rows, cols);
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
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        long bytes = dtype.byteSize() * n;
        return Tensor.of(arena.allocate(Math.max(bytes, 1), 64), dtype, shape);
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
