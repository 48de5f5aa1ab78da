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
 * gate on it. Integer and boolean arrays (ids, indices, masks) compare exactly: a float tolerance
 * would pass neighbouring token ids. A tolerance given with them is ignored, and the report says so,
 * so that one script can compare every output of an op with the same options.
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Compare A.npy with the reference B.npy element by element.",
            "Floats (<f4, <f8) pass when |a - b| <= atol + rtol*|b|; NaN equals NaN, +-inf equals the same infinity.",
            "Integers (<i4, <i8) and booleans (|b1) must be equal: --rtol and --atol do not apply to them and are "
                + "ignored, with a note in the report.",
            "The report counts the elements that differ and lists the first " + Comparison.SHOWN
                + " with their indices and both values.",
            "Exit status: 0 within tolerance, 1 beyond it, 2 for bad input (including a shape mismatch or a "
                + "float array against an integer or boolean one)."})
public final class CompareCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "A.npy", description = "the array to check")
    private Path a;

    @Parameters(index = "1", paramLabel = "B.npy", description = "the reference")
    private Path b;

    @Option(names = "--rtol", paramLabel = "R", defaultValue = "1e-5",
            description = "relative tolerance for floats (default ${DEFAULT-VALUE})")
    private double rtol;

    @Option(names = "--atol", paramLabel = "A", defaultValue = "1e-6",
            description = "absolute tolerance for floats (default ${DEFAULT-VALUE})")
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
        if (x.kind() != y.kind()) {
            throw new UserException("dtypes differ in kind: " + a + " is " + x.dtypeName() + ", " + b + " is "
                    + y.dtypeName() + "; compare floats with floats, integers with integers, booleans with booleans");
        }
        Comparison c = Comparison.of(x, y, rtol, atol);
        long[] shape = x.shape();
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "shape %s, %d elements, %s vs %s%s%n", NpyArray.shapeString(shape), c.count(),
                x.dtypeName(), y.dtypeName(), c.exact() ? ", compared exactly" : "");
        if (c.exact()) {
            var parsed = spec.commandLine().getParseResult();
            if (parsed.hasMatchedOption("--rtol") || parsed.hasMatchedOption("--atol")) {
                out.println("note: --rtol/--atol ignored: integer and boolean arrays compare exactly");
            }
            out.printf(Locale.ROOT, "differing: %d%s%n", c.beyond(), listed(c, x, y, shape));
            out.println(c.within() ? "OK: equal" : "FAIL: " + c.beyond() + (c.beyond() == 1 ? " element differs"
                    : " elements differ"));
        } else {
            out.printf(Locale.ROOT, "max abs error: %.6e%s%n", c.maxAbs(), at(c.maxAbsAt(), x, y, shape));
            out.printf(Locale.ROOT, "max rel error: %.6e%s%n", c.maxRel(), at(c.maxRelAt(), x, y, shape));
            if (c.special() > 0) {
                out.printf(Locale.ROOT, "NaN/inf mismatches: %d%n", c.special());
            }
            out.printf(Locale.ROOT, "beyond tolerance (|a-b| > %s + %s*|b|): %d%s%n", atol, rtol, c.beyond(),
                    listed(c, x, y, shape));
            out.println(c.within() ? "OK: within tolerance" : "FAIL: beyond tolerance");
        }
        out.flush();
        return c.within() ? ExitCode.OK : ExitCode.DIFFERENT;
    }

    /** {@code " of N"}, then {@code ": [i] (a=.., b=..), ..."} for the first differing elements if any. */
    private static String listed(Comparison c, NpyArray x, NpyArray y, long[] shape) {
        if (c.within()) {
            return " of " + c.count();
        }
        StringBuilder sb = new StringBuilder(" of ").append(c.count()).append(c.beyond() > c.firstBeyond().size()
                ? ", the first " + c.firstBeyond().size() + ": " : ": ");
        for (int k = 0; k < c.firstBeyond().size(); k++) {
            int i = c.firstBeyond().get(k);
            sb.append(k == 0 ? "" : ", ").append(NpyArray.indexString(i, shape)).append(values(i, x, y));
        }
        return sb.toString();
    }

    private static String at(int flat, NpyArray x, NpyArray y, long[] shape) {
        return flat < 0 ? "" : " at " + NpyArray.indexString(flat, shape) + values(flat, x, y);
    }

    private static String values(int i, NpyArray x, NpyArray y) {
        return " (a=" + x.format(i) + ", b=" + y.format(i) + ")";
    }
}
