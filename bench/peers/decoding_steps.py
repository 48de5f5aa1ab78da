#!/usr/bin/env python3
"""PyTorch peer of bench DecodingBench: the entropy-shaped steps written as Transformers (Typical, Epsilon,
Eta warpers) and llama.cpp (top_n_sigma, temp_ext) write them, on 32 x 128256 float32 logits, one thread,
as a kept mask (the last two: a sampled token per row). Prints ms per call (median of repeats, with min and max).

    /usr/bin/python3 bench/peers/decoding_steps.py          (ATEN_CPU_CAPABILITY=avx512 for AVX-512)
    /usr/bin/python3 bench/peers/decoding_steps.py --cpu    (thread CPU time, every pipeline of DecodingProbe)
    add --gaussian SIGMA for N(0, SIGMA^2) rows instead of the heavy-tailed ones (flat rows)
"""
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
NEG = float("-inf")


def typical(s, mass=0.9):
    normalized = torch.log_softmax(s, dim=-1)
    p = torch.exp(normalized)
    ent = -(normalized * p).nansum(-1, keepdim=True)
    shifted = torch.abs((-normalized) - ent)
    sorted_scores, sorted_indices = torch.sort(shifted, descending=False)
    cum = s.gather(-1, sorted_indices).softmax(dim=-1).cumsum(dim=-1)
    last_ind = (cum < mass).sum(dim=1).clamp_(max=s.shape[-1] - 1)
    remove = sorted_scores > sorted_scores.gather(1, last_ind.view(-1, 1))
    remove[..., :1] = False
    return s.masked_fill(remove.scatter(1, sorted_indices, remove), NEG)


def epsilon(s, eps=3e-4):
    remove = (s.softmax(dim=-1) < eps) & (s < torch.topk(s, 1)[0][..., -1, None])
    return s.masked_fill(remove, NEG)


def eta(s, eps=3e-4):
    probs = s.softmax(dim=-1)
    entropy = torch.distributions.Categorical(logits=s).entropy()
    e = torch.tensor(eps)
    cut = torch.min(e, torch.sqrt(e) * torch.exp(-entropy))[..., None]
    remove = (probs < cut) & (s < torch.topk(s, 1)[0][..., -1, None])
    return s.masked_fill(remove, NEG)


def top_n_sigma(s, n=1.0):
    live = ~torch.isinf(s)
    count = live.sum(-1, keepdim=True)
    mx = s.max(-1, keepdim=True).values
    mean = torch.where(live, s, torch.zeros_like(s)).sum(-1, keepdim=True) / count
    var = torch.where(live, (s - mean) ** 2, torch.zeros_like(s)).sum(-1, keepdim=True) / count
    return s.masked_fill(s < mx - n * torch.sqrt(var), NEG)


def top_k50_typical(s):
    kth = torch.topk(s, 50)[0][..., -1, None]
    return typical(s.masked_fill(s < kth, NEG))


def dynamic_temperature_min_p(s, t_min=0.5, t_max=1.5, kappa=1.0, min_p=0.05):
    live = ~torch.isinf(s)
    n = live.sum(-1, keepdim=True).to(s.dtype)
    p = s.softmax(dim=-1)
    h = -(torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))).sum(-1, keepdim=True)
    s = s / (t_min + (t_max - t_min) * torch.pow(h / torch.log(n), kappa))
    probs = s.softmax(dim=-1)
    return s.masked_fill(probs < min_p * probs.max(-1, keepdim=True).values, NEG)


def dynamic_temperature_top_p(s, t_min=0.5, t_max=1.5, kappa=1.0):
    live = ~torch.isinf(s)
    n = live.sum(-1, keepdim=True).to(s.dtype)
    p = s.softmax(dim=-1)
    h = -(torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))).sum(-1, keepdim=True)
    return top_p09(s / (t_min + (t_max - t_min) * torch.pow(h / torch.log(n), kappa)))


def mirostat(s, mu=5.0):
    # llama.cpp mirostat_v2's truncation: keep -log2 p <= mu, at least the most likely token.
    p = s.softmax(dim=-1)
    remove = (-torch.log2(p) > mu) & (s < torch.topk(s, 1)[0][..., -1, None])
    return s.masked_fill(remove, NEG)


def top_k50(s, k=50):
    # Transformers' TopKLogitsWarper.
    return s.masked_fill(s < torch.topk(s, k)[0][..., -1, None], NEG)


def top_p09(s, p=0.9, min_keep=1):
    # Transformers' TopPLogitsWarper.
    sorted_logits, sorted_indices = torch.sort(s, descending=False)
    cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove = cum <= (1 - p)
    remove[..., -min_keep:] = 0
    return s.masked_fill(remove.scatter(1, sorted_indices, remove), NEG)


def min_p005(s, min_p=0.05):
    # Transformers' MinPLogitsWarper.
    probs = torch.softmax(s, dim=-1)
    top = probs.amax(dim=-1, keepdim=True)
    return s.masked_fill(probs < min_p * top, NEG)


def top_h05(s, alpha=0.5, n=100):
    # The Top-H paper's reference (PAPER mode): p over the full row, the n most likely in order, not renormalized;
    # keep the longest prefix whose cumulative -p log p stays within alpha times that of all n (at least one).
    p = s.softmax(dim=-1)
    top, idx = torch.topk(p, n)
    terms = torch.where(top > 0, -top * torch.log(top), torch.zeros_like(top)).cumsum(dim=-1)
    k = (terms <= alpha * terms[..., -1:]).sum(dim=-1, keepdim=True).clamp(min=1)
    keep = torch.arange(n).expand_as(top) < k
    mask = torch.zeros_like(s, dtype=torch.bool).scatter(1, idx, keep)
    return s.masked_fill(~mask, NEG)


def sample(s):
    # A token per row from softmax(s), as vLLM and Transformers draw it.
    return torch.multinomial(s.softmax(dim=-1), 1)


def xtc01_sample(s, threshold=0.1):
    # XTC at probability 1 (llama.cpp; text-generation-webui's XTCLogitsProcessor): when at least two tokens reach
    # the threshold, drop all of them but the least likely; then draw.
    probs = s.softmax(dim=-1)
    sorted_p, sorted_idx = torch.sort(probs, dim=-1, descending=True)
    above = (sorted_p >= threshold).sum(dim=-1, keepdim=True)
    drop_sorted = (torch.arange(s.shape[-1]).expand_as(s) < above - 1) & (above >= 2)
    drop = torch.zeros_like(drop_sorted).scatter(1, sorted_idx, drop_sorted)
    return sample(s.masked_fill(drop, NEG))


PIPELINES = [("typical", typical), ("epsilon", epsilon), ("eta", eta), ("top_n_sigma", top_n_sigma),
             ("top_k50_typical", top_k50_typical), ("dynamic_temperature_min_p", dynamic_temperature_min_p),
             ("dynamic_temperature_top_p", dynamic_temperature_top_p),
             ("mirostat", mirostat), ("top_k50", top_k50), ("top_p0.9", top_p09), ("min_p0.05", min_p005),
             ("top_p0.9_min_keep5", lambda s: top_p09(s, min_keep=5)), ("top_h0.5", top_h05), ("sample", sample),
             ("xtc0.1_sample", xtc01_sample)]


def main():
    cpu = "--cpu" in sys.argv  # thread CPU time, as bench DecodingProbe measures entrokit on a shared machine
    clock = time.thread_time if cpu else time.perf_counter
    rng = np.random.default_rng(42)
    if "--gaussian" in sys.argv:  # flat rows: N(0, sigma^2), none masked (DecodingProbe's -Ddecoding.gaussian=sigma)
        sigma = float(sys.argv[sys.argv.index("--gaussian") + 1])
        x = (sigma * rng.standard_normal(size=(32, 128256))).astype(np.float32)
    else:
        x = (1.5 * rng.standard_t(3, size=(32, 128256))).astype(np.float32)
        x[rng.random(x.shape) < 0.02] = -np.inf
    s = torch.from_numpy(x)
    if cpu:
        rows_kind = f"N(0, {sigma}^2) rows" if "--gaussian" in sys.argv else "heavy-tailed rows"
        print(f"PyTorch {torch.__version__}, one thread, 32 x 128256 {rows_kind}, kept mask; median of 21 calls "
              f"after 3; thread CPU time\n")
        print("| pipeline | median ms | min–max ms | ns/element (median) |")
        print("|---|---:|---:|---:|")
    for name, fn in (PIPELINES if cpu else PIPELINES[:6]):
        for _ in range(3):
            (~torch.isinf(fn(s))).sum()
        times = []
        for _ in range(21 if cpu else 10):
            t0 = clock()
            (~torch.isinf(fn(s))).sum()
            times.append((clock() - t0) * 1e3)
        times.sort()
        med = times[len(times) // 2]
        if cpu:
            print(f"| {name} | {med:.2f} | {times[0]:.2f}–{times[-1]:.2f} | {med * 1e6 / (32 * 128256):.3f} |")
        else:
            print(f"{name:28s} {med:8.2f} ms  (min {times[0]:.2f}, max {times[-1]:.2f})")


if __name__ == "__main__":
    main()
