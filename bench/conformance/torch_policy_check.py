#!/usr/bin/env python3
"""Cross-checks entrokit's RL and distillation losses against their PyTorch forms, through `entrokit eval`.

For each op it writes seeded inputs (ordinary rows, masked tokens, ignored rows), runs
`./entrokit eval OP --backend B` for the scalar and simd backends, computes the same quantities the way
training code writes them in PyTorch (float64, autograd for the gradients), and holds every output to
SPEC §5 (losses |d| <= 1e-5 max(1, |ref|), gradients |d| <= 1e-6 + 1e-5 |ref|; NaN equals NaN, an
infinity only itself). Prints a table and writes it with a JSON record:

    /usr/bin/python3 bench/conformance/torch_policy_check.py OUT_PREFIX

The PyTorch forms:
  logprob_entropy    log_softmax(x/T).gather(ids); entropy = -(softmax * log_softmax).sum (0 log 0 = 0);
                     grad of sum(w * logprob + c * entropy) by autograd (verl's entropy_from_logits and
                     the policy-gradient weights)
  k3_kl              exp(ref - logprob) - (ref - logprob) - 1 (Schulman's k3, verl's "low_var_kl"
                     without its clamp); grad of sum(kappa * k3)
  sparse_*           student log_softmax(s/T) gathered at the teacher's ids; renormalized: both sides
                     minus their logsumexp over the ids; rest: one more bucket, log(1 - sum exp(.)) on
                     each side; forward KL, reverse KL, JSD(beta) with log M = logsumexp(log b + log P,
                     log(1-b) + log Q); grad by autograd
  cross_entropy_opts F.cross_entropy(softcap(x)/T, y, weight=w, label_smoothing=eps, reduction="none") +
                     z_loss * logsumexp(softcap(x)/T)^2 on the rows that are not ignored (Liger's z-loss);
                     softcap(x) = c tanh(x/c); predicted = argmax
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IGNORE = -100
MASKED_ROW = 2


def logits(rng, rows, v, masked_rows=(2,)):
    x = (3 * rng.standard_normal((rows, v))).astype(np.float32)
    for r in masked_rows:
        if r < rows:
            x[r, rng.random(v) < 0.2] = -np.inf
            x[r, 0] = 1.0
    return x


def run_eval(op, backend, inputs, settings, work):
    os.makedirs(work, exist_ok=True)
    out = os.path.join(work, op + "-" + backend)
    args = [os.path.join(ROOT, "entrokit"), "eval", op, "--backend", backend, "--out", out]
    for name, arr in inputs.items():
        path = os.path.join(work, op + "-" + name + ".npy")
        np.save(path, arr)
        args += ["--in", name + "=" + path]
    for k, val in settings.items():
        args += ["--set", "%s=%s" % (k, val)]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit("%s on %s: exit %d: %s" % (op, backend, done.returncode, done.stderr.strip()))
    return {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out)}


def units(kind, got, ref):
    """Worst error in SPEC §5 tolerance units (inf for a special-value or exact mismatch), and the first failure."""
    shape = np.shape(ref)
    got = np.asarray(got, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    worst = 0.0
    first = ""
    for i, (g, r) in enumerate(zip(got, ref)):
        if np.isnan(r) or np.isnan(g):
            u = 0.0 if np.isnan(r) and np.isnan(g) else float("inf")
        elif np.isinf(r) or np.isinf(g) or kind == "exact":
            u = 0.0 if g == r else float("inf")
        else:
            allowed = 1e-5 * max(1.0, abs(r)) if kind == "loss" else 1e-6 + 1e-5 * abs(r)
            u = abs(g - r) / allowed
        if u > 1 and not first:
            first = "at %s: entrokit %r, torch %r" % (np.unravel_index(i, shape), float(g), float(r))
        worst = max(worst, u)
    return worst, first


def tt(a):
    return torch.from_numpy(np.ascontiguousarray(a)).double()


def policy_case(rng):
    rows, v, temp = 9, 1000, 0.7
    x = logits(rng, rows, v)
    ids = rng.integers(0, v, rows).astype(np.int32)
    ids = np.where(np.isinf(x[np.arange(rows), ids]), 0, ids).astype(np.int32)  # live targets (x[r, 0] = 1)
    ids[3] = IGNORE
    w = rng.uniform(-1, 1, rows).astype(np.float32)
    c = rng.uniform(-0.1, 0.1, rows).astype(np.float32)
    ref = np.minimum(0, rng.uniform(-6, -1, rows)).astype(np.float32)
    kappa = rng.uniform(0, 1, rows).astype(np.float32)
    live = torch.tensor(ids != IGNORE)
    y = torch.tensor(np.where(ids == IGNORE, 0, ids).astype(np.int64))

    xt = tt(x).requires_grad_(True)
    lsm = torch.log_softmax(xt / temp, -1)
    lp = lsm.gather(1, y[:, None])[:, 0]
    p = lsm.exp()
    ent = -torch.where(p > 0, p * lsm, torch.zeros_like(p)).sum(-1)
    lp_out = torch.where(live, lp, torch.zeros_like(lp))
    ent_out = torch.where(live, ent, torch.zeros_like(ent))
    (tt(w) * lp_out + tt(c) * ent_out).sum().backward()
    torch_le = {"logprob": lp_out.detach().numpy(), "entropy": ent_out.detach().numpy(), "grad": xt.grad.numpy()}

    xt2 = tt(x).requires_grad_(True)
    lp2 = torch.log_softmax(xt2 / temp, -1).gather(1, y[:, None])[:, 0]
    d = tt(ref) - lp2
    k3 = torch.where(live, d.exp() - d - 1, torch.zeros_like(d))
    (tt(kappa) * k3).sum().backward()
    torch_k3 = {"kl": k3.detach().numpy(), "grad": xt2.grad.numpy()}

    base = {"logits": x, "ids": ids}
    return [
        ("logprob_entropy", dict(base, logprob_weights=w, entropy_weights=c), {"temperature": temp}, torch_le,
         {"logprob": "loss", "entropy": "loss", "grad": "grad"}),
        ("k3_kl", dict(base, ref_logprobs=ref, weights=kappa), {"temperature": temp}, torch_k3,
         {"kl": "loss", "grad": "grad"}),
    ]


def sparse_torch(op, mass, beta, s, ids, lp, temp):
    st = tt(s).requires_grad_(True)
    idx = torch.tensor(np.where(ids < 0, 0, ids).astype(np.int64))
    q = torch.log_softmax(st / temp, -1).gather(1, idx)
    p = tt(lp)
    if mass == "renormalized":
        p = p - torch.logsumexp(p, -1, keepdim=True)
        q = q - torch.logsumexp(q, -1, keepdim=True)
    else:
        p = torch.cat([p, torch.log1p(-torch.logsumexp(p, -1, keepdim=True).exp().clamp(max=1))], -1)
        q = torch.cat([q, torch.log1p(-torch.logsumexp(q, -1, keepdim=True).exp())], -1)

    def kl(a, b):
        return torch.where(a > -np.inf, a.exp() * (a - b), torch.zeros_like(a)).sum(-1)

    if op == "sparse_kl" or (op == "sparse_jsd" and beta == 0):
        loss = kl(p, q)
    elif op == "sparse_rkl" or (op == "sparse_jsd" and beta == 1):
        loss = kl(q, p)
    else:
        m = torch.logsumexp(torch.stack([np.log(beta) + p, np.log(1 - beta) + q]), 0)
        loss = beta * kl(p, m) + (1 - beta) * kl(q, m)
    live = torch.tensor(ids[:, 0] != IGNORE)
    loss = torch.where(live, loss, torch.zeros_like(loss))
    loss.sum().backward()
    return {"loss": loss.detach().numpy(), "grad": st.grad.numpy()}


def sparse_cases(rng):
    rows, v, k, temp = 8, 1000, 20, 2.0
    teacher = logits(rng, rows, v, masked_rows=())
    student = (0.8 * teacher + 0.5 * rng.standard_normal((rows, v))).astype(np.float32)
    student[2, rng.random(v) < 0.2] = -np.inf
    tl = torch.log_softmax(tt(teacher), -1).numpy()
    ids = np.argsort(-teacher, axis=1, kind="stable")[:, :k].astype(np.int32)
    lp = np.minimum(0, np.take_along_axis(tl, ids, 1)).astype(np.float32)
    ids[3] = IGNORE
    cases = []
    for op in ("sparse_kl", "sparse_rkl", "sparse_jsd"):
        for mass in ("renormalized", "rest"):
            for beta in ((0.0, 0.5, 1.0) if op == "sparse_jsd" else (0.5,)):
                settings = {"temperature": temp, "mass": mass}
                if op == "sparse_jsd":
                    settings["beta"] = beta
                cases.append((op, {"teacher_ids": ids, "teacher_logprobs": lp, "student": student}, settings,
                              sparse_torch(op, mass, beta, student, ids, lp, temp), {"loss": "loss", "grad": "grad"}))
    return cases


def ce_cases(rng):
    rows, v, temp = 8, 1000, 1.0
    x = logits(rng, rows, v, masked_rows=())
    x[1] *= 8  # spread over ±60, where soft-capping at 30 bends
    y = rng.integers(0, v, rows).astype(np.int32)
    y[5] = IGNORE
    w = rng.uniform(0, 2, v).astype(np.float32)
    cases = []
    for z_loss, softcap, eps, weighted in ((1e-4, 0, 0, False), (1e-4, 30, 0, True), (0.01, 30, 0.1, True)):
        xt = tt(x).requires_grad_(True)
        capped = softcap * torch.tanh(xt / softcap) if softcap else xt
        z = capped / temp
        yy = torch.tensor(y.astype(np.int64))
        ce = F.cross_entropy(z, yy, weight=tt(w) if weighted else None, ignore_index=IGNORE, label_smoothing=eps,
                             reduction="none")
        live = yy != IGNORE
        zl = torch.where(live, z_loss * torch.logsumexp(z, -1) ** 2, torch.zeros(rows, dtype=torch.float64))
        loss = ce + zl
        loss.sum().backward()
        ref = {"loss": loss.detach().numpy(), "z_loss": zl.detach().numpy(), "grad": xt.grad.numpy(),
               "predicted": np.argmax(x, 1).astype(np.int32), "correct": np.argmax(x, 1) == y}
        inputs = {"student": x, "labels": y}
        if weighted:
            inputs["class_weights"] = w
        cases.append(("cross_entropy_opts", inputs,
                      {"temperature": temp, "z_loss": z_loss, "softcap": softcap, "label_smoothing": eps}, ref,
                      {"loss": "loss", "z_loss": "loss", "grad": "grad", "predicted": "exact", "correct": "exact"}))
    return cases


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    prefix = sys.argv[1]
    torch.manual_seed(0)
    rng = np.random.default_rng(20261207)
    cases = policy_case(rng) + sparse_cases(rng) + ce_cases(rng)
    results = []
    with tempfile.TemporaryDirectory() as work:
        for n, (op, inputs, settings, ref, kinds) in enumerate(cases):
            for backend in ("scalar", "simd"):
                got = run_eval(op, backend, inputs, settings, os.path.join(work, str(n)))
                for name, kind in kinds.items():
                    u, first = units(kind, got[name], ref[name])
                    # Row 2 holds the masked tokens (-inf logits) in every case but cross_entropy_opts.
                    keep = [r for r in range(len(ref[name])) if r != MASKED_ROW]
                    u_live, _ = units(kind, np.asarray(got[name])[keep], np.asarray(ref[name])[keep])
                    results.append({"op": op, "settings": {k: str(v) for k, v in settings.items()}, "backend": backend,
                                    "output": name, "worst_tolerance_units": u, "pass": bool(u <= 1.0),
                                    "worst_without_masked_row": u_live, "first_failure": first})
    lines = ["%-18s %-30s %-6s %-9s %11s %11s %s" % ("op", "settings", "backend", "output", "worst (tol)",
                                                     "w/o row 2", "status")]
    for r in results:
        s = ",".join("%s=%s" % kv for kv in r["settings"].items() if kv[0] != "temperature")
        lines.append("%-18s %-30s %-6s %-9s %11.3g %11.3g %s" % (r["op"], s, r["backend"], r["output"],
                                                          r["worst_tolerance_units"], r["worst_without_masked_row"],
                                                          "pass" if r["pass"] else "FAIL " + r["first_failure"]))
    failed = sum(not r["pass"] for r in results)
    lines.append("%d outputs, %d fail" % (len(results), failed))
    print("\n".join(lines))
    with open(prefix + ".json", "w") as f:
        json.dump({"torch": torch.__version__, "numpy": np.__version__, "results": results}, f, indent=1)
    with open(prefix + ".txt", "w") as f:
        f.write("\n".join(lines) + "\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
