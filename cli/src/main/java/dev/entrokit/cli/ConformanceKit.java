package dev.entrokit.cli;

import dev.entrokit.Entrokit;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Writes a conformance kit (inputs, the scalar backend's float64-accumulated reference outputs, a
 * manifest) and runs a kit's cases on a backend. Both go through {@link #evaluate}, the steps
 * {@code eval} takes: the same op table, input names, settings and output names.
 */
final class ConformanceKit {
    /** The manifest's file name inside a kit. */
    static final String MANIFEST = "manifest.json";
    /** Names this manifest layout; a reader refuses another. */
    static final String FORMAT = "entrokit-conformance/1";

    private ConformanceKit() {
    }

    /**
     * Writes every case to {@code dir}: {@code inputs/ID/NAME.npy}, {@code reference/ID/NAME.npy} from
     * the scalar backend, and {@code manifest.json}. Returns the number of cases.
     */
    static int generate(Path dir, List<ConformanceCases.Case> cases, ConformanceCases.Size size, int threads) {
        if (Files.isDirectory(dir) && !Files.exists(dir.resolve(MANIFEST)) && !isEmpty(dir)) {
            throw new UserException("DIR " + dir + ": exists, is not empty and holds no " + MANIFEST
                    + "; give a new or empty directory (a kit is rewritten in place)");
        }
        List<Object> manifestCases = new ArrayList<>();
        Entrokit ek = BackendOpener.open("scalar", threads);
        try {
            for (ConformanceCases.Case c : cases) {
                Map<String, String> inputFiles = new LinkedHashMap<>();
                for (Map.Entry<String, NpyArray> in : c.inputs().entrySet()) {
                    String rel = "inputs/" + c.id() + "/" + in.getKey() + ".npy";
                    write(dir.resolve(rel), in.getValue());
                    inputFiles.put(in.getKey(), rel);
                }
                Map<String, NpyArray> outs = evaluate(ek, c.op(), c.settings(), inputFiles, dir);
                List<Integer> exempt = ConformanceBands.exemptRows(c);
                List<Object> outputs = new ArrayList<>();
                for (Map.Entry<String, NpyArray> o : outs.entrySet()) {
                    String rel = c.id() + "/" + o.getKey() + ".npy";
                    write(dir.resolve("reference/" + rel), o.getValue());
                    Tolerance tol = toleranceOf(c.op(), o.getKey());
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("name", o.getKey());
                    m.put("reference", "reference/" + rel);
                    m.put("candidate", rel);
                    m.put("dtype", o.getValue().descr());
                    m.put("shape", Arrays.stream(o.getValue().shape()).boxed().toList());
                    m.put("tolerance", tol.name().toLowerCase(java.util.Locale.ROOT));
                    m.put("rule", rule(tol, o.getValue()));
                    m.put("exempt_rows", tol == Tolerance.EXACT ? exempt : List.of());
                    outputs.add(m);
                }
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("id", c.id());
                m.put("op", c.op().key());
                m.put("settings", new LinkedHashMap<>(c.settings()));
                m.put("inputs", inputFiles);
                m.put("seed", c.seed());
                if (c.seeds().length > 0) {
                    m.put("sample_seeds", Arrays.stream(c.seeds()).boxed().toList());
                }
                m.put("rows", c.rowKinds().size());
                m.put("row_kinds", c.rowKinds());
                m.put("outputs", outputs);
                manifestCases.add(m);
            }
        } finally {
            BackendOpener.close(ek);
        }
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("format", FORMAT);
        manifest.put("entrokit", Map.of("version", version(), "commit", commit()));
        manifest.put("reference_backend", "scalar (float64 accumulation)");
        manifest.put("dtype", "f32");
        manifest.put("size", size.name().toLowerCase(java.util.Locale.ROOT));
        manifest.put("seed", ConformanceCases.SEED);
        manifest.put("candidate_layout", "CAND_DIR/<case id>/<output name>.npy (each output's \"candidate\" path)");
        Map<String, Object> rules = new LinkedHashMap<>();
        for (Tolerance t : Tolerance.values()) {
            rules.put(t.name().toLowerCase(java.util.Locale.ROOT), rule(t, null));
        }
        manifest.put("tolerances", rules);
        manifest.put("cases", manifestCases);
        writeText(dir.resolve(MANIFEST), ConformanceJson.write(manifest));
        return cases.size();
    }

    /**
     * Runs every case of the kit in {@code dir} on {@code backend} and writes each output where
     * {@code check} looks for a candidate's: {@code out/ID/NAME.npy}. Returns the number of cases.
     */
    static int run(Path dir, String backend, int threads, Path out) {
        List<Map<String, Object>> cases = cases(readManifest(dir));
        Entrokit ek = BackendOpener.open(backend, threads);
        try {
            for (Map<String, Object> c : cases) {
                EvalOp op = EvalOp.byName(str(c, "op"));
                Map<String, NpyArray> outs = evaluate(ek, op, strings(c.get("settings")), strings(c.get("inputs")), dir);
                for (Map.Entry<String, NpyArray> o : outs.entrySet()) {
                    write(out.resolve(str(c, "id") + "/" + o.getKey() + ".npy"), o.getValue());
                }
            }
        } finally {
            BackendOpener.close(ek);
        }
        return cases.size();
    }

    /**
     * What {@code eval OP --set ... --in ...} computes: the settings parsed by the op, the input names
     * checked, the files read and narrowed by name, the op prepared and run.
     */
    static Map<String, NpyArray> evaluate(Entrokit ek, EvalOp op, Map<String, String> settings,
                                          Map<String, String> inputFiles, Path dir) {
        var options = op.options(settings);
        op.checkInputNames(inputFiles.keySet());
        op.checkCombination(inputFiles.keySet(), options);
        Map<String, NpyArray> arrays = new LinkedHashMap<>();
        inputFiles.forEach((name, file) -> arrays.put(name, Npy.read(dir.resolve(file))));
        try {
            EvalOp.Call call = op.prepare(ek, new OpInputs(arrays), options);
            call.run();
            return call.outputs();
        } catch (IllegalArgumentException e) {
            throw new UserException(op.key() + ": " + e.getMessage(), e);
        }
    }

    /** The tolerance {@code eval}'s op table declares for output {@code name}. */
    static Tolerance toleranceOf(EvalOp op, String name) {
        return op.outputs().stream().filter(o -> o.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalStateException(op.key() + " wrote an undeclared output " + name)).tolerance();
    }

    /** The rule in words, as the manifest states it. */
    static String rule(Tolerance t, NpyArray out) {
        String special = "; NaN matches NaN, an infinity only the same infinity";
        return switch (t) {
            case ABS_REL -> "|out - ref| <= 1e-6 + 1e-5*|ref|" + special;
            case SCALED -> "|out - ref| <= 1e-5*max(1, |ref|)" + special;
            case TRANSPORT -> "|out - ref| <= 1e-4*max(1, |ref|)" + special;
            case EXACT -> "exact" + (out != null && out.kind() == NpyArray.Kind.FLOAT ? " (bitwise value; NaN matches NaN)"
                    : "") + ", except rows listed in exempt_rows (a float64 cumulative sum within 1e-6 of the threshold)";
        };
    }

    /** The parsed manifest of the kit in {@code dir}; a missing or foreign one is a user error. */
    static Map<String, Object> readManifest(Path dir) {
        Path file = dir.resolve(MANIFEST);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new UserException("DIR " + dir + ": no " + MANIFEST + " (make a kit with 'entrokit conformance generate "
                    + dir + "')");
        } catch (IOException e) {
            throw new UserException(file + ": cannot read (" + e.getClass().getSimpleName() + ")", e);
        }
        Object parsed;
        try {
            parsed = ConformanceJson.parse(text, file.toString());
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        }
        if (!(parsed instanceof Map<?, ?> m) || !FORMAT.equals(m.get("format"))) {
            throw new UserException(file + ": not an entrokit conformance manifest (expected \"format\": \"" + FORMAT + "\")");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> manifest = (Map<String, Object>) m;
        return manifest;
    }

    /** The manifest's cases. */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> cases(Map<String, Object> manifest) {
        Object cases = manifest.get("cases");
        if (!(cases instanceof List<?> l) || l.stream().anyMatch(x -> !(x instanceof Map))) {
            throw new UserException(MANIFEST + ": \"cases\" must be a list of objects");
        }
        return (List<Map<String, Object>>) l;
    }

    /** Field {@code key} of a manifest object as a string; absent is a user error naming it. */
    static String str(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (!(v instanceof String s)) {
            throw new UserException(MANIFEST + ": field \"" + key + "\" missing or not a string in " + m.get("id"));
        }
        return s;
    }

    /** A manifest object of string values. */
    static Map<String, String> strings(Object o) {
        Map<String, String> m = new LinkedHashMap<>();
        if (o instanceof Map<?, ?> map) {
            map.forEach((k, v) -> m.put(String.valueOf(k), String.valueOf(v)));
        }
        return m;
    }

    static void write(Path file, NpyArray array) {
        try {
            Files.createDirectories(file.getParent());
        } catch (IOException e) {
            throw new UncheckedIOException(file.getParent() + ": cannot create the directory", e);
        }
        Npy.write(file, array);
    }

    static void writeText(Path file, String text) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write (" + e.getClass().getSimpleName() + ")", e);
        }
    }

    private static boolean isEmpty(Path dir) {
        try (var s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot list", e);
        }
    }

    private static String version() {
        String v = Entrokit.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0-SNAPSHOT" : v;
    }

    /**
     * The commit the kit was made from: {@code ENTROKIT_COMMIT} when set (a release build sets it),
     * else what git says about the working directory, else {@code unknown}.
     */
    private static String commit() {
        String env = System.getenv("ENTROKIT_COMMIT");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        try {
            Process p = new ProcessBuilder("git", "rev-parse", "HEAD").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 && out.matches("[0-9a-f]{40}") ? out : "unknown";
        } catch (IOException e) {
            return "unknown";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }
}
