"""W4: batched entropic optimal transport (SPEC §3), `batch` problems of n × n, uniform marginals,
exactly `iterations` log-domain iterations (no convergence test), from a given cost or from point clouds
(squared Euclidean cost, computed inside the timed call as entrokit computes it inside its own).
Each call returns the transport cost <P, C> of every problem, as entrokit's does."""
import math

WORKLOADS = ("W4-sinkhorn-cost", "W4-sinkhorn-points")


def _settings(params):
    return float(params["epsilon"]), int(params["iterations"])


def _torch_solver(eps, iters):
    """The batched log-domain loop, SPEC §3's order (f first, from f = g = 0), in the fastest form found
    on this machine: scaled potentials u = f/ε, v = g/ε and M = −C/ε made once per solve, a transposed
    copy of M so that both log-sum-exps run over the contiguous last axis, and preallocated buffers
    (fresh temporaries or logsumexp over axis 1 were 10–50 % slower with AVX2 kernels)."""
    import torch

    def solve(c):
        b, n, m = c.shape
        la, lb = -math.log(n), -math.log(m)
        mt = c.mul(-1.0 / eps)
        mtt = mt.transpose(1, 2).contiguous()
        buf = torch.empty_like(mt)
        u = c.new_zeros(b, n)
        v = c.new_zeros(b, m)
        lse_u = c.new_empty(b, n)
        lse_v = c.new_empty(b, m)
        for _ in range(iters):
            torch.add(mt, v[:, None, :], out=buf)
            torch.logsumexp(buf, 2, out=lse_u)
            torch.sub(la, lse_u, out=u)        # f = ε log a − ε LSE_j((g_j − C_ij)/ε), over ε
            torch.add(mtt, u[:, None, :], out=buf)
            torch.logsumexp(buf, 2, out=lse_v)
            torch.sub(lb, lse_v, out=v)        # g = ε log b − ε LSE_i((f_i − C_ij)/ε), over ε
        torch.add(mt, u[:, :, None], out=buf)
        buf.add_(v[:, None, :]).exp_()         # the plan P
        return buf.mul_(c).sum((1, 2))        # <P, C> per problem
    return solve


def torch_cost(inputs, params):
    import torch
    eps, iters = _settings(params)
    c = torch.from_numpy(inputs["cost"])
    solve = _torch_solver(eps, iters)

    def run():
        with torch.no_grad():
            return solve(c)
    return run


def torch_points(inputs, params):
    import torch
    eps, iters = _settings(params)
    x, y = torch.from_numpy(inputs["x"]), torch.from_numpy(inputs["y"])
    solve = _torch_solver(eps, iters)

    def run():
        with torch.no_grad():
            return solve(torch.cdist(x, y).square_())
    return run


def _pot_inputs(params):
    """POT 0.8 has no batched solver: one ot.sinkhorn2(method="sinkhorn_log") call per problem. Its
    torch backend (float32 tensors) is its fastest form here: 1.5× faster than NumPy float32 and 1.8×
    faster than float64 on one thread (on two OpenMP threads it was 10× slower: 128 × 128 ops are too
    small to share), so POT runs on one thread. POT updates g first, then f, and computes the marginal
    error every 10 iterations (stopThr = 0 never stops it): its loop as shipped."""
    import torch
    torch.set_num_threads(1)
    return _settings(params)


def pot_cost(inputs, params):
    import ot
    import torch
    eps, iters = _pot_inputs(params)
    c = torch.from_numpy(inputs["cost"])
    n, m = c.shape[1], c.shape[2]
    a, b = torch.full((n,), 1.0 / n), torch.full((m,), 1.0 / m)

    def run():
        return [ot.sinkhorn2(a, b, c[p], eps, method="sinkhorn_log", numItermax=iters, stopThr=0, warn=False)
                for p in range(c.shape[0])]
    return run


def pot_points(inputs, params):
    import ot
    import torch
    eps, iters = _pot_inputs(params)
    x, y = torch.from_numpy(inputs["x"]), torch.from_numpy(inputs["y"])
    n, m = x.shape[1], y.shape[1]
    a, b = torch.full((n,), 1.0 / n), torch.full((m,), 1.0 / m)

    def run():
        # ot.dist: squared Euclidean by default
        return [ot.sinkhorn2(a, b, ot.dist(x[p], y[p]), eps, method="sinkhorn_log", numItermax=iters, stopThr=0,
                             warn=False) for p in range(x.shape[0])]
    return run


def _np_solver(eps, iters):
    """The same loop in NumPy (float32, batched, preallocated, log-sum-exp as max, subtract, exp in
    place, sum, log; SciPy's logsumexp allocates more and was no faster)."""
    import numpy as np

    def lse_last(buf, out):
        mx = buf.max(axis=2, keepdims=True)
        buf -= mx
        np.exp(buf, out=buf)
        np.log(buf.sum(axis=2), out=out)
        out += mx[:, :, 0]

    def solve(c):
        b, n, m = c.shape
        la, lb = np.float32(-math.log(n)), np.float32(-math.log(m))
        mt = c * np.float32(-1.0 / eps)
        mtt = np.ascontiguousarray(mt.transpose(0, 2, 1))
        buf = np.empty_like(mt)
        u = np.zeros((b, n), np.float32)
        v = np.zeros((b, m), np.float32)
        for _ in range(iters):
            np.add(mt, v[:, None, :], out=buf)
            lse_last(buf, u)
            np.subtract(la, u, out=u)
            np.add(mtt, u[:, None, :], out=buf)
            lse_last(buf, v)
            np.subtract(lb, v, out=v)
        np.add(mt, u[:, :, None], out=buf)
        buf += v[:, None, :]
        np.exp(buf, out=buf)
        buf *= c
        return buf.sum(axis=(1, 2))
    return solve


def numpy_cost(inputs, params):
    eps, iters = _settings(params)
    c = inputs["cost"]
    solve = _np_solver(eps, iters)
    return lambda: solve(c)


def numpy_points(inputs, params):
    import numpy as np
    eps, iters = _settings(params)
    x, y = inputs["x"], inputs["y"]
    solve = _np_solver(eps, iters)

    def run():
        # ‖x‖² + ‖y‖² − 2 x·yᵀ with a batched matmul, as torch.cdist does for clouds this size
        c = np.matmul(x, y.transpose(0, 2, 1))
        c *= -2
        c += np.einsum("bid,bid->bi", x, x)[:, :, None]
        c += np.einsum("bjd,bjd->bj", y, y)[:, None, :]
        np.maximum(c, 0, out=c)
        return solve(c)
    return run


def register(reg):
    for name, tf, nf, pf in [("W4-sinkhorn-cost", torch_cost, numpy_cost, pot_cost),
                             ("W4-sinkhorn-points", torch_points, numpy_points, pot_points)]:
        reg.add(name, "torch", tf)
        reg.add(name, "numpy", nf)
        reg.add(name, "pot", pf)
