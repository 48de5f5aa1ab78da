package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.SamplingFilters;
import dev.entrokit.Tensor;
import dev.entrokit.TopHMode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;

/**
 * W3: selection and sampling over a decoding batch (32 × 128256 by default), temperature 1 for the
 * filters alone. The sampling step is temperature 0.7 → top-k 50 → top-p 0.9 → one token per row.
 * Bytes: the logits read once, plus the one-byte mask written for the mask ops.
 */
public class SelectionBench extends WorkloadBench {
    /** The sampling step's settings, also sent to the peers. */
    static final float SAMPLE_TEMPERATURE = 0.7f;

    @Param({"32"})
    public int rows;

    @Param({"128256"})
    public int cols;

    private Tensor logits;
    /** Gaussian logits (σ = 2): a nucleus of thousands of tokens, where the SIMD kernels rank many candidates. */
    private Tensor wide;
    private Tensor indices;
    private Tensor values;
    private Tensor probs;
    private Tensor mask;
    private Tensor tokens;
    private long[] seeds;
    private long step;
    private final SamplingFilters sampleStep = SamplingFilters.temperature(SAMPLE_TEMPERATURE).topK(50).topP(0.9f);

    @Override
    public Map<String, Path> inputs(Path dir) throws IOException {
        return Map.of("logits", WorkloadInputs.logitsFile(dir, "logits", rows, cols, 44, 0));
    }

    @Override
    public long bytes(String workload) {
        long n = (long) rows * cols;
        return switch (workload) {
            case "W3-topp0.9", "W3-minp0.1", "W3-toph0.4" -> 5 * n;
            default -> 4 * n;
        };
    }

    @Override
    protected void prepare() throws IOException {
        logits = mem.load(inputs(WorkloadInputs.dir()).get("logits"), rows, cols);
        wide = mem.gaussian(rows, cols, 2.0, 45);
        indices = mem.zeros(DType.I32, rows, 50);
        values = mem.zeros(DType.F32, rows, 50);
        probs = mem.zeros(DType.F32, rows, 50);
        mask = mem.zeros(DType.BOOL, rows, cols);
        tokens = mem.zeros(DType.I32, rows);
        seeds = new long[rows];
        for (int r = 0; r < rows; r++) {
            seeds[r] = 1000 + r;
        }
    }

    private int checkedIndex(int i) {
        if (i < 0) {
            throw new IllegalStateException("kernel returned index " + i);
        }
        return i;
    }

    @Benchmark
    @Workload("W3-topk50")
    public int topK50() {
        ek.decoding().topK(logits, 50, 1f, indices, values, probs);
        return checkedIndex(indices.getInt(rows - 1, 49));
    }

    /**
     * Ids and values only, as {@code torch.topk} alone gives them: {@code probs} null skips the pass
     * over the row that their softmax needs. Not a suite workload (the peers compute the probabilities
     * too); it measures the SIMD selection kernels' ids-only target.
     */
    @Benchmark
    public int topK50IdsOnly() {
        ek.decoding().topK(logits, 50, 1f, indices, values, null);
        return checkedIndex(indices.getInt(rows - 1, 49));
    }

    @Benchmark
    @Workload("W3-topp0.9")
    public boolean topP() {
        ek.decoding().topP(logits, 0.9f, 1f, mask);
        return mask.getBool(rows - 1, 0);
    }

    @Benchmark
    @Workload("W3-minp0.1")
    public boolean minP() {
        ek.decoding().minP(logits, 0.1f, 1f, mask);
        return mask.getBool(rows - 1, 0);
    }

    @Benchmark
    @Workload("W3-toph0.4")
    public boolean topH() {
        ek.decoding().topH(logits, 0.4f, SamplingFilters.DEFAULT_TOP_H_N, TopHMode.PAPER, 1f, mask);
        return mask.getBool(rows - 1, 0);
    }

    @Benchmark
    @Workload("W3-sample-step")
    public int sampleStep() {
        ek.decoding().sample(logits, sampleStep, seeds, step++, tokens);
        return checkedIndex(tokens.getInt(rows - 1));
    }

    /** Not a suite workload: top-p 0.9 where the nucleus is wide (see {@link #wide}). */
    @Benchmark
    public boolean topPWide() {
        ek.decoding().topP(wide, 0.9f, 1f, mask);
        return mask.getBool(rows - 1, 0);
    }

    /** Not a suite workload: the sampling step on {@link #wide} logits. */
    @Benchmark
    public int sampleStepWide() {
        ek.decoding().sample(wide, sampleStep, seeds, step++, tokens);
        return checkedIndex(tokens.getInt(rows - 1));
    }

    /** Not a suite workload: top-H on {@link #wide} logits. */
    @Benchmark
    public boolean topHWide() {
        ek.decoding().topH(wide, 0.4f, SamplingFilters.DEFAULT_TOP_H_N, TopHMode.PAPER, 1f, mask);
        return mask.getBool(rows - 1, 0);
    }
}
