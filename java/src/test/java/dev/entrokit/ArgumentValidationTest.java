package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * SPEC §1: sizes, shapes, strides, dtypes, buffer capacity and parameters are checked before any work and
 * refused with {@code IllegalArgumentException} whose message names the argument (and the value).
 * Argument checks live in the façade and the records, the same for every backend, so the scalar backend
 * stands for all.
 */
class ArgumentValidationTest {
    static final Entrokit EK = Entrokit.create("scalar", 1);
    static final LossOptions O = LossOptions.defaults();

    @AfterAll
    static void close() {
        EK.close();
    }

    /** Asserts an {@code IllegalArgumentException} whose message contains every one of {@code words}. */
    static void refused(Executable call, String... words) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String w : words) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(w),
                    "message should name '" + w + "': " + e.getMessage());
        }
    }

    static Tensor rows(int rows, int cols) {
        float[] x = TestLogits.batch(rows * 31L + cols, rows, cols);
        return Tensor.of(x, rows, cols);
    }

    @Test
    void teacherAndStudentShapesMustMatch() {
        Tensor t = rows(2, 5);
        Tensor s = rows(2, 6);
        refused(() -> EK.kl(t, s, O, null, null), "teacher", "[2, 5]", "[2, 6]");
        refused(() -> EK.crossEntropy(rows(3, 6), s, O, null, null), "teacher", "[3, 6]");
        for (PairOp op : PairOp.values()) {
            refused(() -> op.run(EK, t, s, O, null, null), "teacher");
        }
    }

    @Test
    void outputsMustMatchTheInputShape() {
        Tensor x = rows(2, 5);
        refused(() -> EK.softmax(x, rows(2, 4), 1f), "probs", "[2, 4]", "[2, 5]");
        refused(() -> EK.logSoftmax(x, rows(1, 5), 1f), "logprobs");
        refused(() -> EK.softmaxBackward(x, rows(2, 4), rows(2, 5), 1f), "gradOutput");
        refused(() -> EK.logSoftmaxBackward(x, rows(2, 5), rows(3, 5), 1f), "gradInput");
        refused(() -> EK.entropy(x, O, null, rows(2, 6)), "grad", "[2, 6]");
        refused(() -> EK.kl(x, rows(2, 5), O, null, rows(5, 2)), "grad");
    }

    @Test
    void rowLossAndLogSumExpBuffersMustBeLargeEnough() {
        Tensor x = rows(3, 5);
        refused(() -> EK.entropy(x, O, Tensor.of(new float[2]), null), "rowLoss", "2", "3");
        refused(() -> EK.kl(x, rows(3, 5), O, Tensor.of(new float[1]), null), "rowLoss");
        refused(() -> EK.logSumExp(x, Tensor.of(new float[2]), 1f), "out", "2", "3");
        refused(() -> EK.logSumExp(new float[15], 5, new float[2], 1f), "out");
        refused(() -> EK.entropy(x, O, rows(3, 1), null), "rowLoss"); // rank 2 is not a per-row buffer
    }

    @Test
    void noneReductionNeedsARowLossBuffer() {
        refused(() -> EK.entropy(rows(2, 5), O.reduction(Reduction.NONE), null, null), "rowLoss", "NONE");
        refused(() -> EK.jsd(rows(2, 5), rows(2, 5), O.reduction(Reduction.NONE), null, null), "rowLoss");
    }

    @Test
    void nothingIsWrittenBeforeARefusal() {
        Tensor x = rows(3, 5);
        float[] grad = new float[15];
        Arrays.fill(grad, 42f);
        refused(() -> EK.entropy(x, O, Tensor.of(new float[1]), Tensor.of(grad, 3, 5)), "rowLoss");
        float[] expected = new float[15];
        Arrays.fill(expected, 42f);
        assertArrayEquals(expected, grad, "the gradient buffer must be untouched when an argument is refused");
        int[] labels = {0, 1, 9};
        refused(() -> EK.crossEntropyLabels(Tensor.of(labels), x, O, null, Tensor.of(grad, 3, 5)), "labels", "9");
        assertArrayEquals(expected, grad, "labels are checked before any row is computed");
    }

    @Test
    void segmentMustHoldTheShape() {
        MemorySegment seg = MemorySegment.ofArray(new float[10]);
        refused(() -> Tensor.of(seg, DType.F32, 3, 4), "segment", "12", "10");
        refused(() -> Tensor.strided(seg, DType.F32, 2, 4, 3, 4), "segment");
        refused(() -> Tensor.strided(seg, DType.F32, 2, 4, 0, 7), "segment");
    }

    @Test
    void stridesAndOffsetsMustBeValid() {
        MemorySegment seg = MemorySegment.ofArray(new float[100]);
        refused(() -> Tensor.strided(seg, DType.F32, 2, 4, 0, -1), "rowStride", "-1");
        refused(() -> Tensor.strided(seg, DType.F32, 2, 4, 0, 3), "rowStride", "3");
        refused(() -> Tensor.strided(seg, DType.F32, 2, 4, -2, 4), "offset", "-2");
        refused(() -> Tensor.strided(seg, DType.F32, -2, 4, 0, 4), "shape");
        refused(() -> Tensor.of(seg, DType.F32, 2, -4), "shape");
        refused(() -> Tensor.of(seg, DType.F32, 1, 2, 3, 4), "shape");
    }

    @Test
    void temperatureMustBeFiniteAndPositive() {
        Tensor x = rows(2, 5);
        Tensor out = rows(2, 5);
        for (float t : new float[] {0f, -0f, -1f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            refused(() -> EK.softmax(x, out, t), "temperature", String.valueOf(t));
            refused(() -> EK.logSoftmax(x, out, t), "temperature");
            refused(() -> EK.logSumExp(x, Tensor.of(new float[2]), t), "temperature");
            refused(() -> EK.softmaxBackward(x, x, out, t), "temperature");
            refused(() -> EK.logSoftmaxBackward(x, x, out, t), "temperature");
            refused(() -> O.temperature(t), "temperature", String.valueOf(t));
        }
    }

    @Test
    void lossOptionsAreChecked() {
        for (float b : new float[] {-0.01f, 1.01f, Float.NaN, Float.POSITIVE_INFINITY}) {
            refused(() -> O.beta(b), "beta", String.valueOf(b));
        }
        for (float e : new float[] {-0.1f, 1.5f, Float.NaN}) {
            refused(() -> O.labelSmoothing(e), "labelSmoothing", String.valueOf(e));
        }
        for (float g : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            refused(() -> O.gradScale(g), "gradScale");
        }
        refused(() -> O.reduction(null), "reduction");
    }

    @Test
    void labelsMustBeInRangeAndOnePerRow() {
        Tensor s = rows(3, 5);
        refused(() -> EK.crossEntropyLabels(Tensor.of(new int[] {0, 5, 1}), s, O, null, null), "labels", "5", "row 1");
        refused(() -> EK.crossEntropyLabels(Tensor.of(new int[] {0, -1, 1}), s, O, null, null), "labels", "-1");
        refused(() -> EK.crossEntropyLabels(Tensor.of(new int[] {0, 1, -100}), s, O.ignoreIndex(7), null, null),
                "labels", "-100");
        refused(() -> EK.crossEntropyLabels(Tensor.of(new int[] {0, 1}), s, O, null, null), "labels", "2", "3");
        refused(() -> EK.crossEntropyLabels(Tensor.of(new int[] {0, 1, 2, 3}), s, O, null, null), "labels", "4");
        refused(() -> EK.crossEntropyLabels(Tensor.of(new float[] {0, 1, 2}), s, O, null, null), "labels", "I32");
        refused(() -> EK.crossEntropyLabels(null, s, O, null, null), "labels");
    }

    @Test
    void unsupportedDtypesAreRefused() {
        MemorySegment seg = MemorySegment.ofArray(new float[40]);
        for (DType d : new DType[] {DType.I32, DType.BOOL}) {
            Tensor t = Tensor.of(seg, d, 2, 5);
            Tensor ok = rows(2, 5);
            refused(() -> EK.softmax(t, ok, 1f), "logits", d.name());
            refused(() -> EK.softmax(ok, t, 1f), "probs", d.name());
            refused(() -> EK.entropy(t, O, null, null), "logits", d.name());
            refused(() -> EK.kl(t, ok, O, null, null), "teacher", d.name());
            refused(() -> EK.kl(ok, t, O, null, null), "student", d.name());
        }
        // Half inputs are taken; a half output needs a half input of its own type.
        for (DType d : new DType[] {DType.BF16, DType.F16}) {
            Tensor t = Tensor.of(seg, d, 2, 5);
            Tensor ok = rows(2, 5);
            refused(() -> EK.softmax(ok, t, 1f), "probs", d.name(), "F32");
            refused(() -> EK.kl(ok, ok, O, null, t), "grad", d.name());
        }
    }

    @Test
    void nullsAndBadRanksAreRefused() {
        Tensor x = rows(2, 5);
        refused(() -> EK.softmax(null, x, 1f), "logits");
        refused(() -> EK.softmax(x, null, 1f), "probs");
        refused(() -> EK.kl(null, x, O, null, null), "teacher");
        refused(() -> EK.kl(x, null, O, null, null), "student");
        refused(() -> EK.entropy(Tensor.of(new float[30], 3, 2, 5), O, null, null), "logits", "rank");
        refused(() -> EK.softmax(new float[7], 5, new float[7], 1f), "logits", "7", "5");
        refused(() -> EK.softmax(Tensor.of(new float[0], 2, 0), Tensor.of(new float[0], 2, 0), 1f), "logits", "0");
    }

    @Test
    void threadCountMustBePositive() {
        refused(() -> Entrokit.create("scalar", 0), "threads", "0");
        refused(() -> Entrokit.create("scalar", -3), "threads");
    }

    @Test
    void readOnlyOutputsAreRefused() {
        Tensor x = rows(2, 5);
        Tensor ro = Tensor.of(MemorySegment.ofArray(new float[10]).asReadOnly(), DType.F32, 2, 5);
        refused(() -> EK.softmax(x, ro, 1f), "probs", "read-only");
        Tensor roLoss = Tensor.of(MemorySegment.ofArray(new float[2]).asReadOnly(), DType.F32, 2);
        refused(() -> EK.entropy(x, O, roLoss, null), "rowLoss", "read-only");
    }
}
