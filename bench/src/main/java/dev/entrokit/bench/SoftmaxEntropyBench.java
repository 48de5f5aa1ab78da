package dev.entrokit.bench;

import dev.entrokit.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;

/**
 * W1: the probabilities and the entropy of a batch of logit rows (what a decoding step or an
 * entropy-regularized loss needs), 32 × 128256 by default, through the fused softmax with row statistics
 * (one exp per element). Bytes: logits read once, probs written once.
 */
public class SoftmaxEntropyBench extends WorkloadBench {
    @Param({"32"})
    public int rows;

    @Param({"128256"})
    public int cols;

    private Tensor logits;
    private Tensor probs;
    private Tensor rowEntropy;

    @Override
    public Map<String, Path> inputs(Path dir) throws IOException {
        return Map.of("logits", WorkloadInputs.logitsFile(dir, "logits", rows, cols, 42, 0));
    }

    @Override
    public long bytes(String workload) {
        return 8L * rows * cols;
    }

    @Override
    protected void prepare() throws IOException {
        logits = mem.load(inputs(WorkloadInputs.dir()).get("logits"), rows, cols);
        probs = mem.zeros(dev.entrokit.DType.F32, rows, cols);
        rowEntropy = mem.zeros(dev.entrokit.DType.F32, rows);
    }

    @Benchmark
    @Workload("W1-softmax-entropy")
    public double softmaxEntropy() {
        ek.softmax(logits, probs, 1f, null, null, rowEntropy);
        return BenchTensors.finite(rowEntropy.getFloat(rows - 1)) + probs.getFloat(rows - 1, cols - 1);
    }
}
