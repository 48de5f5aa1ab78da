package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
    @TempDir
    Path dir;

    // ------------------------------------------------------------ round trips of what we write

    @Test
    void float32RoundTripsThroughAFileForEveryRank() {
        long[][] shapes = {{}, {5}, {2, 3}, {2, 3, 4}, {0, 7}};
        for (long[] shape : shapes) {
            int n = (int) Npy.elementCount(shape);
            float[] data = new float[n];
            for (int i = 0; i < n; i++) {
                data[i] = i % 3 == 0 ? Float.NEGATIVE_INFINITY : i * 0.25f - 1;
            }
            if (n > 1) {
                data[1] = Float.NaN;
            }
            Path f = dir.resolve("f" + shape.length + "_" + n + ".npy");
            Npy.write(f, new NpyArray.Float32(shape, data));
            NpyArray back = Npy.read(f);
            NpyArray.Float32 g = assertInstance(NpyArray.Float32.class, back);
            assertArrayEquals(shape, g.shape());
            assertArrayEquals(data, g.data());
        }
    }

    @Test
    void int32AndBoolRoundTrip() {
        int[] ints = {Integer.MIN_VALUE, -100, 0, 7, Integer.MAX_VALUE, 3};
        NpyArray.Int32 i = assertInstance(NpyArray.Int32.class,
                Npy.parse(Npy.toBytes(new NpyArray.Int32(new long[] {2, 3}, ints)), "ints"));
        assertArrayEquals(ints, i.data());
        assertArrayEquals(new long[] {2, 3}, i.shape());

        boolean[] mask = {true, false, false, true, true};
        NpyArray.Bool b = assertInstance(NpyArray.Bool.class,
                Npy.parse(Npy.toBytes(new NpyArray.Bool(new long[] {5}, mask)), "mask"));
        assertArrayEquals(mask, b.data());
        assertArrayEquals(new long[] {5}, b.shape());
    }

    @Test
    void writtenHeaderIsVersion1PaddedTo64BytesAndEndsInNewline() {
        for (NpyArray a : new NpyArray[] {new NpyArray.Float32(new long[] {2, 3}, new float[6]),
                new NpyArray.Int32(new long[] {}, new int[1]), new NpyArray.Bool(new long[] {4}, new boolean[4])}) {
            byte[] bytes = Npy.toBytes(a);
            assertEquals((byte) 0x93, bytes[0]);
            assertEquals("NUMPY", new String(bytes, 1, 5, StandardCharsets.ISO_8859_1));
            assertEquals(1, bytes[6]);
            assertEquals(0, bytes[7]);
            int headerLen = ByteBuffer.wrap(bytes, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff;
            assertEquals(0, (10 + headerLen) % 64, "data must start 64-byte aligned");
            assertEquals('\n', bytes[10 + headerLen - 1]);
            String header = new String(bytes, 10, headerLen, StandardCharsets.ISO_8859_1);
            assertTrue(header.startsWith("{'descr': '" + a.descr() + "', 'fortran_order': False, 'shape': "
                    + NpyArray.shapeString(a.shape()) + ", }"), header);
            assertEquals(10 + headerLen + (long) a.size() * (a instanceof NpyArray.Bool ? 1 : 4), bytes.length);
        }
    }

    @Test
    void shapeStringsFollowPythonTupleSyntax() {
        assertEquals("()", NpyArray.shapeString(new long[] {}));
        assertEquals("(5,)", NpyArray.shapeString(new long[] {5}));
        assertEquals("(2, 3)", NpyArray.shapeString(new long[] {2, 3}));
    }

    // ------------------------------------------------------------ hand-made files of every version

    @Test
    void readsVersion2And3HeadersMadeByHand() {
        float[] values = {1.5f, -2f, 3.25f};
        for (int major : new int[] {1, 2, 3}) {
            byte[] file = npy(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", floats(values));
            NpyArray.Float32 a = assertInstance(NpyArray.Float32.class, Npy.parse(file, "v" + major));
            assertArrayEquals(values, a.data());
            assertArrayEquals(new long[] {3}, a.shape());
        }
    }

    @Test
    void whitespaceIsPythonsNotUnicodes() {
        // ast.literal_eval skips space, tab, form feed and line breaks; NumPy refuses U+3000, U+00A0, VT.
        float[] one = {1f};
        for (String ws : new String[] {" ", "\t", "\f", "\r\n", "\n"}) {
            byte[] file = npy(1, "{'descr': '<f4'," + ws + "'fortran_order': False, 'shape': (1,)}", floats(one));
            assertArrayEquals(one, assertInstance(NpyArray.Float32.class, Npy.parse(file, "ws")).data());
        }
        for (String ws : new String[] {"\u3000", "\u00a0", "\u000b", "\u001c"}) {
            byte[] file = npy(3, "{'descr': '<f4'," + ws + "'fortran_order': False, 'shape': (1,)}", floats(one));
            UserException e = assertThrows(UserException.class, () -> Npy.parse(file, "ws.npy"));
            assertTrue(e.getMessage().contains(String.format("U+%04X", (int) ws.charAt(0))), e.getMessage());
        }
    }

    @Test
    void parsesHeaderVariants() {
        String[] headers = {
            "{'shape': (2, 2), 'fortran_order': False, 'descr': '<f4'}",
            "{ \"descr\" : \"<f4\" , \"fortran_order\" : False , \"shape\" : ( 2 , 2 , ) , }",
            "{'descr':'<f4','fortran_order':False,'shape':(2L, 2L),}",
        };
        float[] values = {1, 2, 3, 4};
        for (String h : headers) {
            NpyArray.Float32 a = assertInstance(NpyArray.Float32.class, Npy.parse(npy(1, h, floats(values)), h));
            assertArrayEquals(new long[] {2, 2}, a.shape(), h);
            assertArrayEquals(values, a.data(), h);
        }
        NpyArray zeroD = Npy.parse(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", floats(9f)), "0-d");
        assertArrayEquals(new long[] {}, zeroD.shape());
        assertEquals(9.0, zeroD.getDouble(0));
    }

    @Test
    void float64AndInt64KeepTheirWidth() {
        // Narrowing is eval's, by input name (OpInputs); compare must see the values as they are.
        double[] values = {0.1, -1e300, 1e-50, Double.NaN};
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            b.putDouble(v);
        }
        NpyArray.Float64 a = assertInstance(NpyArray.Float64.class,
                Npy.parse(npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", b.array()), "f8"));
        assertArrayEquals(values, a.data());
        long[] longs = {-100, 5_000_000_000L, Long.MIN_VALUE};
        NpyArray.Int64 l = assertInstance(NpyArray.Int64.class,
                Npy.parse(npy(2, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", leLongs(longs)), "i8"));
        assertArrayEquals(longs, l.data());
        assertArrayEquals(longs, assertInstance(NpyArray.Int64.class, Npy.parse(Npy.toBytes(l), "back")).data());
    }

    // ------------------------------------------------------------ refusals

    @Test
    void fortranOrderIsRejectedWithAClearMessage() {
        byte[] file = npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", floats(1, 2, 3, 4));
        UserException e = assertThrows(UserException.class, () -> Npy.parse(file, "f.npy"));
        assertTrue(e.getMessage().contains("fortran_order"), e.getMessage());
        assertTrue(e.getMessage().contains("C-order"), e.getMessage());
    }

    @Test
    void malformedFilesGiveOneLineErrors() {
        String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        byte[][] bad = {
            "not numpy at all".getBytes(StandardCharsets.US_ASCII),
            npy(1, header, floats(1f)),                                                     // truncated data
            npy(1, header, floats(1f, 2f, 3f)),                                             // trailing data
            npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", floats(1f, 2f)), // big-endian
            npy(1, "{'descr': '<u4', 'fortran_order': False, 'shape': (2,), }", new byte[8]),
            npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", floats(1f, 2f)),
            npy(1, "{'descr': '<f4', 'shape': (2,), }", floats(1f, 2f)),                    // missing key
            npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,, }", floats(1f, 2f)),
            npy(4, header, floats(1f, 2f)),                                                 // unknown version
            java.util.Arrays.copyOf(npy(1, header, floats(1f, 2f)), 20),                    // truncated header
        };
        for (int i = 0; i < bad.length; i++) {
            byte[] file = bad[i];
            UserException e = assertThrows(UserException.class, () -> Npy.parse(file, "bad.npy"), "case " + i);
            assertTrue(e.getMessage().startsWith("bad.npy: "), e.getMessage());
            assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        }
    }

    /** Headers NumPy 2 refuses (checked with np.load), each with what our message must name. */
    static final String[][] REFUSED = {
        {"1", "{'descr': '<f4', 'fortran_order': False, 'shape': (24), }", "is an int, not a tuple"},
        {"1", "{'descr': '<f4', 'fortran_order': False, 'shape': (024,), }", "leading zero"},
        {"3", "{'descr': '<f4', 'fortran_order': False, 'shape': (\uff12\uff14,), }", "U+FF12"},
        {"3", "{'descr': '<f4', 'fortran_order': False, 'shape': (\u0662\u0664,), }", "U+0662"},
        {"1", "{'descr': '<f4', 'fortran_order': False, 'shape': (24l,), }", "'l'"},
        {"3", "{'descr': '<f4', 'fortran_order': False, 'shape': (24L,), }", "'L'"},
        {"1", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "'-'"},
        {"1", "{'descr': '<f4', 'fortran_order': False, 'shape': [24], }", "'['"},
        {"1", "{'descr': '<f4', 'fortran_order': 0, 'shape': (24,), }", "True or False"},
        {"1", "{'descr': '<f4', 'fortran_order': False, 'shape': (" + "1,".repeat(65) + "), }", "65 dimensions"},
        {"1", "{'descr': '<f4', 'fortran_order': False, 'shape': (" + "0,".repeat(65) + "), }", "65 dimensions"},
        {"1", "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 9223372036854775807), }", "too large"},
        {"1", "{'descr': '<f4', 'fortran_order': False, 'shape': (24,), }" + " ".repeat(10_000), "NumPy loads at most"},
    };

    /** Headers NumPy 2 loads, with the shape it gives (the data: 24 float32 zeros, or none). */
    static final String[][] ACCEPTED = {
        {"1", "{'descr': '<f4', 'fortran_order': False, 'shape': (00,), }", "0"},
        {"1", "{'descr': '<f4', 'fortran_order': False, 'shape': (24L,), }", "24"},
        {"2", "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 12L), }", "2,12"},
        {"1", "{'descr': '<f4', 'fortran_order': False, 'shape': (" + "1,".repeat(63) + "24,), }", "1,".repeat(63) + "24"},
        {"1", "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2147483648), }", "0,2147483648"},
        {"3", "{'descr': '<f4', 'fortran_order': False, 'shape': (2 ,12 , ), }", "2,12"},
    };

    @Test
    void headersNumpyRefusesAreRefused() {
        for (String[] c : REFUSED) {
            byte[] file = npy(Integer.parseInt(c[0]), c[1], floats(new float[24]));
            UserException e = assertThrows(UserException.class, () -> Npy.parse(file, "h.npy"), c[1]);
            assertTrue(e.getMessage().startsWith("h.npy: ") && e.getMessage().contains(c[2]),
                    () -> c[1] + " -> " + e.getMessage());
        }
    }

    @Test
    void headersNumpyLoadsAreLoaded() {
        for (String[] c : ACCEPTED) {
            long[] shape = java.util.Arrays.stream(c[2].split(",")).mapToLong(Long::parseLong).toArray();
            byte[] file = npy(Integer.parseInt(c[0]), c[1], floats(new float[(int) Npy.elementCount(shape)]));
            assertArrayEquals(shape, Npy.parse(file, "h.npy").shape(), c[1]);
        }
    }

    @Test
    void numpyItselfAgreesOnEveryHeader() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(NumPy.available(), "python3 with numpy is not installed");
        java.util.List<Path> refused = new java.util.ArrayList<>();
        java.util.List<Path> accepted = new java.util.ArrayList<>();
        for (String[][] cases : new String[][][] {REFUSED, ACCEPTED}) {
            for (String[] c : cases) {
                long n = cases == REFUSED ? 24 : java.util.Arrays.stream(c[2].split(",")).mapToLong(Long::parseLong)
                        .reduce(1, (x, y) -> x * y);
                Path f = dir.resolve((cases == REFUSED ? "r" : "a") + (cases == REFUSED ? refused : accepted).size() + ".npy");
                java.nio.file.Files.write(f, npy(Integer.parseInt(c[0]), c[1], floats(new float[(int) n])));
                (cases == REFUSED ? refused : accepted).add(f);
            }
        }
        // What we write at NumPy's rank limit must load too.
        Path rank64 = dir.resolve("rank64.npy");
        long[] shape = new long[NpyHeader.MAX_RANK];
        java.util.Arrays.fill(shape, 1);
        Npy.write(rank64, new NpyArray.Float32(shape, new float[] {5f}));
        accepted.add(rank64);
        boolean[] loadsRefused = NumPy.loads(refused);
        for (int i = 0; i < refused.size(); i++) {
            assertFalse(loadsRefused[i], "numpy loads " + REFUSED[i][1] + " that we refuse");
        }
        boolean[] loadsAccepted = NumPy.loads(accepted);
        for (int i = 0; i < accepted.size(); i++) {
            assertTrue(loadsAccepted[i], "numpy refuses " + accepted.get(i) + " that we accept");
        }
    }

    @Test
    void writerRefusesWhatNumpyCannotLoad() {
        long[] shape = new long[NpyHeader.MAX_RANK + 1];
        java.util.Arrays.fill(shape, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Npy.toBytes(new NpyArray.Float32(shape, new float[1])));
        assertTrue(e.getMessage().contains("65 dimensions"), e.getMessage());
        long[] max = new long[NpyHeader.MAX_RANK];
        java.util.Arrays.fill(max, 1);
        assertArrayEquals(max, Npy.parse(Npy.toBytes(new NpyArray.Float32(max, new float[1])), "64").shape());
    }

    @Test
    void missingFileNamesTheFile() {
        Path nope = dir.resolve("nope.npy");
        UserException e = assertThrows(UserException.class, () -> Npy.read(nope));
        assertEquals(nope + ": no such file", e.getMessage());
    }

    // ------------------------------------------------------------ helpers

    /** A .npy file of the given major version, header padded to 64 bytes as NumPy does. */
    static byte[] npy(int major, String dict, byte[] data) {
        int prelude = major == 1 ? 10 : 12;
        byte[] text = dict.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int total = (prelude + text.length + 1 + 63) / 64 * 64;
        int headerLen = total - prelude;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        ByteBuffer len = ByteBuffer.allocate(prelude - 8).order(ByteOrder.LITTLE_ENDIAN);
        if (major == 1) {
            len.putShort((short) headerLen);
        } else {
            len.putInt(headerLen);
        }
        out.writeBytes(len.array());
        out.writeBytes(text);
        out.writeBytes(" ".repeat(headerLen - text.length - 1).getBytes(StandardCharsets.ISO_8859_1));
        out.write('\n');
        out.writeBytes(data);
        return out.toByteArray();
    }

    static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    static byte[] leInts(int... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putInt(v);
        }
        return b.array();
    }

    static byte[] leLongs(long... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return b.array();
    }

    static <T> T assertInstance(Class<T> type, Object o) {
        assertTrue(type.isInstance(o), () -> "expected " + type.getSimpleName() + ", got " + o);
        return type.cast(o);
    }
}
