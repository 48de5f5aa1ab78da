"""W5: the scoring helpers (SPEC §4) over rows = S·T positions of V logits with the next token's id per
position, ids shaped [S, T]: token log-probabilities, Min-K% Prob and Min-K%++ per sequence (k = 0.2)."""
import math

import numpy as np

from common import finite_masked


def _k_count(params, seq_len):
    return max(1, math.floor(float(params["k"]) * seq_len + 1e-9))  # SPEC §4: max(1, floor(K·T))


def _torch_inputs(inputs):
    import torch
    ids = torch.from_numpy(inputs["ids"].astype(np.int64))
    return torch.from_numpy(finite_masked(inputs["logits"])), ids.reshape(-1, 1), ids.shape


def _torch_token_logprob(x, ids, buf):
    """log_softmax into a preallocated buffer, then gather: 2.7× faster on one thread than a fresh
    logsumexp or log_softmax per call (a new 262 MB tensor page-faults in on every call)."""
    import torch
    torch.log_softmax(x, -1, out=buf)
    return buf.gather(1, ids)[:, 0]


def _torch_mean_smallest(v, shape, kc):
    import torch
    return torch.topk(v.reshape(shape), kc, dim=-1, largest=False).values.mean(-1)


def torch_token_logprob(inputs, params):
    import torch
    x, ids, _ = _torch_inputs(inputs)
    buf = torch.empty_like(x)

    def run():
        with torch.no_grad():
            return _torch_token_logprob(x, ids, buf)
    return run


def torch_min_k(inputs, params):
    import torch
    x, ids, shape = _torch_inputs(inputs)
    buf = torch.empty_like(x)
    kc = _k_count(params, shape[1])

    def run():
        with torch.no_grad():
            return _torch_mean_smallest(_torch_token_logprob(x, ids, buf), shape, kc)
    return run


def torch_min_k_plus_plus(inputs, params):
    import torch
    x, ids, shape = _torch_inputs(inputs)
    lp, pl = torch.empty_like(x), torch.empty_like(x)
    kc = _k_count(params, shape[1])

    def run():
        with torch.no_grad():
            torch.log_softmax(x, -1, out=lp)
            torch.exp(lp, out=pl).mul_(lp)       # p log p (0 where masked: p = 0, log p finite)
            mu = pl.sum(-1)
            var = pl.mul_(lp).sum(-1) - mu * mu  # Σ p (log p)² − μ²
            z = (lp.gather(1, ids)[:, 0] - mu) / var.sqrt()
            return _torch_mean_smallest(z, shape, kc)
    return run


def _np_setup(inputs):
    x = finite_masked(inputs["logits"])
    ids = inputs["ids"].reshape(-1).astype(np.intp)
    return x, ids, np.arange(x.shape[0]), inputs["ids"].shape


def _np_token_logprob(x, ids, rows, buf):
    """x[t, y_t] − max − log Σ exp(x − max), one exp pass into a preallocated buffer."""
    m = x.max(axis=1)
    np.subtract(x, m[:, None], out=buf)
    np.exp(buf, out=buf)
    return x[rows, ids] - m - np.log(buf.sum(axis=1))


def _np_mean_smallest(v, shape, kc):
    v = v.reshape(shape)
    return np.partition(v, kc - 1, axis=1)[:, :kc].mean(axis=1)


def numpy_token_logprob(inputs, params):
    x, ids, rows, _ = _np_setup(inputs)
    buf = np.empty_like(x)
    return lambda: _np_token_logprob(x, ids, rows, buf)


def numpy_min_k(inputs, params):
    x, ids, rows, shape = _np_setup(inputs)
    buf = np.empty_like(x)
    kc = _k_count(params, shape[1])
    return lambda: _np_mean_smallest(_np_token_logprob(x, ids, rows, buf), shape, kc)


def numpy_min_k_plus_plus(inputs, params):
    x, ids, rows, shape = _np_setup(inputs)
    lp, p = np.empty_like(x), np.empty_like(x)
    kc = _k_count(params, shape[1])

    def run():
        m = x.max(axis=1, keepdims=True)
        np.subtract(x, m, out=lp)
        np.exp(lp, out=p)
        s = p.sum(axis=1, keepdims=True)
        np.subtract(lp, np.log(s), out=lp)  # log p
        np.divide(p, s, out=p)              # p
        np.multiply(p, lp, out=p)           # p log p
        mu = p.sum(axis=1)
        np.multiply(p, lp, out=p)           # p (log p)²
        var = p.sum(axis=1) - mu * mu
        z = (lp[rows, ids] - mu) / np.sqrt(var)
        return _np_mean_smallest(z, shape, kc)
    return run


def register(reg):
    for name, tf, nf in [("W5-token-logprob", torch_token_logprob, numpy_token_logprob),
                         ("W5-min-k", torch_min_k, numpy_min_k),
                         ("W5-min-k-plus-plus", torch_min_k_plus_plus, numpy_min_k_plus_plus)]:
        reg.add(name, "torch", tf)
        reg.add(name, "numpy", nf)
        reg.absent(name, "pot", "POT is an optimal-transport library: it has no such op")
