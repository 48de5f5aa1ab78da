package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Strided views ({@code rowStride > cols}, {@code offset > 0}, heap and native segments) give bit for bit
 * the results of contiguous copies, and write nothing into the padding between rows.
 */
@Tag("simd-width")
class StridedViewTest {
    static final float PAD = -12345.5f;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String b : TestBackends.NAMES) {
            for (int v : new int[] {1, 7, 16, 17, 1000}) {
                for (boolean nativeMemory : new boolean[] {false, true}) {
                    out.add(Arguments.of(b, v, nativeMemory));
                }
            }
        }
        return out.stream();
    }

    /** A padded copy of {@code rows × v} values: offset {@code off}, row stride {@code v + pad}, padding PAD. */
    static MemorySegment padded(Arena arena, float[] x, int rows, int v, int off, int stride) {
        long n = off + (long) rows * stride + 3;
        MemorySegment seg = arena == null ? MemorySegment.ofArray(new float[(int) n]) : arena.allocate(n * 4, 4);
        for (long i = 0; i < n; i++) {
            seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, PAD);
        }
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(x, r * v, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, (off + (long) r * stride) * 4, v);
        }
        return seg;
    }

    static float[] gather(MemorySegment seg, int rows, int v, int off, int stride) {
        float[] out = new float[rows * v];
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT_UNALIGNED, (off + (long) r * stride) * 4, out, r * v, v);
        }
        return out;
    }

    static void assertPaddingUntouched(MemorySegment seg, int rows, int v, int off, int stride, String what) {
        long n = seg.byteSize() / 4;
        for (long i = 0; i < n; i++) {
            long rel = i - off;
            boolean inRow = rel >= 0 && rel / stride < rows && rel % stride < v;
            if (!inRow) {
                assertEquals(PAD, seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i), what + ": padding at " + i + " was written");
            }
        }
    }

    @ParameterizedTest(name = "{0} V={1} native={2}")
    @MethodSource("cases")
    void stridedEqualsContiguous(String backend, int v, boolean nativeMemory) {
        Entrokit ek = TestBackends.open(backend);
        int rows = 5;
        int off = 3;
        int stride = v + 5;
        long seed = TestLogits.seed("strided", v);
        float[] teacher = TestLogits.batch(seed, rows, v);
        float[] student = TestLogits.studentFor(teacher, seed, rows, v);
        int[] labels = TestLogits.labels(seed, student, rows, v, -100);
        try (Arena arena = nativeMemory ? Arena.ofShared() : null) {
            Tensor t = Tensor.strided(padded(arena, teacher, rows, v, off, stride), DType.F32, rows, v, off, stride);
            Tensor s = Tensor.strided(padded(arena, student, rows, v, off, stride), DType.F32, rows, v, off, stride);
            assertEquals(stride, s.rowStride());
            assertEquals(off, s.offset());

            MemorySegment outSeg = padded(arena, new float[rows * v], rows, v, off + 1, stride + 2);
            Tensor out = Tensor.strided(outSeg, DType.F32, rows, v, off + 1, stride + 2);
            float[] ref = new float[rows * v];
            for (float temp : new float[] {1f, 0.7f}) {
                ek.softmax(s, out, temp);
                ek.softmax(Tensor.of(student, rows, v), Tensor.of(ref, rows, v), temp);
                assertArrayEquals(ref, gather(outSeg, rows, v, off + 1, stride + 2), backend + " strided softmax");
                ek.logSoftmax(s, out, temp);
                ek.logSoftmax(Tensor.of(student, rows, v), Tensor.of(ref, rows, v), temp);
                assertArrayEquals(ref, gather(outSeg, rows, v, off + 1, stride + 2), backend + " strided log_softmax");
                ek.softmaxBackward(s, t, out, temp); // any values do as "probs" and "dy" here
                ek.softmaxBackward(Tensor.of(student, rows, v), Tensor.of(teacher, rows, v), Tensor.of(ref, rows, v), temp);
                assertArrayEquals(ref, gather(outSeg, rows, v, off + 1, stride + 2), backend + " strided softmax backward");
                ek.logSoftmaxBackward(s, t, out, temp);
                ek.logSoftmaxBackward(Tensor.of(student, rows, v), Tensor.of(teacher, rows, v), Tensor.of(ref, rows, v), temp);
                assertArrayEquals(ref, gather(outSeg, rows, v, off + 1, stride + 2), backend + " strided log_softmax backward");
                float[] lse = new float[rows];
                float[] lseRef = new float[rows];
                ek.logSumExp(s, Tensor.of(lse), temp);
                ek.logSumExp(Tensor.of(student, rows, v), Tensor.of(lseRef), temp);
                assertArrayEquals(lseRef, lse, backend + " strided logsumexp");

                LossOptions o = LossOptions.defaults().temperature(temp).reduction(Reduction.NONE).labelSmoothing(0f);
                float[] rl = new float[rows];
                double value = ek.entropy(s, o, Tensor.of(rl), out);
                Run e = Run.entropy(ek, student, rows, v, o);
                assertArrayEquals(e.rowLoss(), rl, backend + " strided entropy");
                assertArrayEquals(e.grad(), gather(outSeg, rows, v, off + 1, stride + 2), backend + " strided entropy grad");
                assertEquals(e.value(), value);
                for (PairOp op : PairOp.values()) {
                    value = op.run(ek, t, s, o, Tensor.of(rl), op.hasGrad() ? out : null);
                    Run c = Run.pair(ek, op, teacher, student, rows, v, o);
                    assertArrayEquals(c.rowLoss(), rl, backend + " strided " + op);
                    assertEquals(c.value(), value, backend + " strided " + op + " value");
                    if (op.hasGrad()) {
                        assertArrayEquals(c.grad(), gather(outSeg, rows, v, off + 1, stride + 2), backend + " strided " + op + " grad");
                    }
                }
                ek.crossEntropyLabels(Tensor.of(labels), s, o, Tensor.of(rl), out);
                Run l = Run.labels(ek, labels, student, rows, v, o);
                assertArrayEquals(l.rowLoss(), rl, backend + " strided CE labels");
                assertArrayEquals(l.grad(), gather(outSeg, rows, v, off + 1, stride + 2), backend + " strided CE labels grad");
            }
            assertPaddingUntouched(outSeg, rows, v, off + 1, stride + 2, backend + " output view");
        }
    }

    @ParameterizedTest(name = "{0} V={1} native={2}")
    @MethodSource("cases")
    void everyOtherRowOfALargerBuffer(String backend, int v, boolean nativeMemory) {
        Entrokit ek = TestBackends.open(backend);
        int rows = 6;
        float[] all = TestLogits.batch(TestLogits.seed("every-other", v), 2 * rows, v);
        float[] odd = new float[rows * v];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(all, (2 * r + 1) * v, odd, r * v, v);
        }
        try (Arena arena = nativeMemory ? Arena.ofShared() : null) {
            MemorySegment seg = padded(arena, all, 2 * rows, v, 0, v);
            Tensor view = Tensor.strided(seg, DType.F32, rows, v, v, 2L * v);
            float[] h = new float[rows];
            float[] hRef = new float[rows];
            ek.entropy(view, LossOptions.defaults().reduction(Reduction.NONE), Tensor.of(h), null);
            ek.entropy(Tensor.of(odd, rows, v), LossOptions.defaults().reduction(Reduction.NONE), Tensor.of(hRef), null);
            assertArrayEquals(hRef, h, backend + " entropy of every other row");
        }
    }

    @ParameterizedTest(name = "{0} V={1} native={2}")
    @MethodSource("cases")
    void rankOneTensorIsOneRow(String backend, int v, boolean nativeMemory) {
        Entrokit ek = TestBackends.open(backend);
        float[] t = TestLogits.batch(TestLogits.seed("rank1", v), 1, v);
        float[] s = TestLogits.studentFor(t, TestLogits.seed("rank1", v), 1, v);
        float[] a = new float[v];
        float[] b = new float[v];
        ek.logSoftmax(Tensor.of(s), Tensor.of(a), 0.7f);
        ek.logSoftmax(Tensor.of(s, 1, v), Tensor.of(b, 1, v), 0.7f);
        assertArrayEquals(b, a, backend + " rank-1 log_softmax");
        LossOptions o = LossOptions.defaults().temperature(0.7f);
        for (PairOp op : PairOp.values()) {
            double x = op.run(ek, Tensor.of(t), Tensor.of(s), o, null, op.hasGrad() ? Tensor.of(a) : null);
            double y = op.run(ek, Tensor.of(t, 1, v), Tensor.of(s, 1, v), o, null, op.hasGrad() ? Tensor.of(b, 1, v) : null);
            assertEquals(y, x, backend + " rank-1 " + op);
            assertArrayEquals(b, a, backend + " rank-1 " + op + " grad");
        }
    }
}
