package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The SIMD selection kernels (threshold + gather + partial ranking) against the scalar ones (a full
 * stable sort), which must agree exactly: masks, masked logits, top-k ids and values, kept tokens and
 * sampled tokens. Top-k probabilities use the SIMD row mass, so they are held to SPEC §5's probability
 * tolerance. Rows are chosen to break the sampled threshold: sorted rows, large values only off the
 * sample's stride, flat rows, heavy ties, masks, one-hot rows, and sizes around the vector width.
 */
@Tag("simd-width")
class SelectionSimdVsScalarTest {
    private static final float NEG = Float.NEGATIVE_INFINITY;

    static List<SamplingFilters> pipelines(int v, float t) {
        SamplingFilters base = SamplingFilters.temperature(t);
        List<SamplingFilters> p = new ArrayList<>(List.of(base,
                base.topK(1), base.topK(Math.min(50, v)), base.topK(v),
                base.topP(0.9f), base.topP(1f), base.topP(0.1f), base.topP(0.999f),
                base.minP(0.1f), base.minP(1e-4f), base.minP(1f),
                base.topH(0.4f), base.topH(0.4f, 100, TopHMode.NORMALIZED), base.topH(1f), base.topH(0.9f, 7, TopHMode.PAPER),
                base.topK(Math.min(50, v)).topP(0.9f),
                base.topP(0.95f).minP(0.05f), base.minP(0.05f).topP(0.9f),
                base.topK(Math.min(200, v)).topH(0.5f), base.topP(0.9f).topK(Math.min(10, v)),
                base.topP(0.999f).topH(0.4f, 100, TopHMode.NORMALIZED), base.minP(1e-3f).topH(0.6f)));
        // The entropy-shaped steps: alone, with min_tokens_to_keep, first and after a prefix filter.
        p.addAll(List.of(base.typical(0.9f), base.typical(0.3f, 3), base.epsilon(3e-4f), base.eta(1e-3f), base.eta(0.3f, 2),
                base.topNSigma(1f), base.topNSigma(0.5f, 4), base.dynamicTemperature(0.5f, 1.5f, 1f),
                base.dynamicTemperature(0.5f, 1.5f, 1f).topK(Math.min(40, v)), base.topK(Math.min(50, v)).typical(0.9f),
                base.topP(0.95f).eta(3e-4f), base.dynamicTemperature(0f, 2f, 1f).minP(0.05f),
                base.typical(0.95f).topNSigma(1.5f), base.mirostat(5f), base.topP(0.9f).mirostat(2f)));
        // min_tokens_to_keep on the prefix filters and Mirostat: floors that bind, that pass the live tokens, and composed.
        p.addAll(List.of(base.topK(1, Math.min(20, v)), base.topP(0.1f, 30), base.minP(0.5f, 9), base.minP(1f, v),
                base.topH(0.2f, 100, TopHMode.PAPER, 12), base.topH(0.4f, 50, TopHMode.NORMALIZED, 70),
                base.topK(Math.min(50, v)).topP(0.3f, 5), base.topP(0.2f, 200).typical(0.9f), base.mirostat(1f, 6)));
        return p;
    }

    /** Named row families over {@code v} columns. */
    static float[] row(String kind, int v, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[v];
        for (int i = 0; i < v; i++) {
            x[i] = switch (kind) {
                case "gaussian" -> (float) (3 * rnd.nextGaussian());
                case "heavy" -> (float) (1.5 * rnd.nextGaussian() / Math.sqrt(chi3(rnd)) + (rnd.nextDouble() < 1e-3 ? 10 : 0));
                case "ascending" -> i * 1e-3f;
                case "descending" -> -i * 1e-3f;
                case "offStride" -> i % 31 == 0 ? 0f : (float) rnd.nextDouble(0, 5); // the sample sees only zeros
                case "flat" -> 1.25f;
                case "ties" -> rnd.nextInt(4);
                case "masked" -> rnd.nextDouble() < 0.7 ? NEG : (float) rnd.nextGaussian();
                case "oneHot" -> i == v / 3 ? 2f : NEG;
                case "peaked" -> i == v / 2 ? 40f : (float) rnd.nextGaussian();
                default -> throw new IllegalArgumentException(kind);
            };
        }
        return x;
    }

    private static double chi3(SplittableRandom rnd) {
        double a = rnd.nextGaussian();
        double b = rnd.nextGaussian();
        double c = rnd.nextGaussian();
        return (a * a + b * b + c * c) / 3;
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        String[] kinds = {"gaussian", "heavy", "ascending", "descending", "offStride", "flat", "ties", "masked", "oneHot", "peaked"};
        int[] sizes = {1, 3, 15, 16, 17, 33, 257, 4099, 40_000};
        long seed = 1;
        for (int v : sizes) {
            for (String kind : kinds) {
                out.add(Arguments.of(kind, v, seed++));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} V={1}")
    @MethodSource("cases")
    void sameAsScalar(String kind, int v, long seed) {
        assumeTrue(TestBackends.available("simd"), "simd backend not available");
        Entrokit simd = TestBackends.instance("simd");
        Entrokit scalar = TestBackends.scalarReference();
        int rows = 3;
        float[] x = new float[rows * v];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(row(kind, v, seed * 7 + r), 0, x, r * v, v);
        }
        // One temperature per case (they cycle over the grid) keeps the scalar sorts affordable.
        for (float t : new float[] {new float[] {1f, 0.7f, 2.5f}[(int) (seed % 3)]}) {
            for (SamplingFilters f : pipelines(v, t)) {
                for (int r = 0; r < rows; r++) {
                    compareRow(scalar, simd, Arrays.copyOfRange(x, r * v, r * v + v), f, kind + " V=" + v + " row " + r + " " + f);
                }
            }
            for (int k : new int[] {1, Math.min(5, v), Math.min(50, v), v}) {
                compareTopK(scalar, simd, x, rows, v, k, t, kind);
            }
            assertArrayEquals(sample(scalar, x, rows, v, SamplingFilters.temperature(0f), 1),
                    sample(simd, x, rows, v, SamplingFilters.temperature(0f), 1), kind + " greedy");
        }
    }

    /**
     * One row, one pipeline: everything must match exactly, unless SPEC §5 leaves the row undecided
     * (a float64 statistic within 1e-6 of its threshold: p = 1, where the cumulative sum ends on its
     * threshold, or a peaked row whose partial entropies all lie below 1e-6). Excused rows are
     * counted, and the count is held small.
     */
    private void compareRow(Entrokit scalar, Entrokit simd, float[] x, SamplingFilters f, String at) {
        compared++;
        try {
            compareRowExactly(scalar, simd, x, f, at);
        } catch (AssertionError e) {
            if (SelectionReference.margin(x, 0, x.length, f) >= 1e-6) {
                throw e;
            }
            excused++;
        }
    }

    private static void compareRowExactly(Entrokit scalar, Entrokit simd, float[] x, SamplingFilters f, String at) {
        int v = x.length;
        assertArrayEquals(mask(scalar, x, 1, v, f), mask(simd, x, 1, v, f), at + " mask");
        assertArrayEquals(maskLogits(scalar, x, 1, v, f), maskLogits(simd, x, 1, v, f), at + " masked logits");
        for (long s : new long[] {3, 99}) {
            assertArrayEquals(sample(scalar, x, 1, v, f, s), sample(simd, x, 1, v, f, s), at + " seed " + s);
        }
        int cap = Math.min(v, 64);
        Kept want = kept(scalar, x, 1, v, f, cap);
        Kept got = kept(simd, x, 1, v, f, cap);
        assertArrayEquals(want.counts, got.counts, at + " kept counts");
        assertArrayEquals(want.ids, got.ids, at + " kept ids");
        for (int j = 0; j < want.probs.length; j++) { // renormalized over a kept set whose mass may be a SIMD sum
            assertEquals(want.probs[j], got.probs[j], 1e-6 + 1e-5 * want.probs[j], at + " kept probability " + j);
        }
    }

    private static int compared;
    private static int excused;

    @org.junit.jupiter.api.AfterAll
    static void fewRowsExcused() {
        assertTrue(excused <= compared / 100,
                excused + " of " + compared + " row comparisons differed within SPEC §5's 1e-6 band");
    }

    /**
     * Min-p alone answers a kept mask from one read of the row, with a threshold that follows the running maximum
     * (no sampled threshold, no sort): its mask must be the reference's exactly, with no SPEC §5 excuse (one logit
     * cut decides it), at temperatures and ratios whose float64 test rounds, on rows whose maximum rises to the end,
     * in float32, bfloat16 and binary16; and so must the tokens it draws.
     */
    @ParameterizedTest(name = "min-p alone {0} V={1}")
    @MethodSource("minPAloneRows")
    void minPAloneMaskIsExact(String kind, int v) {
        assumeTrue(TestBackends.available("simd"), "simd backend not available");
        Entrokit simd = TestBackends.instance("simd");
        Entrokit scalar = TestBackends.scalarReference();
        float[] x = minPRow(kind, v, 31L * v + kind.hashCode());
        short[] bf16 = new short[v];
        short[] f16 = new short[v];
        for (int i = 0; i < v; i++) {
            bf16[i] = (short) (Float.floatToRawIntBits(x[i]) >>> 16);
            f16[i] = Float.floatToFloat16(x[i]);
        }
        for (float t : new float[] {1e-38f, 1e-30f, 1e-3f, 0.7f, 1f, 1e5f, 1e30f, Float.MAX_VALUE}) {
            for (float r : new float[] {1f, 0.5f, 0.1f, 1e-4f, 1e-30f, Float.MIN_VALUE}) {
                SamplingFilters f = SamplingFilters.temperature(t).minP(r);
                byte[] want = mask(scalar, x, 1, v, f);
                assertArrayEquals(want, mask(simd, x, 1, v, f), kind + " V=" + v + " " + f);
                for (long seed : new long[] {3, 41}) { // the draw reads the row once too
                    assertArrayEquals(sample(scalar, x, 1, v, f, seed), sample(simd, x, 1, v, f, seed),
                            kind + " V=" + v + " " + f + " seed " + seed);
                }
                for (DType type : new DType[] {DType.BF16, DType.F16}) { // read in registers, the same one-read path
                    Tensor half = Tensor.of(type == DType.BF16 ? bf16 : f16, type, 1, v);
                    byte[] wantHalf = new byte[v];
                    byte[] gotHalf = new byte[v];
                    scalar.decoding().keptMask(half, f, Tensor.ofMask(wantHalf, 1, v));
                    simd.decoding().keptMask(half, f, Tensor.ofMask(gotHalf, 1, v));
                    assertArrayEquals(wantHalf, gotHalf, kind + " V=" + v + " " + type + " " + f);
                    int[] wantToken = new int[1];
                    int[] gotToken = new int[1];
                    long[] seeds = {17};
                    scalar.decoding().sample(half, f, seeds, 5, Tensor.of(wantToken));
                    simd.decoding().sample(half, f, seeds, 5, Tensor.of(gotToken));
                    assertEquals(wantToken[0], gotToken[0], kind + " V=" + v + " " + type + " " + f + " token");
                }
            }
        }
    }

    static Stream<Arguments> minPAloneRows() {
        List<Arguments> out = new ArrayList<>();
        for (int v : new int[] {1, 17, 1003, 40_000}) {
            for (String kind : new String[] {"heavy", "ascending", "huge", "tiny", "maskedFirstHalf", "tiedMax", "zeros",
                    "lastIsMax", "riseLate"}) {
                out.add(Arguments.of(kind, v));
            }
        }
        return out.stream();
    }

    private static float[] minPRow(String kind, int v, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = row("heavy", v, seed);
        switch (kind) {
            case "heavy" -> { }
            case "ascending" -> x = row("ascending", v, seed);
            case "huge" -> { // logits near the float range: max + T·ln r leaves it
                for (int i = 0; i < v; i++) {
                    x[i] = (float) (rnd.nextDouble(-1, 1) * 3e38);
                }
            }
            case "tiny" -> { // subnormal logits: the cut sits between neighbours a few ulps apart
                for (int i = 0; i < v; i++) {
                    x[i] = rnd.nextInt(-40, 40) * Float.MIN_VALUE;
                }
            }
            case "maskedFirstHalf" -> Arrays.fill(x, 0, v / 2, NEG);
            case "tiedMax" -> {
                for (int i = 0; i < v; i += 3) {
                    x[i] = 7.5f;
                }
            }
            case "zeros" -> { // -0.0 and 0.0 as the maximum
                for (int i = 0; i < v; i++) {
                    x[i] = i % 2 == 0 ? -0f : rnd.nextInt(2) == 0 ? 0f : -1f;
                }
            }
            case "lastIsMax" -> x[v - 1] = 30f; // in the scalar tail of the gather
            case "riseLate" -> { // kept tokens seen long before the maximum that decides them
                for (int i = 0; i < v; i++) {
                    x[i] = i < v / 2 ? -1f : -5f;
                }
                x[3 * v / 4] = 0.5f;
            }
            default -> throw new IllegalArgumentException(kind);
        }
        return x;
    }

    @ParameterizedTest(name = "special row {0}")
    @MethodSource("specialRows")
    void specialRowsAgree(String what, float[] x) {
        assumeTrue(TestBackends.available("simd"), "simd backend not available");
        Entrokit simd = TestBackends.instance("simd");
        Entrokit scalar = TestBackends.scalarReference();
        int v = x.length;
        for (SamplingFilters f : pipelines(v, 1f)) {
            assertArrayEquals(mask(scalar, x, 1, v, f), mask(simd, x, 1, v, f), what + " " + f);
            assertArrayEquals(maskLogits(scalar, x, 1, v, f), maskLogits(simd, x, 1, v, f), what + " " + f);
            assertArrayEquals(sample(scalar, x, 1, v, f, 5), sample(simd, x, 1, v, f, 5), what + " " + f);
        }
        compareTopK(scalar, simd, x, 1, v, Math.min(3, v), 1f, what);
    }

    static Stream<Arguments> specialRows() {
        float[] nanLate = row("gaussian", 1000, 4);
        nanLate[999] = Float.NaN;
        float[] nanEarly = row("gaussian", 1000, 5);
        nanEarly[0] = Float.NaN;
        float[] posInf = row("gaussian", 77, 6);
        posInf[40] = Float.POSITIVE_INFINITY;
        float[] allMasked = new float[50];
        Arrays.fill(allMasked, NEG);
        return Stream.of(Arguments.of("NaN last", nanLate), Arguments.of("NaN first", nanEarly),
                Arguments.of("+inf", posInf), Arguments.of("all -inf", allMasked));
    }

    private static void compareTopK(Entrokit scalar, Entrokit simd, float[] x, int rows, int v, int k, float t, String what) {
        int[] wantIdx = new int[rows * k];
        int[] gotIdx = new int[rows * k];
        float[] wantVal = new float[rows * k];
        float[] gotVal = new float[rows * k];
        float[] wantP = new float[rows * k];
        float[] gotP = new float[rows * k];
        scalar.decoding().topK(Tensor.of(x, rows, v), k, t, Tensor.of(wantIdx, rows, k), Tensor.of(wantVal, rows, k),
                Tensor.of(wantP, rows, k));
        simd.decoding().topK(Tensor.of(x, rows, v), k, t, Tensor.of(gotIdx, rows, k), Tensor.of(gotVal, rows, k),
                Tensor.of(gotP, rows, k));
        String at = what + " V=" + v + " top-" + k + " T=" + t;
        assertArrayEquals(wantIdx, gotIdx, at);
        assertArrayEquals(wantVal, gotVal, at);
        for (int j = 0; j < wantP.length; j++) {
            if (Float.isNaN(wantP[j])) {
                assertEquals(wantP[j], gotP[j], at);
            } else {
                assertEquals(wantP[j], gotP[j], 1e-6 + 1e-5 * wantP[j], at + " prob " + j);
            }
        }
        int[] noProbIdx = new int[rows * k];
        simd.decoding().topK(Tensor.of(x, rows, v), k, t, Tensor.of(noProbIdx, rows, k), Tensor.of(new float[rows * k],
                rows, k), null);
        assertArrayEquals(wantIdx, noProbIdx, at + " without probabilities");
    }

    static byte[] mask(Entrokit ek, float[] x, int rows, int v, SamplingFilters f) {
        byte[] m = new byte[rows * v];
        ek.decoding().keptMask(Tensor.of(x, rows, v), f, Tensor.ofMask(m, rows, v));
        return m;
    }

    static float[] maskLogits(Entrokit ek, float[] x, int rows, int v, SamplingFilters f) {
        float[] out = new float[rows * v];
        ek.decoding().maskLogits(Tensor.of(x, rows, v), f, Tensor.of(out, rows, v));
        return out;
    }

    static int[] sample(Entrokit ek, float[] x, int rows, int v, SamplingFilters f, long seed) {
        int[] tokens = new int[rows];
        long[] seeds = new long[rows];
        Arrays.fill(seeds, seed);
        ek.decoding().sample(Tensor.of(x, rows, v), f, seeds, 7, Tensor.of(tokens));
        return tokens;
    }

    record Kept(int[] counts, int[] ids, float[] probs) {
    }

    static Kept kept(Entrokit ek, float[] x, int rows, int v, SamplingFilters f, int cap) {
        Kept k = new Kept(new int[rows], new int[rows * cap], new float[rows * cap]);
        ek.decoding().keptTokens(Tensor.of(x, rows, v), f, Tensor.of(k.ids, rows, cap), Tensor.of(k.probs, rows, cap),
                Tensor.of(k.counts));
        return k;
    }
}
