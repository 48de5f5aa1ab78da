package dev.entrokit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * BF16 and F16 inputs on every op of the façade: the result on a half tensor equals bitwise the result of the
 * same op on the F32 tensor holding the widened values, and a half output equals that F32 result rounded once
 * (to nearest even). Run on both CPU backends, at every SIMD width (tagged), on adversarial rows of odd length:
 * masked tokens, NaN and {@code +inf} rows, an all-masked row, ties, values near the largest finite half and
 * beyond it (70000 is {@code +inf} in f16, which makes that row special: the widened value is what counts),
 * subnormal-sized values and large negatives. Each op is run with F32 outputs and with half outputs where it
 * takes a same-shaped output, and once with a mixed teacher (F32) and half student for the pair losses.
 */
@Tag("simd-width")
class HalfInputTest {
    static final int ROWS = 11;

    /** How a run builds its float inputs and same-shaped outputs. */
    interface Src {
        /** A float input holding {@code values} rounded to the run's half type (the reference run: widened back to F32). */
        Tensor x(float[] values, long... shape);

        /** A float input that is F32 in every run (the rounded values, widened): for mixed-dtype cases. */
        Tensor f32(float[] values, long... shape);

        /** A zeroed same-shaped output: the run's half type where the run asks for half outputs, else F32. */
        Tensor y(long... shape);
    }

    /** One op: runs it and adds its results (tensors, doubles, arrays, records) to {@code out}. */
    interface Op {
        void run(Entrokit ek, Src s, List<Object> out);
    }

    static final Map<String, Op> OPS = new LinkedHashMap<>();

    static final float[] L = adversarial(37, 1);
    static final float[] T = adversarial(37, 2);

    static float[] adversarial(int v, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[ROWS * v];
        for (int r = 0; r < ROWS; r++) {
            for (int i = 0; i < v; i++) {
                double g = rnd.nextGaussian();
                x[r * v + i] = (float) switch (r) {
                    case 0 -> 3 * g;
                    case 1 -> i % 5 == 2 ? Float.NEGATIVE_INFINITY : 2 * g; // masked tokens
                    case 2 -> i % 3 == 0 ? 21.375 : Math.rint(4 * g) / 4; // ties, as bf16 logits tie
                    case 3 -> 3e4 * g; // near the largest finite f16 (65504)
                    case 4 -> 1e-6 * g; // f16 subnormals
                    case 5 -> i == v / 2 ? Double.NaN : g; // a NaN row
                    case 6 -> i == 3 ? Double.POSITIVE_INFINITY : g; // a +inf row
                    case 7 -> Double.NEGATIVE_INFINITY; // every token masked
                    case 8 -> i == 1 ? 70000 : g; // +inf in f16, finite in bf16
                    case 9 -> i % 2 == 0 ? -6e4 : g; // large negatives
                    default -> i % 7 == 0 ? Double.NEGATIVE_INFINITY : 1.5 * g + seed;
                };
            }
        }
        return x;
    }

    static float[] positive(int count, long seed, double lo, double hi) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
        }
        return x;
    }

    /** Per row, a probability vector (rows sum to about 1). */
    static float[] probabilities(int rows, int v, long seed) {
        float[] p = positive(rows * v, seed, 0.05, 1);
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            for (int i = 0; i < v; i++) {
                sum += p[r * v + i];
            }
            for (int i = 0; i < v; i++) {
                p[r * v + i] = (float) (p[r * v + i] / sum);
            }
        }
        return p;
    }

    static int[] labels(int rows, int v) {
        int[] y = new int[rows];
        for (int r = 0; r < rows; r++) {
            y[r] = (r * 7 + 3) % v;
        }
        return y;
    }

    static Tensor i32(int[] v) {
        return Tensor.of(v.clone());
    }

    static Tensor f32Out(int n) {
        return Tensor.of(new float[n]);
    }

    static long[] seeds(int n) {
        long[] s = new long[n];
        for (int i = 0; i < n; i++) {
            s[i] = 1000 + 17L * i;
        }
        return s;
    }

    static {
        int v = 37;
        long[] rv = {ROWS, v};
        float temp = 0.7f;
        OPS.put("softmax", (ek, s, out) -> {
            Tensor o = s.y(rv);
            ek.softmax(s.x(L, rv), o, temp);
            out.add(o);
        });
        OPS.put("softmax in place", (ek, s, out) -> {
            Tensor x = s.x(L, rv);
            ek.softmax(x, x, temp);
            out.add(x);
        });
        OPS.put("logSoftmax", (ek, s, out) -> {
            Tensor o = s.y(rv);
            ek.logSoftmax(s.x(L, rv), o, temp);
            out.add(o);
        });
        OPS.put("logSoftmax in place", (ek, s, out) -> {
            Tensor x = s.x(L, rv);
            ek.logSoftmax(x, x, 1f);
            out.add(x);
        });
        for (boolean log : new boolean[] {false, true}) {
            OPS.put((log ? "logSoftmax" : "softmax") + " with statistics", (ek, s, out) -> {
                Tensor o = s.y(rv);
                Tensor m = f32Out(ROWS);
                Tensor lse = f32Out(ROWS);
                Tensor h = f32Out(ROWS);
                if (log) {
                    ek.logSoftmax(s.x(L, rv), o, temp, m, lse, h);
                } else {
                    ek.softmax(s.x(L, rv), o, temp, m, lse, h);
                }
                out.addAll(List.of(o, m, lse, h));
            });
        }
        OPS.put("logSumExp", (ek, s, out) -> {
            Tensor o = f32Out(ROWS);
            ek.logSumExp(s.x(L, rv), o, temp);
            out.add(o);
        });
        float[] probs = probabilities(ROWS, v, 3);
        float[] logprobs = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            logprobs[i] = (float) Math.log(probs[i]);
        }
        OPS.put("softmaxBackward", (ek, s, out) -> {
            Tensor dx = s.y(rv);
            ek.softmaxBackward(s.x(probs, rv), s.x(T, rv), dx, temp);
            out.add(dx);
        });
        OPS.put("logSoftmaxBackward", (ek, s, out) -> {
            Tensor dx = s.y(rv);
            ek.logSoftmaxBackward(s.x(logprobs, rv), s.x(T, rv), dx, temp);
            out.add(dx);
        });
        int[] y = labels(ROWS, v);
        y[ROWS - 1] = LossOptions.DEFAULT_IGNORE_INDEX;
        for (Loss op : Loss.values()) {
            for (boolean mixed : new boolean[] {false, true}) {
                if (mixed && !op.readsTeacher()) {
                    continue;
                }
                OPS.put("loss " + op + (mixed ? " (F32 teacher)" : ""), (ek, s, out) -> {
                    LossOptions o = LossOptions.defaults().temperature(temp).reduction(Reduction.NONE).gradScale(1.5f)
                            .beta(0.3f).alpha(1.7f).labelSmoothing(op == Loss.CROSS_ENTROPY_LABELS ? 0.1f : 0f);
                    Tensor rowLoss = f32Out(ROWS);
                    Tensor grad = op.hasGradient() ? s.y(rv) : null;
                    Tensor teacher = !op.readsTeacher() ? null : mixed ? s.f32(T, rv) : s.x(T, rv);
                    Tensor lab = op.readsLabels() ? i32(op == Loss.PLD ? labels(ROWS, v) : y) : null;
                    out.add(ek.loss(op, teacher, s.x(L, rv), lab, o, rowLoss, grad));
                    out.add(rowLoss);
                    if (grad != null) {
                        out.add(grad);
                    }
                });
            }
        }
        float[] refLp = positive(ROWS, 5, -6, -0.01);
        float[] weights = positive(ROWS, 6, -1, 1);
        OPS.put("logprobEntropy", (ek, s, out) -> {
            Tensor lp = f32Out(ROWS);
            Tensor h = f32Out(ROWS);
            Tensor g = s.y(rv);
            out.add(ek.logprobEntropy(s.x(L, rv), i32(y), LossOptions.defaults().temperature(temp)
                    .reduction(Reduction.SUM), lp, h, s.x(weights, ROWS), s.x(weights, ROWS), g));
            out.addAll(List.of(lp, h, g));
        });
        OPS.put("k3Kl", (ek, s, out) -> {
            Tensor kl = f32Out(ROWS);
            Tensor g = s.y(rv);
            out.add(ek.k3Kl(s.x(L, rv), i32(y), s.x(refLp, ROWS), LossOptions.defaults().reduction(Reduction.SUM), kl,
                    null, g));
            out.addAll(List.of(kl, g));
        });
        int k = 4;
        int[] sparseIds = new int[ROWS * k];
        float[] sparseLp = new float[ROWS * k];
        for (int r = 0; r < ROWS; r++) {
            for (int j = 0; j < k; j++) {
                sparseIds[r * k + j] = (r + 5 * j) % v;
                sparseLp[r * k + j] = (float) Math.log(0.3 / (j + 1.5));
            }
        }
        for (SparseDivergence d : SparseDivergence.values()) {
            for (TeacherMass m : TeacherMass.values()) {
                OPS.put("sparseDistill " + d + " " + m, (ek, s, out) -> {
                    Tensor rowLoss = f32Out(ROWS);
                    Tensor g = s.y(rv);
                    out.add(ek.sparseDistill(d, m, Tensor.of(sparseIds.clone(), ROWS, k), s.x(sparseLp, ROWS, k),
                            s.x(L, rv), LossOptions.defaults().temperature(temp).beta(0.4f).reduction(Reduction.NONE),
                            rowLoss, g));
                    out.addAll(List.of(rowLoss, g));
                });
            }
        }
        float[] classWeights = positive(v, 7, 0.2, 2);
        OPS.put("crossEntropyLabels with options", (ek, s, out) -> {
            Tensor rowLoss = f32Out(ROWS);
            Tensor z = f32Out(ROWS);
            Tensor g = s.y(rv);
            int[] pred = new int[ROWS];
            byte[] correct = new byte[ROWS];
            out.add(ek.crossEntropyLabels(i32(y), s.x(L, rv), LossOptions.defaults().temperature(temp)
                    .reduction(Reduction.MEAN), new CrossEntropyOptions(1e-3f, 15f, s.x(classWeights, v)), rowLoss, z, g,
                    Tensor.of(pred), Tensor.of(MemorySegment.ofArray(correct), DType.BOOL, ROWS)));
            out.addAll(List.of(rowLoss, z, g, pred, correct));
        });
        OPS.put("tokenLogprob", (ek, s, out) -> {
            Tensor o = f32Out(ROWS);
            ek.tokenLogprob(s.x(L, rv), i32(labels(ROWS, v)), o);
            out.add(o);
        });
        int[] seqIds = labels(ROWS - 1, v);
        long[] seqShape = {ROWS - 1, v};
        float[] seqL = Arrays.copyOf(L, (ROWS - 1) * v);
        float[] seqT = Arrays.copyOf(T, (ROWS - 1) * v);
        Tensor seqIdTensor = Tensor.of(seqIds, 2, (ROWS - 1) / 2);
        OPS.put("minKProb (log-probabilities)", (ek, s, out) -> {
            Tensor sc = f32Out(2);
            ek.scores().minKProb(s.x(refLp, 1, ROWS), 0.3f, sc);
            out.add(sc);
        });
        OPS.put("minKProb (logits)", (ek, s, out) -> {
            Tensor sc = f32Out(2);
            ek.scores().minKProb(s.x(seqL, seqShape), seqIdTensor, 0.4f, sc);
            out.add(sc);
        });
        OPS.put("minKPlusPlus", (ek, s, out) -> {
            Tensor sc = f32Out(2);
            ek.scores().minKPlusPlus(s.x(seqL, seqShape), seqIdTensor, 0.4f, sc);
            out.add(sc);
        });
        float[] freq = positive(v, 8, 1e-4, 0.2);
        OPS.put("dcpdd", (ek, s, out) -> {
            Tensor sc = f32Out(2);
            ek.scores().dcpdd(s.x(seqL, seqShape), seqIdTensor, s.x(freq, v), 0.01f, sc);
            out.add(sc);
        });
        OPS.put("likelihoodRatio", (ek, s, out) -> {
            Tensor sc = f32Out(2);
            ek.scores().likelihoodRatio(s.x(seqL, seqShape), s.x(seqT, seqShape), seqIdTensor, sc);
            out.add(sc);
        });
        int[] offsets = {0, 4, 11};
        float[] variances = positive(ROWS, 9, 0, 2);
        OPS.put("packed sequence scores", (ek, s, out) -> {
            Tensor a = f32Out(2);
            Tensor b = f32Out(2);
            Tensor c = f32Out(2);
            Tensor d = f32Out(2);
            ek.scores().minKProbPacked(s.x(refLp, ROWS), i32(offsets), 0.5f, a);
            ek.scores().minKPlusPlusPacked(s.x(refLp, ROWS), s.x(weights, ROWS), s.x(variances, ROWS), i32(offsets),
                    0.5f, b);
            ek.scores().dcpddPacked(s.x(refLp, ROWS), i32(labels(ROWS, v)), i32(offsets), s.x(freq, v), 0.01f, c);
            ek.scores().likelihoodRatioPacked(s.x(refLp, ROWS), s.x(weights, ROWS), i32(offsets), d);
            out.addAll(List.of(a, b, c, d));
        });
        for (Uncertainty u : Uncertainty.values()) {
            OPS.put("contrastive " + u, (ek, s, out) -> {
                Tensor o = s.y(rv);
                ek.decoding().contrastive(s.x(L, rv), s.x(T, rv), 0.5f, 0.1f, u, o);
                out.add(o);
            });
        }
        OPS.put("injectPrior", (ek, s, out) -> {
            Tensor o = s.y(rv);
            ek.decoding().injectPrior(s.x(L, rv), s.x(probs, rv), 0.8f, o);
            out.add(o);
        });
        OPS.put("topK", (ek, s, out) -> {
            Tensor ids = Tensor.of(new int[ROWS * 5], ROWS, 5);
            Tensor vals = Tensor.of(new float[ROWS * 5], ROWS, 5);
            Tensor ps = Tensor.of(new float[ROWS * 5], ROWS, 5);
            ek.decoding().topK(s.x(L, rv), 5, temp, ids, vals, ps);
            out.addAll(List.of(ids, vals, ps));
        });
        OPS.put("topK without probabilities", (ek, s, out) -> {
            Tensor ids = Tensor.of(new int[ROWS * 5], ROWS, 5);
            Tensor vals = Tensor.of(new float[ROWS * 5], ROWS, 5);
            ek.decoding().topK(s.x(L, rv), 5, temp, ids, vals, null);
            out.addAll(List.of(ids, vals));
        });
        SamplingFilters pipeline = SamplingFilters.temperature(0.8f).topK(20).topP(0.9f).minP(0.02f);
        SamplingFilters decoding = SamplingFilters.temperature(0.9f).typical(0.8f).topNSigma(2f);
        for (SamplingFilters f : List.of(pipeline, decoding)) {
            String tag = f == pipeline ? " (top-k, top-p, min-p)" : " (typical, top-n-sigma)";
            OPS.put("keptMask" + tag, (ek, s, out) -> {
                byte[] mask = new byte[ROWS * v];
                ek.decoding().keptMask(s.x(L, rv), f, Tensor.ofMask(mask, ROWS, v));
                out.add(mask);
            });
            OPS.put("keptTokens" + tag, (ek, s, out) -> {
                Tensor ids = Tensor.of(new int[ROWS * 8], ROWS, 8);
                Tensor ps = Tensor.of(new float[ROWS * 8], ROWS, 8);
                Tensor counts = Tensor.of(new int[ROWS]);
                ek.decoding().keptTokens(s.x(L, rv), f, ids, ps, counts);
                out.addAll(List.of(ids, ps, counts));
            });
            OPS.put("maskLogits" + tag, (ek, s, out) -> {
                Tensor o = s.y(rv);
                ek.decoding().maskLogits(s.x(L, rv), f, o);
                out.add(o);
            });
            OPS.put("maskLogits in place" + tag, (ek, s, out) -> {
                Tensor x = s.x(L, rv);
                ek.decoding().maskLogits(x, f, x);
                out.add(x);
            });
            OPS.put("sample" + tag, (ek, s, out) -> {
                Tensor tokens = Tensor.of(new int[ROWS]);
                ek.decoding().sample(s.x(L, rv), f, seeds(ROWS), 3, tokens);
                out.add(tokens);
            });
            if (f == pipeline) { // the race's shard candidates take the classic filters only
                OPS.put("raceSample" + tag, (ek, s, out) -> {
                    Tensor tokens = Tensor.of(new int[ROWS]);
                    ek.decoding().raceSample(s.x(L, rv), f, seeds(ROWS), 3, tokens);
                    out.add(tokens);
                });
            }
            OPS.put("sampleWithLogprobs" + tag, (ek, s, out) -> {
                Tensor tokens = Tensor.of(new int[ROWS]);
                Tensor topIds = Tensor.of(new int[ROWS * 3], ROWS, 3);
                Tensor topLp = Tensor.of(new float[ROWS * 3], ROWS, 3);
                Tensor rank = Tensor.of(new int[ROWS]);
                Tensor raw = f32Out(ROWS);
                Tensor processed = f32Out(ROWS);
                ek.decoding().sampleWithLogprobs(s.x(L, rv), f, seeds(ROWS), 2, tokens, 3, topIds, topLp, rank, raw,
                        processed);
                out.addAll(List.of(tokens, topIds, topLp, rank, raw, processed));
            });
            OPS.put("sampleConstrained" + tag, (ek, s, out) -> {
                Tensor tokens = Tensor.of(new int[ROWS]);
                Tensor rejections = Tensor.of(new int[ROWS]);
                Tensor mass = f32Out(ROWS);
                ek.decoding().sampleConstrained(s.x(L, rv), f, (row, token) -> token % 3 != 0, seeds(ROWS), 4, tokens,
                        rejections, mass);
                out.addAll(List.of(tokens, rejections, mass));
            });
        }
        OPS.put("sample greedy", (ek, s, out) -> {
            Tensor tokens = Tensor.of(new int[ROWS]);
            ek.decoding().sample(s.x(L, rv), SamplingFilters.temperature(0f), seeds(ROWS), 0, tokens);
            out.add(tokens);
        });
        OPS.put("raceSample unfiltered", (ek, s, out) -> {
            Tensor tokens = Tensor.of(new int[ROWS]);
            ek.decoding().raceSample(s.x(L, rv), SamplingFilters.temperature(0.6f), seeds(ROWS), 5, tokens);
            out.add(tokens);
        });
        OPS.put("shardSample", (ek, s, out) -> {
            for (ShardSample e : ek.decoding().shardSample(s.x(L, rv), 100, 0.9f, seeds(ROWS), 1)) {
                out.add(e.toBytes());
            }
        });
        OPS.put("shardCandidates", (ek, s, out) -> {
            for (ShardCandidates c : ek.decoding().shardCandidates(s.x(L, rv), 50, 0.9f, 6)) {
                out.add(c.toBytes());
            }
        });
        OPS.put("mirostatV2", (ek, s, out) -> {
            Tensor tokens = Tensor.of(new int[ROWS]);
            float[] mu = new float[ROWS];
            Arrays.fill(mu, 6f);
            ek.decoding().mirostatV2(s.x(L, rv), SamplingFilters.temperature(0.9f), 3f, 0.1f, mu, seeds(ROWS), 7,
                    tokens);
            out.addAll(List.of(tokens, mu));
        });
        int[] penaltyIds = new int[ROWS * 3];
        for (int i = 0; i < penaltyIds.length; i++) {
            penaltyIds[i] = i % 4 == 3 ? -1 : (i * 11) % v;
        }
        float[] bias = positive(ROWS * 3, 10, -3, 3);
        float[] perRow = positive(ROWS, 11, 0.5, 2);
        OPS.put("applyPenalties", (ek, s, out) -> {
            Tensor x = s.x(L, rv);
            ek.decoding().applyPenalties(x, Tensor.of(penaltyIds.clone(), ROWS, 3), Tensor.of(penaltyIds.clone(), ROWS,
                    3), perRow, perRow, perRow);
            out.add(x);
        });
        OPS.put("applyLogitBias", (ek, s, out) -> {
            Tensor x = s.x(L, rv);
            ek.decoding().applyLogitBias(x, Tensor.of(penaltyIds.clone(), ROWS, 3), s.x(bias, ROWS, 3));
            out.add(x);
        });
        for (boolean allowed : new boolean[] {false, true}) {
            OPS.put("restrictTokens allowed=" + allowed, (ek, s, out) -> {
                Tensor x = s.x(L, rv);
                ek.decoding().restrictTokens(x, Tensor.of(penaltyIds.clone(), ROWS, 3), allowed);
                out.add(x);
            });
        }
        int b = 3;
        int kd = 2;
        float[] draft = probabilities(b * kd, v, 12);
        float[] target = probabilities(b * (kd + 1), v, 13);
        OPS.put("speculativeChain", (ek, s, out) -> {
            Tensor accepted = Tensor.of(new int[b]);
            Tensor tokens = Tensor.of(new int[b * (kd + 1)], b, kd + 1);
            ek.decoding().speculativeChain(Tensor.of(new int[] {1, 2, 3, 4, 5, 6}, b, kd), s.x(draft, b, kd, v),
                    s.x(target, b, kd + 1, v), seeds(b), 9, accepted, tokens);
            out.addAll(List.of(accepted, tokens));
        });
        // Balanced marginals must sum to 1 within 1e-5 after rounding: dyadic weights are exact in both halves.
        float[] cost = positive(2 * 4 * 8, 14, 0, 3);
        float[] px = positive(2 * 4 * 3, 15, -2, 2);
        float[] py = positive(2 * 8 * 3, 16, -2, 2);
        float[] wa = {0.5f, 0.25f, 0.125f, 0.125f};
        float[] wb = {0.25f, 0.125f, 0.125f, 0.125f, 0.125f, 0.125f, 0.0625f, 0.0625f};
        SinkhornOptions so = SinkhornOptions.defaults().epsilon(0.3).maxIter(200).plan(true).gradients(true);
        OPS.put("sinkhorn (cost)", (ek, s, out) -> sinkhorn(out, ek.transport().sinkhorn(s.x(cost, 2, 4, 8), s.x(wa, 2,
                4), s.x(wb, 2, 8), so.gradients(false))));
        OPS.put("sinkhorn (points)", (ek, s, out) -> sinkhorn(out, ek.transport().sinkhorn(s.x(px, 2, 4, 3), s.x(py, 2,
                8, 3), Metric.SQEUCLIDEAN, s.x(wa, 2, 4), s.x(wb, 2, 8), so)));
        OPS.put("sinkhornDivergence", (ek, s, out) -> out.add(ek.transport().sinkhornDivergence(s.x(px, 2, 4, 3),
                s.x(py, 2, 4, 3), Metric.EUCLIDEAN, null, null, so)));
        // Shard states of a row in one shard (offset 0, the whole row): phase 1, merge, values, phase 2.
        LossOptions so1 = LossOptions.defaults().temperature(temp).labelSmoothing(0.1f).beta(0.3f);
        for (ShardOp sop : List.of(ShardOp.LOG_SUM_EXP, ShardOp.ENTROPY)) {
            OPS.put("shard states " + sop, (ek, s, out) -> {
                Tensor x = s.x(L, rv);
                ShardStates st = ShardStates.mergeAll(List.of(ShardStates.of(ek, sop, x, 0, v, so1)));
                out.add(st.values());
                Tensor p = s.y(rv);
                st.softmax(ek, x, 0, p, sop == ShardOp.ENTROPY);
                out.add(p);
                if (sop == ShardOp.ENTROPY) {
                    Tensor g = s.y(rv);
                    st.gradient(ek, x, 0, g, 1.5f);
                    out.add(g);
                }
            });
        }
        OPS.put("shard states CROSS_ENTROPY_LABELS", (ek, s, out) -> {
            Tensor x = s.x(L, rv);
            ShardStates st = ShardStates.mergeAll(List.of(ShardStates.ofLabels(ek, ShardOp.CROSS_ENTROPY_LABELS, x,
                    i32(y), 0, v, so1)));
            out.add(st.values());
            Tensor g = s.y(rv);
            st.labelGradient(ek, x, i32(y), 0, g, 1f);
            out.add(g);
        });
        for (ShardOp sop : List.of(ShardOp.CROSS_ENTROPY, ShardOp.KL, ShardOp.RKL, ShardOp.JSD)) {
            OPS.put("shard states " + sop, (ek, s, out) -> {
                Tensor t = s.x(T, rv);
                Tensor x = s.x(L, rv);
                ShardStates st = ShardStates.mergeAll(List.of(ShardStates.ofPair(ek, sop, t, x, 0, v, so1)));
                if (sop == ShardOp.JSD) {
                    st = ShardStates.mergeAll(List.of(st.jsdTerms(ek, t, x, 0)));
                }
                out.add(st.values());
                Tensor g = s.y(rv);
                st.pairGradient(ek, t, x, 0, g, 1f);
                out.add(g);
            });
        }
        float[] sinkdT = positive(4 * v, 19, -3, 3);
        float[] sinkdS = positive(4 * v, 20, -3, 3);
        OPS.put("sinkd", (ek, s, out) -> {
            Tensor g = Tensor.of(new float[4 * v], 4, v);
            out.add(ek.transport().sinkd(s.x(sinkdT, 4, v), s.x(sinkdS, 4, v), SinkdOptions.defaults(), g));
            out.add(g);
        });
        longRowSelection();
    }

    /**
     * The teacher/student losses that the SIMD backend reads in registers on BF16 pairs (soft cross-entropy, KL,
     * reverse KL, JSD, Jeffreys), with and without a gradient, on {@code rows} × {@code v} inputs; JSD at β = 0.3 and
     * at its endpoints (the KLs). Sums of NONE rows, the row values and the gradients are compared.
     */
    private static void pairLosses(float[] student, float[] teacher, int v, int rows, String prefix) {
        long[] shape = {rows, v};
        for (Loss op : List.of(Loss.CROSS_ENTROPY, Loss.KL, Loss.RKL, Loss.JSD, Loss.JEFFREYS)) {
            for (float beta : op == Loss.JSD ? new float[] {0.3f, 0f, 1f} : new float[] {0.5f}) {
                for (boolean withGrad : new boolean[] {false, true}) {
                    String name = prefix + "pair " + op + (op == Loss.JSD ? " beta " + beta : "")
                            + (withGrad ? " with gradient" : " without gradient");
                    OPS.put(name, (ek, s, out) -> {
                        LossOptions o = LossOptions.defaults().temperature(0.8f).reduction(Reduction.NONE)
                                .gradScale(0.75f).beta(beta);
                        Tensor rowLoss = f32Out(rows);
                        Tensor grad = withGrad ? s.y(shape) : null;
                        out.add(ek.loss(op, s.x(teacher, shape), s.x(student, shape), null, o, rowLoss, grad));
                        out.add(rowLoss);
                        if (grad != null) {
                            out.add(grad);
                        }
                    });
                }
            }
        }
    }

    /** Rows long enough that selection samples a threshold and cuts below its candidates (every SIMD width). */
    static final int LONG_V = 4099;
    static final int LONG_ROWS = 10;
    static final float[] LONG = longRows(LONG_V, 23);

    static float[] longRows(int v, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[LONG_ROWS * v];
        for (int r = 0; r < LONG_ROWS; r++) {
            for (int i = 0; i < v; i++) {
                double g = rnd.nextGaussian();
                x[r * v + i] = (float) switch (r) {
                    case 0 -> 3 * g; // a peaked row: short prefixes
                    case 1 -> 0.3 * g; // a flat row: top-p 0.9 and min-p cut far below the candidates
                    case 2 -> Math.rint(8 * g) / 16; // flat with crowds of ties at every cut
                    case 3 -> i % 3 == 1 ? Double.NEGATIVE_INFINITY : 0.5 * g; // masked tokens
                    case 4 -> i == v / 2 ? Double.NaN : g; // a NaN row
                    case 5 -> i == v - 2 ? Double.POSITIVE_INFINITY : g; // a +inf row
                    case 6 -> 1.25; // every token tied
                    case 7 -> 1e4 * g; // coarse bf16 steps, f16 overflow
                    case 8 -> i % 4 == 0 ? (i % 8 == 0 ? 0.0 : -0.0) : 1e-6 * g; // ±0 and f16 subnormals, flat: wide cuts
                    default -> g * g * g; // heavy tails
                };
            }
        }
        return x;
    }

    private static void longRowSelection() {
        long[] shape = {LONG_ROWS, LONG_V};
        Map<String, SamplingFilters> pipelines = new LinkedHashMap<>();
        pipelines.put("top-k 50", SamplingFilters.temperature(1f).topK(50));
        pipelines.put("top-p 0.9", SamplingFilters.temperature(1f).topP(0.9f));
        pipelines.put("top-p 0.999 T 2", SamplingFilters.temperature(2f).topP(0.999f));
        pipelines.put("min-p 0.05", SamplingFilters.temperature(1f).minP(0.05f));
        pipelines.put("min-p 0.001 keep 300", SamplingFilters.temperature(0.7f).minP(0.001f, 300));
        pipelines.put("top-k, top-p, min-p", SamplingFilters.temperature(0.8f).topK(400).topP(0.95f).minP(0.01f));
        pipelines.put("top-H paper", SamplingFilters.temperature(1f).topH(0.4f, 200, TopHMode.PAPER));
        pipelines.put("unfiltered", SamplingFilters.temperature(0.9f));
        pipelines.put("typical", SamplingFilters.temperature(0.9f).typical(0.8f));
        // Every entropy-shaped first step, and the passes behind each (typical's bands and widening sums, the
        // dynamic temperature's entropy pass before a prefix or a bounded step): a BF16 row reads them in registers.
        pipelines.put("typical 0.9 keep 40", SamplingFilters.temperature(1f).typical(0.9f, 40));
        pipelines.put("typical 0.999", SamplingFilters.temperature(1.3f).typical(0.999f));
        pipelines.put("epsilon 3e-4", SamplingFilters.temperature(1f).epsilon(3e-4f));
        pipelines.put("eta 3e-4", SamplingFilters.temperature(1f).eta(3e-4f));
        pipelines.put("top-n-sigma 1.5", SamplingFilters.temperature(0.8f).topNSigma(1.5f));
        pipelines.put("mirostat 5", SamplingFilters.temperature(1f).mirostat(5f));
        pipelines.put("dynamic temperature, min-p", SamplingFilters.temperature(1f).dynamicTemperature(0.5f, 1.5f, 1f)
                .minP(0.05f));
        pipelines.put("dynamic temperature, epsilon", SamplingFilters.temperature(1f).dynamicTemperature(0.5f, 1.5f, 1f)
                .epsilon(1e-3f));
        pipelines.put("top-k 40, typical", SamplingFilters.temperature(1f).topK(40).typical(0.7f));
        Map<String, SamplingFilters> drawing = new LinkedHashMap<>(); // XTC draws: only the sampling ops take it
        drawing.put("xtc alone", SamplingFilters.temperature(1f).xtc(0.05f, 1f));
        drawing.put("top-k 40, xtc", SamplingFilters.temperature(1f).topK(40).xtc(0.05f, 0.7f));
        drawing.put("epsilon, xtc", SamplingFilters.temperature(1f).epsilon(3e-4f).xtc(0.05f, 1f));
        drawing.put("typical", pipelines.get("typical"));
        drawing.put("eta 3e-4", pipelines.get("eta 3e-4"));
        drawing.put("top-n-sigma 1.5", pipelines.get("top-n-sigma 1.5"));
        drawing.put("mirostat 5", pipelines.get("mirostat 5"));
        drawing.put("dynamic temperature, min-p", pipelines.get("dynamic temperature, min-p"));
        drawing.put("top-k, top-p, min-p", pipelines.get("top-k, top-p, min-p"));
        for (Map.Entry<String, SamplingFilters> e : drawing.entrySet()) {
            SamplingFilters f = e.getValue();
            if (f.filters().get(0).kind() == SamplingFilters.Kind.XTC) {
                OPS.put("long rows sample " + e.getKey(), (ek, s, out) -> {
                    Tensor x = s.x(LONG, shape);
                    for (long step = 0; step < 4; step++) {
                        Tensor tokens = Tensor.of(new int[LONG_ROWS]);
                        ek.decoding().sample(x, f, seeds(LONG_ROWS), step, tokens);
                        out.add(tokens);
                    }
                });
            }
            OPS.put("long rows sampleWithLogprobs " + e.getKey(), (ek, s, out) -> {
                Tensor tokens = Tensor.of(new int[LONG_ROWS]);
                Tensor topIds = Tensor.of(new int[LONG_ROWS * 5], LONG_ROWS, 5);
                Tensor topLp = Tensor.of(new float[LONG_ROWS * 5], LONG_ROWS, 5);
                Tensor rank = Tensor.of(new int[LONG_ROWS]);
                Tensor raw = f32Out(LONG_ROWS);
                Tensor processed = f32Out(LONG_ROWS);
                ek.decoding().sampleWithLogprobs(s.x(LONG, shape), f, seeds(LONG_ROWS), 6, tokens, 5, topIds, topLp,
                        rank, raw, processed);
                out.addAll(List.of(tokens, topIds, topLp, rank, raw, processed));
            });
            OPS.put("long rows sampleConstrained " + e.getKey(), (ek, s, out) -> {
                Tensor tokens = Tensor.of(new int[LONG_ROWS]);
                Tensor rejections = Tensor.of(new int[LONG_ROWS]);
                Tensor mass = f32Out(LONG_ROWS);
                ek.decoding().sampleConstrained(s.x(LONG, shape), f, (row, token) -> token % 3 != 0, seeds(LONG_ROWS),
                        8, tokens, rejections, mass);
                out.addAll(List.of(tokens, rejections, mass));
            });
        }
        OPS.put("long rows sampleWithLogprobs greedy", (ek, s, out) -> {
            Tensor tokens = Tensor.of(new int[LONG_ROWS]);
            Tensor topIds = Tensor.of(new int[LONG_ROWS * 5], LONG_ROWS, 5);
            Tensor topLp = Tensor.of(new float[LONG_ROWS * 5], LONG_ROWS, 5);
            Tensor rank = Tensor.of(new int[LONG_ROWS]);
            Tensor raw = f32Out(LONG_ROWS);
            Tensor processed = f32Out(LONG_ROWS);
            ek.decoding().sampleWithLogprobs(s.x(LONG, shape), SamplingFilters.temperature(0f), seeds(LONG_ROWS), 6,
                    tokens, 5, topIds, topLp, rank, raw, processed);
            out.addAll(List.of(tokens, topIds, topLp, rank, raw, processed));
        });
        OPS.put("long rows mirostatV2", (ek, s, out) -> {
            Tensor x = s.x(LONG, shape);
            float[] mu = new float[LONG_ROWS];
            Arrays.fill(mu, 6f);
            for (long step = 0; step < 3; step++) {
                Tensor tokens = Tensor.of(new int[LONG_ROWS]);
                ek.decoding().mirostatV2(x, SamplingFilters.temperature(0.9f), 3f, 0.1f, mu, seeds(LONG_ROWS), step,
                        tokens);
                out.add(tokens);
            }
            out.add(mu);
        });
        for (Map.Entry<String, SamplingFilters> e : pipelines.entrySet()) {
            SamplingFilters f = e.getValue();
            OPS.put("long rows keptMask " + e.getKey(), (ek, s, out) -> {
                byte[] mask = new byte[LONG_ROWS * LONG_V];
                ek.decoding().keptMask(s.x(LONG, shape), f, Tensor.ofMask(mask, LONG_ROWS, LONG_V));
                out.add(mask);
            });
            OPS.put("long rows maskLogits " + e.getKey(), (ek, s, out) -> {
                Tensor o = s.y(shape);
                ek.decoding().maskLogits(s.x(LONG, shape), f, o);
                out.add(o);
            });
            OPS.put("long rows maskLogits in place " + e.getKey(), (ek, s, out) -> {
                Tensor x = s.x(LONG, shape);
                ek.decoding().maskLogits(x, f, x);
                out.add(x);
            });
            OPS.put("long rows maskLogits off-heap " + e.getKey(), (ek, s, out) -> {
                Tensor x = offHeap(s.x(LONG, shape), shape);
                Tensor o = offHeap(s.y(shape), shape);
                ek.decoding().maskLogits(x, f, o);
                ek.decoding().maskLogits(x, f, x);
                out.addAll(List.of(o, x));
            });
            OPS.put("long rows keptTokens " + e.getKey(), (ek, s, out) -> {
                Tensor ids = Tensor.of(new int[LONG_ROWS * 64], LONG_ROWS, 64);
                Tensor ps = Tensor.of(new float[LONG_ROWS * 64], LONG_ROWS, 64);
                Tensor counts = Tensor.of(new int[LONG_ROWS]);
                ek.decoding().keptTokens(s.x(LONG, shape), f, ids, ps, counts);
                out.addAll(List.of(ids, ps, counts));
            });
            OPS.put("long rows sample " + e.getKey(), (ek, s, out) -> {
                Tensor x = s.x(LONG, shape);
                for (long step = 0; step < 4; step++) {
                    Tensor tokens = Tensor.of(new int[LONG_ROWS]);
                    ek.decoding().sample(x, f, seeds(LONG_ROWS), step, tokens);
                    out.add(tokens);
                }
            });
        }
        OPS.put("long rows sample greedy", (ek, s, out) -> {
            Tensor tokens = Tensor.of(new int[LONG_ROWS]);
            ek.decoding().sample(s.x(LONG, shape), SamplingFilters.temperature(0f), seeds(LONG_ROWS), 0, tokens);
            out.add(tokens);
        });
        OPS.put("long rows topK 50 without probabilities", (ek, s, out) -> {
            Tensor ids = Tensor.of(new int[LONG_ROWS * 50], LONG_ROWS, 50);
            Tensor vals = Tensor.of(new float[LONG_ROWS * 50], LONG_ROWS, 50);
            ek.decoding().topK(s.x(LONG, shape), 50, 0.9f, ids, vals, null);
            out.addAll(List.of(ids, vals));
        });
        for (int k : new int[] {1, 50, 700}) {
            OPS.put("long rows topK " + k, (ek, s, out) -> {
                Tensor ids = Tensor.of(new int[LONG_ROWS * k], LONG_ROWS, k);
                Tensor vals = Tensor.of(new float[LONG_ROWS * k], LONG_ROWS, k);
                Tensor ps = Tensor.of(new float[LONG_ROWS * k], LONG_ROWS, k);
                ek.decoding().topK(s.x(LONG, shape), k, 0.9f, ids, vals, ps);
                out.addAll(List.of(ids, vals, ps));
            });
        }
    }

    /** {@code t} copied into a native segment: the SIMD kernels store into those directly, heap ones through staging. */
    static Tensor offHeap(Tensor t, long... shape) {
        MemorySegment seg = java.lang.foreign.Arena.ofAuto().allocate(t.segment().byteSize(), 64);
        seg.copyFrom(t.segment());
        return Tensor.of(seg, t.dtype(), shape);
    }

    static void sinkhorn(List<Object> out, SinkhornResult r) {
        out.addAll(Arrays.asList(r.f(), r.g(), r.cost(), r.objective(), r.iterations(), r.plan(), r.gradX(), r.gradY()));
    }

    /** The runs of one case: the reference (F32 inputs) and a half run. */
    static final class Run implements Src {
        final DType half;
        final boolean reference;
        final boolean halfOutputs;

        Run(DType half, boolean reference, boolean halfOutputs) {
            this.half = half;
            this.reference = reference;
            this.halfOutputs = halfOutputs;
        }

        static short[] bits(DType d, float[] values, long count) {
            short[] s = new short[(int) count];
            for (int i = 0; i < count; i++) {
                s[i] = d.narrow(values[i % values.length]);
            }
            return s;
        }

        static long count(long[] shape) {
            return Arrays.stream(shape).reduce(1, Math::multiplyExact);
        }

        @Override
        public Tensor x(float[] values, long... shape) {
            short[] s = bits(half, values, count(shape));
            if (!reference) {
                return Tensor.of(MemorySegment.ofArray(s), half, shape);
            }
            return f32(values, shape);
        }

        @Override
        public Tensor f32(float[] values, long... shape) {
            short[] s = bits(half, values, count(shape));
            float[] w = new float[s.length];
            for (int i = 0; i < s.length; i++) {
                w[i] = half.widen(s[i]);
            }
            return Tensor.of(MemorySegment.ofArray(w), DType.F32, shape);
        }

        @Override
        public Tensor y(long... shape) {
            int n = (int) count(shape);
            return !reference && halfOutputs ? Tensor.of(MemorySegment.ofArray(new short[n]), half, shape)
                    : Tensor.of(MemorySegment.ofArray(new float[n]), DType.F32, shape);
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String backend : TestBackends.NAMES) {
            for (DType d : List.of(DType.BF16, DType.F16)) {
                for (boolean halfOut : new boolean[] {false, true}) {
                    for (String op : OPS.keySet()) {
                        out.add(Arguments.of(backend, d, halfOut ? "half outputs" : "F32 outputs", op));
                    }
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("cases")
    void aHalfTensorGivesTheResultOfItsWidenedF32Tensor(String backend, DType d, String outputs, String name) {
        Entrokit ek = TestBackends.open(backend);
        Op op = OPS.get(name);
        List<Object> expected = new ArrayList<>();
        op.run(ek, new Run(d, true, false), expected);
        List<Object> actual = new ArrayList<>();
        op.run(ek, new Run(d, false, outputs.equals("half outputs")), actual);
        assertEquals(expected.size(), actual.size());
        assertTrue(!expected.isEmpty(), "an op with no result");
        for (int i = 0; i < expected.size(); i++) {
            same(name + " result " + i, expected.get(i), actual.get(i));
        }
    }

    /** F16 NaN bit patterns (quiet and signalling, both signs; the JVM's scalar conversion may quiet a payload). */
    static final short[] F16_NANS = {(short) 0x7e00, (short) 0x7c01, (short) 0xfc01, (short) 0x7fff, (short) 0xfd55};

    /**
     * Rows of {@code v} F16 logits, one NaN pattern per row at a position that moves from the vector part of the row
     * to its scalar tail, the last row clean: on a backend that reads F16 in registers every NaN must still make its
     * row special, as it does on the widened F32 row.
     */
    static short[] f16RowsWithNaNs(int v) {
        SplittableRandom rnd = new SplittableRandom(31);
        int rows = 2 * F16_NANS.length + 1;
        short[] bits = new short[rows * v];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < v; i++) {
                bits[r * v + i] = Float.floatToFloat16((float) rnd.nextGaussian());
            }
            if (r < rows - 1) {
                int at = r % 2 == 0 ? (r * 977) % (v - 8) : v - 1 - r % 3; // inside the vectors, then in the tail
                bits[r * v + at] = F16_NANS[r / 2];
            }
        }
        return bits;
    }

    static Stream<Arguments> nanCases() {
        List<Arguments> out = new ArrayList<>();
        for (String backend : TestBackends.NAMES) {
            for (int v : new int[] {37, LONG_V}) {
                out.add(Arguments.of(backend, v));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} v={1}")
    @MethodSource("nanCases")
    void f16NaNPatternsMakeTheirRowSpecialInEverySelectionOp(String backend, int v) {
        Entrokit ek = TestBackends.open(backend);
        short[] bits = f16RowsWithNaNs(v);
        int rows = bits.length / v;
        float[] wide = new float[bits.length];
        for (int i = 0; i < bits.length; i++) {
            wide[i] = DType.F16.widen(bits[i]);
        }
        List<SamplingFilters> pipelines = List.of(SamplingFilters.temperature(1f).topK(20),
                SamplingFilters.temperature(1f).topP(0.9f), SamplingFilters.temperature(0.7f).minP(0.01f),
                SamplingFilters.temperature(0.9f), SamplingFilters.temperature(0f));
        List<List<Object>> results = new ArrayList<>();
        for (boolean half : new boolean[] {false, true}) {
            List<Object> out = new ArrayList<>();
            results.add(out);
            Tensor x = half ? Tensor.of(MemorySegment.ofArray(bits.clone()), DType.F16, rows, v)
                    : Tensor.of(MemorySegment.ofArray(wide.clone()), DType.F32, rows, v);
            int[] ids = new int[rows * 5];
            ek.decoding().topK(x, 5, 0.9f, Tensor.of(ids, rows, 5), Tensor.of(new float[rows * 5], rows, 5),
                    Tensor.of(new float[rows * 5], rows, 5));
            for (int r = 0; r < rows; r++) {
                assertEquals(r < rows - 1, ids[r * 5] == -1, "topK row " + r + (half ? " (F16)" : " (F32)"));
            }
            out.add(ids);
            int[] bare = new int[rows * 5];
            ek.decoding().topK(x, 5, 0.9f, Tensor.of(bare, rows, 5), Tensor.of(new float[rows * 5], rows, 5), null);
            for (int r = 0; r < rows; r++) {
                assertEquals(r < rows - 1, bare[r * 5] == -1, "topK without probabilities row " + r);
            }
            out.add(bare);
            for (SamplingFilters f : pipelines) {
                int[] tokens = new int[rows];
                ek.decoding().sample(x, f, seeds(rows), 1, Tensor.of(tokens));
                int[] counts = new int[rows];
                ek.decoding().keptTokens(x, f.temperature() == 0f ? SamplingFilters.temperature(1f) : f,
                        Tensor.of(new int[rows * 4], rows, 4), Tensor.of(new float[rows * 4], rows, 4),
                        Tensor.of(counts));
                for (int r = 0; r < rows; r++) {
                    String what = f + " row " + r + (half ? " (F16)" : " (F32)");
                    assertEquals(r < rows - 1, tokens[r] == -1, "sample " + what);
                    assertEquals(r < rows - 1, counts[r] == 0, "keptTokens " + what);
                }
                out.add(tokens);
                out.add(counts);
            }
        }
        for (int i = 0; i < results.get(0).size(); i++) {
            same("result " + i, results.get(0).get(i), results.get(1).get(i));
        }
    }

    /**
     * F16 rows where the SIMD backend's binary16 mass pass cannot read a masked token as −2^16 (values at binary16's
     * floor, −65504 and −65472, with masked tokens; a temperature of 1000) and rows where it can (the same rows at other
     * temperatures, Gaussian rows): top-p, unfiltered draws and listings and {@code topK} with probabilities give the
     * results of the widened F32 rows, bitwise, on rows long enough to be ranked by a sampled threshold.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.entrokit.TestBackends#names")
    void f16RowsAtTheFloorAndHotTemperaturesGiveTheWidenedRowsResults(String backend) {
        Entrokit ek = TestBackends.open(backend);
        SplittableRandom rnd = new SplittableRandom(65504);
        int v = LONG_V;
        int rows = 6;
        short[] bits = new short[rows * v];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < v; i++) {
                float x = r < 3 ? (rnd.nextBoolean() ? -65504f : -65472f) : (float) (3 * rnd.nextGaussian());
                bits[r * v + i] = Float.floatToFloat16(rnd.nextInt(5) == 0 ? Float.NEGATIVE_INFINITY : x);
            }
        }
        float[] wide = new float[bits.length];
        for (int i = 0; i < bits.length; i++) {
            wide[i] = DType.F16.widen(bits[i]);
        }
        List<List<Object>> results = new ArrayList<>();
        for (boolean half : new boolean[] {false, true}) {
            List<Object> out = new ArrayList<>();
            results.add(out);
            Tensor x = half ? Tensor.of(MemorySegment.ofArray(bits.clone()), DType.F16, rows, v)
                    : Tensor.of(MemorySegment.ofArray(wide.clone()), DType.F32, rows, v);
            for (float t : new float[] {1f, 1000f}) {
                int[] ids = new int[rows * 5];
                float[] probs = new float[rows * 5];
                ek.decoding().topK(x, 5, t, Tensor.of(ids, rows, 5), Tensor.of(new float[rows * 5], rows, 5),
                        Tensor.of(probs, rows, 5));
                out.add(ids);
                out.add(probs);
                for (SamplingFilters f : List.of(SamplingFilters.temperature(t).topP(0.9f),
                        SamplingFilters.temperature(t).topP(0.999f), SamplingFilters.temperature(t))) {
                    int[] tokens = new int[rows];
                    ek.decoding().sample(x, f, seeds(rows), 3, Tensor.of(tokens));
                    byte[] mask = new byte[rows * v];
                    ek.decoding().keptMask(x, f, Tensor.ofMask(mask, rows, v));
                    int[] counts = new int[rows];
                    float[] kept = new float[rows * 8];
                    ek.decoding().keptTokens(x, f, Tensor.of(new int[rows * 8], rows, 8), Tensor.of(kept, rows, 8),
                            Tensor.of(counts));
                    out.add(tokens);
                    out.add(mask);
                    out.add(counts);
                    out.add(kept);
                }
            }
        }
        for (int i = 0; i < results.get(0).size(); i++) {
            same("result " + i, results.get(0).get(i), results.get(1).get(i));
        }
    }

    static void same(String what, Object e, Object a) {
        if (e instanceof Tensor te && a instanceof Tensor ta) {
            assertEquals(te.elementCount(), ta.elementCount(), what);
            assertEquals(te.dtype() == DType.I32, ta.dtype() == DType.I32, what);
            int[] ev = bitsOf(te, ta.dtype());
            int[] av = bitsOf(ta, ta.dtype());
            if (!Arrays.equals(ev, av)) {
                for (int i = 0; i < ev.length; i++) {
                    if (ev[i] != av[i]) {
                        fail(what + " (" + ta.dtype() + "): element " + i + " expected bits " + Integer.toHexString(ev[i])
                                + ", got " + Integer.toHexString(av[i]));
                    }
                }
            }
        } else if (e instanceof Double de && a instanceof Double da) {
            assertEquals(Double.doubleToLongBits(de), Double.doubleToLongBits(da), what + ": " + de + " vs " + da);
        } else if (e instanceof double[] de && a instanceof double[] da) {
            assertTrue(Arrays.equals(de, da), what + ": " + Arrays.toString(de) + " vs " + Arrays.toString(da));
        } else if (e instanceof float[] fe && a instanceof float[] fa) {
            assertTrue(Arrays.equals(fe, fa), what + ": " + Arrays.toString(fe) + " vs " + Arrays.toString(fa));
        } else if (e instanceof int[] ie && a instanceof int[] ia) {
            assertTrue(Arrays.equals(ie, ia), what + ": " + Arrays.toString(ie) + " vs " + Arrays.toString(ia));
        } else if (e instanceof byte[] be && a instanceof byte[] ba) {
            assertTrue(Arrays.equals(be, ba), what);
        } else if (e == null && a == null) {
            return;
        } else {
            fail(what + ": results of different kinds: " + e + " and " + a);
        }
    }

    /**
     * A result's elements as comparable bits: I32 as is; F32 as float bits (NaNs as one NaN), or, where the
     * other run wrote {@code as} (a half type), the float rounded once to it; a half tensor as its 16-bit
     * patterns (NaNs as one NaN).
     */
    static int[] bitsOf(Tensor t, DType as) {
        int n = (int) t.elementCount();
        int[] out = new int[n];
        MemorySegment seg = t.segment();
        for (int i = 0; i < n; i++) {
            out[i] = switch (t.dtype()) {
                case I32 -> seg.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
                case F32 -> {
                    float f = seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                    yield as.isHalf() ? halfKey(as, as.narrow(f)) : Float.floatToIntBits(f);
                }
                default -> halfKey(t.dtype(), seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
            };
        }
        return out;
    }

    static int halfKey(DType d, short bits) {
        return Float.isNaN(d.widen(bits)) ? 0x7fff_ffff : bits & 0xffff;
    }

    /** A teacher for {@link #LONG}: other values, the same kinds of rows (masked, NaN, +inf, ties, heavy tails). */
    static final float[] LONG_TEACHER = longRows(LONG_V, 29);
    /**
     * Rows longer than the SIMD pair kernels' probability chunk (2^18 tokens), which take other passes (and, for half
     * inputs with a gradient, the widened copy): a rising row (its maximum grows in every block) and masked tokens.
     */
    static final int VERY_LONG_V = (1 << 18) + 37;
    static final float[] VERY_LONG = veryLongRows(31);
    static final float[] VERY_LONG_TEACHER = veryLongRows(37);

    static final int ZERO_V = 1100;
    static final int ZERO_ROWS = 6;

    /**
     * Rows whose maximum or smallest live logit is zero, held as both {@code −0} and {@code +0} at positions in the
     * same and in different vector lanes (0, 8, 16, 32 apart), over more than one block at every width: which zero a
     * pass keeps depends on the order it compares in.
     */
    static float[] zeroExtremes(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[ZERO_ROWS * ZERO_V];
        int shift = (int) seed;
        for (int r = 0; r < ZERO_ROWS; r++) {
            for (int i = 0; i < ZERO_V; i++) {
                double g = Math.abs(rnd.nextGaussian()) + 0.1;
                x[r * ZERO_V + i] = (float) switch (r) {
                    case 0 -> i == shift ? -0.0 : i == shift + 16 || i == 700 ? 0.0 : -g; // max ±0, -0 first
                    case 1 -> i == shift + 8 ? 0.0 : i == shift + 24 || i == 1030 ? -0.0 : -g; // max ±0, +0 first
                    case 2 -> i == shift + 32 ? -0.0 : i == shift ? 0.0 : i % 9 == 1 ? Double.NEGATIVE_INFINITY : g;
                    case 3 -> i % 2 == 0 ? -0.0 : i % 7 == 3 ? Double.NEGATIVE_INFINITY : 0.0; // all zeros, some masked
                    case 4 -> i % 5 == 0 ? Double.NEGATIVE_INFINITY : -0.0;
                    default -> i == 1090 ? 0.0 : i == 1091 ? -0.0 : -g; // zeros in the tail only
                };
            }
        }
        return x;
    }

    static float[] veryLongRows(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[2 * VERY_LONG_V];
        for (int i = 0; i < VERY_LONG_V; i++) {
            x[i] = (float) (8.0 * i / VERY_LONG_V + rnd.nextGaussian());
            x[VERY_LONG_V + i] = i % 11 == 4 ? Float.NEGATIVE_INFINITY : (float) (2 * rnd.nextGaussian());
        }
        return x;
    }

    static {
        // After every field above: the pair losses take their rows as arrays, not lazily.
        pairLosses(L, T, 37, ROWS, "");
        pairLosses(LONG, LONG_TEACHER, LONG_V, LONG_ROWS, "long rows ");
        pairLosses(VERY_LONG, VERY_LONG_TEACHER, VERY_LONG_V, 2, "rows past the probability chunk ");
        pairLosses(zeroExtremes(3), zeroExtremes(5), ZERO_V, ZERO_ROWS, "zero extremes ");
    }
}
