package dev.entrokit.cli;

import dev.entrokit.BackendInfo;
import dev.entrokit.Entrokit;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code entrokit demo}: by default a short tour (a few ops on a small batch, every available
 * backend, the largest difference from the scalar reference: seconds, a few MB). {@code --full} runs
 * every op of {@link EvalOp} on a realistic batch with rough timings and says when the machine was
 * too busy for them to mean anything. Exits 1 when a backend is beyond the SPEC §5 tolerances, so
 * both double as a smoke test.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run ops on every available backend and compare with the scalar reference.",
            "Default: a short tour of a few ops on an 8 x 4096 batch (no timings). --full: every op on 32 x 128256",
            "with rough timings (best of a few calls after a warm-up of up to 1.5 s per op; ~2 GB, minutes).",
            "LogitRows are heavy-tailed with ~5%% of the vocabulary masked to -inf. Use ./entrokit bench for real numbers."})
public final class DemoCommand implements Callable<Integer> {
    private static final String REFERENCE = "scalar";
    /** The tour: the softmax family, a distillation loss and its gradient, selection, sampling, scoring, OT. */
    private static final Set<EvalOp> TOUR = EnumSet.of(EvalOp.SOFTMAX, EvalOp.ENTROPY, EvalOp.KL, EvalOp.JSD,
            EvalOp.CROSS_ENTROPY, EvalOp.TOP_K_OP, EvalOp.TOP_P_OP, EvalOp.SAMPLE, EvalOp.TOKEN_LOGPROB, EvalOp.SINKHORN);
    private static final int TOUR_ROWS = 8;
    private static final int TOUR_COLS = 4096;
    private static final int FULL_ROWS = 32;
    private static final int FULL_COLS = 128256;

    @Spec
    private CommandSpec spec;

    @Option(names = "--full", description = "every op on a realistic batch, with timings (minutes, ~2 GB)")
    private boolean full;

    @Option(names = "--rows", paramLabel = "R", description = "rows (positions); default " + TOUR_ROWS + ", with --full " + FULL_ROWS)
    private Integer rows;

    @Option(names = "--cols", paramLabel = "V", description = "vocabulary size; default " + TOUR_COLS + ", with --full " + FULL_COLS)
    private Integer cols;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "random seed, default ${DEFAULT-VALUE}")
    private long seed;

    /** Warm-up per op: the scalar loops compile quickly; C2 needed up to ~1.5 s for the vector kernels here. */
    private static final long WARM_UP_NANOS_SCALAR = 300_000_000L;
    private static final long WARM_UP_NANOS = 1_500_000_000L;
    private static final int MAX_WARM_UP_CALLS = 1000;

    @Option(names = "--repeats", paramLabel = "N", defaultValue = "3", description = "with --full: timed calls per op after the warm-up, default ${DEFAULT-VALUE}")
    private int repeats;

    @Option(names = "--threads", paramLabel = "N", description = "worker threads (default: -Dentrokit.threads, else the CPU count)")
    private Integer threads;

    /** One row of the table: an op with one choice of inputs (cross-entropy runs twice: soft and labels). */
    private record Case(EvalOp op, String variant, OpInputs inputs) {
        String label() {
            return variant.isEmpty() ? op.key() : op.key() + " (" + variant + ")";
        }
    }

    /** The fastest and slowest timed call of one op, in milliseconds. */
    private record Timing(double best, double worst) {
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
        int nRows = rows != null ? rows : full ? FULL_ROWS : TOUR_ROWS;
        int nCols = cols != null ? cols : full ? FULL_COLS : TOUR_COLS;
        TimingCheck timing = new TimingCheck(Runtime.getRuntime().availableProcessors(), nThreads, TimingCheck.loadAverage());
        PrintWriter out = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        DemoData data = DemoData.generate(nRows, nCols, seed);
        out.printf(Locale.ROOT, "batch: %d x %d logits (teacher and student), heavy-tailed, ~5%% masked to -inf, seed %d;"
                + " generated in %.0f ms%n", nRows, nCols, seed, (System.nanoTime() - t0) / 1e6);

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
        if (full) {
            out.printf(Locale.ROOT, "threads: %d; time = best of %d calls after 0.3 s (scalar) or 1.5 s (others) of warm-up (rough wall clock; JMH gives real numbers)%n%n",
                    nThreads, repeats);
        } else {
            out.printf(Locale.ROOT, "threads: %d; a tour of %d ops, one call each (for every op with timings: demo --full; for real numbers: ./entrokit bench)%n%n",
                    nThreads, TOUR.size());
        }

        DemoTable table = new DemoTable(out, full);
        table.header();
        List<String> failures = new ArrayList<>();
        Map<String, Entrokit> instances = new LinkedHashMap<>();
        try {
            for (String name : available) {
                instances.put(name, BackendOpener.open(name, nThreads));
            }
            for (Case c : cases(data)) {
                if (!full && !TOUR.contains(c.op())) {
                    continue;
                }
                Map<String, NpyArray> reference = null;
                for (Map.Entry<String, Entrokit> e : instances.entrySet()) {
                    EvalOp.Call call = c.op().prepare(e.getValue(), c.inputs(), c.op().options(settings(c.op())));
                    double ms = Double.NaN;
                    if (full) {
                        Timing t = time(call, e.getKey().equals(REFERENCE) ? WARM_UP_NANOS_SCALAR : WARM_UP_NANOS);
                        timing.calls(c.label() + " on " + e.getKey(), t.best(), t.worst());
                        ms = t.best();
                    } else {
                        call.run();
                    }
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
        String busy = full ? timing.verdict(TimingCheck.loadAverage()) : null;
        if (busy != null) {
            out.println(busy);
        }
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
     * which took up to ~1.5 s on 2 cores), then the fastest and slowest of the timed calls.
     */
    private Timing time(EvalOp.Call call, long warmUpNanos) {
        long warmUntil = System.nanoTime() + warmUpNanos;
        int warmCalls = 0;
        do {
            call.run();
            warmCalls++;
        } while (System.nanoTime() < warmUntil && warmCalls < MAX_WARM_UP_CALLS);
        long best = Long.MAX_VALUE;
        long worst = 0;
        for (int i = 0; i < repeats; i++) {
            long start = System.nanoTime();
            call.run();
            long t = System.nanoTime() - start;
            best = Math.min(best, t);
            worst = Math.max(worst, t);
        }
        return new Timing(best / 1e6, worst / 1e6);
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
        NpyArray[] sparse = d.sparseTeacher(Math.min(8, d.cols()));
        all.put("teacher_ids", sparse[0]);
        all.put("teacher_logprobs", sparse[1]);
        float[] ref = new float[d.rows()];
        for (int r = 0; r < ref.length; r++) {
            ref[r] = -0.1f - 0.5f * (r % 5);
        }
        all.put("ref_logprobs", new NpyArray.Float32(new long[] {d.rows()}, ref));
        boolean[] allowed = new boolean[d.rows() * d.cols()];
        for (int i = 0; i < allowed.length; i++) {
            allowed[i] = i % 3 != 0; // a constraint that refuses a third of the vocabulary
        }
        all.put("allowed", new NpyArray.Bool(shape, allowed));
        NpyArray[] chain = d.speculativeChain(2);
        all.put("draft_ids", chain[0]);
        all.put("draft_probs", chain[1]);
        all.put("target_probs", chain[2]);
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
