package dev.entrokit.cuda;

import dev.entrokit.DType;
import dev.entrokit.Loss;
import dev.entrokit.LossOptions;
import dev.entrokit.Metric;
import dev.entrokit.Reduction;
import dev.entrokit.SamplingFilters;
import dev.entrokit.SinkhornOptions;
import dev.entrokit.internal.Checks;
import dev.entrokit.internal.cuda.NativeCuda;
import dev.entrokit.internal.cuda.ffi.EntrokitH;
import dev.entrokit.internal.cuda.ffi.ek_filter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The CUDA twins of the SPEC §1–§3 kernels, on device tensors, queued on a stream (asynchronous:
 * synchronize the stream, or copy a result to the host, before reading). Every argument is checked
 * here before the native call: dtypes (logits and same-shaped outputs in F32, BF16 or F16; per-row
 * values F32), shapes, and for every output that it has room for the result. What the host API also
 * takes (temperatures, top-k counts, sampling pipelines) is checked by the host's own checks, with
 * its messages, so the two APIs accept the same values.
 *
 * <p>Gradients are scaled by {@code gradScale / T}, as the host kernels are (the façade passes
 * {@code 1/rows} for a mean reduction).
 */
public final class CudaKernels {
    private CudaKernels() {
    }

    // ---------------------------------------------------------------- SPEC §1

    public static void logSumExp(DeviceTensor x, DeviceTensor lse, float temperature, CudaStream stream) {
        logits("x", x);
        rowValues("lse", lse, x.rows());
        float invT = Checks.invTemperature(temperature);
        call("ek_logsumexp", EntrokitH.ek_logsumexp(x.pointer(), x.rowStride(), lse.pointer(), x.rows(), x.cols(),
                code(x.dtype()), invT, stream.handle()));
    }

    public static void softmax(DeviceTensor x, DeviceTensor out, float temperature, CudaStream stream) {
        logits("x", x);
        like("out", out, "x", x);
        float invT = Checks.invTemperature(temperature);
        call("ek_softmax", EntrokitH.ek_softmax(x.pointer(), x.rowStride(), out.pointer(), out.rowStride(), x.rows(),
                x.cols(), code(x.dtype()), invT, stream.handle()));
    }

    public static void logSoftmax(DeviceTensor x, DeviceTensor out, float temperature, CudaStream stream) {
        logits("x", x);
        like("out", out, "x", x);
        float invT = Checks.invTemperature(temperature);
        call("ek_log_softmax", EntrokitH.ek_log_softmax(x.pointer(), x.rowStride(), out.pointer(), out.rowStride(),
                x.rows(), x.cols(), code(x.dtype()), invT, stream.handle()));
    }

    public static void softmaxBackward(DeviceTensor p, DeviceTensor dy, DeviceTensor dx, float temperature,
                                       CudaStream stream) {
        logits("p", p);
        like("dy", dy, "p", p);
        like("dx", dx, "p", p);
        float invT = Checks.invTemperature(temperature);
        call("ek_softmax_backward", EntrokitH.ek_softmax_backward(p.pointer(), p.rowStride(), dy.pointer(),
                dy.rowStride(), dx.pointer(), dx.rowStride(), p.rows(), p.cols(), code(p.dtype()), invT,
                stream.handle()));
    }

    public static void logSoftmaxBackward(DeviceTensor y, DeviceTensor dy, DeviceTensor dx, float temperature,
                                          CudaStream stream) {
        logits("y", y);
        like("dy", dy, "y", y);
        like("dx", dx, "y", y);
        float invT = Checks.invTemperature(temperature);
        call("ek_log_softmax_backward", EntrokitH.ek_log_softmax_backward(y.pointer(), y.rowStride(), dy.pointer(),
                dy.rowStride(), dx.pointer(), dx.rowStride(), y.rows(), y.cols(), code(y.dtype()), invT,
                stream.handle()));
    }

    /**
     * A loss of the op table per row into {@code rowLoss} (F32, one per row), with the gradient w.r.t. the
     * student into {@code grad} (may be null; must be null where {@code op.hasGradient()} is false), read as
     * {@code Entrokit.loss} reads them: {@code teacher} and {@code labels} (I32, one per row) where
     * {@code op.reads()} says so, else null; temperature, parameter (β, α), ignore index and label
     * smoothing from {@code options}. The rows are not reduced here (that would wait for the device): the
     * gradient is the one of {@code options.reduction()} over the per-row values, its upstream gradient
     * divided by the rows for {@code MEAN} and {@code BATCHMEAN}; {@code MEAN} over labels, whose count of
     * counted rows is on the device, is refused.
     *
     * @throws IllegalArgumentException for the losses without a CUDA kernel (the α-family, χ², PLD: run
     *                                  them on host tensors), and for arguments the host would refuse
     */
    public static void loss(Loss op, DeviceTensor teacher, DeviceTensor student, DeviceTensor labels,
                            LossOptions options, DeviceTensor rowLoss, DeviceTensor grad, CudaStream stream) {
        Checks.notNull("op", op);
        Checks.notNull("options", options);
        String name = op.studentName();
        logits(name, student);
        if (op.readsTeacher()) {
            like("teacher", teacher, name, student);
        } else if (teacher != null) {
            throw new IllegalArgumentException("teacher: " + op + " reads no teacher; pass null");
        }
        if (op.readsLabels()) {
            if (labels == null || labels.dtype() != DType.I32 || labels.elementCount() != student.rows()
                    || !labels.contiguous()) {
                throw new IllegalArgumentException("labels: expected " + student.rows() + " contiguous I32 values, got "
                        + labels);
            }
        } else if (labels != null) {
            throw new IllegalArgumentException("labels: " + op + " reads no labels; pass null");
        }
        rowValues("rowLoss", rowLoss, student.rows());
        optionalLike("grad", grad, name, student);
        if (grad != null && !op.hasGradient()) {
            throw new IllegalArgumentException("grad: " + op + " has no gradient; pass null");
        }
        if (op.readsLabels() && options.reduction() == Reduction.MEAN) {
            throw new IllegalArgumentException("reduction: MEAN over labels is not offered on device tensors (the "
                    + "count of rows not ignored is on the device); use SUM or NONE and divide");
        }
        float g = switch (options.reduction()) {
            case NONE, SUM -> options.gradScale();
            case MEAN, BATCHMEAN -> student.rows() == 0 ? 0f : (float) ((double) options.gradScale() / student.rows());
        };
        float invT = Checks.invTemperature(options.temperature());
        MemorySegment t = ptr(teacher);
        MemorySegment s = student.pointer();
        long ts = teacher == null ? student.cols() : teacher.rowStride();
        long ss = student.rowStride();
        long rows = student.rows();
        long cols = student.cols();
        int dt = code(student.dtype());
        MemorySegment out = rowLoss.pointer();
        MemorySegment gp = ptr(grad);
        long gs = stride(grad, student);
        MemorySegment none = MemorySegment.NULL;
        MemorySegment st = stream.handle();
        switch (op) {
            case ENTROPY -> call("ek_entropy", EntrokitH.ek_entropy(s, ss, out, gp, gs, g, none, rows, cols, dt, invT, st));
            case CROSS_ENTROPY -> call("ek_cross_entropy", EntrokitH.ek_cross_entropy(t, ts, s, ss, out, gp, gs, g, none,
                    rows, cols, dt, invT, st));
            case CROSS_ENTROPY_LABELS -> call("ek_cross_entropy_labels", EntrokitH.ek_cross_entropy_labels(s, ss,
                    labels.pointer(), options.ignoreIndex(), options.labelSmoothing(), out, gp, gs, g, none, rows, cols,
                    dt, invT, st));
            case KL -> call("ek_kl", EntrokitH.ek_kl(t, ts, s, ss, out, gp, gs, g, none, rows, cols, dt, invT, st));
            case RKL -> call("ek_rkl", EntrokitH.ek_rkl(t, ts, s, ss, out, gp, gs, g, none, rows, cols, dt, invT, st));
            case JSD -> call("ek_jsd", EntrokitH.ek_jsd(t, ts, s, ss, options.beta(), out, gp, gs, g, none, rows, cols,
                    dt, invT, st));
            case JEFFREYS -> call("ek_jeffreys", EntrokitH.ek_jeffreys(t, ts, s, ss, out, gp, gs, g, none, rows, cols, dt,
                    invT, st));
            case TV -> call("ek_tv", EntrokitH.ek_tv(t, ts, s, ss, out, rows, cols, dt, invT, st));
            case HELLINGER -> call("ek_hellinger", EntrokitH.ek_hellinger(t, ts, s, ss, out, rows, cols, dt, invT, st));
            // A loss added to the op table runs on host tensors until it has an ek_* kernel and a case here.
            default -> throw new IllegalArgumentException("op: " + op
                    + " has no CUDA kernel yet; run it on host tensors (Entrokit.loss)");
        }
    }

    /**
     * Entropy per row into {@code h} (F32, one per row); {@code grad} may be null.
     *
     * @deprecated {@link #loss} with {@link Loss#ENTROPY} and a {@link LossOptions} (the option type the host uses)
     */
    @Deprecated(since = "0.2")
    public static void entropy(DeviceTensor x, DeviceTensor h, DeviceTensor grad, float temperature, float gradScale,
                               CudaStream stream) {
        loss(Loss.ENTROPY, null, x, null, LossOptions.defaults().temperature(temperature).gradScale(gradScale), h,
                grad, stream);
    }

    /**
     * Which two-distribution op.
     *
     * @deprecated the op table {@link Loss}, which {@link #loss} takes; {@link #loss()} maps each constant there
     */
    @Deprecated(since = "0.2")
    public enum Divergence {
        CROSS_ENTROPY, KL, RKL, JEFFREYS, JSD, TV, HELLINGER;

        /** The same op in the op table. */
        public Loss loss() {
            return Loss.valueOf(name());
        }
    }

    /**
     * A per-row divergence between {@code softmax(teacher/T)} and {@code softmax(student/T)} into
     * {@code loss} (F32, one per row), with the gradient w.r.t. the student into {@code grad} (may be
     * null; must be null for TV and Hellinger). {@code beta} is used by JSD only.
     *
     * @deprecated {@link #loss} with the {@link Loss} constant and a {@link LossOptions}
     */
    @Deprecated(since = "0.2")
    public static void divergence(Divergence op, DeviceTensor teacher, DeviceTensor student, float beta,
                                  DeviceTensor loss, DeviceTensor grad, float temperature, float gradScale,
                                  CudaStream stream) {
        Checks.notNull("op", op);
        // Checked before the options are built, so that the message names the argument as it did.
        Checks.temperature(temperature);
        LossOptions o = LossOptions.defaults().temperature(temperature).gradScale(gradScale)
                .beta(op == Divergence.JSD ? beta : LossOptions.defaults().beta());
        loss(op.loss(), teacher, student, null, o, loss, grad, stream);
    }

    /**
     * Label cross entropy; {@code labels} is I32 with one label per row.
     *
     * @deprecated {@link #loss} with {@link Loss#CROSS_ENTROPY_LABELS} and a {@link LossOptions}
     */
    @Deprecated(since = "0.2")
    public static void crossEntropyLabels(DeviceTensor student, DeviceTensor labels, int ignoreIndex, float smoothing,
                                          DeviceTensor loss, DeviceTensor grad, float temperature, float gradScale,
                                          CudaStream stream) {
        Checks.temperature(temperature);
        loss(Loss.CROSS_ENTROPY_LABELS, null, student, labels, LossOptions.defaults().temperature(temperature)
                .gradScale(gradScale).ignoreIndex(ignoreIndex).labelSmoothing(smoothing), loss, grad, stream);
    }

    // ---------------------------------------------------------------- SPEC §2

    /** Top-k in SPEC order: {@code indices} I32 {@code [rows, k]}; {@code values} (dtype of x) and {@code probs} (F32) may be null. */
    public static void topK(DeviceTensor x, float temperature, int k, DeviceTensor indices, DeviceTensor values,
                            DeviceTensor probs, CudaStream stream) {
        logits("x", x);
        Checks.topK(k, x.cols());
        packed("indices", indices, DType.I32, x.rows(), k);
        if (values != null) {
            packed("values", values, x.dtype(), x.rows(), k);
        }
        if (probs != null) {
            packed("probs", probs, DType.F32, x.rows(), k);
        }
        Checks.temperature(temperature);
        call("ek_top_k", EntrokitH.ek_top_k(x.pointer(), x.rowStride(), x.rows(), x.cols(), code(x.dtype()), temperature,
                k, indices.pointer(), ptr(values), ptr(probs), stream.handle()));
    }

    /** The kept set as a BOOL mask shaped like {@code x}; {@code count} (I32, one per row) may be null. */
    public static void keptMask(DeviceTensor x, SamplingFilters f, DeviceTensor mask, DeviceTensor count,
                                CudaStream stream) {
        logits("x", x);
        if (mask.dtype() != DType.BOOL || mask.rows() != x.rows() || mask.cols() != x.cols()) {
            throw new IllegalArgumentException("mask: expected BOOL [" + x.rows() + ", " + x.cols() + "], got " + mask);
        }
        if (count != null) {
            packed("count", count, DType.I32, 1, x.rows());
        }
        Checks.filters(f, (int) x.cols(), false);
        try (Arena a = Arena.ofConfined()) {
            call("ek_kept_mask", EntrokitH.ek_kept_mask(x.pointer(), x.rowStride(), x.rows(), x.cols(), code(x.dtype()),
                    f.temperature(), filters(a, f, x.cols()), f.filters().size(), mask.pointer(), mask.rowStride(),
                    ptr(count), stream.handle()));
        }
    }

    /** {@code out} = x where kept, -inf elsewhere; {@code out} may be {@code x}. */
    public static void maskLogits(DeviceTensor x, SamplingFilters f, DeviceTensor out, CudaStream stream) {
        logits("x", x);
        like("out", out, "x", x);
        Checks.filters(f, (int) x.cols(), false);
        try (Arena a = Arena.ofConfined()) {
            call("ek_mask_logits", EntrokitH.ek_mask_logits(x.pointer(), x.rowStride(), out.pointer(), out.rowStride(),
                    x.rows(), x.cols(), code(x.dtype()), f.temperature(), filters(a, f, x.cols()), f.filters().size(),
                    stream.handle()));
        }
    }

    /**
     * One token per row into {@code tokens} (I32, one per row), Philox4x32-10 with key {@code seed} and
     * counter {@code (rowOffset + row, step)}, as the host backends; temperature 0 is greedy. (Per-row
     * seeds exist in the C ABI, {@code ek_sample}'s {@code seeds}, but not here yet: DType has no I64.)
     */
    public static void sample(DeviceTensor x, SamplingFilters f, long seed, int rowOffset, long step, DeviceTensor tokens,
                              CudaStream stream) {
        logits("x", x);
        packed("tokens", tokens, DType.I32, 1, x.rows());
        Checks.filters(f, (int) x.cols(), true);
        try (Arena a = Arena.ofConfined()) {
            call("ek_sample", EntrokitH.ek_sample(x.pointer(), x.rowStride(), x.rows(), x.cols(), code(x.dtype()),
                    f.temperature(), filters(a, f, x.cols()), f.filters().size(), seed, MemorySegment.NULL, rowOffset, step,
                    tokens.pointer(), stream.handle()));
        }
    }

    // ---------------------------------------------------------------- SPEC §3

    /** How the Sinkhorn cost is given. */
    public enum Cost { GIVEN, SQ_EUCLIDEAN, L1, L2 }

    /**
     * Outputs of {@link #sinkhorn}: {@code f} F32 {@code [batch, n]}, {@code g} F32 {@code [batch, m]},
     * {@code iterations} I32 {@code [1, batch]}, {@code error}, {@code cost}, {@code objective} F32
     * {@code [1, batch]}, {@code plan} F32 {@code [batch * n, m]} or null.
     */
    public record SinkhornOut(DeviceTensor f, DeviceTensor g, DeviceTensor iterations, DeviceTensor error,
                              DeviceTensor cost, DeviceTensor objective, DeviceTensor plan) {
    }

    /**
     * Batched log-domain Sinkhorn with uniform marginals, set up as on the host by a {@link SinkhornOptions}
     * (ε, iterations, tolerance, ρ, ε-annealing; {@code tol = 0} runs exactly {@code maxIter}). With
     * {@code metric == null}, {@code cost} is F32 {@code [batch * n, m]} and {@code x, y} are null; otherwise
     * {@code x} is {@code [batch * n, d]}, {@code y} {@code [batch * m, d]}, and {@code cost} is null.
     * {@code out.plan()} is given exactly when {@code options.plan()} is set.
     *
     * @throws IllegalArgumentException for what the kernel does not do: envelope gradients, a tolerance
     *                                  checked every {@code checkEvery > 1} iterations (the kernel checks
     *                                  every iteration: use {@code checkEvery(1)} or {@code tol(0)}), or a
     *                                  setting beyond float's range
     */
    public static void sinkhorn(DeviceTensor cost, DeviceTensor x, DeviceTensor y, Metric metric, int batch, int n,
                                int m, SinkhornOptions options, SinkhornOut out, CudaStream stream) {
        Checks.notNull("options", options);
        Checks.notNull("out", out);
        if (options.gradients()) {
            throw new IllegalArgumentException("gradients: the cuda kernel returns no envelope gradients; "
                    + "set gradients(false)");
        }
        if (options.plan() != (out.plan() != null)) {
            throw new IllegalArgumentException("plan: options.plan() is " + options.plan() + " but out.plan() is "
                    + (out.plan() == null ? "null" : "given"));
        }
        if (options.tol() > 0 && options.checkEvery() != 1) {
            throw new IllegalArgumentException("checkEvery: the cuda kernel checks the error every iteration, got "
                    + options.checkEvery() + "; set checkEvery(1), or tol(0) to run maxIter iterations");
        }
        if (metric == null && (x != null || y != null)) {
            throw new IllegalArgumentException("metric: required with point clouds x, y");
        }
        if (metric != null && cost != null) {
            throw new IllegalArgumentException("cost: must be null with point clouds (the metric computes it)");
        }
        Cost kind = metric == null ? Cost.GIVEN : switch (metric) {
            case SQEUCLIDEAN -> Cost.SQ_EUCLIDEAN;
            case L1 -> Cost.L1;
            case EUCLIDEAN -> Cost.L2;
        };
        float eps = floatSetting("epsilon", options.epsilon());
        float epsStart = options.epsilonStart() == 0 ? 0f : floatSetting("epsilonStart", options.epsilonStart());
        // The kernel's "balanced" is rho = 0; tol < 0 never stops early, as the host's tol = 0.
        float rho = options.unbalanced() ? floatSetting("rho", options.rho()) : 0f;
        float tol = options.tol() == 0 ? -1f : (float) options.tol();
        run(kind, cost, x, y, batch, n, m, eps, epsStart, (float) options.epsilonDecay(), rho, options.maxIter(), tol,
                out, stream);
    }

    /**
     * Batched log-domain Sinkhorn (uniform marginals, balanced, no annealing). With {@link Cost#GIVEN},
     * {@code cost} is F32 {@code [batch * n, m]} and {@code x, y} are null; otherwise {@code x} is
     * {@code [batch * n, d]}, {@code y} {@code [batch * m, d]} and {@code cost} is null. A problem stops
     * once its row-marginal L1 error is {@code <= tol}; {@code tol < 0} runs {@code maxIter} iterations.
     *
     * @deprecated the overload that takes a {@link Metric} (null for a given cost) and the host's
     *             {@link SinkhornOptions}
     */
    @Deprecated(since = "0.2")
    public static void sinkhorn(Cost kind, DeviceTensor cost, DeviceTensor x, DeviceTensor y, int batch, int n, int m,
                                float eps, int maxIter, float tol, SinkhornOut out, CudaStream stream) {
        run(kind, cost, x, y, batch, n, m, eps, 0f, 1f, 0f, maxIter, tol, out, stream);
    }

    private static void run(Cost kind, DeviceTensor cost, DeviceTensor x, DeviceTensor y, int batch, int n, int m,
                            float eps, float epsStart, float epsFactor, float rho, int maxIter, float tol, SinkhornOut out,
                            CudaStream stream) {
        if (batch < 0 || n < 1 || m < 1) {
            throw new IllegalArgumentException("sizes: batch >= 0, n >= 1, m >= 1, got " + batch + ", " + n + ", " + m);
        }
        long d = 0;
        if (kind == Cost.GIVEN) {
            packed("cost", cost, DType.F32, (long) batch * n, m);
        } else {
            if (x == null || y == null) {
                throw new IllegalArgumentException("x, y: required for " + kind);
            }
            d = x.cols();
            packed("x", x, DType.F32, (long) batch * n, d);
            packed("y", y, DType.F32, (long) batch * m, d);
        }
        packed("f", out.f(), DType.F32, batch, n);
        packed("g", out.g(), DType.F32, batch, m);
        packed("iterations", out.iterations(), DType.I32, 1, batch);
        packed("error", out.error(), DType.F32, 1, batch);
        packed("cost", out.cost(), DType.F32, 1, batch);
        packed("objective", out.objective(), DType.F32, 1, batch);
        if (out.plan() != null) {
            packed("plan", out.plan(), DType.F32, (long) batch * n, m);
        }
        call("ek_sinkhorn", EntrokitH.ek_sinkhorn(kind.ordinal(), ptr(cost), ptr(x), ptr(y), batch, n, m, d,
                MemorySegment.NULL, MemorySegment.NULL, eps, epsStart, epsFactor, rho, maxIter, tol, out.f().pointer(),
                out.g().pointer(), out.iterations().pointer(), out.error().pointer(), out.cost().pointer(),
                out.objective().pointer(), ptr(out.plan()), stream.handle()));
    }

    /** A double setting as the kernel's float: a value that rounds to 0 or to infinity there is refused by name. */
    private static float floatSetting(String name, double value) {
        float f = (float) value;
        if (!(f > 0) || Float.isInfinite(f)) {
            throw new IllegalArgumentException(name + ": " + value + " is beyond float's range, which the cuda kernel "
                    + "computes in");
        }
        return f;
    }

    // ---------------------------------------------------------------- checks

    private static void call(String name, int status) {
        NativeCuda.check(name, status);
    }

    /** The {@code ek_dtype} of a logit dtype. */
    static int code(DType d) {
        return switch (d) {
            case F32 -> EntrokitH.EK_F32();
            case BF16 -> EntrokitH.EK_BF16();
            case F16 -> EntrokitH.EK_F16();
            default -> throw new IllegalArgumentException("dtype: expected F32, BF16 or F16, got " + d);
        };
    }

    private static void logits(String name, DeviceTensor t) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": must not be null");
        }
        code(t.dtype());
        if (t.cols() < 1) {
            throw new IllegalArgumentException(name + ": needs at least one column, got " + t);
        }
        if (t.cols() > Integer.MAX_VALUE || t.rows() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + ": rows and cols must be < 2^31, got " + t);
        }
    }

    private static void like(String name, DeviceTensor t, String refName, DeviceTensor ref) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": must not be null");
        }
        if (t.dtype() != ref.dtype() || t.rows() != ref.rows() || t.cols() != ref.cols()) {
            throw new IllegalArgumentException(name + ": expected " + ref.dtype() + " [" + ref.rows() + ", " + ref.cols()
                    + "] like " + refName + ", got " + t);
        }
    }

    private static void optionalLike(String name, DeviceTensor t, String refName, DeviceTensor ref) {
        if (t != null) {
            like(name, t, refName, ref);
        }
    }

    private static void rowValues(String name, DeviceTensor t, long rows) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": must not be null");
        }
        if (t.dtype() != DType.F32 || t.elementCount() < rows || !t.contiguous()) {
            throw new IllegalArgumentException(name + ": expected " + rows + " contiguous F32 values, got " + t);
        }
    }

    private static void packed(String name, DeviceTensor t, DType dtype, long rows, long cols) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": must not be null");
        }
        if (t.dtype() != dtype || !t.contiguous() || t.elementCount() != rows * cols) {
            throw new IllegalArgumentException(name + ": expected contiguous " + dtype + " [" + rows + ", " + cols + "], got " + t);
        }
    }

    private static MemorySegment ptr(DeviceTensor t) {
        return t == null ? MemorySegment.NULL : t.pointer();
    }

    private static long stride(DeviceTensor t, DeviceTensor ref) {
        return t == null ? ref.cols() : t.rowStride();
    }

    private static MemorySegment filters(Arena a, SamplingFilters f, long cols) {
        int n = f.filters().size();
        if (n > 8) {
            throw new IllegalArgumentException("filters: at most 8 on the cuda backend, got " + n);
        }
        MemorySegment arr = ek_filter.allocateArray(Math.max(n, 1), a);
        for (int i = 0; i < n; i++) {
            SamplingFilters.Filter x = f.filters().get(i);
            MemorySegment e = ek_filter.asSlice(arr, i);
            int kind = switch (x.kind()) {
                case TOP_K -> EntrokitH.EK_FILTER_TOP_K();
                case TOP_P -> EntrokitH.EK_FILTER_TOP_P();
                case MIN_P -> EntrokitH.EK_FILTER_MIN_P();
                case TOP_H -> x.mode() == dev.entrokit.TopHMode.PAPER ? EntrokitH.EK_FILTER_TOP_H_PAPER()
                        : EntrokitH.EK_FILTER_TOP_H_NORMALIZED();
                default -> throw new IllegalArgumentException("filters: " + x.kind()
                        + " is not on the cuda backend yet (run it on a host backend)");
            };
            if (x.minKeep() > 1) {
                throw new IllegalArgumentException("min_tokens_to_keep: not on the cuda backend yet (run it on a host backend), got "
                        + x.minKeep() + " on " + x.kind());
            }
            if (x.kind() == SamplingFilters.Kind.TOP_K && (x.k() > cols || x.k() > 1024)) {
                throw new IllegalArgumentException("k: must be <= min(V, 1024) = " + Math.min(cols, 1024) + ", got " + x.k());
            }
            if (x.kind() == SamplingFilters.Kind.TOP_H && x.n() > 1024) {
                throw new IllegalArgumentException("n: top-H looks at most 1024 tokens on the cuda backend, got " + x.n());
            }
            ek_filter.kind(e, kind);
            ek_filter.k(e, x.k());
            ek_filter.value(e, x.value());
            ek_filter.n(e, x.n());
        }
        return arr;
    }
}
