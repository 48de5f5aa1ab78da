package dev.entrokit;

/** Ground cost between two points of a point cloud, for Sinkhorn on {@code x [B,n,d]} and {@code y [B,m,d]}. */
public enum Metric {
    /** {@code ‖x − y‖²}, the usual choice (Wasserstein-2). */
    SQEUCLIDEAN,
    /** {@code ‖x − y‖₁}. */
    L1,
    /** {@code ‖x − y‖₂} (Wasserstein-1). */
    EUCLIDEAN;

    /** The metric called {@code name} ({@code sqeuclidean}, {@code l1}, {@code euclidean}, any case). */
    public static Metric of(String name) {
        for (Metric m : values()) {
            if (m.name().equalsIgnoreCase(name == null ? "" : name.trim())) {
                return m;
            }
        }
        throw new IllegalArgumentException("metric: expected sqeuclidean, l1 or euclidean, got '" + name + "'");
    }
}
