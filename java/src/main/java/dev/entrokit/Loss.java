package dev.entrokit;

import java.util.ArrayList;
import java.util.List;

/**
 * The op table of the losses and divergences: one constant per per-row loss, with what it reads, whether it
 * has a gradient w.r.t. the student, which {@link LossOptions} field is its parameter, and its name on the
 * command line. {@link Entrokit#loss} runs any of them on host tensors, {@code CudaKernels.loss} the ones
 * with a CUDA kernel on device tensors, the CLI's {@code eval} derives its loss ops from here, and the tests'
 * oracle map is keyed by it (a test fails when a constant has none).
 *
 * <p>A new divergence is a constant here (anywhere in the list: nothing depends on the order), then a case
 * in each exhaustive {@code switch} over this enum, which the compiler points out: the loss driver's kernel
 * call and the tests' oracle map (docs/ARCHITECTURE.md, "Adding a loss").
 */
public enum Loss {
    // Each row states what differs from a teacher/student loss with a gradient and no parameter.
    /** Entropy {@code H(softmax(logits/T))}; reads no teacher. */
    ENTROPY("entropy", Reads.STUDENT),
    /** Soft-target cross-entropy {@code −Σ p log q}. */
    CROSS_ENTROPY("cross_entropy"),
    /** Hard-label cross-entropy with {@code ignoreIndex} and label smoothing; {@code eval}'s {@code cross_entropy} with labels. */
    CROSS_ENTROPY_LABELS("cross_entropy", Reads.LABELS),
    /** Forward KL {@code KL(p‖q)}. */
    KL("kl"),
    /** Reverse KL {@code KL(q‖p)}. */
    RKL("rkl"),
    /** Generalized Jensen–Shannon divergence with weight {@link LossOptions#beta()}. */
    JSD("jsd", Parameter.BETA),
    /** Jeffreys divergence {@code KL(p‖q) + KL(q‖p)}. */
    JEFFREYS("jeffreys"),
    /** Total variation distance; no gradient. */
    TV("tv", Reads.TEACHER, false, Parameter.NONE),
    /** Hellinger distance; no gradient. */
    HELLINGER("hellinger", Reads.TEACHER, false, Parameter.NONE),
    /** Amari α-divergence of order {@link LossOptions#alpha()}. */
    ALPHA("alpha_div", Parameter.ALPHA),
    /** Rényi divergence of order {@link LossOptions#alpha()}. */
    RENYI("renyi", Parameter.ALPHA),
    /** Pearson χ². */
    CHI2("chi2"),
    /** Plackett–Luce distillation; reads a teacher and one label per row. */
    PLD("pld", Reads.TEACHER_AND_LABELS);

    /** Which inputs besides the student logits a loss reads. */
    public enum Reads {
        /** The student (for entropy, the logits) alone. */
        STUDENT,
        /** A teacher shaped like the student. */
        TEACHER,
        /** One {@link DType#I32} label per row. */
        LABELS,
        /** A teacher and one label per row. */
        TEACHER_AND_LABELS
    }

    /** The {@link LossOptions} field a loss reads as its parameter, if any. */
    public enum Parameter {
        /** No parameter. */
        NONE(""),
        /** {@link LossOptions#beta()}, in {@code [0, 1]}. */
        BETA("beta"),
        /** {@link LossOptions#alpha()}, finite and {@code >= 0}. */
        ALPHA("alpha");

        private final String field;

        Parameter(String field) {
            this.field = field;
        }

        /** The {@link LossOptions} field's name (empty for {@link #NONE}). */
        public String field() {
            return field;
        }

        /** The parameter's value in {@code options}; NaN for {@link #NONE}. */
        public float of(LossOptions options) {
            return switch (this) {
                case NONE -> Float.NaN;
                case BETA -> options.beta();
                case ALPHA -> options.alpha();
            };
        }
    }

    private final String cliName;
    private final Reads reads;
    private final boolean gradient;
    private final Parameter parameter;

    Loss(String cliName) {
        this(cliName, Reads.TEACHER, true, Parameter.NONE);
    }

    Loss(String cliName, Reads reads) {
        this(cliName, reads, true, Parameter.NONE);
    }

    Loss(String cliName, Parameter parameter) {
        this(cliName, Reads.TEACHER, true, parameter);
    }

    Loss(String cliName, Reads reads, boolean gradient, Parameter parameter) {
        this.cliName = cliName;
        this.reads = reads;
        this.gradient = gradient;
        this.parameter = parameter;
    }

    /** Whether it reads a teacher tensor. */
    public boolean readsTeacher() {
        return reads == Reads.TEACHER || reads == Reads.TEACHER_AND_LABELS;
    }

    /** The op's name in {@code entrokit eval} (both cross-entropies share {@code cross_entropy}). */
    public String cliName() {
        return cliName;
    }

    /** Whether it reads one label per row. */
    public boolean readsLabels() {
        return reads == Reads.LABELS || reads == Reads.TEACHER_AND_LABELS;
    }

    /** The inputs it reads besides the student. */
    public Reads reads() {
        return reads;
    }

    /** The name of the student argument in messages: entropy reads one distribution, its logits. */
    public String studentName() {
        return this == ENTROPY ? "logits" : "student";
    }

    /** Whether it offers the gradient w.r.t. the student logits (a {@code grad} tensor must be null otherwise). */
    public boolean hasGradient() {
        return gradient;
    }

    /**
     * The teacher/student losses without labels, in declaration order: the ones that take exactly
     * {@code (teacher, student)} and a {@link LossOptions}.
     */
    public static List<Loss> pairs() {
        List<Loss> out = new ArrayList<>();
        for (Loss l : values()) {
            if (l.reads == Reads.TEACHER) {
                out.add(l);
            }
        }
        return List.copyOf(out);
    }

    /** The {@link LossOptions} field it reads as its parameter. */
    public Parameter parameter() {
        return parameter;
    }
}
