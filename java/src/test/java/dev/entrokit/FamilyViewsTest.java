package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The family views ({@link Entrokit#decoding()}, {@link Entrokit#scores()}, {@link Entrokit#transport()})
 * live and die with their instance: one view per instance, a closed created instance closes its views (their
 * ops throw the instance's own {@code IllegalStateException}), and the views of the shared {@link Entrokit#get()}
 * instance keep working, even after someone "closes" it. ApiContractTest runs every op of every view on a
 * closed instance; this test checks the views' identity and that the open ones compute, with closed forms.
 */
class FamilyViewsTest {
    private static final int V = 7;
    private static final float[] LOGITS = TestLogits.batch(5, 2, V);

    /** One op of each view, with its result checked against a value computed here. */
    private static Map<String, Consumer<Entrokit>> oneOpPerView() {
        Map<String, Consumer<Entrokit>> ops = new LinkedHashMap<>();
        ops.put("decoding", ek -> {
            int[] greedy = new int[2];
            ek.decoding().sample(Tensor.of(LOGITS, 2, V), SamplingFilters.temperature(0f), new long[] {1, 2}, 0,
                    Tensor.of(greedy));
            assertArrayEquals(new int[] {argmax(0), argmax(1)}, greedy, "temperature 0 draws the argmax");
        });
        ops.put("scores", ek -> {
            float[] logprobs = {-0.5f, -2f, -1f, -4.5f};
            float[] score = new float[1];
            ek.scores().minKProb(Tensor.of(logprobs, 1, 4), 1f, Tensor.of(score));
            assertEquals((-0.5 - 2 - 1 - 4.5) / 4, score[0], 1e-6, "k = 100 % is the mean of every position");
        });
        ops.put("transport", ek -> {
            // Two points each side at cost 0 on the diagonal, 1 off it, uniform marginals: by symmetry the plan is
            // [[a, ½ − a], [½ − a, a]] with a / (½ − a) = e^{1/ε}, so the transport cost 2(½ − a) is 1 / (1 + e^{1/ε}).
            double epsilon = 0.5;
            SinkhornResult r = ek.transport().sinkhorn(Tensor.of(new float[] {0, 1, 1, 0}, 2, 2), null, null,
                    SinkhornOptions.defaults().epsilon(epsilon).maxIter(2000).tol(1e-7));
            assertEquals(1 / (1 + Math.exp(1 / epsilon)), r.cost()[0], 1e-5);
        });
        return ops;
    }

    private static int argmax(int row) {
        int best = 0;
        for (int i = 1; i < V; i++) {
            if (LOGITS[row * V + i] > LOGITS[row * V + best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void eachInstanceHasOneViewPerFamily() {
        try (Entrokit a = Entrokit.create("scalar", 1); Entrokit b = Entrokit.create("scalar", 1)) {
            assertSame(a.decoding(), a.decoding());
            assertSame(a.scores(), a.scores());
            assertSame(a.transport(), a.transport());
            assertNotSame(a.decoding(), b.decoding());
            assertNotSame(a.scores(), b.scores());
            assertNotSame(a.transport(), b.transport());
        }
        Entrokit shared = Entrokit.get();
        assertSame(shared.decoding(), Entrokit.get().decoding());
    }

    @Test
    void closingACreatedInstanceClosesItsViewsWithTheInstancesMessage() {
        Entrokit ek = Entrokit.create("scalar", 2);
        Decoding decoding = ek.decoding(); // taken before the close: the view is the instance's, not a snapshot
        for (Consumer<Entrokit> op : oneOpPerView().values()) {
            op.accept(ek);
        }
        ek.close();
        String closed = assertThrows(IllegalStateException.class,
                () -> ek.logSumExp(LOGITS, V, new float[2], 1f)).getMessage();
        assertTrue(closed.startsWith("entrokit: closed"), closed);
        oneOpPerView().forEach((view, op) -> assertEquals(closed,
                assertThrows(IllegalStateException.class, () -> op.accept(ek), view).getMessage(), view));
        assertThrows(IllegalStateException.class, () -> decoding.topK(Tensor.of(LOGITS, 2, V), 1, 1f,
                Tensor.of(new int[2], 2, 1), Tensor.of(new float[2], 2, 1), null));
        assertSame(decoding, ek.decoding(), "a closed instance still hands out its (closed) views");
    }

    @Test
    void theSharedInstancesViewsWorkAndStayOpen() {
        Entrokit shared = Entrokit.get();
        for (Consumer<Entrokit> op : oneOpPerView().values()) {
            op.accept(shared);
        }
        shared.close(); // does nothing on the shared instance, nor on its views
        Entrokit other = Entrokit.create("scalar", 1);
        other.close(); // closing another instance leaves the shared one's views alone
        oneOpPerView().forEach((view, op) -> op.accept(shared));
    }
}
