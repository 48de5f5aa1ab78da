package dev.entrokit.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * The cases of the conformance kit: for each op, its inputs built from {@link ConformanceRows} at a
 * few odd widths, the {@code eval} settings it runs with, and the kind of every row. Each case draws
 * from its own generator, seeded from the kit's seed and the case's id, so a case's bytes do not
 * depend on which other ops were asked for.
 */
final class ConformanceCases {
    /** The kit's seed; each case's own seed is derived from it and the case id. */
    static final long SEED = 20261206L;

    private ConformanceCases() {
    }

    /** How much the kit holds. */
    enum Size {
        /** Two odd widths and one setting per op: seconds to generate and check. */
        SMALL(new int[] {7, 33}),
        /** Wider rows (up to a 32003-token vocabulary) and a second setting for the threshold ops. */
        FULL(new int[] {7, 33, 257, 32003});

        private final int[] widths;

        Size(int[] widths) {
            this.widths = widths;
        }
    }

    /**
     * One case: an op, its settings, its inputs and what each row is.
     *
     * @param id       unique, also the folder of its files
     * @param op       the op, as {@code eval} names it
     * @param settings the {@code --set} pairs
     * @param inputs   the {@code --in} arrays
     * @param rowKinds the kind of each row (of each problem, for the transport ops)
     * @param seed     the seed the rows were drawn with
     * @param seeds    the per-row Philox seeds given to {@code sample}, or empty
     */
    record Case(String id, EvalOp op, Map<String, String> settings, Map<String, NpyArray> inputs, List<String> rowKinds,
                long seed, long[] seeds) {
    }

    /** Every case of {@code ops} (in the op table's order) at {@code size}. */
    static List<Case> build(Set<EvalOp> ops, Size size) {
        List<Case> cases = new ArrayList<>();
        for (EvalOp op : EvalOp.values()) {
            if (!ops.contains(op) || !inKit(op)) {
                continue;
            }
            if (isTransport(op)) {
                cases.add(transport(op));
                continue;
            }
            for (int v : size.widths) {
                for (Map<String, String> settings : variants(op, v, size)) {
                    cases.add(distribution(op, v, settings));
                }
            }
        }
        return cases;
    }

    /**
     * Whether the kit has cases of {@code op}: not the decoding ops whose inputs it does not generate (draft and
     * target probabilities, a constraint mask) or whose outputs a draw near a threshold may change without a band
     * to exempt it (Mirostat's token and μ); their CLI tests and the library's tests cover them.
     */
    static boolean inKit(EvalOp op) {
        return op != EvalOp.MIROSTAT && op != EvalOp.SPECULATIVE && op != EvalOp.CONSTRAINED;
    }

    private static boolean isTransport(EvalOp op) {
        return op == EvalOp.SINKHORN || op == EvalOp.SINKHORN_DIVERGENCE || op == EvalOp.SINKD;
    }

    /** The settings each case of {@code op} at width {@code v} runs with; every one is explicit, defaults too. */
    private static List<Map<String, String>> variants(EvalOp op, int v, Size size) {
        boolean full = size == Size.FULL;
        List<Map<String, String>> l = new ArrayList<>();
        switch (op) {
            case SOFTMAX, LOG_SOFTMAX, LOGSUMEXP, ENTROPY, KL, RKL, JEFFREYS, TV, HELLINGER, CHI2 -> {
                l.add(sets("temperature", "1"));
                if (full) {
                    l.add(sets("temperature", "0.5"));
                }
            }
            case CROSS_ENTROPY -> {
                l.add(sets("temperature", "1"));
                l.add(sets("temperature", "1", "labels", "true"));
            }
            case JSD -> l.add(sets("temperature", "1", "beta", "0.5"));
            case ALPHA_DIV, RENYI -> l.add(sets("temperature", "1", "alpha", "0.5"));
            case PLD -> l.add(sets("temperature", "1"));
            case TOP_K_OP -> {
                l.add(sets("temperature", "1", "k", Integer.toString(Math.min(5, v))));
                if (full) {
                    l.add(sets("temperature", "1", "k", Integer.toString(v)));
                }
            }
            case TOP_P_OP -> {
                l.add(sets("temperature", "1", "p", "0.9"));
                if (full) {
                    l.add(sets("temperature", "0.7", "p", "0.5"));
                }
            }
            case MIN_P_OP -> l.add(sets("temperature", "1", "min_p", "0.1"));
            case TOP_H_OP -> l.add(sets("temperature", "1", "alpha", "0.4", "n", "100", "mode", "paper"));
            case SAMPLE -> {
                l.add(sets("temperature", "0"));
                l.add(sets("temperature", "1", "step", "3", "seeds", "per-row"));
                l.add(sets("temperature", "0.7", "top_k", Integer.toString(Math.min(5, v)), "top_p", "0.9", "step", "0",
                        "seeds", "per-row"));
            }
            case MIN_K_PROB, MIN_K_PP -> l.add(sets("k", "0.2"));
            case DCPDD -> l.add(sets("a", "0.01"));
            case CONTRASTIVE -> l.add(sets("lambda", "0.5", "threshold", "0", "uncertainty", "entropy"));
            case LOGPROB_ENTROPY, K3_KL -> l.add(sets("temperature", "1", "ignore_index", "-100"));
            case SPARSE_KL, SPARSE_RKL -> {
                l.add(sets("temperature", "1", "ignore_index", "-100", "mass", "renormalized"));
                l.add(sets("temperature", "1", "ignore_index", "-100", "mass", "rest"));
            }
            case SPARSE_JSD -> l.add(sets("temperature", "1", "ignore_index", "-100", "beta", "0.5", "mass", "rest"));
            case CROSS_ENTROPY_OPTS -> l.add(sets("temperature", "1", "ignore_index", "-100", "label_smoothing", "0",
                    "z_loss", "0.0001", "softcap", "30"));
            default -> l.add(sets());
        }
        return l;
    }

    /**
     * Settings in order. Two pseudo-settings shape the inputs rather than going to {@code --set}:
     * {@code labels=true} (hard labels instead of a teacher) and {@code seeds=per-row}.
     */
    private static Map<String, String> sets(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    private static Case distribution(EvalOp op, int v, Map<String, String> variant) {
        Map<String, String> settings = new LinkedHashMap<>(variant);
        boolean labels = "true".equals(settings.remove("labels")) || op == EvalOp.CROSS_ENTROPY_OPTS;
        boolean sparse = op == EvalOp.SPARSE_KL || op == EvalOp.SPARSE_RKL || op == EvalOp.SPARSE_JSD;
        boolean perRowSeeds = settings.remove("seeds") != null;
        String id = op.key() + "-v" + v + suffix(variant);
        long seed = seedOf(id);
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, NpyArray> in = new LinkedHashMap<>();
        List<String> kinds = new ArrayList<>();
        long[] seeds = new long[0];
        boolean twoDistributions = op.required().contains("teacher") || op == EvalOp.CROSS_ENTROPY && !labels
                || op == EvalOp.LIKELIHOOD_RATIO || op == EvalOp.CONTRASTIVE;
        if (twoDistributions) {
            List<ConformanceRows.Pair> pairs = ConformanceRows.pairs(v, rnd);
            pairs.forEach(p -> kinds.add(p.kind()));
            float[] t = ConformanceRows.stack(pairs.stream().map(ConformanceRows.Pair::teacher).toList(), v);
            float[] s = ConformanceRows.stack(pairs.stream().map(ConformanceRows.Pair::student).toList(), v);
            String[] names = switch (op) {
                case LIKELIHOOD_RATIO -> new String[] {"logits_a", "logits_b"};
                case CONTRASTIVE -> new String[] {"logits", "lame_logits"};
                default -> new String[] {"teacher", "student"};
            };
            boolean sequences = op == EvalOp.LIKELIHOOD_RATIO;
            in.put(names[0], logits(t, pairs.size(), v, sequences));
            in.put(names[1], logits(s, pairs.size(), v, sequences));
        } else {
            List<ConformanceRows.Row> rows = ConformanceRows.logits(v, rnd);
            rows.forEach(r -> kinds.add(r.kind()));
            float[] x = ConformanceRows.stack(rows.stream().map(ConformanceRows.Row::values).toList(), v);
            boolean sequences = op == EvalOp.MIN_K_PROB || op == EvalOp.MIN_K_PP || op == EvalOp.DCPDD;
            in.put(labels || sparse ? "student" : "logits", logits(x, rows.size(), v, sequences));
        }
        int rows = kinds.size();
        if (labels || op == EvalOp.PLD) {
            in.put("labels", new NpyArray.Int32(new long[] {rows}, tokens(rows, v)));
        }
        if (op.required().contains("ids") || op == EvalOp.MIN_K_PROB) {
            boolean sequences = op != EvalOp.TOKEN_LOGPROB && op != EvalOp.LOGPROB_ENTROPY && op != EvalOp.K3_KL;
            in.put("ids", new NpyArray.Int32(sequences ? new long[] {rows, 1} : new long[] {rows}, tokens(rows, v)));
        }
        if (op == EvalOp.K3_KL) {
            float[] ref = new float[rows];
            for (int r = 0; r < rows; r++) {
                ref[r] = (float) -rnd.nextDouble(6);
            }
            in.put("ref_logprobs", new NpyArray.Float32(new long[] {rows}, ref));
        }
        if (sparse) {
            sparseTeacher(in, rows, v, rnd);
        }
        if (op == EvalOp.DCPDD) {
            float[] freq = new float[v];
            double sum = 0;
            for (int i = 0; i < v; i++) {
                freq[i] = (float) (1 + rnd.nextDouble());
                sum += freq[i];
            }
            for (int i = 0; i < v; i++) {
                freq[i] = (float) (freq[i] / sum);
            }
            in.put("freq", new NpyArray.Float32(new long[] {v}, freq));
        }
        if (perRowSeeds) {
            seeds = new long[rows];
            for (int r = 0; r < rows; r++) {
                seeds[r] = rnd.nextLong();
            }
            in.put("seeds", new NpyArray.Int64(new long[] {rows}, seeds.clone()));
        }
        return new Case(id, op, settings, in, List.copyOf(kinds), seed, seeds);
    }

    /**
     * A sparse teacher per row: {@code k = min(4, v)} distinct ids, shuffled, and log-probabilities of a random
     * distribution over {@code k + 1} buckets (so a rest of mass is left), one of them a masked {@code −inf}.
     */
    private static void sparseTeacher(Map<String, NpyArray> in, int rows, int v, SplittableRandom rnd) {
        int k = Math.min(4, v);
        int[] ids = new int[rows * k];
        float[] lp = new float[rows * k];
        int[] order = new int[v];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < v; i++) {
                order[i] = i;
            }
            for (int i = v - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int swap = order[i];
                order[i] = order[j];
                order[j] = swap;
            }
            double[] mass = new double[k + 1];
            double sum = 0;
            for (int j = 0; j <= k; j++) {
                mass[j] = 0.1 + rnd.nextDouble();
                sum += mass[j];
            }
            for (int j = 0; j < k; j++) {
                ids[r * k + j] = order[j];
                lp[r * k + j] = r % 5 == 4 && j == k - 1 ? Float.NEGATIVE_INFINITY : (float) Math.log(mass[j] / sum);
            }
        }
        in.put("teacher_ids", new NpyArray.Int32(new long[] {rows, k}, ids));
        in.put("teacher_logprobs", new NpyArray.Float32(new long[] {rows, k}, lp));
    }

    /** A label or id per row, spread over the vocabulary (some land on masked tokens, as they do in practice). */
    private static int[] tokens(int rows, int v) {
        int[] t = new int[rows];
        for (int r = 0; r < rows; r++) {
            t[r] = (r * 7 + 3) % v;
        }
        return t;
    }

    /** {@code [rows, v]}, or {@code [rows, 1, v]} for the sequence ops: one sequence of one token per row. */
    private static NpyArray.Float32 logits(float[] x, int rows, int v, boolean sequences) {
        return new NpyArray.Float32(sequences ? new long[] {rows, 1, v} : new long[] {rows, v}, x);
    }

    private static Case transport(EvalOp op) {
        String id = op.key();
        long seed = seedOf(id);
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, NpyArray> in = new LinkedHashMap<>();
        Map<String, String> settings = new LinkedHashMap<>();
        List<String> kinds;
        if (op == EvalOp.SINKD) {
            int v = 33;
            List<ConformanceRows.Pair> pairs = ConformanceRows.pairs(v, rnd).stream()
                    .filter(p -> Set.of("teacher: ordinary", "masked teacher", "masked student", "identical rows",
                            "both +1e4 offset", "a token underflowing in both").contains(p.kind())).toList();
            kinds = pairs.stream().map(ConformanceRows.Pair::kind).toList();
            in.put("teacher", logits(ConformanceRows.stack(pairs.stream().map(ConformanceRows.Pair::teacher).toList(), v),
                    pairs.size(), v, false));
            in.put("student", logits(ConformanceRows.stack(pairs.stream().map(ConformanceRows.Pair::student).toList(), v),
                    pairs.size(), v, false));
            settings.putAll(sets("temperature", "1", "epsilon", "0.1", "max_iter", "20", "domain", "plain"));
            return new Case(id, op, settings, in, kinds, seed, new long[0]);
        }
        int n = 6;
        int m = 5;
        int d = 3;
        // A fixed number of iterations (tol 0): SPEC §5 compares potentials and costs after the same number
        // of iterations, and where a tolerance stops the loop the count is the backend's own (float32 passes
        // reach a 1e-9 marginal error later than float64 ones).
        settings.putAll(sets("epsilon", "0.1", "max_iter", "200", "tol", "0"));
        if (op == EvalOp.SINKHORN) {
            settings.put("plan", "true");
            kinds = List.of("random cost", "zero cost", "constant cost", "one entry 1e3 times the rest", "cost in [0, 1e-3]");
            List<Function<SplittableRandom, Float>> entries = List.of(
                    r -> (float) r.nextDouble(), r -> 0f, r -> 2.5f, r -> 1f, r -> (float) (1e-3 * r.nextDouble()));
            float[] cost = new float[kinds.size() * n * m];
            for (int b = 0; b < kinds.size(); b++) {
                for (int i = 0; i < n * m; i++) {
                    cost[b * n * m + i] = entries.get(b).apply(rnd);
                }
            }
            cost[3 * n * m + 7] = 1e3f;
            in.put("cost", new NpyArray.Float32(new long[] {kinds.size(), n, m}, cost));
        } else {
            settings.put("metric", "sqeuclidean");
            kinds = List.of("random clouds", "identical clouds", "shifted by 3", "one point far out");
            float[] x = new float[kinds.size() * n * d];
            float[] y = new float[kinds.size() * m * d];
            for (int b = 0; b < kinds.size(); b++) {
                for (int i = 0; i < n * d; i++) {
                    x[b * n * d + i] = (float) rnd.nextDouble();
                }
                for (int i = 0; i < m * d; i++) {
                    y[b * m * d + i] = b == 1 && i < n * d ? x[b * n * d + i] : (float) rnd.nextDouble() + (b == 2 ? 3f : 0f);
                }
                if (b == 3) {
                    y[b * m * d] = 10f;
                }
            }
            in.put("x", new NpyArray.Float32(new long[] {kinds.size(), n, d}, x));
            in.put("y", new NpyArray.Float32(new long[] {kinds.size(), m, d}, y));
        }
        return new Case(id, op, settings, in, kinds, seed, new long[0]);
    }

    /** {@code -T0.5-p0.9}-style suffix of the settings that differ between variants. */
    private static String suffix(Map<String, String> variant) {
        StringBuilder sb = new StringBuilder();
        variant.forEach((k, v) -> {
            if (!(k.equals("temperature") && v.equals("1")) && !k.equals("seeds") && !k.equals("n") && !k.equals("mode")
                    && !k.equals("uncertainty")) {
                sb.append('-').append(k.equals("temperature") ? "T" : k).append(k.equals("labels") ? "" : v);
            }
        });
        return sb.toString().toLowerCase(Locale.ROOT);
    }

    /** A case's seed: the kit's seed mixed with the id's hash (String.hashCode is specified, so stable). */
    static long seedOf(String id) {
        return SEED * 31 + id.hashCode();
    }
}
