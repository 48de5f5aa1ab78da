package dev.entrokit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Coverage-guided fuzzing of the {@code .npy} reader: any bytes either parse into an array that is
 * exactly what NumPy would read from them, or are refused with a {@link UserException}; nothing else
 * may escape (no {@code IndexOutOfBounds}, {@code NegativeArraySize}, {@code OutOfMemoryError}...).
 *
 * <p>Without {@code JAZZER_FUZZ} this runs over the committed seeds in {@code NpyFuzzTestInputs/}
 * (every accepted and refused form the reader knows, plus past findings); with it, Jazzer mutates
 * them (see {@code bench/fuzz/run-campaign.sh}).
 *
 * <p>"Exactly what NumPy would read" is checked against an independent reading of the raw header
 * text: the shape must be a Python tuple literal of ASCII decimal integers without leading zeros
 * (what {@code ast.literal_eval} accepts), with at most 64 dimensions ({@code NPY_MAXDIMS}); each
 * element of the data is decoded again here from the raw bytes.
 */
class NpyFuzzTest {
    /** NumPy 2's {@code NPY_MAXDIMS}. */
    static final int MAX_DIMS = 64;

    private static final Pattern SHAPE = Pattern.compile("['\"]shape['\"]\\s*:\\s*(\\([^)]*\\))");
    // Python 3 reads "000" as 0 (a zero may repeat), but refuses other leading zeros ("024").
    private static final String INT = "(?:0+|[1-9][0-9]*)[lL]?";
    /** {@code ()}, {@code (n,)}, or two or more integers with an optional trailing comma; ASCII only. */
    private static final Pattern TUPLE = Pattern.compile("\\(\\s*\\)|\\(\\s*" + INT + "\\s*,\\s*\\)|\\(\\s*" + INT
            + "(?:\\s*,\\s*" + INT + ")+\\s*,?\\s*\\)");

    @FuzzTest(maxDuration = "60s")
    void parse(byte[] bytes) {
        NpyArray array;
        try {
            array = Npy.parse(bytes, "fuzz.npy");
        } catch (UserException e) {
            assertTrue(e.getMessage() != null && e.getMessage().startsWith("fuzz.npy: "),
                    () -> "a UserException must name the file: " + e.getMessage());
            return;
        } catch (Throwable t) {
            throw new AssertionError("input " + HexFormat.of().formatHex(bytes) + " escaped as " + t, t);
        }
        check(bytes, array);
    }

    private static void check(byte[] bytes, NpyArray array) {
        int headerStart = (bytes[6] & 0xff) == 1 ? 10 : 12;
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = headerStart == 10 ? buf.getShort(8) & 0xffff : buf.getInt(8);
        String header = new String(bytes, headerStart, headerLength,
                bytes[6] == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        assertTrue(numpyShapeLiteral(header), () -> "accepted a shape NumPy refuses: " + header);
        long[] shape = numpyShape(header);
        assertArrayEquals(shape, array.shape(), () -> "shape differs from the header " + header);
        // NumPy reads an empty array of any shape; what holds elements must fit a Java array.
        if (java.util.Arrays.stream(shape).noneMatch(d -> d == 0)) {
            for (long d : shape) {
                assertTrue(d <= Integer.MAX_VALUE, () -> "accepted a dimension beyond int range: " + header);
            }
        }
        String descr = descr(header);
        int item = switch (descr) {
            case "<f4", "<i4" -> 4;
            case "<f8", "<i8" -> 8;
            case "|b1" -> 1;
            default -> throw new AssertionError("accepted unsupported descr " + descr + " in " + header);
        };
        int n = array.size();
        int dataStart = headerStart + headerLength;
        assertEquals((long) n * item, bytes.length - dataStart, "data length for " + header);
        ByteBuffer data = buf.slice(dataStart, n * item).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            double got = array.getDouble(i);
            switch (descr) {
                case "<f4" -> assertBitsEqual(data.getFloat(i * 4), got, i);
                case "<f8" -> {
                    // The reader keeps float64 at full width; eval narrows it by input name.
                    double v = data.getDouble(i * 8);
                    assertTrue(Double.doubleToRawLongBits(v) == Double.doubleToRawLongBits(got)
                            || (Double.isNaN(v) && Double.isNaN(got)), "element " + i + ": <f8 " + v + " read as " + got);
                }
                case "<i4" -> assertEquals(data.getInt(i * 4), got, "element " + i);
                case "<i8" -> assertEquals(data.getLong(i * 8), got, "element " + i);
                default -> assertEquals(data.get(i) != 0 ? 1.0 : 0.0, got, "element " + i);
            }
        }
        // What the reader accepted, the writer must write and the reader read back unchanged.
        NpyArray again = Npy.parse(Npy.toBytes(array), "round trip");
        assertArrayEquals(array.shape(), again.shape(), "round-trip shape");
        for (int i = 0; i < n; i++) {
            assertBitsEqual((float) array.getDouble(i), again.getDouble(i), i);
        }
    }

    private static void assertBitsEqual(float expected, double got, int i) {
        if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits((float) got)
                && !(Float.isNaN(expected) && Float.isNaN((float) got))) {
            fail("element " + i + ": expected " + expected + ", got " + got);
        }
    }

    private static boolean numpyShapeLiteral(String header) {
        return TUPLE.matcher(shapeText(header)).matches() && numpyShape(header).length <= MAX_DIMS;
    }

    /** The raw text of the shape tuple in the header, or "" when there is none. */
    private static String shapeText(String header) {
        return last(SHAPE.matcher(header), 1);
    }

    /**
     * The last match's group: a dict literal with a repeated key keeps its last value in Python, and so
     * in NumPy ({@code {'descr': '|b2', 'descr': '|b1', …}} is a bool array).
     */
    private static String last(Matcher m, int group) {
        String found = "";
        while (m.find()) {
            found = m.group(group);
        }
        return found;
    }

    private static long[] numpyShape(String header) {
        String text = shapeText(header);
        if (text.isEmpty()) {
            throw new AssertionError("no shape in " + header);
        }
        String inner = text.substring(1, text.length() - 1).replaceAll("[lL\\s]", "");
        return inner.isEmpty() ? new long[0] : java.util.Arrays.stream(inner.split(","))
                .filter(s -> !s.isEmpty()).mapToLong(s -> {
                    try {
                        return Long.parseLong(s);
                    } catch (NumberFormatException e) {
                        return -1;
                    }
                }).toArray();
    }

    private static String descr(String header) {
        return last(Pattern.compile("['\"]descr['\"]\\s*:\\s*(['\"])([^'\"]*)\\1").matcher(header), 2);
    }
}
