package dev.entrokit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.entrokit.DType;
import dev.entrokit.Entrokit;
import dev.entrokit.SamplingFilters;
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
    void aTemperatureWhoseDoubleReciprocalOverflowsIsRefusedByEveryKernel() {
        assertEquals("temperature: too small (2/T overflows float), got " + TINY, hostMessage(TINY));
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
