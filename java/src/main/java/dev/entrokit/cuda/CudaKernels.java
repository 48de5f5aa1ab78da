package dev.entrokit.cuda;

import dev.entrokit.DType;
import dev.entrokit.SamplingFilters;
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

    /** Entropy per row into {@code h} (F32, one per row); {@code grad} may be null. */
    public static void entropy(DeviceTensor x, DeviceTensor h, DeviceTensor grad, float temperature, float gradScale,
                               CudaStream stream) {
        logits("x", x);
        rowValues("h", h, x.rows());
        optionalLike("grad", grad, "x", x);
        float invT = Checks.invTemperature(temperature);
        call("ek_entropy", EntrokitH.ek_entropy(x.pointer(), x.rowStride(), h.pointer(), ptr(grad), stride(grad, x),
                gradScale, MemorySegment.NULL, x.rows(), x.cols(), code(x.dtype()), invT, stream.handle()));
    }

    /** Which two-distribution op. */
    public enum Divergence { CROSS_ENTROPY, KL, RKL, JEFFREYS, JSD, TV, HELLINGER }

    /**
     * A per-row divergence between {@code softmax(teacher/T)} and {@code softmax(student/T)} into
     * {@code loss} (F32, one per row), with the gradient w.r.t. the student into {@code grad} (may be
     * null; must be null for TV and Hellinger). {@code beta} is used by JSD only.
     */
    public static void divergence(Divergence op, DeviceTensor teacher, DeviceTensor student, float beta,
                                  DeviceTensor loss, DeviceTensor grad, float temperature, float gradScale,
                                  CudaStream stream) {
        logits("student", student);
        like("teacher", teacher, "student", student);
        rowValues("loss", loss, student.rows());
        optionalLike("grad", grad, "student", student);
        if ((op == Divergence.TV || op == Divergence.HELLINGER) && grad != null) {
            throw new IllegalArgumentException("grad: " + op + " has no gradient; pass null");
        }
        if (op == Divergence.JSD && !(beta >= 0f && beta <= 1f)) {
            throw new IllegalArgumentException("beta: must be in [0, 1], got " + beta);
        }
        MemorySegment t = teacher.pointer();
        MemorySegment s = student.pointer();
        long ts = teacher.rowStride();
        long ss = student.rowStride();
        long rows = student.rows();
        long cols = student.cols();
        int dt = code(student.dtype());
        float k = Checks.invTemperature(temperature);
        MemorySegment g = ptr(grad);
        long gs = stride(grad, student);
        MemorySegment none = MemorySegment.NULL;
        MemorySegment st = stream.handle();
        switch (op) {
            case CROSS_ENTROPY -> call("ek_cross_entropy", EntrokitH.ek_cross_entropy(t, ts, s, ss, loss.pointer(), g, gs,
                    gradScale, none, rows, cols, dt, k, st));
            case KL -> call("ek_kl", EntrokitH.ek_kl(t, ts, s, ss, loss.pointer(), g, gs, gradScale, none, rows, cols, dt, k, st));
            case RKL -> call("ek_rkl", EntrokitH.ek_rkl(t, ts, s, ss, loss.pointer(), g, gs, gradScale, none, rows, cols, dt, k, st));
            case JEFFREYS -> call("ek_jeffreys", EntrokitH.ek_jeffreys(t, ts, s, ss, loss.pointer(), g, gs, gradScale, none,
                    rows, cols, dt, k, st));
            case JSD -> call("ek_jsd", EntrokitH.ek_jsd(t, ts, s, ss, beta, loss.pointer(), g, gs, gradScale, none, rows,
                    cols, dt, k, st));
            case TV -> call("ek_tv", EntrokitH.ek_tv(t, ts, s, ss, loss.pointer(), rows, cols, dt, k, st));
            case HELLINGER -> call("ek_hellinger", EntrokitH.ek_hellinger(t, ts, s, ss, loss.pointer(), rows, cols, dt, k, st));
        }
    }

    /** Label cross entropy; {@code labels} is I32 with one label per row. */
    public static void crossEntropyLabels(DeviceTensor student, DeviceTensor labels, int ignoreIndex, float smoothing,
                                          DeviceTensor loss, DeviceTensor grad, float temperature, float gradScale,
                                          CudaStream stream) {
        logits("student", student);
        if (labels.dtype() != DType.I32 || labels.elementCount() != student.rows() || !labels.contiguous()) {
            throw new IllegalArgumentException("labels: expected " + student.rows() + " contiguous I32 values, got " + labels);
        }
        if (!(smoothing >= 0f && smoothing <= 1f)) {
            throw new IllegalArgumentException("smoothing: must be in [0, 1], got " + smoothing);
        }
        rowValues("loss", loss, student.rows());
        optionalLike("grad", grad, "student", student);
        float invT = Checks.invTemperature(temperature);
        call("ek_cross_entropy_labels", EntrokitH.ek_cross_entropy_labels(student.pointer(), student.rowStride(),
                labels.pointer(), ignoreIndex, smoothing, loss.pointer(), ptr(grad), stride(grad, student), gradScale,
                MemorySegment.NULL, student.rows(), student.cols(), code(student.dtype()), invT,
                stream.handle()));
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
     * Batched log-domain Sinkhorn (uniform marginals, balanced, no annealing). With {@link Cost#GIVEN},
     * {@code cost} is F32 {@code [batch * n, m]} and {@code x, y} are null; otherwise {@code x} is
     * {@code [batch * n, d]}, {@code y} {@code [batch * m, d]} and {@code cost} is null. A problem stops
     * once its row-marginal L1 error is {@code <= tol}; {@code tol < 0} runs {@code maxIter} iterations.
     */
    public static void sinkhorn(Cost kind, DeviceTensor cost, DeviceTensor x, DeviceTensor y, int batch, int n, int m,
                                float eps, int maxIter, float tol, SinkhornOut out, CudaStream stream) {
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
                MemorySegment.NULL, MemorySegment.NULL, eps, 0f, 1f, 0f, maxIter, tol, out.f().pointer(),
                out.g().pointer(), out.iterations().pointer(), out.error().pointer(), out.cost().pointer(),
                out.objective().pointer(), ptr(out.plan()), stream.handle()));
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
