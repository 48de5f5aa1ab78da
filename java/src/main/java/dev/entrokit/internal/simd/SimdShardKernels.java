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
 * <p>{@link #race} draws Philox for {@code D.length()} tokens at once in 64-bit lanes and computes a
 * key, with {@link ExponentialRace}'s scalar arithmetic, only for a token whose upper bound
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
        float m = SimdSelectionKernels.maxOrNaN(x, xOff, n);
        if (Float.isNaN(m) || m == Float.POSITIVE_INFINITY) {
            out.special = true;
            return;
        }
        if (m == Float.NEGATIVE_INFINITY) {
            return;
        }
        Candidates c = Candidates.get();
        SimdSelectionKernels.rank(x, xOff, n, temperature, List.of(), (int) Math.min((long) k + 1, n), c);
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
        float m = SimdSelectionKernels.maxOrNaN(x, xOff, n);
        if (Float.isNaN(m) || m == Float.POSITIVE_INFINITY) {
            keyOut[0] = Double.NaN;
            return -2;
        }
        if (m == Float.NEGATIVE_INFINITY) {
            keyOut[0] = Double.NEGATIVE_INFINITY;
            return -1;
        }
        int first = SimdSelectionKernels.argmax(x, xOff, n);
        double best = ExponentialRace.key(x.getAtIndex(F32, xOff + first), temperature, seed, row, step, idBase + first);
        if (temperature == 0f) {
            keyOut[0] = best;
            return first;
        }
        return scan(x, xOff, n, idBase, temperature, seed, row, step, first, best, keyOut);
    }

    /**
     * The race's one hot loop: Philox4x32-10 in {@code long} lanes (a 32-bit word in each, products by
     * the 64-bit multiply), the bound of each lane's Gumbel term from the exponent of {@code c + ½}
     * (see {@link ExponentialRace#gumbelBound}), and the scalar key for lanes that reach the best.
     */
    private static int scan(MemorySegment x, long xOff, int n, int idBase, float temperature, long seed, int row,
                            long step, int bestIndex, double bestKey, double[] keyOut) {
        double invT = 1.0 / temperature;
        double cut = bestKey - ExponentialRace.margin(bestKey);
        long c0Init = row & MASK32;
        long c1Init = step & MASK32;
        long c2Init = (step >>> 32) & MASK32;
        long k0Init = seed & MASK32;
        long k1Init = (seed >>> 32) & MASK32;
        LongVector lane = LongVector.zero(LS).addIndex(1);
        int upper = n - n % DL;
        for (int i = 0; i < upper; i += DL) {
            DoubleVector xt = ((DoubleVector) FloatVector.fromMemorySegment(FH, x, (xOff + i) * Float.BYTES, ORDER)
                    .convertShape(VectorOperators.F2D, D, 0)).mul(invT);
            VectorMask<Double> near = xt.compare(VectorOperators.GE, cut - ExponentialRace.G_MAX); // -inf never is
            if (!near.anyTrue()) {
                continue;
            }
            LongVector c0 = LongVector.broadcast(LS, c0Init);
            LongVector c1 = LongVector.broadcast(LS, c1Init);
            LongVector c2 = LongVector.broadcast(LS, c2Init);
            LongVector c3 = lane.add(idBase + i).or(ExponentialRace.ID_TAG & MASK32);
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
            LongVector comp = c0.lanewise(VectorOperators.LSHL, 20).or(c1.lanewise(VectorOperators.LSHR, 12))
                    .lanewise(VectorOperators.XOR, MASK52);
            // floor(log2(c + ½)) from the exponent field; c + ½ is exact below 2^52
            LongVector e = ((DoubleVector) comp.convert(VectorOperators.L2D, 0)).add(0.5).reinterpretAsLongs()
                    .lanewise(VectorOperators.LSHR, 52);
            DoubleVector bound = ((DoubleVector) LongVector.broadcast(LS, 52 + 1023).sub(e)
                    .convert(VectorOperators.L2D, 0)).mul(ExponentialRace.LN2);
            VectorMask<Double> reach = xt.add(bound).compare(VectorOperators.GE, cut).and(near);
            if (reach.anyTrue()) {
                long bitsMask = reach.toLong();
                while (bitsMask != 0) {
                    int j = i + Long.numberOfTrailingZeros(bitsMask);
                    bitsMask &= bitsMask - 1;
                    double key = ExponentialRace.key(x.getAtIndex(F32, xOff + j), temperature, seed, row, step,
                            idBase + j);
                    if (ExponentialRace.beats(key, j, bestKey, bestIndex)) {
                        bestKey = key;
                        bestIndex = j;
                        cut = bestKey - ExponentialRace.margin(bestKey);
                    }
                }
            }
        }
        for (int j = upper; j < n; j++) {
            float z = x.getAtIndex(F32, xOff + j);
            if (z == Float.NEGATIVE_INFINITY) {
                continue;
            }
            double key = ExponentialRace.key(z, temperature, seed, row, step, idBase + j);
            if (ExponentialRace.beats(key, j, bestKey, bestIndex)) {
                bestKey = key;
                bestIndex = j;
            }
        }
        keyOut[0] = bestKey;
        return bestIndex;
    }
}
