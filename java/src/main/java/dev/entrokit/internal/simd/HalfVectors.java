package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.ORDER;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * bfloat16 and binary16 lanes widened to float32 in registers as they are loaded, and float32 lanes rounded to
 * them as they are stored: {@link SimdConstants#L} half elements (half a float vector's bytes) per call, so that
 * lane {@code j} of a widened vector is element {@code j}, as in a float32 load.
 *
 * <p>JDK 25's {@code jdk.incubator.vector} has no half-float lane type or conversion ({@code Float16} is scalar
 * only), so both directions are integer lane arithmetic: a sign-extending {@code S2I} conversion, shifts and
 * masks, and for binary16 one float multiply by 2^112 that rebias the exponent and makes subnormals come out
 * right. Every operation here is exact except the rounding, which is to nearest even.
 */
final class HalfVectors {
    /** Shorts in half a float vector's bits: the same lane count as {@link SimdConstants#F}. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    /** Ints in a float vector's bits. */
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    private static final float TWO_POW_112 = 0x1p112f;
    /** float32 bits of 2^16 ({@code (127 + 16) << 23}): magnitudes from here on are ±inf or NaN in binary16. */
    private static final int F16_OVERFLOW = 0x47800000;
    /** float32 bits of 2^−14, the smallest binary16 normal: magnitudes below round as subnormals. */
    private static final int F16_MIN_NORMAL = 113 << 23;
    /**
     * 0.5f: adding it to a magnitude below 2^−14 leaves the binary16 subnormal significand, rounded to nearest even
     * by the float add itself, in the low bits (0.5's ulp is 2^−24, the binary16 subnormal step).
     */
    private static final float SUBNORMAL_MAGIC = 0.5f;
    private static final int SUBNORMAL_MAGIC_BITS = 0x3F000000;
    /** Rebias of the exponent from float32 (127) to binary16 (15), in place, plus the rounding half-ulp − 1. */
    private static final int F16_REBIAS_ROUND = ((15 - 127) << 23) + 0xFFF;

    private HalfVectors() {
    }

    /**
     * What {@link #f16Scaled} multiplies by in place of 2^112, inside the caller's first fma: {@code x.fma(0.5, c)}
     * is {@code raw.fma(2^111, c)} bit for bit, since {@code raw·2^112 = x} exactly.
     */
    static final float F16_HALF_SCALE = 0x1p111f;
    /** binary16's {@code −inf} as {@link #f16Scaled} reads it: −2^16 times 2^−112. */
    private static final int F16_SCALED_NEG_INF_BITS = 0x8F800000;
    static final float F16_SCALED_NEG_INF = Float.intBitsToFloat(F16_SCALED_NEG_INF_BITS);

    /**
     * The {@code L} binary16 elements at element {@code index} as {@link #fromF16} reads them before its last two
     * steps: the value times 2^−112, exactly, for every finite element (subnormals included); the multiply by 2^112
     * is left to the caller's fma ({@link #F16_HALF_SCALE}) and the fix-up of exponent 31 is not made, so ±inf come
     * out as ±2^16 (times 2^−112) and a NaN as a finite number. Three operations per vector where {@link #fromF16} takes
     * seven and {@link #fromBf16} two: for the exp loops on rows known to hold no NaN and no {@code +inf}.
     */
    static FloatVector f16Scaled(MemorySegment seg, long index) {
        return loadBits(seg, index).lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000).reinterpretAsFloats();
    }

    /**
     * {@link #f16Scaled} times 2^112: every finite binary16 element exactly, {@code ±inf} as ±2^16 and a NaN as a
     * finite number. Four operations: for loops that compare the values as well as weigh them, on rows known to hold
     * no NaN and no {@code +inf} where a masked token's −2^16 compares and weighs as its {@code −inf} would.
     */
    static FloatVector f16Finite(MemorySegment seg, long index) {
        return f16Scaled(seg, index).mul(0x1p112f);
    }

    /** {@link #f16Scaled}, with {@code −inf} (not its scaled −2^16) where the element is {@code −inf}. */
    static FloatVector f16ScaledMasked(MemorySegment seg, long index) {
        IntVector b = loadBits(seg, index).lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000);
        return b.blend(0xFF800000, b.compare(VectorOperators.EQ, F16_SCALED_NEG_INF_BITS)).reinterpretAsFloats();
    }

    /** The {@code L} half elements at element {@code index}, sign-extended into int lanes. */
    static IntVector loadBits(MemorySegment seg, long index) {
        return (IntVector) ShortVector.fromMemorySegment(S, seg, index * Short.BYTES, ORDER)
                .convertShape(VectorOperators.S2I, I, 0);
    }

    /** The {@code L} bfloat16 ({@code bf16}) or binary16 elements at element {@code index}, as float32. */
    static FloatVector load(boolean bf16, MemorySegment seg, long index) {
        IntVector h = loadBits(seg, index);
        return bf16 ? fromBf16(h) : fromF16(h);
    }

    /** The {@code L} bfloat16 elements at element {@code index}, as float32. */
    static FloatVector loadBf16(MemorySegment seg, long index) {
        return fromBf16(loadBits(seg, index));
    }

    /** bfloat16 bits (any upper bits) to float32: the bits are the float's upper half. */
    static FloatVector fromBf16(IntVector h) {
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * Sign-extended binary16 bits to float32. Shifted left by 13, the sign extension puts the sign at bit 31 and the
     * exponent and significand at float32's places (bits 28–30, copies of the sign, are masked off): read as a float
     * that is 2^−112 times the value (a binary16 subnormal becomes a float32 subnormal, exactly), so one multiply by
     * 2^112 rebiases it exactly. Exponent 31 comes out at magnitude 2^16 or more; there the exponent field is set to
     * 255 instead, giving ±inf or a NaN with the payload kept.
     */
    static FloatVector fromF16(IntVector h) {
        IntVector bits = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000);
        FloatVector v = bits.reinterpretAsFloats().mul(TWO_POW_112);
        return v.blend(bits.or(0x7F800000).reinterpretAsFloats(), v.abs().compare(VectorOperators.GE, 65536f));
    }

    /** float32 to bfloat16 bits in the low 16 bits of each lane, rounded to nearest even; NaN stays NaN. */
    static IntVector toBf16(FloatVector v) {
        IntVector b = v.reinterpretAsInts();
        IntVector odd = b.lanewise(VectorOperators.LSHR, 16).and(1);
        IntVector rounded = b.add(0x7FFF).add(odd).lanewise(VectorOperators.LSHR, 16);
        VectorMask<Integer> nan = b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000);
        return rounded.blend(b.lanewise(VectorOperators.LSHR, 16).or(0x0040), nan);
    }

    /**
     * float32 to binary16 bits in the low 16 bits of each lane, rounded to nearest even, as
     * {@link Float#floatToFloat16} except that a NaN becomes the quiet NaN {@code 0x7E00} with its sign (the payload
     * is not kept). Normal results: the exponent rebiased in place and the dropped 13 bits rounded by adding
     * {@code 0xFFF} plus the kept part's lowest bit; subnormal results: the float add of {@link #SUBNORMAL_MAGIC};
     * from 2^16 on (after rounding, from 65520): ±inf.
     */
    static IntVector toF16(FloatVector v) {
        IntVector b = v.reinterpretAsInts();
        IntVector sign = b.and(0x80000000);
        IntVector abs = b.and(0x7FFFFFFF);
        IntVector odd = abs.lanewise(VectorOperators.LSHR, 13).and(1);
        IntVector normal = abs.add(F16_REBIAS_ROUND).add(odd).lanewise(VectorOperators.LSHR, 13);
        IntVector subnormal = abs.reinterpretAsFloats().add(SUBNORMAL_MAGIC).reinterpretAsInts()
                .sub(SUBNORMAL_MAGIC_BITS);
        IntVector big = IntVector.broadcast(I, 0x7C00)
                .blend(0x7E00, abs.compare(VectorOperators.GT, 0x7F800000));
        IntVector r = normal.blend(subnormal, abs.compare(VectorOperators.LT, F16_MIN_NORMAL));
        r = r.blend(big, abs.compare(VectorOperators.GE, F16_OVERFLOW));
        return r.or(sign.lanewise(VectorOperators.LSHR, 16));
    }

    /** Stores {@code v} rounded to bfloat16 ({@code bf16}) or binary16 as the {@code L} elements at {@code index}. */
    static void store(boolean bf16, FloatVector v, MemorySegment seg, long index) {
        IntVector h = bf16 ? toBf16(v) : toF16(v);
        ((ShortVector) h.convertShape(VectorOperators.I2S, S, 0)).intoMemorySegment(seg, index * Short.BYTES, ORDER);
    }
}
