package dev.entrokit.cli;

import dev.entrokit.Entrokit;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code entrokit eval OP [--backend B] [--set NAME=VALUE]... [--in NAME=FILE.npy]... --out DIR}: runs
 * one op on {@code .npy} inputs and writes one {@code .npy} per output. Everything the user gave is
 * checked before the backend runs, so a typo never costs a full computation.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Run one op on .npy inputs and write each output to DIR/NAME.npy.")
public final class EvalCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "OP", description = "the op to run (see the table below)")
    private String op;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "scalar, simd, cuda or auto (default: the library's configured backend)")
    private String backend;

    @Option(names = "--threads", paramLabel = "N",
            description = "worker threads with --backend (default: -Dentrokit.threads, else the CPU count)")
    private Integer threads;

    @Option(names = "--set", paramLabel = "NAME=VALUE", description = "a setting of the op; repeatable")
    private List<String> sets = new ArrayList<>();

    @Option(names = "--in", paramLabel = "NAME=FILE.npy", description = "an input of the op; repeatable")
    private List<String> ins = new ArrayList<>();

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory (created if missing)")
    private Path out;

    /** Validates the arguments, runs the op and writes its outputs; returns the exit status. */
    @Override
    public Integer call() {
        EvalOp evalOp = EvalOp.byName(op);
        EvalSettings options = evalOp.options(pairs("--set", "NAME=VALUE", sets));
        Map<String, String> files = pairs("--in", "NAME=FILE.npy", ins);
        evalOp.checkInputNames(files.keySet());
        if (threads != null && threads < 1) {
            throw new UserException("--threads: must be >= 1, got " + threads);
        }
        evalOp.checkCombination(files.keySet(), options);
        Map<String, NpyArray> arrays = new LinkedHashMap<>();
        files.forEach((name, file) -> arrays.put(name, Npy.read(Path.of(file))));
        OpInputs inputs = new OpInputs(arrays);
        createDirectory(out);

        Entrokit ek = BackendOpener.open(backend, threads != null ? threads : Threads.configured());
        try {
            EvalOp.Call call = evalOp.prepare(ek, inputs, options);
            call.run();
            PrintWriter stdout = spec.commandLine().getOut();
            for (Map.Entry<String, NpyArray> e : call.outputs().entrySet()) {
                Path file = out.resolve(e.getKey() + ".npy");
                Npy.write(file, e.getValue());
                stdout.println("wrote " + file + " " + NpyArray.shapeString(e.getValue().shape()) + " "
                        + e.getValue().descr());
            }
            stdout.flush();
        } catch (IllegalArgumentException e) {
            // The library checks sizes and values the CLI lets through (e.g. a label out of range).
            throw new UserException(op + ": " + e.getMessage(), e);
        } finally {
            BackendOpener.close(ek);
        }
        return ExitCode.OK;
    }

    /** Splits {@code NAME=VALUE} arguments, refusing a malformed one or a name given twice. */
    private static Map<String, String> pairs(String option, String form, List<String> args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq <= 0) {
                throw new UserException(option + ": expected " + form + ", got '" + a + "'");
            }
            String name = a.substring(0, eq).trim();
            if (m.put(name, a.substring(eq + 1)) != null) {
                throw new UserException(option + ": '" + name + "' given more than once");
            }
        }
        return m;
    }

    private static void createDirectory(Path dir) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new UserException("--out " + dir + ": exists and is not a directory");
        }
        try {
            Files.createDirectories(dir);
        } catch (AccessDeniedException e) {
            throw new UserException("--out " + dir + ": permission denied", e);
        } catch (IOException e) {
            // The exception's message is only the path; its type says what went wrong.
            throw new UserException("--out " + dir + ": cannot create the directory ("
                    + e.getClass().getSimpleName().replace("Exception", "") + ")", e);
        }
    }
}
