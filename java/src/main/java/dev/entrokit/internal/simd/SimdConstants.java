package dev.entrokit.internal.simd;

import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The species, chosen once per JVM. It must be a {@code static final} constant: C2 only
 * intrinsifies Vector API calls whose species it can see as a constant. Kept apart from the kernels
 * (as Lucene does) so that nothing on the scalar path loads the Vector API.
 */
final class SimdConstants {
    static final String BITS_PROPERTY = "entrokit.simd.bits";

    static final VectorSpecies<Float> F = pick();
    static final int L = F.length();
    /** Doubles in a vector of the same width, for the few sums that need double lanes. */
    static final VectorSpecies<Double> D = VectorSpecies.of(double.class, F.vectorShape());
    /** Elements summed in float lanes before the block's total joins a double accumulator. */
    static final int BLOCK = 64 * L;
    static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /** Lanes of the upper half of a float vector: where a narrowed second double vector goes. */
    static final VectorMask<Float> UPPER_HALF = VectorMask.fromLong(F, ((1L << L) - 1) & ~((1L << (L / 2)) - 1));

    private SimdConstants() {
    }

    private static VectorSpecies<Float> pick() {
        VectorSpecies<Float> preferred = FloatVector.SPECIES_PREFERRED;
        String forced = System.getProperty(BITS_PROPERTY);
        if (forced == null || forced.isBlank()) {
            return preferred;
        }
        VectorSpecies<Float> s = switch (forced.trim()) {
            case "128" -> FloatVector.SPECIES_128;
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> throw new UnsupportedOperationException(
                    BITS_PROPERTY + " must be 128, 256 or 512, got '" + forced + "'");
        };
        if (s.vectorBitSize() > preferred.vectorBitSize()) {
            throw new UnsupportedOperationException(BITS_PROPERTY + "=" + forced
                    + " exceeds this CPU's preferred vector size of " + preferred.vectorBitSize() + " bits");
        }
        return s;
    }
}
