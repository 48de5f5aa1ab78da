package dev.entrokit.internal;

/**
 * The exponential race (SPEC §2, "Sampling by an exponential race"): token {@code i} of a row gets the
 * key {@code x_i/T − log E_i} with {@code E_i ~ Exp(1)} drawn by Philox from (seed, row, step, global id
 * {@code i}), and the largest key wins (ties by the lower id). {@code P(i wins) = e^{x_i/T} / Σ e^{x_j/T}},
 * and since a key depends on nothing but its own token, any split of the row into shards or chunks
 * gives the same winner: each part sends its best (key, id) and the best of those wins.
 *
 * <p>Every backend computes a key with this class's scalar arithmetic (IEEE double {@code +, −, ×, ÷}
 * only, no library log whose last bit could differ between the interpreter, C2 and SVML), so a key is
 * the same bits on every backend, thread, chunking and SIMD width. Vector kernels only <em>skip</em>
 * tokens that provably cannot win ({@link #gumbelBound}) and compute the rest here.
 *
 * <p>Draw: key {@code (low, high 32 bits of seed)}, counter {@code (row, low, high 32 bits of step,
 * counter(id))} with {@code counter(16q + 8h + j) = (8q + j) | 2^31} (the top bit keeps these counters
 * apart from the inverse-CDF sampler's, whose last word is 0); output words {@code 2h, 2h + 1} give
 * {@code b} (the top 32 bits of the first above the top 20 of the second), {@code U = (b + ½)·2^-52 ∈
 * (0, 1)} exactly, {@code E = −log U}, {@code g = −log E}. The Gumbel term {@code g} lies in
 * {@code [G_MIN, G_MAX] = [−log(52.7·ln 2), −log(−log(1 − 2^-53))] ≈ [−3.61, 36.74]}.
 */
public final class ExponentialRace {
    /** Above every Gumbel term this sampler can draw ({@code 53·ln 2 ≈ 36.737} plus room for rounding). */
    public static final double G_MAX = 36.75;
    /** {@code ln 2}, for {@link #gumbelBound}. */
    public static final double LN2 = 0.6931471805599453;
    /** The top bit of the counter's last word, see the class comment. */
    public static final int ID_TAG = 0x80000000;

    private static final int M0 = 0xD2511F53;
    private static final int M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9;
    private static final int W1 = 0xBB67AE85;
    private static final double TWO_M52 = 0x1.0p-52;
    // fdlibm's e_log.c coefficients (a minimax polynomial in s² for log((1+s)/(1−s)) − 2s)
    private static final double LN2_HI = 6.93147180369123816490e-01;
    private static final double LN2_LO = 1.90821492927058770002e-10;
    private static final double LG1 = 6.666666666666735130e-01;
    private static final double LG2 = 3.999999999940941908e-01;
    private static final double LG3 = 2.857142874366239149e-01;
    private static final double LG4 = 2.222219843214978396e-01;
    private static final double LG5 = 1.818357216161805012e-01;
    private static final double LG6 = 1.531383769920937332e-01;
    private static final double LG7 = 1.479819860511658591e-01;
    private static final double SQRT2 = 1.4142135623730951;

    private ExponentialRace() {
    }

    /**
     * The Philox counter's last word for token {@code id}: tokens {@code 16q + j} and {@code 16q + 8 + j}
     * ({@code j < 8}) share the counter {@code 8q + j} (with the tag bit), the first taking output words
     * 0 and 1, the second words 2 and 3. One draw serves two tokens, and 8 counters in a row serve 16
     * adjacent tokens, which a vector of up to 8 64-bit lanes draws at once.
     */
    public static int counter(int id) {
        return (((id >>> 4) << 3) | (id & 7)) | ID_TAG;
    }

    /** Whether token {@code id} takes output words 2 and 3 of its counter's draw (see {@link #counter}). */
    public static boolean highWords(int id) {
        return (id & 8) != 0;
    }

    /** The 52 random bits of a token from its two output words: the top 32 of the first above the top 20 of the second. */
    public static long bits(int first, int second) {
        return ((first & 0xFFFFFFFFL) << 20) | ((second & 0xFFFFFFFFL) >>> 12);
    }

    /**
     * The 52 random bits {@code b} of token {@code id}: Philox4x32-10 of counter
     * {@code (row, step, counter(id))} under {@code seed}, the word pair {@link #highWords} says.
     */
    public static long bits(long seed, int row, long step, int id) {
        int k0 = (int) seed;
        int k1 = (int) (seed >>> 32);
        int c0 = row;
        int c1 = (int) step;
        int c2 = (int) (step >>> 32);
        int c3 = counter(id);
        for (int round = 0; round < 10; round++) {
            if (round > 0) {
                k0 += W0;
                k1 += W1;
            }
            long p0 = (c0 & 0xFFFFFFFFL) * (M0 & 0xFFFFFFFFL);
            long p1 = (c2 & 0xFFFFFFFFL) * (M1 & 0xFFFFFFFFL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            c1 = (int) p1;
            c3 = (int) p0;
            c0 = n0;
            c2 = n2;
        }
        return highWords(id) ? bits(c2, c3) : bits(c0, c1);
    }

    /** The Gumbel term {@code g = −log(−log U)} of 52 random bits. */
    public static double gumbel(long bits) {
        double u = (bits + 0.5) * TWO_M52;
        return -log(-log(u));
    }

    /**
     * An upper bound on {@link #gumbel(long) gumbel(bits)} from integer arithmetic: with
     * {@code c = 2^52 − 1 − b}, {@code 1 − U = (c + ½)·2^-52}, and {@code g ≤ −log(1 − U)} because
     * {@code −log U ≥ 1 − U}; {@code −log(1 − U) ≤ (52 − ⌊log2(c + ½)⌋)·ln 2 = (nlz64(c) − 11)·ln 2}.
     */
    public static double gumbelBound(long bits) {
        long c = bits ^ ((1L << 52) - 1);
        return (Long.numberOfLeadingZeros(c) - 11) * LN2;
    }

    /** The race key of token {@code id} with logit {@code x} at {@code 1/T}: {@code x/T + g}; {@code T = 0} is greedy ({@code x}). */
    public static double key(float x, float temperature, long seed, int row, long step, int id) {
        if (temperature == 0f) {
            return x;
        }
        return (double) x / temperature + gumbel(bits(seed, row, step, id));
    }

    /**
     * A margin below the best key under which a token whose bound {@code x/T + gumbelBound} falls cannot
     * win, covering the rounding of both sides (a few ulps of the larger magnitude).
     */
    public static double margin(double key) {
        return 1e-9 * (1 + Math.abs(key));
    }

    /** Whether (key a, id a) beats (key b, id b): a larger key, or an equal key and a lower id. */
    public static boolean beats(double keyA, long idA, double keyB, long idB) {
        return keyA > keyB || keyA == keyB && idA < idB;
    }

    /**
     * Natural log of a positive normal double, fdlibm's {@code __ieee754_log} algorithm (< 1 ulp) in
     * plain IEEE arithmetic: {@code x = 2^k·(1 + f)} with {@code 1 + f ∈ [√½, √2)}, {@code s = f/(2 + f)},
     * {@code log(1 + f) = f − s·(f − R(s²))}-style reduction. Deterministic wherever it runs.
     */
    public static double log(double x) {
        long bits = Double.doubleToRawLongBits(x);
        int k = (int) (bits >>> 52) - 1023;
        double m = Double.longBitsToDouble((bits & 0x000FFFFFFFFFFFFFL) | 0x3FF0000000000000L);
        if (m > SQRT2) {
            m *= 0.5;
            k++;
        }
        double f = m - 1.0;
        double hfsq = 0.5 * f * f;
        double s = f / (2.0 + f);
        double z = s * s;
        double w = z * z;
        double t1 = w * (LG2 + w * (LG4 + w * LG6));
        double t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
        double r = t2 + t1;
        return k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f);
    }
}
