package dev.entrokit.bench;

import dev.entrokit.DType;
import dev.entrokit.LossOptions;
import dev.entrokit.SparseDivergence;
import dev.entrokit.TeacherMass;
import dev.entrokit.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;

/**
 * W6: the RL and distillation losses on W5-sized inputs ({@code rows} × {@code cols} = 2048 × 32000 heavy-tailed
 * logits, W5's file), forward and gradient in one call. {@code W6-logprob-entropy-fwd-bwd}: per token
 * {@code ℓ = log p[y]} and {@code H}, and {@code ∂Σ(w·ℓ + c·H)/∂x} for per-token weights {@code w}, {@code c}
 * (the RL trainer step). {@code W6-sparse-kl-fwd-bwd}: forward KL from a sparse teacher (the top {@code k} = 20 ids
 * of those logits and their log-probabilities) to a student (W2's perturbed copy), with the rest bucket, and its
 * gradient. Bytes:
 * the logits read and the gradient written once each, plus the per-row inputs.
 */
public class PolicyLossBench extends WorkloadBench {
    @Param({"2048"})
    public int rows;

    @Param({"32000"})
    public int cols;

    @Param({"20"})
    public int k;

    private Tensor logits;
    private Tensor student;
    private Tensor ids;
    private Tensor w;
    private Tensor c;
    private Tensor topIds;
    private Tensor topLogprobs;
    private Tensor logprobs;
    private Tensor entropy;
    private Tensor grad;
    private final LossOptions options = LossOptions.defaults();

    @Override
    public Map<String, Path> inputs(Path dir) throws IOException {
        Path lf = WorkloadInputs.logitsFile(dir, "logits", rows, cols, 45, 0);
        // The student of the sparse workload is a perturbed copy of the logits (masked where they are, as W2's);
        // the teacher's top k come from the logits themselves.
        Path sf = WorkloadInputs.logitsFile(dir, "logits", rows, cols, 45, 46);
        String tag = rows + "x" + cols + "-s45";
        Path idf = dir.resolve("w6-ids-" + tag + ".npy");
        Path wf = dir.resolve("w6-w-" + tag + ".npy");
        Path cf = dir.resolve("w6-c-" + tag + ".npy");
        Path tif = dir.resolve("w6-top" + k + "-ids-" + tag + ".npy");
        Path tlf = dir.resolve("w6-top" + k + "-logprobs-" + tag + ".npy");
        if (!Files.exists(idf) || !Files.exists(wf) || !Files.exists(cf)) {
            float[] x = Npy.readFloats(lf, (long) rows * cols);
            SplittableRandom rnd = new SplittableRandom(61);
            int[] y = new int[rows];
            float[] wv = new float[rows];
            float[] cv = new float[rows];
            for (int r = 0; r < rows; r++) {
                do {
                    y[r] = rnd.nextInt(cols);
                } while (x[r * cols + y[r]] == Float.NEGATIVE_INFINITY);
                wv[r] = (float) ((2 * rnd.nextDouble() - 1) / rows);
                cv[r] = -0.001f / rows;
            }
            Npy.writeInts(idf, y, rows);
            Npy.writeFloats(wf, wv, rows);
            Npy.writeFloats(cf, cv, rows);
        }
        if (!Files.exists(tif) || !Files.exists(tlf)) {
            writeTopK(Npy.readFloats(lf, (long) rows * cols), tif, tlf);
        }
        return Map.of("logits", lf, "ids", idf, "w", wf, "c", cf, "student", sf, "top_ids", tif, "top_logprobs", tlf);
    }

    /** The teacher's top-k ids (ties by index) and their float64 log-softmax, rounded to float32 and ≤ 0. */
    private void writeTopK(float[] t, Path idFile, Path lpFile) throws IOException {
        int[] top = new int[rows * k];
        float[] lp = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            PriorityQueue<Integer> heap = new PriorityQueue<>((a, b) -> t[base + a] != t[base + b]
                    ? Float.compare(t[base + a], t[base + b]) : Integer.compare(b, a));
            double m = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < cols; i++) {
                m = Math.max(m, t[base + i]);
                heap.add(i);
                if (heap.size() > k) {
                    heap.poll();
                }
            }
            double d = 0;
            for (int i = 0; i < cols; i++) {
                d += Math.exp(t[base + i] - m);
            }
            double logD = Math.log(d);
            for (int j = k - 1; j >= 0; j--) {
                int id = heap.poll();
                top[r * k + j] = id;
                lp[r * k + j] = (float) Math.min(0, t[base + id] - m - logD);
            }
        }
        Npy.writeInts(idFile, top, rows, k);
        Npy.writeFloats(lpFile, lp, rows, k);
    }

    @Override
    public long bytes(String workload) {
        long perRow = workload.equals("W6-sparse-kl-fwd-bwd") ? 8L * k : 12L + 8L;
        return 8L * rows * cols + perRow * rows;
    }

    @Override
    protected void prepare() throws IOException {
        Map<String, Path> in = inputs(WorkloadInputs.dir());
        logits = mem.load(in.get("logits"), rows, cols);
        student = mem.load(in.get("student"), rows, cols);
        ids = mem.loadInts(in.get("ids"), rows);
        w = mem.load(in.get("w"), rows);
        c = mem.load(in.get("c"), rows);
        topIds = mem.loadInts(in.get("top_ids"), rows, k);
        topLogprobs = mem.load(in.get("top_logprobs"), rows, k);
        logprobs = mem.zeros(DType.F32, rows);
        entropy = mem.zeros(DType.F32, rows);
        grad = mem.zeros(DType.F32, rows, cols);
    }

    @Benchmark
    @Workload("W6-logprob-entropy-fwd-bwd")
    public double logprobEntropy() {
        return BenchTensors.finite(ek.logprobEntropy(logits, ids, options, logprobs, entropy, w, c, grad));
    }

    @Benchmark
    @Workload("W6-sparse-kl-fwd-bwd")
    public double sparseKl() {
        return BenchTensors.finite(ek.sparseDistill(SparseDivergence.FORWARD_KL, TeacherMass.REST_BUCKET, topIds,
                topLogprobs, student, options, null, grad));
    }
}
