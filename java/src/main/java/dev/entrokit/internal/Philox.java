package dev.entrokit.internal;

/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the
 * counter-based generator of Random123, cuRAND and PyTorch: a pure function of (counter, key), so a
 * draw depends only on (seed, row, step) and never on which thread computed it or in what order.
 *
 * <p>Layout used by the sampler: key {@code {k0, k1} = {low 32 bits of seed, high 32 bits of seed}};
 * counter {@code {c0, c1, c2, c3} = {row, low 32 bits of step, high 32 bits of step, 0}}. The uniform
 * double is built from the first two output words, see {@link #uniform}.
 */
public final class Philox {
    private static final int M0 = 0xD2511F53;
    private static final int M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9;
    private static final int W1 = 0xBB67AE85;

    private static final ThreadLocal<int[]> COUNTER = ThreadLocal.withInitial(() -> new int[4]);

    private Philox() {
    }

    /** The 10-round Philox4x32 bijection of {@code counter} (4 words) under {@code key} (2 words). */
    public static int[] philox4x32x10(int[] counter, int[] key) {
        int[] out = counter.clone();
        rounds(out, key[0], key[1]);
        return out;
    }

    /** The bijection in place on {@code c} (4 words), allocation-free for the sampler's hot path. */
    private static void rounds(int[] c, int k0, int k1) {
        int c0 = c[0];
        int c1 = c[1];
        int c2 = c[2];
        int c3 = c[3];
        for (int round = 0; round < 10; round++) {
            if (round > 0) { // the key is bumped between rounds, not before the first
                k0 += W0;
                k1 += W1;
            }
            long p0 = (c0 & 0xFFFFFFFFL) * (M0 & 0xFFFFFFFFL);
            long p1 = (c2 & 0xFFFFFFFFL) * (M1 & 0xFFFFFFFFL);
            int hi0 = (int) (p0 >>> 32);
            int lo0 = (int) p0;
            int hi1 = (int) (p1 >>> 32);
            int lo1 = (int) p1;
            int n0 = hi1 ^ c1 ^ k0;
            int n2 = hi0 ^ c3 ^ k1;
            c0 = n0;
            c1 = lo1;
            c2 = n2;
            c3 = lo0;
        }
        c[0] = c0;
        c[1] = c1;
        c[2] = c2;
        c[3] = c3;
    }

    /**
     * A uniform double in {@code [0, 1)} for (seed, row, step): the top 32 bits of output word 0 and
     * the top 21 bits of word 1 form a 53-bit integer, times {@code 2^-53} (every value exactly
     * representable, 1 never reached).
     */
    public static double uniform(long seed, int row, long step) {
        int[] out = block(seed, row, step, 0);
        long bits = ((out[0] & 0xFFFFFFFFL) << 21) | ((out[1] & 0xFFFFFFFFL) >>> 11);
        return bits * 0x1.0p-53;
    }

    /**
     * A second uniform double in {@code [0, 1)} for (seed, row, step), from output words 2 and 3 of the
     * same block as {@link #uniform}: independent of it, for a pipeline step that draws (XTC) before the
     * sampler draws the token.
     */
    public static double secondUniform(long seed, int row, long step) {
        int[] out = block(seed, row, step, 0);
        long bits = ((out[2] & 0xFFFFFFFFL) << 21) | ((out[3] & 0xFFFFFFFFL) >>> 11);
        return bits * 0x1.0p-53;
    }

    /**
     * {@link #uniform(long, int, long)} at a position within the step (speculative decoding's draft
     * position): counter word 3 is {@code position + 1}, so position draws never meet the sampler's.
     */
    public static double uniform(long seed, int row, long step, int position) {
        int[] out = block(seed, row, step, position + 1);
        long bits = ((out[0] & 0xFFFFFFFFL) << 21) | ((out[1] & 0xFFFFFFFFL) >>> 11);
        return bits * 0x1.0p-53;
    }

    /** {@link #secondUniform(long, int, long)} at a position within the step, as {@link #uniform(long, int, long, int)}. */
    public static double secondUniform(long seed, int row, long step, int position) {
        int[] out = block(seed, row, step, position + 1);
        long bits = ((out[2] & 0xFFFFFFFFL) << 21) | ((out[3] & 0xFFFFFFFFL) >>> 11);
        return bits * 0x1.0p-53;
    }

    /** The output block of (seed, row, step) with counter word 3 = {@code lane}, in a per-thread array. */
    private static int[] block(long seed, int row, long step, int lane) {
        int[] out = COUNTER.get();
        out[0] = row;
        out[1] = (int) step;
        out[2] = (int) (step >>> 32);
        out[3] = lane;
        rounds(out, (int) seed, (int) (seed >>> 32));
        return out;
    }
}
