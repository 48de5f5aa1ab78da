package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.DType;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code eval} on half-precision inputs: {@code <f2} files, and {@code <u2} files read as bfloat16 patterns with
 * {@code --set dtype=bf16}, give the bytes of the same op on the widened float32 values; {@code out_dtype} writes
 * the outputs shaped like the logits rounded once to the half type.
 */
class EvalHalfTest {
    private static final float[] LOGITS = {0.5f, -1f, 2f, 21.375f, 3f, Float.NEGATIVE_INFINITY, 1f, -0.5f, 70000f, 0.1f};
    private static final long[] SHAPE = {2, 5};

    @TempDir
    Path dir;

    private Path write(String name, NpyArray a) {
        Path p = dir.resolve(name + ".npy");
        Npy.write(p, a);
        return p;
    }

    private NpyArray read(String rel) {
        return Npy.read(dir.resolve(rel));
    }

    private CliRunner.Result eval(String op, String out, String... extra) {
        String[] base = {"eval", op, "--backend", "scalar", "--out", dir.resolve(out).toString()};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return CliRunner.run(args);
    }

    @Test
    void halfFilesGiveTheResultsOfTheirWidenedValues() {
        for (DType d : new DType[] {DType.F16, DType.BF16}) {
            NpyArray.Half half = NpyArray.Half.rounded(SHAPE, LOGITS, d);
            Path halfFile = write("half-" + d, d == DType.F16 ? half : new NpyArray.UInt16(SHAPE, half.bits()));
            Path wide = write("wide-" + d, new NpyArray.Float32(SHAPE, half.widened()));
            String[] dtype = d == DType.BF16 ? new String[] {"--set", "dtype=bf16"} : new String[0];
            for (String op : new String[] {"softmax", "log_softmax", "entropy", "top_k"}) {
                String[] k = op.equals("top_k") ? new String[] {"--set", "k=3"} : new String[0];
                CliRunner.Result a = eval(op, "a-" + d + op, concat(concat(dtype, k), "--in", "logits=" + halfFile));
                assertEquals(0, a.code(), a.err());
                CliRunner.Result b = eval(op, "b-" + d + op, concat(k, "--in", "logits=" + wide));
                assertEquals(0, b.code(), b.err());
                for (String out : op.equals("top_k") ? new String[] {"indices", "values", "probs"}
                        : op.equals("entropy") ? new String[] {"entropy"} : new String[] {op.equals("softmax") ? "probs" : "logprobs"}) {
                    NpyArray x = read("a-" + d + op + "/" + out + ".npy");
                    NpyArray y = read("b-" + d + op + "/" + out + ".npy");
                    assertEquals(y.descr(), x.descr(), op + " " + out);
                    for (int i = 0; i < x.size(); i++) {
                        assertEquals(Double.doubleToLongBits(y.getDouble(i)), Double.doubleToLongBits(x.getDouble(i)),
                                d + " " + op + " " + out + "[" + i + "]");
                    }
                }
            }
            // Half outputs: the float32 probabilities rounded once.
            CliRunner.Result h = eval("softmax", "h-" + d, concat(dtype, "--set", "out_dtype=" + (d == DType.F16 ? "f16"
                    : "bf16"), "--in", "logits=" + halfFile));
            assertEquals(0, h.code(), h.err());
            NpyArray probs = read("h-" + d + "/probs.npy");
            NpyArray f32 = read("b-" + d + "softmax/probs.npy");
            assertEquals(d == DType.F16 ? "<f2" : "<u2", probs.descr());
            assertArrayEquals(SHAPE, probs.shape());
            for (int i = 0; i < probs.size(); i++) {
                short bits = probs instanceof NpyArray.Half p ? p.bits()[i] : ((NpyArray.UInt16) probs).bits()[i];
                short expected = d.narrow((float) f32.getDouble(i));
                assertTrue(bits == expected || Float.isNaN(d.widen(bits)) && Float.isNaN(d.widen(expected)),
                        d + " probs[" + i + "]");
            }
        }
    }

    @Test
    void rawPatternsWithoutADtypeAndBadDtypesAreRefusedInOneLine() {
        Path raw = write("raw", new NpyArray.UInt16(SHAPE, new short[10]));
        CliRunner.Result r = eval("softmax", "r", "--in", "logits=" + raw);
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("logits: <u2 holds raw 16-bit patterns; add --set dtype=bf16"), r.err());
        CliRunner.Result bad = eval("softmax", "b", "--set", "out_dtype=f64", "--in", "logits=" + raw);
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("out_dtype: expected f32, bf16 or f16, got 'f64'"), bad.err());
        CliRunner.Result f32 = eval("softmax", "c", "--set", "dtype=f32", "--in", "logits=" + raw);
        assertEquals(2, f32.code());
        assertTrue(f32.err().contains("dtype: expected bf16 or f16"), f32.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
