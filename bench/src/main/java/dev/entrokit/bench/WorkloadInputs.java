package dev.entrokit.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * What the runner needs from a benchmark class beyond JMH: its inputs as {@code .npy} files (the
 * same bytes entrokit and every peer read) and the bytes each workload must move. The runner creates
 * the class with its no-argument constructor and sets its {@code @Param} fields (defaults or the
 * user's {@code -p} values) before calling these.
 */
public interface WorkloadInputs {
    /**
     * Writes this instance's inputs under {@code dir} where missing (names must encode every
     * parameter they depend on) and returns them by the name the peers know them by.
     */
    Map<String, Path> inputs(Path dir) throws IOException;

    /** Bytes {@code workload} must touch at least once: inputs read once, outputs written once. */
    long bytes(String workload);

    /** Where inputs live: {@code -Dentrokit.bench.inputs}, else {@code bench/target/inputs}. */
    static Path dir() {
        return Path.of(System.getProperty("entrokit.bench.inputs", "bench/target/inputs"));
    }

    /**
     * The heavy-tailed logits of {@link SyntheticLogits#heavyTailed} as {@code dir/<prefix>-RxC-s<seed>.npy},
     * written if missing; {@code perturbSeed > 0} gives {@link SyntheticLogits#perturbed} of those instead.
     */
    static Path logitsFile(Path dir, String prefix, int rows, int cols, long seed, long perturbSeed) throws IOException {
        String name = prefix + "-" + rows + "x" + cols + "-s" + seed + (perturbSeed > 0 ? "-p" + perturbSeed : "") + ".npy";
        Path file = dir.resolve(name);
        if (!java.nio.file.Files.exists(file)) {
            float[] x = SyntheticLogits.heavyTailed(rows, cols, seed, 0.02);
            if (perturbSeed > 0) {
                x = SyntheticLogits.perturbed(x, perturbSeed, 0.5);
            }
            Npy.writeFloats(file, x, rows, cols);
        }
        return file;
    }
}
