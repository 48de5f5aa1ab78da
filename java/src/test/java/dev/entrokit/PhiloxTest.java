package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.internal.Philox;
import org.junit.jupiter.api.Test;

/** Philox4x32-10 against the known-answer vectors Random123 publishes (kat_vectors, philox4x32 10 rounds). */
class PhiloxTest {

    @Test
    void zeroCounterZeroKey() {
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                Philox.philox4x32x10(new int[] {0, 0, 0, 0}, new int[] {0, 0}));
    }

    @Test
    void allOnes() {
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                Philox.philox4x32x10(new int[] {-1, -1, -1, -1}, new int[] {-1, -1}));
    }

    @Test
    void digitsOfPi() {
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                Philox.philox4x32x10(new int[] {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                        new int[] {0xa4093822, 0x299f31d0}));
    }

    @Test
    void uniformUsesTheDocumentedLayout() {
        // key = (low, high) words of the seed; counter = (row, step low, step high, 0); 53 bits of words 0 and 1.
        long seed = 0x299f31d0a4093822L;
        int[] w = Philox.philox4x32x10(new int[] {7, 0x13198a2e, 0x5, 0}, new int[] {0xa4093822, 0x299f31d0});
        double expected = (((w[0] & 0xFFFFFFFFL) << 21) | ((w[1] & 0xFFFFFFFFL) >>> 11)) / 9007199254740992.0;
        assertEquals(expected, Philox.uniform(seed, 7, 0x5_13198a2eL));
        assertNotEquals(Philox.uniform(seed, 7, 1), Philox.uniform(seed, 8, 1));
        assertNotEquals(Philox.uniform(seed, 7, 1), Philox.uniform(seed, 7, 2));
        assertNotEquals(Philox.uniform(seed, 7, 1), Philox.uniform(seed + 1, 7, 1));
    }

    @Test
    void uniformLiesInTheUnitIntervalWithTheRightMean() {
        double sum = 0;
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            double u = Philox.uniform(42, i, 3);
            assertTrue(u >= 0 && u < 1, "u = " + u);
            sum += u;
        }
        // Mean of n uniforms: sd = sqrt(1/12/n) ≈ 9.1e-4; 5 sd.
        assertEquals(0.5, sum / n, 5 * Math.sqrt(1.0 / 12 / n));
    }
}
