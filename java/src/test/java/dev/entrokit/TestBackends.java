package dev.entrokit;

import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The backends every op is run on, and shared instances of them.
 *
 * <p>The simd backend is written in parallel and lands later: until then {@link #open} skips its cases
 * with an assumption (see {@code SimdAvailabilityTest} for the test that insists on it).
 *
 * <p>The {@code simd-width} surefire executions re-run tagged classes with {@code -Dentrokit.simd.bits};
 * the scalar backend does not depend on that width, so its cases are skipped there (they already ran in
 * the default execution) and only the simd cases run again. Comparisons of simd against scalar use
 * {@link #scalarReference()}, which is never skipped.
 */
public final class TestBackends {
    /** Every CPU backend each op must run on. */
    public static final List<String> NAMES = List.of("scalar", "simd");

    private static final Map<String, Entrokit> SHARED = new ConcurrentHashMap<>();

    private TestBackends() {
    }

    /** Whether {@code name} is listed as available by {@link Entrokit#backends()}. */
    public static boolean available(String name) {
        return Entrokit.backends().stream().anyMatch(b -> b.name().equals(name) && b.available());
    }

    /** Whether this JVM is one of the simd-width re-runs (a width was forced on the command line). */
    public static boolean widthRerun() {
        return System.getProperty("entrokit.simd.bits") != null;
    }

    /** {@link #NAMES} as a {@code @MethodSource}. */
    public static java.util.stream.Stream<String> names() {
        return NAMES.stream();
    }

    /** The names of the backends available in this JVM, in {@link #NAMES} order. */
    public static List<String> availableNames() {
        return NAMES.stream().filter(TestBackends::available).toList();
    }

    /**
     * A shared 2-thread instance of the backend under test; skips (assumption) when it is unavailable,
     * or when it is scalar and this is a simd-width re-run.
     */
    public static Entrokit open(String name) {
        assumeTrue(available(name), () -> "backend " + name + " is not available here: " + Entrokit.backends());
        assumeFalse(widthRerun() && name.equals("scalar"), "scalar already ran in the default execution");
        return shared(name);
    }

    /** A shared instance of an available backend, without any assumption (for loops over {@link #availableNames()}). */
    public static Entrokit instance(String name) {
        return shared(name);
    }

    /** The scalar backend as a reference for simd-vs-scalar comparisons. */
    public static Entrokit scalarReference() {
        return shared("scalar");
    }

    private static Entrokit shared(String name) {
        return SHARED.computeIfAbsent(name, n -> Entrokit.create(n, 2));
    }
}
