package dev.entrokit.internal;

import dev.entrokit.DType;
import dev.entrokit.Tensor;
import dev.entrokit.internal.scalar.ScalarHalfKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;

/**
 * Every decision about BF16 and F16 tensors on the CPU in one place: the kernels read and write float32
 * rows, so a half row is widened (exactly) into a per-thread float32 buffer before its kernel runs, and a
 * half output is written by the kernel into such a buffer and narrowed once (round to nearest even) at
 * the store. A float32 tensor passes through untouched. Hence the result of an op on a half tensor is
 * bitwise the result of the same op on the float32 tensor holding the widened values (half outputs: that
 * result rounded once), on every backend, width and thread count.
 *
 * <p>Use: {@code Rows x = HalfRows.of(logits, 0)} once per call on the caller, then in the row task
 * {@code kernel(x.read(r), x.at(r), …)} for an input and {@code kernel(…, o.write(r), o.at(r), …); o.store(r)}
 * for an output (a read-modify-write row: {@code read}, then {@code store}). Each tensor of one call takes
 * its own {@code slot}, so that two half arguments of a row never share a buffer. A backend with a kernel
 * that reads halves in registers replaces the generic path of an op at its call site, where
 * {@link Rows#half()} says the tensor is half.
 *
 * <p>Buffers are native (the SIMD kernels store into native segments without staging), per thread and per
 * slot, grown to the longest row seen and then reused: a row allocates nothing in steady state.
 */
public final class HalfRows {
    /** Slots per thread: the most half tensors one row of any op touches. */
    static final int SLOTS = 6;
    /** The buffers a kernel widens its rows into itself ({@link #kernelRow}), past the callers' slots. */
    private static final int KERNEL_SLOT = SLOTS;
    /** Kernel buffers per thread: a teacher/student pair. */
    private static final int KERNEL_SLOTS = 2;
    private static final ThreadLocal<MemorySegment[]> BUFFERS =
            ThreadLocal.withInitial(() -> new MemorySegment[SLOTS + KERNEL_SLOTS]);

    private HalfRows() {
    }

    /**
     * The rows of {@code t} (any dtype; only BF16 and F16 are converted) using buffer {@code slot} of each thread,
     * converted by the scalar backend's loops. A call site that knows its backend passes that backend's
     * {@link dev.entrokit.internal.Backend#half()} to {@link #of(Tensor, int, Supplier)} instead (the SIMD backend
     * converts whole vectors at a time); the bits are the same either way.
     */
    public static Rows of(Tensor t, int slot) {
        return of(t, slot, () -> ScalarHalfKernels.INSTANCE);
    }

    /**
     * The rows of {@code t} (any dtype; only BF16 and F16 are converted) using buffer {@code slot} of each thread,
     * widened and narrowed by {@code conversions.get()} ({@link HalfKernels#widen}, {@link HalfKernels#narrow}: bitwise
     * the same on every backend, only their speed differs). The supplier is asked only when {@code t} is half, once:
     * for a backend that hands off during its warm-up, {@code backend::half} reads its readiness, and a float32 call
     * must read it no more often than before.
     */
    public static Rows of(Tensor t, int slot, Supplier<HalfKernels> conversions) {
        if (slot < 0 || slot >= SLOTS) {
            throw new IllegalStateException("entrokit: internal error, half buffer slot " + slot);
        }
        if (t == null) {
            return null;
        }
        return new Rows(t, slot, t.dtype().isHalf() ? conversions.get() : ScalarHalfKernels.INSTANCE);
    }

    /**
     * The kernels that read {@code t}'s rows in registers ({@code half.get()}, asked once per call) when {@code t}
     * is BF16, else null: F16 and F32 rows take the generic path. F16 stays on the widened copy in these ops
     * (greedy, token log-probabilities, the decoding steps) because its in-register kernels measured 0.63–0.84× the
     * F32 kernel (the full conversion, with its fix-up of ±inf and NaN, costs more than the bytes it saves at one
     * thread), and because a JVM that ran both half types through one kernel that branched on the type boxed its
     * vectors (43–148 MB per call): with BF16 alone the kernels allocate nothing. The softmax family has its own
     * rule ({@link #softmaxInRegister}).
     */
    public static HalfKernels inRegister(Tensor t, Supplier<HalfKernels> half) {
        return t.dtype() == DType.BF16 ? half.get() : null;
    }

    /**
     * {@link #inRegister} for the softmax family, the entropy without a gradient and the token log-probabilities
     * ({@link HalfKernels#logSumExp}, {@code softmax}, {@code logSoftmax}, {@code softmaxStats}, {@code entropy},
     * {@code tokenLogprob}): BF16 and F16 rows. The SIMD
     * backend gives each type its own exp loops, binary16's with a three-operation read (the general conversion's
     * rebias folded into the loop's first fma, no fix-up of ±inf and NaN) on rows without NaN or {@code +inf}, and
     * widens the other F16 rows inside the kernel: F16 went from 0.74–0.90× the F32 kernel on the copy to 0.94–1.15×
     * (32 × 128256, one thread, {@code bench/results/f16-softmax-2026-12-07.md}).
     */
    public static HalfKernels softmaxInRegister(Tensor t, Supplier<HalfKernels> half) {
        return t.dtype().isHalf() ? half.get() : null;
    }

    /**
     * This thread's native float32 buffer for a kernel that widens a half row itself (a typed
     * {@link SelectionKernels} method on a row it does not read in registers), holding at least {@code n} floats.
     * It is none of the callers' slots, so a call site's own widened rows stay intact; the kernel must be done with
     * it before it returns.
     */
    public static MemorySegment kernelRow(int n) {
        return kernelRow(0, n);
    }

    /**
     * This thread's native float32 kernel buffer {@code which} (0 or 1: a kernel that widens both rows of a
     * teacher/student pair itself), holding at least {@code n} floats; as {@link #kernelRow(int)}, whose buffer is 0.
     */
    public static MemorySegment kernelRow(int which, int n) {
        if (which < 0 || which >= KERNEL_SLOTS) {
            throw new IllegalStateException("entrokit: internal error, kernel buffer " + which);
        }
        return buffer(KERNEL_SLOT + which, n);
    }

    /**
     * The element type in which a pair loss reads the rows of {@code teacher} and {@code student} in registers:
     * {@link DType#BF16} when both are BF16, else null (the generic path: F32 rows, F16 rows and mixed dtypes are
     * widened per row as above). The backend's typed {@link DivergenceKernels} methods then get the tensors' own
     * segments. F16 stays on the copy for the reason given at {@link #inRegister}: its conversion costs more per
     * element than the bytes it saves, and it would be paid in every pass that reads the row.
     */
    public static DType pairInRegister(Tensor teacher, Tensor student) {
        return teacher != null && teacher.dtype() == DType.BF16 && student.dtype() == DType.BF16 ? DType.BF16 : null;
    }

    /** This thread's float32 buffer {@code slot}, holding at least {@code n} floats. */
    static MemorySegment buffer(int slot, long n) {
        MemorySegment[] mine = BUFFERS.get();
        MemorySegment b = mine[slot];
        if (b == null || b.byteSize() < n * 4) {
            long floats = Math.max(n, b == null ? 0 : b.byteSize() / 4 * 2);
            b = Arena.ofAuto().allocate(Math.max(64, floats * 4), 64);
            mine[slot] = b;
        }
        return b;
    }

    /** Fills row {@code r} of an output with +0 in its own dtype (an ignored row's gradient). */
    public static void zero(Tensor t, long r) {
        long size = t.dtype().byteSize();
        t.segment().asSlice(t.index(r, 0) * size, t.cols() * size).fill((byte) 0);
    }

    /**
     * A float32 copy of a whole float tensor of any shape, for the ops that read their float inputs whole
     * rather than row by row (optimal transport, the speculative sampler, shard states): {@code t} itself
     * when it is F32, else a new contiguous F32 tensor with the widened values.
     */
    public static Tensor widened(Tensor t) {
        if (t == null || !t.dtype().isHalf()) {
            return t;
        }
        long[] shape = t.shape();
        long count = t.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("entrokit: a half tensor of " + count + " elements is too large to widen");
        }
        float[] out = new float[(int) count];
        MemorySegment dst = MemorySegment.ofArray(out);
        long batch = t.batch();
        long rows = t.rows();
        long cols = t.cols();
        long at = 0;
        for (long b = 0; b < batch; b++) {
            for (long r = 0; r < rows; r++) {
                ScalarHalfKernels.INSTANCE.widen(t.dtype(), t.segment(),
                        t.offset() + b * t.batchStride() + r * t.rowStride(), dst, at, (int) cols);
                at += cols;
            }
        }
        return Tensor.of(dst, DType.F32, shape);
    }

    /** A tensor's rows as float32 kernel arguments; see the class comment. */
    public static final class Rows {
        private final Tensor t;
        private final int slot;
        private final DType dtype;
        private final boolean half;
        private final HalfKernels conversions;

        private Rows(Tensor t, int slot, HalfKernels conversions) {
            this.t = t;
            this.slot = slot;
            this.conversions = conversions;
            this.dtype = t.dtype();
            this.half = dtype.isHalf();
        }

        /** Whether the tensor is BF16 or F16 (its rows go through this thread's buffer). */
        public boolean half() {
            return half;
        }

        /** The tensor. */
        public Tensor tensor() {
            return t;
        }

        /** The segment holding row {@code r} as float32: the tensor's own, or this thread's buffer with the row widened. */
        public MemorySegment read(long r) {
            return read(r, 0, t.cols());
        }

        /** As {@link #read(long)} for elements {@code [col, col + len)} of row {@code r} (widened to buffer element 0). */
        public MemorySegment read(long r, long col, long len) {
            if (!half) {
                return t.segment();
            }
            MemorySegment b = buffer(slot, len);
            conversions.widen(dtype, t.segment(), t.index(r, col), b, 0, Math.toIntExact(len));
            return b;
        }

        /** The element offset of row {@code r} in the segment {@link #read}/{@link #write} return. */
        public long at(long r) {
            return half ? 0 : t.index(r, 0);
        }

        /** The element offset of element {@code col} of row {@code r} in the segment {@link #read(long, long, long)} returns. */
        public long at(long r, long col) {
            return half ? 0 : t.index(r, col);
        }

        /** The segment a kernel writes row {@code r} into: the tensor's own, or this thread's buffer. */
        public MemorySegment write(long r) {
            return half ? buffer(slot, t.cols()) : t.segment();
        }

        /** Publishes row {@code r} after a kernel wrote it through {@link #write} (or changed it after {@link #read}). */
        public void store(long r) {
            if (half) {
                conversions.narrow(dtype, buffer(slot, t.cols()), 0, t.segment(), t.index(r, 0), Math.toIntExact(t.cols()));
            }
        }
    }
}
