"""W2: KL, reverse KL and JSD (β = 0.5) between teacher and student logit rows, summed; KL with its
gradient w.r.t. the student logits."""
import math

import numpy as np

from common import finite_masked, np_log_softmax

LN2 = math.log(2.0)


def _torch_inputs(inputs):
    import torch
    return torch.from_numpy(finite_masked(inputs["teacher"])), torch.from_numpy(finite_masked(inputs["student"]))


def torch_kl(inputs, params):
    import torch
    import torch.nn.functional as F
    t, s = _torch_inputs(inputs)

    def run():
        with torch.no_grad():
            return F.kl_div(F.log_softmax(s, -1), F.log_softmax(t, -1), reduction="sum", log_target=True)
    return run


def torch_rkl(inputs, params):
    import torch
    import torch.nn.functional as F
    t, s = _torch_inputs(inputs)

    def run():
        with torch.no_grad():
            return F.kl_div(F.log_softmax(t, -1), F.log_softmax(s, -1), reduction="sum", log_target=True)
    return run


def torch_jsd(inputs, params):
    import torch
    import torch.nn.functional as F
    t, s = _torch_inputs(inputs)

    def run():
        with torch.no_grad():
            lt, ls = F.log_softmax(t, -1), F.log_softmax(s, -1)
            lm = torch.logaddexp(lt, ls) - LN2  # log of the mixture, finite on masked tokens
            return 0.5 * (F.kl_div(lm, lt, reduction="sum", log_target=True)
                          + F.kl_div(lm, ls, reduction="sum", log_target=True))
    return run


def torch_kl_fwd_bwd(inputs, params):
    import torch
    import torch.nn.functional as F
    t, s0 = _torch_inputs(inputs)
    s = s0.clone().requires_grad_(True)

    def run():
        s.grad = None
        with torch.no_grad():
            lt = F.log_softmax(t, -1)
        loss = F.kl_div(F.log_softmax(s, -1), lt, reduction="sum", log_target=True)
        loss.backward()
        return loss
    return run


def _np_buffers(inputs):
    t, s = finite_masked(inputs["teacher"]), finite_masked(inputs["student"])
    return t, s, [np.empty_like(t) for _ in range(5)]


def numpy_kl(inputs, params):
    t, s, (lt, pt, ls, ps, tmp) = _np_buffers(inputs)

    def run():
        np_log_softmax(t, lt, pt)
        np_log_softmax(s, ls, ps)
        np.subtract(lt, ls, out=tmp)
        np.multiply(tmp, pt, out=tmp)
        return tmp.sum()
    return run


def numpy_rkl(inputs, params):
    t, s, (lt, pt, ls, ps, tmp) = _np_buffers(inputs)

    def run():
        np_log_softmax(t, lt, pt)
        np_log_softmax(s, ls, ps)
        np.subtract(ls, lt, out=tmp)
        np.multiply(tmp, ps, out=tmp)
        return tmp.sum()
    return run


def numpy_jsd(inputs, params):
    t, s, (lt, pt, ls, ps, lm) = _np_buffers(inputs)
    tmp = np.empty_like(t)

    def run():
        np_log_softmax(t, lt, pt)
        np_log_softmax(s, ls, ps)
        np.logaddexp(lt, ls, out=lm)
        np.subtract(lm, LN2, out=lm)
        np.subtract(lt, lm, out=tmp)
        np.multiply(tmp, pt, out=tmp)
        a = tmp.sum()
        np.subtract(ls, lm, out=tmp)
        np.multiply(tmp, ps, out=tmp)
        return 0.5 * (a + tmp.sum())
    return run


def numpy_kl_fwd_bwd(inputs, params):
    t, s, (lt, pt, ls, ps, tmp) = _np_buffers(inputs)
    grad = np.empty_like(t)

    def run():
        np_log_softmax(t, lt, pt)
        np_log_softmax(s, ls, ps)
        np.subtract(lt, ls, out=tmp)
        np.multiply(tmp, pt, out=tmp)
        np.subtract(ps, pt, out=grad)  # d KL / d student logits, written by hand (NumPy has no autograd)
        return tmp.sum()
    return run


def register(reg):
    for name, tf, nf in [("W2-kl", torch_kl, numpy_kl), ("W2-rkl", torch_rkl, numpy_rkl),
                         ("W2-jsd", torch_jsd, numpy_jsd), ("W2-kl-fwd-bwd", torch_kl_fwd_bwd, numpy_kl_fwd_bwd)]:
        reg.add(name, "torch", tf)
        reg.add(name, "numpy", nf)
