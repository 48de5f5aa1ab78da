package dev.entrokit;

/**
 * An independent float64 Sinkhorn for the tests, written from SPEC §3 alone: potentials from 0, {@code f}
 * first, each log-sum-exp shifted by its maximum, no stopping rule (a fixed number of iterations).
 */
final class SinkhornReference {
    final double[] f;
    final double[] g;
    final double[] plan;
    final double cost;

    /** {@code c} is {@code n × m} row-major; {@code a}, {@code b} the marginals; {@code rho = ∞} is balanced. */
    SinkhornReference(double[] c, int n, int m, double[] a, double[] b, double eps, int iterations, double rho) {
        f = new double[n];
        g = new double[m];
        double lambda = rho == Double.POSITIVE_INFINITY ? 1 : rho / (rho + eps);
        double[] t = new double[Math.max(n, m)];
        for (int it = 0; it < iterations; it++) {
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < m; j++) {
                    t[j] = (g[j] - c[i * m + j]) / eps;
                }
                f[i] = lambda * (eps * Math.log(a[i]) - eps * lse(t, m));
            }
            for (int j = 0; j < m; j++) {
                for (int i = 0; i < n; i++) {
                    t[i] = (f[i] - c[i * m + j]) / eps;
                }
                g[j] = lambda * (eps * Math.log(b[j]) - eps * lse(t, n));
            }
        }
        plan = new double[n * m];
        double s = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                plan[i * m + j] = Math.exp((f[i] + g[j] - c[i * m + j]) / eps);
                s += plan[i * m + j] * c[i * m + j];
            }
        }
        cost = s;
    }

    private static double lse(double[] t, int len) {
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < len; k++) {
            max = Math.max(max, t[k]);
        }
        double s = 0;
        for (int k = 0; k < len; k++) {
            s += Math.exp(t[k] - max);
        }
        return max + Math.log(s);
    }

    static double[] uniform(int k) {
        double[] w = new double[k];
        java.util.Arrays.fill(w, 1.0 / k);
        return w;
    }

    /** The cost of points {@code x [n,d]}, {@code y [m,d]} in float64. */
    static double[] cost(float[] x, float[] y, int n, int m, int d, Metric metric) {
        double[] c = new double[n * m];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                double s = 0;
                for (int k = 0; k < d; k++) {
                    double diff = (double) x[i * d + k] - y[j * d + k];
                    s += metric == Metric.L1 ? Math.abs(diff) : diff * diff;
                }
                c[i * m + j] = metric == Metric.EUCLIDEAN ? Math.sqrt(s) : s;
            }
        }
        return c;
    }
}
