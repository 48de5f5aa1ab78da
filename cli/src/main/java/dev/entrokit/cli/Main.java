package dev.entrokit.cli;

import dev.entrokit.Entrokit;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code entrokit} command: {@code info}, {@code eval}, {@code compare}, {@code demo}, {@code conformance}.
 *
 * <p>Exit statuses are in {@link ExitCode}. Every user error (a bad argument, file, shape or setting,
 * and any {@link IllegalArgumentException} from the library) is one line on stderr and status 2;
 * only a bug in entrokit prints a stack trace (status 3).
 */
@Command(name = "entrokit", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Fused probability kernels: softmax, entropy, KL and friends on scalar, SIMD and CUDA backends.",
        subcommands = {InfoCommand.class, EvalCommand.class, CompareCommand.class, DemoCommand.class, ConformanceCommand.class,
            CommandLine.HelpCommand.class},
        footer = {"%nExit status: 0 ok, 1 beyond tolerance (compare, demo, conformance check), 2 bad input, 3 internal error."})
public final class Main implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    /** Runs the command line and exits the JVM with its status. */
    public static void main(String[] args) {
        // The library warns through System.Logger; without java.logging the JDK prints that on two
        // lines (timestamp, then message). One line per message keeps stderr readable in CI logs.
        // (java.util.logging reads the second property when that module is in the graph.)
        for (String key : new String[] {"jdk.system.logger.format", "java.util.logging.SimpleFormatter.format"}) {
            if (System.getProperty(key) == null) {
                System.setProperty(key, "%4$s: %5$s%6$s%n");
            }
        }
        System.exit(run(args));
    }

    /** Runs the command line on {@code System.out}/{@code System.err} and returns the exit status. */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs the command line with the given streams (tests capture them) and returns the exit status. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        try {
            return commandLine(out, err).execute(args);
        } catch (OutOfMemoryError e) {
            // Huge inputs are a user matter: say how to raise the heap rather than dump a trace.
            err.println("entrokit: out of memory (" + e.getMessage()
                    + "); give the JVM more heap, e.g. ENTROKIT_JAVA_OPTS=-Xmx16g");
            err.flush();
            return ExitCode.USAGE;
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** The configured picocli command tree writing to {@code out} and {@code err}. */
    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, line, parseResult) -> handle(ex, line, err));
        cl.setParameterExceptionHandler((ex, args) -> {
            err.println(oneLine("entrokit: " + ex.getMessage()) + " (see '"
                    + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
            err.flush();
            return ExitCode.USAGE;
        });
        // The op table is built from EvalOp at run time, which an annotation cannot hold.
        cl.getSubcommands().get("eval").getCommandSpec().usageMessage().footer("%n" + EvalOp.helpTable());
        return cl;
    }

    /** Without a subcommand: the usage on stderr and status 2, since nothing was asked for. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return ExitCode.USAGE;
    }

    private static int handle(Exception ex, CommandLine line, PrintWriter err) {
        String where = line.getCommandSpec().qualifiedName();
        if (ex instanceof UserException || ex instanceof IllegalArgumentException || ex instanceof UncheckedIOException) {
            err.println(oneLine(where + ": " + ex.getMessage()));
            err.flush();
            return ExitCode.USAGE;
        }
        err.println(where + ": internal error: " + ex);
        ex.printStackTrace(err);
        err.flush();
        return ExitCode.INTERNAL;
    }

    /** {@code message} with its line breaks turned into spaces: the contract is one line per error. */
    static String oneLine(String message) {
        return String.valueOf(message).replaceAll("\\s*\\R\\s*", " ").strip();
    }

    /** Reports the library's version as its jar states it, else the build's. */
    static final class Version implements IVersionProvider {
        /** One line: entrokit's version and the running JDK's. */
        @Override
        public String[] getVersion() {
            String v = Entrokit.class.getPackage().getImplementationVersion();
            return new String[] {"entrokit " + (v == null ? "0.1.0-SNAPSHOT" : v) + ", Java " + Runtime.version()};
        }
    }
}
