package dev.entrokit;

/**
 * Element type of a {@link Tensor}. Logits and other float inputs may be {@link #F32}, {@link #BF16} or
 * {@link #F16} on the CPU backends: a half row is widened exactly to float32 and computed as the float32
 * row holding the same values (SPEC "Input dtypes"); same-shaped outputs may be F32 or the input's half
 * type, rounded once to nearest even at the store.
 */
public enum DType {
    /** IEEE-754 binary32. */
    F32(4),
    /** bfloat16 (8-bit exponent, 7-bit mantissa): the upper half of a float32's bits. */
    BF16(2),
    /** IEEE-754 binary16 (5-bit exponent, 10-bit mantissa, largest finite 65504). */
    F16(2),
    /** Signed 32-bit integers, for labels and token ids. */
    I32(4),
    /** One byte per element, 0 (false) or 1 (true): the kept masks of the selection ops. */
    BOOL(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether this is {@link #BF16} or {@link #F16}. */
    public boolean isHalf() {
        return this == BF16 || this == F16;
    }

    /**
     * The float32 value of a {@link #BF16} or {@link #F16} bit pattern; exact for every pattern (bf16: the
     * bits shifted into the upper half of a float32; f16: {@link Float#float16ToFloat}).
     *
     * @throws IllegalArgumentException for a dtype that is not a half type
     */
    public float widen(short bits) {
        return switch (this) {
            case BF16 -> Float.intBitsToFloat(bits << 16);
            case F16 -> Float.float16ToFloat(bits);
            default -> throw new IllegalArgumentException("dtype: " + this + " is not BF16 or F16");
        };
    }

    /**
     * The {@link #BF16} or {@link #F16} bit pattern nearest to {@code value}, ties to even (IEEE-754
     * roundTiesToEven): a value beyond the largest finite half rounds to ±inf as IEEE overflow does, NaN
     * stays NaN (bf16: quieted, sign and upper payload kept), ±0 and ±inf stay themselves.
     *
     * @throws IllegalArgumentException for a dtype that is not a half type
     */
    public short narrow(float value) {
        return switch (this) {
            case BF16 -> {
                int b = Float.floatToRawIntBits(value);
                if ((b & 0x7fffffff) > 0x7f800000) {
                    yield (short) ((b >>> 16) | 0x0040);
                }
                yield (short) ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16);
            }
            case F16 -> Float.floatToFloat16(value);
            default -> throw new IllegalArgumentException("dtype: " + this + " is not BF16 or F16");
        };
    }
}
