package dev.entrokit.internal;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the calls that run through a {@link HandoffBackend#rowScope()}: how many are in flight now and how many
 * have ended. The SIMD warm-up reads it to stay out of the way of the calls it is warming up for.
 */
public final class CallGauge {
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong ended = new AtomicLong();

    /** A call starts (on its caller, before its first row). */
    public void begin() {
        inFlight.incrementAndGet();
    }

    /** A call that {@link #begin} counted has finished its rows, or failed. */
    public void end() {
        ended.incrementAndGet();
        inFlight.decrementAndGet();
    }

    /** Calls running now. */
    public int inFlight() {
        return inFlight.get();
    }

    /** Calls ended so far. */
    public long ended() {
        return ended.get();
    }
}
