package dev.entrokit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The race's pieces against independent definitions: Philox's words, {@link Math#log}, and the Gumbel bounds. */
class ExponentialRaceTest {

    @Test
    void bitsAreTheTopBitsOfPhiloxWithThePairedTaggedCounter() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int t = 0; t < 2000; t++) {
            long seed = rnd.nextLong();
            int row = rnd.nextInt();
            long step = rnd.nextLong();
            int id = rnd.nextInt(Integer.MAX_VALUE);
            // tokens 16q + j and 16q + 8 + j share counter 8q + j: words 0, 1 for the first, 2, 3 for the second
            int counter = ((id / 16) * 8 + id % 8) | 0x80000000;
            int[] out = Philox.philox4x32x10(new int[] {row, (int) step, (int) (step >>> 32), counter},
                    new int[] {(int) seed, (int) (seed >>> 32)});
            int w = (id / 8) % 2 == 1 ? 2 : 0;
            long expected = (Integer.toUnsignedLong(out[w]) << 20) | (Integer.toUnsignedLong(out[w + 1]) >>> 12);
            assertEquals(expected, ExponentialRace.bits(seed, row, step, id), "seed " + seed + " id " + id);
        }
    }

    @Test
    void logIsWithinOneUlpOfMathLog() {
        SplittableRandom rnd = new SplittableRandom(2);
        double worst = 0;
        double worstAt = 0;
        for (int t = 0; t < 2_000_000; t++) {
            // the inputs the race takes: U in (0, 1) with 52 random bits, and E = -log U in [1e-16, 37]
            double x = t % 3 == 0 ? ((rnd.nextLong() >>> 12) + 0.5) * 0x1.0p-52
                    : t % 3 == 1 ? Math.exp(-37 + 41 * rnd.nextDouble()) : 1 + (rnd.nextDouble() - 0.5) * 1e-6;
            double ref = Math.log(x);
            double ulps = Math.abs(ExponentialRace.log(x) - ref) / Math.ulp(ref);
            if (ulps > worst) {
                worst = ulps;
                worstAt = x;
            }
        }
        assertTrue(worst <= 1.0, "worst " + worst + " ulp at " + worstAt);
    }

    @Test
    void theGumbelBoundIsAboveTheTermAndG_MAXAboveEveryTerm() {
        long mask = (1L << 52) - 1;
        long[] edges = {0, 1, 2, mask, mask - 1, mask - 2, 1L << 51, (1L << 51) - 1, mask ^ 1, mask ^ 3, mask >>> 1};
        for (long b : edges) {
            check(b);
        }
        SplittableRandom rnd = new SplittableRandom(3);
        for (int t = 0; t < 1_000_000; t++) {
            long b = rnd.nextLong() & mask;
            // also bits with many leading ones, where the bound is tight
            check(t % 2 == 0 ? b : mask ^ (b >>> rnd.nextInt(52)));
        }
        assertTrue(ExponentialRace.gumbel(mask) < ExponentialRace.G_MAX, "largest term " + ExponentialRace.gumbel(mask));
        assertTrue(ExponentialRace.gumbel(0) > -3.62, "smallest term " + ExponentialRace.gumbel(0));
    }

    private static void check(long b) {
        double g = ExponentialRace.gumbel(b);
        double u = (b + 0.5) * 0x1.0p-52;
        double exact = -Math.log(-Math.log(u));
        assertEquals(exact, g, 1e-13 * Math.max(1, Math.abs(exact)), "bits " + b);
        assertTrue(g <= ExponentialRace.gumbelBound(b), "bits " + b + ": term " + g + " above its bound "
                + ExponentialRace.gumbelBound(b));
        assertTrue(ExponentialRace.gumbelBound(b) <= ExponentialRace.G_MAX, "bits " + b);
    }
}
