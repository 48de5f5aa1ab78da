package dev.entrokit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.DType;
import dev.entrokit.Entrokit;
import dev.entrokit.Loss;
import dev.entrokit.LossOptions;
import dev.entrokit.Reduction;
import dev.entrokit.Metric;
import dev.entrokit.SamplingFilters;
import dev.entrokit.SinkhornOptions;
import dev.entrokit.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The CUDA API refuses what the host API refuses, with the host's message, for the arguments the two
 * share. Every call here is refused in Java before any native call, so it runs without a GPU: the
 * device tensors wrap fake addresses that nothing dereferences.
 */
class CudaSharedChecksTest {
    /** {@code 2/T} overflows float: the host has always refused it, the CUDA twins once let it through. */
    private static final float TINY = 1e-39f;

    private static final CudaStream STREAM = CudaStream.legacyDefault();
    private static final DeviceTensor X = DeviceTensor.wrap(0x1000, 400, DType.F32, 10, 10, 10);
    private static final DeviceTensor Y = DeviceTensor.wrap(0x2000, 400, DType.F32, 10, 10, 10);
    private static final DeviceTensor PER_ROW = DeviceTensor.wrap(0x3000, 40, DType.F32, 1, 10, 10);

    /** The host's message for {@code temperature}, from the façade itself. */
    private static String hostMessage(float temperature) {
        Tensor logits = Tensor.of(new float[10], 1, 10);
        try (Entrokit host = Entrokit.create("scalar", 1)) {
            return assertThrows(IllegalArgumentException.class, () -> host.softmax(logits, logits, temperature))
                    .getMessage();
        }
    }

    private static void refusedLikeTheHost(float temperature, Executable cudaCall) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, cudaCall);
        assertEquals(hostMessage(temperature), e.getMessage());
    }

    @Test
    @SuppressWarnings("deprecation") // the deprecated twins must keep refusing what the host refuses
    void aTemperatureWhoseDoubleReciprocalOverflowsIsRefusedByEveryKernel() {
        assertEquals("temperature: too small (2·log2(e)/T overflows float), got " + TINY, hostMessage(TINY));
        refusedLikeTheHost(TINY, () -> CudaKernels.logSumExp(X, PER_ROW, TINY, STREAM));
        refusedLikeTheHost(TINY, () -> CudaKernels.softmax(X, Y, TINY, STREAM));
        refusedLikeTheHost(TINY, () -> CudaKernels.logSoftmax(X, Y, TINY, STREAM));
        refusedLikeTheHost(TINY, () -> CudaKernels.softmaxBackward(X, Y, Y, TINY, STREAM));
        refusedLikeTheHost(TINY, () -> CudaKernels.logSoftmaxBackward(X, Y, Y, TINY, STREAM));
        refusedLikeTheHost(TINY, () -> CudaKernels.entropy(X, PER_ROW, null, TINY, 1f, STREAM));
        for (CudaKernels.Divergence op : CudaKernels.Divergence.values()) {
            refusedLikeTheHost(TINY, () -> CudaKernels.divergence(op, X, Y, 0.5f, PER_ROW, null, TINY, 1f, STREAM));
        }
        DeviceTensor labels = DeviceTensor.wrap(0x4000, 40, DType.I32, 1, 10, 10);
        refusedLikeTheHost(TINY, () -> CudaKernels.crossEntropyLabels(X, labels, -100, 0f, PER_ROW, null, TINY, 1f,
                STREAM));
        DeviceTensor indices = DeviceTensor.wrap(0x5000, 120, DType.I32, 10, 3, 3);
        refusedLikeTheHost(TINY, () -> CudaKernels.topK(X, TINY, 3, indices, null, null, STREAM));
    }

    /** The host's message for {@code op} on host tensors shaped like the device ones here. */
    private static String hostLossMessage(Loss op, boolean teacher, boolean labels, boolean grad) {
        Tensor x = Tensor.of(new float[100], 10, 10);
        try (Entrokit host = Entrokit.create("scalar", 1)) {
            return assertThrows(IllegalArgumentException.class, () -> host.loss(op, teacher ? x : null, x,
                    labels ? Tensor.of(new int[10]) : null, LossOptions.defaults(), Tensor.of(new float[10]),
                    grad ? Tensor.of(new float[100], 10, 10) : null)).getMessage();
        }
    }

    @Test
    void theOpTableOnDeviceTensorsIsCheckedAsOnTheHost() {
        DeviceTensor labels = DeviceTensor.wrap(0x4000, 40, DType.I32, 1, 10, 10);
        for (Loss op : Loss.values()) {
            DeviceTensor l = op.readsLabels() ? labels : null;
            if (!op.readsTeacher()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> CudaKernels.loss(op, Y, X, l, LossOptions.defaults(), PER_ROW, null, STREAM));
                assertEquals(hostLossMessage(op, true, op.readsLabels(), false), e.getMessage());
            }
            if (!op.hasGradient()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> CudaKernels.loss(op, Y, X, l, LossOptions.defaults(), PER_ROW, Y, STREAM));
                assertEquals(hostLossMessage(op, true, false, true), e.getMessage());
            }
        }
        for (Loss op : new Loss[] {Loss.ALPHA, Loss.RENYI, Loss.CHI2, Loss.PLD}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaKernels.loss(op, Y, X,
                    op.readsLabels() ? labels : null, LossOptions.defaults(), PER_ROW, null, STREAM));
            assertEquals("op: " + op + " has no CUDA kernel yet; run it on host tensors (Entrokit.loss)", e.getMessage());
        }
        IllegalArgumentException mean = assertThrows(IllegalArgumentException.class, () -> CudaKernels.loss(
                Loss.CROSS_ENTROPY_LABELS, null, X, labels, LossOptions.defaults().reduction(Reduction.MEAN), PER_ROW,
                null, STREAM));
        assertTrue(mean.getMessage().startsWith("reduction: MEAN over labels is not offered on device tensors"),
                mean.getMessage());
        // The temperature is one of the options: LossOptions refuses it with the host's message before any call.
        IllegalArgumentException t = assertThrows(IllegalArgumentException.class,
                () -> LossOptions.defaults().temperature(TINY));
        assertEquals(hostMessage(TINY), t.getMessage());
    }

    @Test
    void theFacadeRunsDeviceTensorsThroughTheSameChecks() {
        DeviceTensor indices = DeviceTensor.wrap(0x5000, 120, DType.I32, 10, 3, 3);
        DeviceTensor mask = DeviceTensor.wrap(0x6000, 100, DType.BOOL, 10, 10, 10);
        DeviceTensor tokens = DeviceTensor.wrap(0x7000, 40, DType.I32, 1, 10, 10);
        SamplingFilters tiny = SamplingFilters.temperature(TINY);
        Entrokit ek = Entrokit.create("scalar", 1);
        refusedLikeTheHost(TINY, () -> ek.softmax(X, Y, TINY, STREAM));
        refusedLikeTheHost(TINY, () -> ek.logSoftmax(X, Y, TINY, STREAM));
        refusedLikeTheHost(TINY, () -> ek.logSumExp(X, PER_ROW, TINY, STREAM));
        refusedLikeTheHost(TINY, () -> ek.decoding().topK(X, 3, TINY, indices, null, null, STREAM));
        refusedLikeTheHost(TINY, () -> ek.decoding().keptMask(X, tiny, mask, STREAM));
        refusedLikeTheHost(TINY, () -> ek.decoding().sample(X, tiny, 0, 0, tokens, STREAM));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ek.loss(Loss.TV, Y, X, null, LossOptions.defaults(), PER_ROW, Y, STREAM));
        assertEquals(hostLossMessage(Loss.TV, true, false, true), e.getMessage());
        ek.close();
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> ek.softmax(X, Y, 1f, STREAM));
        assertTrue(closed.getMessage().startsWith("entrokit: closed"), closed.getMessage());
        // The decoding view's device overloads close with the instance, before any check or native call.
        assertEquals(closed.getMessage(), assertThrows(IllegalStateException.class,
                () -> ek.decoding().sample(X, tiny, 0, 0, tokens, STREAM)).getMessage());
    }

    @Test
    void sinkhornTakesTheHostsOptionsAndRefusesWhatTheKernelDoesNotDo() {
        DeviceTensor cost = DeviceTensor.wrap(0x8000, 4 * 12, DType.F32, 4, 3, 3);
        DeviceTensor f = DeviceTensor.wrap(0x9000, 4 * 4, DType.F32, 2, 2, 2);
        DeviceTensor g = DeviceTensor.wrap(0xa000, 4 * 6, DType.F32, 2, 3, 3);
        DeviceTensor it = DeviceTensor.wrap(0xb000, 8, DType.I32, 1, 2, 2);
        DeviceTensor e = DeviceTensor.wrap(0xc000, 8, DType.F32, 1, 2, 2);
        CudaKernels.SinkhornOut out = new CudaKernels.SinkhornOut(f, g, it, e, e, e, null);
        SinkhornOptions o = SinkhornOptions.defaults();
        assertRefused("gradients: the cuda kernel returns no envelope gradients; set gradients(false)",
                () -> CudaKernels.sinkhorn(cost, null, null, null, 2, 2, 3, o.gradients(true), out, STREAM));
        assertRefused("plan: options.plan() is true but out.plan() is null",
                () -> CudaKernels.sinkhorn(cost, null, null, null, 2, 2, 3, o.plan(true), out, STREAM));
        assertRefused("checkEvery: the cuda kernel checks the error every iteration, got 10; set checkEvery(1), or"
                + " tol(0) to run maxIter iterations", () -> CudaKernels.sinkhorn(cost, null, null, null, 2, 2, 3, o, out,
                STREAM));
        assertRefused("metric: required with point clouds x, y",
                () -> CudaKernels.sinkhorn(null, X, Y, null, 2, 2, 3, o.tol(0), out, STREAM));
        assertRefused("cost: must be null with point clouds (the metric computes it)",
                () -> CudaKernels.sinkhorn(cost, X, Y, Metric.L1, 2, 2, 3, o.tol(0), out, STREAM));
        assertRefused("epsilon: 1.0E-300 is beyond float's range, which the cuda kernel computes in",
                () -> CudaKernels.sinkhorn(cost, null, null, null, 2, 2, 3, o.tol(0).epsilon(1e-300), out, STREAM));
        // The host's own option checks come first, with its messages.
        IllegalArgumentException host = assertThrows(IllegalArgumentException.class, () -> o.epsilon(-1));
        assertEquals("epsilon: must be finite and > 0, got -1.0", host.getMessage());
    }

    private static void assertRefused(String message, Executable call) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, call).getMessage());
    }

    @Test
    void samplingPipelinesAreCheckedAsOnTheHost() {
        SamplingFilters tiny = SamplingFilters.temperature(TINY);
        DeviceTensor mask = DeviceTensor.wrap(0x6000, 100, DType.BOOL, 10, 10, 10);
        DeviceTensor tokens = DeviceTensor.wrap(0x7000, 40, DType.I32, 1, 10, 10);
        refusedLikeTheHost(TINY, () -> CudaKernels.keptMask(X, tiny, mask, null, STREAM));
        refusedLikeTheHost(TINY, () -> CudaKernels.maskLogits(X, tiny, Y, STREAM));
        refusedLikeTheHost(TINY, () -> CudaKernels.sample(X, tiny, 0, 0, 0, tokens, STREAM));

        IllegalArgumentException greedy = assertThrows(IllegalArgumentException.class,
                () -> CudaKernels.keptMask(X, SamplingFilters.temperature(0f), mask, null, STREAM));
        assertEquals("temperature: must be > 0 here, got 0 (greedy is for sample only)", greedy.getMessage());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> CudaKernels.maskLogits(X, null, Y, STREAM));
        assertEquals("filters: must not be null", none.getMessage());
        IllegalArgumentException k = assertThrows(IllegalArgumentException.class,
                () -> CudaKernels.topK(X, 1f, 11, X, null, null, STREAM));
        assertEquals("k: must be in [1, V = 10], got 11", k.getMessage());
    }
}
