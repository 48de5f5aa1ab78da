package dev.entrokit;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Seeded float32 logit batches, ordinary and adversarial. Row-major {@code [rows, V]}. */
public final class TestLogits {
    private TestLogits() {
    }

    /** A seed from the parameters of a case, so every case has its own reproducible data. */
    public static long seed(Object... parts) {
        return Arrays.deepHashCode(parts) * 0x9E3779B97F4A7C15L + 12345;
    }

    private static double gaussian(SplittableRandom rnd) {
        double u = rnd.nextDouble();
        double v = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    /**
     * Realistic logits: Gaussian with scale 3, a few heavy-tailed spikes, and in every third row about
     * 10 % masked ({@code -inf}) entries (never entry 0, so every row stays valid).
     */
    public static float[] batch(long seed, int rows, int v) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[rows * v];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < v; i++) {
                double g = 3 * gaussian(rnd);
                if (rnd.nextInt(50) == 0) {
                    g += 8 * Math.abs(gaussian(rnd)); // heavy tail
                }
                x[r * v + i] = (float) g;
            }
            if (r % 3 == 2 && v >= 4) {
                for (int i = 1; i < v; i++) {
                    if (rnd.nextInt(10) == 0) {
                        x[r * v + i] = Float.NEGATIVE_INFINITY;
                    }
                }
            }
        }
        return x;
    }

    /**
     * A student for {@code teacher}: a noisy copy in even rows (small divergences), an independent batch in
     * odd rows (large ones); masked exactly where the teacher is, so every divergence stays finite.
     */
    public static float[] studentFor(float[] teacher, long seed, int rows, int v) {
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x5DEECE66DL);
        float[] other = batch(seed + 1, rows, v);
        float[] s = new float[teacher.length];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < v; i++) {
                int k = r * v + i;
                if (teacher[k] == Float.NEGATIVE_INFINITY) {
                    s[k] = Float.NEGATIVE_INFINITY;
                } else if (r % 2 == 0) {
                    s[k] = (float) (0.8 * teacher[k] + 0.5 * gaussian(rnd));
                } else {
                    s[k] = other[k] == Float.NEGATIVE_INFINITY ? (float) (3 * gaussian(rnd)) : other[k];
                }
            }
        }
        return s;
    }

    /** Labels in {@code [0, v)} pointing at unmasked logits, with every fourth row set to {@code ignoreIndex}. */
    public static int[] labels(long seed, float[] student, int rows, int v, int ignoreIndex) {
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x1234L);
        int[] y = new int[rows];
        for (int r = 0; r < rows; r++) {
            if (r % 4 == 3) {
                y[r] = ignoreIndex;
                continue;
            }
            int k;
            do {
                k = rnd.nextInt(v);
            } while (student[r * v + k] == Float.NEGATIVE_INFINITY);
            y[r] = k;
        }
        return y;
    }

    /** Uniform values in {@code [-1, 1)}, e.g. upstream gradients {@code dy}. */
    public static float[] uniform(long seed, int n) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (2 * rnd.nextDouble() - 1);
        }
        return x;
    }

    /** Row {@code r} of a row-major batch. */
    public static float[] row(float[] batch, int r, int v) {
        return Arrays.copyOfRange(batch, r * v, (r + 1) * v);
    }

    /** Concatenates rows of equal length into a batch. */
    public static float[] stack(float[]... rows) {
        int v = rows[0].length;
        float[] out = new float[rows.length * v];
        for (int r = 0; r < rows.length; r++) {
            if (rows[r].length != v) {
                throw new IllegalArgumentException("row " + r + " has " + rows[r].length + " values, expected " + v);
            }
            System.arraycopy(rows[r], 0, out, r * v, v);
        }
        return out;
    }
}
