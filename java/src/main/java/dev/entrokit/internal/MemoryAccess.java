package dev.entrokit.internal;

import java.lang.foreign.MemorySegment;

/**
 * The access check every tensor argument passes before anything reads it, so that memory from a
 * closed arena, or from one confined to another thread, is refused by name instead of surfacing as
 * the {@code IllegalStateException} or {@code WrongThreadException} of the first read.
 */
public final class MemoryAccess {
    /** Never started: only asked whether memory is confined to its owner thread. */
    private static final Thread NOT_THE_OWNER = Thread.ofVirtual().unstarted(() -> { });

    private MemoryAccess() {
    }

    /**
     * Checks that {@code segment} is alive and readable by this thread, and says whether worker
     * threads may touch it too (not when it comes from a confined arena: those rows then run here).
     *
     * @param name the argument, for the message
     * @throws IllegalArgumentException naming {@code name} when the arena is closed or confined elsewhere
     */
    public static boolean check(String name, MemorySegment segment) {
        if (!segment.scope().isAlive()) {
            throw new IllegalArgumentException(name + ": the arena of its segment is closed");
        }
        if (!segment.isAccessibleBy(Thread.currentThread())) {
            throw new IllegalArgumentException(name + ": its segment is confined to another thread ("
                    + "a confined arena's memory is usable only by the thread that opened it)");
        }
        return segment.isAccessibleBy(NOT_THE_OWNER);
    }
}
