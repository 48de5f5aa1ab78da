package dev.entrokit.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** The CPU model and the vector-relevant flags from {@code /proc/cpuinfo}, where there is one (Linux). */
final class CpuFeatures {
    private static final Path CPUINFO = Path.of("/proc/cpuinfo");

    private CpuFeatures() {
    }

    /** The {@code model name} of the first CPU, if readable. */
    static Optional<String> model() {
        return field("model name");
    }

    /** The AVX, AVX2, AVX-512 and FMA flags of the first CPU, space-separated, if readable. */
    static Optional<String> vectorFlags() {
        return field("flags").map(flags -> String.join(" ", filter(flags)));
    }

    /** The flags that decide which SIMD width pays off: avx*, fma*. */
    static List<String> filter(String flags) {
        return Arrays.stream(flags.trim().split("\\s+"))
                .filter(f -> f.equals("avx") || f.equals("avx2") || f.startsWith("avx512") || f.startsWith("fma"))
                .toList();
    }

    private static Optional<String> field(String name) {
        try (Stream<String> lines = Files.lines(CPUINFO)) {
            return lines.filter(l -> l.startsWith(name) && l.indexOf(':') > 0)
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst();
        } catch (IOException | RuntimeException e) {
            // Not Linux, or sandboxed: the feature line is informative only.
            return Optional.empty();
        }
    }
}
