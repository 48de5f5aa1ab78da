package dev.entrokit.cli;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * A synthetic batch shaped like a language model's: a teacher and a student row per position over a
 * large vocabulary, with Gumbel-tailed noise, a few dominant tokens per row, about 5 % of the
 * vocabulary masked to {@code -inf} (the same tokens for both, as a grammar or vocabulary mask would
 * be), and hard labels with some rows set to the ignore index.
 *
 * @param rows    positions
 * @param cols    vocabulary size
 * @param teacher {@code [rows, cols]} logits
 * @param student {@code [rows, cols]} logits: a noisy, slightly flatter copy of the teacher
 * @param labels  one label per row: the teacher's top token, another unmasked token, or -100
 */
public record DemoData(int rows, int cols, float[] teacher, float[] student, int[] labels) {
    /** The label value that marks a row as ignored in cross-entropy. */
    public static final int IGNORE = -100;
    private static final double MASK_FRACTION = 0.05;
    private static final int SPIKES = 8;

    /** Generates the batch; each row has its own generator, so the result does not depend on threads. */
    public static DemoData generate(int rows, int cols, long seed) {
        long n = (long) rows * cols;
        if (rows < 1 || cols < 2 || n > Integer.MAX_VALUE - 8) {
            throw new UserException("demo: need rows >= 1, cols >= 2 and rows*cols < 2^31, got " + rows + " x " + cols);
        }
        float[] t = new float[(int) n];
        float[] s = new float[(int) n];
        int[] labels = new int[rows];
        IntStream.range(0, rows).parallel().forEach(r -> fillRow(r, cols, seed, t, s, labels));
        return new DemoData(rows, cols, t, s, labels);
    }

    private static void fillRow(int r, int cols, long seed, float[] t, float[] s, int[] labels) {
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + r);
        int base = r * cols;
        int top = -1;
        for (int i = 0; i < cols; i++) {
            // Gumbel noise has the exponential right tail of real logit histograms.
            double g = -Math.log(-Math.log(rng.nextDouble(Double.MIN_NORMAL, 1.0)));
            // Laplace noise, heavier-tailed than Gaussian, is the student's disagreement.
            double u = rng.nextDouble(-0.5, 0.5);
            double lap = -Math.signum(u) * Math.log1p(-2 * Math.abs(u));
            float x = (float) (1.5 * g);
            t[base + i] = x;
            s[base + i] = (float) (0.85 * x + 0.6 * lap);
        }
        for (int k = 0; k < SPIKES; k++) {
            // A few tokens carry most of the probability mass, as after a confident prefix.
            int i = rng.nextInt(cols);
            float spike = (float) (8 + 8 * rng.nextDouble());
            t[base + i] += spike;
            s[base + i] += (float) (spike * (0.7 + 0.4 * rng.nextDouble()));
        }
        for (int i = 0; i < cols; i++) {
            if (rng.nextDouble() < MASK_FRACTION) {
                t[base + i] = Float.NEGATIVE_INFINITY;
                s[base + i] = Float.NEGATIVE_INFINITY;
            } else if (top < 0 || t[base + i] > t[base + top]) {
                top = i;
            }
        }
        if (top < 0) {
            // Every token masked (only possible for tiny vocabularies): keep one so the row is defined.
            top = 0;
            t[base] = 0;
            s[base] = 0;
        }
        int kind = rng.nextInt(16);
        if (kind == 0) {
            labels[r] = IGNORE;
        } else if (kind < 12) {
            labels[r] = top;
        } else {
            int y = rng.nextInt(cols);
            while (t[base + y] == Float.NEGATIVE_INFINITY) {
                y = (y + 1) % cols;
            }
            labels[r] = y;
        }
    }

    /**
     * The teacher as a server returns it: per row its {@code k} most probable token ids ({@code [rows, k]}, ties by
     * index) and their log-probabilities ({@code [rows, k]}), for the sparse-teacher ops.
     */
    public NpyArray[] sparseTeacher(int k) {
        int[] ids = new int[rows * k];
        float[] lp = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            double m = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < cols; i++) {
                m = Math.max(m, teacher[base + i]);
            }
            double d = 0;
            for (int i = 0; i < cols; i++) {
                d += Math.exp(teacher[base + i] - m);
            }
            double logD = Math.log(d);
            Integer[] order = IntStream.range(0, cols).boxed().toArray(Integer[]::new);
            java.util.Arrays.sort(order, (a, b) -> Float.compare(teacher[base + b], teacher[base + a]));
            for (int j = 0; j < k; j++) {
                ids[r * k + j] = order[j];
                lp[r * k + j] = (float) Math.min(0, teacher[base + order[j]] - m - logD);
            }
        }
        long[] shape = {rows, k};
        return new NpyArray[] {new NpyArray.Int32(shape, ids), new NpyArray.Float32(shape, lp)};
    }

    /**
     * One speculative chain of {@code k} drafts per row for the {@code speculative} op: the target probabilities
     * {@code [rows, k + 1, V]} are the softmax of the teacher at rows {@code r, r + 1, …} (wrapping), the draft
     * probabilities {@code [rows, k, V]} the student's at the same rows, and each draft id the student's argmax.
     */
    public NpyArray[] speculativeChain(int k) {
        float[] target = new float[rows * (k + 1) * cols];
        float[] draft = new float[rows * k * cols];
        int[] ids = new int[rows * k];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i <= k; i++) {
                int src = (r + i) % rows;
                softmaxInto(teacher, src, target, (r * (k + 1) + i) * cols);
                if (i < k) {
                    softmaxInto(student, src, draft, (r * k + i) * cols);
                    int best = 0;
                    for (int j = 1; j < cols; j++) {
                        best = draft[(r * k + i) * cols + j] > draft[(r * k + i) * cols + best] ? j : best;
                    }
                    ids[r * k + i] = best;
                }
            }
        }
        return new NpyArray[] {new NpyArray.Int32(new long[] {rows, k}, ids),
                new NpyArray.Float32(new long[] {rows, k, cols}, draft), new NpyArray.Float32(new long[] {rows, k + 1, cols}, target)};
    }

    private void softmaxInto(float[] logits, int row, float[] out, int at) {
        double m = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < cols; j++) {
            m = Math.max(m, logits[row * cols + j]);
        }
        double d = 0;
        for (int j = 0; j < cols; j++) {
            d += Math.exp(logits[row * cols + j] - m);
        }
        for (int j = 0; j < cols; j++) {
            out[at + j] = (float) (Math.exp(logits[row * cols + j] - m) / d);
        }
    }

    /** {@code [batch, n, n]} costs uniform in [0, 1), for the transport ops. */
    public static NpyArray.Float32 cost(int batch, int n, long seed) {
        return new NpyArray.Float32(new long[] {batch, n, n}, uniform(batch * n * n, seed));
    }

    /** {@code [batch, n, d]} points uniform in the unit cube, for the transport ops. */
    public static NpyArray.Float32 points(int batch, int n, int d, long seed) {
        return new NpyArray.Float32(new long[] {batch, n, d}, uniform(batch * n * d, seed));
    }

    /** {@code count} floats uniform in [0, 1). */
    static float[] uniform(int count, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) rng.nextDouble();
        }
        return v;
    }
}
