"""W1-softmax-entropy: probabilities and per-row entropy of a logits batch."""
import numpy as np

from common import finite_masked, np_log_softmax


def torch_softmax_entropy(inputs, params):
    import torch
    x = torch.from_numpy(finite_masked(inputs["logits"]))

    def run():
        with torch.no_grad():
            logp = torch.log_softmax(x, dim=-1)  # one fused pass, stable
            p = torch.exp(logp)                   # the probabilities, an output of the workload
            h = -(p * logp).sum(dim=-1)
        return p, h
    return run


def numpy_softmax_entropy(inputs, params):
    x = finite_masked(inputs["logits"])
    logp = np.empty_like(x)
    p = np.empty_like(x)
    tmp = np.empty_like(x)

    def run():
        np_log_softmax(x, logp, p)   # one exp pass for both
        np.multiply(p, logp, out=tmp)
        return p, -tmp.sum(axis=1)
    return run


def register(reg):
    reg.add("W1-softmax-entropy", "torch", torch_softmax_entropy)
    reg.add("W1-softmax-entropy", "numpy", numpy_softmax_entropy)
