package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Decoding#sampleConstrained}: the drawn tokens follow the kept distribution restricted to the
 * allowed tokens (Pearson's χ²), the rejected mass is that of the refused draws, and a constraint that
 * refuses everything gives -1 after one rejection per kept token.
 */
class ConstrainedSamplingTest {

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void tokensFollowTheKeptDistributionRestrictedToTheAllowed(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] row = {2.0f, 1.5f, 1.4f, 0.3f, -0.2f, 1.0f, -3f, Float.NEGATIVE_INFINITY};
        int v = row.length;
        int n = 20_000;
        float[] x = new float[n * v];
        long[] seeds = new long[n];
        for (int r = 0; r < n; r++) {
            System.arraycopy(row, 0, x, r * v, v);
            seeds[r] = 77L * r;
        }
        SamplingFilters f = SamplingFilters.temperature(0.9f).topK(6);
        double[] q = SelectionReference.keptProbabilities(row, 0, v, f);
        List<int[]> calls = new ArrayList<>();
        Decoding.TokenConstraint odd = (r, t) -> {
            if (r < 3) {
                calls.add(new int[] {r, t});
            }
            return t % 2 == 1;
        };
        int[] tokens = new int[n];
        int[] rejections = new int[n];
        float[] mass = new float[n];
        ek.decoding().sampleConstrained(Tensor.of(x, n, v), f, odd, seeds, 4, Tensor.of(tokens), Tensor.of(rejections),
                Tensor.of(mass));
        double allowed = 0;
        double refused = 0;
        for (int i = 0; i < v; i++) {
            allowed += i % 2 == 1 ? q[i] : 0;
            refused += i % 2 == 0 ? q[i] : 0;
        }
        long[] counts = new long[v];
        for (int r = 0; r < n; r++) {
            assertTrue(tokens[r] % 2 == 1 && q[tokens[r]] > 0, "row " + r + " drew " + tokens[r]);
            counts[tokens[r]]++;
            assertTrue(rejections[r] <= 3, "three even tokens are kept: at most three rejections");
            assertEquals(rejections[r] == 0, mass[r] == 0f);
            assertTrue(mass[r] <= refused + 1e-6);
        }
        double chi2 = 0;
        int dof = -1;
        for (int i = 0; i < v; i++) {
            if (i % 2 == 1 && q[i] > 0) {
                double e = n * q[i] / allowed;
                chi2 += (counts[i] - e) * (counts[i] - e) / e;
                dof++;
            }
        }
        assertEquals(2, dof); // tokens 1, 3, 5 are kept and allowed
        assertTrue(chi2 < 13.8, backend + ": chi2 = " + chi2 + " (2 degrees of freedom, P = 0.001 at 13.8)");
        assertTrue(calls.stream().allMatch(c -> c[0] < 3) && calls.stream().anyMatch(c -> c[0] == 2), "the row is passed");
        // The mean rejected mass matches its expectation: the chance of refusing first, then second, ...
        double mean = 0;
        for (float m : mass) {
            mean += m / n;
        }
        assertTrue(mean > 0.1 && mean < refused, "mean rejected mass " + mean + " of " + refused);
    }

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void refusingEverythingGivesMinusOne(String backend) {
        Entrokit ek = TestBackends.open(backend);
        float[] x = {1f, 2f, 3f, Float.NEGATIVE_INFINITY, Float.NaN, 0f, 0f, 0f};
        int[] tokens = new int[2];
        int[] rejections = new int[2];
        float[] mass = new float[2];
        ek.decoding().sampleConstrained(Tensor.of(x, 2, 4), SamplingFilters.temperature(1f).typical(0.99f),
                (r, t) -> false, new long[] {1, 2}, 0, Tensor.of(tokens), Tensor.of(rejections), Tensor.of(mass));
        assertEquals(-1, tokens[0]);
        int kept = SelectionReference.kept(x, 0, 4, SamplingFilters.temperature(1f).typical(0.99f)).size();
        assertEquals(kept, rejections[0]);
        assertEquals(1f, mass[0], 1e-6f);
        assertEquals(-1, tokens[1], "a special row");
        assertTrue(Float.isNaN(mass[1]));
        SelectionTest.refused("constraint", () -> ek.decoding().sampleConstrained(Tensor.of(x, 2, 4),
                SamplingFilters.temperature(1f), null,
                new long[] {1, 2}, 0, Tensor.of(tokens), Tensor.of(rejections), Tensor.of(mass)));
        SelectionTest.refused("temperature", () -> ek.decoding().sampleConstrained(Tensor.of(x, 2, 4),
                SamplingFilters.temperature(0f),
                (r, t) -> true, new long[] {1, 2}, 0, Tensor.of(tokens), Tensor.of(rejections), Tensor.of(mass)));
    }
}
