package dev.entrokit.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.entrokit.BackendInfo;
import dev.entrokit.DType;
import dev.entrokit.Entrokit;
import dev.entrokit.internal.Backends;
import org.junit.jupiter.api.Test;

/** On a machine without a usable GPU (CI): the backend says why, and {@code auto} falls back. */
class CudaUnavailableTest {

    @Test
    void backendReportsWhyAndAutoFallsBack() {
        assumeFalse(Cuda.isAvailable(), "a CUDA device is present: CudaEquivalenceTest covers it");
        BackendInfo cuda = Entrokit.backends().stream().filter(b -> b.name().equals("cuda")).findFirst().orElseThrow();
        assertFalse(cuda.available());
        assertFalse(cuda.reasons().isEmpty(), "an unavailable backend must say why");
        assertNotEquals("cuda", Backends.select("auto").name());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backends.select("cuda"));
        assertTrue(e.getMessage().contains(cuda.reasons().getFirst()), e.getMessage());
    }

    @Test
    void deviceCallsRefuseWithTheReason() {
        assumeFalse(Cuda.isAvailable(), "a CUDA device is present");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> DeviceTensor.allocate(DType.F32, 2, 3));
        assertTrue(e.getMessage().startsWith("CUDA is unavailable: "), e.getMessage());
        assertThrows(IllegalStateException.class, CudaStream::create);
    }

    @Test
    void sizesAreCheckedInJavaBeforeAnyNativeCall() {
        // A wrapped pointer is never dereferenced by these checks, so a fake address is safe here.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DeviceTensor.wrap(0x1000, 399, DType.F32, 10, 10, 10));
        assertTrue(e.getMessage().startsWith("capacity: "), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DeviceTensor.wrap(0x1000, 400, DType.F32, 10, 10, 9));
        assertThrows(IllegalArgumentException.class, () -> DeviceTensor.wrap(0, 400, DType.F32, 10, 10, 10));
        DeviceTensor ok = DeviceTensor.wrap(0x1000, 400, DType.F32, 10, 10, 10);
        assertThrows(IllegalArgumentException.class, () -> ok.rows(5, 6));
        DeviceTensor labels = DeviceTensor.wrap(0x2000, 40, DType.F32, 1, 10, 10);
        assertThrows(IllegalArgumentException.class, () -> CudaKernels.softmax(ok, labels, 1f, CudaStream.legacyDefault()));
        assertThrows(IllegalArgumentException.class, () -> CudaKernels.topK(ok, 1f, 11, ok, null, null, CudaStream.legacyDefault()));
        ok.close(); // a wrapped tensor frees nothing
    }
}
