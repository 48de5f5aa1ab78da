package dev.entrokit;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One part's entry in the exponential race of a row (SPEC §2, "Shards, chunks and the race"): the
 * best key among its live tokens and that token's global id. Merging keeps the larger key, an equal
 * key going to the lower id, so the merge is associative and commutative and the row's token does
 * not depend on how the row was split: {@code merge} every shard's entry and read {@link #token()}.
 *
 * <p>A part with no live token (empty, or every logit {@code −inf}) has key {@code −inf} and id
 * {@code −1} and changes no merge; a part with a NaN or {@code +inf} logit makes the row special: key
 * NaN, id {@code −1}, and it wins every merge. Serialized form ({@link #toBytes}): 12 bytes, little
 * endian, the key as an IEEE double then the id as an int32.
 *
 * @param key the race key {@code x/T − log E} (the logit itself at temperature 0)
 * @param id  the global token id, {@code −1} when none
 */
public record ShardSample(double key, int id) {
    /** The size of {@link #toBytes()}. */
    public static final int BYTES = 12;
    /** The entry of a part with no live token: the identity of {@link #merge}. */
    public static final ShardSample NONE = new ShardSample(Double.NEGATIVE_INFINITY, -1);

    /** Checks the pairing of key and id described in the class comment. */
    public ShardSample {
        if (Double.isNaN(key) || key == Double.NEGATIVE_INFINITY ? id != -1 : id < 0) {
            throw new IllegalArgumentException("id: " + id + " does not go with key " + key
                    + " (id -1 exactly when the key is NaN or -inf)");
        }
    }

    /** Whether a logit of the row was NaN or {@code +inf}: the row has no distribution. */
    public boolean special() {
        return Double.isNaN(key);
    }

    /** The sampled token of the row once every part is merged in; {@code −1} for a special or fully masked row. */
    public int token() {
        return id;
    }

    /** The better of two entries (see the class comment). */
    public static ShardSample merge(ShardSample a, ShardSample b) {
        if (a.special() || b.special()) {
            return a.special() ? a : b;
        }
        return a.key > b.key || a.key == b.key && a.id >= 0 && (b.id < 0 || a.id < b.id) ? a : b;
    }

    /** The merge of any number of entries; {@link #NONE} when there are none. */
    public static ShardSample merge(Iterable<ShardSample> parts) {
        ShardSample best = NONE;
        for (ShardSample s : parts) {
            best = merge(best, java.util.Objects.requireNonNull(s, "parts: a null entry"));
        }
        return best;
    }

    /** The serialized form: the key (IEEE double), then the id (int32), little endian. */
    public byte[] toBytes() {
        return ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN).putDouble(key).putInt(id).array();
    }

    /** Reads {@link #toBytes()}'s form; refuses a length other than {@value #BYTES} or an inconsistent pair. */
    public static ShardSample fromBytes(byte[] bytes) {
        if (bytes == null || bytes.length != BYTES) {
            throw new IllegalArgumentException("bytes: expected " + BYTES + " bytes, got "
                    + (bytes == null ? "null" : bytes.length));
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        return new ShardSample(b.getDouble(), b.getInt());
    }
}
