package dev.entrokit.bench.suite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReportTest {
    private static final Report.Ceilings C = new Report.Ceilings(40, 20, 4.5);

    @Test
    void summarizeTakesMedianAndSpread() {
        Report.Result r = Report.summarize("W1-softmax-entropy", "torch", 2, List.of(3.0, 1.0, 2.0, 10.0), 8000000);
        assertEquals(2.5, r.msMedian());
        assertEquals(1.0, r.msMin());
        assertEquals(10.0, r.msMax());
        assertEquals(3.2, r.gbps(), 1e-12);  // 8e6 bytes in 2.5 ms
        assertEquals(2.0, Report.summarize("w", "i", 1, List.of(3.0, 1.0, 2.0), 1).msMedian());
        assertThrows(IllegalArgumentException.class, () -> Report.summarize("w", "i", 1, List.of(), 1));
    }

    @Test
    void tableOrdersRowsAndComparesWithSimdAtTheSameThreads() {
        List<Report.Result> rs = List.of(
                new Report.Result("W2-kl", "torch", 1, 8, 7, 9, 16_000_000),
                new Report.Result("W2-kl", "entrokit-simd", 1, 2, 1.5, 2.5, 16_000_000),
                new Report.Result("W2-kl", "entrokit-simd", 2, 1, 1, 1, 16_000_000),
                new Report.Result("W2-kl", "numpy", 1, 20, 19, 21, 16_000_000));
        String t = Report.table(rs, List.of(
                new Report.Absent("W2-kl", "numpy", 2, "one thread only"),
                new Report.Absent("W2-kl", "pot", 1, "no such op"),
                new Report.Absent("W2-kl", "pot", 2, "no such op")), C);
        String[] lines = t.split("\n");
        assertEquals("Ceilings (one thread, same run): copy 40.0 GB/s, SIMD read 20.0 GB/s, exp 4.50 per ns", lines[0]);
        assertEquals("| workload | impl | threads | median ms (min–max) | max/min | GB/s | of read ceiling | time ÷ entrokit-simd |", lines[2]);
        assertEquals("| W2-kl | entrokit-simd | 1 | 2.000 (1.500–2.500) | 1.67× unstable | 8.0 | 40% | 1.00× |", lines[4]);
        assertEquals("| W2-kl | torch | 1 | 8.000 (7.000–9.000) | 1.29× | 2.0 | 10% | 4.00× |", lines[5]);
        assertEquals("| W2-kl | numpy | 1 | 20.00 (19.00–21.00) | 1.11× | 0.8 | 4% | 10.00× |", lines[6]);
        assertEquals("| W2-kl | entrokit-simd | 2 | 1.000 (1.000–1.000) | 1.00× | 16.0 | 80% | 1.00× |", lines[7]);
        assertTrue(t.contains("\n1 of 4 cells are unstable (max/min > 1.3): compare their medians with care.\n"), t);
        assertTrue(!t.contains("did not settle"), t);
        assertTrue(t.contains("- numpy: one thread only — W2-kl (2 threads)\n"), t);
        assertTrue(t.contains("- pot: no such op — W2-kl (1,2 threads)\n"), t);
    }

    @Test
    void jsonHasExactlyTheSchema() {
        Map<String, String> machine = new LinkedHashMap<>();
        machine.put("cpu", "AMD \"EPYC\"");
        machine.put("cores", "2");
        String json = Report.json(machine, new Report.Ceilings(40.5, 38.25, Double.NaN),
                List.of(new Report.Result("W1-softmax-entropy", "entrokit-simd", 1, 1.5, 1.25, 2, 32_833_536)));
        assertEquals("""
                {
                  "machine": {
                    "cpu": "AMD \\"EPYC\\"",
                    "cores": "2"
                  },
                  "ceilings": {"copy_gbps": 40.5000, "read_gbps": 38.2500, "exp_per_ns": null},
                  "results": [
                    {"workload": "W1-softmax-entropy", "impl": "entrokit-simd", "threads": 1, "ms_median": 1.50000, "ms_min": 1.25000, "ms_max": 2.00000, "spread": 1.60000, "unstable": true, "settled": null, "bytes": 32833536}
                  ]
                }
                """, json);
        assertEquals("{\n  \"machine\": {},\n  \"ceilings\": {\"copy_gbps\": null, \"read_gbps\": null, \"exp_per_ns\": null},\n  \"results\": []\n}\n",
                Report.json(Map.of(), Report.Ceilings.NONE, List.of()));
    }

    @Test
    void spreadIsMaxOverMinAndUnstableAboveOnePointThree() {
        Report.Result steady = Report.summarize("W2-kl", "entrokit-simd", 1, List.of(10.0, 12.0, 13.0), 1);
        assertEquals(1.3, steady.spread(), 1e-12);
        assertTrue(!steady.unstable(), "exactly 1.3 is still stable");
        Report.Result bimodal = Report.summarize("W2-kl", "entrokit-simd", 1, List.of(10.0, 23.0, 11.0), 1);
        assertEquals(2.3, bimodal.spread(), 1e-12);
        assertTrue(bimodal.unstable());
        assertEquals(null, bimodal.settled(), "full runs carry no settling verdict");
        assertEquals(Boolean.FALSE, bimodal.withSettled(false).settled());
        assertEquals(bimodal.msMedian(), bimodal.withSettled(false).msMedian());
    }

    @Test
    void aQuickCellThatDidNotSettleIsSaidSoInTheTableAndTheJson() {
        Report.Result settled = new Report.Result("W1-softmax-entropy", "entrokit-simd", 1, 5, 4.9, 5.1, 1).withSettled(true);
        Report.Result not = new Report.Result("W2-jsd", "entrokit-simd", 1, 300, 200, 324, 1).withSettled(false);
        String t = Report.table(List.of(settled, not), List.of(), C);
        assertTrue(t.contains("| W1-softmax-entropy | entrokit-simd | 1 | 5.000 (4.900–5.100) | 1.04× |"), t);
        assertTrue(t.contains("| W2-jsd | entrokit-simd | 1 | 300.0 (200.0–324.0) | 1.62× unstable not settled |"), t);
        assertTrue(t.contains("\n1 cells did not settle within the --quick warm-up's cap"), t);
        String json = Report.json(Map.of(), C, List.of(settled, not));
        assertTrue(json.contains("\"spread\": 1.04082, \"unstable\": false, \"settled\": true,"), json);
        assertTrue(json.contains("\"spread\": 1.62000, \"unstable\": true, \"settled\": false,"), json);
    }
}
