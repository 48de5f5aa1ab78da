package dev.entrokit.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads and writes NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0, C order).
 *
 * <p>Reading accepts {@code <f4}, {@code <f8} (narrowed to float32), {@code <i4}, {@code <i8} (narrowed
 * to int32, refused when a value does not fit) and {@code |b1}. Writing always produces version 1.0
 * with {@code <f4}, {@code <f8} (Sinkhorn's float64 outputs), {@code <i4} or {@code |b1}, the header
 * padded with spaces so the data starts at a multiple of 64 bytes, as NumPy itself writes. Every problem with a file is a {@link UserException}
 * that names the file.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int ALIGN = 64;

    private Npy() {
    }

    /** Reads {@code file}; a missing, unreadable or malformed file is a one-line {@link UserException}. */
    public static NpyArray read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new UserException(file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new UserException(file + ": permission denied");
        } catch (IOException | OutOfMemoryError e) {
            throw new UserException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(bytes, file.toString());
    }

    /** Parses the bytes of a {@code .npy} file; {@code source} names it in error messages. */
    public static NpyArray parse(byte[] bytes, String source) {
        try {
            return parse(bytes);
        } catch (IllegalArgumentException e) {
            throw new UserException(source + ": " + e.getMessage(), e);
        }
    }

    private static NpyArray parse(byte[] bytes) {
        if (bytes.length < MAGIC.length + 2 || !startsWithMagic(bytes)) {
            throw new IllegalArgumentException("not a .npy file (no \\x93NUMPY magic)");
        }
        int major = bytes[6] & 0xff;
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength;
        int headerStart;
        Charset charset;
        switch (major) {
            case 1 -> {
                headerStart = 10;
                headerLength = bytes.length < 10 ? -1 : buf.getShort(8) & 0xffff;
                charset = StandardCharsets.ISO_8859_1;
            }
            case 2, 3 -> {
                headerStart = 12;
                headerLength = bytes.length < 12 ? -1 : buf.getInt(8) & 0xffffffffL;
                // Version 3.0 only differs from 2.0 by allowing UTF-8 in the header.
                charset = major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1;
            }
            default -> throw new IllegalArgumentException("unsupported .npy format version " + major + "."
                    + (bytes[7] & 0xff) + " (1.0, 2.0 and 3.0 are supported)");
        }
        if (headerLength < 0 || headerStart + headerLength > bytes.length) {
            throw new IllegalArgumentException("truncated header");
        }
        String text = new String(bytes, headerStart, (int) headerLength, charset);
        NpyHeader header = NpyHeader.parse(text);
        if (header.fortranOrder()) {
            throw new IllegalArgumentException("fortran_order is True; only C-order arrays are supported "
                    + "(save np.ascontiguousarray(a) instead)");
        }
        long[] shape = header.shape();
        long count = elementCount(shape);
        if (count < 0 || count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("shape " + NpyArray.shapeString(shape) + " is too large (at most "
                    + (Integer.MAX_VALUE - 8) + " elements)");
        }
        int n = (int) count;
        int itemSize = itemSize(header.descr());
        long dataStart = headerStart + headerLength;
        long expected = count * itemSize;
        if (bytes.length - dataStart != expected) {
            throw new IllegalArgumentException("data holds " + (bytes.length - dataStart) + " bytes, but shape "
                    + NpyArray.shapeString(shape) + " of " + header.descr() + " needs " + expected);
        }
        ByteBuffer data = buf.slice((int) dataStart, (int) expected).order(ByteOrder.LITTLE_ENDIAN);
        return switch (header.descr()) {
            case "<f4" -> {
                float[] a = new float[n];
                data.asFloatBuffer().get(a);
                yield new NpyArray.Float32(shape, a);
            }
            case "<f8" -> {
                float[] a = new float[n];
                var d = data.asDoubleBuffer();
                for (int i = 0; i < n; i++) {
                    a[i] = (float) d.get(i);
                }
                yield new NpyArray.Float32(shape, a);
            }
            case "<i4" -> {
                int[] a = new int[n];
                data.asIntBuffer().get(a);
                yield new NpyArray.Int32(shape, a);
            }
            case "<i8" -> {
                int[] a = new int[n];
                var d = data.asLongBuffer();
                for (int i = 0; i < n; i++) {
                    long v = d.get(i);
                    if (v != (int) v) {
                        throw new IllegalArgumentException("int64 value " + v + " at flat index " + i
                                + " does not fit in int32");
                    }
                    a[i] = (int) v;
                }
                yield new NpyArray.Int32(shape, a);
            }
            case "|b1" -> {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) {
                    a[i] = data.get(i) != 0;
                }
                yield new NpyArray.Bool(shape, a);
            }
            default -> throw new AssertionError(header.descr());
        };
    }

    /** Writes {@code array} to {@code file} (version 1.0); an I/O failure is a {@link UserException}. */
    public static void write(Path file, NpyArray array) {
        try {
            Files.write(file, toBytes(array));
        } catch (IOException e) {
            throw new UserException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** The complete file contents for {@code array}: version 1.0 unless the header needs 2.0's length field. */
    public static byte[] toBytes(NpyArray array) {
        String dict = new NpyHeader(array.descr(), false, array.shape()).format();
        // Version 1.0 stores the header length in 16 bits; only absurd ranks need 2.0.
        int prelude = dict.length() + 1 + 10 > 0xffff ? 12 : 10;
        int padded = (prelude + dict.length() + 1 + ALIGN - 1) / ALIGN * ALIGN;
        String header = dict + " ".repeat(padded - prelude - dict.length() - 1) + "\n";
        int n = array.size();
        int itemSize = itemSize(array.descr());
        ByteBuffer out = ByteBuffer.allocate(Math.addExact(padded, Math.multiplyExact(n, itemSize)))
                .order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) (prelude == 10 ? 1 : 2)).put((byte) 0);
        if (prelude == 10) {
            out.putShort((short) header.length());
        } else {
            out.putInt(header.length());
        }
        out.put(header.getBytes(StandardCharsets.ISO_8859_1));
        ByteBuffer data = out.slice().order(ByteOrder.LITTLE_ENDIAN);
        switch (array) {
            case NpyArray.Float32 f -> data.asFloatBuffer().put(f.data());
            case NpyArray.Float64 f -> data.asDoubleBuffer().put(f.data());
            case NpyArray.Int32 i -> data.asIntBuffer().put(i.data());
            case NpyArray.Bool b -> {
                for (boolean v : b.data()) {
                    data.put((byte) (v ? 1 : 0));
                }
            }
        }
        return out.array();
    }

    /** Product of the dimensions (1 for a 0-d shape); -1 when it overflows a long or a dimension is negative. */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                return -1;
            }
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                return -1;
            }
        }
        return n;
    }

    private static int itemSize(String descr) {
        return switch (descr) {
            case "<f4", "<i4" -> 4;
            case "<f8", "<i8" -> 8;
            case "|b1" -> 1;
            default -> throw new IllegalArgumentException("unsupported dtype '" + descr + "'"
                    + (descr.startsWith(">") ? " (big-endian; save as little-endian)" : "")
                    + "; supported: <f4, <f8, <i4, <i8, |b1");
        };
    }

    private static boolean startsWithMagic(byte[] bytes) {
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }
}
