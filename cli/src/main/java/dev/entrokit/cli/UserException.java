package dev.entrokit.cli;

/**
 * A mistake in what the user gave us (arguments, files, settings). The command line prints its
 * message as one line and exits with {@link ExitCode#USAGE}; it never carries a stack trace.
 */
public final class UserException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** An error whose message says, in one line, what is wrong and where. */
    public UserException(String message) {
        super(message, null, false, false);
    }

    /** An error caused by {@code cause}, whose own message is usually not enough on its own. */
    public UserException(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
