package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;

/**
 * W5: the scoring helpers of SPEC §4 over {@code rows} positions of {@code cols} logits (2048 × 32000 by
 * default: 8 sequences of {@code seqLen} = 256 tokens, a Llama-2-sized vocabulary), each position with
 * the id of the token that follows it (drawn uniformly among its unmasked entries, fixed seed).
 * {@code W5-token-logprob}: {@code log_softmax(x_t)[y_t]} per position; {@code W5-min-k}: Min-K% Prob
 * (k = 0.2) per sequence; {@code W5-min-k-plus-plus}: Min-K%++ (k = 0.2) per sequence.
 * Bytes: the logits and the ids read once, the scores written once. The logits are W1's kind: some
 * positions are near one-hot (a heavy-tail spike takes all the mass), so Min-K%++ scores can be −inf.
 */
public class SequenceScoreBench extends WorkloadBench {
    @Param({"2048"})
    public int rows;

    @Param({"32000"})
    public int cols;

    @Param({"256"})
    public int seqLen;

    @Param({"0.2"})
    public float k;

    private Tensor logits;
    private Tensor ids;
    private Tensor tokenLogprobs;
    private Tensor scores;

    @Override
    public Map<String, Path> inputs(Path dir) throws IOException {
        if (rows % seqLen != 0) {
            throw new IllegalArgumentException("rows (" + rows + ") must be a multiple of seqLen (" + seqLen + ")");
        }
        Path lf = WorkloadInputs.logitsFile(dir, "logits", rows, cols, 45, 0);
        Path idf = dir.resolve("ids-" + rows + "x" + cols + "-s45-i47.npy");
        if (!Files.exists(idf)) {
            float[] x = Npy.readFloats(lf, (long) rows * cols);
            SplittableRandom rnd = new SplittableRandom(47);
            int[] y = new int[rows];
            for (int r = 0; r < rows; r++) {
                do {
                    y[r] = rnd.nextInt(cols);
                } while (x[r * cols + y[r]] == Float.NEGATIVE_INFINITY);
            }
            Npy.writeInts(idf, y, rows / seqLen, seqLen);
        }
        return Map.of("logits", lf, "ids", idf);
    }

    @Override
    public long bytes(String workload) {
        long out = workload.equals("W5-token-logprob") ? rows : rows / seqLen;
        return 4L * rows * cols + 4L * rows + 4L * out;
    }

    @Override
    protected void prepare() throws IOException {
        Map<String, Path> in = inputs(WorkloadInputs.dir());
        logits = mem.load(in.get("logits"), rows, cols);
        ids = mem.loadInts(in.get("ids"), rows / seqLen, seqLen);
        tokenLogprobs = mem.zeros(DType.F32, rows);
        scores = mem.zeros(DType.F32, rows / seqLen);
    }

    @Benchmark
    @Workload("W5-token-logprob")
    public double tokenLogprob() {
        ek.tokenLogprob(logits, ids, tokenLogprobs);
        return BenchTensors.finite(tokenLogprobs.getFloat(rows - 1));
    }

    @Benchmark
    @Workload("W5-min-k")
    public double minK() {
        ek.scores().minKProb(logits, ids, k, scores);
        return BenchTensors.finite(scores.getFloat(rows / seqLen - 1));
    }

    @Benchmark
    @Workload("W5-min-k-plus-plus")
    public double minKPlusPlus() {
        ek.scores().minKPlusPlus(logits, ids, k, scores);
        // −inf is a valid score (SPEC §4): a near one-hot position has σ_t = 0 in float32, so z_t = −inf.
        float s = scores.getFloat(rows / seqLen - 1);
        if (Float.isNaN(s) || s == Float.POSITIVE_INFINITY) {
            throw new IllegalStateException("kernel returned " + s);
        }
        return s;
    }
}
