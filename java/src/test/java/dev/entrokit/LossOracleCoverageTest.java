package dev.entrokit;

import static dev.entrokit.Float64Oracle.widen;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Spec5.Kind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The op table {@link Loss} against the tests' oracle map {@link LossOracles}: every constant runs through
 * {@link Entrokit#loss} on every backend and matches its float64 oracle (value and gradient) on rows of
 * odd sizes; a constant without an oracle, or a SPEC §1 pair loss missing from {@link PairOp} (which enrols
 * it in the cross-cutting suites), fails here.
 */
@Tag("simd-width")
class LossOracleCoverageTest {
    /** The α-family and χ² are checked by ScoringTest's own families instead of PairOp's suites. */
    private static final Set<Loss> SCORING_FAMILIES = EnumSet.of(Loss.ALPHA, Loss.RENYI, Loss.CHI2);

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String backend : TestBackends.NAMES) {
            for (Loss op : Loss.values()) {
                for (int v : new int[] {7, 33}) {
                    out.add(Arguments.of(backend, op, v, 0.7f));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} V={2} T={3}")
    @MethodSource("cases")
    void everyLossMatchesItsOracleThroughTheOpTable(String backend, Loss op, int v, float temperature) {
        Entrokit ek = TestBackends.open(backend);
        int rows = GradientCheckTest.ROWS;
        long seed = 31L * v + op.ordinal();
        float[] t = GradientCheckTest.logits(seed, v);
        float[] s = GradientCheckTest.student(t, seed, v);
        int[] labels = new int[rows];
        for (int r = 0; r < rows; r++) {
            labels[r] = (int) ((seed + 5L * r) % v);
        }
        labels[rows - 1] = LossOptions.DEFAULT_IGNORE_INDEX; // an ignored row where labels are read
        LossOptions o = LossOptions.defaults().temperature(temperature).reduction(Reduction.NONE).gradScale(1.5f)
                .beta(0.3f).alpha(1.7f).labelSmoothing(op == Loss.CROSS_ENTROPY_LABELS ? 0.1f : 0f);
        float[] rowLoss = new float[rows];
        float[] grad = op.hasGradient() ? new float[rows * v] : null;
        ek.loss(op, op.readsTeacher() ? Tensor.of(t, rows, v) : null, Tensor.of(s, rows, v),
                op.readsLabels() ? Tensor.of(labels) : null, o, Tensor.of(rowLoss),
                grad == null ? null : Tensor.of(grad, rows, v));
        LossOracles.Args args = LossOracles.Args.of(o);
        for (int r = 0; r < rows; r++) {
            double[] tr = widen(t, r * v, v);
            double[] sr = widen(s, r * v, v);
            int label = op.readsLabels() ? labels[r] : 0;
            String what = backend + " " + op + " row " + r;
            Spec5.check(Kind.LOSS, rowLoss[r], LossOracles.forward(op, tr, sr, label, args), what);
            double[] ref = LossOracles.gradient(op, tr, sr, label, args, o.gradScale());
            if (op.hasGradient()) {
                assertNotNull(ref, what + ": a loss with a gradient needs a gradient oracle");
                Spec5.check(Kind.GRAD, grad, r * v, ref, what + " grad");
            } else {
                assertNull(ref, what + ": the oracle offers a gradient the op table says the loss has not");
            }
        }
    }

    @Test
    void everySpecPairLossIsEnrolledInPairOp() {
        Set<Loss> enrolled = EnumSet.noneOf(Loss.class);
        for (PairOp p : PairOp.values()) {
            enrolled.add(p.loss());
            assertEquals(p.loss().hasGradient(), p.hasGrad(), p.name());
        }
        Set<Loss> expected = EnumSet.noneOf(Loss.class);
        for (Loss l : Loss.pairs()) {
            if (!SCORING_FAMILIES.contains(l)) {
                expected.add(l);
            }
        }
        assertEquals(expected, enrolled, "PairOp must list every SPEC §1 teacher/student loss of Loss");
    }

    @Test
    void theTableSaysWhatEachLossReads() {
        Entrokit ek = TestBackends.instance("scalar");
        Tensor x = Tensor.of(new float[6], 2, 3);
        float[] row = new float[2];
        for (Loss op : Loss.values()) {
            assertEquals(op.readsTeacher(), Loss.pairs().contains(op) || op == Loss.PLD, op.name());
            if (!op.readsTeacher()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ek.loss(op, x, x,
                        op.readsLabels() ? Tensor.of(new int[2]) : null, LossOptions.defaults(), Tensor.of(row), null));
                assertEquals("teacher: " + op + " reads no teacher; pass null", e.getMessage());
            }
            if (!op.readsLabels()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ek.loss(op,
                        op.readsTeacher() ? x : null, x, Tensor.of(new int[2]), LossOptions.defaults(), Tensor.of(row), null));
                assertEquals("labels: " + op + " reads no labels; pass null", e.getMessage());
            }
            if (!op.hasGradient()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ek.loss(op, x, x, null,
                        LossOptions.defaults(), Tensor.of(row), Tensor.of(new float[6], 2, 3)));
                assertEquals("grad: " + op + " has no gradient; pass null", e.getMessage());
            }
        }
        assertTrue(Arrays.stream(Loss.values()).anyMatch(l -> !l.hasGradient()), "TV and Hellinger have none");
    }

    @Test
    void theNamedMethodsAreTheOpTableEntries() {
        // The named methods and the table entry run the same driver: bitwise the same rows.
        Entrokit ek = TestBackends.instance("scalar");
        int v = 11;
        float[] t = GradientCheckTest.logits(3, v);
        float[] s = GradientCheckTest.student(t, 3, v);
        int rows = GradientCheckTest.ROWS;
        LossOptions o = LossOptions.defaults().reduction(Reduction.NONE).alpha(0.3f);
        float[] a = new float[rows];
        float[] b = new float[rows];
        ek.alphaDivergence(Tensor.of(t, rows, v), Tensor.of(s, rows, v), 0.3f, o, Tensor.of(a), null);
        ek.loss(Loss.ALPHA, Tensor.of(t, rows, v), Tensor.of(s, rows, v), null, o, Tensor.of(b), null);
        assertTrue(Arrays.equals(a, b), Arrays.toString(a) + " vs " + Arrays.toString(b));
        ek.renyi(Tensor.of(t, rows, v), Tensor.of(s, rows, v), 2f, o, Tensor.of(a), null);
        ek.loss(Loss.RENYI, Tensor.of(t, rows, v), Tensor.of(s, rows, v), null, o.alpha(2f), Tensor.of(b), null);
        assertTrue(Arrays.equals(a, b), Arrays.toString(a) + " vs " + Arrays.toString(b));
    }
}
