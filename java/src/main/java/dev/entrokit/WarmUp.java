package dev.entrokit;

import dev.entrokit.internal.Backend;
import dev.entrokit.internal.Backends;
import dev.entrokit.internal.CallGauge;
import dev.entrokit.internal.HandoffBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * The JVM-wide warm-up of the SIMD kernels (SPEC §6): Vector API code runs about 100× slower until
 * C2 has compiled it, so the first {@code auto} instance that would run SIMD kernels (or
 * {@link Entrokit#warmUp()}, or any SIMD instance under {@code wait}) starts one daemon thread that
 * calls every SIMD kernel family through a private one-thread instance, on small inputs, until the
 * timings settle. It feeds the kernels native segments only: fed heap and native ones alike (as it was until
 * 2026-12-08, so that a later switch between them would not deoptimize), the compiled kernels ran 2–4× slower on
 * native rows for good afterwards (32 × 128256, one thread, {@code wait} against {@code off}: top-p mask 5.6–6.5
 * against 2.6 ms, KL 25–28 against 7.9–8.8 ms, softmax 6.5–13 against 3.0–3.7 ms).
 *
 * <p>{@code -Dentrokit.warmup} (else {@code ENTROKIT_WARMUP}): {@code background} (default) starts
 * the thread for {@code auto} instances and lets them answer with the scalar kernels until it is
 * done; {@code wait} makes the creation of any SIMD instance block until it is done; {@code off}
 * starts nothing.
 *
 * <p>The warm-up stays out of the way of the calls it warms up for: it starts after the first hand-off call has
 * ended (or after {@link #FIRST_CALL_WAIT_NANOS} with none), and parks between its kernel calls while a hand-off
 * call runs, for {@link #STAND_ASIDE_NANOS} in all.
 */
final class WarmUp {
    static final String PROPERTY = "entrokit.warmup";
    static final String ENV = "ENTROKIT_WARMUP";

    /** What instance creation does about the warm-up. */
    enum Mode { BACKGROUND, WAIT, OFF }

    /**
     * Rounds always run. Measured with -XX:+PrintCompilation on the 2-core development machine while
     * ~18 other processes ran (2026-12-07): the kernels' first C2 (tier 4) versions arrived up to round
     * ~750, 95 % of them by round ~600, while a round's CPU time fell from 600 ms (interpreted) to
     * 15 ms. A round count, not a duration, is what carries over between loads: the warm-up thread and
     * the compiler threads share the cores alike on a busy machine and on a quiet one.
     */
    static final int MIN_ROUNDS = 600;
    /** Rounds per window of the settling check. */
    static final int WINDOW = 32;
    /**
     * Settled: the median CPU time of a round over the last {@link #WINDOW} rounds is no more than
     * {@code 1/SETTLED} better than over the window before (medians and CPU time, not wall time,
     * because the machines this runs on are shared and a wall-clock round can take 10× its CPU time).
     */
    static final double SETTLED = 0.9;
    /** However busy the machine, the warm-up stops after this many rounds (the SIMD kernels are then used as they are). */
    static final int MAX_ROUNDS = 3000;

    /**
     * How long, in all, the warm-up stands aside (parks between kernel calls) for the calls of {@code auto}
     * instances, which run on the scalar kernels meanwhile. Bounded, so that callers calling back to back still get
     * the SIMD kernels after at most this much delay.
     */
    static final long STAND_ASIDE_NANOS = 2_000_000_000L;
    /**
     * How long the warm-up waits at its start for a first call, before it starts without one. Its first round
     * (interpreted Vector API code, the SIMD classes' initialization, a burst of C1 compilations) is what slowed a
     * first call most: on the 2-core development machine (KL 256 × 32000, 2 threads, fresh JVMs, interleaved) an
     * {@code auto} instance's first call took 1.6× the scalar backend's own when the warm-up started at once, and
     * 1.5× when it only stood aside for calls already in flight (the call had not reached its rows before the
     * warm-up's first kernels ran). Waiting for the first call to end: 1.15× while the wait polled every 0.1 ms,
     * 1.0× polling every 1 ms (quiet machine, 10 runs each: scalar 150–213 ms, median 183; auto 152–198, median 184).
     */
    static final long FIRST_CALL_WAIT_NANOS = 200_000_000L;
    /** Calls of hand-off instances, JVM-wide (see {@link HandoffBackend#rowScope()}). */
    private static final CallGauge CALLS = new CallGauge();
    /** Time the warm-up has stood aside so far; only the warm-up thread touches it. */
    private static long stoodAside;

    private static final AtomicBoolean STARTED = new AtomicBoolean();
    private static final CountDownLatch DONE = new CountDownLatch(1);
    private static volatile boolean hot;
    private static volatile String outcome = "not started";

    private WarmUp() {
    }

    /**
     * The configured mode; {@code IllegalArgumentException} naming the setting for an unknown value.
     */
    static Mode mode() {
        String source = "-D" + PROPERTY;
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) {
            v = System.getenv(ENV);
            source = ENV;
        }
        if (v == null || v.isBlank()) {
            return Mode.BACKGROUND;
        }
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "background" -> Mode.BACKGROUND;
            case "wait" -> Mode.WAIT;
            case "off" -> Mode.OFF;
            default -> throw new IllegalArgumentException(source + ": unknown '" + v.trim()
                    + "', expected one of background, wait, off");
        };
    }

    /** Whether the warm-up has finished (or there is nothing to warm up). */
    static boolean hot() {
        return hot;
    }

    /** One line about the warm-up for {@code entrokit info}: the mode and how far it got. */
    static String describe() {
        return mode().name().toLowerCase(Locale.ROOT) + " (" + outcome + ")";
    }

    /**
     * The backend an instance created from {@code request} uses, given the backend {@code b} it
     * resolved to. When {@code b} runs SIMD kernels: under {@code wait}, starts the warm-up and waits
     * for it; under {@code background}, an {@code auto} request starts it and answers with the scalar
     * kernels until it is done. An explicit request always gets {@code b} itself, and under
     * {@code background} starts nothing: measured on the 2-core machine (load ~17, 2026-12-07), an
     * explicit simd instance's first KL call on 256 × 32000 took 20.1–20.9 s with the warm-up running
     * beside it and 8.7 s without, because the warm-up's compilations queue ahead of the caller's.
     */
    static Backend attach(Backend b, String request) {
        Mode mode = mode();
        if (mode == Mode.OFF || !runsSimd(b)) {
            return b;
        }
        if (mode == Mode.WAIT) {
            await();
            return b;
        }
        if (!"auto".equals(request) || hot) {
            return b;
        }
        start(true);
        return new HandoffBackend(b, Backends.byName("scalar"), WarmUp::hot, CALLS);
    }

    private static boolean runsSimd(Backend b) {
        if (b.name().equals("simd")) {
            return true;
        }
        // The cuda backend's host kernels are the simd ones when those load.
        return b.name().equals("cuda") && Backends.byName("simd").available()
                && b.softmax() == Backends.byName("simd").softmax();
    }

    /**
     * Starts the warm-up thread once per JVM; with no SIMD backend there is nothing to do. {@code forCalls}: started
     * for an {@code auto} instance, whose first call the warm-up then waits for ({@link #FIRST_CALL_WAIT_NANOS}); from
     * {@link #await} (a caller blocked on it, no call to wait for) it starts at once.
     */
    static void start(boolean forCalls) {
        if (!STARTED.compareAndSet(false, true)) {
            return;
        }
        Backend simd = Backends.byName("simd");
        if (!simd.available()) {
            finish("nothing to do: simd unavailable");
            return;
        }
        outcome = "running";
        Thread.ofPlatform().daemon().name("entrokit-warmup").start(() -> run(simd, forCalls));
    }

    /** Starts the warm-up if needed and waits for it, uninterruptibly (an interrupt is kept for the caller). */
    static void await() {
        start(false);
        boolean interrupted = false;
        while (true) {
            try {
                DONE.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Parks the warm-up thread until the first hand-off call has ended, or {@link #FIRST_CALL_WAIT_NANOS} has passed
     * with none started, within the stand-aside budget.
     */
    private static void awaitFirstCall() {
        long start = System.nanoTime();
        while (stoodAside < STAND_ASIDE_NANOS && CALLS.ended() == 0
                && (CALLS.inFlight() > 0 || System.nanoTime() - start < FIRST_CALL_WAIT_NANOS)) {
            park();
        }
    }

    /** Parks the warm-up thread while a hand-off instance's call runs, within the stand-aside budget. */
    private static void standAside() {
        while (stoodAside < STAND_ASIDE_NANOS && CALLS.inFlight() > 0) {
            park();
        }
    }

    /** Once a millisecond: a 0.1 ms poll cost the first call 15 % (the measurement above). */
    private static void park() {
        long a = System.nanoTime();
        LockSupport.parkNanos(1_000_000);
        stoodAside += System.nanoTime() - a;
    }

    private static void finish(String what) {
        outcome = what;
        hot = true;
        DONE.countDown();
    }

    private static void run(Backend simd, boolean forCalls) {
        long t0 = System.nanoTime();
        if (forCalls) {
            awaitFirstCall();
        }
        String what;
        try (Arena arena = Arena.ofConfined(); Entrokit ek = Entrokit.on(simd, 1)) {
            List<Inputs> sets = new ArrayList<>();
            for (int[] shape : new int[][] {{3, 401}, {2, 2053}}) {
                sets.add(new Inputs(shape[0], shape[1], arena));
            }
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            boolean cpu = mx.isCurrentThreadCpuTimeSupported();
            long[] times = new long[MAX_ROUNDS];
            int rounds = 0;
            boolean settled = false;
            while (rounds < MAX_ROUNDS && !settled) {
                long a = cpu ? mx.getCurrentThreadCpuTime() : System.nanoTime();
                for (Inputs in : sets) {
                    in.round(ek, rounds);
                }
                times[rounds] = (cpu ? mx.getCurrentThreadCpuTime() : System.nanoTime()) - a;
                rounds++;
                settled = rounds >= MIN_ROUNDS && settled(times, rounds);
            }
            what = (settled ? "done" : "stopped unsettled") + " after " + rounds + " rounds, "
                    + String.format(Locale.ROOT, "%.2f s", (System.nanoTime() - t0) / 1e9);
        } catch (RuntimeException | Error e) {
            // A kernel defect shows in the caller's own calls and the tests; the warm-up only stops.
            what = "failed: " + e;
        }
        finish(what);
    }

    /**
     * Whether the median of the last {@link #WINDOW} of the first {@code rounds} times is at least
     * {@link #SETTLED} times the median of the window before it (no longer falling).
     */
    static boolean settled(long[] times, int rounds) {
        if (rounds < 2 * WINDOW) {
            return false;
        }
        return median(times, rounds - WINDOW) >= SETTLED * median(times, rounds - 2 * WINDOW);
    }

    private static double median(long[] times, int from) {
        long[] w = Arrays.copyOfRange(times, from, from + WINDOW);
        Arrays.sort(w);
        return (w[WINDOW / 2 - 1] + w[WINDOW / 2]) / 2.0;
    }

    /** One set of small inputs in one kind of memory, and one pass of every kernel family over it. */
    private static final class Inputs {
        private final int rows;
        private final int cols;
        private final Tensor x;
        private final Tensor y;
        private final Tensor out;
        private final Tensor grad;
        private final Tensor rowLoss;
        private final Tensor labels;
        private final Tensor ids;
        private final Tensor scores;
        private final Tensor freq;
        private final Tensor prior;
        private final Tensor mask;
        private final Tensor topIdx;
        private final Tensor topVal;
        private final Tensor topProb;
        private final Tensor keptIdx;
        private final Tensor keptProb;
        private final Tensor counts;
        private final Tensor cost;
        private final Tensor marginA;
        private final Tensor marginB;
        private final Tensor points;
        private final long[] seeds;
        private final int k;
        /** The same logits and student rows as bfloat16 and binary16, and outputs of those types; null in the narrow sets. */
        private final Tensor xBf16;
        private final Tensor yBf16;
        private final Tensor outBf16;
        private final Tensor xF16;
        private final Tensor yF16;
        private final Tensor outF16;
        private final Tensor rowMax;
        private final Tensor rowEntropy;
        /** Native memory from {@code arena} (why not heap arrays too: the class comment). */
        Inputs(int rows, int cols, Arena arena) {
            this.rows = rows;
            this.cols = cols;
            SplittableRandom rnd = new SplittableRandom(rows * 31L + cols);
            float[] xs = new float[rows * cols];
            float[] ys = new float[rows * cols];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = (float) (1.5 * rnd.nextGaussian());
                ys[i] = (float) (xs[i] + 0.5 * rnd.nextGaussian());
            }
            // Row 1 masks every 7th token: the kernels' masked-token branches get compiled too.
            for (int i = cols; i < 2 * cols; i += 7) {
                xs[i] = Float.NEGATIVE_INFINITY;
                ys[i + 1 < 2 * cols ? i + 1 : i] = Float.NEGATIVE_INFINITY;
            }
            if (rows > 2) { // and the last row of the narrow set is a NaN row, which goes to the reference
                xs[2 * cols + 5] = Float.NaN;
            }
            float[] p = new float[cols];
            Arrays.fill(p, 1f / cols);
            int[] label = new int[rows];
            for (int r = 0; r < rows; r++) {
                label[r] = rnd.nextInt(cols);
            }
            k = Math.min(50, cols);
            int n = 17;
            int m = 19;
            float[] c = new float[2 * n * m];
            for (int i = 0; i < c.length; i++) {
                c[i] = (float) rnd.nextDouble();
            }
            float[] pts = new float[2 * n * 3];
            for (int i = 0; i < pts.length; i++) {
                pts[i] = (float) rnd.nextGaussian();
            }
            float[] ua = new float[2 * n];
            Arrays.fill(ua, 1f / n);
            float[] ub = new float[2 * m];
            Arrays.fill(ub, 1f / m);
            x = f32(arena, xs, rows, cols);
            y = f32(arena, ys, rows, cols);
            out = f32(arena, new float[rows * cols], rows, cols);
            grad = f32(arena, new float[rows * cols], rows, cols);
            rowLoss = f32(arena, new float[rows], rows);
            labels = i32(arena, label, rows);
            ids = i32(arena, label, 1, rows);
            scores = f32(arena, new float[1], 1);
            freq = f32(arena, p, cols);
            prior = f32(arena, p, cols);
            mask = Tensor.of(arena.allocate((long) rows * cols), DType.BOOL, rows, cols);
            topIdx = i32(arena, new int[rows * k], rows, k);
            topVal = f32(arena, new float[rows * k], rows, k);
            topProb = f32(arena, new float[rows * k], rows, k);
            keptIdx = i32(arena, new int[rows * 64], rows, 64);
            keptProb = f32(arena, new float[rows * 64], rows, 64);
            counts = i32(arena, new int[rows], rows);
            cost = f32(arena, c, 2, n, m);
            marginA = f32(arena, ua, 2, n);
            marginB = f32(arena, ub, 2, m);
            points = f32(arena, pts, 2, n, 3);
            seeds = new long[rows];
            Arrays.fill(seeds, 42);
            // Half inputs on the longer rows only (their selection samples a threshold, as vocabulary-sized rows do):
            // the half kernels' own loops compile from the same calls as the float32 ones.
            boolean half = cols > 1024;
            xBf16 = half ? half(arena, xs, DType.BF16, rows, cols) : null;
            yBf16 = half ? half(arena, ys, DType.BF16, rows, cols) : null;
            outBf16 = half ? half(arena, new float[rows * cols], DType.BF16, rows, cols) : null;
            xF16 = half ? half(arena, xs, DType.F16, rows, cols) : null;
            yF16 = half ? half(arena, ys, DType.F16, rows, cols) : null;
            outF16 = half ? half(arena, new float[rows * cols], DType.F16, rows, cols) : null;
            rowMax = f32(arena, new float[rows], rows);
            rowEntropy = f32(arena, new float[rows], rows);
        }

        /** {@code v} rounded to the half {@code type}. */
        private static Tensor half(Arena arena, float[] v, DType type, long... shape) {
            short[] bits = new short[v.length];
            for (int i = 0; i < v.length; i++) {
                bits[i] = type.narrow(v[i]);
            }
            return Tensor.of(arena.allocateFrom(ValueLayout.JAVA_SHORT, bits), type, shape);
        }

        private static Tensor f32(Arena arena, float[] v, long... shape) {
            return Tensor.of(arena.allocateFrom(ValueLayout.JAVA_FLOAT, v), DType.F32, shape);
        }

        private static Tensor i32(Arena arena, int[] v, long... shape) {
            return Tensor.of(arena.allocateFrom(ValueLayout.JAVA_INT, v), DType.I32, shape);
        }

        /** Every kernel family once; odd rounds use a temperature and skip gradients, so both paths compile. */
        void round(Entrokit ek, int round) {
            boolean odd = (round & 1) == 1;
            float t = odd ? 0.7f : 1f;
            LossOptions o = LossOptions.defaults().temperature(t);
            Tensor g = odd ? null : grad;
            standAside();
            ek.logSumExp(x, rowLoss, t);
            ek.softmax(x, out, t);
            ek.softmaxBackward(out, y, grad, t);
            ek.logSoftmax(x, out, t);
            ek.logSoftmaxBackward(out, y, grad, t);
            standAside();
            ek.entropy(x, o, rowLoss, g);
            ek.crossEntropy(x, y, o, rowLoss, g);
            ek.crossEntropyLabels(labels, y, odd ? o.labelSmoothing(0.1f) : o, rowLoss, g);
            standAside();
            ek.kl(x, y, o, rowLoss, g);
            ek.rkl(x, y, o, rowLoss, g);
            ek.jsd(x, y, o, rowLoss, g);
            ek.jeffreys(x, y, o, rowLoss, g);
            standAside();
            ek.tv(x, y, o, rowLoss);
            ek.hellinger(x, y, o, rowLoss);
            ek.alphaDivergence(x, y, odd ? 0.5f : 2f, o, rowLoss, g);
            ek.renyi(x, y, odd ? 2f : 0.5f, o, rowLoss, g);
            ek.chi2(x, y, o, rowLoss, g);
            standAside();
            ek.tokenLogprob(x, ids, rowLoss);
            ek.scores().minKPlusPlus(x, ids, 0.5f, scores);
            ek.scores().dcpdd(x, ids, freq, 0.01f, scores);
            ek.decoding().contrastive(x, y, 0.5f, 0.1f, odd ? Uncertainty.JSD : Uncertainty.ENTROPY, out);
            ek.decoding().injectPrior(x, prior, 0.5f, out);
            standAside();
            ek.decoding().topK(x, k, t, topIdx, topVal, odd ? null : topProb);
            ek.decoding().topP(x, 0.9f, t, mask);
            ek.decoding().minP(x, 0.05f, t, mask);
            ek.decoding().topH(x, 0.4f, SamplingFilters.DEFAULT_TOP_H_N, odd ? TopHMode.NORMALIZED : TopHMode.PAPER, t,
                    mask);
            standAside();
            SamplingFilters chain = SamplingFilters.temperature(t).topK(Math.min(40, cols)).topP(0.95f);
            ek.decoding().keptMask(x, chain, mask);
            ek.decoding().keptTokens(x, SamplingFilters.temperature(t).minP(0.1f), keptIdx, keptProb, counts);
            ek.decoding().maskLogits(x, chain, out);
            ek.decoding().sample(x, odd ? SamplingFilters.temperature(0f) : chain, seeds, round, counts);
            standAside();
            if (xBf16 != null && (round & 1) == 1) { // each half call every other round: see halfRound
                halfRound(ek, round >> 1);
            }
            if (rows == 2 && (round & 2) == 0) { // Sinkhorn's passes are long loops already: fewer calls do
                SinkhornOptions so = SinkhornOptions.defaults().maxIter(20).tol(0);
                ek.transport().sinkhorn(cost, odd ? null : marginA, marginB, so);
                ek.transport().sinkhorn(points, points, Metric.SQEUCLIDEAN, null, null, so);
            }
        }

        /**
         * The BF16 and F16 entry points that have loops of their own: the softmax family on both (each type has its
         * own exp loops), the token log-probabilities on both, the pair losses on BF16 rows (read in registers),
         * selection and sampling on both (with probabilities, top-k reaches the row's mass pass), the entropy-shaped
         * decoding passes on BF16, and the widening and narrowing loops that the other F16 paths take. They run on
         * odd rounds ({@code round} is then the round halved, whose parity picks the variants):
         * measured with the calls in every
         * round, the warm-up took 24–28 s instead of 15 s (600 rounds, 2-core machine, load about 2.4).
         */
        private void halfRound(Entrokit ek, int round) {
            boolean odd = (round & 1) == 1;
            float t = odd ? 0.7f : 1f;
            LossOptions o = LossOptions.defaults().temperature(t);
            Tensor g = odd ? null : grad;
            standAside();
            ek.logSumExp(xBf16, rowLoss, t);
            ek.softmax(xBf16, odd ? outBf16 : out, t);
            ek.logSoftmax(xBf16, odd ? out : outBf16, t);
            ek.softmax(xBf16, out, t, rowMax, rowLoss, rowEntropy);
            ek.entropy(xBf16, o, rowLoss, null);
            ek.tokenLogprob(xBf16, ids, rowLoss);
            ek.logSumExp(xF16, rowLoss, t);
            ek.softmax(xF16, odd ? outF16 : out, t);
            ek.logSoftmax(xF16, odd ? out : outF16, t);
            ek.softmax(xF16, out, t, rowMax, rowLoss, rowEntropy);
            ek.entropy(xF16, o, rowLoss, odd ? null : outF16); // with a gradient: the widened copy, both directions
            ek.tokenLogprob(xF16, ids, rowLoss);
            standAside();
            ek.kl(xBf16, yBf16, o, rowLoss, g);
            ek.rkl(xBf16, yBf16, o, rowLoss, g);
            ek.jsd(xBf16, yBf16, o, rowLoss, g);
            ek.crossEntropy(xBf16, yBf16, o, rowLoss, g);
            ek.jeffreys(xBf16, yBf16, o, rowLoss, g);
            standAside();
            SamplingFilters chain = SamplingFilters.temperature(t).topK(Math.min(40, cols)).topP(0.95f);
            SamplingFilters minP = SamplingFilters.temperature(t).minP(0.05f);
            SamplingFilters entropyShaped = odd ? SamplingFilters.temperature(t).typical(0.9f)
                    : SamplingFilters.temperature(t).dynamicTemperature(0.5f, 1.5f, 1f).epsilon(3e-4f);
            for (Tensor h : new Tensor[] {xBf16, xF16}) {
                ek.decoding().topK(h, k, t, topIdx, topVal, odd ? null : topProb);
                ek.decoding().keptMask(h, h == xF16 ? minP : chain, mask);
                ek.decoding().keptTokens(h, minP, keptIdx, keptProb, counts);
                ek.decoding().maskLogits(h, chain, h == xF16 ? outF16 : odd ? out : outBf16);
                ek.decoding().sample(h, odd ? SamplingFilters.temperature(0f) : h == xF16 ? minP : chain, seeds, round,
                        counts);
                standAside();
            }
            ek.decoding().sample(xBf16, entropyShaped, seeds, round, counts);
            ek.decoding().keptMask(xBf16, odd ? SamplingFilters.temperature(t).topNSigma(1.5f)
                    : SamplingFilters.temperature(t).eta(3e-4f), mask);
        }
    }
}
