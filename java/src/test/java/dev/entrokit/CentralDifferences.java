package dev.entrokit;

import java.util.function.ToDoubleFunction;

/** Central differences in float64: {@code ∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h}. */
public final class CentralDifferences {
    /** Step; with O(1) logits the truncation error is ~h² and the rounding error ~1e-16/h. */
    public static final double H = 1e-4;

    private CentralDifferences() {
    }

    /** The numerical gradient of {@code f} at {@code x}; masked ({@code -inf}) coordinates get 0. */
    public static double[] gradient(ToDoubleFunction<double[]> f, double[] x) {
        double[] g = new double[x.length];
        double[] y = x.clone();
        for (int i = 0; i < x.length; i++) {
            if (x[i] == Double.NEGATIVE_INFINITY) {
                continue;
            }
            y[i] = x[i] + H;
            double up = f.applyAsDouble(y);
            y[i] = x[i] - H;
            double down = f.applyAsDouble(y);
            y[i] = x[i];
            g[i] = (up - down) / (2 * H);
        }
        return g;
    }

    /** Multiplies in place and returns {@code v}. */
    public static double[] scale(double[] v, double s) {
        for (int i = 0; i < v.length; i++) {
            v[i] *= s;
        }
        return v;
    }
}
