package dev.entrokit;

import java.util.Arrays;

/**
 * Run in a fresh JVM by {@link WarmUpTest}: creates an instance on the backend named by its argument
 * and prints what the warm-up and the instance say, and its first KL row losses, as
 * {@code key=value} lines (or {@code refused=} with the message of a refused configuration).
 */
public final class WarmUpProbe {
    private WarmUpProbe() {
    }

    /** Prints {@code status}, {@code description} and {@code first}. */
    public static void main(String[] args) {
        float[][] in = WarmUpTest.pair();
        try (Entrokit ek = Entrokit.create(args[0], 1)) {
            System.out.println("status=" + Entrokit.warmUpStatus());
            System.out.println("description=" + ek.backendDescription());
            System.out.println("first=" + Arrays.toString(WarmUpTest.kl(ek, in)));
        } catch (IllegalArgumentException e) {
            System.out.println("refused=" + e.getMessage());
        }
    }
}
