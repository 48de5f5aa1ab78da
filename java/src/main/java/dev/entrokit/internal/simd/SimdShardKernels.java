package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.D;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.ORDER;

import dev.entrokit.internal.ExponentialRace;
import dev.entrokit.internal.ShardKernels;
import dev.entrokit.internal.ShardSummary;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The shard kernels on the Vector API. {@link #candidates} is the selection kernels' ranking
 * ({@code SimdSelectionKernels.rank}: sampled threshold, {@code compress}, sort of the survivors) and
 * their split mass (float64 over the ranked tokens, float32 lanes over the rest).
 *
 * <p>{@link #race} draws Philox in 64-bit lanes, one draw for two tokens, and computes a key, with
 * {@link ExponentialRace}'s scalar arithmetic, only for a token whose upper bound
 * {@code x/T + gumbelBound} reaches the best key so far: the winner and its key are those of the
 * scalar kernel, bit for bit. The best key starts at the argmax's, so in a row of 128k tokens a few
 * dozen keys are computed; a block of tokens whose logits lie more than {@code G_MAX} temperatures
 * below it skips the draw.
 */
public final class SimdShardKernels implements ShardKernels {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final VectorSpecies<Long> LS = VectorSpecies.of(long.class, F.vectorShape());
    /** As many floats as {@code D} has lanes, to be widened to double. */
    private static final VectorSpecies<Float> FH =
            VectorSpecies.of(float.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final int DL = D.length();
    private static final long MASK32 = 0xFFFFFFFFL;
    private static final long MASK52 = (1L << 52) - 1;
    private static final long M0 = 0xD2511F53L;
    private static final long M1 = 0xCD9E8D57L;
    private static final long W0 = 0x9E3779B9L;
    private static final long W1 = 0xBB67AE85L;

    @Override
    public void candidates(MemorySegment x, long xOff, int n, float temperature, int k, ShardSummary out) {
        out.clear();
        if (n == 0) {
            return;
        }
        Candidates c = Candidates.get();
        if (SimdSelectionKernels.rank(x, xOff, n, temperature, List.of(), (int) Math.min((long) k + 1, n), c)
                == Kept.SPECIAL) {
            // rank calls a row of -inf special too; here that is a part with no live token
            float m = SimdSelectionKernels.maxOrNaN(x, xOff, n);
            out.special = Float.isNaN(m) || m == Float.POSITIVE_INFINITY;
            return;
        }
        int live = 0;
        while (live < c.count && c.logit[live] > Float.NEGATIVE_INFINITY) {
            live++;
        }
        int count = Math.min(k, live);
        out.reserve(count);
        System.arraycopy(c.index, 0, out.ids, 0, count);
        System.arraycopy(c.logit, 0, out.logits, 0, count);
        c.weigh(temperature);
        out.count = count;
        out.max = c.max;
        out.mass = SimdSelectionKernels.massWithRest(x, xOff, n, temperature, c, Float.NEGATIVE_INFINITY,
                Integer.MAX_VALUE);
        // Every token outside the ranked ones is below them, so the first one not listed is ranked
        if (count < live) {
            out.bound = c.logit[count];
            out.boundId = c.index[count];
        }
    }

    @Override
    public int race(MemorySegment x, long xOff, int n, int idBase, float temperature, long seed, int row, long step,
                    double[] keyOut) {
        int first = SimdSelectionKernels.argmax(x, xOff, n);
        if (first < 0) { // a special row or no live token: which one, only now
            float m = SimdSelectionKernels.maxOrNaN(x, xOff, n);
            boolean special = Float.isNaN(m) || m == Float.POSITIVE_INFINITY;
            keyOut[0] = special ? Double.NaN : Double.NEGATIVE_INFINITY;
            return special ? -2 : -1;
        }
        double best = ExponentialRace.key(x.getAtIndex(F32, xOff + first), temperature, seed, row, step, idBase + first);
        if (temperature == 0f) {
            keyOut[0] = best;
            return first;
        }
        return scan(x, xOff, n, idBase, temperature, seed, row, step, first, best, keyOut);
    }

    /** Per thread: the 52 random bits of every token of a part, between {@link #draw} and {@link #reach}. */
    private static final ThreadLocal<long[][]> BITS = ThreadLocal.withInitial(() -> new long[1][0]);

    /**
     * The race over the aligned blocks of 16 tokens (see {@link ExponentialRace#counter}) in two hot
     * loops that exchange an array, as the Vector API wants: {@link #draw} runs Philox, {@link #reach}
     * bounds each token's Gumbel term and keys the tokens whose bound reaches the best key. Tokens
     * before the first aligned block and after the last are keyed one by one.
     */
    private static int scan(MemorySegment x, long xOff, int n, int idBase, float temperature, long seed, int row,
                            long step, int bestIndex, double bestKey, double[] keyOut) {
        int head = DL > 8 ? n : Math.min(n, (16 - (idBase & 15)) & 15);
        int upper = head + (n - head) / 16 * 16;
        double[] best = {bestKey, bestIndex};
        one(x, xOff, 0, head, idBase, temperature, seed, row, step, best);
        if (upper > head) {
            long[][] holder = BITS.get();
            if (holder[0].length < upper - head) {
                holder[0] = new long[Math.max(upper - head, 1024)];
            }
            long[] bits = holder[0];
            draw(x, xOff + head, upper - head, idBase + head, 1.0 / temperature,
                    best[0] - ExponentialRace.margin(best[0]) - ExponentialRace.G_MAX, seed, row, step, bits);
            reach(x, xOff, head, upper, idBase, temperature, seed, row, step, bits, best);
        }
        one(x, xOff, upper, n, idBase, temperature, seed, row, step, best);
        keyOut[0] = best[0];
        return (int) best[1];
    }

    /**
     * Philox4x32-10 for {@code n} (a multiple of 16) tokens whose first global id is a multiple of 16,
     * in {@code long} lanes (a 32-bit word in each, products by the 64-bit multiply): lane {@code j}'s
     * draw gives tokens {@code 16q + j} (words 0, 1) and {@code 16q + 8 + j} (words 2, 3) their 52 bits.
     * A half-block whose logits all lie below {@code far} (in temperature units) cannot win and is not
     * drawn ({@link #reach} skips it by the same test).
     */
    private static void draw(MemorySegment x, long off, int n, int idBase, double invT, double far, long seed, int row,
                             long step, long[] bits) {
        long k0Init = seed & MASK32;
        long k1Init = (seed >>> 32) & MASK32;
        LongVector lane = LongVector.zero(LS).addIndex(1);
        for (int i = 0; i < n; i += 16) {
            long counterBase = ((long) ((idBase + i) >>> 4) << 3) | (ExponentialRace.ID_TAG & MASK32);
            for (int j0 = 0; j0 < 8; j0 += DL) {
                DoubleVector lo = (DoubleVector) FloatVector.fromMemorySegment(FH, x, (off + i + j0) * Float.BYTES, ORDER)
                        .convertShape(VectorOperators.F2D, D, 0);
                DoubleVector hi = (DoubleVector) FloatVector.fromMemorySegment(FH, x, (off + i + 8 + j0) * Float.BYTES,
                        ORDER).convertShape(VectorOperators.F2D, D, 0);
                if (!lo.max(hi).mul(invT).compare(VectorOperators.GE, far).anyTrue()) {
                    continue;
                }
                LongVector c0 = LongVector.broadcast(LS, row & MASK32);
                LongVector c1 = LongVector.broadcast(LS, step & MASK32);
                LongVector c2 = LongVector.broadcast(LS, (step >>> 32) & MASK32);
                LongVector c3 = lane.add(counterBase + j0);
                long k0 = k0Init;
                long k1 = k1Init;
                for (int round = 0; round < 10; round++) {
                    LongVector p0 = c0.mul(M0);
                    LongVector p1 = c2.mul(M1);
                    LongVector n0 = p1.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, c1)
                            .lanewise(VectorOperators.XOR, k0);
                    LongVector n2 = p0.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, c3)
                            .lanewise(VectorOperators.XOR, k1);
                    c1 = p1.and(MASK32);
                    c3 = p0.and(MASK32);
                    c0 = n0;
                    c2 = n2;
                    k0 = (k0 + W0) & MASK32;
                    k1 = (k1 + W1) & MASK32;
                }
                c0.lanewise(VectorOperators.LSHL, 20).or(c1.lanewise(VectorOperators.LSHR, 12)).intoArray(bits, i + j0);
                c2.lanewise(VectorOperators.LSHL, 20).or(c3.lanewise(VectorOperators.LSHR, 12)).intoArray(bits, i + 8 + j0);
            }
        }
    }

    /**
     * Tokens {@code from … to − 1} (drawn by {@link #draw} into {@code bits[j − from]}): each one's bound
     * {@code x/T + (52 − ⌊log2(c + ½)⌋)·ln 2} with {@code c = 2^52 − 1 − b}, and the scalar key of those
     * whose bound reaches the best key; {@code best = {key, index}}.
     */
    private static void reach(MemorySegment x, long xOff, int from, int to, int idBase, float temperature, long seed,
                              int row, long step, long[] bits, double[] best) {
        double invT = 1.0 / temperature;
        double cut = best[0] - ExponentialRace.margin(best[0]);
        double far = cut - ExponentialRace.G_MAX;
        for (int i = from; i < to; i += DL) {
            DoubleVector xt = ((DoubleVector) FloatVector.fromMemorySegment(FH, x, (xOff + i) * Float.BYTES, ORDER)
                    .convertShape(VectorOperators.F2D, D, 0)).mul(invT);
            VectorMask<Double> near = xt.compare(VectorOperators.GE, far); // undrawn lanes are never near
            if (!near.anyTrue()) {
                continue;
            }
            LongVector comp = LongVector.fromArray(LS, bits, i - from).lanewise(VectorOperators.XOR, MASK52);
            // floor(log2(c + ½)) from the exponent field; c + ½ is exact below 2^52
            LongVector e = ((DoubleVector) comp.convert(VectorOperators.L2D, 0)).add(0.5).reinterpretAsLongs()
                    .lanewise(VectorOperators.LSHR, 52);
            DoubleVector bound = ((DoubleVector) LongVector.broadcast(LS, 52 + 1023).sub(e)
                    .convert(VectorOperators.L2D, 0)).mul(ExponentialRace.LN2);
            long lanes = xt.add(bound).compare(VectorOperators.GE, cut).and(near).toLong();
            if (lanes != 0) {
                keys(x, xOff, i, lanes, idBase, temperature, seed, row, step, best);
                cut = best[0] - ExponentialRace.margin(best[0]);
                far = cut - ExponentialRace.G_MAX;
            }
        }
    }

    /** The scalar keys of the tokens at {@code from + lane} for each set bit of {@code lanes}; {@code best = {key, index}}. */
    private static void keys(MemorySegment x, long xOff, int from, long lanes, int idBase, float temperature, long seed,
                             int row, long step, double[] best) {
        while (lanes != 0) {
            int j = from + Long.numberOfTrailingZeros(lanes);
            lanes &= lanes - 1;
            double key = ExponentialRace.key(x.getAtIndex(F32, xOff + j), temperature, seed, row, step, idBase + j);
            if (ExponentialRace.beats(key, j, best[0], (long) best[1])) {
                best[0] = key;
                best[1] = j;
            }
        }
    }

    /** Tokens {@code from … to − 1} keyed one by one; {@code best = {key, index}}. */
    private static void one(MemorySegment x, long xOff, int from, int to, int idBase, float temperature, long seed,
                            int row, long step, double[] best) {
        for (int j = from; j < to; j++) {
            float z = x.getAtIndex(F32, xOff + j);
            if (z == Float.NEGATIVE_INFINITY) {
                continue;
            }
            double key = ExponentialRace.key(z, temperature, seed, row, step, idBase + j);
            if (ExponentialRace.beats(key, j, best[0], (long) best[1])) {
                best[0] = key;
                best[1] = j;
            }
        }
    }
}
