package dev.entrokit;

import dev.entrokit.internal.Backend;
import dev.entrokit.internal.DivergenceKernels;
import dev.entrokit.internal.HalfKernels;
import dev.entrokit.internal.HalfRows;
import dev.entrokit.internal.RowExecutor;
import dev.entrokit.internal.ScoringKernels;
import dev.entrokit.internal.SelectionKernels;
import dev.entrokit.internal.SoftmaxKernels;

/**
 * What an {@link Entrokit} and its family views ({@link Decoding}, {@link DetectionScores}, {@link Transport})
 * share: one backend and its kernels, one row pool, one closed flag. Kept in one place so that a view cannot
 * drift from its instance: closing the instance closes every view at once, and every family routes half rows
 * the same way.
 */
final class Engine {
    private static final String CLOSED = "entrokit: closed; create a new instance or use Entrokit.get()";

    final Backend backend;
    final SoftmaxKernels softmax;
    final DivergenceKernels divergences;
    final SelectionKernels selection;
    final ScoringKernels scoring;
    final RowExecutor rows;
    private volatile boolean closed;

    Engine(Backend backend, int threads) {
        this.backend = backend;
        this.rows = new RowExecutor(threads);
        if (backend instanceof dev.entrokit.internal.HandoffBackend handoff) {
            rows.scope(handoff.rowScope());
        }
        this.softmax = backend.softmax();
        this.divergences = backend.divergences();
        this.selection = backend.selection();
        this.scoring = backend.scoring();
    }

    /** Refuses any op once the instance is closed. */
    void checkOpen() {
        if (closed) {
            throw new IllegalStateException(CLOSED);
        }
    }

    /** Marks the instance closed, then stops its pool (in that order, so no new call starts on a dead pool). */
    void close() {
        closed = true;
        rows.close();
    }

    /** {@link HalfRows#softmaxInRegister} for this backend (read once per call, as the backend may hand off). */
    HalfKernels softmaxInRegisterHalf(Tensor t) {
        return HalfRows.softmaxInRegister(t, backend::half);
    }
}
