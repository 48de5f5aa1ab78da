#!/usr/bin/env python3
"""Times libentrokit_cuda.so against PyTorch (eager and torch.compile) with CUDA events, on the
CUDA backend's workloads, after a correctness spot check of each against float64 PyTorch. Called by
device-check.sh; prints one table line per workload and writes the table to argv[2].

    python3 bench_cuda.py <path to libentrokit_cuda.so> <table.md>
"""
import ctypes
import sys

import torch

LIB = ctypes.CDLL(sys.argv[1])
OUT = sys.argv[2]
V = ctypes.c_void_p
I64 = ctypes.c_int64
F = ctypes.c_float
I32 = ctypes.c_int32
LIB.ek_last_error.restype = ctypes.c_char_p
EK_F32, EK_BF16 = 0, 1


class Filter(ctypes.Structure):
    _fields_ = [("kind", I32), ("k", I32), ("value", F), ("n", I32)]


def check(status, call):
    if status != 0:
        raise RuntimeError(f"{call}: status {status}: {LIB.ek_last_error().decode()}")


def ptr(t):
    return V(t.data_ptr()) if t is not None else V(0)


def stream():
    return V(torch.cuda.current_stream().cuda_stream)


def timed(fn, reps=20, warm=3):
    """Median milliseconds of fn() between CUDA events."""
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def copy_bandwidth():
    x = torch.empty(2 * 1024**3, dtype=torch.uint8, device="cuda")
    y = torch.empty_like(x)
    ms = timed(lambda: y.copy_(x), reps=10)
    return 2 * x.numel() / (ms * 1e-3)


rows_out = []


def report(name, bytes_moved, ms_ek, ms_eager, ms_compiled, err, bw):
    gbs = bytes_moved / (ms_ek * 1e-3) if bytes_moved else float("nan")
    line = (f"| {name} | {ms_ek:.3f} | {ms_eager:.3f} | {ms_compiled:.3f} | {ms_eager / ms_ek:.1f}x | "
            f"{ms_compiled / ms_ek:.1f}x | {gbs / 1e12:.2f} TB/s ({100 * gbs / bw:.0f}%) | {err:.1e} |")
    rows_out.append(line)
    print(line, flush=True)


def compiled(fn):
    try:
        return torch.compile(fn)
    except Exception as e:  # noqa: BLE001 - report and fall back
        print(f"torch.compile unavailable: {e}")
        return fn


def kl_workload(bw):
    R, C = 4096, 128256
    g = torch.Generator(device="cuda").manual_seed(0)
    t = (torch.randn(R, C, device="cuda", generator=g) * 3).bfloat16()
    s = (torch.randn(R, C, device="cuda", generator=g) * 3).bfloat16()
    loss = torch.empty(R, device="cuda")
    grad = torch.empty_like(s)
    LIB.ek_kl.argtypes = [V, I64, V, I64, V, V, I64, F, V, I64, I64, ctypes.c_int, F, V]

    def ek():
        check(LIB.ek_kl(ptr(t), C, ptr(s), C, ptr(loss), ptr(grad), C, F(1.0), V(0), R, C, EK_BF16, F(1.0), stream()),
              "ek_kl")

    def torch_kl(t, s):
        s = s.float().requires_grad_()
        lp = torch.log_softmax(t.float(), -1)
        lq = torch.log_softmax(s, -1)
        kl = (lp.exp() * (lp - lq)).sum(-1)
        kl.sum().backward()
        return kl, s.grad.bfloat16()

    ek()
    torch.cuda.synchronize()
    sub = slice(0, 64)
    tt, ss = t[sub].double(), s[sub].double().requires_grad_()
    lp = torch.log_softmax(tt, -1)
    lq = torch.log_softmax(ss, -1)
    ref = (lp.exp() * (lp - lq)).sum(-1)
    ref.sum().backward()
    err = max(((loss[sub].double() - ref).abs() / ref.abs().clamp_min(1)).max().item(),
              ((grad[sub].double() - ss.grad).norm() / ss.grad.norm()).item())
    ms_ek = timed(ek)
    ms_eager = timed(lambda: torch_kl(t, s))
    cf = compiled(torch_kl)
    ms_comp = timed(lambda: cf(t, s))
    report("KL fwd+bwd [4096,128256] bf16", 3 * R * C * 2, ms_ek, ms_eager, ms_comp, err, bw)


def entropy_workload(bw):
    R, C = 4096, 128256
    x = (torch.randn(R, C, device="cuda") * 3).bfloat16()
    h = torch.empty(R, device="cuda")
    p = torch.empty_like(x)
    LIB.ek_entropy.argtypes = [V, I64, V, V, I64, F, V, I64, I64, ctypes.c_int, F, V]
    LIB.ek_softmax.argtypes = [V, I64, V, I64, I64, I64, ctypes.c_int, F, V]

    def ek():
        check(LIB.ek_softmax(ptr(x), C, ptr(p), C, R, C, EK_BF16, F(1.0), stream()), "ek_softmax")
        check(LIB.ek_entropy(ptr(x), C, ptr(h), V(0), C, F(1.0), V(0), R, C, EK_BF16, F(1.0), stream()), "ek_entropy")

    def torch_se(x):
        lp = torch.log_softmax(x.float(), -1)
        pr = lp.exp()
        return pr.bfloat16(), -(pr * lp).sum(-1)

    ek()
    torch.cuda.synchronize()
    lp = torch.log_softmax(x[:64].double(), -1)
    ref = -(lp.exp() * lp).sum(-1)
    err = max(((h[:64].double() - ref).abs() / ref.abs().clamp_min(1)).max().item(),
              ((p[:64].double() - lp.exp()).norm() / lp.exp().norm()).item())
    ms_ek = timed(ek)
    ms_eager = timed(lambda: torch_se(x))
    cf = compiled(torch_se)
    ms_comp = timed(lambda: cf(x))
    # softmax reads x and writes p; entropy reads x again: the floor is one read and one write.
    report("softmax+entropy [4096,128256] bf16", 2 * R * C * 2, ms_ek, ms_eager, ms_comp, err, bw)


def sampling_workload(bw):
    R, C = 256, 128256
    x = torch.randn(R, C, device="cuda") * 3
    tokens = torch.empty(R, dtype=torch.int32, device="cuda")
    filters = (Filter * 2)(Filter(0, 50, 0.0, 0), Filter(1, 0, 0.9, 0))
    LIB.ek_sample.argtypes = [V, I64, I64, I64, ctypes.c_int, F, V, I32, ctypes.c_uint64, V, I32, I64, V, V]

    def ek():
        check(LIB.ek_sample(ptr(x), C, R, C, EK_F32, F(0.8), ctypes.cast(filters, V), 2, 1234, V(0), 0, 0, ptr(tokens),
                            stream()), "ek_sample")

    def torch_sample(x):
        z = x / 0.8
        v, i = torch.topk(z, 50, dim=-1)
        sv, si = torch.sort(v, descending=True, dim=-1)
        probs = torch.softmax(sv, -1)
        cum = probs.cumsum(-1)
        drop = (cum - probs) > 0.9
        sv = sv.masked_fill(drop, float("-inf"))
        pick = torch.multinomial(torch.softmax(sv, -1), 1)
        return i.gather(-1, si.gather(-1, pick))

    def torch_sort_path(x):  # the HF-style full sort the target names
        z = x / 0.8
        kth = torch.topk(z, 50, dim=-1).values[..., -1:]
        z = z.masked_fill(z < kth, float("-inf"))
        sz, si = torch.sort(z, descending=True, dim=-1)
        cum = torch.softmax(sz, -1).cumsum(-1)
        remove = cum > 0.9
        remove[..., 1:] = remove[..., :-1].clone()
        remove[..., 0] = False
        z = z.scatter(-1, si, sz.masked_fill(remove, float("-inf")))
        return torch.multinomial(torch.softmax(z, -1), 1)

    ek()
    torch.cuda.synchronize()
    ok = (tokens >= 0).all().item()
    ms_ek = timed(ek)
    ms_eager = timed(lambda: torch_sort_path(x))
    cf = compiled(torch_sample)
    ms_comp = timed(lambda: cf(x))
    report("sample T->top-k 50->top-p 0.9 [256,128256] f32", R * C * 4, ms_ek, ms_eager, ms_comp,
           0.0 if ok else float("inf"), bw)


def sinkhorn_workload(bw):
    B, N, M, it, eps = 1024, 64, 64, 100, 0.1
    c = torch.rand(B, N, M, device="cuda")
    f = torch.empty(B, N, device="cuda")
    g = torch.empty(B, M, device="cuda")
    iters = torch.empty(B, dtype=torch.int32, device="cuda")
    err, cost, obj = (torch.empty(B, device="cuda") for _ in range(3))
    LIB.ek_sinkhorn.argtypes = [I32, V, V, V, I64, I64, I64, I64, V, V, F, F, F, F, I32, F, V, V, V, V, V, V, V, V]

    def ek():
        check(LIB.ek_sinkhorn(0, ptr(c), V(0), V(0), B, N, M, 0, V(0), V(0), F(eps), F(0), F(1), F(0), it, F(-1),
                              ptr(f), ptr(g), ptr(iters), ptr(err), ptr(cost), ptr(obj), V(0), stream()), "ek_sinkhorn")

    def torch_sinkhorn(c):
        la, lb = -torch.log(torch.tensor(float(N))), -torch.log(torch.tensor(float(M)))
        fp = torch.zeros(B, N, device="cuda", dtype=c.dtype)
        gp = torch.zeros(B, M, device="cuda", dtype=c.dtype)
        for _ in range(it):
            fp = eps * (la - torch.logsumexp((gp[:, None, :] - c) / eps, -1))
            gp = eps * (lb - torch.logsumexp((fp[:, :, None] - c) / eps, -2))
        return fp, gp

    ek()
    torch.cuda.synchronize()
    fr, gr = torch_sinkhorn(c.double())
    e = max(((f.double() - fr).norm() / fr.norm()).item(), ((g.double() - gr).norm() / gr.norm()).item())
    ms_ek = timed(ek)
    ms_eager = timed(lambda: torch_sinkhorn(c), reps=5)
    cf = compiled(torch_sinkhorn)
    ms_comp = timed(lambda: cf(c), reps=5)
    report("Sinkhorn 1024 x 64x64, 100 it", 0, ms_ek, ms_eager, ms_comp, e, bw)


def main():
    torch.backends.cuda.matmul.allow_tf32 = False
    bw = copy_bandwidth()
    print(f"device {torch.cuda.get_device_name()}, copy bandwidth {bw / 1e12:.2f} TB/s (read + write)", flush=True)
    for w in (kl_workload, entropy_workload, sampling_workload, sinkhorn_workload):
        try:
            w(bw)
        except Exception as e:  # noqa: BLE001 - one failing workload must not hide the others
            line = f"| {w.__name__} | failed: {e} |"
            rows_out.append(line)
            print(line, flush=True)
        torch.cuda.empty_cache()
    head = ("| workload | entrokit ms | eager ms | compile ms | vs eager | vs compile | bandwidth (of copy) | max rel err |\n"
            "|---|---|---|---|---|---|---|---|")
    with open(OUT, "w") as fh:
        fh.write(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, "
                 f"copy bandwidth {bw / 1e12:.2f} TB/s\n\n{head}\n" + "\n".join(rows_out) + "\n")


if __name__ == "__main__":
    main()
