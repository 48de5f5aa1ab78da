package dev.entrokit.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;

/**
 * Whether wall-clock timings taken on this machine can be read as the code's speed: not when other
 * work kept the cores busy (load average above the core count) or when repeated calls of the same op
 * varied by more than {@value #MAX_SPREAD}×.
 */
final class TimingCheck {
    /** Largest slowest/fastest ratio of one op's timed calls on a quiet machine. */
    static final double MAX_SPREAD = 1.3;

    private final int cores;
    private final int ownThreads;
    private final OptionalDouble loadBefore;
    private final List<String> spread = new ArrayList<>();
    private double worstSpread = 1;
    private String worstLabel = "";

    /**
     * @param cores      available processors
     * @param ownThreads threads this run adds to the load average while it runs
     * @param loadBefore the one-minute load average before the run (empty when unknown)
     */
    TimingCheck(int cores, int ownThreads, OptionalDouble loadBefore) {
        this.cores = cores;
        this.ownThreads = ownThreads;
        this.loadBefore = loadBefore;
    }

    /** The one-minute load average from {@code /proc/loadavg}, when readable. */
    static OptionalDouble loadAverage() {
        try {
            String first = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0];
            return OptionalDouble.of(Double.parseDouble(first));
        } catch (IOException | RuntimeException e) {
            return OptionalDouble.empty();
        }
    }

    /** Records one op's fastest and slowest timed call (in any unit). */
    void calls(String label, double fastest, double slowest) {
        double ratio = fastest > 0 ? slowest / fastest : 1;
        if (ratio > MAX_SPREAD) {
            spread.add(label);
        }
        if (ratio > worstSpread) {
            worstSpread = ratio;
            worstLabel = label;
        }
    }

    /**
     * One line saying why the timings are not reliable, or null when nothing says so.
     *
     * @param loadAfter the one-minute load average after the run, which includes this run's own threads
     */
    String verdict(OptionalDouble loadAfter) {
        List<String> why = new ArrayList<>();
        if (loadBefore.isPresent() && loadBefore.getAsDouble() > cores) {
            why.add(String.format(Locale.ROOT, "load average %.2f on %d cores before the run", loadBefore.getAsDouble(), cores));
        }
        if (loadAfter.isPresent() && loadAfter.getAsDouble() - ownThreads > cores) {
            why.add(String.format(Locale.ROOT, "load average %.2f on %d cores after it (%d of them this run's threads)",
                    loadAfter.getAsDouble(), cores, ownThreads));
        }
        if (!spread.isEmpty()) {
            why.add(String.format(Locale.ROOT, "%d op timings varied more than %.1fx between calls (worst %.2fx: %s)",
                    spread.size(), MAX_SPREAD, worstSpread, worstLabel));
        }
        return why.isEmpty() ? null
                : "timings are not reliable: the machine was busy (" + String.join("; ", why) + "); errors are unaffected";
    }
}
