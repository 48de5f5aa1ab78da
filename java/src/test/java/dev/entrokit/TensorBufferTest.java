package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Tensors over NIO buffers: a buffer carries a byte order and a segment does not, so the buffer
 * factories are where a view in the wrong order is refused (a big-endian {@code FloatBuffer} once gave
 * entropies {@code [0, NaN, 0, NaN]}). Position, limit, heap, direct and read-only buffers.
 */
class TensorBufferTest {
    private static final int ROWS = 4;
    private static final int V = 37;
    private static final ByteOrder OTHER = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
            ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;

    /** Entropies of {@code x} by the float64 oracle. */
    private static double[] oracleEntropies(float[] x) {
        double[] h = new double[ROWS];
        for (int r = 0; r < ROWS; r++) {
            h[r] = Float64Oracle.entropy(Float64Oracle.widen(x, r * V, V), 1);
        }
        return h;
    }

    private static double[] entropies(Entrokit ek, Tensor logits) {
        float[] rowLoss = new float[ROWS];
        ek.entropy(logits, LossOptions.defaults().reduction(Reduction.NONE), Tensor.of(rowLoss), null);
        double[] h = new double[ROWS];
        for (int r = 0; r < ROWS; r++) {
            h[r] = rowLoss[r];
        }
        return h;
    }

    private static void assertOracle(float[] x, double[] got) {
        double[] want = oracleEntropies(x);
        for (int r = 0; r < ROWS; r++) {
            Spec5.check(Spec5.Kind.LOSS, got[r], want[r], "entropy row " + r);
        }
    }

    /** A direct buffer of native order holding {@code x} from float {@code lead} on, position there. */
    private static FloatBuffer direct(float[] x, int lead, int byteShift) {
        ByteBuffer bytes = ByteBuffer.allocateDirect((lead + x.length) * 4 + byteShift).order(ByteOrder.nativeOrder());
        FloatBuffer f = bytes.position(byteShift).slice().order(ByteOrder.nativeOrder()).asFloatBuffer();
        f.position(lead).put(x).position(lead);
        return f;
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#availableNames")
    void aBufferInTheOtherByteOrderIsRefusedByName(String backend) {
        FloatBuffer big = ByteBuffer.allocateDirect(ROWS * V * 4).order(OTHER).asFloatBuffer();
        big.put(TestLogits.batch(1, ROWS, V)).flip();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.of(big, ROWS, V));
        assertEquals("buffer: byte order " + OTHER + ", entrokit reads native order " + ByteOrder.nativeOrder()
                + "; use ByteBuffer.order(ByteOrder.nativeOrder())", e.getMessage());
        IntBuffer ids = ByteBuffer.allocate(16).order(OTHER).asIntBuffer();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Tensor.of(ids, 4)).getMessage()
                .startsWith("buffer: byte order " + OTHER));
        ShortBuffer halves = ByteBuffer.allocate(16).order(OTHER).asShortBuffer();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Tensor.of(halves, DType.BF16, 8)).getMessage()
                .startsWith("buffer: byte order " + OTHER));
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#availableNames")
    void nativeDirectHeapAndUnalignedBuffersGiveTheArrayResults(String backend) {
        Entrokit ek = TestBackends.instance(backend);
        float[] x = TestLogits.batch(2, ROWS, V);
        double[] fromArray = entropies(ek, Tensor.of(x, ROWS, V));
        assertOracle(x, fromArray);
        assertArrayEquals(fromArray, entropies(ek, Tensor.of(direct(x, 0, 0), ROWS, V)), "direct");
        assertArrayEquals(fromArray, entropies(ek, Tensor.of(direct(x, 0, 1), ROWS, V)), "direct, one byte off alignment");
        assertArrayEquals(fromArray, entropies(ek, Tensor.of(FloatBuffer.wrap(x), ROWS, V)), "heap FloatBuffer");
        FloatBuffer heapBytes = ByteBuffer.allocate(x.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer().put(x).flip();
        assertArrayEquals(fromArray, entropies(ek, Tensor.of(heapBytes, ROWS, V)), "heap ByteBuffer view");
        assertArrayEquals(fromArray, entropies(ek, Tensor.of(direct(x, 0, 0).asReadOnlyBuffer(), ROWS, V)), "read-only");
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#availableNames")
    void theViewStartsAtThePositionAndEndsByTheLimit(String backend) {
        Entrokit ek = TestBackends.instance(backend);
        float[] x = TestLogits.batch(3, ROWS, V);
        FloatBuffer buf = direct(x, 5, 0); // five floats of garbage before, position 5
        buf.put(0, new float[] {Float.NaN, Float.NaN, Float.NaN, Float.NaN, Float.NaN});
        Tensor t = Tensor.of(buf, ROWS, V);
        buf.position(0); // moving the buffer afterwards does not move the view
        assertArrayEquals(entropies(ek, Tensor.of(x, ROWS, V)), entropies(ek, t));

        FloatBuffer limited = direct(x, 5, 0).limit(5 + ROWS * V - 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.of(limited, ROWS, V));
        assertEquals("buffer: shape [" + ROWS + ", " + V + "] needs " + ROWS * V + " F32 elements, the buffer holds "
                + (ROWS * V - 1) + " from position 5 to limit " + (5 + ROWS * V - 1), e.getMessage());
        // a shape smaller than what remains views the first elements
        float[] firstTwo = new float[2];
        float[] expected = new float[2];
        ek.logSumExp(Tensor.of(direct(x, 5, 0), 2, V), Tensor.of(firstTwo), 1f);
        ek.logSumExp(Tensor.of(x, 2, V), Tensor.of(expected), 1f);
        assertArrayEquals(expected, firstTwo);
    }

    @Test
    void aReadOnlyBufferIsAnInputNeverAnOutput() {
        Entrokit ek = TestBackends.instance("scalar");
        float[] x = TestLogits.batch(4, ROWS, V);
        Tensor readOnly = Tensor.of(FloatBuffer.wrap(new float[ROWS * V]).asReadOnlyBuffer(), ROWS, V);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ek.softmax(Tensor.of(x, ROWS, V), readOnly, 1f));
        assertEquals("probs: segment is read-only", e.getMessage());
        Tensor rowLoss = Tensor.of(FloatBuffer.wrap(new float[ROWS]).asReadOnlyBuffer(), ROWS);
        assertThrows(IllegalArgumentException.class,
                () -> ek.entropy(Tensor.of(x, ROWS, V), LossOptions.defaults(), rowLoss, null));
    }

    @Test
    void intAndShortBuffersGiveTheirDtypes() {
        Entrokit ek = TestBackends.instance("scalar");
        float[] x = TestLogits.batch(5, ROWS, V);
        int[] labels = {0, 36, 7, 3};
        IntBuffer direct = ByteBuffer.allocateDirect(labels.length * 4).order(ByteOrder.nativeOrder()).asIntBuffer();
        direct.put(labels).flip();
        Tensor ids = Tensor.of(direct, ROWS);
        assertEquals(DType.I32, ids.dtype());
        double expected = ek.crossEntropyLabels(Tensor.of(labels), Tensor.of(x, ROWS, V), LossOptions.defaults(), null, null);
        assertEquals(expected, ek.crossEntropyLabels(ids, Tensor.of(x, ROWS, V), LossOptions.defaults(), null, null));
        assertEquals(expected, ek.crossEntropyLabels(Tensor.of(IntBuffer.wrap(labels), ROWS), Tensor.of(x, ROWS, V),
                LossOptions.defaults(), null, null));

        Tensor half = Tensor.of(ShortBuffer.wrap(new short[] {1, 2, 3, 4, 5, 6}), DType.F16, 2, 3);
        assertEquals(DType.F16, half.dtype());
        assertArrayEquals(new long[] {2, 3}, half.shape());
        assertEquals("dtype: a ShortBuffer holds BF16 or F16 elements, got F32",
                assertThrows(IllegalArgumentException.class, () -> Tensor.of(ShortBuffer.allocate(4), DType.F32, 4))
                        .getMessage());
        // half precision is read as halves, never as F32: zero bits are zero logits, a uniform row
        assertEquals(ek.entropy(Tensor.of(new float[ROWS * V], ROWS, V), LossOptions.defaults(), null, null),
                ek.entropy(Tensor.of(ShortBuffer.allocate(ROWS * V), DType.BF16, ROWS, V), LossOptions.defaults(), null,
                        null));
    }

    @Test
    void nullsAreRefusedByName() {
        assertEquals("buffer: must not be null",
                assertThrows(IllegalArgumentException.class, () -> Tensor.of((FloatBuffer) null, 4)).getMessage());
        assertEquals("buffer: must not be null",
                assertThrows(IllegalArgumentException.class, () -> Tensor.of((IntBuffer) null, 4)).getMessage());
        assertEquals("data: must not be null",
                assertThrows(IllegalArgumentException.class, () -> Tensor.of((float[]) null, 2, 2)).getMessage());
        assertEquals("data: must not be null",
                assertThrows(IllegalArgumentException.class, () -> Tensor.of((int[]) null)).getMessage());
        assertEquals("data: must not be null",
                assertThrows(IllegalArgumentException.class, () -> Tensor.ofMask(null, 1, 1)).getMessage());
        assertEquals("segment: must not be null", assertThrows(IllegalArgumentException.class,
                () -> Tensor.of((java.lang.foreign.MemorySegment) null, DType.F32, 4)).getMessage());
        assertEquals("dtype: must not be null", assertThrows(IllegalArgumentException.class,
                () -> Tensor.of(java.lang.foreign.MemorySegment.ofArray(new float[4]), null, 4)).getMessage());
    }
}
