package dev.entrokit.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the command line in-process with captured streams. */
final class CliRunner {
    private CliRunner() {
    }

    /** What one run produced. */
    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(code, out.toString(), err.toString());
    }
}
