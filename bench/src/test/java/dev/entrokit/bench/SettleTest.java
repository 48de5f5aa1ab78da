package dev.entrokit.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SettleTest {

    @Test
    void settlesOnTheFirstWindowOfThreeWithinFivePercent() {
        // Interpreted, then C1, then a plateau broken by the C2 drop: only the last three agree.
        assertEquals(6, Settle.settledAt(List.of(900.0, 120.0, 118.0, 30.0, 10.3, 10.0, 10.1)));
        assertEquals(-1, Settle.settledAt(List.of(900.0, 120.0, 118.0, 30.0, 10.3, 10.0)), "two agreeing batches are not enough");
        assertEquals(-1, Settle.settledAt(List.of(10.0, 10.6, 10.0, 10.6)), "6 % apart never settles");
        assertEquals(2, Settle.settledAt(List.of(10.0, 10.5, 10.2, 50.0)), "exactly 5 % is within");
        assertEquals(-1, Settle.settledAt(List.of()));
    }

    /** A stand-in for a workload class: its "benchmark method" gets fast after a few calls. */
    public static final class Fake {
        int calls;

        public double work() throws InterruptedException {
            calls++;
            Thread.sleep(calls < 3 ? 150 : 20);
            return calls;
        }
    }

    @Test
    void runWarmsTheNamedMethodUpUntilItSettlesAndWritesTheVerdict() throws Exception {
        Path f = Files.createTempFile("settle", ".txt");
        String before = System.getProperty(Settle.PROPERTY);
        System.setProperty(Settle.PROPERTY, f.toString());
        try {
            Fake fake = new Fake();
            Settle.run(fake, "dev.entrokit.bench.SettleTest$Fake.work");
            List<String> lines = Files.readAllLines(f);
            assertEquals(1, lines.size(), lines.toString());
            String[] w = lines.get(0).split(" ");
            assertEquals("settled", w[0], lines.get(0));
            assertTrue(Integer.parseInt(w[1]) >= 3, "at least a window of batches: " + lines.get(0));
            assertTrue(fake.calls > 10, "kept calling past the slow start: " + fake.calls);
            assertTrue(Double.parseDouble(w[3]) < 60, "the last score is the fast one: " + lines.get(0));
        } finally {
            if (before == null) {
                System.clearProperty(Settle.PROPERTY);
            } else {
                System.setProperty(Settle.PROPERTY, before);
            }
            Files.deleteIfExists(f);
        }
    }

    @Test
    void withoutThePropertyNothingRuns() throws Exception {
        assertEquals(null, System.getProperty(Settle.PROPERTY));
        Fake fake = new Fake();
        Settle.run(fake, "x.Fake.work");
        assertEquals(0, fake.calls);
    }
}
