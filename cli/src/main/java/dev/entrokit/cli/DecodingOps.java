package dev.entrokit.cli;

import dev.entrokit.Entrokit;
import dev.entrokit.SamplingFilters;
import dev.entrokit.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The decoding ops of {@code eval} beyond a pipeline's mask and sample: the logit pre-passes
 * ({@code process_logits}), Mirostat 2.0 ({@code mirostat}), speculative decoding's chain sampler
 * ({@code speculative}) and constrained sampling by rejection ({@code constrained}). Each prepares its
 * outputs from copies, so a {@link EvalOp.Call} may be run again (the demo times it) with the same result.
 */
final class DecodingOps {
    private DecodingOps() {
    }

    /**
     * vLLM's pre-passes in vLLM's order (SPEC §2, "Penalties and biases"): allowed ids, banned ids, the sparse
     * logit bias, then the repetition, frequency and presence penalties; each only where its inputs (or, for the
     * penalties, a setting) are given. The input logits are copied first: the output is the processed logits.
     */
    static EvalOp.Call processLogits(Entrokit ek, OpInputs in, EvalSettings s, LogitRows x) {
        int rows = x.rows();
        int v = x.cols();
        Tensor allowed = in.has("allowed_ids") ? ids(in, "allowed_ids", x) : null;
        Tensor banned = in.has("banned_ids") ? ids(in, "banned_ids", x) : null;
        if (in.has("bias_ids") != in.has("bias")) {
            throw new UserException("process_logits: bias_ids and bias come together (ids [..., K] and their biases [..., K])");
        }
        Tensor biasIds = in.has("bias_ids") ? ids(in, "bias_ids", x) : null;
        Tensor bias = null;
        if (biasIds != null) {
            NpyArray.Float32 b = (NpyArray.Float32) in.rowVectors("bias", x, false);
            long[] want = in.arrays().get("bias_ids").shape();
            if (!Arrays.equals(b.shape(), want)) {
                throw new UserException("bias: shape " + NpyArray.shapeString(b.shape()) + " does not match bias_ids "
                        + NpyArray.shapeString(want));
            }
            bias = Tensor.of(b.data(), rows, (int) biasIds.cols());
        }
        Tensor prompt = in.has("prompt_ids") ? ids(in, "prompt_ids", x) : null;
        Tensor output = in.has("output_ids") ? ids(in, "output_ids", x) : null;
        EvalSettings.Decoding d = s.decoding();
        float[] repetition = perRow(in, "repetition", x, s, Setting.REPETITION_PENALTY, d.repetition());
        float[] frequency = perRow(in, "frequency", x, s, Setting.FREQUENCY_PENALTY, d.frequency());
        float[] presence = perRow(in, "presence", x, s, Setting.PRESENCE_PENALTY, d.presence());
        NpyArray.Float32 out = x.newLike();
        Tensor outT = Tensor.of(out.data(), rows, v);
        Tensor biasT = bias;
        return new EvalOp.Call(() -> {
            System.arraycopy(x.data(), 0, out.data(), 0, x.data().length);
            if (allowed != null) {
                ek.decoding().restrictTokens(outT, allowed, true);
            }
            if (banned != null) {
                ek.decoding().restrictTokens(outT, banned, false);
            }
            if (biasIds != null) {
                ek.decoding().applyLogitBias(outT, biasIds, biasT);
            }
            if (prompt != null || output != null || repetition != null || frequency != null || presence != null) {
                ek.decoding().applyPenalties(outT, prompt, output, repetition, frequency, presence);
            }
        }, Map.of("logits", out));
    }

    /**
     * Mirostat 2.0: the {@code steps} pipeline, then each row's truncation at its {@code mu} (given per row, or
     * {@code 2·tau} as llama.cpp starts it), one token drawn per row, and the updated {@code mu}.
     */
    static EvalOp.Call mirostat(Entrokit ek, OpInputs in, EvalSettings s, LogitRows x) {
        SamplingFilters f = Pipeline.parse(s.steps(), s.temperature());
        float tau = s.decoding().tau();
        float eta = s.decoding().eta();
        float[] mu0 = in.rowFloats("mu", x);
        float[] start = new float[x.rows()];
        if (mu0 != null) {
            System.arraycopy(mu0, 0, start, 0, start.length);
        } else {
            Arrays.fill(start, 2 * tau);
        }
        long[] seeds = in.seeds(x, s.seed());
        NpyArray.Int32 tokens = new NpyArray.Int32(x.rowShape(), new int[x.rows()]);
        NpyArray.Float32 mu = x.newPerRow();
        Map<String, NpyArray> outs = new LinkedHashMap<>();
        outs.put("tokens", tokens);
        outs.put("mu", mu);
        return new EvalOp.Call(() -> {
            System.arraycopy(start, 0, mu.data(), 0, start.length);
            ek.decoding().mirostatV2(x.tensor(), f, tau, eta, mu.data(), seeds, s.step(), Tensor.of(tokens.data()));
        }, outs);
    }

    /**
     * The chain rejection sampler: draft ids {@code [B, k]}, draft probabilities {@code [B, k, V]} and target
     * probabilities {@code [B, k + 1, V]}, one seed per request ({@code seeds}, or the {@code seed} setting).
     */
    static EvalOp.Call speculative(Entrokit ek, OpInputs in, EvalSettings s) {
        NpyArray ids = in.arrays().get("draft_ids");
        if (!(ids instanceof NpyArray.Int32 draft) || ids.shape().length != 2 || ids.shape()[1] < 1) {
            throw new UserException("draft_ids: expected integers (<i4 or <i8) shaped [B, k] with k >= 1, got "
                    + ids.descr() + " " + NpyArray.shapeString(ids.shape()));
        }
        int b = (int) ids.shape()[0];
        int k = (int) ids.shape()[1];
        LogitRows q = probabilities(in, "draft_probs", b, k, -1);
        int v = q.cols();
        LogitRows p = probabilities(in, "target_probs", b, k + 1, v);
        long[] seeds = new long[b];
        if (in.has("seeds")) {
            NpyArray given = in.arrays().get("seeds");
            if (given.kind() != NpyArray.Kind.INTEGER || given.shape().length != 1 || given.shape()[0] != b) {
                throw new UserException("seeds: expected " + b + " integers (one per request), got " + given.descr() + " "
                        + NpyArray.shapeString(given.shape()));
            }
            for (int r = 0; r < b; r++) {
                seeds[r] = given.getLong(r);
            }
        } else {
            Arrays.fill(seeds, s.seed());
        }
        NpyArray.Int32 accepted = new NpyArray.Int32(new long[] {b}, new int[b]);
        NpyArray.Int32 tokens = new NpyArray.Int32(new long[] {b, k + 1}, new int[b * (k + 1)]);
        Map<String, NpyArray> outs = new LinkedHashMap<>();
        outs.put("accepted", accepted);
        outs.put("tokens", tokens);
        Tensor draftT = Tensor.of(draft.data(), b, k);
        Tensor qT = Tensor.of(q.data(), b, k, v);
        Tensor pT = Tensor.of(p.data(), b, k + 1, v);
        return new EvalOp.Call(() -> ek.decoding().speculativeChain(draftT, qT, pT, seeds, s.step(),
                Tensor.of(accepted.data()), Tensor.of(tokens.data(), b, k + 1)), outs);
    }

    /**
     * Constrained sampling by rejection with the {@code allowed} mask ({@code [..., V]} booleans) as the
     * constraint: the token, the rejections before it and the rejected probability mass.
     */
    static EvalOp.Call constrained(Entrokit ek, OpInputs in, EvalSettings s, LogitRows x) {
        SamplingFilters f = Pipeline.parse(s.steps(), s.temperature());
        NpyArray a = in.arrays().get("allowed");
        if (!(a instanceof NpyArray.Bool mask) || !Arrays.equals(a.shape(), x.shape())) {
            throw new UserException("allowed: expected booleans (|b1) shaped like logits " + NpyArray.shapeString(x.shape())
                    + ", got " + a.descr() + " " + NpyArray.shapeString(a.shape()));
        }
        int v = x.cols();
        boolean[] allow = mask.data();
        long[] seeds = in.seeds(x, s.seed());
        NpyArray.Int32 tokens = new NpyArray.Int32(x.rowShape(), new int[x.rows()]);
        NpyArray.Int32 rejections = new NpyArray.Int32(x.rowShape(), new int[x.rows()]);
        NpyArray.Float32 mass = x.newPerRow();
        Map<String, NpyArray> outs = new LinkedHashMap<>();
        outs.put("tokens", tokens);
        outs.put("rejections", rejections);
        outs.put("rejected_mass", mass);
        return new EvalOp.Call(() -> ek.decoding().sampleConstrained(x.tensor(), f,
                (row, token) -> allow[row * v + token], seeds,
                s.step(), Tensor.of(tokens.data()), Tensor.of(rejections.data()), Tensor.of(mass.data())), outs);
    }

    /** Token lists {@code [..., L]} for the rows of {@code x} (a negative id pads), as an I32 {@code [R, L]} tensor. */
    private static Tensor ids(OpInputs in, String name, LogitRows x) {
        NpyArray.Int32 a = (NpyArray.Int32) in.rowVectors(name, x, true);
        long[] shape = a.shape();
        return Tensor.of(a.data(), x.rows(), (int) shape[shape.length - 1]);
    }

    /**
     * A per-row penalty: the input {@code name} when given, else {@code setting}'s value for every row when the
     * user set it, else null (the library's default); both at once are refused.
     */
    private static float[] perRow(OpInputs in, String name, LogitRows x, EvalSettings s, Setting setting, float value) {
        float[] given = in.rowFloats(name, x);
        if (given != null && s.has(setting)) {
            throw new UserException("process_logits: --in " + name + "=... (one value per row) and --set " + setting.key()
                    + "=" + value + " (every row) both give the " + name + " penalty; give one of them");
        }
        if (given != null) {
            return given.clone();
        }
        if (!s.has(setting)) {
            return null;
        }
        float[] all = new float[x.rows()];
        Arrays.fill(all, value);
        return all;
    }

    /** Probability rows {@code [B, rows, V]} (V = {@code v}, or any when negative) of input {@code name}. */
    private static LogitRows probabilities(OpInputs in, String name, int b, int rows, int v) {
        LogitRows p = in.logits(name);
        long[] shape = p.shape();
        if (shape.length != 3 || shape[0] != b || shape[1] != rows || v >= 0 && shape[2] != v || shape[2] < 1) {
            throw new UserException(name + ": expected floats shaped [" + b + ", " + rows + ", " + (v >= 0 ? v : "V")
                    + "], got " + NpyArray.shapeString(shape));
        }
        return p;
    }
}
