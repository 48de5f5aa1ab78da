package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Spec5.Kind;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * JSD where a token's probability is subnormal in both rows: the mixture {@code βp + (1−β)q} rounds to 0,
 * and {@code p·log(p/M)} with {@code log M = −inf} made the loss {@code +inf} (it is at most ln 2) and the
 * gradient infinite. Rows from the façade fuzzer: logits spread over 5e4 at T = 0.7.
 */
@Tag("simd-width")
class JsdUnderflowTest {
    private static final float[] TEACHER = {25250f, 25250f, 25250f, 25250f, 23030f, -19760f, 130f, -12359.999f,
        -2620f, -21010f, 11930f, -25800f, 1170f, 7680f, 7680f, 24730f, -3670.0002f, 22730f, 18150f, -2560f, -2560f,
        -12520f, -1110f, -13789.999f, -15560f, 15900f, 19360f, 9000f, 20500f, -26280f, -4460f, 11480f, 11480f,
        20060f, 2480f, 22260f};
    private static final float[] STUDENT = {25250f, 23170f, 23170f, 23170f, 20880f, 4760f, -6310f, -23970f, -10340f,
        -10340f, -8730f, 22960f, 16320f, 4570f, -24940f, 170.00002f, -24200f, 5250f, -28120f, -3170f, -480f, -10480f,
        -15260f, -27860f, -13040f, -13040f, -13040f, 0f, -26940f, -22630f, 10369.999f, 10070f, 1030f, 24990f, -8660f,
        4350f};

    @ParameterizedTest
    @MethodSource("dev.entrokit.TestBackends#names")
    void aTokenSubnormalInBothRowsAddsNothing(String backend) {
        Entrokit ek = TestBackends.open(backend);
        int v = TEACHER.length;
        float temperature = 0.7f;
        float[] grad = new float[v];
        double loss = ek.jsd(Tensor.of(TEACHER, 1, v), Tensor.of(STUDENT, 1, v),
                LossOptions.defaults().temperature(temperature).beta(0.5f).reduction(Reduction.SUM), null,
                Tensor.of(grad, 1, v));
        double[] t = Float64Oracle.widen(TEACHER);
        double[] s = Float64Oracle.widen(STUDENT);
        double ref = Float64Oracle.jsd(t, s, 0.5, temperature);
        assertTrue(ref > 0 && ref <= Math.log(2), "the oracle's JSD lies in (0, ln 2]: " + ref);
        Spec5.check(Kind.LOSS, loss, ref, backend + " jsd");
        Spec5.check(Kind.GRAD, grad, 0, Float64Oracle.jsdGrad(t, s, 0.5, temperature, 1), backend + " jsd grad");
    }
}
