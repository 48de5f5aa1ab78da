package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * How the façade treats the memory it is given: read-only inputs, outputs overlapping inputs,
 * confined and closed arenas, strides that overflow, an interrupted caller, a closed instance.
 * Every refusal happens before any work and names the argument.
 */
class MemorySafetyTest {
    private static final int V = 4099;
    private static final int ROWS = 16; // 16 × 4099 > the parallel threshold, so rows are split

    private static float[] logits(long seed) {
        return TestLogits.batch(seed, ROWS, V);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#availableNames")
    void readOnlyInputsAreAccepted(String backend) {
        Entrokit ek = TestBackends.instance(backend);
        float[] t = logits(1);
        float[] s = logits(2);
        Tensor teacher = Tensor.of(MemorySegment.ofArray(t).asReadOnly(), DType.F32, ROWS, V);
        double expected = ek.kl(Tensor.of(t, ROWS, V), Tensor.of(s, ROWS, V), LossOptions.defaults(), null, null);
        assertEquals(expected, ek.kl(teacher, Tensor.of(s, ROWS, V), LossOptions.defaults(), null, null));
        float[] p = new float[ROWS * V];
        ek.softmax(t, V, p, 1f);
        Tensor dy = Tensor.of(MemorySegment.ofArray(s).asReadOnly(), DType.F32, ROWS, V);
        assertDoesNotThrow(() -> ek.softmaxBackward(Tensor.of(p, ROWS, V), dy, Tensor.of(new float[ROWS * V], ROWS, V), 1f));
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#availableNames")
    void readOnlyOutputsAreRefusedBeforeWork(String backend) {
        Entrokit ek = TestBackends.instance(backend);
        Tensor x = Tensor.of(MemorySegment.ofArray(logits(3)).asReadOnly(), DType.F32, ROWS, V);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ek.softmax(x, x, 1f));
        assertTrue(e.getMessage().startsWith("probs:"), e.getMessage());
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#availableNames")
    void gradientMayNotOverlapItsInputs(String backend) {
        Entrokit ek = TestBackends.instance(backend);
        float[] t = logits(4);
        float[] s = logits(5);
        float[] before = s.clone();
        Tensor student = Tensor.of(s, ROWS, V);
        for (String op : new String[] {"kl", "rkl", "jeffreys", "jsd", "ce"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
                Tensor teacher = Tensor.of(t, ROWS, V);
                switch (op) {
                    case "kl" -> ek.kl(teacher, student, LossOptions.defaults(), null, student);
                    case "rkl" -> ek.rkl(teacher, student, LossOptions.defaults(), null, student);
                    case "jeffreys" -> ek.jeffreys(teacher, student, LossOptions.defaults(), null, student);
                    case "jsd" -> ek.jsd(teacher, student, LossOptions.defaults(), null, student);
                    default -> ek.crossEntropy(teacher, student, LossOptions.defaults(), null, student);
                }
            }, op);
            assertTrue(e.getMessage().startsWith("grad: overlaps student"), op + ": " + e.getMessage());
        }
        assertArrayEquals(before, s, "nothing written before the refusal");
        // a gradient over the teacher's memory is refused too
        assertThrows(IllegalArgumentException.class,
                () -> ek.kl(Tensor.of(t, ROWS, V), student, LossOptions.defaults(), null, Tensor.of(t, ROWS, V)));
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#availableNames")
    void partialOverlapIsRefusedButExactInPlaceWorks(String backend) {
        Entrokit ek = TestBackends.instance(backend);
        float[] big = new float[(ROWS + 1) * V];
        System.arraycopy(logits(6), 0, big, 0, ROWS * V);
        MemorySegment seg = MemorySegment.ofArray(big);
        Tensor in = Tensor.strided(seg, DType.F32, ROWS, V, 0, V);
        Tensor shifted = Tensor.strided(seg, DType.F32, ROWS, V, V, V);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ek.softmax(in, shifted, 1f));
        assertTrue(e.getMessage().startsWith("probs: overlaps logits"), e.getMessage());
        float[] expected = new float[ROWS * V];
        ek.softmax(in, Tensor.of(expected, ROWS, V), 1f);
        ek.softmax(in, in, 1f);
        float[] inPlace = java.util.Arrays.copyOf(big, ROWS * V);
        assertArrayEquals(expected, inPlace, "in place gives the same bits");
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#availableNames")
    void confinedMemoryRunsOnTheCallerAndClosedMemoryIsRefused(String backend) {
        Entrokit ek = TestBackends.instance(backend);
        float[] x = logits(7);
        float[] expected = new float[ROWS];
        ek.logSumExp(x, V, expected, 1f);
        MemorySegment leaked;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate((long) x.length * 4, 64);
            MemorySegment.copy(x, 0, seg, ValueLayout.JAVA_FLOAT, 0, x.length);
            MemorySegment out = arena.allocate(ROWS * 4L, 64);
            ek.logSumExp(Tensor.of(seg, DType.F32, ROWS, V), Tensor.of(out, DType.F32, ROWS), 1f);
            assertArrayEquals(expected, out.toArray(ValueLayout.JAVA_FLOAT));
            leaked = seg;
        }
        Tensor closed = Tensor.of(leaked, DType.F32, ROWS, V);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ek.logSumExp(closed, Tensor.of(new float[ROWS]), 1f));
        assertTrue(e.getMessage().startsWith("logits:") && e.getMessage().contains("closed"), e.getMessage());
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#availableNames")
    void anInterruptedCallerStillGetsEveryRow(String backend) {
        Entrokit ek = TestBackends.instance(backend);
        float[] x = logits(8);
        float[] expected = new float[ROWS * V];
        ek.softmax(x, V, expected, 1f);
        float[] got = new float[ROWS * V];
        Thread.currentThread().interrupt();
        try {
            ek.softmax(x, V, got, 1f);
            assertTrue(Thread.interrupted(), "the interrupt flag is left set for the caller");
        } finally {
            Thread.interrupted();
        }
        assertArrayEquals(expected, got);
    }

    @org.junit.jupiter.api.Test
    void aClosedInstanceSaysSo() {
        Entrokit ek = Entrokit.create("scalar", 2);
        ek.close();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ek.softmax(logits(9), V, new float[ROWS * V], 1f));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @org.junit.jupiter.api.Test
    void stridesThatOverflowAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.strided(MemorySegment.ofArray(new float[4]), DType.F32, 3, 4, 0, 1L << 62));
        assertTrue(e.getMessage().startsWith("rowStride:"), e.getMessage());
    }

    @org.junit.jupiter.api.Test
    void temperaturesWhoseInverseOverflowsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LossOptions.defaults().temperature(4e-39f));
        assertTrue(e.getMessage().startsWith("temperature:"), e.getMessage());
        Entrokit ek = TestBackends.instance("scalar");
        assertThrows(IllegalArgumentException.class, () -> ek.softmax(new float[4], 4, new float[4], 4e-39f));
    }

    @org.junit.jupiter.api.Test
    void nullArgumentsAreIllegalArguments() {
        Entrokit ek = TestBackends.instance("scalar");
        Tensor x = Tensor.of(new float[8], 2, 4);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ek.kl(x, x, null, null, null))
                .getMessage().startsWith("options:"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> ek.crossEntropyLabels((int[]) null, new float[8], 4, LossOptions.defaults(), null, null))
                .getMessage().startsWith("labels:"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Entrokit.create(null, 1))
                .getMessage().startsWith("backend:"));
    }
}
