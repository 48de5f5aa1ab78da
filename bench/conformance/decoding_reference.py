#!/usr/bin/env python3
"""Independent reference vectors for entrokit's entropy-shaped sampling steps (SPEC §2), in PyTorch.

Each step is written the way its home project writes it, in float64: Transformers'
TypicalLogitsWarper, EpsilonLogitsWarper and EtaLogitsWarper (sort / softmax / cumsum / masked_fill),
llama.cpp's top_n_sigma and temp_ext (dynamic temperature) transcribed to tensors, and the SPEC's
top-k / top-p. A pipeline applies them one after the other on logits where the removed tokens are
-inf, as Transformers' LogitsProcessorList does. Rows where any decision lies within 1e-6 (relative)
of its threshold are dropped, as SPEC §5 leaves them undecided.

Deliberate differences kept from the sources (SPEC §2 says why): the dynamic temperature counts the
live tokens (llama.cpp counts every candidate, -inf ones included), and a masked token is never kept
(Transformers' typical keeps every token when rounding leaves the cumulative sum short of the mass).

    python3 bench/conformance/decoding_reference.py OUT_DIR
writes OUT_DIR/logits.npy, OUT_DIR/cases.txt (one "temperature steps" line per case) and, per case i,
OUT_DIR/mask_i.npy and OUT_DIR/probs_i.npy; bench/conformance/decoding_check.sh runs entrokit on them.
"""
import math
import os
import sys

import numpy as np
import torch

CASES = [
    (1.0, "typical:0.9"),
    (0.7, "epsilon:0.0003"),
    (1.0, "eta:0.0003"),
    (1.0, "top_n_sigma:1"),
    (1.3, "top_k:50,typical:0.5:3"),
    (1.0, "dynamic_temperature:0.5:1.5:1,top_p:0.9"),
    (1.0, "epsilon:0.001:5,top_n_sigma:0.5"),
    (1.0, "eta:0.002,typical:0.8"),
    (0.8, "top_p:0.95,dynamic_temperature:0:2:0.5,eta:0.001"),
]

NEG = float("-inf")


class Margin:
    """The smallest relative distance of a decision to its threshold over a row's steps."""

    def __init__(self, rows):
        self.m = torch.full((rows,), float("inf"), dtype=torch.float64)

    def add(self, d):
        self.m = torch.minimum(self.m, d)


def typical(scores, mass, min_keep, margin):
    normalized = torch.log_softmax(scores, dim=-1)
    p = torch.exp(normalized)
    ent = -(normalized * p).nansum(-1, keepdim=True)
    shifted = torch.abs((-normalized) - ent)
    sorted_scores, sorted_indices = torch.sort(shifted, descending=False, stable=True)
    sorted_logits = scores.gather(-1, sorted_indices)
    cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    last_ind = (cum < mass).sum(dim=1)
    last_ind.clamp_(max=sorted_scores.shape[-1] - 1)
    remove = sorted_scores > sorted_scores.gather(1, last_ind.view(-1, 1))
    remove[..., :min_keep] = False
    margin.add((cum - mass).abs().min(dim=-1).values)
    indices_to_remove = remove.scatter(1, sorted_indices, remove)
    out = scores.masked_fill(indices_to_remove, NEG)
    return out.masked_fill(torch.isinf(scores), NEG)  # a masked token stays masked (SPEC §2)


def cutoff(scores, cut, min_keep, margin):
    """Transformers' ε/η form: drop p < cut unless the logit reaches the min_keep-th largest."""
    probabilities = scores.softmax(dim=-1)
    remove = probabilities < cut
    top_k = min(min_keep, scores.size(-1))
    remove = remove & (scores < torch.topk(scores, top_k)[0][..., -1, None])
    live = ~torch.isinf(scores)
    rel = ((probabilities - cut).abs() / cut).masked_fill(~live, float("inf"))
    margin.add(rel.min(dim=-1).values)
    return scores.masked_fill(remove, NEG)


def epsilon(scores, eps, min_keep, margin):
    return cutoff(scores, torch.tensor(eps, dtype=scores.dtype), min_keep, margin)


def eta(scores, eps, min_keep, margin):
    entropy = torch.distributions.Categorical(logits=scores).entropy()
    e = torch.tensor(eps, dtype=scores.dtype)
    cut = torch.minimum(e, torch.sqrt(e) * torch.exp(-entropy))[..., None]
    return cutoff(scores, cut, min_keep, margin)


def top_n_sigma(scores, n, min_keep, margin):
    """llama.cpp: max and population std over the finite logits; keep logit >= max - n*std."""
    live = ~torch.isinf(scores)
    count = live.sum(-1, keepdim=True)
    mx = scores.max(-1, keepdim=True).values
    mean = torch.where(live, scores, torch.zeros_like(scores)).sum(-1, keepdim=True) / count
    var = torch.where(live, (scores - mean) ** 2, torch.zeros_like(scores)).sum(-1, keepdim=True) / count
    cut = mx - n * torch.sqrt(var)
    remove = scores < cut
    top_k = min(min_keep, scores.size(-1))
    remove = remove & (scores < torch.topk(scores, top_k)[0][..., -1, None])
    rel = ((scores - cut).abs() / torch.clamp(cut.abs(), min=1.0)).masked_fill(~live, float("inf"))
    margin.add(rel.min(dim=-1).values)
    return scores.masked_fill(remove, NEG)


def dynamic_temperature(scores, t_min, t_max, kappa, margin):
    """llama.cpp temp_ext over the live tokens: T = t_min + (t_max - t_min) * (H / log n)^kappa."""
    live = ~torch.isinf(scores)
    n = live.sum(-1, keepdim=True).to(scores.dtype)
    p = scores.softmax(dim=-1)
    h = -(torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))).sum(-1, keepdim=True)
    t = t_min + (t_max - t_min) * torch.pow(h / torch.log(n), kappa)
    t = torch.where(n > 1, t, torch.ones_like(t))
    return scores / t


def top_k(scores, k, margin):
    kth = torch.topk(scores, k)[0][..., -1, None]
    return scores.masked_fill(scores < kth, NEG)


def top_p(scores, p, margin):
    sorted_logits, sorted_indices = torch.sort(scores, descending=True, stable=True)
    cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove = (cum - sorted_logits.softmax(dim=-1)) >= p  # tokens after the one that crosses p
    margin.add((cum - p).abs().min(dim=-1).values)
    indices_to_remove = remove.scatter(1, sorted_indices, remove)
    return scores.masked_fill(indices_to_remove, NEG)


def run(x, temperature, steps):
    scores = torch.from_numpy(x).to(torch.float64) / temperature
    margin = Margin(scores.shape[0])
    for step in steps.split(","):
        a = step.split(":")
        name, args = a[0], [float(v) for v in a[1:]]
        if name == "typical":
            scores = typical(scores, args[0], int(args[1]) if len(args) > 1 else 1, margin)
        elif name == "epsilon":
            scores = epsilon(scores, args[0], int(args[1]) if len(args) > 1 else 1, margin)
        elif name == "eta":
            scores = eta(scores, args[0], int(args[1]) if len(args) > 1 else 1, margin)
        elif name == "top_n_sigma":
            scores = top_n_sigma(scores, args[0], int(args[1]) if len(args) > 1 else 1, margin)
        elif name == "dynamic_temperature":
            scores = dynamic_temperature(scores, args[0], args[1], args[2] if len(args) > 2 else 1.0, margin)
        elif name == "top_k":
            scores = top_k(scores, int(args[0]), margin)
        elif name == "top_p":
            scores = top_p(scores, args[0], margin)
        else:
            raise ValueError(step)
    mask = ~torch.isinf(scores)
    probs = scores.softmax(dim=-1)
    return mask.numpy(), probs.to(torch.float32).numpy(), margin.m.numpy()


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2026)
    rows, v = 96, 2053
    x = (3 * rng.standard_normal((rows, v))).astype(np.float32)
    x[rng.random((rows, v)) < 0.02] = -np.inf
    x[::7, rng.integers(0, v)] += 12  # a few peaked rows
    keep = np.ones(rows, dtype=bool)
    results = [run(x, t, s) for t, s in CASES]
    for _, _, margin in results:
        keep &= margin >= 1e-6
    np.save(os.path.join(out, "logits.npy"), x[keep])
    with open(os.path.join(out, "cases.txt"), "w") as f:
        for i, ((t, s), (mask, probs, _)) in enumerate(zip(CASES, results)):
            f.write(f"{t} {s}\n")
            np.save(os.path.join(out, f"mask_{i}.npy"), mask[keep])
            np.save(os.path.join(out, f"probs_{i}.npy"), probs[keep])
    print(f"{keep.sum()} of {rows} rows decided; {len(CASES)} cases written to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
