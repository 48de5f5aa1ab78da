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
 * <p>Reading accepts {@code <f4}, {@code <f8}, {@code <f2}, {@code <i4}, {@code <i8}, {@code <u2} (raw
 * bfloat16 patterns, for {@code eval --set dtype=bf16}) and {@code |b1} and keeps the
 * file's element type (narrowing is the caller's, by name). A header is accepted only if NumPy would
 * load it ({@link NpyHeader}). Writing always produces version 1.0 with the array's own type, the
 * header padded with spaces so the data starts at a multiple of 64 bytes, as NumPy itself writes,
 * and refuses a shape NumPy could not load. Every problem with a file is a {@link UserException}
 * that names the file.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int ALIGN = 64;
    /** Magic, version and the 16-bit header length of a version 1.0 file. */
    private static final int PRELUDE = 10;
    /** The most elements a Java array holds. */
    static final int MAX_ELEMENTS = Integer.MAX_VALUE - 8;

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
        if (headerLength > NpyHeader.MAX_LENGTH) {
            // NumPy refuses these by default (np.load's max_header_size) as unsafe to parse.
            throw new IllegalArgumentException("header is " + headerLength + " bytes; NumPy loads at most "
                    + NpyHeader.MAX_LENGTH);
        }
        String text = new String(bytes, headerStart, (int) headerLength, charset);
        NpyHeader header = NpyHeader.parse(text, major < 3);
        if (header.fortranOrder()) {
            throw new IllegalArgumentException("fortran_order is True; only C-order arrays are supported "
                    + "(save np.ascontiguousarray(a) instead)");
        }
        long[] shape = header.shape();
        int itemSize = itemSize(header.descr());
        checkShape(shape, itemSize);
        long count = elementCount(shape);
        if (count > MAX_ELEMENTS) {
            throw new IllegalArgumentException("shape " + NpyArray.shapeString(shape) + " is too large (at most "
                    + MAX_ELEMENTS + " elements)");
        }
        int n = (int) count;
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
                double[] a = new double[n];
                data.asDoubleBuffer().get(a);
                yield new NpyArray.Float64(shape, a);
            }
            case "<i4" -> {
                int[] a = new int[n];
                data.asIntBuffer().get(a);
                yield new NpyArray.Int32(shape, a);
            }
            case "<i8" -> {
                long[] a = new long[n];
                data.asLongBuffer().get(a);
                yield new NpyArray.Int64(shape, a);
            }
            case "<f2", "<u2" -> {
                short[] a = new short[n];
                data.asShortBuffer().get(a);
                yield header.descr().equals("<f2") ? new NpyArray.Half(shape, a, dev.entrokit.DType.F16)
                        : new NpyArray.UInt16(shape, a);
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

    /**
     * The complete file contents for {@code array}, version 1.0.
     *
     * @throws IllegalArgumentException when NumPy could not load the result (see {@link #checkShape})
     */
    public static byte[] toBytes(NpyArray array) {
        int itemSize = itemSize(array.descr());
        checkShape(array.shape(), itemSize);
        String dict = new NpyHeader(array.descr(), false, array.shape()).format();
        // 64 dimensions of at most 19 digits keep the header far below 1.0's 16-bit length field.
        int padded = (PRELUDE + dict.length() + 1 + ALIGN - 1) / ALIGN * ALIGN;
        String header = dict + " ".repeat(padded - PRELUDE - dict.length() - 1) + "\n";
        int n = array.size();
        ByteBuffer out = ByteBuffer.allocate(Math.addExact(padded, Math.multiplyExact(n, itemSize)))
                .order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) 1).put((byte) 0);
        out.putShort((short) header.length());
        out.put(header.getBytes(StandardCharsets.ISO_8859_1));
        ByteBuffer data = out.slice().order(ByteOrder.LITTLE_ENDIAN);
        switch (array) {
            case NpyArray.Float32 f -> data.asFloatBuffer().put(f.data());
            case NpyArray.Float64 f -> data.asDoubleBuffer().put(f.data());
            case NpyArray.Int32 i -> data.asIntBuffer().put(i.data());
            case NpyArray.Int64 i -> data.asLongBuffer().put(i.data());
            case NpyArray.Half h -> data.asShortBuffer().put(h.bits());
            case NpyArray.UInt16 u -> data.asShortBuffer().put(u.bits());
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

    /**
     * Refuses a shape NumPy cannot hold, as {@code np.load} and {@code np.empty} would: more than
     * {@link NpyHeader#MAX_RANK} dimensions, or dimensions whose product, zeros left out, times the
     * element size overflows a 64-bit size (NumPy checks that even for an empty array).
     */
    static void checkShape(long[] shape, int itemSize) {
        if (shape.length > NpyHeader.MAX_RANK) {
            throw new IllegalArgumentException("shape has " + shape.length + " dimensions; NumPy supports at most "
                    + NpyHeader.MAX_RANK);
        }
        long bytes = itemSize;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("shape " + NpyArray.shapeString(shape) + " has a negative dimension");
            }
            if (d != 0) {
                try {
                    bytes = Math.multiplyExact(bytes, d);
                } catch (ArithmeticException e) {
                    throw new IllegalArgumentException("shape " + NpyArray.shapeString(shape)
                            + " is too large: NumPy's array size (nonzero dimensions times " + itemSize
                            + " bytes) exceeds 2^63 - 1");
                }
            }
        }
    }

    private static int itemSize(String descr) {
        return switch (descr) {
            case "<f4", "<i4" -> 4;
            case "<f8", "<i8" -> 8;
            case "<f2", "<u2" -> 2;
            case "|b1" -> 1;
            default -> throw new IllegalArgumentException("unsupported dtype '" + descr + "'"
                    + (descr.startsWith(">") ? " (big-endian; save as little-endian)" : "")
                    + "; supported: <f4, <f8, <f2, <i4, <i8, <u2, |b1");
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
