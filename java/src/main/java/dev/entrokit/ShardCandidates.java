package dev.entrokit;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * A compact summary of one shard of a row (a contiguous run of its logits with global token ids), from
 * which selection filters can be decided without gathering the row (SPEC §2, "Shards, chunks and the
 * race"): the shard's first {@code k} live tokens in SPEC order with their global ids and logits, the
 * softmax partial state at the temperature {@code T} (the maximum {@code m} and
 * {@code Σ exp((x − m)/T)} over its live tokens, in float64), and the bound: the logit and global id
 * of its first live token that is not listed ({@code −inf} and {@code −1} when every live token is).
 *
 * <p>{@link #merge} gives the summary of the union of disjoint shards: every candidate of both in SPEC
 * order (nothing is dropped, so a merged list holds at most the sum of what the shards sent), the
 * rescaled sums, and as bound the earlier (in SPEC order) of the parts' bound tokens. It is
 * associative (the list and bound exactly, the sum up to rounding) and commutative, so shards may be
 * merged in any tree. {@link #keep} then applies a {@link SamplingFilters} pipeline and says whether
 * the merged lists were enough to decide it ({@link ShardSelection#exact()}).
 *
 * <p>Serialized form ({@link #toBytes}), little endian: the int32 magic {@code 0x4353_4B45} ("EKSC"),
 * int32 version 1, float32 temperature, int32 k, int32 flags (bit 0: special), float32 max, float64
 * sum, float32 bound, int32 bound id, int32 count, then {@code count} pairs (int32 global id, float32
 * logit) in SPEC order: {@code 44 + 8·count} bytes.
 */
public final class ShardCandidates {
    /** The first word of the serialized form. */
    public static final int MAGIC = 0x43534B45;
    /** The version of the serialized form. */
    public static final int VERSION = 1;
    private static final int HEADER = 44;

    private final float temperature;
    private final int k;
    private final boolean special;
    private final float max;
    private final double sum;
    private final float bound;
    private final int boundId;
    private final int[] ids;
    private final float[] logits;

    ShardCandidates(float temperature, int k, boolean special, float max, double sum, float bound, int boundId,
                    int[] ids, float[] logits) {
        this.temperature = temperature;
        this.k = k;
        this.special = special;
        this.max = special ? Float.NaN : max;
        this.sum = special ? Double.NaN : sum;
        this.bound = special ? Float.NaN : bound;
        this.boundId = special || bound == Float.NEGATIVE_INFINITY ? -1 : boundId;
        this.ids = special ? new int[0] : ids;
        this.logits = special ? new float[0] : logits;
    }

    /**
     * The summary of a shard with no live token (empty, or every logit {@code −inf}): the identity of
     * {@link #merge}.
     *
     * @param temperature {@code T > 0}
     * @param k           {@code k ≥ 1}
     */
    public static ShardCandidates empty(float temperature, int k) {
        dev.entrokit.internal.Checks.temperature(temperature);
        dev.entrokit.internal.Checks.candidateCount(k);
        return new ShardCandidates(temperature, k, false, Float.NEGATIVE_INFINITY, 0, Float.NEGATIVE_INFINITY, -1,
                new int[0], new float[0]);
    }

    /** The temperature the sums and weights are at. */
    public float temperature() {
        return temperature;
    }

    /** How many candidates each shard listed at most (the largest over merged parts). */
    public int k() {
        return k;
    }

    /** Whether a logit was NaN or {@code +inf}: the row is special (SPEC §1) and nothing else is kept. */
    public boolean special() {
        return special;
    }

    /** The largest live logit ({@code −inf} when none is live, NaN when special). */
    public float max() {
        return max;
    }

    /** {@code Σ exp((x − max)/T)} over the live tokens, float64 (0 when none is live). */
    public double sumExp() {
        return sum;
    }

    /** {@code log Σ exp(x/T)} over the live tokens: {@code max/T + log sumExp}. */
    public double logSumExp() {
        return max == Float.NEGATIVE_INFINITY ? Double.NEGATIVE_INFINITY : (double) max / temperature + Math.log(sum);
    }

    /**
     * The logit of the first live token (in SPEC order) that the summary does not list: every token
     * before it is listed, so the listed tokens that rank before it are the row's first tokens.
     * {@code −inf} when the list holds every live token.
     */
    public float bound() {
        return bound;
    }

    /** The global id of the token of {@link #bound()}; {@code −1} when there is none. */
    public int boundId() {
        return boundId;
    }

    /** How many listed tokens rank before the bound token: the row's first tokens, known in order. */
    int known() {
        if (bound == Float.NEGATIVE_INFINITY) {
            return ids.length;
        }
        long limit = order(bound, boundId);
        int j = 0;
        while (j < ids.length && order(logits[j], ids[j]) < limit) {
            j++;
        }
        return j;
    }

    /** How many candidates are listed. */
    public int count() {
        return ids.length;
    }

    /** The global id of the {@code j}-th candidate in SPEC order. */
    public int id(int j) {
        return ids[j];
    }

    /** The logit of the {@code j}-th candidate. */
    public float logit(int j) {
        return logits[j];
    }

    /** The global ids, in SPEC order (a copy). */
    public int[] ids() {
        return ids.clone();
    }

    /** The logits, in SPEC order (a copy). */
    public float[] logits() {
        return logits.clone();
    }

    /**
     * The summary of two disjoint shards of the same row at the same temperature: every candidate of
     * both; {@code k} is the larger of theirs.
     *
     * @throws IllegalArgumentException if the temperatures differ or a token id appears in both
     */
    public static ShardCandidates merge(ShardCandidates a, ShardCandidates b) {
        if (a == null || b == null) {
            throw new IllegalArgumentException("parts: a null summary");
        }
        if (Float.floatToIntBits(a.temperature) != Float.floatToIntBits(b.temperature)) {
            throw new IllegalArgumentException("temperature: the summaries differ, " + a.temperature + " and "
                    + b.temperature);
        }
        int k = Math.max(a.k, b.k);
        if (a.special || b.special) {
            return new ShardCandidates(a.temperature, k, true, 0, 0, 0, -1, null, null);
        }
        float m = Math.max(a.max, b.max);
        double sum = m == Float.NEGATIVE_INFINITY ? 0 : rescaled(a, m) + rescaled(b, m);
        // Both lists are in SPEC order: one linear merge.
        int total = a.ids.length + b.ids.length;
        int[] ids = new int[total];
        float[] logits = new float[total];
        int i = 0;
        int j = 0;
        for (int o = 0; o < total; o++) {
            long ka = i < a.ids.length ? order(a.logits[i], a.ids[i]) : Long.MAX_VALUE;
            long kb = j < b.ids.length ? order(b.logits[j], b.ids[j]) : Long.MAX_VALUE;
            if (ka == kb) {
                throw new IllegalArgumentException("parts: token id " + a.ids[i]
                        + " is listed by both summaries (shards must be disjoint)");
            }
            if (ka < kb) {
                ids[o] = a.ids[i];
                logits[o] = a.logits[i++];
            } else {
                ids[o] = b.ids[j];
                logits[o] = b.logits[j++];
            }
        }
        // Every token before each part's bound is listed by that part, so before the earlier bound all are.
        long first = Math.min(order(a.bound, a.boundId), order(b.bound, b.boundId));
        float bound = logitOf(first);
        return new ShardCandidates(a.temperature, k, false, m, sum, bound, (int) first, ids, logits);
    }

    /** The merge of one or more summaries, left to right. */
    public static ShardCandidates merge(List<ShardCandidates> parts) {
        if (parts == null || parts.isEmpty()) {
            throw new IllegalArgumentException("parts: expected at least one summary, got "
                    + (parts == null ? "null" : "none"));
        }
        ShardCandidates m = parts.get(0);
        if (m == null) {
            throw new IllegalArgumentException("parts: a null summary");
        }
        for (int i = 1; i < parts.size(); i++) {
            m = merge(m, parts.get(i));
        }
        return m;
    }

    private static double rescaled(ShardCandidates s, float m) {
        return s.max == Float.NEGATIVE_INFINITY ? 0 : s.sum * Math.exp(((double) s.max - m) / s.temperature);
    }

    /** SPEC order as one long: larger logits first, then lower ids ({@code -0.0} ties with {@code 0.0}). */
    private static long order(float logit, int id) {
        int bits = Float.floatToIntBits(logit + 0f);
        int sortable = bits ^ ((bits >> 31) & 0x7FFFFFFF);
        return ((long) ~sortable << 32) | (id & 0xFFFFFFFFL);
    }

    private static float logitOf(long key) {
        int sortable = ~(int) (key >>> 32);
        return Float.intBitsToFloat(sortable ^ ((sortable >> 31) & 0x7FFFFFFF));
    }

    /**
     * The tokens the pipeline {@code filters} keeps from the merged row, decided from the lists where
     * they suffice (see {@link ShardSelection}). The pipeline's temperature must be this summary's.
     * A special row, or one with no live token, keeps nothing (exactly).
     *
     * @throws IllegalArgumentException if the temperatures differ or a filter kind is not supported here
     */
    public ShardSelection keep(SamplingFilters filters) {
        if (filters == null) {
            throw new IllegalArgumentException("filters: must not be null");
        }
        if (Float.floatToIntBits(filters.temperature()) != Float.floatToIntBits(temperature)) {
            throw new IllegalArgumentException("temperature: the pipeline's " + filters.temperature()
                    + " is not the summary's " + temperature);
        }
        if (special || max == Float.NEGATIVE_INFINITY) {
            return new ShardSelection(true, special, new int[0], new float[0], new double[0], temperature);
        }
        double[] w = CandidateFilters.weights(this);
        int len = CandidateFilters.keptPrefix(this, w, filters.filters());
        if (len < 0) {
            return new ShardSelection(false, false, new int[0], new float[0], new double[0], temperature);
        }
        double kept = 0;
        for (int j = 0; j < len; j++) {
            kept += w[j];
        }
        double[] probs = new double[len];
        for (int j = 0; j < len; j++) {
            probs[j] = w[j] / kept;
        }
        return new ShardSelection(true, false, Arrays.copyOf(ids, len), Arrays.copyOf(logits, len), probs,
                temperature);
    }

    /** The serialized form described in the class comment. */
    public byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(HEADER + 8 * ids.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putInt(VERSION).putFloat(temperature).putInt(k).putInt(special ? 1 : 0)
                .putFloat(max).putDouble(sum).putFloat(bound).putInt(boundId).putInt(ids.length);
        for (int j = 0; j < ids.length; j++) {
            b.putInt(ids[j]).putFloat(logits[j]);
        }
        return b.array();
    }

    /**
     * Reads {@link #toBytes()}'s form, refusing (by name, with the values) a wrong magic or version, a
     * length that does not match the count, or contents no shard produces (a list out of SPEC order, a
     * negative id, a bad temperature or k).
     */
    public static ShardCandidates fromBytes(byte[] bytes) {
        if (bytes == null || bytes.length < HEADER) {
            throw new IllegalArgumentException("bytes: expected at least " + HEADER + " bytes, got "
                    + (bytes == null ? "null" : bytes.length));
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt();
        int version = b.getInt();
        if (magic != MAGIC || version != VERSION) {
            throw new IllegalArgumentException("bytes: not a ShardCandidates version " + VERSION + " (magic 0x"
                    + Integer.toHexString(magic) + ", version " + version + ")");
        }
        float t = b.getFloat();
        int k = b.getInt();
        int flags = b.getInt();
        float max = b.getFloat();
        double sum = b.getDouble();
        float bound = b.getFloat();
        int boundId = b.getInt();
        int count = b.getInt();
        if (count < 0 || (long) HEADER + 8L * count != bytes.length) {
            throw new IllegalArgumentException("bytes: count " + count + " with k " + k + " does not match "
                    + bytes.length + " bytes");
        }
        dev.entrokit.internal.Checks.temperature(t);
        dev.entrokit.internal.Checks.candidateCount(k);
        if ((flags & ~1) != 0) {
            throw new IllegalArgumentException("bytes: unknown flags " + flags);
        }
        int[] ids = new int[count];
        float[] logits = new float[count];
        for (int j = 0; j < count; j++) {
            ids[j] = b.getInt();
            logits[j] = b.getFloat();
            if (ids[j] < 0 || !(logits[j] > Float.NEGATIVE_INFINITY && logits[j] < Float.POSITIVE_INFINITY)
                    || j > 0 && order(logits[j], ids[j]) <= order(logits[j - 1], ids[j - 1])) {
                throw new IllegalArgumentException("bytes: candidate " + j + " (id " + ids[j] + ", logit "
                        + logits[j] + ") is not a live token in SPEC order");
            }
        }
        return new ShardCandidates(t, k, (flags & 1) != 0, max, sum, bound, boundId, ids, logits);
    }

    @Override
    public String toString() {
        return "ShardCandidates[T=" + temperature + ", k=" + k + (special ? ", special" : "") + ", max=" + max
                + ", sumExp=" + sum + ", bound=" + bound + " (id " + boundId + "), count=" + ids.length + "]";
    }
}
