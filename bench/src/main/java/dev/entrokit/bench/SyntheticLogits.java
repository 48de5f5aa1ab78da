package dev.entrokit.bench;

import java.util.SplittableRandom;

/** Benchmark inputs shaped like real LM logits: heavy-tailed noise, a few spikes, some masked entries. */
final class SyntheticLogits {
    private SyntheticLogits() {
    }

    /**
     * {@code rows × cols} logits: Student-t(3)-like noise around a per-row offset, ~0.1 % spikes a few
     * units above the bulk, and {@code maskedFraction} of the entries set to {@code -inf}.
     */
    static float[] heavyTailed(int rows, int cols, long seed, double maskedFraction) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            double offset = rnd.nextDouble(-5, 5);
            for (int c = 0; c < cols; c++) {
                double g = rnd.nextGaussian();
                double chi = (sq(rnd.nextGaussian()) + sq(rnd.nextGaussian()) + sq(rnd.nextGaussian())) / 3;
                double v = offset + 1.5 * g / Math.sqrt(chi);
                if (rnd.nextDouble() < 1e-3) {
                    v += 8 + 4 * rnd.nextDouble();
                }
                if (rnd.nextDouble() < maskedFraction) {
                    v = Double.NEGATIVE_INFINITY;
                }
                x[r * cols + c] = (float) v;
            }
        }
        return x;
    }

    /** {@code base} plus Gaussian noise of scale {@code sigma} (masked entries stay masked): a student near a teacher. */
    static float[] perturbed(float[] base, long seed, double sigma) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[base.length];
        for (int i = 0; i < base.length; i++) {
            x[i] = (float) (base[i] + sigma * rnd.nextGaussian());
        }
        return x;
    }

    private static double sq(double v) {
        return v * v;
    }
}
