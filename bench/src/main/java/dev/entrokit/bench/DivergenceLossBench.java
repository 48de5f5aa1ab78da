package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.LossOptions;
import dev.entrokit.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;

/**
 * W2: distillation losses between a teacher and a student batch of logit rows (256 × 32000 pairs by
 * default), summed over the batch. Bytes: both rows read once (and the gradient written once).
 */
public class DivergenceLossBench extends WorkloadBench {
    @Param({"256"})
    public int rows;

    @Param({"32000"})
    public int cols;

    private Tensor teacher;
    private Tensor student;
    private Tensor grad;
    private Tensor rowLoss;
    private final LossOptions options = LossOptions.defaults();

    @Override
    public Map<String, Path> inputs(Path dir) throws IOException {
        return Map.of("teacher", WorkloadInputs.logitsFile(dir, "logits", rows, cols, 43, 0),
                "student", WorkloadInputs.logitsFile(dir, "logits", rows, cols, 43, 7));
    }

    @Override
    public long bytes(String workload) {
        return (workload.equals("W2-kl-fwd-bwd") ? 12L : 8L) * rows * cols;
    }

    @Override
    protected void prepare() throws IOException {
        Map<String, Path> in = inputs(WorkloadInputs.dir());
        teacher = mem.load(in.get("teacher"), rows, cols);
        student = mem.load(in.get("student"), rows, cols);
        grad = mem.zeros(DType.F32, rows, cols);
        rowLoss = mem.zeros(DType.F32, rows);
    }

    @Benchmark
    @Workload("W2-kl")
    public double kl() {
        return BenchTensors.finite(ek.kl(teacher, student, options, rowLoss, null));
    }

    @Benchmark
    @Workload("W2-rkl")
    public double rkl() {
        return BenchTensors.finite(ek.rkl(teacher, student, options, rowLoss, null));
    }

    @Benchmark
    @Workload("W2-jsd")
    public double jsd() {
        return BenchTensors.finite(ek.jsd(teacher, student, options, rowLoss, null));
    }

    @Benchmark
    @Workload("W2-kl-fwd-bwd")
    public double klForwardBackward() {
        return BenchTensors.finite(ek.kl(teacher, student, options, rowLoss, grad)) + grad.getFloat(rows - 1, cols - 1);
    }
}
