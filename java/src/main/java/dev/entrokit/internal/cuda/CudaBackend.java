package dev.entrokit.internal.cuda;

import dev.entrokit.cuda.Cuda;
import dev.entrokit.cuda.CudaDeviceInfo;
import dev.entrokit.internal.Backend;
import dev.entrokit.internal.DivergenceKernels;
import dev.entrokit.internal.SoftmaxKernels;
import dev.entrokit.internal.PolicyKernels;
import dev.entrokit.internal.ScoringKernels;
import dev.entrokit.internal.SelectionKernels;
import dev.entrokit.internal.ShardKernels;
import dev.entrokit.internal.SinkhornSolver;
import java.util.List;

/**
 * The {@code cuda} backend: device tensors on the GPU, host tensors on the best CPU backend. The façade's
 * {@code DeviceTensor} overloads (and {@link dev.entrokit.cuda.CudaKernels} under them) run on the device;
 * its per-row kernels read host memory, so for those this backend hands over to the best host backend
 * (SIMD, else scalar) rather than copying every row to the device and back, and its description says so.
 */
public final class CudaBackend implements Backend {
    private final Backend host;
    private final Cuda.Status status;

    public CudaBackend(Backend host) {
        this.host = host;
        this.status = Cuda.status();
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public boolean available() {
        return status.available();
    }

    @Override
    public List<String> reasons() {
        return status.reasons();
    }

    @Override
    public String description() {
        if (!available()) {
            return "unavailable: " + String.join("; ", reasons());
        }
        CudaDeviceInfo d = status.devices().getFirst();
        return d.name() + ", compute capability " + d.computeCapability() + ", "
                + String.format("%.1f GiB", d.totalMemory() / (double) (1L << 30)) + ", driver CUDA "
                + Cuda.version(status.driverVersion()) + ", runtime " + Cuda.version(status.runtimeVersion())
                + "; device tensors (DeviceTensor) on this GPU, host tensors (Tensor) on the " + host.name() + " backend";
    }

    @Override
    public SoftmaxKernels softmax() {
        return host.softmax();
    }

    @Override
    public DivergenceKernels divergences() {
        return host.divergences();
    }

    @Override
    public dev.entrokit.internal.PartialStateKernels partialStates() {
        return host.partialStates();
    }

    @Override
    public dev.entrokit.internal.HalfKernels half() {
        return host.half();
    }

    @Override
    public SelectionKernels selection() {
        return host.selection();
    }

    @Override
    public ShardKernels shards() {
        return host.shards();
    }

    @Override
    public ScoringKernels scoring() {
        return host.scoring();
    }

    @Override
    public SinkhornSolver transport() {
        return host.transport();
    }

    @Override
    public PolicyKernels policy() {
        return host.policy();
    }
}
