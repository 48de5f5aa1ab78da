"""W3: top-k 50, top-p 0.9, min-p 0.1, top-H 0.4 (paper mode, n = 100) as kept masks at temperature 1,
and a sampling step: temperature 0.7 -> top-k 50 -> top-p 0.9 -> one token per row."""
import math

import numpy as np

from common import np_logsumexp

T_SAMPLE, K, TOP_P, MIN_P, ALPHA, TOPH_N = 0.7, 50, 0.9, 0.1, 0.4, 100


def torch_topk(inputs, params):
    import torch
    x = torch.from_numpy(inputs["logits"])

    def run():
        v, i = torch.topk(x, K, dim=-1)
        return i, v, torch.exp(v - torch.logsumexp(x, -1, keepdim=True))  # probs over the whole row
    return run


def torch_topp(inputs, params):
    import torch
    x = torch.from_numpy(inputs["logits"])

    def run():
        sv, si = torch.sort(x, dim=-1, descending=True)
        probs = sv.softmax(-1)
        keep = (probs.cumsum(-1) - probs) < TOP_P  # mass before the token < p: the shortest prefix reaching p
        return torch.zeros_like(x, dtype=torch.bool).scatter_(-1, si, keep)
    return run


def torch_minp(inputs, params):
    import torch
    x = torch.from_numpy(inputs["logits"])
    log_r = math.log(MIN_P)

    def run():
        # p_i >= r * p_max  <=>  x_i >= x_max + log r: no exp needed
        return x >= x.amax(-1, keepdim=True) + log_r
    return run


def torch_toph(inputs, params):
    import torch
    x = torch.from_numpy(inputs["logits"])

    def run():
        v, i = torch.topk(x, TOPH_N, dim=-1)
        lp = v - torch.logsumexp(x, -1, keepdim=True)
        p = lp.exp()
        s = torch.cumsum(-p * lp, -1)
        keep = s <= ALPHA * s[:, -1:]
        keep[:, 0] = True
        return torch.zeros_like(x, dtype=torch.bool).scatter_(-1, i, keep)
    return run


def torch_sample(inputs, params):
    import torch
    x = torch.from_numpy(inputs["logits"])
    gen = torch.Generator().manual_seed(1234)

    def run():
        v, i = torch.topk(x, K, dim=-1)  # top-k first: the top-p sort is then over 50 values, not the vocabulary
        v = v / T_SAMPLE
        probs = v.softmax(-1)
        drop = (probs.cumsum(-1) - probs) >= TOP_P
        probs = v.masked_fill(drop, float("-inf")).softmax(-1)
        return i.gather(-1, torch.multinomial(probs, 1, generator=gen))
    return run


def _np_topn(x, n):
    """The n largest logits per row, sorted descending, with their indices."""
    part = np.argpartition(x, -n, axis=1)[:, -n:]
    vals = np.take_along_axis(x, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(vals, order, axis=1), np.take_along_axis(part, order, axis=1)


def numpy_topk(inputs, params):
    x = inputs["logits"]

    def run():
        v, i = _np_topn(x, K)
        return i, v, np.exp(v - np_logsumexp(x))
    return run


def numpy_topp(inputs, params):
    x = inputs["logits"]
    mask = np.zeros(x.shape, dtype=bool)

    def run():
        si = np.argsort(-x, axis=1)
        sv = np.take_along_axis(x, si, axis=1)
        e = np.exp(sv - sv[:, :1])
        probs = e / e.sum(axis=1, keepdims=True)
        keep = (np.cumsum(probs, axis=1) - probs) < TOP_P
        np.put_along_axis(mask, si, keep, axis=1)
        return mask
    return run


def numpy_minp(inputs, params):
    x = inputs["logits"]
    log_r = math.log(MIN_P)

    def run():
        return x >= x.max(axis=1, keepdims=True) + log_r
    return run


def numpy_toph(inputs, params):
    x = inputs["logits"]
    mask = np.zeros(x.shape, dtype=bool)

    def run():
        v, i = _np_topn(x, TOPH_N)
        lp = v - np_logsumexp(x)
        p = np.exp(lp)
        s = np.cumsum(-p * lp, axis=1)
        keep = s <= ALPHA * s[:, -1:]
        keep[:, 0] = True
        mask[:] = False
        np.put_along_axis(mask, i, keep, axis=1)
        return mask
    return run


def numpy_sample(inputs, params):
    x = inputs["logits"]
    rng = np.random.default_rng(1234)

    def run():
        v, i = _np_topn(x, K)
        v = v / T_SAMPLE
        e = np.exp(v - v[:, :1])
        probs = e / e.sum(axis=1, keepdims=True)
        e[(np.cumsum(probs, axis=1) - probs) >= TOP_P] = 0
        cdf = np.cumsum(e, axis=1)
        u = rng.random((x.shape[0], 1)) * cdf[:, -1:]
        choice = np.minimum((cdf < u).sum(axis=1), K - 1)
        return i[np.arange(x.shape[0]), choice]
    return run


def register(reg):
    for name, tf, nf in [("W3-topk50", torch_topk, numpy_topk), ("W3-topp0.9", torch_topp, numpy_topp),
                         ("W3-minp0.1", torch_minp, numpy_minp), ("W3-toph0.4", torch_toph, numpy_toph),
                         ("W3-sample-step", torch_sample, numpy_sample)]:
        reg.add(name, "torch", tf)
        reg.add(name, "numpy", nf)
    for name in ["W1-softmax-entropy", "W2-kl", "W2-rkl", "W2-jsd", "W2-kl-fwd-bwd", "W3-topk50", "W3-topp0.9",
                 "W3-minp0.1", "W3-toph0.4", "W3-sample-step"]:
        reg.absent(name, "pot", "POT is an optimal-transport library: it has no such op (it runs in W4)")
