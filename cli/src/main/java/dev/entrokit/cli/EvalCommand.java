package dev.entrokit.cli;

import dev.entrokit.DType;
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
        Map<String, String> given = pairs("--set", "NAME=VALUE", sets);
        // The I/O settings every op takes; the rest are the op's own.
        DType inputHalf = halfType(DTYPE, given.remove(DTYPE), false);
        DType outputHalf = halfType(OUT_DTYPE, given.remove(OUT_DTYPE), true);
        EvalSettings options = evalOp.options(given);
        Map<String, String> files = pairs("--in", "NAME=FILE.npy", ins);
        evalOp.checkInputNames(files.keySet());
        if (threads != null && threads < 1) {
            throw new UserException("--threads: must be >= 1, got " + threads);
        }
        evalOp.checkCombination(files.keySet(), options);
        Map<String, NpyArray> arrays = new LinkedHashMap<>();
        files.forEach((name, file) -> arrays.put(name, reinterpret(Npy.read(Path.of(file)), inputHalf)));
        OpInputs inputs = new OpInputs(arrays);
        createDirectory(out);

        Entrokit ek = BackendOpener.open(backend, threads != null ? threads : Threads.configured());
        try {
            EvalOp.Call call = evalOp.prepare(ek, inputs, options);
            call.run();
            PrintWriter stdout = spec.commandLine().getOut();
            for (Map.Entry<String, NpyArray> e : call.outputs().entrySet()) {
                Path file = out.resolve(e.getKey() + ".npy");
                NpyArray value = narrowed(e.getValue(), outputHalf, arrays);
                Npy.write(file, value);
                stdout.println("wrote " + file + " " + NpyArray.shapeString(value.shape()) + " " + value.descr());
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
    /** {@code --set dtype=}: how {@code <u2} inputs are read (raw bfloat16 or binary16 patterns). */
    static final String DTYPE = "dtype";
    /** {@code --set out_dtype=}: the type of the float outputs shaped like a float input (f32, bf16, f16). */
    static final String OUT_DTYPE = "out_dtype";

    private static DType halfType(String key, String value, boolean f32Allowed) {
        if (value == null) {
            return null;
        }
        return switch (value.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "bf16", "bfloat16" -> DType.BF16;
            case "f16", "float16" -> DType.F16;
            case "f32", "float32" -> {
                if (!f32Allowed) {
                    throw new UserException(key + ": expected bf16 or f16 (how to read <u2 inputs), got '" + value + "'");
                }
                yield null;
            }
            default -> throw new UserException(key + ": expected " + (f32Allowed ? "f32, bf16 or f16" : "bf16 or f16")
                    + ", got '" + value + "'");
        };
    }

    /** A {@code <u2} array read as the 16-bit patterns of {@code half}, when given. */
    private static NpyArray reinterpret(NpyArray a, DType half) {
        return half != null && a instanceof NpyArray.UInt16 u ? new NpyArray.Half(u.shape(), u.bits(), half) : a;
    }

    /**
     * A float32 output shaped like one of the float inputs (probabilities, log-probabilities, gradients, masked
     * logits) rounded once to {@code half} (nearest, ties to even: the bits the library writes into a half
     * output tensor); other outputs, and every output without {@code out_dtype}, as they are.
     */
    private static NpyArray narrowed(NpyArray value, DType half, Map<String, NpyArray> inputs) {
        if (half == null || !(value instanceof NpyArray.Float32 f)) {
            return value;
        }
        boolean shapedLikeAnInput = inputs.values().stream().anyMatch(a -> a.kind() == NpyArray.Kind.FLOAT
                && a.shape().length > 0 && java.util.Arrays.equals(a.shape(), f.shape()));
        return shapedLikeAnInput ? NpyArray.Half.rounded(f.shape(), f.data(), half) : value;
    }

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
