package dev.entrokit;

import java.util.List;
import java.util.function.BiPredicate;

/**
 * Defects known when the API harness was written, each being fixed on its own branch: a harness
 * failure on a call that matches one of these conditions is printed instead of failing, so the case
 * stays visible in every run. Delete an entry once its fix is merged; the harness then insists.
 */
final class KnownDefects {
    /** A known defect: its name and the precise calls (backend name, call) it shows on. */
    record Defect(String name, BiPredicate<String, ApiScenario.Call> matches) {
    }

    static final List<Defect> ALL = List.of(
            new Defect("top-H keeps masked tokens (one live token, or alpha = 1)", (backend, c) -> c.op().selection()
                    && c.filters() != null && c.filters().filters().stream().anyMatch(f -> f.kind() == SamplingFilters.Kind.TOP_H)
                    && hasValue(c.x(), Float.NEGATIVE_INFINITY)),
            // Found by this harness, not yet assigned: each needs its own triage.
            new Defect("a pipeline with no filter keeps masked tokens", (backend, c) -> c.op().selection()
                    && c.filters() != null && c.filters().filters().isEmpty() && hasValue(c.x(), Float.NEGATIVE_INFINITY)));

    private KnownDefects() {
    }

    /** The known defect that {@code call} on {@code backend} matches, or null. */
    static Defect matching(String backend, ApiScenario.Call call) {
        return ALL.stream().filter(d -> d.matches().test(backend, call)).findFirst().orElse(null);
    }

    /**
     * Runs {@code check}; a failure on a call that matches a known defect is printed with the defect's
     * name and swallowed, any other failure is thrown.
     */
    static void tolerate(String backend, ApiScenario.Call call, Runnable check) {
        try {
            check.run();
        } catch (AssertionError e) {
            Defect d = matching(backend, call);
            if (d == null) {
                throw e;
            }
            System.err.println("known defect (" + d.name() + "), still failing: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    private static boolean hasValue(float[] x, float v) {
        for (float f : x) {
            if (Float.compare(f, v) == 0) {
                return true;
            }
        }
        return false;
    }
}
