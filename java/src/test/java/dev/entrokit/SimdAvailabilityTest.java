package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * EXPECTED TO FAIL UNTIL THE SIMD BACKEND IS MERGED.
 *
 * <p>Every other test skips the simd cases (an assumption) while the backend is missing, so a suite that
 * silently never runs them would look green. This test asserts instead: when {@code jdk.incubator.vector}
 * is in the module graph (surefire adds it), the simd backend must be available. It fails today with the
 * reason {@code Backends} gives, and passes once {@code dev.entrokit.internal.simd.SimdBackend} lands.
 */
class SimdAvailabilityTest {

    @Test
    void simdBackendIsAvailableWhenVectorModulePresent() {
        boolean vectorModule = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        BackendInfo simd = Entrokit.backends().stream().filter(b -> b.name().equals("simd")).findFirst().orElseThrow();
        if (!vectorModule) {
            assertTrue(!simd.available() && !simd.reasons().isEmpty(),
                    "without jdk.incubator.vector simd must be unavailable with a reason");
            return;
        }
        assertTrue(simd.available(), "jdk.incubator.vector is present, so the simd backend must be available; reasons: "
                + simd.reasons());
        try (Entrokit ek = Entrokit.create("simd", 1)) {
            assertEquals("simd", ek.backendName());
        }
    }
}
