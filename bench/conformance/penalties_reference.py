#!/usr/bin/env python3
"""Independent reference vectors for entrokit's logit penalties (SPEC §2, "Penalties and biases"), in PyTorch.

The repetition penalty is written as Transformers' RepetitionPenaltyLogitsProcessor writes it (gather the
logits of the sequence's ids, `where(score < 0, score * penalty, score / penalty)`, scatter back: each distinct
id once), over the prompt and the generated ids together, one processor per row (each row has its own
penalty). The frequency and presence penalties are written as vLLM's `apply_penalties` writes them: bin counts
of the generated ids by `scatter_add_` with padding id V dropped, `logits -= frequency * counts`, then
`logits -= presence * (counts > 0)`. Both in float64 from the float32 inputs; entrokit computes in float32, so
eval is compared with a relative tolerance of a few float32 ulps.

Rows: Gaussian logits with a few -inf (a masked token stays masked), zeros (0 is neither divided nor
multiplied into anything else), ids repeated in the prompt and the output, ids in both, padding, and a row
without any id.

    python3 bench/conformance/penalties_reference.py OUT_DIR
writes OUT_DIR/logits.npy, prompt_ids.npy and output_ids.npy (-1 pads), repetition.npy, frequency.npy,
presence.npy and expected.npy; bench/conformance/penalties_check.sh runs `eval process_logits` on them.
"""
import os
import sys

import numpy as np
import torch

R, V, LP, LO = 12, 1031, 40, 25


def repetition_transformers(scores, input_ids, penalty):
    """Transformers' RepetitionPenaltyLogitsProcessor.__call__ on one row (input_ids [1, L], scores [1, V])."""
    score = torch.gather(scores, 1, input_ids)
    score = torch.where(score < 0, score * penalty, score / penalty)
    return scores.scatter(1, input_ids, score)


def bin_counts_vllm(tokens, vocab_size, num_seqs):
    """vLLM's get_token_bin_counts_and_mask: padding is the id vocab_size, dropped after scatter_add_."""
    bin_counts = torch.zeros((num_seqs, vocab_size + 1), dtype=torch.long, device=tokens.device)
    bin_counts.scatter_add_(1, tokens, torch.ones_like(tokens))
    bin_counts = bin_counts[:, :vocab_size]
    return bin_counts, bin_counts > 0


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(15)
    x = (3 * rng.standard_normal((R, V))).astype(np.float32)
    x[rng.random(x.shape) < 0.02] = -np.inf
    x[:, 5] = 0.0
    prompt = rng.integers(0, V, size=(R, LP)).astype(np.int32)
    output = rng.integers(0, 60, size=(R, LO)).astype(np.int32)  # a small range: ids repeat
    prompt[:, :3] = [5, 17, 17]                                   # the zero logit, a repeat
    output[:, :2] = [17, 5]                                       # ids in both lists
    for r in range(R):                                            # histories of different lengths
        prompt[r, LP - (r % 7):] = -1
        output[r, LO - (3 * r % 11):] = -1
    prompt[R - 1, :] = -1
    output[R - 1, :] = -1                                         # a row without any id
    repetition = rng.uniform(0.5, 2.5, size=R).astype(np.float32)
    repetition[0] = 1.0
    frequency = rng.uniform(-0.5, 1.5, size=R).astype(np.float32)
    presence = rng.uniform(-1.0, 1.0, size=R).astype(np.float32)

    scores = torch.from_numpy(x.astype(np.float64))
    rows = []
    for r in range(R):
        ids = np.concatenate([prompt[r][prompt[r] >= 0], output[r][output[r] >= 0]])
        row = scores[r:r + 1]
        if len(ids) > 0:
            row = repetition_transformers(row, torch.from_numpy(ids.astype(np.int64))[None, :], float(repetition[r]))
        rows.append(row)
    logits = torch.cat(rows, 0)
    padded = torch.from_numpy(np.where(output >= 0, output, V).astype(np.int64))
    counts, mask = bin_counts_vllm(padded, V, R)
    logits = logits - torch.from_numpy(frequency.astype(np.float64))[:, None] * counts
    logits = logits - torch.from_numpy(presence.astype(np.float64))[:, None] * mask
    expected = logits.numpy().astype(np.float32)

    for name, a in [("logits", x), ("prompt_ids", prompt), ("output_ids", output), ("repetition", repetition),
                    ("frequency", frequency), ("presence", presence), ("expected", expected)]:
        np.save(os.path.join(out, name + ".npy"), a)
    print(f"wrote {R} x {V} penalty vectors to {out}")


if __name__ == "__main__":
    main()
