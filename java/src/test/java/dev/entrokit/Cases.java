package dev.entrokit;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/** The parameter grid of the equivalence tests: backend × row length V × row count × temperature. */
public final class Cases {
    private Cases() {
    }

    /** Odd and even sizes around SIMD widths and tails, up to vocabulary sizes of real models. */
    public static final int[] SIZES = {1, 2, 7, 15, 16, 17, 100, 1000, 32001, 128257};
    public static final float[] TEMPERATURES = {1f, 0.7f, 2f};

    /** A few row counts per size; the large rows get few of them to keep the suite fast. */
    public static int[] rowCounts(int v) {
        if (v >= 32001) {
            return new int[] {2};
        }
        if (v >= 1000) {
            return new int[] {1, 5};
        }
        return new int[] {1, 4, 9};
    }

    /** {@code (backend, V, rows, T)} for every backend in {@link TestBackends#NAMES}. */
    public static Stream<Arguments> backendSizeRowsTemperature() {
        List<Arguments> out = new ArrayList<>();
        for (String b : TestBackends.NAMES) {
            out.addAll(sizeRowsTemperature(b));
        }
        return out.stream();
    }

    /** {@code (backend, V, rows, T)} for one backend. */
    public static List<Arguments> sizeRowsTemperature(String backend) {
        List<Arguments> out = new ArrayList<>();
        for (int v : SIZES) {
            for (int rows : rowCounts(v)) {
                for (float t : TEMPERATURES) {
                    out.add(Arguments.of(backend, v, rows, t));
                }
            }
        }
        return out;
    }

    /** {@code (backend, V, T)} for every backend in {@link TestBackends#NAMES}, size and temperature given. */
    public static Stream<Arguments> backendSizeTemperature(int[] sizes, float[] temperatures) {
        List<Arguments> out = new ArrayList<>();
        for (String b : TestBackends.NAMES) {
            for (int v : sizes) {
                for (float t : temperatures) {
                    out.add(Arguments.of(b, v, t));
                }
            }
        }
        return out.stream();
    }

    /** {@code (V, rows, T)} without a backend (simd against scalar). */
    public static Stream<Arguments> sizeRowsTemperature() {
        return sizeRowsTemperature("simd").stream().map(a -> Arguments.of(a.get()[1], a.get()[2], a.get()[3]));
    }
}
