package dev.entrokit.bench.suite;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** The command line of {@code ./entrokit bench}. */
record Args(boolean quick, Pattern filter, Path json, Path png, List<String> impls, List<Integer> threads,
            Map<String, String> params, boolean help) {

    static final List<String> ALL_IMPLS = List.of("entrokit-scalar", "entrokit-simd", "torch", "torch-avx512",
            "numpy", "pot", "nd4j");

    static final String USAGE = """
            usage: ./entrokit bench [--quick] [--filter REGEX] [--json FILE] [--png FILE]
                                    [--impl LIST] [--threads LIST] [-p NAME=VALUE]... | jmh [JMH args]
              --quick         short warm-up and measurement, no scalar reference unless --impl names it
              --filter REGEX  workloads whose name contains a match, e.g. 'W1|W2-kl$'
              --json FILE     results as JSON (default bench/results/tmp/bench-<time>.json)
              --png FILE      the chart (default: the JSON's path with .png)
              --impl LIST     comma-separated subset of %s
              --threads LIST  comma-separated thread counts (default 1,2)
              -p NAME=VALUE   a benchmark @Param for every workload class that has it (e.g. -p rows=64),
                              or for one class (-p DivergenceLossBench.cols=50257)
              jmh ...         the plain JMH command line (e.g. ./entrokit bench jmh -l)
            """.formatted(String.join(",", ALL_IMPLS));

    static Args parse(String... argv) {
        boolean quick = false;
        boolean help = false;
        Pattern filter = null;
        Path json = null;
        Path png = null;
        List<String> impls = ALL_IMPLS;
        List<Integer> threads = List.of(1, 2);
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            switch (a) {
                case "--quick" -> quick = true;
                case "-h", "--help" -> help = true;
                case "--filter" -> {
                    String re = value(argv, ++i, a);
                    try {
                        filter = Pattern.compile(re);
                    } catch (PatternSyntaxException e) {
                        throw new IllegalArgumentException("--filter: not a regular expression: " + re);
                    }
                }
                case "--json" -> json = Path.of(value(argv, ++i, a));
                case "--png" -> png = Path.of(value(argv, ++i, a));
                case "--impl" -> {
                    impls = new ArrayList<>();
                    for (String s : value(argv, ++i, a).split(",")) {
                        if (!ALL_IMPLS.contains(s.trim())) {
                            throw new IllegalArgumentException("--impl: unknown implementation '" + s.trim() + "' (known: "
                                    + String.join(", ", ALL_IMPLS) + ")");
                        }
                        impls.add(s.trim());
                    }
                }
                case "--threads" -> {
                    threads = new ArrayList<>();
                    for (String s : value(argv, ++i, a).split(",")) {
                        try {
                            int t = Integer.parseInt(s.trim());
                            if (t < 1) {
                                throw new NumberFormatException();
                            }
                            threads.add(t);
                        } catch (NumberFormatException e) {
                            throw new IllegalArgumentException("--threads: expected positive integers, got '" + s + "'");
                        }
                    }
                }
                case "-p" -> {
                    String kv = value(argv, ++i, a);
                    int eq = kv.indexOf('=');
                    if (eq <= 0 || eq == kv.length() - 1) {
                        throw new IllegalArgumentException("-p: expected NAME=VALUE, got '" + kv + "'");
                    }
                    params.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
                default -> throw new IllegalArgumentException("unknown argument '" + a + "'");
            }
        }
        if (png == null && json != null) {
            String name = json.getFileName().toString();
            png = json.resolveSibling((name.endsWith(".json") ? name.substring(0, name.length() - 5) : name) + ".png");
        }
        return new Args(quick, filter, json, png, List.copyOf(impls), List.copyOf(threads), Map.copyOf(params), help);
    }

    private static String value(String[] argv, int i, String option) {
        if (i >= argv.length || argv[i].startsWith("--")) {
            throw new IllegalArgumentException(option + ": missing value");
        }
        return argv[i];
    }

    boolean selects(String workload) {
        return filter == null || filter.matcher(workload).find();
    }

    /** The value of {@code -p} for field {@code name} of class {@code simpleClass}, or null. */
    String param(String simpleClass, String name) {
        String scoped = params.get(simpleClass + "." + name);
        return scoped != null ? scoped : params.get(name);
    }
}
