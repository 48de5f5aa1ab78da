package dev.entrokit.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
 * The machine's limits, measured in the same run as the kernels: DRAM copy and SIMD read bandwidth
 * over a buffer far larger than the caches, and exp throughput of {@code VectorOperators.EXP} over a
 * cache-resident buffer. GB/s = bytes / score.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xms2g", "-Xmx2g"})
public class CeilingBench {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** Buffer size in MiB for the bandwidth ceilings. */
    @Param({"256"})
    public int mib;

    private Arena arena;
    private MemorySegment src;
    private MemorySegment dst;
    private float[] small;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        long bytes = (long) mib << 20;
        src = arena.allocate(bytes, 64);
        dst = arena.allocate(bytes, 64);
        for (long i = 0; i < bytes / 4; i++) {
            src.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) (i % 1000) * 1e-3f);
        }
        dst.fill((byte) 1);
        small = new float[1 << 14];
        for (int i = 0; i < small.length; i++) {
            small[i] = -(i % 100) * 0.37f;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** Copy bandwidth: reports {@code mib} read + {@code mib} written per call. */
    @Benchmark
    public long copy() {
        MemorySegment.copy(src, 0, dst, 0, src.byteSize());
        return dst.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 17);
    }

    /** Read bandwidth: a SIMD sum over the whole buffer. */
    @Benchmark
    public float readSum() {
        long n = src.byteSize() / 4;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        long step = 2L * F.length();
        long i = 0;
        for (; i + step <= n; i += step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, src, i * 4, ByteOrder.nativeOrder()));
            a1 = a1.add(FloatVector.fromMemorySegment(F, src, (i + F.length()) * 4, ByteOrder.nativeOrder()));
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    /** exp throughput: {@code VectorOperators.EXP} (SVML) over 16384 cache-resident floats. */
    @Benchmark
    public float expThroughput() {
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < small.length; i += F.length()) {
            acc = acc.add(FloatVector.fromArray(F, small, i).lanewise(VectorOperators.EXP));
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
