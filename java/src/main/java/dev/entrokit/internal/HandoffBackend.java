package dev.entrokit.internal;

import dev.entrokit.DType;
import dev.entrokit.SamplingFilters;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * What an {@code auto} instance runs while the SIMD kernels warm up (SPEC §6): each kernel call goes
 * to the {@code cold} backend (scalar, the reference) until {@code ready} says the {@code hot} one is
 * compiled, then to {@code hot} for good. The choice is made per kernel call, that is per row, so a
 * call running at the moment of the switch may answer some rows from each; every row is one
 * backend's whole answer, within SPEC §5 of the reference either way.
 *
 * <p>It carries the hot backend's name: that is the backend the instance was asked for and runs once
 * warm. An explicit backend request never gets one of these.
 */
public final class HandoffBackend implements Backend {
    private final Backend hot;
    private final Backend cold;
    private final BooleanSupplier ready;
    private final SoftmaxKernels softmax = new Softmax();
    private final DivergenceKernels divergences = new Divergences();
    private final SelectionKernels selection = new Selection();
    private final ScoringKernels scoring = new Scoring();
    private final SinkhornSolver transport = new Transport();

    private final CallGauge calls;

    /** Calls go to {@code cold} until {@code ready} is true, then to {@code hot}. */
    public HandoffBackend(Backend hot, Backend cold, BooleanSupplier ready) {
        this(hot, cold, ready, new CallGauge());
    }

    /**
     * Calls go to {@code cold} until {@code ready} is true, then to {@code hot}; {@code calls} counts the calls
     * running through {@link #rowScope()}, so that whatever makes {@code hot} ready can stay out of their way.
     */
    public HandoffBackend(Backend hot, Backend cold, BooleanSupplier ready, CallGauge calls) {
        this.hot = hot;
        this.cold = cold;
        this.ready = ready;
        this.calls = calls;
    }

    /**
     * The row scope an instance on this backend runs its calls in: each call is {@link #pin pinned} to one backend
     * and counted in the {@link CallGauge} from its first row to its last.
     */
    public RowExecutor.RowScope rowScope() {
        return new RowExecutor.RowScope() {
            @Override
            public RowExecutor.RowTask wrap(RowExecutor.RowTask task) {
                return pin(task);
            }

            @Override
            public void begin() {
                calls.begin();
            }

            @Override
            public void end() {
                calls.end();
            }
        };
    }

    /** Whether calls have switched to the hot backend. */
    public boolean switched() {
        return ready.getAsBoolean();
    }

    /** The backend of the call whose row this thread is running, if {@link #pin} set one. */
    private final ThreadLocal<Backend> pinned = new ThreadLocal<>();

    private Backend now() {
        Backend p = pinned.get();
        return p != null ? p : ready.getAsBoolean() ? hot : cold;
    }

    /**
     * The rows of one call, each run with the backend the call started on (read once, here): a batch never mixes
     * the scalar and the SIMD kernels, whatever the moment the warm-up ends and whatever the thread count.
     */
    public RowExecutor.RowTask pin(RowExecutor.RowTask task) {
        Backend b = now();
        return r -> {
            Backend outer = pinned.get();
            pinned.set(b);
            try {
                task.run(r);
            } finally {
                if (outer == null) {
                    pinned.remove();
                } else {
                    pinned.set(outer);
                }
            }
        };
    }

    @Override
    public String name() {
        return hot.name();
    }

    @Override
    public boolean available() {
        return hot.available();
    }

    @Override
    public List<String> reasons() {
        return hot.reasons();
    }

    @Override
    public String description() {
        return switched() ? hot.description()
                : hot.description() + "; answering with the " + cold.name() + " kernels until its warm-up is done";
    }

    @Override
    public SoftmaxKernels softmax() {
        return softmax;
    }

    @Override
    public DivergenceKernels divergences() {
        return divergences;
    }

    @Override
    public SelectionKernels selection() {
        return selection;
    }

    @Override
    public ScoringKernels scoring() {
        return scoring;
    }

    @Override
    public SinkhornSolver transport() {
        return transport;
    }

    /** Read once per call by {@code ShardStates} (the per-shard halves of the partial states). */
    @Override
    public PartialStateKernels partialStates() {
        return now().partialStates();
    }

    /** Read once per call by its driver (policy and sparse-teacher losses). */
    @Override
    public PolicyKernels policy() {
        return now().policy();
    }

    /** Read once per call by its driver; the race gives the same tokens on either backend. */
    @Override
    public ShardKernels shards() {
        return now().shards();
    }

    /** Read once per call, as {@link #policy}: one call's rows all come from one backend. */
    @Override
    public HalfKernels half() {
        return now().half();
    }
    private final class Softmax implements SoftmaxKernels {
        @Override
        public double logSumExp(MemorySegment x, long xOff, int n, float invT) {
            return now().softmax().logSumExp(x, xOff, n, invT);
        }

        @Override
        public void softmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
            now().softmax().softmax(x, xOff, out, outOff, n, invT);
        }

        @Override
        public void logSoftmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT) {
            now().softmax().logSoftmax(x, xOff, out, outOff, n, invT);
        }

        @Override
        public void softmaxStats(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT,
                                 boolean log, double[] stats) {
            now().softmax().softmaxStats(x, xOff, out, outOff, n, invT, log, stats);
        }

        @Override
        public double logSumExp(MemorySegment x, long xOff, int n, float invT, RowSplit split) {
            return now().softmax().logSumExp(x, xOff, n, invT, split);
        }

        @Override
        public void softmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT,
                            RowSplit split) {
            now().softmax().softmax(x, xOff, out, outOff, n, invT, split);
        }

        @Override
        public void logSoftmax(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT,
                               RowSplit split) {
            now().softmax().logSoftmax(x, xOff, out, outOff, n, invT, split);
        }

        @Override
        public void softmaxStats(MemorySegment x, long xOff, MemorySegment out, long outOff, int n, float invT,
                                 boolean log, double[] stats, RowSplit split) {
            now().softmax().softmaxStats(x, xOff, out, outOff, n, invT, log, stats, split);
        }

        @Override
        public void softmaxBackward(MemorySegment p, long pOff, MemorySegment dy, long dyOff, MemorySegment dx,
                                    long dxOff, int n, float invT) {
            now().softmax().softmaxBackward(p, pOff, dy, dyOff, dx, dxOff, n, invT);
        }

        @Override
        public void logSoftmaxBackward(MemorySegment y, long yOff, MemorySegment dy, long dyOff, MemorySegment dx,
                                       long dxOff, int n, float invT) {
            now().softmax().logSoftmaxBackward(y, yOff, dy, dyOff, dx, dxOff, n, invT);
        }

        @Override
        public double entropy(MemorySegment x, long xOff, int n, float invT, MemorySegment grad, long gradOff,
                              float gradScale) {
            return now().softmax().entropy(x, xOff, n, invT, grad, gradOff, gradScale);
        }
    }

    private final class Divergences implements DivergenceKernels {
        @Override
        public double crossEntropy(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                                   MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().crossEntropy(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }

        @Override
        public double crossEntropyLabel(MemorySegment s, long sOff, int n, int label, float smoothing, float invT,
                                        MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().crossEntropyLabel(s, sOff, n, label, smoothing, invT, grad, gradOff, gradScale);
        }

        @Override
        public double kl(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                         MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().kl(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }

        @Override
        public double rkl(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                          MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().rkl(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }

        @Override
        public double jsd(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float beta,
                          MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().jsd(t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }

        @Override
        public double jeffreys(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                               MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().jeffreys(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }

        @Override
        public double tv(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT) {
            return now().divergences().tv(t, tOff, s, sOff, n, invT);
        }

        @Override
        public double hellinger(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT) {
            return now().divergences().hellinger(t, tOff, s, sOff, n, invT);
        }
    
        @Override
        public double alphaDivergence(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                                      float alpha, MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().alphaDivergence(t, tOff, s, sOff, n, invT, alpha, grad, gradOff, gradScale);
        }

        @Override
        public double renyi(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, float alpha,
                            MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().renyi(t, tOff, s, sOff, n, invT, alpha, grad, gradOff, gradScale);
        }

        @Override
        public double chi2(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                           MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().chi2(t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }

        @Override
        public double pld(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, int label, float invT,
                          MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().pld(t, tOff, s, sOff, n, label, invT, grad, gradOff, gradScale);
        }

        @Override
        public double crossEntropy(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                                   MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().crossEntropy(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }

        @Override
        public double kl(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                         MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().kl(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }

        @Override
        public double rkl(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                          MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().rkl(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }

        @Override
        public double jsd(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                          float beta, MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().jsd(type, t, tOff, s, sOff, n, invT, beta, grad, gradOff, gradScale);
        }

        @Override
        public double jeffreys(DType type, MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                               MemorySegment grad, long gradOff, float gradScale) {
            return now().divergences().jeffreys(type, t, tOff, s, sOff, n, invT, grad, gradOff, gradScale);
        }
    }

    private final class Selection implements SelectionKernels {
        @Override
        public void topK(MemorySegment x, long xOff, int n, float temperature, int k, MemorySegment indices,
                         long indicesOff, MemorySegment values, long valuesOff, MemorySegment probs, long probsOff) {
            now().selection().topK(x, xOff, n, temperature, k, indices, indicesOff, values, valuesOff, probs, probsOff);
        }

        @Override
        public int keptMask(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment mask, long maskOff) {
            return now().selection().keptMask(x, xOff, n, f, mask, maskOff);
        }

        @Override
        public int keptTokens(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment indices,
                              long indicesOff, MemorySegment probs, long probsOff, int capacity) {
            return now().selection().keptTokens(x, xOff, n, f, indices, indicesOff, probs, probsOff, capacity);
        }

        @Override
        public void maskLogits(MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment out, long outOff) {
            now().selection().maskLogits(x, xOff, n, f, out, outOff);
        }

        @Override
        public void maskLogits(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, DType outType,
                               MemorySegment out, long outOff) {
            now().selection().maskLogits(type, x, xOff, n, f, outType, out, outOff);
        }

        @Override
        public int sample(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step) {
            return now().selection().sample(x, xOff, n, f, seed, row, step);
        }

        @Override
        public int sample(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row, long step,
                          double[] prob, int at) {
            return now().selection().sample(x, xOff, n, f, seed, row, step, prob, at);
        }

        @Override
        public void topK(DType type, MemorySegment x, long xOff, int n, float temperature, int k, MemorySegment indices,
                         long indicesOff, MemorySegment values, long valuesOff, MemorySegment probs, long probsOff) {
            now().selection().topK(type, x, xOff, n, temperature, k, indices, indicesOff, values, valuesOff, probs,
                    probsOff);
        }

        @Override
        public int keptMask(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment mask,
                            long maskOff) {
            return now().selection().keptMask(type, x, xOff, n, f, mask, maskOff);
        }

        @Override
        public int keptTokens(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, MemorySegment indices,
                              long indicesOff, MemorySegment probs, long probsOff, int capacity) {
            return now().selection().keptTokens(type, x, xOff, n, f, indices, indicesOff, probs, probsOff, capacity);
        }

        @Override
        public int sample(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row,
                          long step) {
            return now().selection().sample(type, x, xOff, n, f, seed, row, step);
        }

        @Override
        public int sample(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row,
                          long step, RowSplit split) {
            return now().selection().sample(type, x, xOff, n, f, seed, row, step, split);
        }

        @Override
        public int countAtLeast(MemorySegment x, long xOff, int n, float value) {
            return now().selection().countAtLeast(x, xOff, n, value);
        }

        @Override
        public int sample(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row,
                          long step, double[] prob, int at) {
            return now().selection().sample(type, x, xOff, n, f, seed, row, step, prob, at);
        }

        @Override
        public int sampleConstrained(DType type, MemorySegment x, long xOff, int n, SamplingFilters f, long seed,
                                     int row, long step, java.util.function.IntPredicate allowed, double[] stats,
                                     int at) {
            return now().selection().sampleConstrained(type, x, xOff, n, f, seed, row, step, allowed, stats, at);
        }

        @Override
        public int countAtLeast(DType type, MemorySegment x, long xOff, int n, float value) {
            return now().selection().countAtLeast(type, x, xOff, n, value);
        }

        @Override
        public int sampleConstrained(MemorySegment x, long xOff, int n, SamplingFilters f, long seed, int row,
                                     long step, java.util.function.IntPredicate allowed, double[] stats, int at) {
            return now().selection().sampleConstrained(x, xOff, n, f, seed, row, step, allowed, stats, at);
        }
    }

    private final class Scoring implements ScoringKernels {
        @Override
        public double tokenLogprob(MemorySegment x, long xOff, int n, int id) {
            return now().scoring().tokenLogprob(x, xOff, n, id);
        }

        @Override
        public void tokenLogprobMoments(MemorySegment x, long xOff, int n, int id, double[] out) {
            now().scoring().tokenLogprobMoments(x, xOff, n, id, out);
        }

        @Override
        public void contrastive(MemorySegment x, long xOff, MemorySegment lame, long lameOff, MemorySegment out,
                                long outOff, int n, float lambda, double u, float threshold) {
            now().scoring().contrastive(x, xOff, lame, lameOff, out, outOff, n, lambda, u, threshold);
        }

        @Override
        public void injectPrior(MemorySegment x, long xOff, MemorySegment prior, long priorOff, MemorySegment out,
                                long outOff, int n, float lambda) {
            now().scoring().injectPrior(x, xOff, prior, priorOff, out, outOff, n, lambda);
        }
    }

    /** One Sinkhorn problem is opened, and iterated, by one backend. */
    private final class Transport extends SinkhornSolver {
        @Override
        protected Passes open(TransportProblem problem, int p, boolean balanced, double minEpsilon) {
            return now().transport().open(problem, p, balanced, minEpsilon);
        }
    }
}
