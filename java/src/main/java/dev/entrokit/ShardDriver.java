package dev.entrokit;

import dev.entrokit.internal.HalfKernels;
import dev.entrokit.internal.HalfRows;
import dev.entrokit.internal.RowExecutor;
import dev.entrokit.internal.ShardKernels;
import dev.entrokit.internal.ShardSummary;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Runs the shard kernels over fixed-size chunks of each row and merges the chunks, so that one long
 * row (batch-1 decoding) spreads over the pool. The chunk size is a constant: what a row gives
 * depends on its length only, never on the thread count or the batch it came in.
 */
final class ShardDriver {
    /** Tokens per chunk: 16 KiB of floats at a time fit in L1/L2 and give 8 chunks at V = 128256. */
    static final int CHUNK = 16384;

    private ShardDriver() {
    }

    private static int chunks(int n) {
        return (n + CHUNK - 1) / CHUNK;
    }

    /** Each row's summary (the merge of its chunks), ids from {@code offset}. */
    static ShardCandidates[] candidates(RowExecutor pool, ShardKernels kernels, Supplier<HalfKernels> half,
                                        Tensor logits, int n, int offset, float temperature, int k, boolean shareable) {
        int nRows = (int) logits.rows();
        int[] rowIds = new int[nRows];
        for (int r = 0; r < nRows; r++) {
            rowIds[r] = r;
        }
        return candidates(pool, kernels, half, logits, rowIds, nRows, n, offset, temperature, k, shareable);
    }

    private static ShardCandidates[] candidates(RowExecutor pool, ShardKernels kernels, Supplier<HalfKernels> half,
                                                Tensor logits, int[] rowIds, int nRows, int n, int offset,
                                                float temperature, int k, boolean shareable) {
        int per = chunks(n);
        ShardCandidates[] parts = new ShardCandidates[nRows * per];
        HalfRows.Rows x = HalfRows.of(logits, 0, half);
        pool.forEachRow(nRows * per, CHUNK, shareable, t -> {
            int from = (t % per) * CHUNK;
            int len = Math.min(CHUNK, n - from);
            ShardSummary s = new ShardSummary();
            int row = rowIds[t / per];
            kernels.candidates(x.read(row, from, len), x.at(row, from), len, temperature, k, s);
            int[] ids = new int[s.count];
            for (int j = 0; j < s.count; j++) {
                ids[j] = offset + from + s.ids[j];
            }
            parts[t] = new ShardCandidates(temperature, k, s.special, s.max, s.mass, s.bound,
                    s.boundId < 0 ? -1 : offset + from + s.boundId, ids,
                    java.util.Arrays.copyOf(s.logits, s.count));
        });
        ShardCandidates[] out = new ShardCandidates[nRows];
        for (int r = 0; r < nRows; r++) {
            ShardCandidates m = parts[r * per];
            for (int c = 1; c < per; c++) {
                m = ShardCandidates.merge(m, parts[r * per + c]);
            }
            out[r] = m;
        }
        return out;
    }

    /** Each row's race entry (the best of its chunks), ids from {@code offset}; row {@code r} draws with {@code seeds[r]}. */
    static ShardSample[] race(RowExecutor pool, ShardKernels kernels, Supplier<HalfKernels> half, Tensor logits, int n,
                              int offset, float[] temperatures, long[] seeds, long step, boolean shareable) {
        int nRows = (int) logits.rows();
        int per = chunks(n);
        double[] keys = new double[nRows * per];
        int[] ids = new int[nRows * per];
        HalfRows.Rows x = HalfRows.of(logits, 0, half);
        pool.forEachRow(nRows * per, CHUNK, shareable, t -> {
            int r = t / per;
            int from = (t % per) * CHUNK;
            int len = Math.min(CHUNK, n - from);
            double[] key = new double[1];
            int i = kernels.race(x.read(r, from, len), x.at(r, from), len, offset + from,
                    temperatures[r], seeds[r], r, step, key);
            keys[t] = key[0];
            ids[t] = i == -2 ? -2 : i < 0 ? -1 : offset + from + i;
        });
        ShardSample[] out = new ShardSample[nRows];
        for (int r = 0; r < nRows; r++) {
            ShardSample best = ShardSample.NONE;
            for (int c = 0; c < per; c++) {
                int t = r * per + c;
                ShardSample part = ids[t] == -2 ? new ShardSample(Double.NaN, -1)
                        : ids[t] < 0 ? ShardSample.NONE : new ShardSample(keys[t], ids[t]);
                best = ShardSample.merge(best, part);
            }
            out[r] = best;
        }
        return out;
    }

    /**
     * One token per row by the race over what row {@code r}'s pipeline keeps: rows without a filter (or
     * greedy) race over the whole row; the others summarize their chunks with the candidates their
     * first filter needs ({@link #firstNeed}), keep, and race over the kept tokens, summarizing again with 8× the candidates
     * while the lists do not decide the pipeline (at {@code k = V} every live token is listed: a row
     * whose cut falls inside a tie that spans chunks, or whose top-p keeps most of the row, ends there).
     */
    static void raceSample(RowExecutor pool, ShardKernels kernels, Supplier<HalfKernels> half, Tensor logits, int n,
                           List<SamplingFilters> filters, long[] seeds, long step, boolean shareable, int[] tokens) {
        int nRows = (int) logits.rows();
        float[] temperatures = new float[nRows];
        List<Integer> filtered = new ArrayList<>();
        for (int r = 0; r < nRows; r++) {
            SamplingFilters f = filters.get(r);
            temperatures[r] = f.temperature();
            if (f.temperature() != 0f && !f.filters().isEmpty()) {
                filtered.add(r);
            }
        }
        if (filtered.size() < nRows) {
            ShardSample[] raced = race(pool, kernels, half, logits, n, 0, temperatures, seeds, step, shareable);
            for (int r = 0; r < nRows; r++) {
                tokens[r] = raced[r].token();
            }
        }
        int[] k = new int[nRows];
        for (int r : filtered) {
            k[r] = firstNeed(filters.get(r), n);
        }
        while (!filtered.isEmpty()) {
            // Rows that share k and temperature are summarized together (one batch pipeline: one group).
            int kNow = k[filtered.get(0)];
            float tNow = temperatures[filtered.get(0)];
            int[] group = filtered.stream().filter(r -> k[r] == kNow && temperatures[r] == tNow)
                    .mapToInt(Integer::intValue).toArray();
            ShardCandidates[] merged = candidates(pool, kernels, half, logits, group, group.length, n, 0, tNow, kNow,
                    shareable);
            List<Integer> next = new ArrayList<>();
            for (int r : filtered) {
                next.add(r);
            }
            for (int g = 0; g < group.length; g++) {
                int r = group[g];
                ShardSelection kept = merged[g].keep(filters.get(r));
                if (kept.exact()) {
                    tokens[r] = kept.sample(seeds[r], r, step);
                    next.remove(Integer.valueOf(r));
                } else if (kNow >= n) {
                    throw new IllegalStateException("entrokit: internal error, row " + r
                            + " undecided with every live token listed");
                } else {
                    k[r] = (int) Math.min((long) kNow * 8, n);
                }
            }
            filtered = next;
        }
    }

    /**
     * Candidates per chunk for the first filter: a top-k's {@code k} (or top-H's {@code n}) always
     * suffices, since a chunk's first unlisted token has {@code k} of its own before it and so ranks
     * after the row's first {@code k}; top-p and min-p start from 64 and grow.
     */
    private static int firstNeed(SamplingFilters f, int n) {
        SamplingFilters.Filter first = f.filters().get(0);
        int want = switch (first.kind()) {
            case TOP_K -> first.k();
            case TOP_H -> first.n();
            default -> 64;
        };
        return Math.min(want, n);
    }
}
