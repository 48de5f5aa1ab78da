package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.internal.SoftmaxKernels;
import dev.entrokit.internal.HalfKernels;
import dev.entrokit.internal.scalar.ScalarHalfKernels;
import dev.entrokit.internal.simd.SimdBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The softmax family on bfloat16 / binary16 logits widened in registers (the SIMD {@link HalfKernels}) against the
 * float32 SIMD kernels on the same logits, one thread, off-heap, one call = every row of the batch through the
 * kernel layer (no façade: half inputs are not wired into it). {@code io} is the input → output type:
 * {@code f32} is the float32 kernel; {@code bf16-f32} reads bfloat16 and writes float32; {@code bf16-bf16} writes
 * bfloat16; likewise for {@code f16}. Elements per second = rows · cols / score.
 *
 * <p>The float32 logits are {@link SyntheticLogits#heavyTailed}; the half rows are those rounded to the half type.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xms2g", "-Xmx2g"})
public class HalfPrecisionBench {
    @Param({"32"})
    public int rows;

    @Param({"128256"})
    public int cols;

    @Param({"f32", "bf16-f32", "bf16-bf16", "f16-f32", "f16-f16"})
    public String io;

    private Batch batch;

    @Setup(Level.Trial)
    public void setUp() {
        batch = new Batch(rows, cols, io);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        batch.close();
    }

    @Benchmark
    public double logSumExp() {
        return batch.logSumExp();
    }

    @Benchmark
    public float softmax() {
        return batch.softmax();
    }

    @Benchmark
    public float logSoftmax() {
        return batch.logSoftmax();
    }

    @Benchmark
    public double softmaxStats() {
        return batch.softmaxStats();
    }

    /** One input → output combination's rows and kernels; shared with {@link HalfCpuProbe}. */
    static final class Batch implements AutoCloseable {
        private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
        private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

        private final Arena arena = Arena.ofShared();
        private final int rows;
        private final int cols;
        private final DType in;
        private final DType outType;
        private final MemorySegment x;
        private final MemorySegment out;
        private final SoftmaxKernels f32;
        private final HalfKernels half;
        private final double[] stats = new double[3];

        /** {@code io} as in {@link HalfPrecisionBench#io}. */
        Batch(int rows, int cols, String io) {
            this.rows = rows;
            this.cols = cols;
            String[] parts = io.split("-");
            in = DType.valueOf(parts[0].toUpperCase());
            outType = parts.length > 1 ? DType.valueOf(parts[1].toUpperCase()) : DType.F32;
            SimdBackend simd = new SimdBackend();
            f32 = simd.softmax();
            half = simd.half();
            float[] logits = SyntheticLogits.heavyTailed(rows, cols, 42, 0.02);
            long n = (long) rows * cols;
            x = arena.allocate(n * in.byteSize(), 64);
            for (long i = 0; i < n; i++) {
                if (in == DType.F32) {
                    x.setAtIndex(F32, i, logits[(int) i]);
                } else {
                    x.setAtIndex(I16, i, ScalarHalfKernels.narrow(in, logits[(int) i]));
                }
            }
            out = arena.allocate(n * outType.byteSize(), 64);
        }

        private long at(int r) {
            return (long) r * cols;
        }

        private float lastOut() {
            long i = (long) rows * cols - 1;
            float v = outType == DType.F32 ? out.getAtIndex(F32, i) : ScalarHalfKernels.widen(outType, out.getAtIndex(I16, i));
            if (Float.isNaN(v)) {
                throw new IllegalStateException("kernel wrote NaN");
            }
            return v;
        }

        double logSumExp() {
            double s = 0;
            for (int r = 0; r < rows; r++) {
                s += in == DType.F32 ? f32.logSumExp(x, at(r), cols, 1f) : half.logSumExp(in, x, at(r), cols, 1f);
            }
            if (!Double.isFinite(s)) {
                throw new IllegalStateException("logSumExp " + s);
            }
            return s;
        }

        float softmax() {
            for (int r = 0; r < rows; r++) {
                if (in == DType.F32) {
                    f32.softmax(x, at(r), out, at(r), cols, 1f);
                } else {
                    half.softmax(in, x, at(r), outType, out, at(r), cols, 1f);
                }
            }
            return lastOut();
        }

        float logSoftmax() {
            for (int r = 0; r < rows; r++) {
                if (in == DType.F32) {
                    f32.logSoftmax(x, at(r), out, at(r), cols, 1f);
                } else {
                    half.logSoftmax(in, x, at(r), outType, out, at(r), cols, 1f);
                }
            }
            return lastOut();
        }

        double softmaxStats() {
            double s = 0;
            for (int r = 0; r < rows; r++) {
                if (in == DType.F32) {
                    f32.softmaxStats(x, at(r), out, at(r), cols, 1f, false, stats);
                } else {
                    half.softmaxStats(in, x, at(r), outType, out, at(r), cols, 1f, false, stats);
                }
                s += stats[2];
            }
            if (!Double.isFinite(s)) {
                throw new IllegalStateException("entropy " + s);
            }
            return s + lastOut();
        }

        @Override
        public void close() {
            arena.close();
        }
    }
}
