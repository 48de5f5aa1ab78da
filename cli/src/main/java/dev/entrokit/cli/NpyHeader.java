package dev.entrokit.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The dictionary at the start of a {@code .npy} file, e.g.
 * {@code {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }}.
 *
 * <p>Parsed as the small Python literal it is, not matched with a pattern: writers other than NumPy
 * order the keys differently, use double quotes, drop or add spaces and trailing commas, and old
 * Python 2 files write {@code 3L}.
 *
 * @param descr        the dtype string, e.g. {@code <f4}
 * @param fortranOrder whether the data is in Fortran (column-major) order
 * @param shape        the dimensions; empty for a 0-d array
 */
public record NpyHeader(String descr, boolean fortranOrder, long[] shape) {

    /** Parses the header text; {@link IllegalArgumentException} says what is malformed. */
    public static NpyHeader parse(String text) {
        return new Parser(text).header();
    }

    /** The header as NumPy writes it (keys sorted, trailing comma), without padding or newline. */
    public String format() {
        return "{'descr': '" + descr + "', 'fortran_order': " + (fortranOrder ? "True" : "False") + ", 'shape': "
                + NpyArray.shapeString(shape) + ", }";
    }

    /** A recursive-descent reader for the subset of Python literals a header uses. */
    private static final class Parser {
        private final String s;
        private int pos;

        Parser(String s) {
            this.s = s;
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
            expect('(');
            List<Long> dims = new ArrayList<>();
            while (true) {
                skipSpace();
                if (peek() == ')') {
                    pos++;
                    break;
                }
                dims.add(integer());
                skipSpace();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != ')') {
                    throw error("',' or ')'");
                }
            }
            return dims.stream().mapToLong(Long::longValue).toArray();
        }

        private long integer() {
            int start = pos;
            while (pos < s.length() && Character.isDigit(s.charAt(pos))) {
                pos++;
            }
            if (start == pos) {
                throw error("a non-negative integer");
            }
            long v;
            try {
                v = Long.parseLong(s.substring(start, pos));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("dimension " + s.substring(start, pos) + " is too large");
            }
            if (pos < s.length() && (s.charAt(pos) == 'L' || s.charAt(pos) == 'l')) {
                pos++; // Python 2 long literal
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

        private void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++;
            }
        }

        private IllegalArgumentException error(String expected) {
            String found = pos < s.length() ? "'" + s.charAt(pos) + "'" : "the end";
            return new IllegalArgumentException("malformed header: expected " + expected + " at character " + pos
                    + ", found " + found);
        }
    }
}
