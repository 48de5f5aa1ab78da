package dev.entrokit.cli;

import dev.entrokit.BackendInfo;
import dev.entrokit.Entrokit;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code entrokit demo}: every op of {@link EvalOp} on a realistic batch, on every available backend,
 * with rough timings and the largest difference from the scalar reference. Exits 1 when a backend is
 * beyond the SPEC §5 tolerances, so it doubles as a smoke test.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run every op on every available backend and compare with the scalar reference.",
            "The batch is realistic: heavy-tailed logits with ~5%% of the vocabulary masked to -inf.",
            "Times are rough wall-clock figures (best of a few calls after a warm-up of up to 1.5 s per op); use JMH (./entrokit bench) for real numbers."})
public final class DemoCommand implements Callable<Integer> {
    private static final String REFERENCE = "scalar";

    @Spec
    private CommandSpec spec;

    @Option(names = "--rows", paramLabel = "R", defaultValue = "32", description = "rows (positions), default ${DEFAULT-VALUE}")
    private int rows;

    @Option(names = "--cols", paramLabel = "V", defaultValue = "128256", description = "vocabulary size, default ${DEFAULT-VALUE}")
    private int cols;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "random seed, default ${DEFAULT-VALUE}")
    private long seed;

    /** Warm-up per op: the scalar loops compile quickly; C2 needed up to ~1.5 s for the vector kernels here. */
    private static final long WARM_UP_NANOS_SCALAR = 300_000_000L;
    private static final long WARM_UP_NANOS = 1_500_000_000L;
    private static final int MAX_WARM_UP_CALLS = 1000;

    @Option(names = "--repeats", paramLabel = "N", defaultValue = "3", description = "timed calls per op after the warm-up, default ${DEFAULT-VALUE}")
    private int repeats;

    @Option(names = "--threads", paramLabel = "N", description = "worker threads (default: -Dentrokit.threads, else the CPU count)")
    private Integer threads;

    /** One row of the table: an op with one choice of inputs (cross-entropy runs twice: soft and labels). */
    private record Case(EvalOp op, String variant, OpInputs inputs) {
        String label() {
            return variant.isEmpty() ? op.key() : op.key() + " (" + variant + ")";
        }
    }

    /** Generates the batch, runs the table and prints the verdict; returns 0, or 1 on a mismatch. */
    @Override
    public Integer call() {
        if (repeats < 1) {
            throw new UserException("--repeats: must be >= 1, got " + repeats);
        }
        int nThreads = threads != null ? threads : Threads.configured();
        if (nThreads < 1) {
            throw new UserException("--threads: must be >= 1, got " + nThreads);
        }
        PrintWriter out = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        DemoData data = DemoData.generate(rows, cols, seed);
        out.printf(Locale.ROOT, "batch: %d x %d logits (teacher and student), heavy-tailed, ~5%% masked to -inf, seed %d;"
                + " generated in %.0f ms%n", rows, cols, seed, (System.nanoTime() - t0) / 1e6);

        List<String> available = new ArrayList<>();
        for (BackendInfo b : Entrokit.backends()) {
            if (b.available()) {
                available.add(b.name());
            } else {
                out.println("skipping " + b.name() + ": " + String.join("; ", b.reasons()));
            }
        }
        // The reference runs first so every other backend is compared with it as soon as it finishes.
        available.remove(REFERENCE);
        available.addFirst(REFERENCE);
        out.printf(Locale.ROOT, "threads: %d; time = best of %d calls after 0.3 s (scalar) or 1.5 s (others) of warm-up (rough wall clock; JMH gives real numbers)%n%n",
                nThreads, repeats);

        DemoTable table = new DemoTable(out);
        table.header();
        List<String> failures = new ArrayList<>();
        Map<String, Entrokit> instances = new LinkedHashMap<>();
        try {
            for (String name : available) {
                instances.put(name, BackendOpener.open(name, nThreads));
            }
            for (Case c : cases(data)) {
                Map<String, NpyArray> reference = null;
                for (Map.Entry<String, Entrokit> e : instances.entrySet()) {
                    EvalOp.Call call = c.op().prepare(e.getValue(), c.inputs(), c.op().options(settings(c.op())));
                    double ms = bestMillis(call, e.getKey().equals(REFERENCE) ? WARM_UP_NANOS_SCALAR : WARM_UP_NANOS);
                    if (reference == null) {
                        reference = call.outputs();
                        table.row(c.label(), e.getKey(), ms, elements(data), null);
                    } else {
                        DemoTable.Errors err = DemoTable.Errors.of(c.op(), call.outputs(), reference);
                        table.row(c.label(), e.getKey(), ms, elements(data), err);
                        if (err.failures() > 0) {
                            failures.add(c.label() + " on " + e.getKey() + " (" + err.failures() + " values)");
                        }
                    }
                }
            }
        } finally {
            instances.values().forEach(BackendOpener::close);
        }
        out.println();
        if (!failures.isEmpty()) {
            out.println("verdict: FAIL: beyond SPEC §5 tolerance against the scalar reference: " + String.join(", ", failures));
        } else if (instances.size() == 1) {
            out.println("verdict: OK: every op ran on the scalar reference; no other backend is available here to compare");
        } else {
            out.println("verdict: OK: " + String.join(", ", instances.keySet().stream().skip(1).toList())
                    + " match the scalar reference within SPEC §5 on every op");
        }
        out.flush();
        return failures.isEmpty() ? ExitCode.OK : ExitCode.DIFFERENT;
    }

    private static long elements(DemoData d) {
        return (long) d.rows() * d.cols();
    }

    /**
     * Warm-up calls for {@code warmUpNanos} (vector code runs 10–100× slower until C2 has compiled it,
     * which took up to ~1.5 s on 2 cores), then the fastest of the timed calls.
     */
    private double bestMillis(EvalOp.Call call, long warmUpNanos) {
        long warmUntil = System.nanoTime() + warmUpNanos;
        int warmCalls = 0;
        do {
            call.run();
            warmCalls++;
        } while (System.nanoTime() < warmUntil && warmCalls < MAX_WARM_UP_CALLS);
        long best = Long.MAX_VALUE;
        for (int i = 0; i < repeats; i++) {
            long start = System.nanoTime();
            call.run();
            best = Math.min(best, System.nanoTime() - start);
        }
        return best / 1e6;
    }

    /**
     * The demo's settings: the defaults, except that Sinkhorn runs a fixed 300 iterations. Its default
     * tolerance (1e-9) is below what float32 backends reach, so iteration counts would differ; SPEC §5
     * compares after the same number of iterations.
     */
    private static Map<String, String> settings(EvalOp op) {
        return op.settings().contains(Setting.TOL) ? Map.of("tol", "0", "max_iter", "300") : Map.of();
    }

    private static long seed(DemoData d) {
        return d.labels().length * 31L + d.cols();
    }

    /** Every op, with each alternative input (e.g. soft targets and labels) as its own case. */
    private static List<Case> cases(DemoData d) {
        long[] shape = {d.rows(), d.cols()};
        // The scoring ops see the batch as one sequence of d.rows() positions; ids are the labels, ignored ones as 0.
        int[] ids = java.util.Arrays.stream(d.labels()).map(y -> y == DemoData.IGNORE ? 0 : y).toArray();
        float[] freq = new float[d.cols()];
        java.util.Arrays.fill(freq, 1f / d.cols());
        Map<String, NpyArray> all = new java.util.HashMap<>(Map.of(
                "logits", new NpyArray.Float32(shape, d.student()),
                "teacher", new NpyArray.Float32(shape, d.teacher()),
                "student", new NpyArray.Float32(shape, d.student()),
                "labels", new NpyArray.Int32(new long[] {d.rows()}, d.labels()),
                "ids", new NpyArray.Int32(new long[] {d.rows()}, ids),
                "freq", new NpyArray.Float32(new long[] {d.cols()}, freq),
                "logits_a", new NpyArray.Float32(shape, d.teacher()),
                "logits_b", new NpyArray.Float32(shape, d.student()),
                "lame_logits", new NpyArray.Float32(shape, d.teacher()),
                "logprobs", new NpyArray.Float32(new long[] {1, d.rows()}, java.util.Arrays.copyOf(d.student(), d.rows()))));
        all.put("seeds", new NpyArray.Int32(new long[] {d.rows()}, ids));
        all.put("cost", DemoData.cost(d.rows(), Math.min(64, d.cols()), seed(d)));
        all.put("x", DemoData.points(d.rows(), Math.min(64, d.cols()), 4, seed(d)));
        all.put("y", DemoData.points(d.rows(), Math.min(48, d.cols()), 4, seed(d) + 1));
        List<Case> cases = new ArrayList<>();
        for (EvalOp op : EvalOp.values()) {
            List<String> choices = op.oneOf().isEmpty() ? List.of("") : op.oneOf();
            for (String choice : choices) {
                Map<String, NpyArray> in = new LinkedHashMap<>();
                op.required().forEach(n -> in.put(n, all.get(n)));
                for (String name : choice.isEmpty() ? new String[0] : choice.split("\\+")) {
                    in.put(name, all.get(name));
                }
                if (choice.equals("x")) {
                    in.put("y", all.get("y")); // point clouds come in pairs
                }
                cases.add(new Case(op, choice, new OpInputs(in)));
            }
        }
        return cases;
    }
}
