package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code entrokit conformance}: a stable kit, entrokit's own backends passing it, and a perturbed candidate failing by row. */
class ConformanceCommandTest {
    @TempDir
    static Path shared;
    private static Path kit;

    @TempDir
    Path dir;

    @BeforeAll
    static void generateOnce() {
        kit = shared.resolve("kit");
        CliRunner.Result r = CliRunner.run("conformance", "generate", kit.toString());
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void generatingTwiceGivesTheSameBytes() throws IOException {
        Path again = dir.resolve("again");
        assertEquals(0, CliRunner.run("conformance", "generate", again.toString()).code());
        List<Path> first = files(kit);
        List<Path> second = files(again);
        assertEquals(first, second);
        assertTrue(first.size() > 100, "inputs and references of every op: " + first.size());
        for (Path p : first) {
            assertArrayEquals(Files.readAllBytes(kit.resolve(p)), Files.readAllBytes(again.resolve(p)), p.toString());
        }
    }

    @Test
    void manifestLabelsEveryRowAndStatesToleranceAndSeeds() throws IOException {
        Map<String, Object> manifest = ConformanceKit.readManifest(kit);
        assertEquals("f32", manifest.get("dtype"));
        assertEquals(ConformanceCases.SEED, ((Number) manifest.get("seed")).longValue());
        Set<String> ops = new java.util.HashSet<>();
        Set<String> kinds = new java.util.HashSet<>();
        for (Map<String, Object> c : ConformanceKit.cases(manifest)) {
            ops.add((String) c.get("op"));
            List<?> rowKinds = (List<?>) c.get("row_kinds");
            assertEquals(((Number) c.get("rows")).intValue(), rowKinds.size(), c.get("id").toString());
            rowKinds.forEach(k -> kinds.add(k.toString()));
            for (Object o : (List<?>) c.get("outputs")) {
                Map<?, ?> out = (Map<?, ?>) o;
                EvalOp op = EvalOp.byName((String) c.get("op"));
                assertEquals(ConformanceKit.toleranceOf(op, (String) out.get("name")).name().toLowerCase(),
                        out.get("tolerance"));
                NpyArray ref = Npy.read(kit.resolve((String) out.get("reference")));
                if (ref.kind() != NpyArray.Kind.FLOAT) {
                    assertEquals("exact", out.get("tolerance"), "integer and boolean outputs compare exactly");
                }
            }
            if (c.get("id").equals("sample-v7-step3")) {
                assertEquals(rowKinds.size(), ((List<?>) c.get("sample_seeds")).size());
            }
        }
        for (EvalOp op : EvalOp.values()) {
            assertEquals(ConformanceCases.inKit(op), ops.contains(op.key()), "a case for " + op.key());
        }
        for (String k : List.of("masked teacher", "a token underflowing in both", "three FLT_MAX ties", "+1e4 offset",
                "one live token (last)", "near-uniform", "one-hot", "ties", "NaN middle")) {
            assertTrue(kinds.contains(k), k);
        }
    }

    @Test
    void entrokitsSimdBackendPassesTheKit() {
        Path cand = dir.resolve("simd");
        assertEquals(0, CliRunner.run("conformance", "run", kit.toString(), "--backend", "simd", "--out", cand.toString())
                .code());
        List<ConformanceCheck.Verdict> verdicts = ConformanceCheck.check(kit, cand);
        for (ConformanceCheck.Verdict v : verdicts) {
            assertEquals(ConformanceCheck.Status.PASS, v.status(), v.caseId() + " " + v.output() + ": " + v.first());
        }
        CliRunner.Result r = CliRunner.run("conformance", "check", kit.toString(), "--candidate", cand.toString());
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().strip().endsWith("OK"), r.out());
    }

    @Test
    void scalarMatchesItsOwnReferenceExactly() {
        Path cand = scalarCandidate();
        for (ConformanceCheck.Verdict v : ConformanceCheck.check(kit, cand)) {
            assertEquals(ConformanceCheck.Status.PASS, v.status());
            assertEquals(0.0, v.worst(), v.caseId() + " " + v.output());
        }
    }

    @Test
    void onePerturbedEntryFailsAndNamesItsRowAndKind() throws IOException {
        Path cand = scalarCandidate();
        Path probs = cand.resolve("softmax-v7/probs.npy");
        NpyArray.Float32 p = (NpyArray.Float32) Npy.read(probs);
        int v = 7;
        int row = 4; // "all equal": 1/7 each
        p.data()[row * v + 2] += 3e-6f; // 1e-6 + 1e-5/7 ≈ 2.4e-6 allowed: just beyond
        Npy.write(probs, p);
        Path report = dir.resolve("report.json");
        Path junit = dir.resolve("junit.xml");
        CliRunner.Result r = CliRunner.run("conformance", "check", kit.toString(), "--candidate", cand.toString(),
                "--report", report.toString(), "--junit", junit.toString());
        assertEquals(1, r.code(), r.out());
        String line = r.out().lines().filter(l -> l.startsWith("softmax ")).findFirst().orElseThrow();
        assertTrue(line.contains("fail") && line.contains("softmax-v7: row 4 (all equal) at [4, 2]"), line);
        assertTrue(r.out().lines().filter(l -> l.startsWith("log_softmax ")).findFirst().orElseThrow().contains("pass"));
        String xml = Files.readString(junit);
        assertTrue(xml.contains("<testcase classname=\"softmax\" name=\"probs\">\n    <failure message=\"softmax-v7: row 4 "
                + "(all equal)"), xml);
        assertTrue(xml.contains("failures=\"1\""), xml);
        Map<?, ?> json = (Map<?, ?>) ConformanceJson.parse(Files.readString(report), "report");
        Map<?, ?> failed = ((List<?>) json.get("cases")).stream().map(x -> (Map<?, ?>) x)
                .filter(x -> "fail".equals(x.get("status"))).findFirst().orElseThrow();
        assertEquals("softmax-v7", failed.get("case"));
        assertEquals("all equal", failed.get("first_failure_kind"));
        assertEquals(1L, ((Number) failed.get("failing_elements")).longValue());
    }

    @Test
    void exactOutputsAndSpecialValuesAdmitNoError() {
        Path cand = scalarCandidate();
        // top_k's indices: the tie order of row 13 ("ties": 4, 1, -2 repeating) swapped.
        Path idx = cand.resolve("top_k-v7-k5/indices.npy");
        NpyArray.Int32 i = (NpyArray.Int32) Npy.read(idx);
        int t = i.data()[13 * 5];
        i.data()[13 * 5] = i.data()[13 * 5 + 1];
        i.data()[13 * 5 + 1] = t;
        Npy.write(idx, i);
        // entropy of "NaN first" (row 16) must stay NaN: a finite value there is a failure however small.
        Path h = cand.resolve("entropy-v7/entropy.npy");
        NpyArray.Float32 e = (NpyArray.Float32) Npy.read(h);
        assertTrue(Float.isNaN(e.data()[16]));
        e.data()[16] = 0f;
        Npy.write(h, e);
        List<ConformanceCheck.Verdict> verdicts = ConformanceCheck.check(kit, cand);
        ConformanceCheck.Verdict topk = find(verdicts, "top_k-v7-k5", "indices");
        assertEquals(ConformanceCheck.Status.FAIL, topk.status());
        assertEquals("ties", topk.firstKind());
        ConformanceCheck.Verdict entropy = find(verdicts, "entropy-v7", "entropy");
        assertEquals(ConformanceCheck.Status.FAIL, entropy.status());
        assertTrue(entropy.first().startsWith("row 16 (NaN first) at [16]: got 0.0, expected NaN"), entropy.first());
    }

    @Test
    void missingOutputsFailUnlessAllowed() throws IOException {
        Path cand = scalarCandidate();
        Files.delete(cand.resolve("kl-v33/grad.npy"));
        CliRunner.Result strict = CliRunner.run("conformance", "check", kit.toString(), "--candidate", cand.toString());
        assertEquals(1, strict.code());
        assertTrue(strict.out().lines().anyMatch(l -> l.startsWith("kl ") && l.contains("grad") && l.contains("missing")),
                strict.out());
        Path junit = dir.resolve("j.xml");
        CliRunner.Result allowed = CliRunner.run("conformance", "check", kit.toString(), "--candidate", cand.toString(),
                "--allow-missing", "--junit", junit.toString());
        assertEquals(0, allowed.code(), allowed.out());
        assertTrue(Files.readString(junit).contains("<skipped message=\"missing"));
    }

    @Test
    void aCandidateOfTheWrongShapeFailsThatOutputOnly() {
        Path cand = scalarCandidate();
        Npy.write(cand.resolve("logsumexp-v7/lse.npy"), new NpyArray.Float32(new long[] {2}, new float[2]));
        ConformanceCheck.Verdict v = find(ConformanceCheck.check(kit, cand), "logsumexp-v7", "lse");
        assertEquals(ConformanceCheck.Status.FAIL, v.status());
        assertTrue(v.first().startsWith("shape (2,), expected"), v.first());
    }

    @Test
    void rowsNearTheThresholdAreExemptAndNotCompared() {
        // Ten equal logits: the cumulative sums are 0.1, 0.2, ..., so p = 0.3 falls on one (within 1e-6).
        float[] equal = new float[20];
        java.util.Arrays.fill(equal, 0, 10, 1f);
        for (int i = 10; i < 20; i++) {
            equal[i] = i - 10;
        }
        Map<String, NpyArray> in = new LinkedHashMap<>();
        in.put("logits", new NpyArray.Float32(new long[] {2, 10}, equal));
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("temperature", "1");
        settings.put("p", "0.3");
        ConformanceCases.Case c = new ConformanceCases.Case("t", EvalOp.TOP_P_OP, settings, in, List.of("a", "b"), 0,
                new long[0]);
        assertEquals(List.of(0), ConformanceBands.exemptRows(c));
        settings.put("p", "0.35");
        assertEquals(List.of(), ConformanceBands.exemptRows(c));
    }

    @Test
    void halfPrecisionIsRefusedByName() {
        for (String dtype : new String[] {"bf16", "f16"}) {
            CliRunner.Result r = CliRunner.run("conformance", "generate", dir.resolve(dtype).toString(), "--dtype", dtype);
            assertEquals(2, r.code());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("--dtype " + dtype + ": not supported yet"), r.err());
            assertFalse(Files.exists(dir.resolve(dtype)), "nothing written before the refusal");
        }
    }

    @Test
    void userErrorsAreOneLineAndStatusTwo() throws IOException {
        assertOneLine(CliRunner.run("conformance", "generate", dir.resolve("k").toString(), "--ops", "softmax,sofmax"),
                "unknown op 'sofmax'");
        assertOneLine(CliRunner.run("conformance", "generate", dir.resolve("m").toString(), "--ops", "softmax,speculative"),
                "--ops speculative: not in the conformance kit");
        assertOneLine(CliRunner.run("conformance", "check", dir.toString(), "--candidate", dir.toString()),
                "no manifest.json");
        assertOneLine(CliRunner.run("conformance", "check", kit.toString(), "--candidate", dir.resolve("none").toString()),
                "not a directory");
        Files.writeString(dir.resolve("notes.txt"), "mine");
        assertOneLine(CliRunner.run("conformance", "generate", dir.toString()), "holds no manifest.json");
    }

    private static void assertOneLine(CliRunner.Result r, String expected) {
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(expected), r.err());
    }

    private Path scalarCandidate() {
        Path cand = dir.resolve("scalar");
        CliRunner.Result r = CliRunner.run("conformance", "run", kit.toString(), "--backend", "scalar", "--out",
                cand.toString());
        assertEquals(0, r.code(), r.err());
        return cand;
    }

    private static ConformanceCheck.Verdict find(List<ConformanceCheck.Verdict> verdicts, String caseId, String output) {
        return verdicts.stream().filter(v -> v.caseId().equals(caseId) && v.output().equals(output)).findFirst()
                .orElseThrow();
    }

    private static List<Path> files(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).map(root::relativize).sorted().toList();
        }
    }
}
