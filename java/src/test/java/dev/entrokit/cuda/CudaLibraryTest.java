package dev.entrokit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.entrokit.internal.cuda.NativeCuda;
import dev.entrokit.internal.cuda.ffi.EntrokitH;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Runs everywhere (no GPU needed): the build put libentrokit_cuda.so in the jar when it could, the
 * library loads, and every function that entrokit.h declares resolves in it and has a binding.
 */
class CudaLibraryTest {
    /** From java/ (Maven) or from the repository root (the device check). */
    private static final Path HEADER = Files.exists(Path.of("..", "native", "include", "entrokit.h"))
            ? Path.of("..", "native", "include", "entrokit.h") : Path.of("native", "include", "entrokit.h");

    /** The functions entrokit.h declares, in order. */
    static List<String> declared() throws IOException {
        String text = Files.readString(HEADER).replaceAll("(?s)/\\*.*?\\*/", "");
        Matcher m = Pattern.compile("EK_API\\s+[\\w\\s*]+?\\b(ek_\\w+)\\s*\\(").matcher(text);
        List<String> names = new ArrayList<>();
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    /**
     * Whether this build made the CUDA artifact: the {@code cuda} Maven profile (on when nvcc is found)
     * puts it on the test class path and says so through this property.
     */
    static boolean libraryExpected() {
        return Boolean.getBoolean("entrokit.cuda.expected");
    }

    @Test
    void headerDeclaresTheWholeAbi() throws IOException {
        List<String> names = declared();
        for (String n : List.of("ek_last_error", "ek_device_count", "ek_malloc", "ek_malloc_host", "ek_memcpy_async",
                "ek_stream_create", "ek_event_elapsed_ms", "ek_softmax", "ek_kl", "ek_jsd", "ek_top_k", "ek_sample",
                "ek_sinkhorn")) {
            assertTrue(names.contains(n), n + " is not declared in entrokit.h: " + names);
        }
    }

    @Test
    void libraryIsBuiltWhenNvccIsPresent() {
        assumeTrue(libraryExpected() || System.getProperty(NativeCuda.LIBRARY_PROPERTY) != null,
                "the cuda profile is off (no nvcc): the build is CUDA-less by design");
        if (System.getProperty(NativeCuda.LIBRARY_PROPERTY) == null) { // else a build named explicitly
            assertNotNull(NativeCuda.resource(),
                    "the cuda profile is on but no " + NativeCuda.RESOURCE + " is on the class path");
        }
        assertTrue(NativeCuda.library().loaded(), () -> "the library did not load: " + NativeCuda.library().reasons());
    }

    @Test
    void everyDeclaredFunctionResolvesAndHasABinding() throws IOException {
        NativeCuda.Load load = NativeCuda.library();
        assumeTrue(load.loaded(), () -> "no CUDA library in this build: " + load.reasons());
        List<String> names = declared();
        List<String> missing = new ArrayList<>();
        List<String> unbound = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup lib = SymbolLookup.libraryLookup(load.path(), arena);
            for (String n : names) {
                if (lib.find(n).isEmpty()) {
                    missing.add(n);
                }
                boolean bound = false;
                for (Method m : EntrokitH.class.getMethods()) {
                    bound |= m.getName().equals(n) && Modifier.isStatic(m.getModifiers());
                }
                if (!bound) {
                    unbound.add(n);
                }
            }
        }
        assertEquals(List.of(), missing, "declared in entrokit.h but not exported by " + load.path());
        assertEquals(List.of(), unbound, "declared in entrokit.h but absent from the jextract bindings (run bindings/regenerate.sh)");
    }

    @Test
    void probeReportsStatusesAsText() {
        assumeTrue(NativeCuda.library().loaded(), "no CUDA library in this build");
        Cuda.Status s = Cuda.status();
        if (!NativeCuda.driver().found()) {
            // The probe stops at the missing driver and never loads the library for it.
            assertEquals(List.of(NativeCuda.driver().reason()), s.reasons());
            assertTrue(s.reasons().getFirst().startsWith("no NVIDIA driver: "), s.reasons().toString());
            return;
        }
        assertTrue(s.libraryLoaded());
        assertTrue(s.runtimeVersion() >= 12000, "runtime version " + s.runtimeVersion());
        if (!s.available()) {
            // Without a driver the statically linked runtime answers cudaGetDeviceCount with error 35.
            assertTrue(s.reasons().stream().anyMatch(r -> r.contains("ek_device_count") || r.contains("no CUDA device")),
                    s.reasons().toString());
        }
    }
}
