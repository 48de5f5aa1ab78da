package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;

import dev.entrokit.Spec5.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** kl, rkl, jsd(β), jeffreys, tv, hellinger (values and student gradients) on every backend against {@link Float64Oracle}. */
@Tag("simd-width")
class DivergenceTest {

    /** β for JSD: both endpoints (the KL conventions), the classic 0.5 and an asymmetric value. */
    static final float[] BETAS = {0f, 0.25f, 0.5f, 1f};

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        Cases.backendSizeRowsTemperature().forEach(a -> {
            for (PairOp op : PairOp.values()) {
                if (op == PairOp.CROSS_ENTROPY) {
                    continue; // CrossEntropyTest
                }
                for (float beta : op == PairOp.JSD ? BETAS : new float[] {0.5f}) {
                    Object[] p = a.get();
                    out.add(Arguments.of(p[0], op, beta, p[1], p[2], p[3]));
                }
            }
        });
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} β={2} V={3} rows={4} T={5}")
    @MethodSource("cases")
    void matchesOracle(String backend, PairOp op, float beta, int v, int rows, float t) {
        Entrokit ek = TestBackends.open(backend);
        long seed = TestLogits.seed("divergence", v, rows, t);
        float[] teacher = TestLogits.batch(seed, rows, v);
        float[] student = TestLogits.studentFor(teacher, seed, rows, v);
        float g = 1.25f;
        Run run = Run.pair(ek, op, teacher, student, rows, v,
                LossOptions.defaults().temperature(t).reduction(Reduction.NONE).gradScale(g).beta(beta));
        double[] refs = new double[rows];
        for (int r = 0; r < rows; r++) {
            double[] tr = widen(teacher, r * v, v);
            double[] sr = widen(student, r * v, v);
            String at = backend + " " + op + " β=" + beta + " row " + r + " V=" + v + " T=" + t;
            refs[r] = op.oracle(tr, sr, t, beta);
            Spec5.check(Kind.LOSS, run.rowLoss()[r], refs[r], at);
            if (op.hasGrad()) {
                Spec5.check(Kind.GRAD, run.grad(), r * v, op.oracleGrad(tr, sr, t, beta, g), "grad " + at);
            }
        }
        Spec5.checkReduced(run.value(), refs, 1, op + " NONE returns the row sum, " + backend);
    }
}
