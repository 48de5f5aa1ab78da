package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.Entrokit;
import dev.entrokit.LossOptions;
import dev.entrokit.SamplingFilters;
import dev.entrokit.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.ToDoubleBiFunction;

/**
 * Every op family on half rows against the same op on float32 rows, through the public façade: thread CPU time and
 * bytes allocated per call, one thread, the dtypes measured in turn within every round (a change of load hits them
 * all alike), after a warm-up of every combination. Each call is a whole batch: 32 × 128256 logits for the per-row
 * ops, 256 × 32000 teacher and student logits for the pairwise losses; outputs are float32 (but in the ops named
 * "to input dtype"), so only the reads of the inputs differ between the dtypes. The per-round ratio float32 / half of CPU time is the half input's
 * elements-per-second ratio; its median and min–max over the rounds are printed.
 *
 * <p>The façade calls sit in {@link #decoding}, {@link #entropyDecoding}, {@link #scoring}, {@link #losses} and {@link #softmaxFamily}, one
 * small method each, so that a move of the façade's methods into other classes changes only those lines.
 *
 * <p>{@code -Dhalfops.arena=confined} puts the inputs in a confined arena (see {@link #newArena});
 * {@code -Dhalfops.settleMs=M} sleeps M ms after the backend starts (after an {@code auto} backend's warm-up, with
 * {@code -Dentrokit.warmup=wait}), to tell a compile backlog from a steady state.
 *
 * <pre>java [-Dhalfops.rows=R] [-Dhalfops.arena=confined] [-Dhalfops.settleMs=M] --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.entrokit.bench.HalfOpsProbe [rounds] [op prefixes, comma-separated|all] [f32,bf16,f16] [backend]</pre>
 */
public final class HalfOpsProbe {
    private static final int WARM_CALLS = 60;
    /** Rows of the per-row ops' batch: 32 (the shape, which stays in a 32 MiB L3) unless {@code -Dhalfops.rows=R} (a multiple of 4). */
    private static final int ROWS = Integer.getInteger("halfops.rows", 32);
    private static final int COLS = 128256;
    private static final int PAIR_ROWS = 256;
    private static final int PAIR_COLS = 32000;

    private HalfOpsProbe() {
    }

    /**
     * The inputs' arena: shared unless {@code -Dhalfops.arena=confined}. A confined arena's segments
     * carry an owner thread, which every access checks; that check is part of each load C2 compiles, so a kernel
     * near C2's node budget can compile differently with confined inputs.
     */
    static Arena newArena() {
        return switch (System.getProperty("halfops.arena", "shared")) {
            case "shared" -> Arena.ofShared();
            case "confined" -> Arena.ofConfined();
            default -> throw new IllegalArgumentException(
                    "-Dhalfops.arena must be shared or confined; got " + System.getProperty("halfops.arena"));
        };
    }

    /** One dtype's inputs and float32 outputs, off-heap. */
    static final class Data implements AutoCloseable {
        final Arena arena = newArena();
        final DType type;
        final Tensor logits;
        final Tensor teacher;
        final Tensor student;
        final Tensor probs;
        final Tensor mask;
        final Tensor tokens;
        final Tensor topIndices;
        final Tensor topValues;
        final Tensor topProbs;
        final Tensor keptCounts;
        /** Shaped like the logits, in their dtype: for the ops that write a half row. */
        final Tensor sameTypeOut;
        final Tensor rank;
        final Tensor rejections;
        final Tensor rejectedMass;
        /** Mirostat 2.0's per-row state, reset before every call so that every call runs the same pipelines. */
        final float[] mu = new float[ROWS];
        final Tensor rawLogprobs;
        final Tensor processedLogprobs;
        final Tensor ids;
        final Tensor flatIds;
        final Tensor tokenLogprobs;
        final Tensor scores;
        final Tensor rowMax;
        final Tensor rowLogSumExp;
        final Tensor rowEntropy;
        final Tensor rowLoss;
        final Tensor pairRowLoss;
        final Tensor grad;
        final long[] seeds = new long[ROWS];
        long step;

        Data(DType type, float[] logits, float[] teacher, float[] student) {
            this.type = type;
            this.logits = input(logits, ROWS, COLS);
            this.teacher = input(teacher, PAIR_ROWS, PAIR_COLS);
            this.student = input(student, PAIR_ROWS, PAIR_COLS);
            probs = f32(ROWS, COLS);
            mask = Tensor.of(arena.allocate((long) ROWS * COLS, 64), DType.BOOL, ROWS, COLS);
            tokens = Tensor.of(arena.allocate(ROWS * 4L, 64), DType.I32, ROWS);
            topIndices = Tensor.of(arena.allocate(ROWS * 50 * 4L, 64), DType.I32, ROWS, 50);
            topValues = f32(ROWS, 50);
            topProbs = f32(ROWS, 50);
            keptCounts = Tensor.of(arena.allocate(ROWS * 4L, 64), DType.I32, ROWS);
            sameTypeOut = type == DType.F32 ? probs
                    : Tensor.of(arena.allocate((long) ROWS * COLS * type.byteSize(), 64), type, ROWS, COLS);
            rank = Tensor.of(arena.allocate(ROWS * 4L, 64), DType.I32, ROWS);
            rejections = Tensor.of(arena.allocate(ROWS * 4L, 64), DType.I32, ROWS);
            rejectedMass = vector(ROWS);
            rawLogprobs = vector(ROWS);
            processedLogprobs = vector(ROWS);
            int[] id = new int[ROWS];
            for (int r = 0; r < ROWS; r++) {
                id[r] = (r * 7919) % COLS;
                seeds[r] = 1000 + r;
            }
            ids = Tensor.of(id, 4, ROWS / 4); // 4 sequences of 8 positions
            flatIds = Tensor.of(id);
            tokenLogprobs = vector(ROWS);
            scores = vector(4);
            rowMax = vector(ROWS);
            rowLogSumExp = vector(ROWS);
            rowEntropy = vector(ROWS);
            rowLoss = vector(ROWS);
            pairRowLoss = vector(PAIR_ROWS);
            grad = f32(PAIR_ROWS, PAIR_COLS);
        }

        private Tensor f32(int rows, int cols) {
            return Tensor.of(arena.allocate((long) rows * cols * 4, 64), DType.F32, rows, cols);
        }

        private Tensor vector(int n) {
            return Tensor.of(arena.allocate(n * 4L, 64), DType.F32, n);
        }

        private Tensor input(float[] values, int rows, int cols) {
            MemorySegment s = arena.allocate((long) values.length * type.byteSize(), 64);
            for (int i = 0; i < values.length; i++) {
                if (type == DType.F32) {
                    s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, values[i]);
                } else {
                    s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, type.narrow(values[i]));
                }
            }
            return Tensor.of(s, type, rows, cols);
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    private static final SamplingFilters TOP_K = SamplingFilters.temperature(1f).topK(50);
    private static final SamplingFilters TOP_P = SamplingFilters.temperature(1f).topP(0.9f);
    private static final SamplingFilters MIN_P = SamplingFilters.temperature(1f).minP(0.05f);
    private static final SamplingFilters GREEDY = SamplingFilters.temperature(0f);
    private static final SamplingFilters PLAIN = SamplingFilters.temperature(1f);
    private static final LossOptions SUM = LossOptions.defaults();
    private static final SamplingFilters TYPICAL = SamplingFilters.temperature(1f).typical(0.9f);
    private static final SamplingFilters EPSILON = SamplingFilters.temperature(1f).epsilon(3e-4f);
    private static final SamplingFilters ETA = SamplingFilters.temperature(1f).eta(3e-4f);
    private static final SamplingFilters TOP_N_SIGMA = SamplingFilters.temperature(1f).topNSigma(1.5f);
    private static final SamplingFilters MIROSTAT = SamplingFilters.temperature(1f).mirostat(5f);
    private static final SamplingFilters DYN_T_MIN_P = SamplingFilters.temperature(1f).dynamicTemperature(0.5f, 1.5f, 1f)
            .minP(0.05f);
    private static final SamplingFilters TOP_K_XTC = SamplingFilters.temperature(1f).topK(40).xtc(0.05f, 1f);
    private static final SamplingFilters XTC = SamplingFilters.temperature(1f).xtc(0.05f, 1f);

    /** The decoding ops (the decoding view). */
    static void decoding(Map<String, ToDoubleBiFunction<Entrokit, Data>> ops) {
        ops.put("keptMask topK50", (ek, d) -> { ek.decoding().keptMask(d.logits, TOP_K, d.mask); return d.mask.segment().get(ValueLayout.JAVA_BYTE, 7); });
        ops.put("keptMask topP0.9", (ek, d) -> { ek.decoding().keptMask(d.logits, TOP_P, d.mask); return d.mask.segment().get(ValueLayout.JAVA_BYTE, 7); });
        ops.put("keptMask minP0.05", (ek, d) -> { ek.decoding().keptMask(d.logits, MIN_P, d.mask); return d.mask.segment().get(ValueLayout.JAVA_BYTE, 7); });
        ops.put("sample greedy", (ek, d) -> { ek.decoding().sample(d.logits, GREEDY, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("sample topP0.9", (ek, d) -> { ek.decoding().sample(d.logits, TOP_P, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("sample topK50", (ek, d) -> { ek.decoding().sample(d.logits, TOP_K, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("sample minP0.05", (ek, d) -> { ek.decoding().sample(d.logits, MIN_P, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("sample T1", (ek, d) -> { ek.decoding().sample(d.logits, PLAIN, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("topK 50", (ek, d) -> { ek.decoding().topK(d.logits, 50, 1f, d.topIndices, d.topValues, d.topProbs); return d.topIndices.getInt(0, 0); });
        ops.put("topK 50 no probs", (ek, d) -> { ek.decoding().topK(d.logits, 50, 1f, d.topIndices, d.topValues, null); return d.topIndices.getInt(0, 0); });
        ops.put("keptTokens topP0.9", (ek, d) -> { ek.decoding().keptTokens(d.logits, TOP_P, d.topIndices, d.topProbs, d.keptCounts); return d.keptCounts.getInt(0); });
        ops.put("keptTokens minP0.05", (ek, d) -> { ek.decoding().keptTokens(d.logits, MIN_P, d.topIndices, d.topProbs, d.keptCounts); return d.keptCounts.getInt(0); });
        ops.put("maskLogits topP0.9", (ek, d) -> { ek.decoding().maskLogits(d.logits, TOP_P, d.probs); return d.probs.getFloat(0, 0); });
        ops.put("maskLogits topK50", (ek, d) -> { ek.decoding().maskLogits(d.logits, TOP_K, d.probs); return d.probs.getFloat(0, 0); });
        ops.put("maskLogits minP0.05", (ek, d) -> { ek.decoding().maskLogits(d.logits, MIN_P, d.probs); return d.probs.getFloat(0, 0); });
        ops.put("maskLogits topK50 to input dtype", (ek, d) -> { ek.decoding().maskLogits(d.logits, TOP_K, d.sameTypeOut); return d.sameTypeOut.getFloat(0, 0); });
        ops.put("maskLogits topP0.9 to input dtype", (ek, d) -> { ek.decoding().maskLogits(d.logits, TOP_P, d.sameTypeOut); return d.sameTypeOut.getFloat(0, 0); });
        ops.put("sampleWithLogprobs topP0.9", (ek, d) -> { ek.decoding().sampleWithLogprobs(d.logits, TOP_P, d.seeds, d.step++, d.tokens, 50, d.topIndices, d.topValues, d.rank, d.rawLogprobs, d.processedLogprobs); return d.tokens.getInt(0); });
    }

    /** The decoding ops with an entropy-shaped step (typical, ε, η, top-nσ, Mirostat, dynamic temperature, XTC), and the sampling ops that report more than a token. */
    static void entropyDecoding(Map<String, ToDoubleBiFunction<Entrokit, Data>> ops) {
        ops.put("dec sample typical0.9", (ek, d) -> { ek.decoding().sample(d.logits, TYPICAL, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("dec sample epsilon3e-4", (ek, d) -> { ek.decoding().sample(d.logits, EPSILON, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("dec sample eta3e-4", (ek, d) -> { ek.decoding().sample(d.logits, ETA, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("dec sample topNSigma1.5", (ek, d) -> { ek.decoding().sample(d.logits, TOP_N_SIGMA, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("dec sample mirostat5", (ek, d) -> { ek.decoding().sample(d.logits, MIROSTAT, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("dec sample dynT,minP0.05", (ek, d) -> { ek.decoding().sample(d.logits, DYN_T_MIN_P, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("dec sample topK40,xtc", (ek, d) -> { ek.decoding().sample(d.logits, TOP_K_XTC, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("dec sample xtc", (ek, d) -> { ek.decoding().sample(d.logits, XTC, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("dec keptMask typical0.9", (ek, d) -> { ek.decoding().keptMask(d.logits, TYPICAL, d.mask); return d.mask.segment().get(ValueLayout.JAVA_BYTE, 7); });
        ops.put("dec maskLogits eta3e-4", (ek, d) -> { ek.decoding().maskLogits(d.logits, ETA, d.probs); return d.probs.getFloat(0, 0); });
        ops.put("dec mirostatV2", (ek, d) -> { Arrays.fill(d.mu, 6f); ek.decoding().mirostatV2(d.logits, PLAIN, 3f, 0.1f, d.mu, d.seeds, d.step++, d.tokens); return d.tokens.getInt(0); });
        ops.put("dec sampleConstrained topP0.9", (ek, d) -> { ek.decoding().sampleConstrained(d.logits, TOP_P, (r, t) -> t % 3 != 0, d.seeds, d.step++, d.tokens, d.rejections, d.rejectedMass); return d.tokens.getInt(0); });
        ops.put("dec sampleConstrained typical0.9", (ek, d) -> { ek.decoding().sampleConstrained(d.logits, TYPICAL, (r, t) -> t % 3 != 0, d.seeds, d.step++, d.tokens, d.rejections, d.rejectedMass); return d.tokens.getInt(0); });
        ops.put("dec sampleWithLogprobs topP0.9", (ek, d) -> { ek.decoding().sampleWithLogprobs(d.logits, TOP_P, d.seeds, d.step++, d.tokens, 50, d.topIndices, d.topValues, d.rank, d.rawLogprobs, d.processedLogprobs); return d.tokens.getInt(0); });
        ops.put("dec sampleWithLogprobs typical0.9", (ek, d) -> { ek.decoding().sampleWithLogprobs(d.logits, TYPICAL, d.seeds, d.step++, d.tokens, 50, d.topIndices, d.topValues, d.rank, d.rawLogprobs, d.processedLogprobs); return d.tokens.getInt(0); });
        ops.put("dec sampleWithLogprobs greedy", (ek, d) -> { ek.decoding().sampleWithLogprobs(d.logits, GREEDY, d.seeds, d.step++, d.tokens, 50, d.topIndices, d.topValues, d.rank, d.rawLogprobs, d.processedLogprobs); return d.tokens.getInt(0); });
    }

    /** The scoring ops (the scoring view, and the instance's token log-probs). */
    static void scoring(Map<String, ToDoubleBiFunction<Entrokit, Data>> ops) {
        ops.put("tokenLogprob", (ek, d) -> { ek.tokenLogprob(d.logits, d.flatIds, d.tokenLogprobs); return d.tokenLogprobs.getFloat(0); });
        ops.put("minKProb 0.2", (ek, d) -> { ek.scores().minKProb(d.logits, d.ids, 0.2f, d.scores); return d.scores.getFloat(0); });
    }

    /** The pairwise losses, 256 × 32000. */
    static void losses(Map<String, ToDoubleBiFunction<Entrokit, Data>> ops) {
        ops.put("kl", (ek, d) -> ek.kl(d.teacher, d.student, SUM, null, null));
        ops.put("kl+grad", (ek, d) -> ek.kl(d.teacher, d.student, SUM, null, d.grad));
        ops.put("rkl", (ek, d) -> ek.rkl(d.teacher, d.student, SUM, null, null));
        ops.put("rkl+grad", (ek, d) -> ek.rkl(d.teacher, d.student, SUM, null, d.grad));
        ops.put("jsd", (ek, d) -> ek.jsd(d.teacher, d.student, SUM, null, null));
        ops.put("jsd+grad", (ek, d) -> ek.jsd(d.teacher, d.student, SUM, null, d.grad));
        ops.put("crossEntropy", (ek, d) -> ek.crossEntropy(d.teacher, d.student, SUM, null, null));
        ops.put("crossEntropy+grad", (ek, d) -> ek.crossEntropy(d.teacher, d.student, SUM, null, d.grad));
        ops.put("jeffreys", (ek, d) -> ek.jeffreys(d.teacher, d.student, SUM, null, null));
        ops.put("jeffreys+grad", (ek, d) -> ek.jeffreys(d.teacher, d.student, SUM, null, d.grad));
    }

    /** The softmax family and entropy, 32 × 128256. */
    static void softmaxFamily(Map<String, ToDoubleBiFunction<Entrokit, Data>> ops) {
        ops.put("logSumExp", (ek, d) -> { ek.logSumExp(d.logits, d.rowLogSumExp, 1f); return d.rowLogSumExp.getFloat(0); });
        ops.put("softmax", (ek, d) -> { ek.softmax(d.logits, d.probs, 1f); return d.probs.getFloat(0, 0); });
        ops.put("logSoftmax", (ek, d) -> { ek.logSoftmax(d.logits, d.probs, 1f); return d.probs.getFloat(0, 0); });
        ops.put("softmax+stats", (ek, d) -> { ek.softmax(d.logits, d.probs, 1f, d.rowMax, d.rowLogSumExp, d.rowEntropy); return d.rowEntropy.getFloat(0); });
        ops.put("entropy", (ek, d) -> ek.entropy(d.logits, SUM, d.rowLoss, null));
    }

    private static long elements(String op) {
        return op.matches("(kl|rkl|jsd|crossEntropy|jeffreys)(\\+grad)?") ? (long) PAIR_ROWS * PAIR_COLS
                : (long) ROWS * COLS;
    }

    /** Prints the table; arguments as in the class comment. */
    public static void main(String[] args) throws InterruptedException {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        String only = args.length > 1 && !args[1].equals("all") ? args[1] : null;
        String[] names = (args.length > 2 ? args[2] : "f32,bf16,f16").split(",");
        String backend = args.length > 3 ? args[3] : "simd";
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        float[] logits = SyntheticLogits.heavyTailed(ROWS, COLS, 42, 0.02);
        float[] teacher = SyntheticLogits.heavyTailed(PAIR_ROWS, PAIR_COLS, 7, 0.02);
        float[] student = SyntheticLogits.perturbed(teacher, 8, 0.5);
        Data[] data = new Data[names.length];
        for (int c = 0; c < names.length; c++) {
            data[c] = new Data(DType.valueOf(names[c].toUpperCase()), logits, teacher, student);
        }
        Map<String, ToDoubleBiFunction<Entrokit, Data>> ops = new LinkedHashMap<>();
        decoding(ops);
        entropyDecoding(ops);
        scoring(ops);
        losses(ops);
        softmaxFamily(ops);
        double sink = 0;
        try (Entrokit ek = Entrokit.create(backend, 1)) {
            Thread.sleep(Long.getLong("halfops.settleMs", 0));
            System.out.printf("%s backend through the façade, one thread, off-heap, float32 outputs; %d warm calls per"
                    + " combination, then %d rounds of one call per combination; load average at start %s%n%n", backend,
                    WARM_CALLS, rounds, loadAverage());
            System.out.println("| op | input | thread CPU ms per call, median (min–max) | Gelem/s at the median"
                    + " | × " + names[0] + " elements/s, median (min–max of rounds) | bytes allocated per call |");
            System.out.println("|---|---|---:|---:|---:|---:|");
            for (var op : ops.entrySet()) {
                if (only != null && Arrays.stream(only.split(",")).noneMatch(op.getKey()::startsWith)) {
                    continue;
                }
                for (int w = 0; w < WARM_CALLS; w++) {
                    for (Data d : data) {
                        sink += op.getValue().applyAsDouble(ek, d);
                    }
                }
                double[][] cpu = new double[data.length][rounds];
                long[][] bytes = new long[data.length][rounds];
                for (int k = 0; k < rounds; k++) {
                    for (int c = 0; c < data.length; c++) {
                        long b0 = mx.getCurrentThreadAllocatedBytes();
                        long t0 = mx.getCurrentThreadCpuTime();
                        sink += op.getValue().applyAsDouble(ek, data[c]);
                        cpu[c][k] = (mx.getCurrentThreadCpuTime() - t0) / 1e6;
                        bytes[c][k] = mx.getCurrentThreadAllocatedBytes() - b0;
                    }
                }
                for (int c = 0; c < data.length; c++) {
                    double[] ratio = new double[rounds];
                    for (int k = 0; k < rounds; k++) {
                        ratio[k] = cpu[0][k] / cpu[c][k];
                    }
                    double[] sorted = cpu[c].clone();
                    Arrays.sort(sorted);
                    Arrays.sort(ratio);
                    long[] b = bytes[c].clone();
                    Arrays.sort(b);
                    double median = sorted[rounds / 2];
                    System.out.printf("| %s | %s | %.3f (%.3f–%.3f) | %.2f | %.2f (%.2f–%.2f) | %,d |%n", op.getKey(),
                            names[c], median, sorted[0], sorted[rounds - 1], elements(op.getKey()) / median / 1e6,
                            ratio[rounds / 2], ratio[0], ratio[rounds - 1], b[rounds / 2]);
                }
            }
            System.out.printf("%nload average at end %s%n", loadAverage());
        }
        for (Data d : data) {
            d.close();
        }
        if (sink == 42.4242) {
            System.out.println();
        }
    }

    private static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
