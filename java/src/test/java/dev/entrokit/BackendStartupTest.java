package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.entrokit.internal.cuda.NativeCuda;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What a fresh JVM does at start: a named CPU backend never loads the CUDA code, and {@code auto}
 * on a machine without an NVIDIA driver neither extracts the library nor prints anything.
 */
class BackendStartupTest {
    private static final String VECTOR = "--add-modules=jdk.incubator.vector";

    /** The child's class-loading log, its stdout and its stderr. */
    private record Run(List<String> loaded, String out, String err) {
        /** Stderr without the JVM's own line about incubator modules, which no library can avoid. */
        List<String> errLines() {
            return err.lines().filter(l -> !l.equals("WARNING: Using incubator modules: jdk.incubator.vector")).toList();
        }

        boolean loadedClass(String name) {
            return loaded.stream().anyMatch(l -> l.contains(" " + name + " "));
        }
    }

    private static Run start(String... jvmArgs) throws IOException, InterruptedException {
        Path log = Files.createTempFile("entrokit-classload", ".log");
        Path out = Files.createTempFile("entrokit-out", ".txt");
        Path err = Files.createTempFile("entrokit-err", ".txt");
        try {
            List<String> cmd = new ArrayList<>();
            cmd.add(ProcessHandle.current().info().command().orElseThrow());
            cmd.add("--enable-native-access=ALL-UNNAMED");
            cmd.add("-Xlog:class+load=info:file=" + log);
            cmd.addAll(List.of(jvmArgs));
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), StartupProbe.class.getName()));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().remove("ENTROKIT_BACKEND");
            pb.environment().remove("ENTROKIT_VERBOSE");
            Process p = pb.start();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM did not finish");
            Run r = new Run(Files.readAllLines(log), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
            assertEquals(0, p.exitValue(), r.err());
            return r;
        } finally {
            Files.deleteIfExists(log);
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    @Test
    void namedCpuBackendsNeverTouchCuda() throws Exception {
        for (String[] args : List.of(new String[] {"-Dentrokit.backend=scalar"},
                new String[] {VECTOR, "-Dentrokit.backend=simd"})) {
            Run r = start(args);
            String name = args[args.length - 1].substring("-Dentrokit.backend=".length());
            assertEquals("backend=" + name, r.out().strip());
            assertEquals(List.of(), r.errLines(), "nothing on stderr for " + name);
            assertFalse(r.loadedClass("dev.entrokit.internal.cuda.NativeCuda"), name + " loaded the CUDA loader");
            assertFalse(r.loadedClass("dev.entrokit.cuda.Cuda"), name + " probed CUDA");
        }
    }

    @Test
    void autoWithoutADriverIsSilentAndExtractsNothing() throws Exception {
        assumeFalse(NativeCuda.driver().found(), "an NVIDIA driver is installed here");
        Run r = start(VECTOR);
        assertEquals("backend=simd", r.out().strip());
        assertEquals(List.of(), r.errLines(), "auto on a CPU-only machine says nothing");
        assertTrue(r.loadedClass("dev.entrokit.internal.cuda.NativeCuda$DriverHolder"), "the driver was looked for");
        assertFalse(r.loadedClass("dev.entrokit.internal.cuda.NativeCuda$Holder"), "the library was extracted");
    }

    @Test
    void verboseAutoGivesTheReasonOnOneLine() throws Exception {
        assumeFalse(NativeCuda.driver().found(), "an NVIDIA driver is installed here");
        Run r = start(VECTOR, "-Dentrokit.verbose=true");
        assertEquals("backend=simd", r.out().strip());
        List<String> lines = r.errLines();
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.getFirst().startsWith("WARNING: entrokit: using the simd backend; cuda unavailable (no NVIDIA driver: "),
                lines.getFirst());
    }

    @Test
    void autoStillWarnsAboutAMissingVectorModuleButNotAboutTheDriver() throws Exception {
        assumeFalse(NativeCuda.driver().found(), "an NVIDIA driver is installed here");
        Run r = start();
        assertEquals("backend=scalar", r.out().strip());
        List<String> lines = r.errLines();
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.getFirst().contains("simd unavailable (jdk.incubator.vector is not in the module graph"),
                lines.getFirst());
    }
}
