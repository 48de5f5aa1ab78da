package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Rows at the edges of the SIMD decoding passes, each against the float64 reference (the scalar backend): XTC
 * keeping a sliver of the row's mass (the walk's block sums are off by their float rounding there), spreads past
 * {@code Float.MAX_VALUE} at huge temperatures (where {@code x − max} itself overflows), and a dynamic temperature
 * that takes T to 1e45. A reviewer's probes found each of these wrong once: masks and draws that gave the
 * huge-spread tokens no weight, a row taken for special (both fail here on that arithmetic), and, with the
 * scaling of that time, a live row drawing -1 when XTC kept a sliver of the mass (the rounding now happens to fall
 * the safe way on these rows; the walk also ends on the reference's last kept token, and rows where XTC keeps
 * under 1 % of the mass go to the reference).
 */
@Tag("simd-width")
class DecodingEdgeRowsTest {

    private static int[] draws(Entrokit ek, float[] x, int v, SamplingFilters f, int count) {
        int[] tokens = new int[count];
        int[] one = new int[1];
        for (int s = 0; s < count; s++) {
            ek.decoding().sample(Tensor.of(x, 1, v), f, new long[] {s}, 0, Tensor.of(one));
            tokens[s] = one[0];
        }
        return tokens;
    }

    private static byte[] mask(Entrokit ek, float[] x, int v, SamplingFilters f) {
        byte[] m = new byte[v];
        ek.decoding().keptMask(Tensor.of(x, 1, v), f, Tensor.ofMask(m, 1, v));
        return m;
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void xtcKeepingASliverOfTheMassDrawsWhatTheReferenceDraws(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int v = 2048;
        for (int layout = 0; layout < 4; layout++) {
            float[] x = new float[v];
            Arrays.fill(x, Float.NEGATIVE_INFINITY);
            Random rnd = new Random(layout);
            double d = 0;
            for (int i = 1536; i < v; i++) { // the dropped top, all in the last block
                x[i] = -2f * rnd.nextFloat();
                d += Math.exp(x[i]);
            }
            x[0] = (float) Math.log(3e-7 * d); // q ≈ 3e-7: the last of XTC's run and the only token it keeps
            int[] tokens = draws(ek, x, v, SamplingFilters.temperature(1f).xtc(1e-7f, 1f), 200);
            int[] expected = new int[tokens.length]; // the reference keeps token 0 alone
            assertArrayEquals(expected, tokens, backend + " layout " + layout);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void spreadsPastTheFloatRangeAtHugeTemperatures(String backend) {
        Entrokit ek = TestBackends.open(backend);
        Entrokit ref = TestBackends.scalarReference();
        int v = 64;
        float[] x = new float[v];
        Arrays.fill(x, -Float.MAX_VALUE);
        x[0] = Float.MAX_VALUE;
        for (SamplingFilters f : List.of(SamplingFilters.temperature(1e38f).xtc(0.5f, 1f),
                SamplingFilters.temperature(1e38f).xtc(0.5f, 0f))) {
            int[] tokens = draws(ek, x, v, f, 200);
            assertArrayEquals(draws(ref, x, v, f, 200), tokens, backend + " " + f);
            assertEquals(true, Arrays.stream(tokens).anyMatch(t -> t != 0), backend + " " + f + ": the far tokens weigh e^-6.8 each");
        }
        float[] eps = new float[128];
        Arrays.fill(eps, Float.NEGATIVE_INFINITY);
        eps[5] = Float.MAX_VALUE;
        eps[9] = 0.9f * Float.MAX_VALUE;
        for (int i = 20; i < 120; i++) {
            eps[i] = -0.5f * Float.MAX_VALUE;
        }
        SamplingFilters epsilon = SamplingFilters.temperature(1e38f).epsilon(0.35f);
        assertArrayEquals(mask(ref, eps, 128, epsilon), mask(ek, eps, 128, epsilon), backend + " " + epsilon);
        int n = 40_000;
        float[] wide = new float[n];
        Random rnd = new Random(1);
        for (int i = 0; i < n; i++) {
            wide[i] = -Float.MAX_VALUE * (0.5f + 0.5f * rnd.nextFloat());
        }
        wide[7] = Float.MAX_VALUE;
        for (float p : new float[] {0.5f, 0.9f}) {
            SamplingFilters topP = SamplingFilters.temperature(1e38f).topP(p);
            byte[] got = mask(ek, wide, n, topP);
            byte[] want = mask(ref, wide, n, topP);
            assertEquals(count(want), count(got), backend + " " + topP + " keeps as many tokens");
            assertArrayEquals(want, got, backend + " " + topP);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void aDynamicTemperatureNear1e45KeepsTheRowLive(String backend) {
        Entrokit ek = TestBackends.open(backend);
        Entrokit ref = TestBackends.scalarReference();
        int v = 16;
        float[] x = new float[v];
        Arrays.fill(x, Float.NEGATIVE_INFINITY);
        x[0] = 1f;
        x[1] = 2f;
        x[2] = 3f;
        SamplingFilters f = SamplingFilters.temperature(1e38f).dynamicTemperature(2.4e7f, 2.4e7f, 1f).epsilon(0.1f);
        byte[] want = mask(ref, x, v, f);
        assertEquals(3, count(want), "the reference keeps the three live tokens");
        assertArrayEquals(want, mask(ek, x, v, f), backend + " " + f);
        assertArrayEquals(draws(ref, x, v, f, 50), draws(ek, x, v, f, 50), backend + " " + f);
    }

    private static int count(byte[] m) {
        int c = 0;
        for (byte b : m) {
            c += b;
        }
        return c;
    }
}
