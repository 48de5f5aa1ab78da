package dev.entrokit.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The per-row pre-passes on logits that decoding servers run before sampling (SPEC §2, "Penalties and
 * biases"), in place on one checked row. Token lists are rows of int32 ids where a negative id is
 * padding, so a batch of requests with histories of different lengths fits one {@code [R, L]} tensor.
 * They touch only the listed tokens (the allowed-ids mask excepted, which rewrites the row), and a
 * thread's scratch counts grow once to the vocabulary: a step allocates nothing.
 */
public final class Penalties {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ThreadLocal<int[][]> COUNTS = ThreadLocal.withInitial(() -> new int[][] {new int[0]});
    /** Marks a token of the prompt in {@link #counts}, above any count a row can reach. */
    private static final int SEEN = 1 << 30;

    private Penalties() {
    }

    /**
     * vLLM's penalties on row {@code x} of {@code n} logits: every token in {@code prompt} or
     * {@code output} gets the repetition penalty θ once ({@code x/θ} where {@code x > 0}, {@code x·θ}
     * otherwise, CTRL / Transformers), then every token generated {@code c > 0} times in {@code output}
     * loses {@code frequency·c + presence} (OpenAI). θ = 1 and zero penalties change nothing.
     */
    public static void apply(MemorySegment x, long xOff, int n, MemorySegment prompt, long promptOff, int promptLen,
                             MemorySegment output, long outputOff, int outputLen, float repetition, float frequency,
                             float presence) {
        int[] count = counts(n);
        // Generated counts first; the prompt's tokens are marked by a flag bit above any count.
        for (int j = 0; j < outputLen; j++) {
            int t = output.getAtIndex(I, outputOff + j);
            if (t >= 0) {
                count[t]++;
            }
        }
        for (int j = 0; j < promptLen; j++) {
            int t = prompt.getAtIndex(I, promptOff + j);
            if (t >= 0) {
                count[t] |= SEEN;
            }
        }
        penalize(x, xOff, output, outputOff, outputLen, count, repetition, frequency, presence);
        penalize(x, xOff, prompt, promptOff, promptLen, count, repetition, frequency, presence);
    }

    /** Applies the penalties once per distinct token of {@code ids} and clears its count as it goes. */
    private static void penalize(MemorySegment x, long xOff, MemorySegment ids, long idsOff, int len, int[] count,
                                 float repetition, float frequency, float presence) {
        for (int j = 0; j < len; j++) {
            int t = ids.getAtIndex(I, idsOff + j);
            if (t < 0 || count[t] == 0) {
                continue; // padding, or a token already done
            }
            int c = count[t] & ~SEEN;
            float v = x.getAtIndex(F, xOff + t);
            v = v > 0 ? v / repetition : v * repetition;
            if (c > 0) {
                v -= frequency * c + presence;
            }
            x.setAtIndex(F, xOff + t, v);
            count[t] = 0;
        }
    }

    /** Adds {@code bias[j]} to the logit of token {@code ids[j]} for each listed token (a token listed twice gets both). */
    public static void bias(MemorySegment x, long xOff, MemorySegment ids, long idsOff, MemorySegment bias, long biasOff,
                            int len) {
        for (int j = 0; j < len; j++) {
            int t = ids.getAtIndex(I, idsOff + j);
            if (t >= 0) {
                x.setAtIndex(F, xOff + t, x.getAtIndex(F, xOff + t) + bias.getAtIndex(F, biasOff + j));
            }
        }
    }

    /**
     * Banned ids ({@code allowed = false}): their logits become {@code -inf}. Allowed ids
     * ({@code allowed = true}): every other logit becomes {@code -inf}; a row whose list is all padding is
     * left as it is (no restriction), as vLLM treats a request without allowed ids.
     */
    public static void restrict(MemorySegment x, long xOff, int n, MemorySegment ids, long idsOff, int len,
                                boolean allowed) {
        if (!allowed) {
            for (int j = 0; j < len; j++) {
                int t = ids.getAtIndex(I, idsOff + j);
                if (t >= 0) {
                    x.setAtIndex(F, xOff + t, Float.NEGATIVE_INFINITY);
                }
            }
            return;
        }
        int[] keep = counts(n);
        int listed = 0;
        for (int j = 0; j < len; j++) {
            int t = ids.getAtIndex(I, idsOff + j);
            if (t >= 0) {
                keep[t] = 1;
                listed++;
            }
        }
        if (listed == 0) {
            return;
        }
        for (int i = 0; i < n; i++) {
            if (keep[i] == 0) {
                x.setAtIndex(F, xOff + i, Float.NEGATIVE_INFINITY);
            }
        }
        for (int j = 0; j < len; j++) {
            int t = ids.getAtIndex(I, idsOff + j);
            if (t >= 0) {
                keep[t] = 0;
            }
        }
    }

    /** This thread's zeroed scratch of at least {@code n} counts (callers leave it zeroed). */
    private static int[] counts(int n) {
        int[][] holder = COUNTS.get();
        if (holder[0].length < n) {
            holder[0] = new int[n];
        }
        return holder[0];
    }
}
