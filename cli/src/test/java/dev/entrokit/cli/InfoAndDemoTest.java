package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.BackendInfo;
import dev.entrokit.Entrokit;
import org.junit.jupiter.api.Test;

class InfoAndDemoTest {
    @Test
    void infoListsTheJdkAndEveryBackend() {
        CliRunner.Result r = CliRunner.run("info");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("jdk:      " + Runtime.version()), r.out());
        for (BackendInfo b : Entrokit.backends()) {
            assertTrue(r.out().contains(b.name() + " "), b.name());
        }
        assertTrue(r.out().contains("scalar  available"), r.out());
        assertTrue(r.out().contains("threads:"), r.out());
        assertTrue(r.out().contains("simd:"), r.out());
    }

    @Test
    void smallDemoRunsEveryOpAndGivesAVerdict() {
        CliRunner.Result r = CliRunner.run("demo", "--rows", "3", "--cols", "257", "--repeats", "1", "--threads", "2");
        assertEquals(0, r.code(), r.out() + r.err());
        for (EvalOp op : EvalOp.values()) {
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith(op.key() + " ")), op.key());
        }
        assertTrue(r.out().contains("cross_entropy (labels)"), r.out());
        assertTrue(r.out().contains("cross_entropy (teacher)"), r.out());
        assertTrue(r.out().contains("verdict: OK"), r.out());
    }

    @Test
    void demoDataIsReproducibleAndMasked() {
        DemoData a = DemoData.generate(4, 1000, 7);
        DemoData b = DemoData.generate(4, 1000, 7);
        assertTrue(java.util.Arrays.equals(a.teacher(), b.teacher()) && java.util.Arrays.equals(a.labels(), b.labels()));
        long masked = 0;
        for (float x : a.teacher()) {
            masked += x == Float.NEGATIVE_INFINITY ? 1 : 0;
        }
        double fraction = masked / 4000.0;
        assertTrue(fraction > 0.03 && fraction < 0.07, "masked fraction " + fraction);
        for (int r = 0; r < 4; r++) {
            int y = a.labels()[r];
            assertTrue(y == DemoData.IGNORE || a.teacher()[r * 1000 + y] != Float.NEGATIVE_INFINITY, "label on a masked token");
        }
    }

    @Test
    void toleranceFollowsSpecSection5() {
        assertTrue(Tolerance.ABS_REL.accepts(1 + 1.05e-5, 1.0));
        assertTrue(!Tolerance.ABS_REL.accepts(1 + 1.2e-5, 1.0));
        assertTrue(Tolerance.SCALED.accepts(1e-5, 0.0));
        assertTrue(Tolerance.SCALED.accepts(Double.NaN, Double.NaN));
        assertTrue(!Tolerance.SCALED.accepts(Double.NaN, 0.0));
        assertTrue(Tolerance.SCALED.accepts(Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY));
    }
}
