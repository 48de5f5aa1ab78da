package dev.entrokit.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code .npy} format (version 1.0, little-endian float32 or int32, C order) for the inputs that entrokit
 * and its peers read: written once by the runner, read by every JMH fork and peer process.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    private Npy() {
    }

    /** The header for a float32 array of {@code shape}, padded so the data starts at a multiple of 64. */
    static byte[] header(long... shape) {
        return header("<f4", shape);
    }

    /** The header for an array of {@code descr} ({@code <f4}, {@code <i4}) and {@code shape}, padded as above. */
    static byte[] header(String descr, long... shape) {
        StringBuilder dims = new StringBuilder();
        for (long d : shape) {
            dims.append(d).append(", ");
        }
        if (shape.length > 1) {
            dims.setLength(dims.length() - 2);
        } else if (shape.length == 1) {
            dims.setLength(dims.length() - 1);
        }
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
        int unpadded = MAGIC.length + 2 + dict.length() + 1;
        int pad = (64 - unpadded % 64) % 64;
        String text = dict + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 2 + text.length()).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putShort((short) text.length()).put(text.getBytes(StandardCharsets.US_ASCII));
        return b.array();
    }

    /** Writes {@code data} as float32 of {@code shape} to {@code file}, atomically (a temp file, then a rename). */
    public static void writeFloats(Path file, float[] data, long... shape) throws IOException {
        write(file, "<f4", data.length, (buf, i) -> buf.putFloat(data[i]), shape);
    }

    /** Writes {@code data} as little-endian int32 ({@code <i4}) of {@code shape}, as {@link #writeFloats}. */
    public static void writeInts(Path file, int[] data, long... shape) throws IOException {
        write(file, "<i4", data.length, (buf, i) -> buf.putInt(data[i]), shape);
    }

    /** Puts element {@code i} of the data being written into the buffer. */
    private interface Element {
        void put(ByteBuffer buf, int i);
    }

    private static void write(Path file, String descr, int length, Element element, long... shape) throws IOException {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != length) {
            throw new IllegalArgumentException("shape holds " + n + " elements, data " + length);
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(header(descr, shape)));
            ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < length; i++) {
                if (!buf.hasRemaining()) {
                    buf.flip();
                    while (buf.hasRemaining()) {
                        ch.write(buf);
                    }
                    buf.clear();
                }
                element.put(buf, i);
            }
            buf.flip();
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Reads a little-endian float32 {@code .npy} file in C order; the shape must hold {@code expected} elements. */
    public static float[] readFloats(Path file, long expected) throws IOException {
        ByteBuffer b = data(file, "<f4", expected);
        float[] out = new float[(int) expected];
        b.asFloatBuffer().get(out);
        return out;
    }

    /** Reads a little-endian int32 ({@code <i4}) {@code .npy} file in C order, as {@link #readFloats}. */
    public static int[] readInts(Path file, long expected) throws IOException {
        ByteBuffer b = data(file, "<i4", expected);
        int[] out = new int[(int) expected];
        b.asIntBuffer().get(out);
        return out;
    }

    /** The file's data, positioned after the header, once its type is {@code descr} and its shape holds {@code expected}. */
    private static ByteBuffer data(Path file, String descr, long expected) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < MAGIC.length - 2; i++) {
            if (b.get() != MAGIC[i]) {
                throw new IOException(file + ": not an .npy file");
            }
        }
        int major = b.get();
        b.get();
        int headerLen = major == 1 ? Short.toUnsignedInt(b.getShort()) : b.getInt();
        String header = new String(all, b.position(), headerLen, StandardCharsets.US_ASCII);
        if (!header.contains("'descr': '" + descr + "'") || header.contains("'fortran_order': True")) {
            throw new IOException(file + ": expected " + descr + " in C order, got " + header.trim());
        }
        Matcher m = SHAPE.matcher(header);
        long n = 1;
        if (m.find()) {
            for (String d : m.group(1).split(",")) {
                if (!d.isBlank()) {
                    n *= Long.parseLong(d.trim());
                }
            }
        }
        if (n != expected) {
            throw new IOException(file + ": holds " + n + " elements, expected " + expected);
        }
        b.position(b.position() + headerLen);
        return b.slice().order(ByteOrder.LITTLE_ENDIAN);
    }
}
