package dev.entrokit.bench.suite;

import dev.entrokit.bench.Settle;
import dev.entrokit.bench.Workload;
import dev.entrokit.bench.WorkloadInputs;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.BenchmarkList;
import org.openjdk.jmh.runner.BenchmarkListEntry;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * {@code ./entrokit bench}: every {@link Workload}-annotated JMH method, entrokit's backends and the
 * peers interleaved per workload and thread count, the ceilings first; a table on stdout, progress on
 * stderr, JSON and a PNG chart on disk.
 */
public final class Suite {
    /** A registered workload: its JMH method and an instance of its class with the parameters set. */
    record Entry(String name, String benchmark, Class<?> cls, WorkloadInputs state, Map<String, String> params) {
    }

    private final Args args;
    private final String[] argv;
    private final Path root;
    private final PrintStream err = System.err;
    private final long start = System.nanoTime();
    private final Map<String, PeerProcess> peers = new HashMap<>();
    private final Map<String, String> peerFailures = new HashMap<>();
    private final Map<String, String> machine = new LinkedHashMap<>();
    private int step;
    private int steps;

    private Suite(Args args, String[] argv, Path root) {
        this.args = args;
        this.argv = argv.clone();
        this.root = root;
    }

    public static void main(String[] argv) throws Exception {
        Args args;
        try {
            args = Args.parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("entrokit bench: " + e.getMessage());
            System.err.print(Args.USAGE);
            System.exit(2);
            return;
        }
        if (args.help()) {
            System.out.print(Args.USAGE);
            return;
        }
        Path root = Path.of(System.getProperty("entrokit.root", ".")).toAbsolutePath().normalize();
        PrintStream stdout = System.out;
        System.setOut(System.err);  // JMH forwards its forks' output: stdout is for the table alone
        System.exit(new Suite(args, argv, root).run(stdout));
    }

    private void progress(String msg) {
        long s = (System.nanoTime() - start) / 1_000_000_000L;
        err.printf(Locale.ROOT, "[%d:%02d] %s%n", s / 60, s % 60, msg);
    }

    // ------------------------------------------------------------------ discovery

    /** The issue's order of the known workloads; others follow by name. */
    static final List<String> ORDER = List.of("W1-softmax-entropy", "W2-kl", "W2-rkl", "W2-jsd", "W2-kl-fwd-bwd",
            "W3-topk50", "W3-topp0.9", "W3-minp0.1", "W3-toph0.4", "W3-sample-step", "W4-sinkhorn-cost", "W4-sinkhorn-points",
            "W5-token-logprob", "W5-min-k", "W5-min-k-plus-plus");

    static int rank(String workload) {
        int i = ORDER.indexOf(workload);
        return i >= 0 ? i : ORDER.size();
    }

    /** Every {@code @Workload} method in JMH's benchmark list, in name order, with its class's parameters. */
    List<Entry> discover() throws ReflectiveOperationException {
        Map<String, Entry> byName = new TreeMap<>(Comparator.comparingInt(Suite::rank).thenComparing(n -> n));
        var out = OutputFormatFactory.createFormatInstance(System.err, VerboseMode.SILENT);
        for (BenchmarkListEntry e : BenchmarkList.defaultList().getAll(out, List.of())) {
            String user = e.getUsername();
            int dot = user.lastIndexOf('.');
            Class<?> cls = Class.forName(user.substring(0, dot));
            Method m;
            try {
                m = cls.getMethod(user.substring(dot + 1));
            } catch (NoSuchMethodException ex) {
                continue;
            }
            Workload w = m.getAnnotation(Workload.class);
            if (w == null || !args.selects(w.value())) {
                continue;
            }
            if (!WorkloadInputs.class.isAssignableFrom(cls)) {
                throw new IllegalStateException(cls.getName() + " has @Workload methods but does not implement WorkloadInputs");
            }
            WorkloadInputs state = (WorkloadInputs) cls.getDeclaredConstructor().newInstance();
            Map<String, String> params = new LinkedHashMap<>();
            for (Field f : cls.getFields()) {
                Param p = f.getAnnotation(Param.class);
                if (p == null || f.getName().equals("backend") || f.getName().equals("threads")) {
                    continue;
                }
                String v = args.param(cls.getSimpleName(), f.getName());
                if (v == null) {
                    v = p.value()[0];
                }
                set(state, f, v);
                params.put(f.getName(), v);
            }
            byName.put(w.value(), new Entry(w.value(), user, cls, state, params));
        }
        return new ArrayList<>(byName.values());
    }

    private static void set(Object o, Field f, String v) throws IllegalAccessException {
        Class<?> t = f.getType();
        if (t == int.class) {
            f.setInt(o, Integer.parseInt(v));
        } else if (t == long.class) {
            f.setLong(o, Long.parseLong(v));
        } else if (t == float.class) {
            f.setFloat(o, Float.parseFloat(v));
        } else if (t == double.class) {
            f.setDouble(o, Double.parseDouble(v));
        } else if (t == boolean.class) {
            f.setBoolean(o, Boolean.parseBoolean(v));
        } else {
            f.set(o, v);
        }
    }

    // ------------------------------------------------------------------ JMH

    private ChainedOptionsBuilder jmh(String benchmarkRegex, Path inputs) {
        return jmh(benchmarkRegex, inputs, null);
    }

    /** JMH's options; {@code settle}, when not null, is the file where each fork's {@link Settle} warm-up says how it went. */
    private ChainedOptionsBuilder jmh(String benchmarkRegex, Path inputs, Path settle) {
        List<String> jvm = new ArrayList<>(List.of("-Dentrokit.bench.inputs=" + inputs, "--sun-misc-unsafe-memory-access=allow"));
        if (settle != null) {
            jvm.add("-D" + Settle.PROPERTY + "=" + settle);
        }
        ChainedOptionsBuilder b = new OptionsBuilder().include(benchmarkRegex)
                .jvmArgsPrepend(jvm.toArray(String[]::new))
                .verbosity(VerboseMode.SILENT).shouldFailOnError(true);
        if (args.quick()) {
            // The vector kernels run ~100x slower until C2 has compiled them, and on a busy 2-core machine that
            // took longer than any fixed warm-up (3 x 0.6 s published cells 5-17x slow): the workloads warm up in
            // their setup until the score settles (Settle); JMH's own warm-up then only steadies the loop.
            b.forks(1).warmupIterations(1).warmupTime(TimeValue.milliseconds(300))
                    .measurementIterations(5).measurementTime(TimeValue.milliseconds(200));
        }
        return b;
    }

    /** Every iteration of every fork, in ms. */
    private static List<Double> samples(Collection<RunResult> results) {
        List<Double> ms = new ArrayList<>();
        for (RunResult rr : results) {
            for (BenchmarkResult br : rr.getBenchmarkResults()) {
                for (IterationResult ir : br.getIterationResults()) {
                    ms.add(ir.getPrimaryResult().getScore());
                }
            }
        }
        return ms;
    }

    private Report.Ceilings ceilings(Path inputs) throws RunnerException {
        progress("ceilings: memory copy, SIMD read-sum, exp throughput");
        ChainedOptionsBuilder b = jmh("^" + Pattern.quote("dev.entrokit.bench.CeilingBench.") + "(copy|readSum|expThroughput)$", inputs);
        if (args.quick()) {
            b.forks(1);
        }
        Map<String, Double> med = new HashMap<>();
        double mib = 256;
        for (RunResult rr : new Runner(b.build()).run()) {
            String name = rr.getParams().getBenchmark();
            name = name.substring(name.lastIndexOf('.') + 1);
            mib = Double.parseDouble(rr.getParams().getParam("mib"));
            List<Double> s = samples(List.of(rr));
            med.put(name, Report.summarize(name, "ceiling", 1, s, 0).msMedian());
        }
        double bytes = mib * (1 << 20);
        Report.Ceilings c = new Report.Ceilings(
                med.containsKey("copy") ? 2 * bytes / (med.get("copy") * 1e-3) / 1e9 : Double.NaN,
                med.containsKey("readSum") ? bytes / (med.get("readSum") * 1e-3) / 1e9 : Double.NaN,
                med.containsKey("expThroughput") ? 16384 / (med.get("expThroughput") * 1e6) : Double.NaN);
        progress(String.format(Locale.ROOT, "ceilings: copy %.1f GB/s, read %.1f GB/s, exp %.2f/ns", c.copyGbps(), c.readGbps(), c.expPerNs()));
        return c;
    }

    // ------------------------------------------------------------------ peers

    private List<String> peerCommand(String impl, int threads) {
        return switch (impl) {
            case "torch", "torch-avx512", "numpy", "pot" -> List.of(System.getProperty("entrokit.bench.python", "/usr/bin/python3"),
                    root.resolve("bench/peers/peer.py").toString(), impl.startsWith("torch") ? "torch" : impl, String.valueOf(threads));
            case "nd4j" -> {
                String cp = System.getProperty("entrokit.bench.nd4j.cp", "");
                if (cp.isEmpty()) {
                    yield null;
                }
                yield List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx4g",
                        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                        "-cp", cp, "dev.entrokit.bench.nd4j.Nd4jPeer", "nd4j", String.valueOf(threads));
            }
            default -> throw new IllegalArgumentException(impl);
        };
    }

    private Map<String, String> peerEnv(String impl, int threads) {
        Map<String, String> env = new HashMap<>();
        String t = String.valueOf(threads);
        env.put("OMP_NUM_THREADS", t);
        env.put("MKL_NUM_THREADS", t);
        env.put("OPENBLAS_NUM_THREADS", t);
        // Set on some machines for old OpenBLAS builds; they slow a current one, so peers run without them.
        env.put("OPENBLAS_CORETYPE", null);
        env.put("OPENBLAS_L2_SIZE", null);
        env.put("ATEN_CPU_CAPABILITY", impl.equals("torch-avx512") ? "avx512" : null);
        return env;
    }

    /** The peer for {@code impl} at {@code threads}, started on first use; null with the reason recorded when it cannot start. */
    private PeerProcess peer(String impl, int threads) {
        String key = impl + "@" + threads;
        PeerProcess p = peers.get(key);
        if (p != null && p.alive()) {
            return p;
        }
        if (peerFailures.containsKey(key)) {
            return null;
        }
        List<String> cmd = peerCommand(impl, threads);
        if (cmd == null) {
            peerFailures.put(key, System.getProperty("entrokit.bench.nd4j.why", "the ND4J peer is not built (mvn -Pnd4j package)"));
            return null;
        }
        progress("starting peer " + impl + " (" + threads + (threads == 1 ? " thread)" : " threads)"));
        try {
            p = new PeerProcess(impl, threads, cmd, peerEnv(impl, threads), root, 180);
            peers.put(key, p);
            p.info.forEach((k, v) -> machine.putIfAbsent("peer." + impl + "." + k, v));
            if (impl.startsWith("torch")) {
                progress(impl + ": " + p.info);
            }
            return p;
        } catch (IOException e) {
            peerFailures.put(key, "peer did not start: " + e.getMessage());
            progress(impl + ": peer did not start: " + e.getMessage());
            return null;
        }
    }

    // ------------------------------------------------------------------ the run

    private int run(PrintStream stdout) throws Exception {
        List<Entry> entries = discover();
        if (entries.isEmpty()) {
            err.println("entrokit bench: no workload matches --filter " + args.filter());
            return 2;
        }
        Path inputs = root.resolve("bench/target/inputs");
        Files.createDirectories(inputs);
        List<String> impls = new ArrayList<>(args.impls());
        if (args.quick() && impls.equals(Args.ALL_IMPLS)) {
            impls.remove("entrokit-scalar");  // quick: the scalar reference only when --impl names it
        }
        steps = entries.size() * args.threads().size() * impls.size();
        progress("workloads: " + entries.stream().map(Entry::name).toList() + "; " + steps + " cells"
                + (args.quick() ? " (quick)" : ""));
        Map<Entry, Map<String, Path>> files = new LinkedHashMap<>();
        for (Entry e : entries) {
            files.put(e, e.state().inputs(inputs));
        }
        progress("inputs under " + inputs);
        machineInfo();
        Report.Ceilings ceilings = ceilings(inputs);
        List<Report.Result> results = new ArrayList<>();
        List<Report.Absent> absent = new ArrayList<>();
        try {
            for (Entry e : entries) {
                long bytes = e.state().bytes(e.name());
                Map<String, String> peerArgs = new LinkedHashMap<>(e.params());
                files.get(e).forEach((k, v) -> peerArgs.put(k, v.toString()));
                for (int t : args.threads()) {
                    for (String impl : impls) {
                        if (impl.startsWith("entrokit-")) {
                            results.add(entrokit(e, impl, t, bytes, inputs));
                        } else {
                            measurePeer(e, impl, t, bytes, peerArgs, results, absent);
                        }
                    }
                }
            }
        } finally {
            peers.values().forEach(PeerProcess::close);
        }
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(Instant.now());
        Path json = args.json() != null ? args.json() : root.resolve("bench/results/tmp/bench-" + stamp + ".json");
        Path png = args.png() != null ? args.png() : json.resolveSibling(json.getFileName().toString().replaceFirst("\\.json$", "") + ".png");
        Files.createDirectories(json.toAbsolutePath().getParent());
        Files.writeString(json, Report.json(machine, ceilings, results));
        try {
            ThroughputChart.write(png, results, ceilings);
        } catch (IOException | RuntimeException ex) {
            err.println("entrokit bench: could not draw the chart: " + ex);
        }
        long s = (System.nanoTime() - start) / 1_000_000_000L;
        progress("done in " + s / 60 + " min " + s % 60 + " s; JSON " + json + ", chart " + png);
        stdout.print(Report.table(results, absent, ceilings));
        stdout.flush();
        return 0;
    }

    private Report.Result entrokit(Entry e, String impl, int threads, long bytes, Path inputs) throws RunnerException {
        String backend = impl.substring("entrokit-".length());
        Path settle = null;
        if (args.quick()) {
            try {
                settle = Files.createTempFile("entrokit-settle", ".txt");
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        }
        ChainedOptionsBuilder b = jmh("^" + Pattern.quote(e.benchmark()) + "$", inputs, settle)
                .param("backend", backend).param("threads", String.valueOf(threads));
        e.params().forEach(b::param);
        List<Double> ms = samples(new Runner(b.build()).run());
        Report.Result r = Report.summarize(e.name(), impl, threads, ms, bytes);
        String what = ms.size() + " iterations over " + (args.quick() ? "one fork" : "all forks");
        if (settle != null) {
            List<String> verdicts;
            try {
                verdicts = Files.readAllLines(settle);
                Files.deleteIfExists(settle);
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            // A fork that never wrote its verdict did not settle either.
            boolean settled = !verdicts.isEmpty() && verdicts.stream().allMatch(l -> l.startsWith("settled "));
            r = r.withSettled(settled);
            what += "; warm-up " + String.join(", ", verdicts);
        }
        report(r, what);
        return r;
    }

    private void measurePeer(Entry e, String impl, int threads, long bytes, Map<String, String> peerArgs,
                             List<Report.Result> results, List<Report.Absent> absent) {
        PeerProcess p = peer(impl, threads);
        if (p == null) {
            absent.add(new Report.Absent(e.name(), impl, threads, peerFailures.get(impl + "@" + threads)));
            step++;
            return;
        }
        PeerProcess.Answer a = args.quick() ? p.run(e.name(), 5, 0.4, 0.1, peerArgs, 600) : p.run(e.name(), 15, 2.0, 0.5, peerArgs, 900);
        if (a.samplesMs() != null) {
            Report.Result r = Report.summarize(e.name(), impl, threads, a.samplesMs(), bytes);
            report(r, a.samplesMs().size() + " samples");
            results.add(r);
        } else {
            String why = a.absentReason() != null ? a.absentReason() : "failed: " + a.error();
            step++;
            progress(String.format(Locale.ROOT, "%d/%d %s %s %dt: absent (%s)", step, steps, e.name(), impl, threads, why));
            absent.add(new Report.Absent(e.name(), impl, threads, why));
        }
    }

    private void report(Report.Result r, String what) {
        step++;
        progress(String.format(Locale.ROOT, "%d/%d %s %s %dt: %.3f ms (%.3f–%.3f, max/min %.2f%s, %s)", step, steps, r.workload(),
                r.impl(), r.threads(), r.msMedian(), r.msMin(), r.msMax(), r.spread(), r.unstable() ? " unstable" : "", what));
    }

    private void machineInfo() {
        machine.put("date", DateTimeFormatter.ISO_INSTANT.format(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS)));
        machine.put("cpu", cpuModel());
        machine.put("cores", String.valueOf(Runtime.getRuntime().availableProcessors()));
        machine.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        machine.put("jdk", System.getProperty("java.vm.name") + " " + Runtime.version());
        machine.put("mode", args.quick() ? "quick" : "full");
        machine.put("command", ("./entrokit bench " + String.join(" ", argv)).trim());
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }
}
