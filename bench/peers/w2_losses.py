"""W2: KL, reverse KL and JSD (β = 0.5) between teacher and student logit rows, summed; KL with its
gradient w.r.t. the student logits."""
import math

import numpy as np

from common import finite_masked, np_log_softmax

LN2 = math.log(2.0)


def _torch_inputs(inputs):
    import torch
    t = torch.from_numpy(finite_masked(inputs["teacher"]))
    s = torch.from_numpy(finite_masked(inputs["student"]))
    # Buffers made once: fresh per-call tensors (kl_div's own temporaries included) made torch up to 2x
    # slower here, so every intermediate goes into one of these with out=.
    return t, s, [torch.empty_like(t) for _ in range(5)]


def _torch_kl_sum(lp, lq, p, tmp):
    """Σ p (log p − log q), p = exp(lp): F.kl_div(lq, lp, log_target=True) without its temporaries."""
    import torch
    torch.exp(lp, out=p)
    torch.sub(lp, lq, out=tmp)
    tmp.mul_(p)
    return tmp.sum()


def torch_kl(inputs, params):
    import torch
    t, s, (lt, ls, pt, tmp, _) = _torch_inputs(inputs)

    def run():
        with torch.no_grad():
            torch.log_softmax(t, -1, out=lt)
            torch.log_softmax(s, -1, out=ls)
            return _torch_kl_sum(lt, ls, pt, tmp)
    return run


def torch_rkl(inputs, params):
    import torch
    t, s, (lt, ls, ps, tmp, _) = _torch_inputs(inputs)

    def run():
        with torch.no_grad():
            torch.log_softmax(t, -1, out=lt)
            torch.log_softmax(s, -1, out=ls)
            return _torch_kl_sum(ls, lt, ps, tmp)
    return run


def torch_jsd(inputs, params):
    import torch
    t, s, (lt, ls, lm, p, tmp) = _torch_inputs(inputs)

    def run():
        with torch.no_grad():
            torch.log_softmax(t, -1, out=lt)
            torch.log_softmax(s, -1, out=ls)
            torch.logaddexp(lt, ls, out=lm)  # log of the mixture, finite on masked tokens
            lm.sub_(LN2)
            return 0.5 * (_torch_kl_sum(lt, lm, p, tmp) + _torch_kl_sum(ls, lm, p, tmp))
    return run


def torch_kl_fwd_bwd(inputs, params):
    import torch
    t, s, (lt, ls, pt, tmp, grad) = _torch_inputs(inputs)

    def run():
        # The gradient by hand (softmax(s) − p), which beat autograd's kl_div backward here.
        with torch.no_grad():
            torch.log_softmax(t, -1, out=lt)
            torch.log_softmax(s, -1, out=ls)
            loss = _torch_kl_sum(lt, ls, pt, tmp)
            torch.exp(ls, out=grad)
            grad.sub_(pt)
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
