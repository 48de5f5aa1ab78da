package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;

import dev.entrokit.Spec5.Kind;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** logsumexp, softmax, log_softmax and their backward passes on every backend against {@link Float64Oracle}. */
@Tag("simd-width")
class SoftmaxFamilyTest {

    @ParameterizedTest(name = "{0} V={1} rows={2} T={3}")
    @MethodSource("dev.entrokit.Cases#backendSizeRowsTemperature")
    void forwardMatchesOracle(String backend, int v, int rows, float t) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = TestLogits.batch(TestLogits.seed("softmax", v, rows, t), rows, v);
        float[] lse = new float[rows];
        float[] probs = new float[rows * v];
        float[] logprobs = new float[rows * v];
        ek.logSumExp(Tensor.of(x, rows, v), Tensor.of(lse), t);
        ek.softmax(Tensor.of(x, rows, v), Tensor.of(probs, rows, v), t);
        ek.logSoftmax(Tensor.of(x, rows, v), Tensor.of(logprobs, rows, v), t);
        for (int r = 0; r < rows; r++) {
            double[] row = widen(x, r * v, v);
            String at = backend + " row " + r + " V=" + v + " T=" + t;
            Spec5.check(Kind.LOG, lse[r], Float64Oracle.logSumExp(row, t), "logsumexp " + at);
            Spec5.check(Kind.PROB, probs, r * v, Float64Oracle.softmax(row, t), "softmax " + at);
            Spec5.check(Kind.LOG, logprobs, r * v, Float64Oracle.logSoftmax(row, t), "log_softmax " + at);
        }
    }

    @ParameterizedTest(name = "{0} V={1} rows={2} T={3}")
    @MethodSource("dev.entrokit.Cases#backendSizeRowsTemperature")
    void backwardMatchesOracle(String backend, int v, int rows, float t) {
        Entrokit ek = TestBackends.open(backend);
        long seed = TestLogits.seed("softmax-backward", v, rows, t);
        float[] x = TestLogits.batch(seed, rows, v);
        float[] dy = TestLogits.uniform(seed + 7, rows * v);
        // The forward outputs the backward reads, rounded to float32 like a caller's buffer.
        float[] probs = new float[rows * v];
        float[] logprobs = new float[rows * v];
        for (int r = 0; r < rows; r++) {
            double[] row = widen(x, r * v, v);
            double[] p = Float64Oracle.softmax(row, t);
            double[] lp = Float64Oracle.logSoftmax(row, t);
            for (int i = 0; i < v; i++) {
                probs[r * v + i] = (float) p[i];
                logprobs[r * v + i] = (float) lp[i];
            }
        }
        float[] dxSoftmax = new float[rows * v];
        float[] dxLogSoftmax = new float[rows * v];
        ek.softmaxBackward(Tensor.of(probs, rows, v), Tensor.of(dy, rows, v), Tensor.of(dxSoftmax, rows, v), t);
        ek.logSoftmaxBackward(Tensor.of(logprobs, rows, v), Tensor.of(dy, rows, v), Tensor.of(dxLogSoftmax, rows, v), t);
        for (int r = 0; r < rows; r++) {
            double[] dyRow = widen(dy, r * v, v);
            String at = backend + " row " + r + " V=" + v + " T=" + t;
            Spec5.check(Kind.GRAD, dxSoftmax, r * v, Float64Oracle.softmaxBackward(widen(probs, r * v, v), dyRow, t),
                    "softmax backward " + at);
            Spec5.check(Kind.GRAD, dxLogSoftmax, r * v,
                    Float64Oracle.logSoftmaxBackward(widen(logprobs, r * v, v), dyRow, t), "log_softmax backward " + at);
        }
    }

    @ParameterizedTest(name = "{0} V={1} rows={2} T={3}")
    @MethodSource("dev.entrokit.Cases#backendSizeRowsTemperature")
    void floatArrayOverloadsMatchTensorCalls(String backend, int v, int rows, float t) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = TestLogits.batch(TestLogits.seed("overloads", v, rows, t), rows, v);
        float[] a = new float[rows * v];
        float[] b = new float[rows * v];
        ek.softmax(x, v, a, t);
        ek.softmax(Tensor.of(x, rows, v), Tensor.of(b, rows, v), t);
        org.junit.jupiter.api.Assertions.assertArrayEquals(b, a, "softmax float[] overload");
        ek.logSoftmax(x, v, a, t);
        ek.logSoftmax(Tensor.of(x, rows, v), Tensor.of(b, rows, v), t);
        org.junit.jupiter.api.Assertions.assertArrayEquals(b, a, "log_softmax float[] overload");
        float[] l1 = new float[rows];
        float[] l2 = new float[rows];
        ek.logSumExp(x, v, l1, t);
        ek.logSumExp(Tensor.of(x, rows, v), Tensor.of(l2), t);
        org.junit.jupiter.api.Assertions.assertArrayEquals(l2, l1, "logsumexp float[] overload");
    }

    @ParameterizedTest(name = "{0} V={1} rows={2} T={3}")
    @MethodSource("dev.entrokit.Cases#backendSizeRowsTemperature")
    void inPlaceSoftmaxAndLogSoftmaxMatchOutOfPlace(String backend, int v, int rows, float t) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = TestLogits.batch(TestLogits.seed("inplace", v, rows, t), rows, v);
        float[] expected = new float[rows * v];
        ek.softmax(Tensor.of(x, rows, v), Tensor.of(expected, rows, v), t);
        float[] inPlace = x.clone();
        Tensor view = Tensor.of(inPlace, rows, v);
        ek.softmax(view, view, t);
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, inPlace, "softmax with probs == logits");
        ek.logSoftmax(Tensor.of(x, rows, v), Tensor.of(expected, rows, v), t);
        inPlace = x.clone();
        view = Tensor.of(inPlace, rows, v);
        ek.logSoftmax(view, view, t);
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, inPlace, "log_softmax with logprobs == logits");
    }
}
