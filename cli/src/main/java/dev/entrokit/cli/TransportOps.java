package dev.entrokit.cli;

import dev.entrokit.Entrokit;
import dev.entrokit.SinkhornOptions;
import dev.entrokit.SinkhornResult;
import dev.entrokit.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code eval} calls of the transport ops (SPEC §3). A rank-3 input is a batch of problems, a rank-2
 * one a single problem whose outputs drop the batch axis. Sinkhorn's outputs are float64 ({@code <f8}):
 * the solver returns them so, and a float32 plan would lose what a float64 reference checks.
 */
final class TransportOps {
    private TransportOps() {
    }

    /** {@code sinkhorn}: {@code cost} or {@code x} + {@code y}, optional {@code a}, {@code b}. */
    static EvalOp.Call sinkhorn(Entrokit ek, OpInputs in, EvalSettings s) {
        SinkhornOptions o = options(s);
        Problem p = Problem.of(in, s);
        long[] batch = p.batchShape();
        Map<String, NpyArray> outs = new LinkedHashMap<>();
        int planSize = o.plan() ? size("plan", p.batch, p.n, p.m) : 0;
        NpyArray.Float64 f = new NpyArray.Float64(append(batch, p.n), new double[size("f", p.batch, p.n)]);
        NpyArray.Float64 g = new NpyArray.Float64(append(batch, p.m), new double[size("g", p.batch, p.m)]);
        NpyArray.Float64 cost = new NpyArray.Float64(batch, new double[p.batch]);
        NpyArray.Float64 objective = new NpyArray.Float64(batch, new double[p.batch]);
        NpyArray.Int32 iterations = new NpyArray.Int32(batch, new int[p.batch]);
        NpyArray.Float64 error = new NpyArray.Float64(batch, new double[p.batch]);
        outs.put("f", f);
        outs.put("g", g);
        outs.put("cost", cost);
        outs.put("objective", objective);
        outs.put("iterations", iterations);
        outs.put("marginal_error", error);
        NpyArray.Float64 plan = o.plan() ? new NpyArray.Float64(append(append(batch, p.n), p.m), new double[planSize])
                : null;
        if (plan != null) {
            outs.put("plan", plan);
        }
        return new EvalOp.Call(() -> {
            SinkhornResult r = p.solve(ek, o);
            System.arraycopy(r.f(), 0, f.data(), 0, r.f().length);
            System.arraycopy(r.g(), 0, g.data(), 0, r.g().length);
            System.arraycopy(r.cost(), 0, cost.data(), 0, p.batch);
            System.arraycopy(r.objective(), 0, objective.data(), 0, p.batch);
            System.arraycopy(r.iterations(), 0, iterations.data(), 0, p.batch);
            System.arraycopy(r.marginalError(), 0, error.data(), 0, p.batch);
            if (plan != null) {
                System.arraycopy(r.plan(), 0, plan.data(), 0, r.plan().length);
            }
        }, outs);
    }

    /** {@code sinkhorn_divergence}: {@code x}, {@code y}, optional {@code a}, {@code b}. */
    static EvalOp.Call divergence(Entrokit ek, OpInputs in, EvalSettings s) {
        SinkhornOptions o = options(s);
        Problem p = Problem.of(in, s);
        NpyArray.Float64 out = new NpyArray.Float64(p.batchShape(), new double[p.batch]);
        return new EvalOp.Call(() -> System.arraycopy(ek.transport().sinkhornDivergence(p.x, p.y,
                s.transport().metric(), p.a, p.b, o),
                0, out.data(), 0, p.batch), Map.of("divergence", out));
    }

    /** {@code sinkd}: teacher and student logits {@code [B, V]} → the loss (shape {@code ()}) and its gradient. */
    static EvalOp.Call sinkd(Entrokit ek, OpInputs in, EvalSettings s) {
        LogitRows[] ts = in.teacherStudent();
        if (ts[1].shape().length != 2) {
            throw new UserException("student: expected [B, V] logits, got shape " + NpyArray.shapeString(ts[1].shape()));
        }
        var o = wrap(() -> s.transport().sinkd(s.has(Setting.TEMPERATURE) ? s.loss().temperature() : null));
        NpyArray.Float32 loss = new NpyArray.Float32(new long[0], new float[1]);
        NpyArray.Float32 grad = ts[1].newLike();
        Map<String, NpyArray> outs = new LinkedHashMap<>();
        outs.put("loss", loss);
        outs.put("grad", grad);
        return new EvalOp.Call(() -> loss.data()[0] = (float) ek.transport().sinkd(ts[0].tensor(), ts[1].tensor(), o,
                Tensor.of(grad.data(), ts[1].rows(), ts[1].cols())), outs);
    }

    /**
     * The element count of output {@code name} of shape {@code dims}, refused by name before anything
     * is allocated when no Java array can hold it (a plan of a large batch, say).
     */
    private static int size(String name, long... dims) {
        long n = 1;
        for (long d : dims) {
            n *= d; // at most three factors below 2^31 each, checked as they grow: no overflow
            if (n > Npy.MAX_ELEMENTS) {
                throw new UserException(name + ": an output of shape " + Arrays.toString(dims) + " holds more than "
                        + Npy.MAX_ELEMENTS + " elements" + ("plan".equals(name) ? "; leave plan=false or split the batch"
                        : ""));
            }
        }
        return (int) n;
    }

    private static SinkhornOptions options(EvalSettings s) {
        return wrap(() -> s.transport().sinkhorn());
    }

    /** Options that combine two settings (e.g. epsilon_start against epsilon) are checked here. */
    private static <T> T wrap(java.util.function.Supplier<T> build) {
        try {
            return build.get();
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        }
    }

    private static long[] append(long[] shape, long last) {
        long[] s = Arrays.copyOf(shape, shape.length + 1);
        s[shape.length] = last;
        return s;
    }

    /** The inputs of one call as tensors: a cost, or two point clouds; marginals or null. */
    private record Problem(Tensor cost, Tensor x, Tensor y, Tensor a, Tensor b, boolean batched, int batch, int n, int m,
                           dev.entrokit.Metric metric) {

        static Problem of(OpInputs in, EvalSettings s) {
            if (in.has("x") != in.has("y")) {
                throw new UserException("points: x and y go together (--in x=... --in y=...)");
            }
            Tensor cost = null;
            Tensor x = null;
            Tensor y = null;
            long[] shape;
            int m;
            if (in.has("cost")) {
                NpyArray.Float32 c = floats(in, "cost", 2, 3);
                shape = c.shape();
                cost = tensor(c);
                m = (int) shape[shape.length - 1];
            } else {
                NpyArray.Float32 xs = floats(in, "x", 2, 3);
                NpyArray.Float32 ys = floats(in, "y", 2, 3);
                shape = xs.shape();
                x = tensor(xs);
                y = tensor(ys);
                m = (int) ys.shape()[0 + ys.shape().length - 2];
            }
            boolean batched = shape.length == 3;
            int batch = batched ? (int) shape[0] : 1;
            int n = (int) shape[shape.length - 2];
            Tensor a = in.has("a") ? tensor(floats(in, "a", 1, 2)) : null;
            Tensor b = in.has("b") ? tensor(floats(in, "b", 1, 2)) : null;
            return new Problem(cost, x, y, a, b, batched, batch, n, m, s.transport().metric());
        }

        SinkhornResult solve(Entrokit ek, SinkhornOptions o) {
            return cost != null ? ek.transport().sinkhorn(cost, a, b, o) : ek.transport().sinkhorn(x, y, metric, a, b,
                    o);
        }

        /** {@code [B]} for a batch, {@code []} for one problem. */
        long[] batchShape() {
            return batched ? new long[] {batch} : new long[0];
        }

        private static NpyArray.Float32 floats(OpInputs in, String name, int minRank, int maxRank) {
            NpyArray arr = in.arrays().get(name);
            if (!(OpInputs.floats(arr) instanceof NpyArray.Float32 f)) {
                throw new UserException(name + ": expected floats (<f4, <f8 or <f2), got " + arr.descr());
            }
            if (f.shape().length < minRank || f.shape().length > maxRank) {
                throw new UserException(name + ": expected rank " + minRank + " to " + maxRank + ", got shape "
                        + NpyArray.shapeString(f.shape()));
            }
            return f;
        }

        private static Tensor tensor(NpyArray.Float32 f) {
            long[] s = f.shape();
            return switch (s.length) {
                case 1 -> Tensor.of(f.data());
                case 2 -> Tensor.of(f.data(), (int) s[0], (int) s[1]);
                default -> Tensor.of(f.data(), (int) s[0], (int) s[1], (int) s[2]);
            };
        }
    }
}
