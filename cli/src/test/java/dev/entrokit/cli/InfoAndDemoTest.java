package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.BackendInfo;
import dev.entrokit.Entrokit;
import java.util.List;
import java.util.OptionalDouble;
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
        assertTrue(r.out().contains("\n  library: "), r.out());
        assertTrue(r.out().contains("\n  runs:   host tensors on the default backend above (on cuda: its CPU backend);"
                + " device tensors on CUDA"), r.out());
    }

    @Test
    void defaultDemoIsAShortTourOnEveryBackend() {
        CliRunner.Result r = CliRunner.run("demo", "--threads", "2");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().startsWith("batch: 8 x 4096 logits"), r.out());
        List<String> table = r.out().lines().filter(l -> l.matches("^[a-z_0-9]+( \\([a-z_+]+\\))? +(scalar|simd|cuda) .*")).toList();
        List<String> backends = Entrokit.backends().stream().filter(BackendInfo::available).map(BackendInfo::name).toList();
        for (String op : List.of("softmax", "entropy", "kl", "jsd", "top_k", "top_p", "sample", "token_logprob", "sinkhorn")) {
            for (String b : backends) {
                assertTrue(table.stream().anyMatch(l -> l.startsWith(op + " ") && l.contains(" " + b + " ")), op + " on " + b + ":\n" + r.out());
            }
        }
        assertTrue(table.stream().noneMatch(l -> l.startsWith("pld ") || l.startsWith("renyi ")), "the tour is a few ops:\n" + r.out());
        assertTrue(!r.out().contains("ms/call"), "one cold call is not a timing:\n" + r.out());
        assertTrue(r.out().contains("verdict: OK"), r.out());
    }

    @Test
    void fullDemoRunsEveryOpAndGivesAVerdict() {
        CliRunner.Result r = CliRunner.run("demo", "--full", "--rows", "3", "--cols", "257", "--repeats", "1", "--threads", "2");
        assertEquals(0, r.code(), r.out() + r.err());
        for (EvalOp op : EvalOp.values()) {
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith(op.key() + " ")), op.key());
        }
        assertTrue(r.out().contains("cross_entropy (labels)"), r.out());
        assertTrue(r.out().contains("cross_entropy (teacher)"), r.out());
        assertTrue(r.out().contains("ms/call"), r.out());
        assertTrue(r.out().contains("verdict: OK"), r.out());
    }

    @Test
    void timingsAreCalledUnreliableOnABusyMachine() {
        TimingCheck quiet = new TimingCheck(2, 2, OptionalDouble.of(0.5));
        quiet.calls("kl on simd", 1.0, 1.3);
        assertNull(quiet.verdict(OptionalDouble.of(3.9)), "own threads do not count, 1.3x is within spread");

        TimingCheck loaded = new TimingCheck(2, 2, OptionalDouble.of(2.5));
        assertEquals("timings are not reliable: the machine was busy (load average 2.50 on 2 cores before the run);"
                + " errors are unaffected", loaded.verdict(OptionalDouble.empty()));

        TimingCheck noisy = new TimingCheck(2, 1, OptionalDouble.empty());
        noisy.calls("kl on simd", 1.0, 1.31);
        noisy.calls("jsd on simd", 2.0, 5.0);
        noisy.calls("tv on simd", 2.0, 2.0);
        assertEquals("timings are not reliable: the machine was busy (load average 3.50 on 2 cores after it"
                + " (1 of them this run's threads); 2 op timings varied more than 1.3x between calls (worst 2.50x: jsd on simd));"
                + " errors are unaffected", noisy.verdict(OptionalDouble.of(3.5)));
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
