"""Helpers shared by the workload modules (not a workload module itself: its name does not start with w)."""
import numpy as np


def finite_masked(x):
    """Masked logits (-inf) as the dtype's lowest finite value, the Transformers convention
    (masked_fill with finfo.min): log-softmax then stays finite and p·log p is 0 there instead of NaN.
    Done once before timing; entrokit reads the -inf logits as they are."""
    y = np.array(x, dtype=np.float32, copy=True)
    y[np.isneginf(y)] = np.finfo(np.float32).min
    return y


def np_log_softmax(x, logp, p):
    """logp = log_softmax(x), p = softmax(x) in place with one exp pass; returns the row sums (R, 1)."""
    m = x.max(axis=1, keepdims=True)
    np.subtract(x, m, out=logp)
    np.exp(logp, out=p)
    s = p.sum(axis=1, keepdims=True)
    p /= s
    logp -= np.log(s)
    return s


def np_logsumexp(x):
    m = x.max(axis=1, keepdims=True)
    return m + np.log(np.exp(x - m).sum(axis=1, keepdims=True))
