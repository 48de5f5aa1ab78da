package dev.entrokit;

/**
 * Element type of a {@link Tensor}. Kernels accept {@link #F32} today; the half-precision types are
 * part of the enum already so that adding their kernels changes no public signature.
 */
public enum DType {
    /** IEEE-754 binary32. */
    F32(4),
    /** bfloat16 (8-bit exponent, 7-bit mantissa); not yet accepted by any kernel. */
    BF16(2),
    /** IEEE-754 binary16; not yet accepted by any kernel. */
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
}
