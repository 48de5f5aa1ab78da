package dev.entrokit.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code entrokit conformance generate|run|check}: a kit of adversarial inputs with the scalar
 * backend's reference outputs, and a judge of another implementation's outputs against it.
 */
@Command(name = "conformance", mixinStandardHelpOptions = true,
        description = {"A conformance kit for CI: adversarial inputs and reference outputs for every op, and a "
                + "check of another implementation's outputs against them.",
            "Workflow: 'generate DIR', have the candidate write DIR's outputs to CAND_DIR/<case>/<output>.npy "
                + "(or 'run DIR --backend simd --out CAND_DIR' for one of entrokit's backends), then "
                + "'check DIR --candidate CAND_DIR'."},
        subcommands = {ConformanceCommand.Generate.class, ConformanceCommand.Run.class, ConformanceCommand.Check.class})
public final class ConformanceCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    /** Without a subcommand: the usage on stderr and status 2. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return ExitCode.USAGE;
    }

    /** {@code generate DIR [--ops ...] [--dtype f32] [--size small|full]}. */
    @Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Write the kit: DIR/inputs/<case>/<input>.npy, DIR/reference/<case>/<output>.npy from the "
                    + "scalar (float64-accumulating) backend, and DIR/manifest.json (op, settings, inputs, per output "
                    + "its SPEC 5 tolerance and exempt rows, row kinds, seeds, entrokit version and commit).",
                "The same version gives the same bytes on every run: every row is drawn from a fixed seed."})
    public static final class Generate implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Parameters(index = "0", paramLabel = "DIR", description = "the kit's directory (new, empty, or an older kit)")
        private Path dir;

        @Option(names = "--ops", paramLabel = "OP[,OP...]", split = ",", description = "only these ops (default: all)")
        private List<String> ops = new ArrayList<>();

        @Option(names = "--dtype", paramLabel = "f32|bf16|f16", defaultValue = "f32",
                description = "input dtype (default ${DEFAULT-VALUE}; bf16 and f16 are not supported yet)")
        private String dtype;

        @Option(names = "--size", paramLabel = "small|full", defaultValue = "small",
                description = "small: widths 7 and 33, seconds; full: up to V = 32003 and more settings (default ${DEFAULT-VALUE})")
        private String size;

        @Option(names = "--threads", paramLabel = "N", description = "worker threads (results do not depend on it)")
        private Integer threads;

        /** Validates everything, then writes the kit. */
        @Override
        public Integer call() {
            String d = dtype.strip().toLowerCase(Locale.ROOT);
            if (d.equals("bf16") || d.equals("f16")) {
                throw new UserException("--dtype " + dtype + ": not supported yet: the kit's cases are float32 only"
                        + " (eval takes bf16/f16 inputs: --set dtype=bf16); use --dtype f32");
            }
            if (!d.equals("f32")) {
                throw new UserException("--dtype: expected f32, bf16 or f16, got '" + dtype + "'");
            }
            ConformanceCases.Size s = switch (size.strip().toLowerCase(Locale.ROOT)) {
                case "small" -> ConformanceCases.Size.SMALL;
                case "full" -> ConformanceCases.Size.FULL;
                default -> throw new UserException("--size: expected small or full, got '" + size + "'");
            };
            Set<EvalOp> chosen = EnumSet.noneOf(EvalOp.class);
            for (String op : ops) {
                EvalOp o = EvalOp.byName(op.strip());
                if (!ConformanceCases.inKit(o)) {
                    throw new UserException("--ops " + o.key() + ": not in the conformance kit (its inputs or bands are not"
                            + " generated); test it with eval");
                }
                chosen.add(o);
            }
            if (chosen.isEmpty()) {
                chosen = EnumSet.allOf(EvalOp.class);
            }
            int n = ConformanceKit.generate(dir, ConformanceCases.build(chosen, s), s, threads(threads));
            PrintWriter out = spec.commandLine().getOut();
            out.println("wrote " + n + " cases to " + dir + " (" + dir.resolve(ConformanceKit.MANIFEST) + ")");
            out.flush();
            return ExitCode.OK;
        }
    }

    /** {@code run DIR --backend B --out CAND_DIR}: one of entrokit's backends as the candidate. */
    @Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
            description = "Run every case of the kit in DIR on an entrokit backend, writing the outputs where 'check' "
                    + "looks for a candidate's (CAND_DIR/<case>/<output>.npy), through the same steps as 'eval'.")
    public static final class Run implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Parameters(index = "0", paramLabel = "DIR", description = "the kit")
        private Path dir;

        @Option(names = "--backend", required = true, paramLabel = "NAME", description = "scalar, simd, cuda or auto")
        private String backend;

        @Option(names = "--out", required = true, paramLabel = "CAND_DIR", description = "where the outputs go")
        private Path out;

        @Option(names = "--threads", paramLabel = "N", description = "worker threads (results do not depend on it)")
        private Integer threads;

        /** Runs the cases and writes the outputs. */
        @Override
        public Integer call() {
            ConformanceKit.readManifest(dir);
            int n = ConformanceKit.run(dir, backend, threads(threads), out);
            PrintWriter o = spec.commandLine().getOut();
            o.println("ran " + n + " cases on " + backend + " into " + out);
            o.flush();
            return ExitCode.OK;
        }
    }

    /** {@code check DIR --candidate CAND_DIR [--report R.json] [--junit R.xml] [--allow-missing]}. */
    @Command(name = "check", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Compare CAND_DIR/<case>/<output>.npy with the kit's references, each output with its "
                    + "tolerance from the manifest (exact for integers and booleans; NaN matches NaN; an infinity only "
                    + "the same infinity; exempt rows skipped).",
                "Prints one line per (op, output): pass/fail/missing counts over its cases, the worst error in "
                    + "tolerance units (1x = at the limit) and the first failing row with its kind.",
                "Exit status: 0 all present outputs pass and none is missing (missing allowed with --allow-missing), "
                    + "1 a failure or a missing output, 2 bad input."})
    public static final class Check implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Parameters(index = "0", paramLabel = "DIR", description = "the kit")
        private Path dir;

        @Option(names = "--candidate", required = true, paramLabel = "CAND_DIR", description = "the candidate's outputs")
        private Path candidate;

        @Option(names = "--report", paramLabel = "FILE.json", description = "also write the verdicts as JSON")
        private Path report;

        @Option(names = "--junit", paramLabel = "FILE.xml", description = "also write JUnit XML: a testcase per (op, output)")
        private Path junit;

        @Option(names = "--allow-missing", description = "outputs the candidate did not write do not fail the check")
        private boolean allowMissing;

        /** Judges the candidate, prints the table, writes the reports; 0, 1 or 2. */
        @Override
        public Integer call() {
            List<ConformanceCheck.Verdict> verdicts = ConformanceCheck.check(dir, candidate);
            List<ConformanceCheck.Line> lines = ConformanceCheck.lines(verdicts);
            PrintWriter out = spec.commandLine().getOut();
            ConformanceCheck.print(out, lines);
            if (report != null) {
                ConformanceKit.writeText(report, ConformanceCheck.json(lines, verdicts, dir, candidate));
            }
            if (junit != null) {
                ConformanceKit.writeText(junit, ConformanceCheck.junit(lines, allowMissing));
            }
            boolean failed = verdicts.stream().anyMatch(v -> v.status() == ConformanceCheck.Status.FAIL);
            boolean missing = verdicts.stream().anyMatch(v -> v.status() == ConformanceCheck.Status.MISSING);
            out.println(failed ? "FAIL" : missing && !allowMissing ? "FAIL: outputs missing (--allow-missing to accept)"
                    : "OK");
            out.flush();
            return failed || missing && !allowMissing ? ExitCode.DIFFERENT : ExitCode.OK;
        }
    }

    private static int threads(Integer threads) {
        if (threads != null && threads < 1) {
            throw new UserException("--threads: must be >= 1, got " + threads);
        }
        return threads != null ? threads : Threads.configured();
    }
}
