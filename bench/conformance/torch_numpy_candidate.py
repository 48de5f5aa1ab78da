#!/usr/bin/env python3
"""A conformance candidate: PyTorch's and NumPy's straightforward implementations of entrokit's ops.

Reads an entrokit conformance kit (DIR/manifest.json and its inputs) and writes each output it can
compute to CAND_DIR/<case>/<output>.npy, the way the bench peers (bench/peers/*.py) and most training
code compute them: log_softmax, F.kl_div(log_target=True), Categorical.entropy, torch.topk, a
sort-based top-p, x >= max + log r for min-p, argmax for greedy. Ops with no straightforward peer are
not written, so `entrokit conformance check --allow-missing` shows them as missing.

    python3 bench/conformance/torch_numpy_candidate.py DIR CAND_DIR
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


def load(kit, case, name):
    return np.load(os.path.join(kit, case["inputs"][name]))


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def settings(case):
    s = case["settings"]
    return float(s.get("temperature", "1")), s


def with_grad(student, loss_fn):
    """loss per row and d(sum of rows)/d(student), by autograd."""
    s = t(student).clone().requires_grad_(True)
    loss = loss_fn(s)
    loss.sum().backward()
    return loss.detach().numpy(), s.grad.numpy()


def distribution(op, kit, case):
    temp, s = settings(case)
    if op in ("softmax", "log_softmax", "logsumexp", "entropy"):
        x = t(load(kit, case, "logits")) / temp
        if op == "softmax":
            return {"probs": torch.softmax(x, -1)}
        if op == "log_softmax":
            return {"logprobs": torch.log_softmax(x, -1)}
        if op == "logsumexp":
            return {"lse": torch.logsumexp(x, -1)}
        # validate_args=False: with its default checks Categorical refuses a NaN row instead of answering.
        return {"entropy": torch.distributions.Categorical(logits=x, validate_args=False).entropy()}
    if op == "cross_entropy":
        if "labels" in case["inputs"]:
            labels = t(load(kit, case, "labels").astype(np.int64))
            loss, grad = with_grad(load(kit, case, "student"),
                                   lambda st: F.cross_entropy(st / temp, labels, reduction="none"))
        else:
            target = torch.softmax(t(load(kit, case, "teacher")) / temp, -1)
            loss, grad = with_grad(load(kit, case, "student"),
                                   lambda st: F.cross_entropy(st / temp, target, reduction="none"))
        return {"loss": loss, "grad": grad}
    teacher = load(kit, case, "teacher")
    lt = torch.log_softmax(t(teacher) / temp, -1)
    if op == "kl":
        loss, grad = with_grad(load(kit, case, "student"), lambda st: F.kl_div(
            torch.log_softmax(st / temp, -1), lt, log_target=True, reduction="none").sum(-1))
    elif op == "rkl":
        loss, grad = with_grad(load(kit, case, "student"), lambda st: F.kl_div(
            lt, torch.log_softmax(st / temp, -1), log_target=True, reduction="none").sum(-1))
    elif op == "jsd":
        beta = float(s["beta"])

        def jsd(st):
            ls = torch.log_softmax(st / temp, -1)
            # The common mixture form (as Liger's and most distillation code): log of the mixed probabilities.
            m = torch.log((1 - beta) * lt.exp() + beta * ls.exp())
            return ((1 - beta) * F.kl_div(m, lt, log_target=True, reduction="none")
                    + beta * F.kl_div(m, ls, log_target=True, reduction="none")).sum(-1)
        loss, grad = with_grad(load(kit, case, "student"), jsd)
    elif op == "jeffreys":
        loss, grad = with_grad(load(kit, case, "student"), lambda st: (
            F.kl_div(torch.log_softmax(st / temp, -1), lt, log_target=True, reduction="none")
            + F.kl_div(lt, torch.log_softmax(st / temp, -1), log_target=True, reduction="none")).sum(-1))
    elif op == "tv":
        q = torch.softmax(t(load(kit, case, "student")) / temp, -1)
        return {"loss": 0.5 * (lt.exp() - q).abs().sum(-1)}
    elif op == "hellinger":
        q = torch.softmax(t(load(kit, case, "student")) / temp, -1)
        return {"loss": torch.sqrt(0.5 * ((lt.exp().sqrt() - q.sqrt()) ** 2).sum(-1))}
    else:
        return None
    return {"loss": loss, "grad": grad}


def selection(op, kit, case):
    temp, s = settings(case)
    x = t(load(kit, case, "logits"))
    if op == "top_k":
        k = int(s["k"])
        z = x / temp
        v, i = torch.topk(z, k, dim=-1)
        return {"indices": i.to(torch.int32), "values": torch.gather(x, -1, i),
                "probs": torch.exp(v - torch.logsumexp(z, -1, keepdim=True))}
    if op == "top_p":
        p = float(s["p"])
        sv, si = torch.sort(x / temp, dim=-1, descending=True)
        probs = sv.softmax(-1)
        keep = (probs.cumsum(-1) - probs) < p
        return {"mask": torch.zeros_like(x, dtype=torch.bool).scatter_(-1, si, keep)}
    if op == "min_p":
        z = x / temp
        return {"mask": z >= z.amax(-1, keepdim=True) + math.log(float(s["min_p"]))}
    if op == "top_h":
        n = min(int(s["n"]), x.shape[-1])
        z = x / temp
        v, i = torch.topk(z, n, dim=-1)
        lp = v - torch.logsumexp(z, -1, keepdim=True)
        h = torch.cumsum(-lp.exp() * lp, -1)
        keep = h <= float(s["alpha"]) * h[:, -1:]
        keep[:, 0] = True
        return {"mask": torch.zeros_like(x, dtype=torch.bool).scatter_(-1, i, keep)}
    if op == "sample" and temp == 0:
        return {"tokens": torch.argmax(x, -1).to(torch.int32)}  # greedy; seeded sampling has no common peer
    if op == "token_logprob":
        ids = t(load(kit, case, "ids").astype(np.int64))
        return {"logprob": torch.log_softmax(x, -1).gather(-1, ids[:, None])[:, 0]}
    return None


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: torch_numpy_candidate.py DIR CAND_DIR")
    kit, out = sys.argv[1], sys.argv[2]
    with open(os.path.join(kit, "manifest.json")) as f:
        manifest = json.load(f)
    written = 0
    for case in manifest["cases"]:
        op = case["op"]
        try:
            with torch.no_grad() if op not in ("cross_entropy", "kl", "rkl", "jsd", "jeffreys") else torch.enable_grad():
                res = distribution(op, kit, case) if op in (
                    "softmax", "log_softmax", "logsumexp", "entropy", "cross_entropy", "kl", "rkl", "jsd", "jeffreys",
                    "tv", "hellinger") else selection(op, kit, case)
        except Exception as e:  # a peer that raises on an adversarial input writes nothing: it shows as missing
            print(f"{case['id']}: {type(e).__name__}: {str(e).splitlines()[0][:200]}", file=sys.stderr)
            continue
        if res is None:
            continue
        want = {o["name"]: o for o in case["outputs"]}
        for name, value in res.items():
            a = value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
            a = a.astype(np.load(os.path.join(kit, want[name]["reference"]), mmap_mode="r").dtype)
            path = os.path.join(out, want[name]["candidate"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            np.save(path, a)
            written += 1
    print(f"wrote {written} outputs to {out} (torch {torch.__version__}, numpy {np.__version__})")


if __name__ == "__main__":
    main()
