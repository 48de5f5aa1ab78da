package dev.entrokit.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Judges a candidate's outputs against a kit's references, output by output, with each output's
 * SPEC §5 tolerance from the manifest: exact for integers and booleans (and the few float outputs
 * declared exact), NaN matching NaN, an infinity matching only the same infinity. Rows the manifest
 * marks exempt are not compared.
 */
final class ConformanceCheck {
    private ConformanceCheck() {
    }

    /** How one output of one case fared. */
    enum Status {
        PASS, FAIL, MISSING
    }

    /**
     * One (case, output) verdict.
     *
     * @param op       the op
     * @param caseId   the case
     * @param output   the output name
     * @param status   pass, fail or missing
     * @param worst    the largest error in tolerance units (|out − ref| / allowed); infinite for a
     *                 special-value or exact mismatch; 0 when nothing differs
     * @param failures elements beyond tolerance
     * @param first    the first failing element described (row, kind, index, both values), or the
     *                 reason the output could not be compared; empty when it passed
     * @param firstKind the kind of the first failing row, empty when none
     */
    record Verdict(String op, String caseId, String output, Status status, double worst, long failures, String first,
                   String firstKind) {
    }

    /** Every verdict of the kit in {@code dir} against {@code candidate}, in manifest order. */
    static List<Verdict> check(Path dir, Path candidate) {
        if (!Files.isDirectory(candidate)) {
            throw new UserException("--candidate " + candidate + ": not a directory");
        }
        List<Verdict> verdicts = new ArrayList<>();
        for (Map<String, Object> c : ConformanceKit.cases(ConformanceKit.readManifest(dir))) {
            String op = ConformanceKit.str(c, "op");
            String id = ConformanceKit.str(c, "id");
            List<String> kinds = c.get("row_kinds") instanceof List<?> l ? l.stream().map(String::valueOf).toList() : List.of();
            if (!(c.get("outputs") instanceof List<?> outs)) {
                throw new UserException(ConformanceKit.MANIFEST + ": case " + id + " has no \"outputs\" list");
            }
            for (Object o : outs) {
                @SuppressWarnings("unchecked")
                Map<String, Object> out = (Map<String, Object>) o;
                verdicts.add(judge(dir, candidate, op, id, kinds, out));
            }
        }
        return verdicts;
    }

    private static Verdict judge(Path dir, Path candidate, String op, String id, List<String> kinds, Map<String, Object> out) {
        String name = ConformanceKit.str(out, "name");
        Tolerance tol;
        try {
            tol = Tolerance.valueOf(ConformanceKit.str(out, "tolerance").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserException(ConformanceKit.MANIFEST + ": case " + id + " output " + name + ": unknown tolerance '"
                    + out.get("tolerance") + "'");
        }
        Set<Integer> exempt = out.get("exempt_rows") instanceof List<?> l
                ? l.stream().map(x -> ((Number) x).intValue()).collect(Collectors.toSet()) : Set.of();
        NpyArray ref = Npy.read(dir.resolve(ConformanceKit.str(out, "reference")));
        Path file = candidate.resolve(ConformanceKit.str(out, "candidate"));
        if (!Files.exists(file)) {
            return new Verdict(op, id, name, Status.MISSING, 0, 0, "no " + file, "");
        }
        NpyArray got;
        try {
            got = Npy.read(file);
        } catch (UserException | IllegalArgumentException | java.io.UncheckedIOException e) {
            return failed(op, id, name, "unreadable: " + e.getMessage());
        }
        if (!Arrays.equals(got.shape(), ref.shape())) {
            return failed(op, id, name, "shape " + NpyArray.shapeString(got.shape()) + ", expected "
                    + NpyArray.shapeString(ref.shape()));
        }
        if (got.kind() != ref.kind()) {
            return failed(op, id, name, "dtype " + got.dtypeName() + ", expected " + ref.dtypeName());
        }
        int size = ref.size();
        int rows = kinds.size();
        int perRow = rows > 0 && size >= rows && size % rows == 0 ? size / rows : 0;
        double worst = 0;
        long failures = 0;
        String first = "";
        String firstKind = "";
        for (int i = 0; i < size; i++) {
            int row = perRow > 0 ? i / perRow : -1;
            if (row >= 0 && exempt.contains(row)) {
                continue;
            }
            double units = units(tol, got, ref, i);
            worst = Math.max(worst, units);
            if (units > 1) {
                if (failures++ == 0) {
                    firstKind = row >= 0 ? kinds.get(row) : "whole batch";
                    first = (row >= 0 ? "row " + row + " (" + firstKind + ")" : "the batch") + " at "
                            + NpyArray.indexString(i, ref.shape()) + ": got " + got.format(i) + ", expected " + ref.format(i);
                }
            }
        }
        return new Verdict(op, id, name, failures == 0 ? Status.PASS : Status.FAIL, worst, failures, first, firstKind);
    }

    private static Verdict failed(String op, String id, String name, String why) {
        return new Verdict(op, id, name, Status.FAIL, Double.POSITIVE_INFINITY, 1, why, "");
    }

    /** The error of element {@code i} in tolerance units: ≤ 1 passes. */
    static double units(Tolerance tol, NpyArray got, NpyArray ref, int i) {
        if (ref.kind() != NpyArray.Kind.FLOAT) {
            return got.getLong(i) == ref.getLong(i) ? 0 : Double.POSITIVE_INFINITY;
        }
        double x = got.getDouble(i);
        double y = ref.getDouble(i);
        if (!Double.isFinite(x) || !Double.isFinite(y)) {
            return Double.compare(x, y) == 0 || Double.isNaN(x) && Double.isNaN(y) ? 0 : Double.POSITIVE_INFINITY;
        }
        double d = Math.abs(x - y);
        double allowed = tol.allowed(y);
        return d == 0 ? 0 : allowed == 0 ? Double.POSITIVE_INFINITY : d / allowed;
    }

    /** One summary line per (op, output), aggregated over its cases, in first-seen order. */
    record Line(String op, String output, int pass, int fail, int missing, double worst, String first) {
        Status status() {
            return fail > 0 ? Status.FAIL : missing > 0 ? Status.MISSING : Status.PASS;
        }
    }

    static List<Line> lines(List<Verdict> verdicts) {
        Map<String, List<Verdict>> groups = new LinkedHashMap<>();
        for (Verdict v : verdicts) {
            groups.computeIfAbsent(v.op() + "\u0000" + v.output(), k -> new ArrayList<>()).add(v);
        }
        List<Line> lines = new ArrayList<>();
        for (List<Verdict> g : groups.values()) {
            int pass = 0;
            int fail = 0;
            int missing = 0;
            double worst = 0;
            String first = "";
            for (Verdict v : g) {
                switch (v.status()) {
                    case PASS -> pass++;
                    case FAIL -> fail++;
                    case MISSING -> missing++;
                }
                if (v.status() != Status.MISSING) {
                    worst = Math.max(worst, v.worst());
                }
                if (v.status() == Status.FAIL && first.isEmpty()) {
                    first = v.caseId() + ": " + v.first();
                }
            }
            lines.add(new Line(g.get(0).op(), g.get(0).output(), pass, fail, missing, worst, first));
        }
        return lines;
    }

    /** Prints the table: one line per (op, output), then the totals. */
    static void print(PrintWriter out, List<Line> lines) {
        out.printf(Locale.ROOT, "%-20s %-15s %-7s %5s %5s %5s  %-12s %s%n", "op", "output", "status", "pass", "fail",
                "miss", "worst (tol)", "first failing row");
        for (Line l : lines) {
            out.printf(Locale.ROOT, "%-20s %-15s %-7s %5d %5d %5d  %-12s %s%n", l.op(), l.output(),
                    l.status().name().toLowerCase(Locale.ROOT), l.pass(), l.fail(), l.missing(),
                    l.pass() + l.fail() == 0 ? "-" : units(l.worst()), l.first());
        }
        long fail = lines.stream().filter(l -> l.status() == Status.FAIL).count();
        long missing = lines.stream().filter(l -> l.status() == Status.MISSING).count();
        out.printf(Locale.ROOT, "%d op outputs: %d pass, %d fail, %d missing%n", lines.size(),
                lines.size() - fail - missing, fail, missing);
    }

    /** The worst error for the table: {@code 0.31x}, {@code inf} for a mismatch of exact or special values. */
    static String units(double worst) {
        return Double.isInfinite(worst) ? "inf" : String.format(Locale.ROOT, "%.3gx", worst);
    }

    /** The report as JSON: the summary lines, then every verdict. */
    static String json(List<Line> lines, List<Verdict> verdicts, Path dir, Path candidate) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("kit", dir.toString());
        r.put("candidate", candidate.toString());
        List<Object> ls = new ArrayList<>();
        for (Line l : lines) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("op", l.op());
            m.put("output", l.output());
            m.put("status", l.status().name().toLowerCase(Locale.ROOT));
            m.put("pass", l.pass());
            m.put("fail", l.fail());
            m.put("missing", l.missing());
            m.put("worst_tolerance_units", l.worst());
            m.put("first_failure", l.first());
            ls.add(m);
        }
        r.put("summary", ls);
        List<Object> vs = new ArrayList<>();
        for (Verdict v : verdicts) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("case", v.caseId());
            m.put("op", v.op());
            m.put("output", v.output());
            m.put("status", v.status().name().toLowerCase(Locale.ROOT));
            m.put("worst_tolerance_units", v.worst());
            m.put("failing_elements", v.failures());
            m.put("first_failure", v.status() == Status.FAIL ? v.first() : "");
            m.put("first_failure_kind", v.firstKind());
            vs.add(m);
        }
        r.put("cases", vs);
        return ConformanceJson.write(r);
    }

    /** JUnit XML: one testcase per (op, output); a missing one is skipped with --allow-missing, else failed. */
    static String junit(List<Line> lines, boolean allowMissing) {
        long failures = lines.stream().filter(l -> l.status() == Status.FAIL
                || l.status() == Status.MISSING && !allowMissing).count();
        long skipped = lines.stream().filter(l -> l.status() == Status.MISSING && allowMissing).count();
        StringBuilder sb = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        sb.append(String.format(Locale.ROOT, "<testsuite name=\"entrokit-conformance\" tests=\"%d\" failures=\"%d\" "
                + "errors=\"0\" skipped=\"%d\">%n", lines.size(), failures, skipped));
        for (Line l : lines) {
            sb.append("  <testcase classname=\"").append(xml(l.op())).append("\" name=\"").append(xml(l.output())).append('"');
            String worst = "worst " + units(l.worst()) + " of tolerance; " + l.pass() + " pass, " + l.fail() + " fail, "
                    + l.missing() + " missing";
            switch (l.status()) {
                case PASS -> sb.append("/>\n");
                case FAIL -> sb.append(">\n    <failure message=\"").append(xml(l.first())).append("\">")
                        .append(xml(worst)).append("</failure>\n  </testcase>\n");
                case MISSING -> sb.append(">\n    ").append(allowMissing ? "<skipped message=\"" : "<failure message=\"")
                        .append(xml("missing: " + worst)).append("\"/>\n  </testcase>\n");
            }
        }
        return sb.append("</testsuite>\n").toString();
    }

    private static String xml(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                default -> {
                    if (c < 0x20 && c != '\t' && c != '\n') {
                        sb.append(' ');
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.toString();
    }
}
