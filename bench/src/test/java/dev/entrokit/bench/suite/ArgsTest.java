package dev.entrokit.bench.suite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ArgsTest {
    @Test
    void defaults() {
        Args a = Args.parse();
        assertFalse(a.quick());
        assertNull(a.filter());
        assertNull(a.json());
        assertEquals(Args.ALL_IMPLS, a.impls());
        assertEquals(List.of(1, 2), a.threads());
        assertTrue(a.selects("W1-softmax-entropy"));
    }

    @Test
    void everyOption() {
        Args a = Args.parse("--quick", "--filter", "W2-kl$|W1", "--json", "out/r.json", "--impl", "entrokit-simd,torch",
                "--threads", "2", "-p", "rows=64", "-p", "DivergenceLossBench.cols=50257");
        assertTrue(a.quick());
        assertTrue(a.selects("W2-kl"));
        assertFalse(a.selects("W2-kl-fwd-bwd"));
        assertTrue(a.selects("W1-softmax-entropy"));
        assertEquals(Path.of("out/r.json"), a.json());
        assertEquals(Path.of("out/r.png"), a.png());
        assertEquals(List.of("entrokit-simd", "torch"), a.impls());
        assertEquals(List.of(2), a.threads());
        assertEquals("64", a.param("SoftmaxEntropyBench", "rows"));
        assertEquals("50257", a.param("DivergenceLossBench", "cols"));
        assertNull(a.param("SoftmaxEntropyBench", "cols"));
    }

    @Test
    void pngMayBeNamed() {
        assertEquals(Path.of("c.png"), Args.parse("--json", "r.json", "--png", "c.png").png());
    }

    @Test
    void mistakesAreNamed() {
        assertEquals("--filter: missing value", assertThrows(IllegalArgumentException.class, () -> Args.parse("--filter")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Args.parse("--filter", "(")).getMessage().contains("regular expression"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Args.parse("--impl", "jax")).getMessage().contains("unknown implementation 'jax'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Args.parse("--threads", "0")).getMessage().contains("positive"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Args.parse("-p", "rows")).getMessage().contains("NAME=VALUE"));
        assertEquals("unknown argument '--fast'", assertThrows(IllegalArgumentException.class, () -> Args.parse("--fast")).getMessage());
        assertTrue(Args.parse("--help").help());
    }
}
