package dev.entrokit.cli;

import dev.entrokit.BackendInfo;
import dev.entrokit.Entrokit;
import dev.entrokit.cuda.Cuda;
import dev.entrokit.cuda.CudaDeviceInfo;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code entrokit info}: the facts someone needs to read a benchmark or a bug report from this
 * machine: JDK, backends and why some are missing, the default choice, threads, and vector hardware.
 */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show the JDK, the backends (available or not, and why), threads, SIMD species and CPU features.")
public final class InfoCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    /** Prints the report; never fails on a missing backend, since reporting that is its job. */
    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.println("jdk:      " + Runtime.version() + " (" + System.getProperty("java.vendor") + ", "
                + System.getProperty("java.vm.name") + ")");
        out.println("os:       " + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ", "
                + Runtime.getRuntime().availableProcessors() + " processors");
        out.println("backends:");
        for (BackendInfo b : Entrokit.backends()) {
            out.printf("  %-7s %-11s %s%n", b.name(), b.available() ? "available" : "unavailable",
                    b.available() ? b.description() : String.join("; ", b.reasons()));
        }
        try {
            Entrokit ek = BackendOpener.open(null, Threads.configured());
            out.println("default:  " + ek.backendName() + " (" + ek.backendDescription() + ")");
            out.println("threads:  " + ek.threads());
        } catch (UserException e) {
            out.println("default:  none: " + e.getMessage());
            String threads;
            try {
                threads = Integer.toString(Threads.configured());
            } catch (UserException t) {
                threads = t.getMessage();
            }
            out.println("threads:  " + threads);
        }
        Cuda.Status cuda = Cuda.status();
        out.println("cuda:     " + (cuda.libraryLoaded() ? "libentrokit_cuda.so loaded, runtime " + Cuda.version(cuda.runtimeVersion())
                + ", driver " + Cuda.version(cuda.driverVersion()) : "library not loaded"));
        out.println("  library: " + Cuda.librarySource().orElse("none (add dev.entrokit:entrokit-cuda-linux-x86_64"
                + " to the class path, or to the module path with --add-modules dev.entrokit.cuda.linux.x86_64,"
                + " or set -Dentrokit.cuda.library)"));
        for (CudaDeviceInfo d : cuda.devices()) {
            out.println("  device " + d);
        }
        // What runs where, whatever the default: a DeviceTensor can only be read by the GPU.
        out.println("  runs:   host tensors on the default backend above (on cuda: its CPU backend); device"
                + " tensors on CUDA" + (cuda.available() ? "" : " (none here)"));
        if (!cuda.available()) {
            out.println("  unavailable: " + String.join("; ", cuda.reasons()));
        }
        out.println("simd:     " + VectorProbe.preferred().orElse(
                "jdk.incubator.vector is not in the module graph (run java with --add-modules jdk.incubator.vector)"));
        CpuFeatures.model().ifPresent(m -> out.println("cpu:      " + m));
        out.println("cpu flags: " + CpuFeatures.vectorFlags().map(f -> f.isEmpty() ? "(no avx/fma)" : f)
                .orElse("unknown (/proc/cpuinfo not readable)"));
        out.flush();
        return ExitCode.OK;
    }
}
