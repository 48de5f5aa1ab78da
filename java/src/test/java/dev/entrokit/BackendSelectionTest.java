package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Backend listing and explicit selection (issue §4). */
class BackendSelectionTest {

    @Test
    void backendsListsScalarSimdAndCudaWithTheirAvailability() {
        List<BackendInfo> all = Entrokit.backends();
        List<String> names = all.stream().map(BackendInfo::name).toList();
        assertTrue(names.containsAll(List.of("scalar", "simd", "cuda")), "backends(): " + names);
        assertEquals(3, names.stream().distinct().count(), "each backend once: " + names);
        for (BackendInfo b : all) {
            if (b.available()) {
                assertTrue(b.reasons().isEmpty(), b.name() + " is available but lists reasons " + b.reasons());
            } else {
                assertFalse(b.reasons().isEmpty(), b.name() + " is unavailable without a reason");
                for (String r : b.reasons()) {
                    assertTrue(b.description().contains(r), "description of " + b.name() + " carries its reasons");
                }
            }
        }
        assertTrue(all.stream().anyMatch(b -> b.name().equals("scalar") && b.available()), "scalar is always available");
    }

    @Test
    void requestingAnUnavailableBackendFailsWithItsReasons() {
        BackendInfo cuda = Entrokit.backends().stream().filter(b -> b.name().equals("cuda")).findFirst().orElseThrow();
        if (cuda.available()) {
            return; // a CUDA build: nothing to refuse
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Entrokit.create("cuda", 1));
        assertTrue(e.getMessage().contains("cuda"), e.getMessage());
        for (String reason : cuda.reasons()) {
            assertTrue(e.getMessage().contains(reason), "the message carries the reason '" + reason + "': " + e.getMessage());
        }
    }

    @Test
    void unknownBackendNameIsAnIllegalArgument() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Entrokit.create("tpu", 1));
        assertTrue(e.getMessage().contains("tpu") && e.getMessage().contains("backend"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Entrokit.create("Scalar", 1), "names are exact");
    }

    @Test
    void explicitAndAutoSelection() {
        try (Entrokit s = Entrokit.create("scalar", 2)) {
            assertEquals("scalar", s.backendName());
            assertEquals(2, s.threads());
            assertFalse(s.backendDescription().isBlank());
        }
        String best = Entrokit.backends().stream().filter(BackendInfo::available).findFirst().orElseThrow().name();
        try (Entrokit auto = Entrokit.create("auto", 1)) {
            assertEquals(best, auto.backendName(), "auto picks the best available backend (backends() is best first)");
        }
        assertTrue(Entrokit.get().threads() >= 1);
    }
}
