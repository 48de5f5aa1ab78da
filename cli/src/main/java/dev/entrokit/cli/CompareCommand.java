package dev.entrokit.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code entrokit compare A.npy B.npy [--rtol R] [--atol A]}: reports how far {@code A} is from the
 * reference {@code B} and exits 1 when any element is beyond {@code atol + rtol·|B|}, so CI scripts can
 * gate on it.
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Compare A.npy with the reference B.npy element by element.",
            "An element passes when |a - b| <= atol + rtol*|b|; NaN equals NaN, +-inf equals the same infinity.",
            "Exit status: 0 within tolerance, 1 beyond it, 2 for bad input (including a shape mismatch)."})
public final class CompareCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "A.npy", description = "the array to check")
    private Path a;

    @Parameters(index = "1", paramLabel = "B.npy", description = "the reference")
    private Path b;

    @Option(names = "--rtol", paramLabel = "R", defaultValue = "1e-5", description = "relative tolerance (default ${DEFAULT-VALUE})")
    private double rtol;

    @Option(names = "--atol", paramLabel = "A", defaultValue = "1e-6", description = "absolute tolerance (default ${DEFAULT-VALUE})")
    private double atol;

    /** Reads both files, compares them and prints the summary; returns 0, 1 or 2. */
    @Override
    public Integer call() {
        if (!(rtol >= 0) || Double.isInfinite(rtol)) {
            throw new UserException("--rtol: must be finite and >= 0, got " + rtol);
        }
        if (!(atol >= 0) || Double.isInfinite(atol)) {
            throw new UserException("--atol: must be finite and >= 0, got " + atol);
        }
        NpyArray x = Npy.read(a);
        NpyArray y = Npy.read(b);
        if (!Arrays.equals(x.shape(), y.shape())) {
            throw new UserException("shapes differ: " + a + " is " + NpyArray.shapeString(x.shape()) + ", " + b + " is "
                    + NpyArray.shapeString(y.shape()));
        }
        Comparison c = Comparison.of(x, y, rtol, atol);
        long[] shape = x.shape();
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "shape %s, %d elements%n", NpyArray.shapeString(shape), c.count());
        out.printf(Locale.ROOT, "max abs error: %.6e%s%n", c.maxAbs(), at(c.maxAbsAt(), x, y, shape));
        out.printf(Locale.ROOT, "max rel error: %.6e%s%n", c.maxRel(), at(c.maxRelAt(), x, y, shape));
        if (c.special() > 0) {
            out.printf(Locale.ROOT, "NaN/inf mismatches: %d%n", c.special());
        }
        out.printf(Locale.ROOT, "beyond tolerance (|a-b| > %s + %s*|b|): %d%s%n", atol, rtol, c.beyond(),
                c.beyond() == 0 ? "" : ", first" + at(c.firstBeyond(), x, y, shape));
        out.println(c.within() ? "OK: within tolerance" : "FAIL: beyond tolerance");
        out.flush();
        return c.within() ? ExitCode.OK : ExitCode.DIFFERENT;
    }

    private static String at(int flat, NpyArray x, NpyArray y, long[] shape) {
        if (flat < 0) {
            return "";
        }
        return " at " + Arrays.toString(unravel(flat, shape)) + " (a=" + x.getDouble(flat) + ", b=" + y.getDouble(flat)
                + ")";
    }

    /** The multi-index of flat position {@code flat} in a C-order array of {@code shape}. */
    static long[] unravel(long flat, long[] shape) {
        long[] idx = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = shape[d] == 0 ? 0 : flat % shape[d];
            flat = shape[d] == 0 ? 0 : flat / shape[d];
        }
        return idx;
    }
}
