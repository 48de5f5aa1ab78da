package dev.entrokit.bench.suite;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** The results of one run and their two renderings: the table on stdout and the JSON file. */
final class Report {
    /**
     * Above this max/min over a cell's samples the cell is marked unstable: its median is not a number
     * to compare (the bar for a steady kernel is 1.3).
     */
    static final double UNSTABLE_SPREAD = 1.3;

    /**
     * One measured cell: times of one call in ms over every sample (JMH: every iteration of every fork).
     * {@code settled} is null where no settling was asked for (full runs, peers), else whether the
     * {@code --quick} warm-up saw the score settle before measuring (false: it hit its cap, so the
     * numbers may be pre-C2).
     */
    record Result(String workload, String impl, int threads, double msMedian, double msMin, double msMax, long bytes,
                  Boolean settled) {
        Result(String workload, String impl, int threads, double msMedian, double msMin, double msMax, long bytes) {
            this(workload, impl, threads, msMedian, msMin, msMax, bytes, null);
        }

        double gbps() {
            return bytes / (msMedian * 1e-3) / 1e9;
        }

        /** max / min over the samples. */
        double spread() {
            return msMax / msMin;
        }

        /** Whether the samples vary by more than {@link #UNSTABLE_SPREAD} (max/min). */
        boolean unstable() {
            return !(spread() <= UNSTABLE_SPREAD);
        }

        /** The same cell with the warm-up's verdict. */
        Result withSettled(boolean s) {
            return new Result(workload, impl, threads, msMedian, msMin, msMax, bytes, s);
        }
    }

    /** A peer that has no honest form of a workload, and why. */
    record Absent(String workload, String impl, int threads, String reason) {
    }

    /** The machine's limits from the same run (one thread); NaN where not measured. */
    record Ceilings(double copyGbps, double readGbps, double expPerNs) {
        static final Ceilings NONE = new Ceilings(Double.NaN, Double.NaN, Double.NaN);
    }

    private Report() {
    }

    static Result summarize(String workload, String impl, int threads, List<Double> samplesMs, long bytes) {
        if (samplesMs.isEmpty()) {
            throw new IllegalArgumentException("no samples for " + workload + " " + impl);
        }
        List<Double> s = new ArrayList<>(samplesMs);
        s.sort(Comparator.naturalOrder());
        int n = s.size();
        double median = n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
        return new Result(workload, impl, threads, median, s.get(0), s.get(n - 1), bytes);
    }

    private static String f(String fmt, Object... args) {
        return String.format(Locale.ROOT, fmt, args);
    }

    private static String ms(double v) {
        return v >= 100 ? f("%.1f", v) : v >= 10 ? f("%.2f", v) : f("%.3f", v);
    }

    /** Workloads in order of first appearance, then threads, then {@link Args#ALL_IMPLS} order. */
    private static Comparator<Result> order(List<String> workloads) {
        return Comparator.<Result>comparingInt(r -> workloads.indexOf(r.workload()))
                .thenComparingInt(Result::threads)
                .thenComparingInt(r -> Args.ALL_IMPLS.indexOf(r.impl()));
    }

    static String table(List<Result> results, List<Absent> absent, Ceilings c) {
        List<String> workloads = new ArrayList<>();
        for (Result r : results) {
            if (!workloads.contains(r.workload())) {
                workloads.add(r.workload());
            }
        }
        Map<String, Double> simd = new LinkedHashMap<>();
        for (Result r : results) {
            if (r.impl().equals("entrokit-simd")) {
                simd.put(r.workload() + "/" + r.threads(), r.msMedian());
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append(f("Ceilings (one thread, same run): copy %.1f GB/s, SIMD read %.1f GB/s, exp %.2f per ns%n%n",
                c.copyGbps(), c.readGbps(), c.expPerNs()));
        sb.append("| workload | impl | threads | median ms (min–max) | max/min | GB/s | of read ceiling | time ÷ entrokit-simd |\n");
        sb.append("|---|---|---:|---:|---:|---:|---:|---:|\n");
        List<Result> sorted = new ArrayList<>(results);
        sorted.sort(order(workloads));
        for (Result r : sorted) {
            Double base = simd.get(r.workload() + "/" + r.threads());
            String ratio = base == null ? "–" : f("%.2f×", r.msMedian() / base);
            String frac = Double.isNaN(c.readGbps()) ? "–" : f("%.0f%%", 100 * r.gbps() / c.readGbps());
            sb.append(f("| %s | %s | %d | %s (%s–%s) | %s | %.1f | %s | %s |%n", r.workload(), r.impl(), r.threads(),
                    ms(r.msMedian()), ms(r.msMin()), ms(r.msMax()), spread(r), r.gbps(), frac, ratio));
        }
        long unstable = results.stream().filter(Result::unstable).count();
        long unsettled = results.stream().filter(r -> Boolean.FALSE.equals(r.settled())).count();
        if (unstable > 0) {
            sb.append(f("%n%d of %d cells are unstable (max/min > %.1f): compare their medians with care.%n", unstable,
                    results.size(), UNSTABLE_SPREAD));
        }
        if (unsettled > 0) {
            sb.append(f("%n%d cells did not settle within the --quick warm-up's cap: their numbers may be from code"
                    + " not yet compiled by C2; run without --quick.%n", unsettled));
        }
        if (!absent.isEmpty()) {
            sb.append("\nAbsent (no honest form of the workload in that implementation):\n");
            // impl + reason -> workload -> thread counts
            Map<String, Map<String, List<Integer>>> groups = new TreeMap<>();
            for (Absent a : absent) {
                groups.computeIfAbsent(a.impl() + ": " + a.reason(), k -> new LinkedHashMap<>())
                        .computeIfAbsent(a.workload(), k -> new ArrayList<>()).add(a.threads());
            }
            for (Map.Entry<String, Map<String, List<Integer>>> e : groups.entrySet()) {
                List<String> cells = new ArrayList<>();
                e.getValue().forEach((w, ts) -> cells.add(w + " (" + String.join(",", ts.stream().map(String::valueOf).toList())
                        + (ts.size() == 1 && ts.get(0) == 1 ? " thread)" : " threads)")));
                sb.append("- ").append(e.getKey()).append(" — ").append(String.join(", ", cells)).append('\n');
            }
        }
        return sb.toString();
    }

    /** The max/min cell: the ratio, then {@code unstable} and {@code not settled} where they apply. */
    private static String spread(Result r) {
        String s = f("%.2f×", r.spread());
        if (r.unstable()) {
            s += " unstable";
        }
        if (Boolean.FALSE.equals(r.settled())) {
            s += " not settled";
        }
        return s;
    }

    static String json(Map<String, String> machine, Ceilings c, List<Result> results) {
        StringBuilder sb = new StringBuilder("{\n  \"machine\": {");
        int i = 0;
        for (Map.Entry<String, String> e : machine.entrySet()) {
            sb.append(i++ == 0 ? "\n" : ",\n").append("    ").append(quote(e.getKey())).append(": ").append(quote(e.getValue()));
        }
        sb.append(machine.isEmpty() ? "},\n" : "\n  },\n");
        sb.append(f("  \"ceilings\": {\"copy_gbps\": %s, \"read_gbps\": %s, \"exp_per_ns\": %s},%n",
                num(c.copyGbps()), num(c.readGbps()), num(c.expPerNs())));
        sb.append("  \"results\": [");
        i = 0;
        for (Result r : results) {
            sb.append(i++ == 0 ? "\n" : ",\n");
            sb.append(f("    {\"workload\": %s, \"impl\": %s, \"threads\": %d, \"ms_median\": %s, \"ms_min\": %s, \"ms_max\": %s,"
                    + " \"spread\": %s, \"unstable\": %b, \"settled\": %s, \"bytes\": %d}",
                    quote(r.workload()), quote(r.impl()), r.threads(), num(r.msMedian()), num(r.msMin()), num(r.msMax()),
                    num(r.spread()), r.unstable(), r.settled() == null ? "null" : r.settled().toString(), r.bytes()));
        }
        sb.append(results.isEmpty() ? "]\n}\n" : "\n  ]\n}\n");
        return sb.toString();
    }

    private static String num(double v) {
        return Double.isFinite(v) ? f("%.6g", v) : "null";
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (ch < 0x20) {
                        sb.append(f("\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
