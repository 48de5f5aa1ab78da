package dev.entrokit.bench;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;

/**
 * The warm-up of {@code ./entrokit bench --quick}: JMH's warm-up is a fixed count, and on a busy
 * 2-core machine C2 can take longer than that to compile a vector kernel, which published pre-C2
 * numbers 5–17× too slow. Instead the benchmark method is called in batches of at least
 * {@link #BATCH_NANOS} until {@link #WINDOW} successive batch scores lie within {@link #TOLERANCE} of
 * each other (max/min), or until {@link #CAP_NANOS} have passed; the verdict is appended to a file
 * the suite reads after the fork.
 */
public final class Settle {
    /** The system property naming the verdict file; absent, no settling is done. */
    public static final String PROPERTY = "entrokit.bench.settle";
    static final long BATCH_NANOS = 200_000_000L;
    static final int WINDOW = 3;
    static final double TOLERANCE = 1.05;
    static final long CAP_NANOS = 30_000_000_000L;

    private Settle() {
    }

    /**
     * The index of the last batch of the first {@link #WINDOW} successive scores within
     * {@link #TOLERANCE} of each other, or -1 when there is none yet.
     */
    static int settledAt(List<Double> scores) {
        for (int end = WINDOW - 1; end < scores.size(); end++) {
            double lo = Double.POSITIVE_INFINITY;
            double hi = 0;
            for (int i = end - WINDOW + 1; i <= end; i++) {
                lo = Math.min(lo, scores.get(i));
                hi = Math.max(hi, scores.get(i));
            }
            if (hi <= lo * TOLERANCE) {
                return end;
            }
        }
        return -1;
    }

    /**
     * Warms {@code benchmark} (the JMH benchmark's full name) up on {@code state} until its score settles
     * or the cap passes, when the {@link #PROPERTY} is set; appends {@code settled|unsettled <batches>
     * <seconds> <last score in ms>} to that file.
     */
    static void run(Object state, String benchmark) throws IOException {
        String file = System.getProperty(PROPERTY);
        if (file == null || file.isBlank()) {
            return;
        }
        Method m;
        try {
            m = state.getClass().getMethod(benchmark.substring(benchmark.lastIndexOf('.') + 1));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException("no benchmark method for " + benchmark, e);
        }
        List<Double> scores = new java.util.ArrayList<>();
        long t0 = System.nanoTime();
        int at = -1;
        while (at < 0 && System.nanoTime() - t0 < CAP_NANOS) {
            long a = System.nanoTime();
            long calls = 0;
            long now;
            do {
                invoke(m, state);
                calls++;
                now = System.nanoTime();
            } while (now - a < BATCH_NANOS);
            scores.add((now - a) / 1e6 / calls);
            at = settledAt(scores);
        }
        String line = String.format(Locale.ROOT, "%s %d %.1f %.4f%n", at >= 0 ? "settled" : "unsettled", scores.size(),
                (System.nanoTime() - t0) / 1e9, scores.getLast());
        Files.writeString(Path.of(file), line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    private static void invoke(Method m, Object state) {
        try {
            m.invoke(state);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
    }
}
