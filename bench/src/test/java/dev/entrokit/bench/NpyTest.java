package dev.entrokit.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
    @Test
    void headerIsVersion1AndAlignsTheData(@TempDir Path dir) throws IOException {
        byte[] h = Npy.header(2, 3);
        assertEquals(0, h.length % 64);
        String text = new String(h, 10, h.length - 10, StandardCharsets.US_ASCII);
        assertTrue(text.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), text);
        assertTrue(text.endsWith("\n"));
        assertTrue(new String(Npy.header(5), StandardCharsets.US_ASCII).contains("'shape': (5,)"));
    }

    @Test
    void roundTrip(@TempDir Path dir) throws IOException {
        float[] x = {1f, -2.5f, Float.NEGATIVE_INFINITY, 3e-38f, 7f, 0f};
        Path f = dir.resolve("x.npy");
        Npy.writeFloats(f, x, 2, 3);
        assertArrayEquals(x, Npy.readFloats(f, 6));
        assertEquals(Npy.header(2, 3).length + 24, Files.size(f));
        assertThrows(IOException.class, () -> Npy.readFloats(f, 7));
        assertThrows(IllegalArgumentException.class, () -> Npy.writeFloats(f, x, 4, 2));
    }

    @Test
    void intsRoundTrip(@TempDir Path dir) throws IOException {
        int[] ids = {0, 31999, -1, 7};
        Path f = dir.resolve("ids.npy");
        Npy.writeInts(f, ids, 2, 2);
        assertArrayEquals(ids, Npy.readInts(f, 4));
        assertTrue(new String(Files.readAllBytes(f), 0, 64, StandardCharsets.US_ASCII).contains("'descr': '<i4'"));
        assertThrows(IOException.class, () -> Npy.readFloats(f, 4));
    }
}
