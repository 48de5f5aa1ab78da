package dev.entrokit.cli;

import java.util.Optional;

/**
 * What the Vector API would pick on this CPU. The only class that names {@code jdk.incubator.vector}:
 * it is loaded after checking the module is present, so the CLI runs without the incubator module.
 */
final class VectorProbe {
    private VectorProbe() {
    }

    /** A line such as {@code preferred shape S_512_BIT (512 bits, 16 floats)}, or empty without the module. */
    static Optional<String> preferred() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(Inner.describe());
    }

    /** Holds the references to the incubator classes so they resolve only when {@link #describe} runs. */
    private static final class Inner {
        static String describe() {
            var shape = jdk.incubator.vector.VectorShape.preferredShape();
            var species = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
            return "preferred shape " + shape + " (" + shape.vectorBitSize() + " bits, " + species.length() + " floats)";
        }
    }
}
