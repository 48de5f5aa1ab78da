package dev.entrokit.bench.nd4j;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.LogSoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * ND4J as a peer of {@code ./entrokit bench}, speaking the line protocol of {@code bench/peers/peer.py}
 * ({@code java -cp ... Nd4jPeer nd4j THREADS}). It covers W1 (softmax and entropy); the other
 * workloads are answered {@code absent} with the reason.
 */
public final class Nd4jPeer {
    private Nd4jPeer() {
    }

    public static void main(String[] args) throws Exception {
        int threads = Integer.parseInt(args[1]);
        PrintStream protocol = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err);  // ND4J's own messages must not reach the protocol stream
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.create(new float[] {1f, 2f}).sumNumber();  // loads the backend (and extracts it on first use)
        protocol.println("ready nd4j=1.0.0-M2.1 backend=" + Nd4j.getBackend().getClass().getSimpleName()
                + " threads=" + Nd4j.getEnvironment().maxThreads());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] p = line.trim().split("\\s+");
            if (p.length == 0 || p[0].isEmpty()) {
                continue;
            }
            if (p[0].equals("quit")) {
                break;
            }
            try {
                String workload = p[1];
                Map<String, String> kv = new HashMap<>();
                for (int i = 5; i < p.length; i++) {
                    int eq = p[i].indexOf('=');
                    kv.put(p[i].substring(0, eq), p[i].substring(eq + 1));
                }
                if (!workload.equals("W1-softmax-entropy")) {
                    protocol.println("absent the ND4J peer covers softmax, log-softmax and entropy (W1) only");
                    continue;
                }
                Runnable fn = softmaxEntropy(new File(kv.get("logits")));
                List<Double> ms = measure(fn, Integer.parseInt(p[2]), Double.parseDouble(p[3]), Double.parseDouble(p[4]));
                StringBuilder sb = new StringBuilder("ok ");
                for (int i = 0; i < ms.size(); i++) {
                    sb.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.6f", ms.get(i)));
                }
                protocol.println(sb);
            } catch (Exception | Error e) {
                e.printStackTrace();
                protocol.println("error " + (e.toString().replace('\n', ' ')));
            }
        }
    }

    /** log-softmax (one op), exp of it into a preallocated buffer, then −Σ p·log p per row. */
    private static Runnable softmaxEntropy(File npy) {
        INDArray x = Nd4j.createFromNpyFile(npy);
        INDArray logp = x.ulike();
        INDArray p = x.ulike();
        INDArray tmp = x.ulike();
        return () -> {
            Nd4j.exec(new LogSoftMax(x, logp));  // over the last dimension
            Nd4j.exec(new Exp(logp, p));
            // ND4J's log-softmax is -inf on masked logits, and 0·-inf is NaN (its entropy op is NaN there too):
            // clamp to the lowest finite float, in place, so p·log p is 0 there.
            Transforms.max(logp, -Float.MAX_VALUE, false);
            INDArray h = p.mul(logp, tmp).sum(1).negi();
            if (!Double.isFinite(h.getDouble(0))) {
                throw new IllegalStateException("entropy is " + h.getDouble(0));
            }
        };
    }

    private static List<Double> measure(Runnable fn, int samples, double warmupS, double sampleS) {
        long start = System.nanoTime();
        int calls = 0;
        while (calls < 2 || (System.nanoTime() - start) * 1e-9 < warmupS) {
            fn.run();
            calls++;
        }
        double perCall = Math.max((System.nanoTime() - start) * 1e-9 / calls, 1e-7);
        int reps = Math.max(1, (int) (sampleS / perCall));
        List<Double> out = new ArrayList<>();
        for (int s = 0; s < samples; s++) {
            long t0 = System.nanoTime();
            for (int r = 0; r < reps; r++) {
                fn.run();
            }
            out.add((System.nanoTime() - t0) * 1e-6 / reps);
        }
        return out;
    }
}
