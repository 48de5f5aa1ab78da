package dev.entrokit.cli;

import dev.entrokit.LossOptions;

/**
 * A {@code --set NAME=VALUE} of {@code eval}. Every setting lands in a {@link LossOptions} field, so
 * the library's own checks (range, finiteness) apply and its messages reach the user unchanged.
 */
public enum Setting {
    /** Divides the logits before the softmax. */
    TEMPERATURE("temperature", "1", "T > 0: logits are divided by T") {
        @Override
        LossOptions apply(LossOptions o, String value) {
            return o.temperature(parseFloat(value));
        }
    },
    /** Generalized JSD weight. */
    BETA("beta", "0.5", "JSD weight in [0, 1] (0: KL(P||Q), 1: KL(Q||P))") {
        @Override
        LossOptions apply(LossOptions o, String value) {
            return o.beta(parseFloat(value));
        }
    },
    /** Label that marks a row as ignored. */
    IGNORE_INDEX("ignore_index", "-100", "rows with this label give loss 0, grad 0") {
        @Override
        LossOptions apply(LossOptions o, String value) {
            try {
                return o.ignoreIndex(Integer.parseInt(value.trim()));
            } catch (NumberFormatException e) {
                throw new UserException("ignore_index: '" + value + "' is not a 32-bit integer");
            }
        }
    },
    /** Label smoothing epsilon. */
    LABEL_SMOOTHING("label_smoothing", "0", "epsilon in [0, 1] toward the uniform target") {
        @Override
        LossOptions apply(LossOptions o, String value) {
            return o.labelSmoothing(parseFloat(value));
        }
    };

    private final String key;
    private final String defaultValue;
    private final String help;

    Setting(String key, String defaultValue, String help) {
        this.key = key;
        this.defaultValue = defaultValue;
        this.help = help;
    }

    /** The name used on the command line. */
    public String key() {
        return key;
    }

    /** The value used when the setting is not given, as text. */
    public String defaultValue() {
        return defaultValue;
    }

    /** One line for {@code eval --help}. */
    public String help() {
        return help;
    }

    /** {@code o} with this setting changed to {@code value}; a malformed or out-of-range value is an error. */
    abstract LossOptions apply(LossOptions o, String value);

    float parseFloat(String value) {
        try {
            return Float.parseFloat(value.trim());
        } catch (NumberFormatException e) {
            throw new UserException(key + ": '" + value + "' is not a number");
        }
    }
}
