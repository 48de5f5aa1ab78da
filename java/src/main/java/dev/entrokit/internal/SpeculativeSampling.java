package dev.entrokit.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The chain rejection sampler of speculative decoding (Leviathan et al. 2023; FlashInfer's
 * {@code chain_speculative_sampling}) for one request, in float64: draft token {@code d_i} is accepted
 * with probability {@code min(1, p_i(d_i) / q_i(d_i))}; at the first rejection a token is drawn from
 * {@code normalize(max(0, p_i − q_i))} and the chain stops; when all {@code k} drafts pass, a bonus token
 * is drawn from the last target row {@code p_k}. Every draw is Philox keyed by (seed, row, step,
 * position): words 0–1 of the block decide acceptance, words 2–3 draw the replacement, so the outputs
 * depend on nothing else. Draws walk the tokens by ascending id, as the sampler of SPEC §2 does.
 */
public final class SpeculativeSampling {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;

    private SpeculativeSampling() {
    }

    /**
     * One request: {@code k} draft ids at {@code ids[idsOff + i]}, draft row {@code i} at
     * {@code draft[draftOff + i·draftStride]}, target row {@code i} ({@code 0..k}) at
     * {@code target[targetOff + i·targetStride]}, each of {@code n} probabilities. Writes {@code k + 1}
     * tokens (the emitted ones, then -1) and returns how many drafts were accepted; a request whose
     * probabilities are not all finite and non-negative, or whose rows sum to 0, gets -1 and tokens -1.
     */
    public static int chain(MemorySegment ids, long idsOff, int k, MemorySegment draft, long draftOff, long draftStride,
                            MemorySegment target, long targetOff, long targetStride, int n, long seed, int row, long step,
                            MemorySegment tokens, long tokensOff) {
        for (int i = 0; i <= k; i++) {
            tokens.setAtIndex(I, tokensOff + i, -1);
        }
        for (int i = 0; i <= k; i++) {
            if (!valid(target, targetOff + i * targetStride, n) || i < k && !valid(draft, draftOff + i * draftStride, n)) {
                return -1;
            }
        }
        for (int i = 0; i < k; i++) {
            int d = ids.getAtIndex(I, idsOff + i);
            long p = targetOff + i * targetStride;
            long q = draftOff + i * draftStride;
            double pd = target.getAtIndex(F, p + d) / sum(target, p, n);
            double qd = draft.getAtIndex(F, q + d) / sum(draft, q, n);
            double u = Philox.uniform(seed, row, step, i);
            if (u * qd < pd) { // u < min(1, p/q), and q(d) = 0 < p(d) accepts
                tokens.setAtIndex(I, tokensOff + i, d);
                continue;
            }
            int t = residual(target, p, draft, q, n, Philox.secondUniform(seed, row, step, i));
            tokens.setAtIndex(I, tokensOff + i, t);
            return i;
        }
        long last = targetOff + k * targetStride;
        tokens.setAtIndex(I, tokensOff + k, residual(target, last, null, 0, n, Philox.secondUniform(seed, row, step, k)));
        return k;
    }

    /** Every probability finite and {@code ≥ 0}, and some positive. */
    private static boolean valid(MemorySegment s, long off, int n) {
        double sum = 0;
        for (int j = 0; j < n; j++) {
            float v = s.getAtIndex(F, off + j);
            if (!(v >= 0f) || v == Float.POSITIVE_INFINITY) {
                return false;
            }
            sum += v;
        }
        return sum > 0;
    }

    /**
     * A draw, ids ascending, from {@code normalize(max(0, p/Σp − q/Σq))}, or from {@code p} when
     * {@code q} is null or rounding leaves that residual all 0.
     */
    private static int residual(MemorySegment p, long pOff, MemorySegment q, long qOff, int n, double u) {
        double sp = sum(p, pOff, n);
        double sq = q == null ? 1 : sum(q, qOff, n);
        double total = 0;
        for (int j = 0; j < n; j++) {
            total += weight(p, pOff, sp, q, qOff, sq, j);
        }
        if (!(total > 0)) {
            return q == null ? -1 : residual(p, pOff, null, 0, n, u);
        }
        double target = u * total;
        double cum = 0;
        int last = -1;
        for (int j = 0; j < n; j++) {
            double w = weight(p, pOff, sp, q, qOff, sq, j);
            if (w > 0) {
                cum += w;
                last = j;
                if (cum > target) {
                    return j;
                }
            }
        }
        return last;
    }

    private static double weight(MemorySegment p, long pOff, double sp, MemorySegment q, long qOff, double sq, int j) {
        double pj = p.getAtIndex(F, pOff + j) / sp;
        return q == null ? pj : Math.max(0, pj - q.getAtIndex(F, qOff + j) / sq);
    }

    private static double sum(MemorySegment s, long off, int n) {
        double total = 0;
        for (int j = 0; j < n; j++) {
            total += s.getAtIndex(F, off + j);
        }
        return total;
    }
}
