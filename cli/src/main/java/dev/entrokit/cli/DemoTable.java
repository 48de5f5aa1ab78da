package dev.entrokit.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;

/**
 * Formats the {@code demo} table and measures each backend's distance from the reference. The tour's
 * table has no time columns: one cold call on a small batch says nothing about speed.
 */
final class DemoTable {
    private static final String TIMED = "%-24s %-7s %10s %9s %12s %12s %12s  %s%n";
    private static final String UNTIMED = "%-24s %-7s %12s %12s %12s  %s%n";
    private final PrintWriter out;
    private final boolean timed;

    DemoTable(PrintWriter out, boolean timed) {
        this.out = out;
        this.timed = timed;
    }

    /** The column titles. */
    void header() {
        cells("op", "backend", "ms/call", "ns/elem", "max|dOut|", "max|dGrad|", "maxRel(row)", "SPEC §5");
    }

    /** One op on one backend; {@code errors} is null for the reference itself; {@code ms} is ignored untimed. */
    void row(String op, String backend, double ms, long elements, Errors errors) {
        String time = String.format(Locale.ROOT, "%.2f", ms);
        String ns = String.format(Locale.ROOT, "%.3f", ms * 1e6 / elements);
        if (errors == null) {
            cells(op, backend, time, ns, "ref", "ref", "ref", "");
        } else {
            cells(op, backend, time, ns, fmt(errors.out()), fmt(errors.grad()), fmt(errors.rowRel()),
                    errors.failures() == 0 ? "ok" : "FAIL " + errors.failures());
        }
        out.flush();
    }

    private void cells(String op, String backend, String time, String ns, String dOut, String dGrad, String rel, String spec) {
        if (timed) {
            out.printf(Locale.ROOT, TIMED, op, backend, time, ns, dOut, dGrad, rel, spec);
        } else {
            out.printf(Locale.ROOT, UNTIMED, op, backend, dOut, dGrad, rel, spec);
        }
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2e", v);
    }

    /**
     * How far one backend's outputs are from the reference's.
     *
     * @param out      largest absolute difference of per-logit outputs other than the gradient (NaN: none)
     * @param grad     largest absolute difference of the gradient (NaN: none)
     * @param rowRel   largest {@code |Δ| / max(1, |ref|)} of per-row values (NaN: none)
     * @param failures values beyond the output's SPEC §5 tolerance, special-value mismatches included
     */
    record Errors(double out, double grad, double rowRel, long failures) {

        /** Compares every output of {@code op}. */
        static Errors of(EvalOp op, Map<String, NpyArray> got, Map<String, NpyArray> ref) {
            double out = Double.NaN;
            double grad = Double.NaN;
            double rowRel = Double.NaN;
            long failures = 0;
            for (EvalOp.Output o : op.outputs()) {
                NpyArray a = got.get(o.name());
                NpyArray b = ref.get(o.name());
                if (b == null) {
                    continue; // an optional output (Sinkhorn's plan) that was not asked for
                }
                double worst = 0;
                for (int i = 0, n = b.size(); i < n; i++) {
                    double x = a.getDouble(i);
                    double y = b.getDouble(i);
                    if (!o.tolerance().accepts(x, y)) {
                        failures++;
                    }
                    if (Double.isFinite(x) && Double.isFinite(y)) {
                        double d = Math.abs(x - y);
                        worst = Math.max(worst, o.perRow() ? d / Math.max(1, Math.abs(y)) : d);
                    }
                }
                if (o.perRow()) {
                    rowRel = Double.isNaN(rowRel) ? worst : Math.max(rowRel, worst);
                } else if (o.name().equals("grad")) {
                    grad = worst;
                } else {
                    out = Double.isNaN(out) ? worst : Math.max(out, worst);
                }
            }
            return new Errors(out, grad, rowRel, failures);
        }
    }
}
