"""W6: the RL and distillation losses with their gradients, as training code writes them in PyTorch (float32,
autograd): the per-token log-prob and entropy with the gradient of sum(w * logprob + c * entropy) (verl's
entropy_from_logits with policy-gradient weights), and forward KL from a sparse top-k teacher with the rest
bucket (the teacher's missing mass against the student's mass outside the ids)."""
import numpy as np

from common import finite_masked


def torch_logprob_entropy(inputs, params):
    import torch
    x0 = torch.from_numpy(finite_masked(inputs["logits"]))
    ids = torch.from_numpy(inputs["ids"].astype(np.int64)).reshape(-1, 1)
    w = torch.from_numpy(inputs["w"].astype(np.float32))
    c = torch.from_numpy(inputs["c"].astype(np.float32))
    x = x0.clone().requires_grad_(True)

    def run():
        x.grad = None
        lsm = torch.log_softmax(x, -1)
        lp = lsm.gather(1, ids)[:, 0]
        ent = -(lsm.exp() * lsm).sum(-1)
        (w * lp + c * ent).sum().backward()
        return x.grad
    return run


def torch_sparse_kl(inputs, params):
    import torch
    x0 = torch.from_numpy(finite_masked(inputs["student"]))
    ids = torch.from_numpy(inputs["top_ids"].astype(np.int64))
    lp = torch.from_numpy(inputs["top_logprobs"].astype(np.float32))
    p = torch.cat([lp, torch.log1p(-torch.logsumexp(lp, -1, keepdim=True).exp().clamp(max=1))], -1)
    x = x0.clone().requires_grad_(True)

    def run():
        x.grad = None
        q = torch.log_softmax(x, -1).gather(1, ids)
        q = torch.cat([q, torch.log1p(-torch.logsumexp(q, -1, keepdim=True).exp())], -1)
        (p.exp() * (p - q)).sum().backward()
        return x.grad
    return run


def register(reg):
    for name, tf in [("W6-logprob-entropy-fwd-bwd", torch_logprob_entropy), ("W6-sparse-kl-fwd-bwd", torch_sparse_kl)]:
        reg.add(name, "torch", tf)
        reg.absent(name, "numpy", "NumPy has no autograd: the gradient is part of the workload")
        reg.absent(name, "pot", "POT is an optimal-transport library: it has no such op")
