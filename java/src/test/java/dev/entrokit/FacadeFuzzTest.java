package dev.entrokit;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Tag;

/**
 * Coverage-guided fuzzing of the façade's argument handling: Jazzer's bytes choose the op, the shape,
 * strides, offset, dtype, the logits (NaN, ±inf, denormals, ±FLT_MAX...), temperatures, k/p/α/n,
 * reductions and labels ({@link ApiScenario#draw}); the call runs on the scalar and the simd backend,
 * and must keep {@link ApiScenario}'s invariants there. Without {@code JAZZER_FUZZ} this replays the
 * committed seeds in {@code FacadeFuzzTestInputs/}; with it, a campaign ({@code bench/fuzz/run-campaign.sh}).
 */
@Tag("simd-width")
class FacadeFuzzTest {
    /** Jazzer's bytes as {@link ApiScenario.Choices}; when they run out, every choice is its lowest value. */
    private record FuzzChoices(FuzzedDataProvider data) implements ApiScenario.Choices {
        @Override
        public int range(int lo, int hi) {
            return data.consumeInt(lo, hi);
        }

        @Override
        public float anyFloat() {
            return data.consumeFloat();
        }
    }

    @FuzzTest(maxDuration = "60s")
    void facade(FuzzedDataProvider data) {
        ApiScenario.Call call = ApiScenario.draw(new FuzzChoices(data), 6, 40);
        for (String backend : TestBackends.availableNames()) {
            ApiScenario.Result res = ApiScenario.run(TestBackends.instance(backend), call);
            ApiScenario.check(call, res, backend);
            ApiScenario.checkOracle(call, res, backend);
        }
    }
}
