package dev.entrokit.cli;

import dev.entrokit.SamplingFilters;
import dev.entrokit.TopHMode;
import java.util.Locale;

/**
 * The {@code steps} setting of {@code decode}: a sampling pipeline written as comma-separated steps,
 * applied in the order written, each {@code NAME:ARG[:ARG...]}:
 * {@code top_k:K[:MIN_KEEP]}, {@code top_p:P[:MIN_KEEP]}, {@code min_p:R[:MIN_KEEP]},
 * {@code top_h:ALPHA[:N[:paper|normalized[:MIN_KEEP]]]},
 * {@code typical:MASS[:MIN_KEEP]}, {@code epsilon:E[:MIN_KEEP]}, {@code eta:E[:MIN_KEEP]},
 * {@code top_n_sigma:N[:MIN_KEEP]}, {@code mirostat:MU[:MIN_KEEP]} (Mirostat's truncation at a given μ),
 * {@code dynamic_temperature:T_MIN:T_MAX[:KAPPA]} (κ = 1 when left out). Parameters are checked by {@link SamplingFilters}, whose messages reach the user.
 */
final class Pipeline {
    /** The step names, for the help text. */
    static final String NAMES = "top_k, top_p, min_p, top_h, typical, epsilon, eta, top_n_sigma, mirostat, dynamic_temperature";

    private Pipeline() {
    }

    /** {@code spec} after {@code temperature}; an empty spec is the temperature alone. */
    static SamplingFilters parse(String spec, float temperature) {
        SamplingFilters f = SamplingFilters.temperature(temperature);
        if (spec == null || spec.isBlank()) {
            return f;
        }
        for (String step : spec.split(",")) {
            String[] a = step.trim().split(":");
            String name = a[0].trim().toLowerCase(Locale.ROOT);
            f = switch (name) {
                case "top_k" -> f.topK(intArg(a, 1, name, null), intArg(a, 2, name, 1));
                case "top_p" -> f.topP(floatArg(a, 1, name, null), intArg(a, 2, name, 1));
                case "min_p" -> f.minP(floatArg(a, 1, name, null), intArg(a, 2, name, 1));
                case "top_h" -> f.topH(floatArg(a, 1, name, null), intArg(a, 2, name, SamplingFilters.DEFAULT_TOP_H_N),
                        mode(a.length > 3 ? a[3] : "paper"), intArg(a, 4, name, 1));
                case "typical" -> f.typical(floatArg(a, 1, name, null), intArg(a, 2, name, 1));
                case "epsilon" -> f.epsilon(floatArg(a, 1, name, null), intArg(a, 2, name, 1));
                case "eta" -> f.eta(floatArg(a, 1, name, null), intArg(a, 2, name, 1));
                case "top_n_sigma" -> f.topNSigma(floatArg(a, 1, name, null), intArg(a, 2, name, 1));
                case "mirostat" -> f.mirostat(floatArg(a, 1, name, null), intArg(a, 2, name, 1));
                case "dynamic_temperature" -> f.dynamicTemperature(floatArg(a, 1, name, null), floatArg(a, 2, name, null),
                        floatArg(a, 3, name, 1f));
                default -> throw new UserException("steps: unknown step '" + step.trim() + "'; steps are " + NAMES);
            };
            int max = switch (name) {
                case "dynamic_temperature" -> 4;
                case "top_h" -> 5;
                default -> 3;
            };
            if (a.length > max) {
                throw new UserException("steps: '" + step.trim() + "' has " + (a.length - 1) + " arguments; " + name
                        + " takes at most " + (max - 1));
            }
        }
        return f;
    }

    private static TopHMode mode(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "paper" -> TopHMode.PAPER;
            case "normalized" -> TopHMode.NORMALIZED;
            default -> throw new UserException("steps: top_h mode must be paper or normalized, got '" + s.trim() + "'");
        };
    }

    private static String arg(String[] a, int i, String name) {
        if (i >= a.length || a[i].isBlank()) {
            throw new UserException("steps: " + name + " needs argument " + i + " (" + name + ":...)");
        }
        return a[i].trim();
    }

    private static float floatArg(String[] a, int i, String name, Float dflt) {
        return number(a, i, name, dflt, Float::parseFloat, "a number");
    }

    private static int intArg(String[] a, int i, String name, Integer dflt) {
        return number(a, i, name, dflt, Integer::parseInt, "a 32-bit integer");
    }

    /** Argument {@code i} of step {@code name} parsed by {@code parse}, or {@code dflt} when left out (null: required). */
    private static <T> T number(String[] a, int i, String name, T dflt, java.util.function.Function<String, T> parse,
                                String what) {
        if (dflt != null && i >= a.length) {
            return dflt;
        }
        String s = arg(a, i, name);
        try {
            return parse.apply(s);
        } catch (NumberFormatException e) {
            throw new UserException("steps: " + name + " argument " + i + " '" + s + "' is not " + what);
        }
    }
}
