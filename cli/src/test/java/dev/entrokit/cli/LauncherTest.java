package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Entrokit;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./entrokit} launcher as users run it, with the JVM flags it passes: a user error is one
 * line on stderr (no JVM incubator warning, no backend fallback warning) and its exit status survives
 * the stderr filter. The launcher runs from a copy of the project layout holding the classes of this
 * build, so that it neither rebuilds nor runs a stale jar.
 */
class LauncherTest {
    @TempDir
    Path root;
    private Path out;

    @BeforeEach
    void layout() throws IOException, URISyntaxException {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "bash is not installed");
        Path classes = location(Main.class);
        Path project = classes.getParent().getParent().getParent(); // cli/target/classes -> the project root
        Files.copy(project.resolve("entrokit"), root.resolve("entrokit"));
        Path target = Files.createDirectories(root.resolve("cli/target"));
        jar(classes, target.resolve("entrokit-cli.jar"));
        Path lib = Files.createDirectories(target.resolve("lib"));
        for (Class<?> c : List.of(Entrokit.class, picocli.CommandLine.class)) {
            Path dep = location(c); // a jar, or the classes folder of a module built in this reactor
            if (Files.isDirectory(dep)) {
                jar(dep, lib.resolve(c.getSimpleName() + ".jar"));
            } else {
                Files.copy(dep, lib.resolve(dep.getFileName()));
            }
        }
        out = root.resolve("out");
    }

    @Test
    void userErrorIsOneStderrLineAndStatus2() throws Exception {
        Run r = launch("eval", "softmax", "--in", "logits=missing.npy", "--out", out.toString());
        assertEquals(2, r.code(), r.toString());
        assertEquals(List.of("entrokit eval: missing.npy: no such file"), r.err(), r.toString());
        assertEquals("", r.out(), r.toString());
    }

    @Test
    void successfulRunOnTheAutoBackendPrintsNothingOnStderr() throws Exception {
        Path logits = root.resolve("logits.npy");
        Npy.write(logits, new NpyArray.Float32(new long[] {2, 3}, new float[] {1, 2, 3, 0, 0, 0}));
        Run r = launch("eval", "softmax", "--in", "logits=" + logits, "--out", out.toString());
        assertEquals(0, r.code(), r.toString());
        assertEquals(List.of(), r.err(), r.toString());
        assertTrue(r.out().startsWith("wrote "), r.toString());
    }

    @Test
    void compareOfMismatchingFilesExitsOneWithAShortReport() throws Exception {
        Path a = root.resolve("a.npy");
        Path b = root.resolve("b.npy");
        Npy.write(a, new NpyArray.Int32(new long[] {3}, new int[] {128255, 1, 2}));
        Npy.write(b, new NpyArray.Int32(new long[] {3}, new int[] {128256, 1, 2}));
        Run r = launch("compare", a.toString(), b.toString());
        assertEquals(1, r.code(), r.toString());
        assertEquals(List.of(), r.err(), r.toString());
        assertEquals(List.of("shape (3,), 3 elements, int32 vs int32, compared exactly",
                "differing: 1 of 3: [0] (a=128255, b=128256)", "FAIL: 1 element differs"), r.out().lines().toList());
    }

    /** What one launch printed: stderr as lines, since the contract counts them. */
    private record Run(int code, String out, List<String> err) {
    }

    private Run launch(String... args) throws Exception {
        List<String> cmd = Stream.concat(Stream.of("/bin/bash", root.resolve("entrokit").toString()), Stream.of(args)).toList();
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(root.toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().remove("ENTROKIT_BACKEND");
        pb.environment().remove("ENTROKIT_JAVA_OPTS");
        pb.environment().remove("JAVA_TOOL_OPTIONS"); // the JVM would announce it on stderr
        Path stdout = root.resolve("stdout.txt");
        Path stderr = root.resolve("stderr.txt");
        Process p = pb.redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("launcher timed out");
        }
        // Read right after exit: the launcher must have waited for its stderr filter.
        return new Run(p.exitValue(), Files.readString(stdout), Files.readAllLines(stderr));
    }

    private static Path location(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    /** A jar of {@code classes}: the launcher runs the CLI from a jar. */
    private static void jar(Path classes, Path jar) throws IOException {
        try (OutputStream os = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(os);
             Stream<Path> files = Files.walk(classes)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                j.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, j);
                j.closeEntry();
            }
        }
    }
}
