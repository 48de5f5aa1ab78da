/**
 * entrokit: fused probability kernels (softmax family, divergences, selection, optimal transport)
 * behind one façade, {@link dev.entrokit.Entrokit}, with scalar, SIMD and CUDA backends.
 *
 * <p>The Vector API is an optional, static dependency: the SIMD backend is loaded reflectively and
 * reports itself unavailable when {@code jdk.incubator.vector} is not in the module graph.
 */
module dev.entrokit {
    requires static jdk.incubator.vector;
    requires java.management;

    exports dev.entrokit;
    exports dev.entrokit.cuda;
}
