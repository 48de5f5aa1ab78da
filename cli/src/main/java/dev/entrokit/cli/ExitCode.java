package dev.entrokit.cli;

/** Process exit statuses shared by every command, so scripts can tell the cases apart. */
public final class ExitCode {
    /** Success; for {@code compare}, the arrays agree within tolerance. */
    public static final int OK = 0;
    /** {@code compare}: beyond tolerance; {@code demo}: a backend disagrees with the reference. */
    public static final int DIFFERENT = 1;
    /** Bad input: arguments, settings, files, shapes. */
    public static final int USAGE = 2;
    /** A bug in entrokit: reported with a stack trace. */
    public static final int INTERNAL = 3;

    private ExitCode() {
    }
}
