package dev.entrokit;

import static dev.entrokit.internal.Checks.*;

import dev.entrokit.cuda.CudaKernels;
import dev.entrokit.cuda.CudaStream;
import dev.entrokit.cuda.DeviceTensor;
import dev.entrokit.internal.Checks;
import dev.entrokit.internal.DivergenceKernels;
import dev.entrokit.internal.HalfKernels;
import dev.entrokit.internal.HalfRows;
import dev.entrokit.internal.Penalties;
import dev.entrokit.internal.RowExecutor;
import dev.entrokit.internal.RowSplit;
import dev.entrokit.internal.ScoringKernels;
import dev.entrokit.internal.SelectionKernels;
import dev.entrokit.internal.SoftmaxKernels;
import dev.entrokit.internal.SpeculativeSampling;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The decoding-time ops (SPEC §2): selection ({@link #topK}, {@link #topP}, {@link #minP}, {@link #topH},
 * {@link #keptMask}, {@link #keptTokens}, {@link #maskLogits}), sampling ({@link #sample}, the exponential
 * race {@link #raceSample} and its vocabulary-sharded forms {@link #shardSample} and {@link #shardCandidates},
 * {@link #mirostatV2}, {@link #sampleWithLogprobs}, {@link #sampleConstrained}, speculative decoding's
 * {@link #speculativeChain}), and the passes that change logits ahead of them ({@link #applyPenalties},
 * {@link #applyLogitBias}, {@link #restrictTokens}, {@link #contrastive}, {@link #injectPrior}), plus the
 * overloads of {@code topK}, {@code keptMask} and {@code sample} on {@link DeviceTensor}s. Pipelines are
 * {@link SamplingFilters}; draws are Philox4x32-10, keyed by the caller's seed, the row and the step, so they
 * do not depend on the thread count. Each op checks every argument first, then hands the rows to the
 * backend's selection kernels through the instance's row pool, as {@link Entrokit}'s own ops do.
 *
 * <p>Obtained from an instance, {@code ek.decoding()}: each {@link Entrokit} has one, made with it, which
 * runs on that instance's backend and row pool. Thread-safe as the instance is. Its lifetime is the
 * instance's: once a {@link Entrokit#create created} instance is {@link Entrokit#close() closed}, every op
 * here throws the same {@code IllegalStateException("entrokit: closed")} as the instance's own ops; the
 * view of the shared {@link Entrokit#get()} instance always works.
 */
public final class Decoding {
    private final Engine engine;
    private final SoftmaxKernels softmaxKernels;
    private final DivergenceKernels divergenceKernels;
    private final SelectionKernels selection;
    private final ScoringKernels scoring;
    private final RowExecutor rows;

    Decoding(Engine engine) {
        this.engine = engine;
        this.softmaxKernels = engine.softmax;
        this.divergenceKernels = engine.divergences;
        this.selection = engine.selection;
        this.scoring = engine.scoring;
        this.rows = engine.rows;
    }

    // ---------------------------------------------------------------- selection and sampling (SPEC §2)

    /**
     * The first {@code k} tokens of each row in SPEC order (probability descending, equal logits by
     * ascending index). A special row (a NaN or {@code +inf} logit, or all {@code -inf}) gives indices
     * {@code -1} and NaN values and probabilities.
     *
     * @param k           {@code 1 ≤ k ≤ V}
     * @param temperature {@code T > 0}, for {@code probsOut}
     * @param indicesOut  {@link DType#I32} {@code [R, k]}: the token ids
     * @param valuesOut   {@link DType#F32} {@code [R, k]}: the input logits at those ids
     * @param probsOut    {@link DType#F32} {@code [R, k]}: {@code softmax(logits/T)} over the whole row, at those ids;
     *                    or null, which saves the pass over the row that its softmax needs
     */
    public void topK(Tensor logits, int k, float temperature, Tensor indicesOut, Tensor valuesOut, Tensor probsOut) {
        engine.checkOpen();
        int n = cols("logits", logits);
        Checks.topK(k, n);
        invTemperature(temperature);
        boolean shareable = Checks.topKOutputs(logits, k, indicesOut, valuesOut, probsOut);
        DType type = logits.dtype();
        MemorySegment x = logits.segment();
        rows.forEachRow((int) logits.rows(), n, shareable, row -> selection.topK(type, x, logits.index(row, 0), n,
                temperature, k, indicesOut.segment(), indicesOut.index(row, 0), valuesOut.segment(),
                valuesOut.index(row, 0), probsOut == null ? null : probsOut.segment(),
                probsOut == null ? 0 : probsOut.index(row, 0)));
    }

    /** Kept mask of top-p: the shortest prefix in SPEC order with cumulative probability {@code ≥ p}. See {@link #keptMask}. */
    public void topP(Tensor logits, float p, float temperature, Tensor maskOut) {
        engine.checkOpen();
        keptMask(logits, Checks.pipeline(temperature).topP(p), maskOut);
    }

    /** Kept mask of min-p: every token with {@code p_i ≥ minP · max p}, {@code minP ∈ (0, 1]}. See {@link #keptMask}. */
    public void minP(Tensor logits, float minP, float temperature, Tensor maskOut) {
        engine.checkOpen();
        keptMask(logits, Checks.pipeline(temperature).minP(minP), maskOut);
    }

    /** Kept mask of top-H ({@code α ∈ (0, 1]}, over the first {@code n ≥ 1} tokens, in {@code mode}). See {@link #keptMask}. */
    public void topH(Tensor logits, float alpha, int n, TopHMode mode, float temperature, Tensor maskOut) {
        engine.checkOpen();
        keptMask(logits, Checks.pipeline(temperature).topH(alpha, n, mode), maskOut);
    }

    /**
     * The tokens the pipeline {@code filters} keeps, as a mask: {@code maskOut} is a {@link DType#BOOL}
     * tensor shaped like {@code logits} (one byte per token: 1 kept, 0 not; see {@link Tensor#ofMask}).
     * Filters apply in their order, each on the renormalized survivors of the last. A special row gives
     * an all-false mask. The temperature must be {@code > 0} (greedy is for {@link #sample} only).
     */
    public void keptMask(Tensor logits, SamplingFilters filters, Tensor maskOut) {
        engine.checkOpen();
        int n = cols("logits", logits);
        filters(filters, n, false);
        Checks.drawFree(filters);
        output("maskOut", maskOut, DType.BOOL, logits.rows(), n);
        noOverlap("maskOut", maskOut, "logits", logits, false);
        DType type = logits.dtype();
        MemorySegment x = logits.segment();
        rows.forEachRow((int) logits.rows(), n, shareable("logits", logits) & shareable("maskOut", maskOut), r ->
                selection.keptMask(type, x, logits.index(r, 0), n, filters, maskOut.segment(), maskOut.index(r, 0)));
    }

    /**
     * The kept tokens of each row in SPEC order with their probabilities renormalized over the kept
     * set: row {@code r} of {@code indicesOut} / {@code probsOut} holds its first {@code min(kept, C)}
     * tokens, then ids {@code -1} and probabilities 0. {@code countsOut[r]} is how many the row keeps,
     * which may exceed {@code C}: then the row was truncated to its {@code C} most probable tokens
     * (compare the count with {@code C}). A special row keeps 0.
     *
     * @param indicesOut {@link DType#I32} {@code [R, C]}, {@code C ≥ 1}
     * @param probsOut   {@link DType#F32} {@code [R, C]}
     * @param countsOut  rank-1 {@link DType#I32} with at least {@code R} elements
     */
    public void keptTokens(Tensor logits, SamplingFilters filters, Tensor indicesOut, Tensor probsOut, Tensor countsOut) {
        engine.checkOpen();
        int n = cols("logits", logits);
        filters(filters, n, false);
        Checks.drawFree(filters);
        int capacity = Checks.keptTokensOutputs(logits, indicesOut, probsOut, countsOut);
        boolean shareable = shareable("logits", logits) & shareable("indicesOut", indicesOut)
                & shareable("probsOut", probsOut) & shareable("countsOut", countsOut);
        DType type = logits.dtype();
        MemorySegment x = logits.segment();
        rows.forEachRow((int) logits.rows(), n, shareable, row -> countsOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED,
                countsOut.index(row), selection.keptTokens(type, x, logits.index(row, 0), n, filters,
                        indicesOut.segment(), indicesOut.index(row, 0), probsOut.segment(), probsOut.index(row, 0),
                        capacity)));
    }

    /**
     * The form decoding loops want: {@code out = logits} on the kept tokens, {@code -inf} elsewhere
     * ({@code out} is F32, or the logits' half type, shaped like {@code logits} and may be it). A special row
     * gives NaN everywhere.
     */
    public void maskLogits(Tensor logits, SamplingFilters filters, Tensor out) {
        engine.checkOpen();
        int n = cols("logits", logits);
        filters(filters, n, false);
        Checks.drawFree(filters);
        inPlaceOutput("out", out, "logits", logits);
        DType type = logits.dtype();
        DType outType = out.dtype();
        MemorySegment x = logits.segment();
        MemorySegment o = out.segment();
        rows.forEachRow((int) logits.rows(), n, shareable("logits", logits) & shareable("out", out), r ->
                selection.maskLogits(type, x, logits.index(r, 0), n, filters, outType, o, out.index(r, 0)));
    }

    /** {@link #sample(Tensor, List, long[], long, Tensor)} with the same pipeline for every row. */
    public void sample(Tensor logits, SamplingFilters filters, long[] seeds, long step, Tensor tokensOut) {
        engine.checkOpen();
        notNull("filters", filters);
        long r = logits == null ? 0 : logits.rows();
        sample(logits, java.util.Collections.nCopies((int) Math.min(r, Integer.MAX_VALUE), filters), seeds, step, tokensOut);
    }

    /**
     * One token per row from the kept, renormalized distribution of row {@code r}'s pipeline, drawn
     * with Philox4x32-10 (key = {@code seeds[r]}, counter = {@code (r, step)}): the same seed, row and
     * step give the same token on every run and thread count. Temperature 0 is greedy (lowest index on
     * ties). A special row gives token {@code -1}.
     *
     * @param filtersPerRow one pipeline per row (a batch in a server mixes requests)
     * @param seeds         one seed per row
     * @param step          the decoding step (part of the counter)
     * @param tokensOut     rank-1 {@link DType#I32} with at least {@code R} elements
     */
    public void sample(Tensor logits, List<SamplingFilters> filtersPerRow, long[] seeds, long step, Tensor tokensOut) {
        engine.checkOpen();
        int n = samplingArguments(logits, filtersPerRow, seeds, tokensOut);
        int nRows = (int) logits.rows();
        List<SamplingFilters> filters = List.copyOf(filtersPerRow);
        long[] s = seeds.clone();
        DType type = logits.dtype();
        MemorySegment x = logits.segment();
        boolean shareable = shareable("logits", logits) & shareable("tokensOut", tokensOut);
        // Fewer rows than threads: a long row's candidate gather is shared by every thread (the same token).
        RowSplit split = rows.split(nRows, n, shareable);
        rows.forEachRow(nRows, n, shareable, r -> {
            int token = selection.sample(type, x, logits.index(r, 0), n, filters.get(r), s[r], r, step, split);
            tokensOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, tokensOut.index(r), token);
        });
    }

    /** {@link #raceSample(Tensor, List, long[], long, Tensor)} with the same pipeline for every row. */
    public void raceSample(Tensor logits, SamplingFilters filters, long[] seeds, long step, Tensor tokensOut) {
        engine.checkOpen();
        notNull("filters", filters);
        long r = logits == null ? 0 : logits.rows();
        raceSample(logits, java.util.Collections.nCopies((int) Math.min(r, Integer.MAX_VALUE), filters), seeds, step,
                tokensOut);
    }

    /**
     * One token per row from the kept, renormalized distribution of row {@code r}'s pipeline, drawn by
     * the exponential race (SPEC §2): token {@code i} gets the key {@code x_i/T − log E_i} with
     * {@code E_i ~ Exp(1)} from Philox4x32-10 keyed by ({@code seeds[r]}, {@code r}, {@code step}, global
     * id {@code i}), and the largest key among the kept tokens wins (the lower id on a tie). A token's
     * key depends on nothing else, so the row may be split anywhere: long rows are cut into fixed-size
     * chunks that run on the pool (batch-1 decoding uses every thread), and the token is the one that
     * {@link #shardSample} and {@link ShardSelection#sample} give for any sharding of the row. The same
     * token on every backend, SIMD width and thread count. Temperature 0 is greedy (lowest index on
     * ties). A special row gives {@code -1}.
     *
     * <p>This is a different draw from {@link #sample}'s inverse-CDF walk with the same seed: each has
     * the same law, not the same tokens.
     *
     * @param filtersPerRow one pipeline per row
     * @param seeds         one seed per row
     * @param step          the decoding step
     * @param tokensOut     rank-1 {@link DType#I32} with at least {@code R} elements
     */
    public void raceSample(Tensor logits, List<SamplingFilters> filtersPerRow, long[] seeds, long step,
                           Tensor tokensOut) {
        engine.checkOpen();
        int n = samplingArguments(logits, filtersPerRow, seeds, tokensOut);
        int nRows = (int) logits.rows();
        int[] tokens = new int[nRows];
        ShardDriver.raceSample(rows, engine.backend.shards(), engine.backend::half, logits, n, List.copyOf(filtersPerRow), seeds.clone(), step,
                shareable("logits", logits), tokens);
        for (int r = 0; r < nRows; r++) {
            tokensOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, tokensOut.index(r), tokens[r]);
        }
    }

    /** The checks {@link #sample} and {@link #raceSample} share; returns the row length. */
    private static int samplingArguments(Tensor logits, List<SamplingFilters> filtersPerRow, long[] seeds,
                                         Tensor tokensOut) {
        int n = cols("logits", logits);
        int nRows = (int) logits.rows();
        Checks.sampling(filtersPerRow, seeds, nRows, n);
        rowOutput("tokensOut", tokensOut, DType.I32, nRows);
        noOverlap("tokensOut", tokensOut, "logits", logits, false);
        return n;
    }

    /**
     * Each row's entry in the exponential race of {@link #raceSample} with no filter, for a shard of a
     * vocabulary-sharded row: {@code logits} holds global ids {@code offset … offset + V_shard − 1}.
     * Merge the entries of every shard of row {@code r} with {@link ShardSample#merge} and read
     * {@link ShardSample#token()}: the token {@code raceSample} gives for the whole row, whatever the
     * number of shards. Every shard must use the same seeds, step and temperature and the same row
     * numbering (row {@code r} of this tensor is row {@code r} of the batch).
     *
     * @param offset      the global id of the shard's first token; ids must stay below {@code 2^31 − 1}
     * @param temperature {@code T > 0}, or 0 for greedy
     * @param seeds       one seed per row
     * @param step        the decoding step
     */
    public ShardSample[] shardSample(Tensor logits, int offset, float temperature, long[] seeds, long step) {
        engine.checkOpen();
        int n = cols("logits", logits);
        int nRows = (int) logits.rows();
        Checks.shardOffset(offset, n);
        Checks.samplingTemperature(temperature);
        Checks.seeds(seeds, nRows);
        float[] t = new float[nRows];
        java.util.Arrays.fill(t, temperature);
        return ShardDriver.race(rows, engine.backend.shards(), engine.backend::half, logits, n, offset, t, seeds.clone(), step,
                shareable("logits", logits));
    }

    /**
     * Each row's candidate summary for a shard of a vocabulary-sharded row ({@link ShardCandidates}):
     * its first {@code k} live tokens in SPEC order with global ids from {@code offset}, its maximum and
     * {@code Σ exp((x − max)/T)}, and its bound. Merge the summaries of every shard with
     * {@link ShardCandidates#merge}, then {@link ShardCandidates#keep} a pipeline and, when
     * {@link ShardSelection#exact()}, {@link ShardSelection#sample} from it.
     *
     * @param offset      the global id of the shard's first token; ids must stay below {@code 2^31 − 1}
     * @param temperature {@code T > 0}, the temperature of the pipeline to be kept
     * @param k           {@code k ≥ 1} candidates per shard: at least a top-k's {@code k} or a top-H's {@code n}
     */
    public ShardCandidates[] shardCandidates(Tensor logits, int offset, float temperature, int k) {
        engine.checkOpen();
        int n = cols("logits", logits);
        Checks.shardOffset(offset, n);
        Checks.temperature(temperature);
        Checks.candidateCount(k);
        return ShardDriver.candidates(rows, engine.backend.shards(), engine.backend::half, logits, n, offset, temperature, k,
                shareable("logits", logits));
    }

    /**
     * Mirostat 2.0 (Basu et al.; llama.cpp's {@code mirostat_v2}), one decoding step for every row:
     * after {@code filters} (temperature {@code > 0}), keeps the survivors whose surprise {@code −log₂ q}
     * is at most row r's {@code mu[r]} (at least the most likely: {@link SamplingFilters#mirostat}), draws
     * a token as {@link #sample} does (Philox key {@code seeds[r]}, counter {@code (r, step)}), and then
     * sets {@code mu[r] ← mu[r] − eta·(−log₂ q_token − tau)}, {@code q_token} the token's probability
     * among the kept tokens. The state {@code mu} belongs to the caller: start it at {@code 2·tau} (as
     * llama.cpp does) and pass the same array at every step; rows never share it. A special row gives
     * token {@code -1} and keeps its {@code mu}.
     *
     * @param tau       the target surprise in bits, finite and {@code > 0}
     * @param eta       the learning rate, finite and {@code ≥ 0}
     * @param mu        one finite value per row, updated in place
     * @param seeds     one seed per row
     * @param step      the decoding step (part of the counter)
     * @param tokensOut rank-1 {@link DType#I32} with at least {@code R} elements
     */
    public void mirostatV2(Tensor logits, SamplingFilters filters, float tau, float eta, float[] mu, long[] seeds,
                           long step, Tensor tokensOut) {
        engine.checkOpen();
        int n = cols("logits", logits);
        int nRows = (int) logits.rows();
        Checks.mirostat(filters, tau, eta, mu, seeds, nRows, n);
        rowOutput("tokensOut", tokensOut, DType.I32, nRows);
        noOverlap("tokensOut", tokensOut, "logits", logits, false);
        SamplingFilters[] perRow = new SamplingFilters[nRows];
        for (int r = 0; r < nRows; r++) {
            perRow[r] = filters.mirostat(mu[r]);
        }
        long[] s = seeds.clone();
        double[] prob = new double[nRows];
        DType type = logits.dtype();
        MemorySegment x = logits.segment();
        rows.forEachRow(nRows, n, shareable("logits", logits) & shareable("tokensOut", tokensOut), r ->
                tokensOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, tokensOut.index(r),
                        selection.sample(type, x, logits.index(r, 0), n, perRow[r], s[r], r, step, prob, r)));
        for (int r = 0; r < nRows; r++) { // on the caller, after every row ran: mu is the caller's array
            if (prob[r] > 0) {
                double surprise = -Math.log(prob[r]) / Math.log(2);
                mu[r] = (float) (mu[r] - eta * (surprise - tau));
            }
        }
    }

    /**
     * {@link #sample} with vLLM's log-prob outputs (its default {@code raw_logprobs} mode) for every row:
     * the token drawn from the pipeline's kept distribution, its rank among the raw logits
     * ({@code #{i : x_i ≥ x_token}}, so 1 for the most likely; ties count ahead, as vLLM counts them), its raw
     * log-probability {@code log_softmax(x)_token} (before the pipeline, temperature 1), its processed
     * log-probability {@code log q_token} among the kept tokens after the pipeline (0 at temperature 0, where
     * the chosen token has all the mass), and the {@code topN} largest raw log-probabilities with their ids
     * in SPEC order (logit descending, ties by ascending index). A special row gives token and ids
     * {@code -1}, rank 0 and NaN values.
     *
     * @param topN                how many raw log-probabilities to return per row, {@code 0 ≤ topN ≤ V}
     * @param topIdsOut           {@link DType#I32} {@code [R, topN]} (ignored when {@code topN = 0})
     * @param topLogprobsOut      {@link DType#F32} {@code [R, topN]} (ignored when {@code topN = 0})
     * @param rankOut             rank-1 {@link DType#I32}, a value per row
     * @param rawLogprobOut       rank-1 {@link DType#F32}, a value per row
     * @param processedLogprobOut rank-1 {@link DType#F32}, a value per row
     */
    public void sampleWithLogprobs(Tensor logits, SamplingFilters filters, long[] seeds, long step, Tensor tokensOut,
                                   int topN, Tensor topIdsOut, Tensor topLogprobsOut, Tensor rankOut,
                                   Tensor rawLogprobOut, Tensor processedLogprobOut) {
        engine.checkOpen();
        int n = cols("logits", logits);
        int nRows = (int) logits.rows();
        notNull("filters", filters);
        Checks.sampling(java.util.Collections.nCopies(nRows, filters), seeds, nRows, n);
        boolean shareable = Checks.logprobOutputs(logits, n, tokensOut, topN, topIdsOut, topLogprobsOut, rankOut,
                rawLogprobOut, processedLogprobOut);
        long[] s = seeds.clone();
        double[] prob = new double[nRows];
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
        ValueLayout.OfInt i32 = ValueLayout.JAVA_INT_UNALIGNED;
        // A BF16 row is read in registers by every kernel below (the same bits as on the widened row); other half
        // rows are widened once per row and every kernel reads the copy.
        HalfKernels half = HalfRows.inRegister(logits, engine.backend::half);
        DType type = half != null ? logits.dtype() : DType.F32;
        HalfRows.Rows xs = half != null ? null : HalfRows.of(logits, 0, engine.backend::half);
        rows.forEachRow(nRows, n, shareable, r -> {
            MemorySegment x = half != null ? logits.segment() : xs.read(r);
            long off = half != null ? logits.index(r, 0) : xs.at(r);
            int token;
            if (filters.temperature() == 0f) {
                token = selection.sample(type, x, off, n, filters, s[r], r, step);
                prob[r] = token < 0 ? Double.NaN : 1;
            } else {
                token = selection.sample(type, x, off, n, filters, s[r], r, step, prob, r);
            }
            tokensOut.segment().setAtIndex(i32, tokensOut.index(r), token);
            boolean special = token < 0;
            float logit = special ? Float.NaN : half != null
                    ? type.widen(x.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, off + token))
                    : x.getAtIndex(f32, off + token);
            rankOut.segment().setAtIndex(i32, rankOut.index(r), special ? 0 : selection.countAtLeast(type, x, off, n, logit));
            rawLogprobOut.segment().setAtIndex(f32, rawLogprobOut.index(r), special ? Float.NaN
                    : (float) (half != null ? half.tokenLogprob(type, x, off, n, token) : scoring.tokenLogprob(x, off, n, token)));
            processedLogprobOut.segment().setAtIndex(f32, processedLogprobOut.index(r), (float) Math.log(prob[r]));
            if (topN > 0) {
                selection.topK(type, x, off, n, 1f, topN, topIdsOut.segment(), topIdsOut.index(r, 0),
                        topLogprobsOut.segment(), topLogprobsOut.index(r, 0), null, 0);
                double lse = special ? Double.NaN
                        : half != null ? half.logSumExp(type, x, off, n, 1f) : softmaxKernels.logSumExp(x, off, n, 1f);
                for (int j = 0; j < topN; j++) {
                    long at = topLogprobsOut.index(r, j);
                    topLogprobsOut.segment().setAtIndex(f32, at, (float) (topLogprobsOut.segment().getAtIndex(f32, at) - lse));
                }
            }
        });
    }

    /**
     * vLLM's penalties, in place on {@code logits} ({@code [R, V]} F32, BF16 or F16), each row with its own
     * parameters (a server batch mixes requests): every token in row r's prompt or output ids gets the
     * repetition penalty {@code θ_r} once ({@code x/θ} where {@code x > 0}, {@code x·θ} otherwise: CTRL,
     * Transformers); every token generated {@code c > 0} times in row r's output ids loses
     * {@code frequency_r·c + presence_r} (OpenAI, vLLM). Id lists are I32 {@code [R, L]}, negative ids pad.
     * Nothing is allocated once a thread's scratch has grown to {@code V}.
     *
     * @param promptIds  the prompt's ids per row (repetition only), or null
     * @param outputIds  the generated ids per row (repetition, frequency, presence), or null
     * @param repetition θ per row, finite and {@code > 0} (1 = none), or null for none
     * @param frequency  per row, finite, or null for 0
     * @param presence   per row, finite, or null for 0
     */
    public void applyPenalties(Tensor logits, Tensor promptIds, Tensor outputIds, float[] repetition, float[] frequency,
                               float[] presence) {
        engine.checkOpen();
        int n = Checks.logitsInPlace(logits);
        long nRows = logits.rows();
        Checks.tokenLists("promptIds", promptIds, nRows, n, true);
        Checks.tokenLists("outputIds", outputIds, nRows, n, true);
        Checks.perRow("repetition", repetition, nRows, true);
        Checks.perRow("frequency", frequency, nRows, false);
        Checks.perRow("presence", presence, nRows, false);
        boolean shareable = shareable("logits", logits) & (promptIds == null || shareable("promptIds", promptIds))
                & (outputIds == null || shareable("outputIds", outputIds));
        HalfRows.Rows x = HalfRows.of(logits, 0, engine.backend::half);
        rows.forEachRow((int) nRows, n, shareable, r -> {
            Penalties.apply(x.read(r), x.at(r), n,
                promptIds == null ? null : promptIds.segment(), promptIds == null ? 0 : promptIds.index(r, 0),
                promptIds == null ? 0 : (int) promptIds.cols(),
                outputIds == null ? null : outputIds.segment(), outputIds == null ? 0 : outputIds.index(r, 0),
                outputIds == null ? 0 : (int) outputIds.cols(),
                repetition == null ? 1f : repetition[r], frequency == null ? 0f : frequency[r],
                presence == null ? 0f : presence[r]);
            x.store(r);
        });
    }

    /**
     * A sparse logit bias, in place: {@code logits[r, ids[r, j]] += bias[r, j]} for every non-negative id
     * (I32 {@code ids} and F32 {@code bias}, both {@code [R, K]}; a negative id pads).
     */
    public void applyLogitBias(Tensor logits, Tensor ids, Tensor bias) {
        int n = idListPass(logits, ids);
        long nRows = logits.rows();
        accessible("bias", bias);
        floatType("bias", bias);
        if (bias.rank() > 2 || bias.rows() != nRows || bias.cols() != ids.cols()) {
            throw new IllegalArgumentException("bias: expected a float tensor [" + nRows + ", " + ids.cols() + "] like ids, got "
                    + bias);
        }
        HalfRows.Rows x = HalfRows.of(logits, 0, engine.backend::half);
        HalfRows.Rows b = HalfRows.of(bias, 1, engine.backend::half);
        rows.forEachRow((int) nRows, n, shareable("logits", logits) & shareable("ids", ids) & shareable("bias", bias), r -> {
            Penalties.bias(x.read(r), x.at(r), ids.segment(), ids.index(r, 0), b.read(r), b.at(r), (int) ids.cols());
            x.store(r);
        });
    }

    /**
     * Allowed or banned token ids, in place: banned ({@code allowed = false}) ids get {@code -inf}; with
     * {@code allowed = true} every token not listed for its row gets {@code -inf} (a row whose list is
     * all padding is left unrestricted). I32 {@code ids [R, K]}, negative ids pad.
     */
    public void restrictTokens(Tensor logits, Tensor ids, boolean allowed) {
        int n = idListPass(logits, ids);
        HalfRows.Rows x = HalfRows.of(logits, 0, engine.backend::half);
        rows.forEachRow((int) logits.rows(), n, shareable("logits", logits) & shareable("ids", ids), r -> {
            Penalties.restrict(x.read(r), x.at(r), n, ids.segment(), ids.index(r, 0), (int) ids.cols(), allowed);
            x.store(r);
        });
    }

    /** The checks {@link #applyLogitBias} and {@link #restrictTokens} share, in their order; returns the row length. */
    private int idListPass(Tensor logits, Tensor ids) {
        engine.checkOpen();
        int n = Checks.logitsInPlace(logits);
        Checks.tokenLists("ids", ids, logits.rows(), n, false);
        return n;
    }

    /**
     * Speculative decoding's chain rejection sampler (Leviathan et al. 2023; FlashInfer's
     * {@code chain_speculative_sampling}), one request per row {@code b}: draft token {@code d_i} is
     * accepted with probability {@code min(1, p_i(d_i)/q_i(d_i))}; at the first rejection the output is a
     * token from {@code normalize(max(0, p_i − q_i))} and the chain stops; when all {@code k} pass, a bonus
     * token comes from the last target row. The emitted tokens follow the target distributions exactly.
     * Every draw is Philox keyed by ({@code seeds[b]}, b, {@code step}, position). Probability rows are
     * renormalized as given; a request with a non-finite or negative probability, or a row summing to 0,
     * gets {@code -1} accepted and tokens {@code -1} (other requests are unaffected).
     *
     * @param draftIds    I32 {@code [B, k]}, ids in {@code [0, V)}
     * @param draftProbs  F32 {@code [B, k, V]}: the draft model's probabilities that drew the ids
     * @param targetProbs F32 {@code [B, k + 1, V]}: the target model's probabilities at each position
     * @param seeds       one seed per request
     * @param step        the decoding step (part of the counter)
     * @param acceptedOut rank-1 I32: how many drafts each request accepted
     * @param tokensOut   I32 {@code [B, k + 1]}: the accepted drafts, then the replacement or bonus token, then -1
     */
    public void speculativeChain(Tensor draftIds, Tensor draftProbs, Tensor targetProbs, long[] seeds, long step,
                                 Tensor acceptedOut, Tensor tokensOut) {
        engine.checkOpen();
        int[] bkv = Checks.speculative(draftIds, draftProbs, targetProbs, seeds, acceptedOut, tokensOut);
        boolean shareable = shareable("draftIds", draftIds) & shareable("draftProbs", draftProbs)
                & shareable("targetProbs", targetProbs) & shareable("acceptedOut", acceptedOut) & shareable("tokensOut", tokensOut);
        // The sampler reads whole [k, V] probability blocks: half blocks are widened once for the call.
        Tensor draft = HalfRows.widened(draftProbs);
        Tensor target = HalfRows.widened(targetProbs);
        int k = bkv[1];
        int v = bkv[2];
        long[] s = seeds.clone();
        rows.forEachRow(bkv[0], k * v, shareable, b -> acceptedOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED,
                acceptedOut.index(b), SpeculativeSampling.chain(draftIds.segment(), draftIds.index(b, 0), k,
                        draft.segment(), draft.offset() + b * draft.batchStride(), draft.rowStride(),
                        target.segment(), target.offset() + b * target.batchStride(), target.rowStride(),
                        v, s[b], b, step, tokensOut.segment(), tokensOut.index(b, 0))));
    }

    /** Whether row {@code row} may emit {@code token}: the caller's constraint for {@link #sampleConstrained}. */
    @FunctionalInterface
    public interface TokenConstraint {
        /** True when {@code token} is allowed in row {@code row}. */
        boolean allows(int row, int token);
    }

    /**
     * Constrained sampling by rejection, the kernel under adaptive weighted rejection sampling (AWRS):
     * per row, a token is drawn from the pipeline's kept distribution; when {@code constraint} refuses
     * it, its mass is removed and the draw repeats over the kept tokens left (no new pass over the row),
     * the uniform of attempt {@code a} being Philox's at ({@code seeds[r]}, r, {@code step}, a). The token
     * then follows the kept distribution restricted to the allowed tokens. Writes the token ({@code -1}
     * when every kept token is refused, or for a special row), the number of rejections, and the refused
     * tokens' probability in the kept distribution (AWRS's weight is built from it). The constraint is
     * called on the calling thread, in row order.
     *
     * @param rejectionsOut   rank-1 {@link DType#I32}, a value per row
     * @param rejectedMassOut rank-1 {@link DType#F32}, a value per row (NaN for a special row)
     */
    public void sampleConstrained(Tensor logits, SamplingFilters filters, TokenConstraint constraint, long[] seeds, long step,
                                  Tensor tokensOut, Tensor rejectionsOut, Tensor rejectedMassOut) {
        engine.checkOpen();
        int n = cols("logits", logits);
        int nRows = (int) logits.rows();
        notNull("filters", filters);
        notNull("constraint", constraint);
        Checks.sampling(java.util.Collections.nCopies(nRows, filters), seeds, nRows, n);
        filters(filters, n, false);
        rowOutput("tokensOut", tokensOut, DType.I32, nRows);
        rowOutput("rejectionsOut", rejectionsOut, DType.I32, nRows);
        rowOutput("rejectedMassOut", rejectedMassOut, DType.F32, nRows);
        Checks.distinctOutputs(logits, List.of(new Object[] {"tokensOut", tokensOut},
                new Object[] {"rejectionsOut", rejectionsOut}, new Object[] {"rejectedMassOut", rejectedMassOut}));
        long[] s = seeds.clone();
        double[] stats = new double[2 * nRows];
        DType type = logits.dtype();
        MemorySegment x = logits.segment();
        rows.forEachRow(nRows, n, false, r -> { // on the caller: the constraint need not be thread-safe
            int token = selection.sampleConstrained(type, x, logits.index(r, 0), n, filters, s[r], r, step,
                    t -> constraint.allows(r, t), stats, r);
            tokensOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, tokensOut.index(r), token);
            rejectionsOut.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, rejectionsOut.index(r), (int) stats[2 * r]);
            rejectedMassOut.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, rejectedMassOut.index(r),
                    (float) stats[2 * r + 1]);
        });
    }

    // ---------------------------------------------------------------- decoding-time logit transforms

    /**
     * USCD-style contrastive decoding, one row at a time: where the row's uncertainty is
     * {@code ≥ threshold}, {@code out = (1+λ)·logits − λ·lameLogits}; elsewhere {@code out = logits}
     * unchanged. The uncertainty is the entropy of {@code softmax(logits)} or the JSD (β = ½) between
     * {@code softmax(logits)} and {@code softmax(lameLogits)}, in nats. A contrasted token masked
     * ({@code −inf}) in either row stays masked; a special standard row, or a special lame row that is
     * needed, gives a NaN row. Ahead of the selection filters ({@link #maskLogits}, {@link #sample}).
     *
     * @param out shaped like {@code logits}; may be that very view (in place), must not overlap {@code lameLogits}
     */
    public void contrastive(Tensor logits, Tensor lameLogits, float lambda, float threshold, Uncertainty uncertainty,
                            Tensor out) {
        engine.checkOpen();
        int n = cols("logits", logits);
        cols("lameLogits", lameLogits);
        inputLike("lameLogits", lameLogits, "logits", logits);
        Checks.contrastive(lambda, threshold, uncertainty);
        inPlaceOutput("out", out, "logits", logits);
        noOverlap("out", out, "lameLogits", lameLogits, false);
        boolean shareable = shareable("logits", logits) & shareable("lameLogits", lameLogits) & shareable("out", out);
        HalfRows.Rows xs = HalfRows.of(logits, 0, engine.backend::half);
        HalfRows.Rows ls = HalfRows.of(lameLogits, 1, engine.backend::half);
        HalfRows.Rows o = HalfRows.of(out, 2, engine.backend::half);
        rows.forEachRow((int) logits.rows(), n, shareable, r -> {
            MemorySegment x = xs.read(r);
            long xOff = xs.at(r);
            MemorySegment lame = ls.read(r);
            long lOff = ls.at(r);
            double u = uncertainty == Uncertainty.ENTROPY ? softmaxKernels.entropy(x, xOff, n, 1f, null, 0, 0f)
                    : divergenceKernels.jsd(x, xOff, lame, lOff, n, 1f, 0.5f, null, 0, 0f);
            scoring.contrastive(x, xOff, lame, lOff, o.write(r), o.at(r), n, lambda, u, threshold);
            o.store(r);
        });
    }

    /**
     * Logit-space prior injection {@code out = logits + λ·log prior} (e.g. an n-gram prior), one fused
     * pass; {@code prior = 0} masks a token. A special logits row, or a prior entry that is NaN,
     * negative or {@code +inf}, gives a NaN row.
     *
     * @param prior  probabilities shaped like {@code logits}, or one row of {@code V} shared by every row
     * @param lambda finite and {@code > 0}
     * @param out    shaped like {@code logits}; may be that very view (in place), must not overlap {@code prior}
     */
    public void injectPrior(Tensor logits, Tensor prior, float lambda, Tensor out) {
        engine.checkOpen();
        int n = cols("logits", logits);
        cols("prior", prior);
        if (prior.rows() != 1 || prior.cols() != n) {
            inputLike("prior", prior, "logits", logits);
        }
        positiveFinite("lambda", lambda);
        inPlaceOutput("out", out, "logits", logits);
        noOverlap("out", out, "prior", prior, false);
        boolean shared = prior.rows() == 1;
        boolean shareable = shareable("logits", logits) & shareable("prior", prior) & shareable("out", out);
        HalfRows.Rows x = HalfRows.of(logits, 0, engine.backend::half);
        HalfRows.Rows pr = HalfRows.of(prior, 1, engine.backend::half);
        HalfRows.Rows o = HalfRows.of(out, 2, engine.backend::half);
        rows.forEachRow((int) logits.rows(), n, shareable, r -> {
            scoring.injectPrior(x.read(r), x.at(r), pr.read(shared ? 0 : r), pr.at(shared ? 0 : r), o.write(r), o.at(r), n,
                    lambda);
            o.store(r);
        });
    }

    // ---------------------------------------------------------------- device tensors (CUDA)

    /*
     * Device memory is not readable by the CPU, so these run on CUDA whatever this instance's backend: the
     * checks are the host's (Checks, through CudaKernels), the work is queued on the stream and is done
     * when the stream is synchronized or a result is copied back.
     */

    /** {@link #topK(Tensor, int, float, Tensor, Tensor, Tensor)} on device tensors; {@code valuesOut} and {@code probsOut} may be null. */
    public void topK(DeviceTensor logits, int k, float temperature, DeviceTensor indicesOut, DeviceTensor valuesOut,
                     DeviceTensor probsOut, CudaStream stream) {
        engine.checkOpen();
        CudaKernels.topK(logits, temperature, k, indicesOut, valuesOut, probsOut, stream);
    }

    /** {@link #keptMask(Tensor, SamplingFilters, Tensor)} on device tensors ({@code maskOut}: BOOL like {@code logits}). */
    public void keptMask(DeviceTensor logits, SamplingFilters filters, DeviceTensor maskOut, CudaStream stream) {
        engine.checkOpen();
        CudaKernels.keptMask(logits, filters, maskOut, null, stream);
    }

    /** {@link #sample(Tensor, SamplingFilters, long[], long, Tensor)} on device tensors, one {@code seed} for every row. */
    public void sample(DeviceTensor logits, SamplingFilters filters, long seed, long step, DeviceTensor tokensOut,
                       CudaStream stream) {
        engine.checkOpen();
        CudaKernels.sample(logits, filters, seed, 0, step, tokensOut, stream);
    }
}
