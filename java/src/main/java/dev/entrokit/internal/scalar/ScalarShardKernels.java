package dev.entrokit.internal.scalar;

import dev.entrokit.internal.ExponentialRace;
import dev.entrokit.internal.ShardKernels;
import dev.entrokit.internal.ShardSummary;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The plain version of the shard kernels: sort the part as {@link ScalarSelectionKernels} sorts a row
 * and weigh every live token in float64; the race computes every live token's key.
 */
public final class ScalarShardKernels implements ShardKernels {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override
    public void candidates(MemorySegment x, long xOff, int n, float temperature, int k, ShardSummary out) {
        out.clear();
        long[] keys = new long[n];
        int live = 0;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float z = x.getAtIndex(F, xOff + i) + 0f; // -0.0 ties with 0.0
            if (Float.isNaN(z) || z == Float.POSITIVE_INFINITY) {
                out.special = true;
                return;
            }
            if (z > Float.NEGATIVE_INFINITY) {
                max = Math.max(max, z);
                int bits = Float.floatToIntBits(z);
                int sortable = bits ^ ((bits >> 31) & 0x7FFFFFFF);
                keys[live++] = ((long) ~sortable << 32) | i; // larger logits first, then lower ids
            }
        }
        if (live == 0) {
            return;
        }
        Arrays.sort(keys, 0, live);
        double mass = 0;
        for (int j = 0; j < live; j++) { // SPEC order, as the reference adds a row's mass
            mass += Math.exp(((double) x.getAtIndex(F, xOff + (int) keys[j]) - max) / temperature);
        }
        int count = Math.min(k, live);
        out.reserve(count);
        for (int j = 0; j < count; j++) {
            int i = (int) keys[j];
            out.ids[j] = i;
            out.logits[j] = x.getAtIndex(F, xOff + i);
        }
        out.count = count;
        out.max = max;
        out.mass = mass;
        if (count < live) {
            out.boundId = (int) keys[count];
            out.bound = x.getAtIndex(F, xOff + out.boundId);
        }
    }

    @Override
    public int race(MemorySegment x, long xOff, int n, int idBase, float temperature, long seed, int row, long step,
                    double[] keyOut) {
        int best = -1;
        double bestKey = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float z = x.getAtIndex(F, xOff + i);
            if (Float.isNaN(z) || z == Float.POSITIVE_INFINITY) {
                keyOut[0] = Double.NaN;
                return -2;
            }
            if (z == Float.NEGATIVE_INFINITY) {
                continue; // masked: never sampled
            }
            double key = ExponentialRace.key(z, temperature, seed, row, step, idBase + i);
            if (best < 0 || key > bestKey) { // ascending ids: an equal key keeps the lower id
                best = i;
                bestKey = key;
            }
        }
        keyOut[0] = bestKey;
        return best;
    }
}
