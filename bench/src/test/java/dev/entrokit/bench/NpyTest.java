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
    void filesAreTheClisNpyVersion1WithAlignedData(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("x.npy");
        Npy.writeFloats(f, new float[6], 2, 3);
        byte[] b = Files.readAllBytes(f);
        int headerLength = (b[8] & 0xff) | (b[9] & 0xff) << 8;
        assertEquals(1, b[6], "version 1.0");
        assertEquals(0, (10 + headerLength) % 64, "data aligned to 64 bytes");
        String text = new String(b, 10, headerLength, StandardCharsets.US_ASCII);
        assertTrue(text.contains("'descr': '<f4'") && text.contains("'shape': (2, 3)"), text);
        assertTrue(text.endsWith("\n"));
        assertArrayEquals(b, dev.entrokit.cli.Npy.toBytes(new dev.entrokit.cli.NpyArray.Float32(new long[] {2, 3},
                new float[6])), "the bench writes what the CLI writes");
    }

    @Test
    void roundTrip(@TempDir Path dir) throws IOException {
        float[] x = {1f, -2.5f, Float.NEGATIVE_INFINITY, 3e-38f, 7f, 0f};
        Path f = dir.resolve("x.npy");
        Npy.writeFloats(f, x, 2, 3);
        assertArrayEquals(x, Npy.readFloats(f, 6));
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
