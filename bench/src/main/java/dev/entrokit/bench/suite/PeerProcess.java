package dev.entrokit.bench.suite;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One long-lived peer process (one library, one thread count) speaking the line protocol of
 * {@code bench/peers/peer.py}; started once and asked for each workload between entrokit's runs.
 */
final class PeerProcess implements AutoCloseable {
    /** A peer's answer: samples in ms, or why there are none. */
    record Answer(List<Double> samplesMs, String absentReason, String error) {
    }

    final String impl;
    final int threads;
    final Map<String, String> info = new LinkedHashMap<>();
    private final Process process;
    private final BufferedWriter in;
    private final BlockingQueue<String> lines = new ArrayBlockingQueue<>(64);

    PeerProcess(String impl, int threads, List<String> command, Map<String, String> env, Path workDir, long startTimeoutS)
            throws IOException {
        this.impl = impl;
        this.threads = threads;
        ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        for (Map.Entry<String, String> e : env.entrySet()) {  // a null value removes the variable
            if (e.getValue() == null) {
                pb.environment().remove(e.getKey());
            } else {
                pb.environment().put(e.getKey(), e.getValue());
            }
        }
        process = pb.start();
        in = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
        Thread reader = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    lines.put(line);
                }
            } catch (IOException | InterruptedException ignored) {
                // the process ended
            }
            lines.offer("\u0000eof");
        }, "peer-" + impl + "-" + threads);
        reader.setDaemon(true);
        reader.start();
        String ready = next(startTimeoutS);
        if (ready == null || !ready.startsWith("ready")) {
            close();
            throw new IOException(ready == null ? "did not start within " + startTimeoutS + " s"
                    : ready.startsWith("\u0000") ? "exited while starting (see its messages above)" : "said '" + ready + "' instead of ready");
        }
        for (String kv : ready.substring(5).trim().split("\\s+")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                info.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
    }

    private String next(long timeoutS) {
        try {
            return lines.poll(timeoutS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    Answer run(String workload, int samples, double warmupS, double sampleS, Map<String, String> args, long timeoutS) {
        StringBuilder cmd = new StringBuilder("run ").append(workload).append(' ').append(samples).append(' ')
                .append(warmupS).append(' ').append(sampleS);
        args.forEach((k, v) -> cmd.append(' ').append(k).append('=').append(v));
        try {
            in.write(cmd.append('\n').toString());
            in.flush();
        } catch (IOException e) {
            return new Answer(null, null, "could not write to the peer: " + e.getMessage());
        }
        String line = next(timeoutS);
        if (line == null) {
            return new Answer(null, null, "no answer within " + timeoutS + " s");
        }
        if (line.startsWith("ok ")) {
            List<Double> ms = new ArrayList<>();
            for (String s : line.substring(3).trim().split(",")) {
                ms.add(Double.parseDouble(s));
            }
            return new Answer(ms, null, null);
        }
        if (line.startsWith("absent ")) {
            return new Answer(null, line.substring(7).trim(), null);
        }
        return new Answer(null, null, line.startsWith("error ") ? line.substring(6).trim() : "unexpected answer: " + line);
    }

    boolean alive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                in.write("quit\n");
                in.flush();
            }
        } catch (IOException ignored) {
            // already gone
        }
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroy();
            }
        } catch (InterruptedException e) {
            process.destroy();
            Thread.currentThread().interrupt();
        }
    }
}
