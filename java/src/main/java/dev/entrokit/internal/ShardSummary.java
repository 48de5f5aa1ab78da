package dev.entrokit.internal;

import java.util.Arrays;

/** What {@link ShardKernels#candidates} writes: one part's candidates and softmax partial state. */
public final class ShardSummary {
    /** A NaN or {@code +inf} logit: the whole row is special (SPEC §1). */
    public boolean special;
    /** The largest live logit, {@code −inf} when none is live. */
    public float max;
    /** {@code Σ exp((x − max)/T)} over the live tokens, float64; 0 when none is live. */
    public double mass;
    /** How many candidates are listed. */
    public int count;
    /** Local ids of the candidates, in SPEC order. */
    public int[] ids = new int[0];
    /** Their logits. */
    public float[] logits = new float[0];
    /** The logit of the first live token not listed; {@code −inf} when the list holds every live token. */
    public float bound;
    /** The local id of that token; {@code -1} when there is none. */
    public int boundId;

    /** Room for {@code k} candidates. */
    public void reserve(int k) {
        if (ids.length < k) {
            ids = Arrays.copyOf(ids, k);
            logits = Arrays.copyOf(logits, k);
        }
    }

    /** The state of a part with no live token. */
    public void clear() {
        special = false;
        max = Float.NEGATIVE_INFINITY;
        mass = 0;
        count = 0;
        bound = Float.NEGATIVE_INFINITY;
        boundId = -1;
    }
}
