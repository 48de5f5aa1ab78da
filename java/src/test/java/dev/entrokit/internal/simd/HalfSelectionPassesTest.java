package dev.entrokit.internal.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link HalfSelectionPasses#massBelowF16}, the binary16 mass pass that reads {@link HalfVectors#f16Finite} lanes (a
 * masked token as −2^16), against the float32 pass ({@code WideCut.massBelow}) on the widened row, for the rows its
 * callers give it (no NaN, no {@code +inf}): bitwise the same block masses and total of the vector blocks wherever
 * {@link HalfSelectionPasses#f16FiniteExact} admits the row, and not always the same where it does not, so the check is
 * what keeps them equal. Rows with masked tokens, subnormals, zeros of both signs and values at binary16's floor
 * (−65504, −65472, where −2^16 is within 32 of the maximum), temperatures from 0.5 to 10^4, {@code below} and cuts on
 * the row's values; at every SIMD width (the class is re-run per width).
 */
@Tag("simd-width")
class HalfSelectionPassesTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final int L = SimdConstants.L;
    private static final int[] SIZES = {L, 2 * L + 3, 100, 1000, 2 * SimdConstants.BLOCK + 5};
    private static final float[] TEMPERATURES = {0.5f, 1f, 7f, 300f, 1e4f};
    private static final short NEG_INF = (short) 0xFC00;

    /** Finite binary16 patterns of the style, a quarter of them masked in styles 0 and 2. */
    private static short[] row(int n, int style, SplittableRandom r) {
        short[] h = new short[n];
        for (int i = 0; i < n; i++) {
            h[i] = switch (style) {
                case 0 -> r.nextInt(4) == 0 ? NEG_INF : (short) (r.nextInt(0x7C00) | (r.nextBoolean() ? 0x8000 : 0));
                case 1 -> (short) (r.nextInt(16) | (r.nextBoolean() ? 0x8000 : 0)); // subnormals and ±0
                default -> r.nextInt(4) == 0 ? NEG_INF : Float.floatToFloat16(r.nextBoolean() ? -65504f : -65472f);
            };
        }
        return h;
    }

    @Test
    void finiteReadGivesTheExactPassesBitsWhereTheCheckAdmitsTheRow() {
        SplittableRandom r = new SplittableRandom(0xF16);
        float[] lanes = new float[SimdConstants.F.length()];
        int admitted = 0;
        int refusedAndDifferent = 0;
        try (Arena arena = Arena.ofConfined()) {
            for (int n : SIZES) {
                for (int style = 0; style < 3; style++) {
                    for (int rep = 0; rep < 3; rep++) {
                        short[] h = row(n, style, r);
                        MemorySegment x = arena.allocate(2L * n + 6, 2);
                        MemorySegment wide = arena.allocate(4L * n, 4);
                        float max = Float.NEGATIVE_INFINITY;
                        for (int i = 0; i < n; i++) {
                            x.setAtIndex(I16, i + 3, h[i]);
                            wide.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, Float.float16ToFloat(h[i]));
                            max = Math.max(max, Float.float16ToFloat(h[i]));
                        }
                        for (float t : TEMPERATURES) {
                            float some = Float.float16ToFloat(h[r.nextInt(n)]);
                            for (float below : new float[] {Float.POSITIVE_INFINITY, some}) {
                                for (boolean cut : new boolean[] {false, true}) {
                                    float cutLogit = cut ? Float.float16ToFloat(h[r.nextInt(n)]) : Float.NEGATIVE_INFINITY;
                                    int cutIndex = cut ? r.nextInt(n) : Integer.MAX_VALUE;
                                    int upper = SimdConstants.F.loopBound(n);
                                    int blocks = (upper + SimdConstants.BLOCK - 1) / SimdConstants.BLOCK;
                                    double[] exactSums = new double[blocks];
                                    double[] finiteSums = new double[blocks];
                                    WideCut.massBelow(wide, 0, n, max, t, below, cutLogit, cutIndex, exactSums,
                                            dev.entrokit.internal.RowSplit.SERIAL);
                                    double exact = RowPasses.blockTotal(exactSums, upper);
                                    double finite = HalfSelectionPasses.massBelowF16(x, 3, n, max, t, below,
                                            cutLogit, cutIndex, finiteSums, lanes);
                                    String where = "n=" + n + " style " + style + " T=" + t + " max=" + max + " below="
                                            + below + " cut " + cutLogit + "@" + cutIndex;
                                    if (HalfSelectionPasses.f16FiniteExact(max, t)) {
                                        admitted++;
                                        assertEquals(Double.doubleToLongBits(exact), Double.doubleToLongBits(finite),
                                                () -> where + ": " + exact + " vs " + finite);
                                        assertArrayEquals(exactSums, finiteSums, where + " block masses");
                                    } else if (Double.doubleToLongBits(exact) != Double.doubleToLongBits(finite)) {
                                        refusedAndDifferent++;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assertTrue(admitted > 500, "rows admitted: " + admitted);
        assertTrue(refusedAndDifferent > 0, "no refused row would have read differently: the check is not exercised");
    }
}
