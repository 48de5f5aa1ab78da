package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

/**
 * One random call of the façade, drawn from a {@link Choices} source (Jazzer's fuzzed bytes or a seeded
 * generator), kept as data so that the very same call can run on several backends, thread counts and
 * row subsets; and the invariants every call must keep, whatever its arguments:
 *
 * <ul>
 *   <li>it is refused with an {@link IllegalArgumentException} whose message starts with the name of an
 *       argument ({@code "temperature: ..."}), or it returns; nothing else escapes;</li>
 *   <li>a row whose inputs are all finite gets no NaN output (the α-family's gradient excepted where the
 *       row's loss is infinite, as documented);</li>
 *   <li>a masked ({@code -inf}) token is never kept by a filter and never sampled;</li>
 *   <li>finite results match the float64 oracles ({@link Float64Oracle}, {@link ScoringOracle},
 *       {@link SelectionReference}) within SPEC §5.</li>
 * </ul>
 *
 * Logits live in a padded buffer whose padding is NaN, at a random offset and row stride: a kernel
 * that reads outside its view shows up as a NaN in a clean row.
 */
final class ApiScenario {
    /** Where the choices come from. */
    interface Choices {
        /** A value in {@code [lo, hi]}. */
        int range(int lo, int hi);

        /** Any float, every bit pattern possible. */
        float anyFloat();

        default boolean bool() {
            return range(0, 1) == 1;
        }

        default <T> T pick(List<T> xs) {
            return xs.get(range(0, xs.size() - 1));
        }
    }

    /** Reproducible choices from a seed. */
    record Seeded(SplittableRandom rnd) implements Choices {
        Seeded(long seed) {
            this(new SplittableRandom(seed));
        }

        @Override
        public int range(int lo, int hi) {
            return (int) rnd.nextLong(lo, (long) hi + 1);
        }

        @Override
        public float anyFloat() {
            return Float.intBitsToFloat(rnd.nextInt());
        }
    }

    enum Op {
        SOFTMAX, LOG_SOFTMAX, LOG_SUM_EXP, ENTROPY, CROSS_ENTROPY, CE_LABELS, KL, RKL, JSD, JEFFREYS, TV, HELLINGER,
        ALPHA, RENYI, CHI2, PLD, TOP_K, KEPT_MASK, KEPT_TOKENS, MASK_LOGITS, SAMPLE, TOKEN_LOGPROB, SINKHORN;

        boolean pair() {
            return switch (this) {
                case CROSS_ENTROPY, KL, RKL, JSD, JEFFREYS, TV, HELLINGER, ALPHA, RENYI, CHI2, PLD -> true;
                default -> false;
            };
        }

        boolean loss() {
            return ordinal() >= ENTROPY.ordinal() && ordinal() <= PLD.ordinal();
        }

        boolean alphaFamily() {
            return this == ALPHA || this == RENYI || this == CHI2 || this == PLD;
        }

        boolean selection() {
            return ordinal() >= TOP_K.ordinal() && ordinal() <= SAMPLE.ordinal();
        }
    }

    /** How the logits sit in their buffer; {@code slack} below 0 makes the buffer too small. */
    record Layout(DType dtype, long offset, long extraStride, int slack, boolean readOnly) {
        static final Layout DENSE = new Layout(DType.F32, 0, 0, 0, false);
    }

    /**
     * Everything one call needs. {@code x} and {@code t} are dense {@code rows × cols}; {@code ints} holds
     * labels or token ids, one per row.
     */
    record Call(Op op, int rows, int cols, Layout layout, float[] x, float[] t, int[] ints, float temperature,
                LossOptions options, float alpha, boolean withGrad, SamplingFilters filters, int k, int capacity,
                long step, float epsilon) {
        /** The same call on row {@code r} alone. */
        Call row(int r) {
            return new Call(op, 1, cols, Layout.DENSE, Arrays.copyOfRange(x, r * cols, (r + 1) * cols),
                    t == null ? null : Arrays.copyOfRange(t, r * cols, (r + 1) * cols),
                    ints == null ? null : new int[] {ints[r]}, temperature, options, alpha, withGrad, filters, k,
                    capacity, step, epsilon);
        }

        /** Whether a row's outputs depend on that row alone (so that it can be checked in isolation). */
        boolean rowwise() {
            return op != Op.SINKHORN && op != Op.SAMPLE && options.reduction() != Reduction.MEAN
                    && options.reduction() != Reduction.BATCHMEAN;
        }

        /** The row's inputs are all finite. */
        boolean clean(int r) {
            return finite(x, r) && (t == null || !op.pair() || finite(t, r));
        }

        private boolean finite(float[] a, int r) {
            for (int i = r * cols; i < (r + 1) * cols; i++) {
                if (!Float.isFinite(a[i])) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public String toString() {
            return op + " rows=" + rows + " cols=" + cols + " " + layout + " T=" + temperature + " " + options
                    + " alpha=" + alpha + " grad=" + withGrad + " " + filters + " k=" + k + " C=" + capacity
                    + " step=" + step + " eps=" + epsilon + "\n  x=" + Arrays.toString(x)
                    + (t == null ? "" : "\n  t=" + Arrays.toString(t)) + (ints == null ? "" : "\n  ints=" + Arrays.toString(ints));
        }
    }

    /**
     * What a call gave: the exception it was refused with, or the returned value and every output of
     * each row flattened into floats (ints as their float value).
     */
    record Result(IllegalArgumentException refused, double value, float[][] rows) {
    }

    private static final Pattern NAMED = Pattern.compile("^[a-zA-Z][a-zA-Z0-9_]*: \\S.*", Pattern.DOTALL);
    static final float[] SPECIAL = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE,
        -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 0f, -0f, 1e-30f, 88.7f, -87.4f, 1e4f, -1e4f};

    private ApiScenario() {
    }

    // ------------------------------------------------------------------ drawing a call

    /** Draws a call; {@code maxCols} bounds the row length (the fuzz target keeps it small). */
    static Call draw(Choices c, int maxRows, int maxCols) {
        Op op = c.pick(List.of(Op.values()));
        int rows = c.range(0, 7) == 0 ? 0 : c.range(1, maxRows);
        int cols = c.range(0, 15) == 0 ? c.range(0, 1) : c.range(1, maxCols);
        Layout layout = c.range(0, 3) != 0 ? Layout.DENSE
                : new Layout(c.range(0, 9) == 0 ? c.pick(List.of(DType.values())) : DType.F32, c.range(0, 5),
                        c.range(0, 9) == 0 ? -1 : c.range(0, 7), c.range(0, 9) == 0 ? -1 : c.range(0, 3), c.range(0, 9) == 0);
        int special = c.range(0, 3); // how often a logit is special: never, rarely, often
        float scale = c.pick(List.of(1f, 10f, 1e-3f, 1e4f, 1e30f));
        float[] x = asLaidOut(layout, logits(c, rows * cols, special, scale));
        float[] t = op.pair() ? asLaidOut(layout, logits(c, rows * cols, special, scale)) : null;
        int[] ints = null;
        int ignore = c.range(0, 5) == 0 ? c.range(-2, 3) : LossOptions.DEFAULT_IGNORE_INDEX;
        if (op == Op.CE_LABELS || op == Op.PLD || op == Op.TOKEN_LOGPROB) {
            ints = new int[rows];
            for (int r = 0; r < rows; r++) {
                ints[r] = c.range(0, 9) == 0 ? c.pick(List.of(ignore, -1, cols, Integer.MIN_VALUE)) : c.range(0, Math.max(0, cols - 1));
            }
        }
        float temperature = parameter(c, List.of(1f, 0.5f, 2f, 0.7f, 1e-3f, 1e3f, 3e-38f, 1e-38f, Float.MIN_VALUE, 0f, -1f));
        LossOptions options = LossOptions.defaults();
        try {
            options = new LossOptions(c.range(0, 2) == 0 ? 1f : temperature, c.pick(List.of(Reduction.values())),
                    parameter(c, List.of(1f, 0.5f, -2f, 0f, 1e30f, 3e38f, Float.MAX_VALUE)),
                    parameter(c, List.of(0.5f, 0f, 1f, 0.1f, 0.9f)), ignore,
                    parameter(c, List.of(0f, 0.1f, 1f)));
        } catch (IllegalArgumentException e) {
            checkMessage(e, "LossOptions");
        }
        float alpha = parameter(c, List.of(0.5f, 0f, 1f, 2f, 1e-6f, 0.999f, 50f));
        SamplingFilters filters = filters(c, temperature, cols);
        int k = c.range(0, 9) == 0 ? c.pick(List.of(0, -1, cols + 1, Integer.MAX_VALUE)) : c.range(1, Math.max(1, cols));
        int capacity = c.range(0, 9) == 0 ? 0 : c.range(1, Math.max(1, cols + 1));
        return new Call(op, rows, cols, layout, x, t, ints, temperature, options, alpha, c.bool(), filters, k, capacity,
                c.range(0, 1000), parameter(c, List.of(0.1f, 1f, 0.01f, 1e-4f, 0f)));
    }

    /** The values a half layout can hold (each rounded once to it; 70000 is +inf in f16): what the op reads. */
    private static float[] asLaidOut(Layout layout, float[] x) {
        if (layout.dtype().isHalf()) {
            for (int i = 0; i < x.length; i++) {
                x[i] = layout.dtype().widen(layout.dtype().narrow(x[i]));
            }
        }
        return x;
    }

    private static float parameter(Choices c, List<Float> usual) {
        return c.range(0, 15) == 0 ? c.anyFloat() : c.pick(usual);
    }

    private static float[] logits(Choices c, int n, int special, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            boolean sp = special > 0 && c.range(0, special == 1 ? 60 : 4) == 0;
            x[i] = sp ? (c.range(0, 7) == 0 ? c.anyFloat() : SPECIAL[c.range(0, SPECIAL.length - 1)])
                    : c.range(-3000, 3000) / 1000f * scale;
            if (!sp && c.range(0, 7) == 0 && i > 0) {
                x[i] = x[i - 1]; // ties
            }
        }
        return x;
    }

    private static SamplingFilters filters(Choices c, float temperature, int cols) {
        SamplingFilters f;
        try {
            f = SamplingFilters.temperature(c.range(0, 5) == 0 ? 0f : c.range(0, 2) == 0 ? 1f : temperature);
            int n = c.range(0, 3);
            for (int i = 0; i < n; i++) {
                f = switch (c.range(0, 3)) {
                    case 0 -> f.topK(c.range(0, 9) == 0 ? cols + 1 : c.range(1, Math.max(1, cols)));
                    case 1 -> f.topP(parameter(c, List.of(0.9f, 1f, 0.5f, Math.nextUp(0f), 1e-3f)));
                    case 2 -> f.minP(parameter(c, List.of(0.1f, 1f, 0.05f, Math.nextUp(0f))));
                    default -> f.topH(parameter(c, List.of(0.4f, 1f, 0.1f)), c.range(0, 3) == 0 ? c.range(0, 150) : 100,
                            c.pick(List.of(TopHMode.values())));
                };
            }
        } catch (IllegalArgumentException e) {
            checkMessage(e, "SamplingFilters");
            return null;
        }
        return f;
    }

    // ------------------------------------------------------------------ running it

    /** Runs {@code call} on {@code ek}; an exception other than a named IllegalArgumentException fails. */
    static Result run(Entrokit ek, Call call) {
        try {
            return execute(ek, call);
        } catch (IllegalArgumentException e) {
            checkMessage(e, call.toString());
            return new Result(e, Double.NaN, null);
        } catch (Throwable e) {
            throw new AssertionError(ek.backendName() + ": " + e + " escaped from " + call, e);
        }
    }

    /** A documented refusal names its argument first. */
    static void checkMessage(IllegalArgumentException e, String what) {
        if (e.getMessage() == null || !NAMED.matcher(e.getMessage()).matches()) {
            throw new AssertionError("IllegalArgumentException without an argument name: " + e + " from " + what, e);
        }
    }

    /** The logits (or the teacher's) as a tensor laid out per {@code call.layout()}, padding NaN. */
    static Tensor input(Call call, float[] dense) {
        Layout l = call.layout();
        long stride = call.cols() + l.extraStride();
        long span = call.rows() == 0 ? 0 : l.offset() + (call.rows() - 1) * Math.max(stride, call.cols()) + call.cols();
        float[] buf = new float[(int) Math.max(0, span + l.slack())];
        Arrays.fill(buf, Float.NaN);
        for (int r = 0; r < call.rows(); r++) {
            for (int i = 0; i < call.cols(); i++) {
                long at = l.offset() + r * stride + i;
                if (at >= 0 && at < buf.length) {
                    buf[(int) at] = dense[r * call.cols() + i];
                }
            }
        }
        MemorySegment seg = MemorySegment.ofArray(buf);
        if (l.dtype().isHalf()) {
            // Half layouts hold half patterns: the same elements, each rounded (exactly: the values are halves).
            short[] half = new short[buf.length];
            for (int i = 0; i < buf.length; i++) {
                half[i] = l.dtype().narrow(buf[i]);
            }
            seg = MemorySegment.ofArray(half);
        }
        if (l.readOnly()) {
            seg = seg.asReadOnly();
        }
        if (l == Layout.DENSE) {
            return Tensor.of(seg, DType.F32, call.rows(), call.cols());
        }
        return Tensor.strided(seg, l.dtype(), call.rows(), call.cols(), l.offset(), stride);
    }

    private static Result execute(Entrokit ek, Call call) {
        int rows = call.rows();
        int cols = call.cols();
        Tensor x = input(call, call.x());
        Tensor t = call.t() == null ? null : input(call, call.t());
        float[][] out = new float[rows][];
        double value = 0;
        switch (call.op()) {
            case SOFTMAX, LOG_SOFTMAX -> {
                float[] y = new float[rows * cols];
                if (call.op() == Op.SOFTMAX) {
                    ek.softmax(x, Tensor.of(y, rows, cols), call.temperature());
                } else {
                    ek.logSoftmax(x, Tensor.of(y, rows, cols), call.temperature());
                }
                split(y, cols, out, 0);
            }
            case LOG_SUM_EXP -> {
                float[] y = new float[rows];
                ek.logSumExp(x, Tensor.of(y), call.temperature());
                split(y, 1, out, 0);
            }
            case TOKEN_LOGPROB -> {
                float[] y = new float[rows];
                ek.tokenLogprob(x, Tensor.of(call.ints()), Tensor.of(y));
                split(y, 1, out, 0);
            }
            case TOP_K -> {
                int k = call.k();
                // Outputs of [rows, min(k, V)]: a k beyond V must be refused by name before the outputs are
                // looked at, and rows · k must not exhaust the harness's own heap (k reaches 2^31 − 1).
                int kOut = Math.max(0, Math.min(k, call.cols()));
                int[] idx = new int[rows * kOut];
                float[] vals = new float[idx.length];
                float[] probs = new float[idx.length];
                ek.decoding().topK(x, k, call.temperature(), Tensor.of(idx, rows, kOut), Tensor.of(vals, rows, kOut),
                        Tensor.of(probs, rows, kOut));
                split(ints(idx), k, out, 0);
                split(vals, k, out, k);
                split(probs, k, out, 2 * k);
            }
            case KEPT_MASK, MASK_LOGITS -> {
                if (call.op() == Op.KEPT_MASK) {
                    byte[] m = new byte[rows * cols];
                    ek.decoding().keptMask(x, call.filters(), Tensor.ofMask(m, rows, cols));
                    float[] f = new float[m.length];
                    for (int i = 0; i < m.length; i++) {
                        f[i] = m[i];
                    }
                    split(f, cols, out, 0);
                } else {
                    float[] y = new float[rows * cols];
                    ek.decoding().maskLogits(x, call.filters(), Tensor.of(y, rows, cols));
                    split(y, cols, out, 0);
                }
            }
            case KEPT_TOKENS -> {
                int cap = call.capacity();
                int[] idx = new int[rows * cap];
                float[] probs = new float[rows * cap];
                int[] counts = new int[rows];
                ek.decoding().keptTokens(x, call.filters(), Tensor.of(idx, rows, cap), Tensor.of(probs, rows, cap),
                        Tensor.of(counts));
                split(ints(counts), 1, out, 0);
                split(ints(idx), cap, out, 1);
                split(probs, cap, out, 1 + cap);
            }
            case SAMPLE -> {
                int[] tokens = new int[rows];
                long[] seeds = new long[rows];
                Arrays.setAll(seeds, r -> 0x5eed + 31L * r);
                ek.decoding().sample(x, call.filters(), seeds, call.step(), Tensor.of(tokens));
                split(ints(tokens), 1, out, 0);
            }
            case SINKHORN -> {
                // A small cost problem [rows, cols] (one problem), uniform marginals.
                SinkhornResult res = ek.transport().sinkhorn(x, null, null,
                        SinkhornOptions.defaults().epsilon(call.epsilon()).maxIter(50));
                value = res.cost()[0];
                out = new float[0][];
            }
            default -> value = loss(ek, call, x, t, out);
        }
        return new Result(null, value, out);
    }

    private static double loss(Entrokit ek, Call call, Tensor x, Tensor t, float[][] out) {
        int rows = call.rows();
        int cols = call.cols();
        float[] rowLoss = new float[rows];
        float[] grad = call.withGrad() && call.op() != Op.TV && call.op() != Op.HELLINGER ? new float[rows * cols] : null;
        Tensor rl = Tensor.of(rowLoss);
        Tensor g = grad == null ? null : Tensor.of(grad, rows, cols);
        LossOptions o = call.options();
        double value = switch (call.op()) {
            case ENTROPY -> ek.entropy(x, o, rl, g);
            case CROSS_ENTROPY -> ek.crossEntropy(t, x, o, rl, g);
            case CE_LABELS -> ek.crossEntropyLabels(Tensor.of(call.ints()), x, o, rl, g);
            case KL -> ek.kl(t, x, o, rl, g);
            case RKL -> ek.rkl(t, x, o, rl, g);
            case JSD -> ek.jsd(t, x, o, rl, g);
            case JEFFREYS -> ek.jeffreys(t, x, o, rl, g);
            case TV -> ek.tv(t, x, o, rl);
            case HELLINGER -> ek.hellinger(t, x, o, rl);
            case ALPHA -> ek.alphaDivergence(t, x, call.alpha(), o, rl, g);
            case RENYI -> ek.renyi(t, x, call.alpha(), o, rl, g);
            case CHI2 -> ek.chi2(t, x, o, rl, g);
            case PLD -> ek.pld(t, x, Tensor.of(call.ints()), o, rl, g);
            default -> throw new AssertionError(call.op());
        };
        split(rowLoss, 1, out, 0);
        if (grad != null) {
            split(grad, cols, out, 1);
        }
        return value;
    }

    private static float[] ints(int[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = a[i];
        }
        return f;
    }

    /** Appends each row's {@code width} values of {@code a} to {@code out[r]}, which holds {@code at} values already. */
    private static void split(float[] a, int width, float[][] out, int at) {
        for (int r = 0; r < out.length; r++) {
            float[] row = out[r] == null ? new float[0] : out[r];
            float[] grown = Arrays.copyOf(row, at + width);
            System.arraycopy(a, r * width, grown, at, width);
            out[r] = grown;
        }
    }

    // ------------------------------------------------------------------ invariants

    /** The invariants every returned result keeps (see the class comment). */
    static void check(Call call, Result res, String backend) {
        if (res.refused() != null) {
            return;
        }
        String at = backend + " " + call.op();
        for (int r = 0; r < res.rows().length; r++) { // no per-row outputs for Sinkhorn
            float[] o = res.rows()[r];
            if (call.clean(r) && !call.op().selection()) {
                boolean infiniteLoss = call.op().loss() && Float.isInfinite(o[0]);
                int checked = call.op().alphaFamily() && infiniteLoss ? 1 : o.length;
                for (int i = 0; i < checked; i++) {
                    if (Float.isNaN(o[i])) {
                        fail(at + ": NaN at output " + i + " of clean row " + r + " in " + call);
                    }
                }
            }
            // A special row (NaN, +inf, all -inf) keeps nothing, by its own documented outputs.
            if (call.op().selection() && SelectionReference.probs(call.x(), r * call.cols(), call.cols(), 1) != null) {
                checkMasked(call, r, o, at);
            }
        }
        if (call.op() == Op.SINKHORN && allClean(call)) {
            assertTrue(!Double.isNaN(res.value()), () -> at + ": NaN cost on a clean problem " + call);
        }
    }

    private static boolean allClean(Call call) {
        for (int r = 0; r < call.rows(); r++) {
            if (!call.clean(r)) {
                return false;
            }
        }
        return true;
    }

    private static void checkMasked(Call call, int r, float[] o, String at) {
        int cols = call.cols();
        float[] x = Arrays.copyOfRange(call.x(), r * cols, (r + 1) * cols);
        List<Integer> picked = new ArrayList<>();
        switch (call.op()) {
            case KEPT_MASK -> {
                for (int i = 0; i < cols; i++) {
                    if (o[i] != 0) {
                        picked.add(i);
                    }
                }
            }
            case MASK_LOGITS -> {
                for (int i = 0; i < cols; i++) {
                    if (x[i] == Float.NEGATIVE_INFINITY) {
                        assertEquals(Float.NEGATIVE_INFINITY, o[i], () -> at + ": masked token unmasked, row " + r + " " + call);
                    }
                }
            }
            case KEPT_TOKENS -> {
                int n = Math.min((int) o[0], call.capacity());
                for (int j = 0; j < n; j++) {
                    picked.add((int) o[1 + j]);
                }
            }
            case SAMPLE -> {
                if (o[0] >= 0) {
                    picked.add((int) o[0]);
                }
            }
            case TOP_K -> {
                int live = 0;
                for (float v : x) {
                    live += v == Float.NEGATIVE_INFINITY ? 0 : 1;
                }
                for (int j = 0; j < Math.min(call.k(), live); j++) {
                    picked.add((int) o[j]);
                }
            }
            default -> {
            }
        }
        for (int i : picked) {
            assertTrue(i >= 0 && i < cols, () -> at + ": index " + i + " outside the row, row " + r + " " + call);
            assertTrue(x[i] != Float.NEGATIVE_INFINITY, () -> at + ": masked token " + i + " kept, row " + r + " " + call);
        }
    }

    /** Compares a result with the float64 oracles where SPEC §5 decides it. */
    static void checkOracle(Call call, Result res, String backend) {
        if (res.refused() != null) {
            return;
        }
        int cols = call.cols();
        for (int r = 0; r < res.rows().length; r++) { // no per-row outputs for Sinkhorn
            float[] o = res.rows()[r];
            double[] x = Float64Oracle.widen(call.x(), r * cols, cols);
            double[] t = call.t() == null ? null : Float64Oracle.widen(call.t(), r * cols, cols);
            String at = backend + " " + call.op() + " row " + r + " of " + call;
            double temp = call.temperature();
            double lt = call.options().temperature();
            double g = call.options().gradScale() * gradWeight(call);
            double scale = g / lt;
            switch (call.op()) {
                case SOFTMAX -> Spec5.check(Spec5.Kind.PROB, o, 0, Float64Oracle.softmax(x, temp), at);
                case LOG_SOFTMAX -> Spec5.check(Spec5.Kind.LOG, o, 0, Float64Oracle.logSoftmax(x, temp), at);
                case LOG_SUM_EXP -> Spec5.check(Spec5.Kind.LOG, o[0], Float64Oracle.logSumExp(x, temp), at);
                case TOKEN_LOGPROB -> Spec5.check(Spec5.Kind.LOG, o[0], ScoringOracle.tokenLogprob(x, call.ints()[r]), at);
                case ENTROPY -> lossAndGrad(o, Float64Oracle.entropy(x, lt), Float64Oracle.entropyGrad(x, lt, g), scale, at);
                case CROSS_ENTROPY -> lossAndGrad(o, Float64Oracle.crossEntropy(t, x, lt), Float64Oracle.qMinusPGrad(t, x, lt, g), scale, at);
                case KL -> lossAndGrad(o, Float64Oracle.kl(t, x, lt), Float64Oracle.qMinusPGrad(t, x, lt, g), scale, at);
                case RKL -> lossAndGrad(o, Float64Oracle.rkl(t, x, lt), Float64Oracle.rklGrad(t, x, lt, g), scale, at);
                case JSD -> lossAndGrad(o, Float64Oracle.jsd(t, x, call.options().beta(), lt),
                        Float64Oracle.jsdGrad(t, x, call.options().beta(), lt, g), scale, at);
                case JEFFREYS -> lossAndGrad(o, Float64Oracle.jeffreys(t, x, lt), Float64Oracle.jeffreysGrad(t, x, lt, g), scale, at);
                case TV -> Spec5.check(Spec5.Kind.LOSS, o[0], Float64Oracle.tv(t, x, lt), at);
                case HELLINGER -> Spec5.check(Spec5.Kind.LOSS, o[0], Float64Oracle.hellinger(t, x, lt), at);
                case CE_LABELS -> lossAndGrad(o, Float64Oracle.crossEntropyLabelRow(x, call.ints()[r], call.options().ignoreIndex(),
                                call.options().labelSmoothing(), lt), Float64Oracle.crossEntropyLabelGrad(x, call.ints()[r],
                                call.options().ignoreIndex(), call.options().labelSmoothing(), lt, g), scale, at);
                case ALPHA -> alphaFamily(o[0], t, x, ScoringOracle.amari(t, x, call.alpha(), lt), at);
                case RENYI -> alphaFamily(o[0], t, x, ScoringOracle.renyi(t, x, call.alpha(), lt), at);
                case CHI2 -> alphaFamily(o[0], t, x, ScoringOracle.chi2(t, x, lt), at);
                case PLD -> {
                    int y = call.ints()[r];
                    if (y != call.options().ignoreIndex()) {
                        Spec5.check(Spec5.Kind.LOSS, o[0], special(t, x) ? Double.NaN : ScoringOracle.pld(t, x, y, lt), at);
                    }
                }
                case KEPT_MASK -> {
                    if (SelectionReference.margin(call.x(), r * cols, cols, call.filters()) >= 1e-6
                            && !underflowTies(call.x(), r * cols, cols, call.filters().temperature())) {
                        boolean[] ref = SelectionReference.mask(call.x(), r * cols, cols, call.filters());
                        for (int i = 0; i < cols; i++) {
                            assertEquals(ref[i], o[i] != 0, at + ": mask at " + i);
                        }
                    }
                }
                case SAMPLE -> {
                    if (call.filters().temperature() == 0) {
                        // Greedy: the first maximum (every filter keeps it), or -1 for a special row.
                        int want = -1;
                        float best = Float.NEGATIVE_INFINITY;
                        for (int i = 0; i < cols; i++) {
                            float z = call.x()[r * cols + i];
                            if (Float.isNaN(z) || z == Float.POSITIVE_INFINITY) {
                                want = -1;
                                break;
                            }
                            if (z > best) {
                                best = z;
                                want = i;
                            }
                        }
                        int expected = want;
                        assertEquals(expected, (int) o[0], () -> at + ": greedy");
                    } else if (call.filters().temperature() > 0 && SelectionReference.margin(call.x(), r * cols, cols, call.filters()) >= 1e-6) {
                        List<Integer> kept = SelectionReference.kept(call.x(), r * cols, cols, call.filters());
                        int token = (int) o[0];
                        assertTrue(kept.isEmpty() ? token == -1 : kept.contains(token), () -> at + ": sampled " + token + ", kept " + kept);
                    }
                }
                case TOP_K -> {
                    if (SelectionReference.probs(call.x(), r * cols, cols, 1) != null) {
                        List<Integer> order = SelectionReference.logitOrder(call.x(), r * cols, cols);
                        for (int j = 0; j < call.k(); j++) {
                            assertEquals(order.get(j), (int) o[j], at + ": top-k position " + j);
                        }
                    }
                }
                default -> {
                }
            }
        }
    }

    /**
     * Whether two different logits of the row get the same float64 probability (both underflow to 0):
     * SelectionReference then orders them by index where SPEC §2 orders them by logit.
     */
    private static boolean underflowTies(float[] x, int off, int n, float temperature) {
        double[] p = SelectionReference.probs(x, off, n, temperature);
        if (p == null) {
            return false;
        }
        List<Integer> idx = SelectionReference.logitOrder(x, off, n);
        for (int j = 1; j < n; j++) {
            if (p[idx.get(j)] == p[idx.get(j - 1)] && x[off + idx.get(j)] != x[off + idx.get(j - 1)]) {
                return true;
            }
        }
        return false;
    }

    /** The per-row factor of the upstream gradient under the call's reduction. */
    private static double gradWeight(Call call) {
        int counted = call.rows();
        if (call.ints() != null && (call.op() == Op.CE_LABELS || call.op() == Op.PLD)) {
            counted = (int) Arrays.stream(call.ints()).filter(y -> y != call.options().ignoreIndex()).count();
        }
        return switch (call.options().reduction()) {
            case NONE, SUM -> 1;
            case MEAN -> counted == 0 ? 0 : 1.0 / counted;
            case BATCHMEAN -> call.rows() == 0 ? 0 : 1.0 / call.rows();
        };
    }

    /**
     * ScoringOracle leaves special rows to the caller (SPEC §1 makes them NaN rows). It works from the
     * log-probabilities, so its infinities are the true values' (a student-masked token under a live
     * teacher token at {@code α > 1}, or a sum beyond float64) and are compared like any other value.
     */
    private static void alphaFamily(float out, double[] t, double[] x, double ref, String at) {
        Spec5.check(Spec5.Kind.LOSS, out, special(t, x) ? Double.NaN : ref, at);
    }

    private static boolean special(double[] t, double[] x) {
        return Float64Oracle.invalid(t) || Float64Oracle.invalid(x);
    }

    /**
     * The loss within SPEC §5, and the gradient within its gradient tolerance. That tolerance's absolute
     * term is for a unit upstream gradient: a gradient scaled by {@code |s| = |g/T| > 1} carries
     * {@code |s|} times the float32 rounding of its probabilities, so the absolute term scales with it
     * (for {@code |s| ≤ 1} the check is SPEC §5's as written). Where that band reaches past float's range
     * (an entry that is 0 in exact arithmetic, computed as a difference whose float64 rounding times
     * {@code |s| = 1e68} is 1e51), the float rounding of a value inside it, {@code ±inf}, is inside it too;
     * and a reference beyond float's range is met by {@code ±inf} or by any value within the band (JSD's
     * exact 0 where the float64 oracle's rounding left 5.5e-18 of a unit gradient, scaled by 3.7e75).
     */
    private static void lossAndGrad(float[] o, double loss, double[] grad, double scale, String at) {
        Spec5.check(Spec5.Kind.LOSS, o[0], loss, at + " loss");
        if (o.length <= 1) {
            return;
        }
        if (Math.abs(scale) <= 1) {
            Spec5.check(Spec5.Kind.GRAD, o, 1, grad, at + " grad");
            return;
        }
        for (int i = 0; i < grad.length; i++) {
            double out = o[1 + i];
            double ref = grad[i];
            double slack = 1e-6 * Math.abs(scale) + 1e-5 * Math.abs(ref);
            boolean ok = Double.isNaN(ref) ? Double.isNaN(out) : Math.abs(out - ref) <= slack || beyondFloat(out, ref, slack);
            if (!ok) {
                fail(at + " grad at " + i + ": got " + out + ", expected " + ref + " (scale " + scale + ")");
            }
        }
    }

    /** Whether {@code out} is the infinity that a value within {@code slack} of {@code ref} rounds to in float. */
    private static boolean beyondFloat(double out, double ref, double slack) {
        return out == Double.POSITIVE_INFINITY ? ref + slack > Float.MAX_VALUE
                : out == Double.NEGATIVE_INFINITY && ref - slack < -Float.MAX_VALUE;
    }
}
