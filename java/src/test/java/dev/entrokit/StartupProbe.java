package dev.entrokit;

/** Run in a fresh JVM by {@link BackendStartupTest}: builds the default instance and names its backend. */
public final class StartupProbe {
    private StartupProbe() {
    }

    /** Prints {@code backend=<name>} on stdout. */
    public static void main(String[] args) {
        System.out.println("backend=" + Entrokit.get().backendName());
    }
}
