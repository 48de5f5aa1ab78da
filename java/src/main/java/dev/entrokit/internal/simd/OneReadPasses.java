package dev.entrokit.internal.simd;

import static dev.entrokit.internal.simd.RowPasses.EXTREME_SPREAD;
import static dev.entrokit.internal.simd.SimdConstants.BLOCK;
import static dev.entrokit.internal.simd.HalfPairPasses.at;
import static dev.entrokit.internal.simd.SimdConstants.F;
import static dev.entrokit.internal.simd.SimdConstants.L;
import static dev.entrokit.internal.simd.SimdRows.F32;
import static dev.entrokit.internal.simd.SimdRows.blockEnd;
import static dev.entrokit.internal.simd.SimdRows.exp;
import static dev.entrokit.internal.simd.SimdRows.get;
import static dev.entrokit.internal.simd.SimdRows.load;
import static dev.entrokit.internal.simd.SimdRows.put;
import static dev.entrokit.internal.simd.SimdRows.shift;
import static dev.entrokit.internal.simd.SimdRows.store;
import static dev.entrokit.internal.simd.SimdRows.sumLanes;
import static dev.entrokit.internal.simd.VectorExp2.LN2;
import static dev.entrokit.internal.simd.VectorExp2.exp2OrZero;
import static dev.entrokit.internal.simd.VectorExp2.log2ScaleOfTwoInvT;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.GT;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The one-read teacher/student passes of KL, reverse KL, cross-entropy, Jeffreys and JSD: each block of
 * a pair is read once (its max, then its exps against the running maxima, the double sums rescaled once per
 * block), and, when a gradient is asked for, what the forward computed is kept so that the gradient pass
 * needs no second exp in the same compiled unit (C2 boxes vectors there otherwise).
 *
 * <p>The vector blocks shift the logits into log2 units ({@code y = (x − M)·log2 e/T}, {@link VectorExp2#log2Units}'s
 * form, with {@code log2Scale = 2·log2 e/T} where the scalar code has {@code 2/T}) and exponentiate with
 * {@link VectorExp2#exp2OrZero}: 9 multiply-adds per exp instead of {@link VectorExp}'s 13, for the same accuracy (the
 * rounding of the float argument, about 1e-7 of it, dominates both). What they add of the form {@code Σ e·y} is
 * therefore {@code log2 e} times the sum in nats, and {@link #pairSumsStreaming} multiplies it by {@code ln 2} in
 * double; the stored exps are the same quantities as before ({@code e^{(x − M)/T}}, masked and underflowed lanes
 * exactly 0), so the gradient passes rescale them unchanged, and the forward with and without a gradient shares every
 * exp. The scalar tails stay in nats (their sums and stored shifted logits are used in nats).
 */
final class OneReadPasses {
    /** What {@link #pairSumsStreaming} sums: {@link PairPasses#klSums}'s three sums. */
    static final int KL_SUMS = 0;
    /** What {@link #pairSumsStreaming} sums: {@link PairPasses#crossEntropySums}'s three sums. */
    static final int CE_SUMS = 1;
    /** What {@link #pairSumsStreaming} sums: {@link PairPasses#klSums}'s three and the reverse direction's {@code Σ e^{b_i}·(b_i − a_i)}. */
    static final int JEFFREYS_SUMS = 2;
    /**
     * What {@link #pairSumsStreaming} sums: {@code d_t} and {@code d_s} only, storing the exps and the shifted logits
     * to the workspace's heap rows ({@code e^t}, {@code e^s}, {@code a}, {@code b}: rows 0 to 3) for
     * {@link #jsdFromStored}; {@code eT} and {@code eS} are not used.
     */
    static final int JSD_SUMS = 3;
    /** {@link VectorExp2#LN2} as a float: the stored shifted logits of the vector blocks are in log2 units. */
    private static final float LN2_F = (float) LN2;

    private OneReadPasses() {
    }


    /**
     * Running maxima and live minima of a teacher/student pair over the vector block {@code [start, end)}:
     * {@code mm[0]}/{@code mm[1]} the teacher's max/min, {@code mm[2]}/{@code mm[3]} the student's, updated in
     * place (NaN ignored, {@code −inf} left out of the minima, as {@link RowPasses#maxAndMin}).
     */
    static void pairMaxMinBlock(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end, float[] mm) {
        FloatVector mxT = FloatVector.broadcast(F, mm[0]);
        FloatVector mnT = FloatVector.broadcast(F, mm[1]);
        FloatVector mxS = FloatVector.broadcast(F, mm[2]);
        FloatVector mnS = FloatVector.broadcast(F, mm[3]);
        for (int i = start; i < end; i += L) {
            FloatVector vt = load(t, tOff + i);
            FloatVector vs = load(s, sOff + i);
            mxT = mxT.blend(vt, vt.compare(GT, mxT));
            mxS = mxS.blend(vs, vs.compare(GT, mxS));
            FloatVector liveT = vt.blend(Float.POSITIVE_INFINITY, vt.compare(EQ, Float.NEGATIVE_INFINITY));
            FloatVector liveS = vs.blend(Float.POSITIVE_INFINITY, vs.compare(EQ, Float.NEGATIVE_INFINITY));
            mnT = mnT.blend(liveT, liveT.compare(VectorOperators.LT, mnT));
            mnS = mnS.blend(liveS, liveS.compare(VectorOperators.LT, mnS));
        }
        mm[0] = mxT.reduceLanes(VectorOperators.MAX);
        mm[1] = mnT.reduceLanes(VectorOperators.MIN);
        mm[2] = mxS.reduceLanes(VectorOperators.MAX);
        mm[3] = mnS.reduceLanes(VectorOperators.MIN);
    }

    /**
     * {@link PairPasses#klSums}'s three sums over the vector block {@code [start, end)} only, shifted by the given maxima:
     * {@code acc[0] = d_t}, {@code acc[1] = d_s}, {@code acc[2] = Σ e^{a_i}·(a_i − b_i)} with {@code a}, {@code b} in log2
     * units (the caller multiplies it by {@code ln 2}; see the class comment).
     */
    static void klBlockSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end, float negHalfMt,
                            float negHalfMs, float log2Scale, double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector dsAcc = FloatVector.zero(F);
        FloatVector dsComp = FloatVector.zero(F);
        FloatVector wAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector a = shift(xt, negHalfMt, log2Scale);
            FloatVector b = shift(load(s, sOff + i), negHalfMs, log2Scale);
            FloatVector et = exp2OrZero(a);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            FloatVector es = exp2OrZero(b);
            FloatVector sumS = dsAcc.add(es);
            dsComp = dsComp.add(es.sub(sumS.sub(dsAcc)));
            dsAcc = sumS;
            wAcc = wAcc.add(et.mul(a.sub(b)).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        dsAcc.intoArray(lanes, 0);
        double ds = sumLanes(lanes);
        dsComp.intoArray(lanes, 0);
        acc[1] = ds + sumLanes(lanes);
        wAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
    }

    /**
     * {@link #klBlockSums}'s teacher half that also stores {@code e^{a_i}} to {@code eT} (from {@code eTOff}):
     * {@code acc[0] = d_t}, {@code acc[2] = Σ e^{a_i}·(a_i − b_i)}. The student's exps go through
     * {@link #expBlockStore}: one loop holding both exps and both stores went past C2's inlining budget, and
     * the boxed exp allocated about 6 bytes per element (JFR allocation samples, 256 × 32000 KL with gradient).
     */
    static void teacherBlockStore(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end,
                                  float negHalfMt, float negHalfMs, float log2Scale, MemorySegment eT, long eTOff,
                                  double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector wAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector a = shift(xt, negHalfMt, log2Scale);
            FloatVector b = shift(load(s, sOff + i), negHalfMs, log2Scale);
            FloatVector et = exp2OrZero(a);
            store(et, eT, eTOff + i);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            wAcc = wAcc.add(et.mul(a.sub(b)).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        wAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
    }

    /** Stores {@code e_i = exp((x_i − m)/T)} over the vector block {@code [start, end)} and sets {@code acc[1] = Σ e_i}. */
    static void expBlockStore(MemorySegment x, long xOff, int start, int end, float negHalfM, float log2Scale,
                              MemorySegment out, long outOff, double[] acc, float[] lanes) {
        FloatVector dAcc = FloatVector.zero(F);
        FloatVector dComp = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector e = exp2OrZero(shift(load(x, xOff + i), negHalfM, log2Scale));
            store(e, out, outOff + i);
            FloatVector sum = dAcc.add(e);
            dComp = dComp.add(e.sub(sum.sub(dAcc)));
            dAcc = sum;
        }
        dAcc.intoArray(lanes, 0);
        double d = sumLanes(lanes);
        dComp.intoArray(lanes, 0);
        acc[1] = d + sumLanes(lanes);
    }

    /**
     * {@code g_i = e^s_i·kS − e^t_i·kT} over {@code [start, end)}, in place in {@code g} (which holds {@code e^s}):
     * the gradient {@code (q − p)·scale} from the stored exps of one block, {@code k = scale·e^{(ref − M)/T}/d}.
     */
    static void rescaledDifference(MemorySegment eT, MemorySegment g, long gOff, int start, int end, float kT, float kS) {
        FloatVector vkS = FloatVector.broadcast(F, kS);
        for (int i = start; i < end; i += L) {
            FloatVector p = load(eT, i).mul(kT);
            store(load(g, gOff + i).fma(vkS, p.neg()), g, gOff + i);
        }
    }

    /**
     * The KL gradient {@code (q − p)·scale} from what {@link #klSumsStreaming} stored: per block, both exps rescaled
     * from the block's maxima to the row's, in one pass that reads two floats and writes one per entry.
     */
    static void gradFromStoredExps(MemorySegment eT, MemorySegment g, long gOff, int n, float invT, float[] refs,
                                   float mt, float ms, double dt, double ds, float scale) {
        int upper = F.loopBound(n);
        int block = 0;
        for (int start = 0, end = 0; ; start = end, block++) {
            boolean tail = start >= upper;
            end = tail ? n : blockEnd(start, upper);
            float refT = refs[2 * block];
            float refS = refs[2 * block + 1];
            float kT = Float.isNaN(refT) ? 0f : (float) (scale * Math.exp(((double) refT - mt) * invT) / dt);
            float kS = Float.isNaN(refS) ? 0f : (float) (scale * Math.exp(((double) refS - ms) * invT) / ds);
            if (!tail) {
                rescaledDifference(eT, g, gOff, start, end, kT, kS);
            } else {
                for (int i = upper; i < n; i++) {
                    put(g, gOff + i, Math.fma(get(g, gOff + i), kS, -(get(eT, i) * kT)));
                }
                break;
            }
        }
    }

    /**
     * {@link PairPasses#extremePair} and {@link PairPasses#klSums} in one streaming pass, so that each row is read from memory once:
     * block by block, the pair's running maxima (one loop over a block that then sits in L1), then the block's
     * sums against them (a second loop over the same block). When a maximum grows, the double sums are rescaled:
     * with {@code δ = (M' − M)/T}, {@code d' = e^{−δ_t}·d}, and {@code w' = e^{−δ_t}·(w + (δ_s − δ_t)·d_t)} since
     * every {@code a_i − b_i} moves by {@code δ_s − δ_t}. Until a row has shown a finite maximum, its entries are
     * shifted by 0 (they are all {@code −inf} or NaN, which give 0 or NaN as before) and nothing is rescaled.
     * Sets {@code ws.pairMax}, {@code ws.pairSpread} (in argument order) and {@code ws.acc[0..2]} as those two
     * do; returns whether the pair is extreme (then the sums are not meaningful).
     */
    static boolean klSumsStreaming(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT, Workspace ws) {
        return pairSumsStreaming(KL_SUMS, false, t, tOff, s, sOff, n, invT, null, null, 0, ws);
    }

    /**
     * {@link #klSumsStreaming(MemorySegment, long, MemorySegment, long, int, float, Workspace)} that, when
     * {@code eT} is not null, also stores each entry's exps ({@code e^t} to {@code eT} from index 0, {@code e^s} to
     * {@code eS} from {@code eSOff}) and each block's maxima to {@code ws.blockRefs} (teacher at {@code 2k},
     * student at {@code 2k + 1}; the tail is the last block).
     */
    static boolean klSumsStreaming(MemorySegment t, long tOff, MemorySegment s, long sOff, int n, float invT,
                                   MemorySegment eT, MemorySegment eS, long eSOff, Workspace ws) {
        return pairSumsStreaming(KL_SUMS, false, t, tOff, s, sOff, n, invT, eT, eS, eSOff, ws);
    }

    /**
     * The streaming pair pass of {@link #klSumsStreaming} for the sums of {@code kind}: {@code ws.acc[0] = d_t},
     * {@code ws.acc[1] = d_s}, and {@code ws.acc[2]} = {@code Σ e^{a_i}·(a_i − b_i)} ({@link #KL_SUMS},
     * {@link #JEFFREYS_SUMS}) or {@code Σ e^{a_i}·b_i} ({@link #CE_SUMS}), masked teacher entries adding 0;
     * {@link #JEFFREYS_SUMS} also {@code ws.acc[3] = Σ e^{b_i}·(b_i − a_i)}, masked student entries adding 0. On a
     * grown maximum, {@code Σ e^a·b} moves to {@code e^{−δ_t}·(v − δ_s·d_t)} and the reverse sum as the forward one
     * with the roles swapped. The stored exps and block maxima are those of {@link #klSumsStreaming}.
     *
     * <p>{@code bf16}: both rows hold bfloat16 elements ({@code tOff}, {@code sOff} count them), read by the twins in
     * {@link HalfPairPasses}; the results are bitwise those on the rows widened to float32.
     */
    static boolean pairSumsStreaming(int kind, boolean bf16, MemorySegment t, long tOff, MemorySegment s, long sOff, int n,
                                     float invT, MemorySegment eT, MemorySegment eS, long eSOff, Workspace ws) {
        float[] refs = eT == null && kind != JSD_SUMS ? null : ws.blockRefs(2 * (n / BLOCK + 2));
        int block = 0;
        float[] mm = ws.pairMaxMin;
        mm[0] = Float.NEGATIVE_INFINITY;
        mm[1] = Float.POSITIVE_INFINITY;
        mm[2] = Float.NEGATIVE_INFINITY;
        mm[3] = Float.POSITIVE_INFINITY;
        float twoInvT = 2f * invT;
        // The vector blocks exponentiate in log2 units (VectorExp2: 9 multiply-adds per exp instead of 13), so their
        // Σ e·(shifted logit) sums come back log2 e times too large and are taken to nats here, in double.
        float log2Scale = log2ScaleOfTwoInvT(twoInvT);
        float refT = 0f;
        float refS = 0f;
        boolean tShifted = false; // whether refT is a maximum the row has shown (else the placeholder 0)
        boolean sShifted = false;
        double dt = 0;
        double ds = 0;
        double w = 0;
        double wr = 0;
        int upper = F.loopBound(n);
        for (int start = 0, end = 0; ; start = end) {
            boolean tail = start >= upper; // the last round: the scalar tail after the blocks, maybe empty
            if (!tail) {
                end = blockEnd(start, upper);
                if (bf16) {
                    HalfPairPasses.pairMaxMinBlock(t, tOff, s, sOff, start, end, mm);
                } else {
                    pairMaxMinBlock(t, tOff, s, sOff, start, end, mm);
                }
            } else {
                for (int i = upper; i < n; i++) {
                    float vt = at(bf16, t, tOff + i);
                    float vs = at(bf16, s, sOff + i);
                    mm[0] = vt > mm[0] ? vt : mm[0];
                    mm[1] = vt < mm[1] && vt != Float.NEGATIVE_INFINITY ? vt : mm[1];
                    mm[2] = vs > mm[2] ? vs : mm[2];
                    mm[3] = vs < mm[3] && vs != Float.NEGATIVE_INFINITY ? vs : mm[3];
                }
            }
            double deltaT = 0;
            double deltaS = 0;
            if (mm[0] != Float.NEGATIVE_INFINITY && (!tShifted || mm[0] != refT)) {
                deltaT = tShifted ? ((double) mm[0] - refT) * invT : 0;
                refT = mm[0];
                tShifted = true;
            }
            if (mm[2] != Float.NEGATIVE_INFINITY && (!sShifted || mm[2] != refS)) {
                deltaS = sShifted ? ((double) mm[2] - refS) * invT : 0;
                refS = mm[2];
                sShifted = true;
            }
            if (deltaT != 0 || deltaS != 0) {
                double fT = Math.exp(-deltaT);
                double fS = Math.exp(-deltaS);
                w = kind == CE_SUMS ? fT * (w - deltaS * dt) : fT * (w + (deltaS - deltaT) * dt);
                wr = fS * (wr + (deltaT - deltaS) * ds);
                dt *= fT;
                ds *= fS;
            }
            if (refs != null) {
                // NaN marks a block shifted by the placeholder: its exps are all 0 (or the row is NaN anyway).
                refs[2 * block] = tShifted ? refT : Float.NaN;
                refs[2 * block + 1] = sShifted ? refS : Float.NaN;
                block++;
            }
            if (!tail) {
                pairBlockSums(kind, bf16, t, tOff, s, sOff, start, end, -0.5f * refT, -0.5f * refS, log2Scale, eT, eS,
                        eSOff, ws);
                dt += ws.acc[0];
                ds += ws.acc[1];
                w += LN2 * ws.acc[2];
                wr += LN2 * ws.acc[3];
            } else {
                float negHalfMt = -0.5f * refT;
                float negHalfMs = -0.5f * refS;
                for (int i = upper; i < n; i++) {
                    float xt = at(bf16, t, tOff + i);
                    float xs = at(bf16, s, sOff + i);
                    float a = shift(xt, negHalfMt, twoInvT);
                    float b = shift(xs, negHalfMs, twoInvT);
                    float et = exp(a);
                    float es = exp(b);
                    if (eT != null) {
                        put(eT, i, et);
                        put(eS, eSOff + i, es);
                    }
                    dt += et;
                    ds += es;
                    if (kind == JSD_SUMS) {
                        ws.heapRow(0, n)[i] = et;
                        ws.heapRow(1, n)[i] = es;
                        ws.heapRow(2, n)[i] = a;
                        ws.heapRow(3, n)[i] = b;
                    } else if (kind == CE_SUMS) {
                        w += xt == Float.NEGATIVE_INFINITY ? 0 : et * b;
                    } else {
                        w += xt == Float.NEGATIVE_INFINITY ? 0 : et * (a - b);
                        wr += xs == Float.NEGATIVE_INFINITY ? 0 : es * (b - a);
                    }
                }
                break;
            }
        }
        ws.pairMax[0] = mm[0];
        ws.pairMax[1] = mm[2];
        ws.pairSpread[0] = (double) mm[0] - mm[1];
        ws.pairSpread[1] = (double) mm[2] - mm[3];
        ws.acc[0] = dt;
        ws.acc[1] = ds;
        ws.acc[2] = w;
        ws.acc[3] = wr;
        return ws.pairSpread[0] * invT > EXTREME_SPREAD || ws.pairSpread[1] * invT > EXTREME_SPREAD;
    }

    /**
     * One block of {@link #pairSumsStreaming} into {@code ws.acc[0..3]} ({@code acc[3]} is 0 unless
     * {@link #JEFFREYS_SUMS}). Each callee holds one loop; those that store hold one exp each (a loop with two
     * exps and two stores went past C2's inlining budget in KL, see {@link #teacherBlockStore}).
     */
    static void pairBlockSums(int kind, boolean bf16, MemorySegment t, long tOff, MemorySegment s, long sOff, int start,
                              int end, float negHalfMt, float negHalfMs, float log2Scale, MemorySegment eT,
                              MemorySegment eS, long eSOff, Workspace ws) {
        double[] acc = ws.acc;
        acc[3] = 0;
        float[] lanes = ws.lanes;
        if (kind == JSD_SUMS) {
            int n = end; // the rows were sized for the whole row; this only has to cover the block
            float[] eTRow = ws.heapRow(0, n);
            float[] eSRow = ws.heapRow(1, n);
            float[] aTRow = ws.heapRow(2, n);
            float[] aSRow = ws.heapRow(3, n);
            if (bf16) {
                HalfPairPasses.expShiftBlockStore(t, tOff, start, end, negHalfMt, log2Scale, eTRow, aTRow, acc, 0, lanes);
                HalfPairPasses.expShiftBlockStore(s, sOff, start, end, negHalfMs, log2Scale, eSRow, aSRow, acc, 1, lanes);
            } else {
                expShiftBlockStore(t, tOff, start, end, negHalfMt, log2Scale, eTRow, aTRow, acc, 0, lanes);
                expShiftBlockStore(s, sOff, start, end, negHalfMs, log2Scale, eSRow, aSRow, acc, 1, lanes);
            }
            acc[2] = 0;
            return;
        }
        if (eT == null) {
            switch (kind) {
                case CE_SUMS -> {
                    if (bf16) {
                        HalfPairPasses.crossEntropyBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs,
                                log2Scale, acc, lanes);
                    } else {
                        crossEntropyBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, acc, lanes);
                    }
                }
                case JEFFREYS_SUMS -> {
                    if (bf16) {
                        HalfPairPasses.jeffreysBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale,
                                acc, lanes);
                    } else {
                        jeffreysBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, acc, lanes);
                    }
                }
                default -> {
                    if (bf16) {
                        HalfPairPasses.klBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, acc,
                                lanes);
                    } else {
                        klBlockSums(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, acc, lanes);
                    }
                }
            }
            return;
        }
        switch (kind) {
            case CE_SUMS -> {
                if (bf16) {
                    HalfPairPasses.crossEntropyTeacherBlockStore(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs,
                            log2Scale, eT, acc, lanes);
                    HalfPairPasses.expBlockStore(s, sOff, start, end, negHalfMs, log2Scale, eS, eSOff, acc, lanes);
                } else {
                    crossEntropyTeacherBlockStore(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, eT, acc,
                            lanes);
                    expBlockStore(s, sOff, start, end, negHalfMs, log2Scale, eS, eSOff, acc, lanes);
                }
            }
            case JEFFREYS_SUMS -> {
                // The reverse direction is the forward one with the roles swapped: its d and sum land in acc[0], acc[2].
                if (bf16) {
                    HalfPairPasses.teacherBlockStore(s, sOff, t, tOff, start, end, negHalfMs, negHalfMt, log2Scale, eS,
                            eSOff, acc, lanes);
                } else {
                    teacherBlockStore(s, sOff, t, tOff, start, end, negHalfMs, negHalfMt, log2Scale, eS, eSOff, acc, lanes);
                }
                double ds = acc[0];
                double wr = acc[2];
                if (bf16) {
                    HalfPairPasses.teacherBlockStore(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, eT, 0,
                            acc, lanes);
                } else {
                    teacherBlockStore(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, eT, 0, acc, lanes);
                }
                acc[1] = ds;
                acc[3] = wr;
            }
            default -> {
                if (bf16) {
                    HalfPairPasses.teacherBlockStore(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, eT, 0,
                            acc, lanes);
                    HalfPairPasses.expBlockStore(s, sOff, start, end, negHalfMs, log2Scale, eS, eSOff, acc, lanes);
                } else {
                    teacherBlockStore(t, tOff, s, sOff, start, end, negHalfMt, negHalfMs, log2Scale, eT, 0, acc, lanes);
                    expBlockStore(s, sOff, start, end, negHalfMs, log2Scale, eS, eSOff, acc, lanes);
                }
            }
        }
    }

    /**
     * {@link PairPasses#crossEntropySums}'s three sums over the vector block {@code [start, end)} only, the last one
     * ({@code Σ e^{a_i}·b_i}) in log2 units.
     */
    static void crossEntropyBlockSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end,
                                      float negHalfMt, float negHalfMs, float log2Scale, double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector dsAcc = FloatVector.zero(F);
        FloatVector dsComp = FloatVector.zero(F);
        FloatVector vAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector a = shift(xt, negHalfMt, log2Scale);
            FloatVector b = shift(load(s, sOff + i), negHalfMs, log2Scale);
            FloatVector et = exp2OrZero(a);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            FloatVector es = exp2OrZero(b);
            FloatVector sumS = dsAcc.add(es);
            dsComp = dsComp.add(es.sub(sumS.sub(dsAcc)));
            dsAcc = sumS;
            vAcc = vAcc.add(et.mul(b).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        dsAcc.intoArray(lanes, 0);
        double ds = sumLanes(lanes);
        dsComp.intoArray(lanes, 0);
        acc[1] = ds + sumLanes(lanes);
        vAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
    }

    /**
     * {@link #crossEntropyBlockSums}'s teacher half that also stores {@code e^{a_i}} to {@code eT} (from index 0):
     * {@code acc[0] = d_t}, {@code acc[2] = Σ e^{a_i}·b_i}; the student's exps go through {@link #expBlockStore}, as
     * in {@link #teacherBlockStore}.
     */
    static void crossEntropyTeacherBlockStore(MemorySegment t, long tOff, MemorySegment s, long sOff, int start,
                                              int end, float negHalfMt, float negHalfMs, float log2Scale, MemorySegment eT,
                                              double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector vAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector et = exp2OrZero(shift(xt, negHalfMt, log2Scale));
            FloatVector b = shift(load(s, sOff + i), negHalfMs, log2Scale);
            store(et, eT, i);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            vAcc = vAcc.add(et.mul(b).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        vAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
    }

    /**
     * {@link #klBlockSums} and its reverse over the vector block {@code [start, end)}: {@code acc[0] = d_t},
     * {@code acc[1] = d_s}, {@code acc[2] = Σ e^{a_i}·(a_i − b_i)} (masked teacher entries add 0),
     * {@code acc[3] = Σ e^{b_i}·(b_i − a_i)} (masked student entries add 0): Jeffreys' sums from one read, the last
     * two in log2 units.
     */
    static void jeffreysBlockSums(MemorySegment t, long tOff, MemorySegment s, long sOff, int start, int end,
                                  float negHalfMt, float negHalfMs, float log2Scale, double[] acc, float[] lanes) {
        FloatVector dtAcc = FloatVector.zero(F);
        FloatVector dtComp = FloatVector.zero(F);
        FloatVector dsAcc = FloatVector.zero(F);
        FloatVector dsComp = FloatVector.zero(F);
        FloatVector wAcc = FloatVector.zero(F);
        FloatVector rAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector xt = load(t, tOff + i);
            FloatVector xs = load(s, sOff + i);
            FloatVector a = shift(xt, negHalfMt, log2Scale);
            FloatVector b = shift(xs, negHalfMs, log2Scale);
            FloatVector diff = a.sub(b);
            FloatVector et = exp2OrZero(a);
            FloatVector sumT = dtAcc.add(et);
            dtComp = dtComp.add(et.sub(sumT.sub(dtAcc)));
            dtAcc = sumT;
            FloatVector es = exp2OrZero(b);
            FloatVector sumS = dsAcc.add(es);
            dsComp = dsComp.add(es.sub(sumS.sub(dsAcc)));
            dsAcc = sumS;
            wAcc = wAcc.add(et.mul(diff).blend(0f, xt.compare(EQ, Float.NEGATIVE_INFINITY)));
            rAcc = rAcc.add(es.mul(diff.neg()).blend(0f, xs.compare(EQ, Float.NEGATIVE_INFINITY)));
        }
        dtAcc.intoArray(lanes, 0);
        double dt = sumLanes(lanes);
        dtComp.intoArray(lanes, 0);
        acc[0] = dt + sumLanes(lanes);
        dsAcc.intoArray(lanes, 0);
        double ds = sumLanes(lanes);
        dsComp.intoArray(lanes, 0);
        acc[1] = ds + sumLanes(lanes);
        wAcc.intoArray(lanes, 0);
        acc[2] = sumLanes(lanes);
        rAcc.intoArray(lanes, 0);
        acc[3] = sumLanes(lanes);
    }

    /**
     * Stores {@code e_i = exp((x_i − m)/T)} to {@code eOut} and {@code a_i = (x_i − m)·log2 e/T} (log2 units: the JSD
     * passes read it as {@code fma(a, ln 2, c)}) to {@code aOut} (both from index 0) over the vector block
     * {@code [start, end)}, and sets {@code acc[which] = Σ e_i}.
     */
    static void expShiftBlockStore(MemorySegment x, long xOff, int start, int end, float negHalfM, float log2Scale,
                                   float[] eOut, float[] aOut, double[] acc, int which, float[] lanes) {
        FloatVector dAcc = FloatVector.zero(F);
        FloatVector dComp = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector a = shift(load(x, xOff + i), negHalfM, log2Scale);
            FloatVector e = exp2OrZero(a);
            a.intoArray(aOut, i);
            e.intoArray(eOut, i);
            FloatVector sum = dAcc.add(e);
            dComp = dComp.add(e.sub(sum.sub(dAcc)));
            dAcc = sum;
        }
        dAcc.intoArray(lanes, 0);
        double d = sumLanes(lanes);
        dComp.intoArray(lanes, 0);
        acc[which] = d + sumLanes(lanes);
    }

    /** {@code e^{(ref − M)/T}/d} as a float, the factor taking a block's stored exps to probabilities (0 for a NaN ref). */
    static float blockFactor(float ref, float max, float invT, double d) {
        return Float.isNaN(ref) ? 0f : (float) (Math.exp(((double) ref - max) * invT) / d);
    }

    /** {@code (ref − M)/T − log d} as a float, taking a block's stored shifted logits to log-probabilities. */
    static float blockLogShift(float ref, float max, float invT, double d) {
        return Float.isNaN(ref) ? 0f : (float) (((double) ref - max) * invT - Math.log(d));
    }

    /**
     * The generalized JSD sums from what {@link #pairSumsStreaming} stored for {@link #JSD_SUMS}, with no read of
     * the inputs: per block, {@code p = e^t·k_t}, {@code q = e^s·k_s}, {@code log p = a + c_t}, {@code log q = b + c_s}
     * ({@link #blockFactor}, {@link #blockLogShift}), then {@code ws.acc[0] = Σ p log(p/M)},
     * {@code ws.acc[1] = Σ q log(q/M)}. The stored rows are left as they are for {@link #jsdGradFromStored}.
     */
    static void jsdFromStored(int n, float invT, float beta, double dt, double ds, Workspace ws) {
        float[] eT = ws.heapRow(0, n);
        float[] eS = ws.heapRow(1, n);
        float[] aT = ws.heapRow(2, n);
        float[] aS = ws.heapRow(3, n);
        float[] refs = ws.blockRefs(0);
        float mt = ws.pairMax[0];
        float ms = ws.pairMax[1];
        float alpha = 1f - beta;
        int upper = F.loopBound(n);
        double towardP = 0;
        double towardQ = 0;
        int block = 0;
        for (int start = 0, end = 0; ; start = end, block++) {
            boolean tail = start >= upper;
            end = tail ? n : blockEnd(start, upper);
            float refT = refs[2 * block];
            float refS = refs[2 * block + 1];
            float kT = blockFactor(refT, mt, invT, dt);
            float kS = blockFactor(refS, ms, invT, ds);
            float cT = blockLogShift(refT, mt, invT, dt);
            float cS = blockLogShift(refS, ms, invT, ds);
            if (tail) {
                for (int i = upper; i < n; i++) {
                    float p = eT[i] * kT;
                    float q = eS[i] * kS;
                    float logM = (float) Math.log(beta * p + alpha * q);
                    towardP += p == 0 ? 0 : p * (aT[i] + cT - logM);
                    towardQ += q == 0 ? 0 : q * (aS[i] + cS - logM);
                }
                break;
            }
            jsdBlockFromStored(eT, eS, aT, aS, start, end, kT, kS, cT, cS, beta, ws.acc, ws.lanes);
            towardP += ws.acc[0];
            towardQ += ws.acc[1];
        }
        ws.acc[0] = towardP;
        ws.acc[1] = towardQ;
    }

    /**
     * One block of {@link #jsdFromStored}: {@code acc[0] = Σ p log(p/M)}, {@code acc[1] = Σ q log(q/M)}. Reads only,
     * from heap rows: with the rows off-heap the four segment loads and the log went past C2's
     * {@code NodeCountInliningCutoff} and the last load was boxed (192 KB per 32000-wide row, AllocationProbe); so
     * did storing {@code p}, {@code q}, {@code log q} for the gradient and flushing subnormal probabilities (576 KB).
     * A subnormal {@code p} only meets a log clamped to {@code Float.MIN_NORMAL} and adds a term below 1e-36.
     */
    static void jsdBlockFromStored(float[] eT, float[] eS, float[] aT, float[] aS, int start,
                                   int end, float kT, float kS, float cT, float cS, float beta, double[] acc,
                                   float[] lanes) {
        float alpha = 1f - beta;
        FloatVector pAcc = FloatVector.zero(F);
        FloatVector qAcc = FloatVector.zero(F);
        for (int i = start; i < end; i += L) {
            FloatVector p = FloatVector.fromArray(F, eT, i).mul(kT);
            FloatVector q = FloatVector.fromArray(F, eS, i).mul(kS);
            FloatVector logM = VectorLog.log(p.mul(beta).add(q.mul(alpha)));
            pAcc = pAcc.add(p.mul(FloatVector.fromArray(F, aT, i).fma(LN2_F, cT).sub(logM)).blend(0f, p.compare(EQ, 0f)));
            qAcc = qAcc.add(q.mul(FloatVector.fromArray(F, aS, i).fma(LN2_F, cS).sub(logM)).blend(0f, q.compare(EQ, 0f)));
        }
        pAcc.intoArray(lanes, 0);
        acc[0] = sumLanes(lanes);
        qAcc.intoArray(lanes, 0);
        acc[1] = sumLanes(lanes);
    }

    /**
     * The JSD gradient {@code q (log q − log M − towardQ)·scale} from the rows {@link #pairSumsStreaming} stored, block
     * by block with {@link #jsdFromStored}'s factors, into {@code grad} (heap or native): one log per element and no
     * read of the inputs. It is written to the heap row of the teacher's shifted logits (no longer needed) and copied
     * out: a vector store into a segment in the same loop as the three loads and the log was boxed (192 KB per
     * 32000-wide row, AllocationProbe), a store into an array is not.
     */
    static void jsdGradFromStored(MemorySegment grad, long gOff, int n, float invT, float beta, double dt, double ds,
                                  float towardQ, float scale, Workspace ws) {
        float[] eT = ws.heapRow(0, n);
        float[] eS = ws.heapRow(1, n);
        float[] g = ws.heapRow(2, n);
        float[] aS = ws.heapRow(3, n);
        float[] refs = ws.blockRefs(0);
        float mt = ws.pairMax[0];
        float ms = ws.pairMax[1];
        float alpha = 1f - beta;
        int upper = F.loopBound(n);
        int block = 0;
        for (int start = 0, end = 0; ; start = end, block++) {
            boolean tail = start >= upper;
            end = tail ? n : blockEnd(start, upper);
            float refS = refs[2 * block + 1];
            float kT = blockFactor(refs[2 * block], mt, invT, dt);
            float kS = blockFactor(refS, ms, invT, ds);
            float cS = blockLogShift(refS, ms, invT, ds);
            if (tail) {
                for (int i = upper; i < n; i++) {
                    float p = eT[i] * kT;
                    float q = eS[i] * kS;
                    float logM = (float) Math.log(beta * p + alpha * q);
                    g[i] = q == 0 ? 0 : q * (aS[i] + cS - logM - towardQ) * scale;
                }
                break;
            }
            jsdGradBlockFromStored(eT, eS, aS, g, start, end, kT, kS, cS, beta, towardQ, scale);
        }
        MemorySegment.copy(g, 0, grad, F32, gOff * Float.BYTES, n);
    }

    /** One block of {@link #jsdGradFromStored}, into {@code g} (which may be the row of the teacher's shifted logits). */
    static void jsdGradBlockFromStored(float[] eT, float[] eS, float[] aS, float[] g, int start, int end, float kT,
                                       float kS, float cS, float beta, float towardQ, float scale) {
        float alpha = 1f - beta;
        for (int i = start; i < end; i += L) {
            FloatVector p = FloatVector.fromArray(F, eT, i).mul(kT);
            FloatVector q = FloatVector.fromArray(F, eS, i).mul(kS);
            FloatVector logM = VectorLog.log(p.mul(beta).add(q.mul(alpha)));
            FloatVector v = q.mul(FloatVector.fromArray(F, aS, i).fma(LN2_F, cS).sub(logM).sub(towardQ)).mul(scale);
            v.blend(0f, q.compare(EQ, 0f)).intoArray(g, i);
        }
    }
}
