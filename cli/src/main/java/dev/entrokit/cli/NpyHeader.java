package dev.entrokit.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The dictionary at the start of a {@code .npy} file, e.g.
 * {@code {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }}.
 *
 * <p>Parsed as the small Python literal it is, not matched with a pattern: writers other than NumPy
 * order the keys differently, use double quotes, drop or add spaces and trailing commas, and old
 * Python 2 files write {@code 3L}. NumPy reads it with {@code ast.literal_eval}, so nothing Python
 * would refuse is accepted here: a rank-1 shape needs its trailing comma ({@code (24)} is an int),
 * dimensions are ASCII decimal literals without leading zeros, whitespace is Python's (space, tab,
 * form feed, line breaks), and {@code 3L} only in versions 1.0 and 2.0, where NumPy retries with
 * Python 2 longs. Literals NumPy accepts but no writer produces ({@code 0x18}, {@code 2_4},
 * {@code +3}, comments) are refused too, with the position.
 *
 * @param descr        the dtype string, e.g. {@code <f4}
 * @param fortranOrder whether the data is in Fortran (column-major) order
 * @param shape        the dimensions; empty for a 0-d array
 */
public record NpyHeader(String descr, boolean fortranOrder, long[] shape) {
    /** NumPy's {@code NPY_MAXDIMS} (since NumPy 2.0): {@code np.load} refuses a shape of more dimensions. */
    public static final int MAX_RANK = 64;
    /** The longest header {@code np.load} reads by default ({@code max_header_size}). */
    public static final int MAX_LENGTH = 10_000;

    /** Parses the header text of a version 3.0 file; {@link IllegalArgumentException} says what is malformed. */
    public static NpyHeader parse(String text) {
        return parse(text, false);
    }

    /**
     * Parses the header text; {@code python2Longs} accepts {@code 3L} dimensions, as NumPy does for
     * versions 1.0 and 2.0 only.
     */
    public static NpyHeader parse(String text, boolean python2Longs) {
        return new Parser(text, python2Longs).header();
    }

    /** The header as NumPy writes it (keys sorted, trailing comma), without padding or newline. */
    public String format() {
        return "{'descr': '" + descr + "', 'fortran_order': " + (fortranOrder ? "True" : "False") + ", 'shape': "
                + NpyArray.shapeString(shape) + ", }";
    }

    /** A recursive-descent reader for the subset of Python literals a header uses. */
    private static final class Parser {
        private final String s;
        private final boolean python2Longs;
        private int pos;

        Parser(String s, boolean python2Longs) {
            this.s = s;
            this.python2Longs = python2Longs;
        }

        NpyHeader header() {
            String descr = null;
            Boolean fortran = null;
            long[] shape = null;
            expect('{');
            while (true) {
                skipSpace();
                if (peek() == '}') {
                    pos++;
                    break;
                }
                String key = string();
                skipSpace();
                expect(':');
                skipSpace();
                switch (key) {
                    case "descr" -> {
                        if (peek() == '[') {
                            throw new IllegalArgumentException("structured dtypes are not supported");
                        }
                        descr = string();
                    }
                    case "fortran_order" -> fortran = bool();
                    case "shape" -> shape = tuple();
                    default -> throw new IllegalArgumentException("unexpected key '" + key + "' in header");
                }
                skipSpace();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != '}') {
                    throw error("',' or '}'");
                }
            }
            skipSpace();
            if (pos != s.length()) {
                throw error("end of header");
            }
            if (descr == null || fortran == null || shape == null) {
                throw new IllegalArgumentException("header lacks " + (descr == null ? "'descr'"
                        : fortran == null ? "'fortran_order'" : "'shape'"));
            }
            return new NpyHeader(descr, fortran, shape);
        }

        private String string() {
            char q = peek();
            if (q != '\'' && q != '"') {
                throw error("a quoted string");
            }
            int end = s.indexOf(q, pos + 1);
            if (end < 0) {
                throw error("a closing quote");
            }
            String v = s.substring(pos + 1, end);
            pos = end + 1;
            return v;
        }

        private boolean bool() {
            if (s.startsWith("True", pos)) {
                pos += 4;
                return true;
            }
            if (s.startsWith("False", pos)) {
                pos += 5;
                return false;
            }
            throw error("True or False");
        }

        private long[] tuple() {
            int start = pos;
            expect('(');
            List<Long> dims = new ArrayList<>();
            boolean trailingComma = false;
            while (true) {
                skipSpace();
                if (peek() == ')') {
                    pos++;
                    break;
                }
                dims.add(integer());
                skipSpace();
                trailingComma = peek() == ',';
                if (trailingComma) {
                    pos++;
                } else if (peek() != ')') {
                    throw error("',' or ')'");
                }
            }
            if (dims.size() == 1 && !trailingComma) {
                throw new IllegalArgumentException("shape " + s.substring(start, pos) + " is an int, not a tuple"
                        + " (NumPy refuses it; a 1-d shape is written (" + dims.get(0) + ",))");
            }
            return dims.stream().mapToLong(Long::longValue).toArray();
        }

        private long integer() {
            int start = pos;
            while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
                pos++;
            }
            if (start == pos) {
                throw error("a non-negative decimal integer");
            }
            String digits = s.substring(start, pos);
            if (digits.charAt(0) == '0' && !digits.chars().allMatch(c -> c == '0')) {
                throw new IllegalArgumentException("malformed header: dimension " + digits + " at character " + start
                        + " has a leading zero, which Python refuses");
            }
            long v;
            try {
                v = Long.parseLong(digits);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("dimension " + digits + " is too large");
            }
            if (python2Longs && peek() == 'L') {
                pos++;
            }
            return v;
        }

        private void expect(char c) {
            skipSpace();
            if (peek() != c) {
                throw error("'" + c + "'");
            }
            pos++;
        }

        private char peek() {
            return pos < s.length() ? s.charAt(pos) : '\0';
        }

        /** Skips what Python's tokenizer skips between tokens (and inside brackets): no Unicode spaces. */
        private void skipSpace() {
            while (pos < s.length() && " \t\f\n\r".indexOf(s.charAt(pos)) >= 0) {
                pos++;
            }
        }

        private IllegalArgumentException error(String expected) {
            String found = pos >= s.length() ? "the end"
                    : s.charAt(pos) < ' ' || s.charAt(pos) > '~' ? String.format("U+%04X", (int) s.charAt(pos))
                    : "'" + s.charAt(pos) + "'";
            return new IllegalArgumentException("malformed header: expected " + expected + " at character " + pos
                    + ", found " + found);
        }
    }
}
