package dev.entrokit.internal;

import java.lang.foreign.MemorySegment;

/**
 * The per-part kernels of sharded selection and sampling (SPEC §2, "Shards, chunks and the race"): a
 * part is a contiguous run of a row's logits (a shard on another device, or a fixed-size chunk of one
 * long row), seen at element offset {@code xOff} with {@code n ≥ 0} logits. As with the other kernel
 * interfaces, arguments are checked by the caller.
 */
public interface ShardKernels {

    /**
     * Summarizes a part for the candidate merge into {@code out} (which owns its arrays): whether a
     * logit is NaN or {@code +inf}; the maximum and {@code Σ exp((x − max)/T)} over the live tokens in
     * float64 (0 and {@code −inf} when none is live); the first {@code min(k, live)} live tokens in
     * SPEC order (local ids and logits); and the logit and local id of the first live token not
     * listed ({@code −inf} and {@code -1} when every live token is listed). Requires {@code temperature > 0}, {@code k ≥ 1}.
     */
    void candidates(MemorySegment x, long xOff, int n, float temperature, int k, ShardSummary out);

    /**
     * The exponential race over the live tokens of a part ({@link ExponentialRace}): the local index
     * of the winner (ids are {@code idBase + local}), with its key in {@code keyOut[0]}; {@code -1}
     * when no token is live, {@code -2} when a logit is NaN or {@code +inf}. Temperature 0 is greedy
     * (the key is the logit). Bitwise the same on every backend.
     */
    int race(MemorySegment x, long xOff, int n, int idBase, float temperature, long seed, int row, long step,
             double[] keyOut);
}
