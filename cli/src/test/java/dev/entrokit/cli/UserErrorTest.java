package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input of every kind: status 2, one line on stderr naming the problem, no stack trace. */
class UserErrorTest {
    @TempDir
    Path dir;
    private String logits;
    private String teacher;
    private String out;

    @BeforeEach
    void files() {
        logits = dir.resolve("logits.npy").toString();
        teacher = dir.resolve("teacher.npy").toString();
        Npy.write(Path.of(logits), new NpyArray.Float32(new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}));
        Npy.write(Path.of(teacher), new NpyArray.Float32(new long[] {2, 4}, new float[8]));
        out = dir.resolve("out").toString();
    }

    @Test
    void unknownOp() {
        assertUserError("unknown op 'softmaxx'", "eval", "softmaxx", "--in", "logits=" + logits, "--out", out);
    }

    @Test
    void missingInput() {
        assertUserError("needs input 'logits'", "eval", "softmax", "--out", out);
    }

    @Test
    void inputTheOpDoesNotTake() {
        assertUserError("has no input 'labels'", "eval", "kl", "--in", "labels=" + logits, "--in", "teacher=" + logits,
                "--in", "student=" + logits, "--out", out);
    }

    @Test
    void missingFile() {
        assertUserError("nope.npy: no such file", "eval", "softmax", "--in", "logits=" + dir.resolve("nope.npy"),
                "--out", out);
    }

    @Test
    void unreadableFile() throws IOException {
        Path junk = Files.writeString(dir.resolve("junk.npy"), "hello");
        assertUserError("not a .npy file", "eval", "softmax", "--in", "logits=" + junk, "--out", out);
    }

    @Test
    void shapeMismatch() {
        assertUserError("teacher: shape (2, 4) does not match student (2, 3)", "eval", "kl", "--in",
                "teacher=" + teacher, "--in", "student=" + logits, "--out", out);
    }

    @Test
    void labelsOfTheWrongShape() {
        Path labels = dir.resolve("labels.npy");
        Npy.write(labels, new NpyArray.Int32(new long[] {3}, new int[] {0, 1, 2}));
        assertUserError("labels: shape (3,)", "eval", "cross_entropy", "--in", "student=" + logits, "--in",
                "labels=" + labels, "--out", out);
    }

    @Test
    void topKBeyondVIsRefusedBeforeItsOutputsAreAllocated() {
        for (String k : new String[] {"4", "536870912", "1073741824"}) {
            assertUserError("k: must be <= V = 3 (the last dimension of logits (2, 3)), got " + k, "eval", "top_k", "--set", "k=" + k, "--in",
                    "logits=" + logits, "--out", out);
        }
    }

    @Test
    void labelOutOfRangeComesBackFromTheLibrary() {
        Path labels = dir.resolve("labels.npy");
        Npy.write(labels, new NpyArray.Int32(new long[] {2}, new int[] {0, 7}));
        assertUserError("labels: 7 at row 1", "eval", "cross_entropy", "--in", "student=" + logits, "--in",
                "labels=" + labels, "--out", out);
    }

    @Test
    void badSettingValues() {
        assertUserError("temperature: must be finite and > 0", "eval", "softmax", "--set", "temperature=0", "--in",
                "logits=" + logits, "--out", out);
        assertUserError("temperature: 'warm' is not a number", "eval", "softmax", "--set", "temperature=warm", "--in",
                "logits=" + logits, "--out", out);
        assertUserError("beta: must be in [0, 1]", "eval", "jsd", "--set", "beta=2", "--in", "teacher=" + logits,
                "--in", "student=" + logits, "--out", out);
        assertUserError("ignore_index: '1.5' is not a 32-bit integer", "eval", "cross_entropy", "--set",
                "ignore_index=1.5", "--in", "student=" + logits, "--in", "teacher=" + logits, "--out", out);
    }

    @Test
    void settingTheOpDoesNotHave() {
        assertUserError("op kl has no setting 'beta'", "eval", "kl", "--set", "beta=0.5", "--in", "teacher=" + logits,
                "--in", "student=" + logits, "--out", out);
    }

    @Test
    void malformedAndRepeatedPairs() {
        assertUserError("--set: expected NAME=VALUE", "eval", "softmax", "--set", "temperature", "--in",
                "logits=" + logits, "--out", out);
        assertUserError("'logits' given more than once", "eval", "softmax", "--in", "logits=" + logits, "--in",
                "logits=" + logits, "--out", out);
    }

    @Test
    void unknownBackend() {
        assertUserError("backend: unknown 'gpu'", "eval", "softmax", "--backend", "gpu", "--in", "logits=" + logits,
                "--out", out);
    }

    @Test
    void unavailableBackendGivesItsReasons() {
        assertUserError("backend 'cuda' was requested but is unavailable", "eval", "softmax", "--backend", "cuda",
                "--in", "logits=" + logits, "--out", out);
    }

    @Test
    void outputDirectoryThatIsAFile() {
        assertUserError("exists and is not a directory", "eval", "softmax", "--in", "logits=" + logits, "--out", logits);
    }

    @Test
    void picocliParseErrorsAreOneLineToo() {
        assertUserError("Missing required option: '--out=DIR'", "eval", "softmax", "--in", "logits=" + logits);
        assertUserError("Unmatched argument", "frobnicate");
        assertUserError("Invalid value for option '--rtol'", "compare", logits, logits, "--rtol", "lots");
    }

    @Test
    void noCommandPrintsUsageAndFails() {
        CliRunner.Result r = CliRunner.run();
        assertEquals(2, r.code());
        assertTrue(r.err().contains("Usage: entrokit"), r.err());
    }

    private static void assertUserError(String expected, String... args) {
        CliRunner.Result r = CliRunner.run(args);
        assertEquals(2, r.code(), () -> String.join(" ", args) + "\nstdout: " + r.out() + "\nstderr: " + r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), () -> "one line expected, got:\n" + r.err());
        assertTrue(err.contains(expected), () -> "expected '" + expected + "' in: " + err);
        assertFalse(err.contains("Exception") || err.contains("\tat "), () -> "no stack trace expected: " + err);
    }
}
