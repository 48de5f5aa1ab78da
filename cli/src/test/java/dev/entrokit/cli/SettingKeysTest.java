package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Loss;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One meaning per setting key, the old spellings still accepted where an op takes the setting, and the
 * loss ops derived from the library's op table {@link Loss}.
 */
class SettingKeysTest {
    private static final int V = 5;
    private static final float[] LOGITS = {0.5f, -1f, 2f, 0.25f, 3f, Float.NEGATIVE_INFINITY, 1f, -0.5f, 1f, 0f,
        -2f, 0.5f, 2.5f, -1f, 0.75f, 0f, 1.5f, 0.5f, -0.25f, 2f};

    @TempDir
    Path dir;

    @Test
    void everyKeyNamesOneSettingAndNoKeyIsAnotherOnesAlias() {
        Map<String, Setting> byKey = new HashMap<>();
        for (Setting s : Setting.values()) {
            assertEquals(null, byKey.put(s.key(), s), "two settings share the key " + s.key());
        }
        for (EvalOp op : EvalOp.values()) {
            Map<String, Setting> names = new HashMap<>();
            for (Setting s : op.settings()) {
                for (String name : s.alias() == null ? List.of(s.key()) : List.of(s.key(), s.alias())) {
                    Setting before = names.put(name, s);
                    assertTrue(before == null, op.key() + ": '" + name + "' names " + before + " and " + s);
                }
            }
        }
    }

    @Test
    void oldSpellingsGiveTheSameBytesAsTheNewKeys() throws Exception {
        Path logits = write("logits", new NpyArray.Float32(new long[] {2, 2, V}, LOGITS));
        Path ids = write("ids", new NpyArray.Int32(new long[] {2, 2}, new int[] {2, 0, 1, 4}));
        Path flat = write("flat", new NpyArray.Float32(new long[] {4, V}, LOGITS));
        assertSameOutputs("min_k_prob", "k_fraction=0.5", "k=0.5", "score", "--in", "logits=" + logits, "--in", "ids=" + ids);
        assertSameOutputs("min_k_pp", "k_fraction=1", "k=1", "score", "--in", "logits=" + logits, "--in", "ids=" + ids);
        assertSameOutputs("top_h", "entropy_fraction=0.3", "alpha=0.3", "mask", "--in", "logits=" + flat);
    }

    @Test
    void theOldAndTheNewNameTogetherAreRefused() {
        Path flat = write("flat", new NpyArray.Float32(new long[] {4, V}, LOGITS));
        CliRunner.Result r = CliRunner.run("eval", "top_h", "--set", "alpha=0.3", "--set", "entropy_fraction=0.4",
                "--in", "logits=" + flat, "--out", dir.resolve("both").toString());
        assertEquals(2, r.code(), r.out());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("entropy_fraction: given twice (alpha is its old name)"), r.err());
        // The alias is the op's own: on a divergence, alpha is the order and k_fraction is no setting at all.
        CliRunner.Result k = CliRunner.run("eval", "top_k", "--set", "k_fraction=0.5", "--in", "logits=" + flat,
                "--out", dir.resolve("k").toString());
        assertEquals(2, k.code(), k.out());
        assertTrue(k.err().contains("op top_k has no setting 'k_fraction'; it accepts temperature, k"), k.err());
        CliRunner.Result bad = CliRunner.run("eval", "min_k_prob", "--set", "k=5", "--in", "logits=" + flat,
                "--out", dir.resolve("bad").toString());
        assertEquals(2, bad.code(), bad.out());
        assertTrue(bad.err().contains("k_fraction: must be a fraction in (0, 1] (0.2 = 20 %), got 5"), bad.err());
    }

    @Test
    void theHelpListsTheOldNames() {
        String help = EvalOp.helpTable();
        String nl = System.lineSeparator(); // String.format's %n, as in the settings' rows above them
        assertTrue(help.contains("  alpha                  = entropy_fraction (top_h)" + nl), help);
        assertTrue(help.contains("  k                      = k_fraction (min_k_prob, min_k_pp)" + nl), help);
    }

    @Test
    void everyTeacherStudentLossOfTheOpTableIsAnEvalOp() {
        for (Loss loss : Loss.values()) {
            EvalOp op = EvalOp.byName(loss.cliName());
            if (loss == Loss.ENTROPY) {
                continue; // eval's entropy is the SPEC §1 value op: one entropy per row, no gradient output
            }
            List<String> outputs = op.outputs().stream().map(EvalOp.Output::name).toList();
            assertEquals(loss.hasGradient(), outputs.contains("grad"), loss + ": " + outputs);
            assertTrue(outputs.contains("loss"), loss + ": " + outputs);
            if (loss.reads() == Loss.Reads.TEACHER) {
                List<String> inputs = new java.util.ArrayList<>(op.required());
                inputs.addAll(op.oneOf()); // cross_entropy: student, and teacher or labels
                assertTrue(inputs.containsAll(List.of("teacher", "student")), loss + ": " + inputs);
                boolean takesParameter = switch (loss.parameter()) {
                    case NONE -> true;
                    case BETA -> op.settings().contains(Setting.BETA);
                    case ALPHA -> op.settings().contains(Setting.DIV_ALPHA);
                };
                assertTrue(takesParameter, loss + " takes its parameter: " + op.settings());
                assertFalse(op.settings().contains(Setting.ALPHA), loss + ": alpha means the order here alone");
            }
        }
    }

    private void assertSameOutputs(String op, String newSet, String oldSet, String output, String... inputs)
            throws Exception {
        byte[][] bytes = new byte[2][];
        String[] sets = {newSet, oldSet};
        for (int i = 0; i < 2; i++) {
            List<String> args = new java.util.ArrayList<>(List.of("eval", op, "--backend", "scalar", "--set", sets[i]));
            args.addAll(List.of(inputs));
            args.addAll(List.of("--out", dir.resolve(op + i).toString()));
            CliRunner.Result r = CliRunner.run(args.toArray(String[]::new));
            assertEquals(0, r.code(), r.err());
            bytes[i] = Files.readAllBytes(dir.resolve(op + i).resolve(output + ".npy"));
        }
        assertArrayEquals(bytes[0], bytes[1], op + ": " + newSet + " vs " + oldSet);
    }

    private Path write(String name, NpyArray a) {
        Path p = dir.resolve(name + ".npy");
        Npy.write(p, a);
        return p;
    }
}
