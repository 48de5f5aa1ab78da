package dev.entrokit.cli;

import dev.entrokit.LossOptions;
import dev.entrokit.TeacherMass;
import dev.entrokit.TopHMode;
import dev.entrokit.Uncertainty;
import java.util.Locale;

/**
 * A {@code --set NAME=VALUE} of {@code eval}. Every setting lands in a {@link LossOptions} field or a
 * selection field of {@link EvalSettings}, checked by the library as it is set, so the library's own
 * checks (range, finiteness) apply and its messages reach the user unchanged.
 */
public enum Setting {
    /** Divides the logits before the softmax. */
    TEMPERATURE("temperature", "1", "T > 0: logits are divided by T (sample: 0 = greedy)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withTemperature(parseFloat(value));
        }
    },
    /** Generalized JSD weight. */
    BETA("beta", "0.5", "JSD weight in [0, 1] (0: KL(P||Q), 1: KL(Q||P))") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withLoss(o.loss().beta(parseFloat(value)));
        }
    },
    /** Label that marks a row as ignored. */
    IGNORE_INDEX("ignore_index", "-100", "rows with this label give loss 0, grad 0") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            try {
                return o.withLoss(o.loss().ignoreIndex(Integer.parseInt(value.trim())));
            } catch (NumberFormatException e) {
                throw new UserException("ignore_index: '" + value + "' is not a 32-bit integer");
            }
        }
    },
    /** Label smoothing epsilon. */
    LABEL_SMOOTHING("label_smoothing", "0", "epsilon in [0, 1] toward the uniform target") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withLoss(o.loss().labelSmoothing(parseFloat(value)));
        }
    },
    /** k of the top_k op. */
    K("k", "50", "top_k: how many tokens, 1 <= k <= V") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withK(parseInt(value), false);
        }
    },
    /** p of the top_p op. */
    P("p", "0.9", "top_p: shortest prefix with mass >= p, p in (0, 1]") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withP(parseFloat(value), false);
        }
    },
    /** r of min_p, as an op and as a filter of sample. */
    MIN_P("min_p", "0.1", "min_p, sample: keep p_i >= min_p * max p, in (0, 1]") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withMinP(parseFloat(value));
        }
    },
    /** alpha of the top_h op: the entropy fraction. Was {@code alpha}, which now names the divergences' order alone. */
    ALPHA("entropy_fraction", "alpha", "0.4", "top_h: entropy fraction alpha in (0, 1]") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withAlpha(parseFloat(value), false);
        }
    },
    /** n of top_h. */
    N("n", "100", "top_h: top-H looks at the first n tokens") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withN(parseInt(value));
        }
    },
    /** The top_h mode. */
    MODE("mode", "paper", "top_h: paper | normalized (SPEC 2)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return switch (value.trim().toLowerCase(Locale.ROOT)) {
                case "paper" -> o.withMode(TopHMode.PAPER);
                case "normalized" -> o.withMode(TopHMode.NORMALIZED);
                default -> throw new UserException("mode: expected paper or normalized, got '" + value + "'");
            };
        }
    },
    /** min_tokens_to_keep of the prefix filters. */
    MIN_KEEP("min_tokens_to_keep", "1", "top_p, min_p, top_h, sample: keep at least this many") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withMinKeep(parseInt(value));
        }
    },
    /** Mirostat's target surprise. */
    TAU("tau", "5", "mirostat: target surprise in bits, finite, > 0") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withDecoding(o.decoding().withTau(parseFloat(value)));
        }
    },
    /** Mirostat's learning rate. */
    ETA("eta", "0.1", "mirostat: learning rate of mu, finite, >= 0") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withDecoding(o.decoding().withEta(parseFloat(value)));
        }
    },
    /** The repetition penalty of every row without a per-row input. */
    REPETITION_PENALTY("repetition_penalty", "1", "process_logits: theta of every row, > 0") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withDecoding(o.decoding().withRepetition(parseFloat(value)));
        }
    },
    /** The frequency penalty of every row without a per-row input. */
    FREQUENCY_PENALTY("frequency_penalty", "0", "process_logits: per generated occurrence") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withDecoding(o.decoding().withFrequency(parseFloat(value)));
        }
    },
    /** The presence penalty of every row without a per-row input. */
    PRESENCE_PENALTY("presence_penalty", "0", "process_logits: once per generated token") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withDecoding(o.decoding().withPresence(parseFloat(value)));
        }
    },
    /** Philox key of sample. */
    SEED("seed", "0", "sample: Philox key, the same for every row") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withSeed(parseLong(value));
        }
    },
    /** Philox counter step of sample. */
    STEP("step", "0", "sample: decoding step (Philox counter with the row)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withStep(parseLong(value));
        }
    },
    /** The pipeline of decode, steps in the order written. */
    STEPS("steps", "", "decode: steps in order, NAME:ARG[:ARG],... (" + Pipeline.NAMES + "; README)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withSteps(value.trim());
        }
    },
    /** Top-k filter of sample. */
    TOP_K("top_k", "off", "sample: top-k filter (applied 1st)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withK(parseInt(value), true);
        }
    },
    /** Top-p filter of sample. */
    TOP_P("top_p", "off", "sample: top-p filter (applied 2nd)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withP(parseFloat(value), true);
        }
    },
    /** k of min_k_prob and min_k_pp: a fraction, not a count. Was {@code k}, which now names top_k's count alone. */
    K_FRACTION("k_fraction", "k", "0.2", "min_k_prob, min_k_pp: fraction of positions, (0, 1]") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            float v = parseFloat(value);
            if (!(v > 0f && v <= 1f)) {
                throw new UserException(key() + ": must be a fraction in (0, 1] (0.2 = 20 %), got " + value);
            }
            return o.withScoring(o.scoring().withKFraction(v));
        }
    },
    /** DC-PDD's clip. */
    CLIP("a", "0.01", "dcpdd: clip of p(y)*(-log f(y)), > 0") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            float v = parseFloat(value);
            if (!(v > 0f) || Float.isInfinite(v)) {
                throw new UserException("a: must be finite and > 0, got " + value);
            }
            return o.withScoring(o.scoring().withA(v));
        }
    },
    /** Contrastive decoding's weight. */
    LAMBDA("lambda", "0.5", "contrastive: out = (1+lambda)*x - lambda*lame") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            float v = parseFloat(value);
            if (!Float.isFinite(v)) {
                throw new UserException("lambda: must be finite, got " + value);
            }
            return o.withScoring(o.scoring().withLambda(v));
        }
    },
    /** Contrastive decoding's threshold. */
    THRESHOLD("threshold", "0", "contrastive: contrast rows whose uncertainty >= it") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            float v = parseFloat(value);
            if (Float.isNaN(v)) {
                throw new UserException("threshold: must not be NaN");
            }
            return o.withScoring(o.scoring().withThreshold(v));
        }
    },
    /** What contrastive decoding measures. */
    UNCERTAINTY("uncertainty", "entropy", "contrastive: entropy | jsd (nats)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            Uncertainty u = switch (value.trim().toLowerCase(Locale.ROOT)) {
                case "entropy" -> Uncertainty.ENTROPY;
                case "jsd" -> Uncertainty.JSD;
                default -> throw new UserException("uncertainty: expected entropy or jsd, got '" + value + "'");
            };
            return o.withScoring(o.scoring().withUncertainty(u));
        }
    },
    /** α of alpha_div and renyi. */
    DIV_ALPHA("alpha", "0.5", "alpha_div, renyi: alpha >= 0 (1 = KL)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            float v = parseFloat(value);
            if (!(v >= 0f) || Float.isInfinite(v)) {
                throw new UserException("alpha: must be finite and >= 0, got " + value);
            }
            return o.withLoss(o.loss().alpha(v));
        }
    },
    /** The z-loss scale of cross_entropy_opts. */
    Z_LOSS("z_loss", "0", "cross_entropy_opts: adds z_loss * lse^2 per row, >= 0") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withScoring(o.scoring().withCe(o.scoring().ce().zLoss(parseFloat(value))));
        }
    },
    /** The soft-cap of cross_entropy_opts. */
    SOFTCAP("softcap", "0", "cross_entropy_opts: logits c*tanh(x/c) first (0 = off)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withScoring(o.scoring().withCe(o.scoring().ce().softcap(parseFloat(value))));
        }
    },
    /** What the sparse-teacher ops compare over. */
    MASS("mass", "renormalized", "sparse_*: renormalized | rest (teacher's missing mass)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            TeacherMass m = switch (value.trim()) {
                case "renormalized" -> TeacherMass.RENORMALIZED;
                case "rest" -> TeacherMass.REST_BUCKET;
                default -> throw new UserException("mass: expected renormalized or rest, got '" + value + "'");
            };
            return o.withScoring(o.scoring().withMass(m));
        }
    },
    /** Top-H filter of sample. */
    TOP_H("top_h", "off", "sample: top-H (n = 100, paper) with this alpha, 4th") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withAlpha(parseFloat(value), true);
        }
    },
    /** Entropic regularization of the transport ops. */
    EPSILON("epsilon", "0.05", "sinkhorn: epsilon > 0 (sinkd: 0.1)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withTransport(o.transport().withEpsilon(parseDouble(value)));
        }
    },
    /** Iteration limit of the transport ops. */
    MAX_ITER("max_iter", "1000", "sinkhorn: iterations at most (sinkd: 20)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withTransport(o.transport().withMaxIter(parseInt(value)));
        }
    },
    /** Stopping tolerance of Sinkhorn. */
    TOL("tol", "1e-9", "sinkhorn: stop at L1 row-marginal error <= tol (0: never)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withTransport(o.transport().withTol(parseDouble(value)));
        }
    },
    /** KL penalty of unbalanced transport. */
    RHO("rho", "inf", "sinkhorn: unbalanced KL penalty (inf: balanced)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withTransport(o.transport().withRho(parseDouble(value)));
        }
    },
    /** Start of epsilon-annealing. */
    EPSILON_START("epsilon_start", "off", "sinkhorn: anneal from this epsilon down") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withTransport(o.transport().withEpsilonStart(parseDouble(value)));
        }
    },
    /** Factor per iteration of epsilon-annealing. */
    EPSILON_DECAY("epsilon_decay", "0.9", "sinkhorn: annealing factor per iteration") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withTransport(o.transport().withEpsilonDecay(parseDouble(value)));
        }
    },
    /** Whether sinkhorn writes the plans. */
    PLAN("plan", "false", "sinkhorn: also write plan [B, n, m]") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withTransport(o.transport().withPlan(parseBoolean(value)));
        }
    },
    /** Ground cost of point clouds. */
    METRIC("metric", "sqeuclidean", "sinkhorn with x, y: sqeuclidean | l1 | euclidean") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return o.withTransport(o.transport().withMetric(dev.entrokit.Metric.of(value)));
        }
    },
    /** SinKD through the log-domain solver. */
    DOMAIN("domain", "plain", "sinkd: plain (the paper's) | log (the solver)") {
        @Override
        EvalSettings apply(EvalSettings o, String value) {
            return switch (value.trim().toLowerCase(Locale.ROOT)) {
                case "plain" -> o.withTransport(o.transport().withLogDomain(false));
                case "log" -> o.withTransport(o.transport().withLogDomain(true));
                default -> throw new UserException("domain: expected plain or log, got '" + value + "'");
            };
        }
    };

    private final String key;
    private final String alias;
    private final String defaultValue;
    private final String help;

    Setting(String key, String defaultValue, String help) {
        this(key, null, defaultValue, help);
    }

    /**
     * A setting whose key was renamed: {@code alias} is the old spelling, still accepted by the ops that
     * take this setting (command lines in CI scripts keep working), and shown in the help.
     */
    Setting(String key, String alias, String defaultValue, String help) {
        this.key = key;
        this.alias = alias;
        this.defaultValue = defaultValue;
        this.help = help;
    }

    /** The name used on the command line; one meaning per name. */
    public String key() {
        return key;
    }

    /** The old name an op taking this setting still accepts, or null. */
    public String alias() {
        return alias;
    }

    /** Whether {@code name} is this setting's key or its alias. */
    public boolean named(String name) {
        return key.equals(name) || name.equals(alias);
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
    abstract EvalSettings apply(EvalSettings o, String value);

    int parseInt(String value) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new UserException(key + ": '" + value + "' is not a 32-bit integer");
        }
    }

    long parseLong(String value) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new UserException(key + ": '" + value + "' is not a 64-bit integer");
        }
    }

    double parseDouble(String value) {
        try {
            return Double.parseDouble(value.trim().replace("inf", "Infinity"));
        } catch (NumberFormatException e) {
            throw new UserException(key + ": '" + value + "' is not a number");
        }
    }

    boolean parseBoolean(String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw new UserException(key + ": expected true or false, got '" + value + "'");
        };
    }

    float parseFloat(String value) {
        try {
            return Float.parseFloat(value.trim());
        } catch (NumberFormatException e) {
            throw new UserException(key + ": '" + value + "' is not a number");
        }
    }
}
