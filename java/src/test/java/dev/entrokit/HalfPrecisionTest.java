package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Spec5.Kind;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The half types themselves: widening and rounding against a float64 reference written from IEEE-754 (not from
 * the code under test), a handful of ops on half rows against the float64 oracle of the widened values (SPEC §5
 * tolerances, half outputs within one rounding), the tie rule on bf16 rows (greedy and top-k take the lowest
 * index), and the argument checks for half tensors.
 */
@Tag("simd-width")
class HalfPrecisionTest {
    private static final DType[] HALVES = {DType.BF16, DType.F16};

    /**
     * The value of a half bit pattern from its fields, as a double: an exponent field of all ones is read as an
     * ordinary binade, so the pattern just above the largest finite one is the overflow threshold's power of two.
     */
    static double fieldValue(DType d, int bits) {
        int mantissaBits = d == DType.BF16 ? 7 : 10;
        int bias = d == DType.BF16 ? 127 : 15;
        int e = (bits & 0x7fff) >>> mantissaBits;
        int m = bits & ((1 << mantissaBits) - 1);
        double v = e == 0 ? m * Math.pow(2, 1 - bias - mantissaBits)
                : (1 + m / Math.pow(2, mantissaBits)) * Math.pow(2, e - bias);
        return (bits & 0x8000) != 0 ? -v : v;
    }

    /** Round to nearest, ties to even, overflow to infinity, from the field values alone. */
    static int reference(DType d, float f) {
        if (Float.isNaN(f)) {
            return -1;
        }
        int sign = Float.floatToRawIntBits(f) < 0 ? 0x8000 : 0;
        double a = Math.abs((double) f);
        int infinity = d == DType.BF16 ? 0x7f80 : 0x7c00;
        if (Double.isInfinite(a)) {
            return sign | infinity;
        }
        int lo = 0;
        int hi = infinity; // fieldValue(infinity) is the first power of two past the finite range
        if (a >= fieldValue(d, hi)) {
            return sign | infinity;
        }
        while (hi - lo > 1) { // largest pattern whose value is <= a
            int mid = (lo + hi) >>> 1;
            if (fieldValue(d, mid) <= a) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        double below = a - fieldValue(d, lo);
        double above = fieldValue(d, lo + 1) - a;
        int p = below < above ? lo : above < below ? lo + 1 : (lo % 2 == 0 ? lo : lo + 1);
        return sign | p;
    }

    @Test
    void everyHalfPatternWidensExactlyAndRoundsBackToItself() {
        for (DType d : HALVES) {
            for (int bits = 0; bits < 0x10000; bits++) {
                float w = d.widen((short) bits);
                boolean nan = (bits & 0x7fff) > (d == DType.BF16 ? 0x7f80 : 0x7c00);
                if (nan) {
                    assertTrue(Float.isNaN(w), d + " " + Integer.toHexString(bits));
                    assertTrue(Float.isNaN(d.widen(d.narrow(w))), d + " NaN stays NaN " + Integer.toHexString(bits));
                    continue;
                }
                if ((bits & 0x7fff) == (d == DType.BF16 ? 0x7f80 : 0x7c00)) {
                    assertEquals((bits & 0x8000) != 0 ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY, w);
                    assertEquals(bits, d.narrow(w) & 0xffff);
                    continue;
                }
                assertEquals(fieldValue(d, bits) == 0 ? 0 : fieldValue(d, bits), (double) w, 0.0,
                        d + " " + Integer.toHexString(bits));
                if (fieldValue(d, bits) == 0) {
                    assertEquals((bits & 0x8000) != 0, Float.floatToRawIntBits(w) < 0, "the sign of zero");
                }
                assertEquals(bits, d.narrow(w) & 0xffff, d + " round trip " + Integer.toHexString(bits));
            }
        }
    }

    @Test
    void roundingIsToNearestEvenWithIeeeOverflow() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (DType d : HALVES) {
            for (int i = 0; i < 200_000; i++) {
                float f = switch (i % 4) {
                    case 0 -> Float.intBitsToFloat(rnd.nextInt()); // any float, NaNs included
                    case 1 -> (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(-30, 20)));
                    case 2 -> { // an exact tie: the midpoint of two neighbouring halves
                        int p = rnd.nextInt(0, d == DType.BF16 ? 0x7f80 : 0x7c00);
                        yield (float) ((fieldValue(d, p) + fieldValue(d, p + 1)) / 2) * (rnd.nextBoolean() ? 1 : -1);
                    }
                    default -> (float) ((d == DType.BF16 ? 3.4e38 : 65504) * (0.999 + 0.002 * rnd.nextDouble()));
                };
                int expected = reference(d, f);
                short got = d.narrow(f);
                if (expected < 0) {
                    assertTrue(Float.isNaN(d.widen(got)), d + " NaN " + f);
                } else {
                    assertEquals(expected, got & 0xffff, d + " rounds " + f + " (" + Integer.toHexString(
                            Float.floatToRawIntBits(f)) + ")");
                }
            }
            assertEquals(0x7c00, DType.F16.narrow(70000f) & 0xffff, "70000 overflows f16");
            assertEquals(0xfc00, DType.F16.narrow(-65520f) & 0xffff, "the f16 overflow threshold rounds to -inf");
            assertEquals(0x7bff, DType.F16.narrow(65519.99f) & 0xffff);
        }
        assertThrows(IllegalArgumentException.class, () -> DType.F32.narrow(1f));
        assertThrows(IllegalArgumentException.class, () -> DType.I32.widen((short) 1));
    }

    static java.util.stream.Stream<String> backends() {
        return TestBackends.names();
    }

    static Tensor half(DType d, float[] x, int rows, int cols) {
        short[] s = new short[x.length];
        for (int i = 0; i < x.length; i++) {
            s[i] = d.narrow(x[i]);
        }
        return Tensor.of(s, d, rows, cols);
    }

    static float[] widened(Tensor t) {
        float[] w = new float[(int) t.elementCount()];
        for (int i = 0; i < w.length; i++) {
            w[i] = t.getFloat(i / t.cols(), i % t.cols());
        }
        return w;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void halfRowsMeetTheFloat64OracleOfTheirWidenedValues(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int rows = 6;
        int v = 1031;
        for (DType d : HALVES) {
            float[] xs = new float[rows * v];
            float[] ts = new float[rows * v];
            SplittableRandom rnd = new SplittableRandom(3);
            for (int i = 0; i < xs.length; i++) {
                xs[i] = (float) (4 * rnd.nextGaussian());
                ts[i] = (float) (4 * rnd.nextGaussian());
                if (i % 97 == 5) {
                    xs[i] = Float.NEGATIVE_INFINITY;
                }
            }
            Tensor x = half(d, xs, rows, v);
            Tensor t = half(d, ts, rows, v);
            float[] xw = widened(x);
            float[] tw = widened(t);
            float temp = 0.8f;
            float[] p = new float[rows * v];
            Tensor probsHalf = Tensor.of(new short[rows * v], d, rows, v);
            ek.softmax(x, Tensor.of(p, rows, v), temp);
            ek.softmax(x, probsHalf, temp);
            float[] lp = new float[rows * v];
            ek.logSoftmax(x, Tensor.of(lp, rows, v), temp);
            float[] grad = new float[rows * v];
            float[] rowKl = new float[rows];
            LossOptions o = LossOptions.defaults().temperature(temp).reduction(Reduction.NONE);
            ek.kl(t, x, o, Tensor.of(rowKl), Tensor.of(grad, rows, v));
            float[] lse = new float[rows];
            ek.logSumExp(x, Tensor.of(lse), temp);
            for (int r = 0; r < rows; r++) {
                double[] xr = Float64Oracle.widen(xw, r * v, v);
                double[] tr = Float64Oracle.widen(tw, r * v, v);
                double[] pr = Float64Oracle.softmax(xr, temp);
                Spec5.check(Kind.PROB, p, r * v, pr, d + " softmax row " + r);
                Spec5.check(Kind.LOG, lp, r * v, Float64Oracle.logSoftmax(xr, temp), d + " logSoftmax row " + r);
                Spec5.check(Kind.LOSS, rowKl[r], Float64Oracle.kl(tr, xr, temp), d + " kl row " + r);
                Spec5.check(Kind.GRAD, grad, r * v, Float64Oracle.qMinusPGrad(tr, xr, temp, 1), d + " kl grad row " + r);
                Spec5.check(Kind.LOG, lse[r], Float64Oracle.logSumExp(xr, temp), d + " logSumExp row " + r);
                for (int i = 0; i < v; i++) {
                    // A half output is within one rounding of the reference: between the halves around it.
                    float got = probsHalf.getFloat(r, i);
                    double ref = pr[i];
                    float down = d.widen(d.narrow((float) ref));
                    double ulp = Math.abs(d.widen((short) (d.narrow(down) + 1)) - down);
                    assertTrue(Math.abs(got - ref) <= ulp + Kind.PROB.allowed(ref), d + " half softmax row " + r
                            + " token " + i + ": " + got + " vs " + ref);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void bf16TiesGoToTheLowestIndex(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int v = 301;
        float[] x = new float[2 * v];
        SplittableRandom rnd = new SplittableRandom(11);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * 3);
        }
        // Llama-3.2-1B's bf16 logits tie at their maximum, 21.375; 21.37 rounds to it in bf16 too.
        int[] tied = {17, 40, 41, 299};
        for (int r = 0; r < 2; r++) {
            for (int i : tied) {
                x[r * v + i] = r == 0 ? 21.375f : 21.37f;
            }
        }
        Tensor t = half(DType.BF16, x, 2, v);
        assertEquals(21.375f, t.getFloat(1, 299));
        Tensor tokens = Tensor.of(new int[2]);
        ek.decoding().sample(t, SamplingFilters.temperature(0f), new long[] {1, 2}, 0, tokens);
        assertEquals(17, tokens.getInt(0));
        assertEquals(17, tokens.getInt(1));
        int[] ids = new int[2 * 4];
        ek.decoding().topK(t, 4, 1f, Tensor.of(ids, 2, 4), Tensor.of(new float[8], 2, 4), null);
        assertArrayEquals(new int[] {17, 40, 41, 299, 17, 40, 41, 299}, ids);
        ShardSample[] race = ek.decoding().shardSample(t, 0, 0f, new long[] {3, 4}, 0);
        assertEquals(17, race[0].token());
        assertEquals(17, race[1].token());
    }

    @Test
    void halfArgumentsAreCheckedByName() {
        Entrokit ek = TestBackends.scalarReference();
        Tensor bf = Tensor.of(new short[6], DType.BF16, 2, 3);
        Tensor f16 = Tensor.of(new short[6], DType.F16, 2, 3);
        Tensor f32 = Tensor.of(new float[6], 2, 3);
        assertEquals("probs: dtype F16 must be F32 or logits's BF16",
                assertThrows(IllegalArgumentException.class, () -> ek.softmax(bf, f16, 1f)).getMessage());
        assertEquals("grad: dtype BF16 must be F32 or student's F32", assertThrows(IllegalArgumentException.class,
                () -> ek.kl(bf, f32, LossOptions.defaults(), null, bf)).getMessage());
        assertEquals("probs: dtype BF16 must be F32 or logits's F32",
                assertThrows(IllegalArgumentException.class, () -> ek.softmax(f32, bf, 1f)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ek.logSumExp(bf, Tensor.of(new short[2], DType.BF16),
                1f)).getMessage().startsWith("out: expected a rank-1 F32 tensor"));
        assertEquals("dtype: a short[] holds BF16 or F16 elements, got F32",
                assertThrows(IllegalArgumentException.class, () -> Tensor.of(new short[2], DType.F32)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ek.softmax(Tensor.of(new int[6], 2, 3), f32, 1f))
                .getMessage().startsWith("logits: dtype I32 is not a float type"));
        // a half view over the same bytes as an F32 output is an overlap, not "the very same view"
        MemorySegment seg = MemorySegment.ofArray(new float[6]);
        Tensor asF32 = Tensor.of(seg, DType.F32, 2, 3);
        Tensor asHalf = Tensor.of(seg, DType.BF16, 2, 3);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ek.softmax(asHalf, asF32, 1f)).getMessage()
                .startsWith("probs: overlaps logits"));
        // mixed teacher and student dtypes are accepted: each row is widened on its own
        float[] rowLoss = new float[2];
        ek.kl(bf, f16, LossOptions.defaults().reduction(Reduction.NONE), Tensor.of(rowLoss), null);
        assertEquals(0f, rowLoss[0]);
    }
}
