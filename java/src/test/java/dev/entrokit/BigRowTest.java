package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * One row of {@link #N} = 2^31 − 65 floats, the longest the façade accepts (8 GiB). Its index
 * arithmetic must hold up to the row's last element: the SIMD block loops once wrapped their block start
 * to a negative index there.
 *
 * <p>The row is an anonymous private mapping that is never written except at the planted entries: every
 * other page reads as the kernel's shared zero page, so the test touches a few MiB of RAM (page tables and
 * the planted pages) while the kernels really read all 8 GiB of logits. The expected values come from the
 * closed form of a row of zeros with a few planted logits, in float64.
 *
 * <p>Only the simd backend runs here: the scalar loops count with {@code int i < n}, which cannot wrap
 * for any accepted {@code n}, and would take ~20 s per pass over this row.
 */
class BigRowTest {
    static final int N = Integer.MAX_VALUE - 64;

    /** Index → planted logit: in the first vector, the masked middle, the last full block, the scalar tail. */
    private static final Map<Long, Float> PLANTED = Map.of(
            0L, 3f,
            1L << 30, Float.NEGATIVE_INFINITY,
            (long) N - 70, 2f,
            (long) N - 1, 5f);

    @Test
    void entropyAndLogSumExpReadTheWholeRow() throws Throwable {
        Entrokit ek = TestBackends.open("simd");
        long bytes = (long) N * Float.BYTES;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment row = zeroPages(bytes, arena);
            PLANTED.forEach((i, v) -> row.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v));
            Tensor logits = Tensor.of(row, DType.F32, 1, N);

            // Live entries: N − 4 zeros and the finite planted values; the maximum is 5.
            double m = 5;
            long zeros = N - PLANTED.size();
            double d = 0;
            double t = 0; // Σ e^a · a with a = x − m
            for (float v : PLANTED.values()) {
                if (v != Float.NEGATIVE_INFINITY) {
                    d += Math.exp(v - m);
                    t += Math.exp(v - m) * (v - m);
                }
            }
            d += zeros * Math.exp(-m);
            t += zeros * Math.exp(-m) * -m;

            float[] lse = new float[1];
            ek.logSumExp(logits, Tensor.of(lse), 1f);
            Spec5.check(Spec5.Kind.LOG, lse[0], m + Math.log(d), "logsumexp of 2^31 − 65 logits");

            double h = ek.entropy(logits, LossOptions.defaults(), null, null);
            Spec5.check(Spec5.Kind.LOSS, h, Math.log(d) - t / d, "entropy of 2^31 − 65 logits");
        }
    }

    /**
     * PLD sorts each row on the heap (16 bytes per token): a row this long is refused before any work, by
     * the argument's name, instead of an {@code OutOfMemoryError} part way through the batch.
     */
    @Test
    void pldRefusesARowItsSortCannotHoldOnTheHeap() throws Throwable {
        assumeTrue(16L * N > Runtime.getRuntime().maxMemory() / 2, "this JVM's heap could sort the row");
        for (String backend : TestBackends.availableNames()) {
            Entrokit ek = TestBackends.instance(backend);
            try (Arena arena = Arena.ofShared()) {
                Tensor row = Tensor.of(zeroPages((long) N * Float.BYTES, arena), DType.F32, 1, N);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ek.pld(row, row,
                        Tensor.of(new int[] {0}), LossOptions.defaults(), null, null));
                assertTrue(e.getMessage().startsWith("student: PLD sorts rows of " + N + " tokens"), e.getMessage());
            }
        }
    }

    /**
     * {@code bytes} of zeros that cost no RAM until written: {@code mmap(MAP_PRIVATE | MAP_ANONYMOUS |
     * MAP_NORESERVE)}, unmapped when {@code arena} closes. Linux only (the test is skipped elsewhere).
     */
    private static MemorySegment zeroPages(long bytes, Arena arena) throws Throwable {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "needs Linux mmap");
        Linker linker = Linker.nativeLinker();
        Optional<MemorySegment> mmapSym = linker.defaultLookup().find("mmap");
        Optional<MemorySegment> munmapSym = linker.defaultLookup().find("munmap");
        Optional<MemorySegment> madviseSym = linker.defaultLookup().find("madvise");
        assumeTrue(mmapSym.isPresent() && munmapSym.isPresent() && madviseSym.isPresent(), "libc has no mmap");
        MethodHandle mmap = linker.downcallHandle(mmapSym.get(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
        MethodHandle munmap = linker.downcallHandle(munmapSym.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MethodHandle madvise = linker.downcallHandle(madviseSym.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        int protReadWrite = 0x1 | 0x2;
        int privateAnonymousNoReserve = 0x02 | 0x20 | 0x4000;
        MemorySegment base = (MemorySegment) mmap.invokeExact(MemorySegment.NULL, bytes, protReadWrite,
                privateAnonymousNoReserve, -1, 0L);
        assumeTrue(base.address() != -1L, () -> "mmap of " + bytes + " bytes failed (overcommit refused?)");
        // Huge pages (where enabled) let reads map the huge zero page: 4096 faults instead of 2 million.
        int hugePage = 14;
        int ignored = (int) madvise.invokeExact(base, bytes, hugePage);
        return base.reinterpret(bytes, arena, s -> {
            try {
                int rc = (int) munmap.invokeExact(s, bytes);
                if (rc != 0) {
                    throw new IllegalStateException("munmap failed: " + rc);
                }
            } catch (Throwable e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
