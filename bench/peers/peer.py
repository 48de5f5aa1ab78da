#!/usr/bin/python3
"""A peer process for `./entrokit bench`: times one library's best form of each workload on the inputs
entrokit wrote (.npy), on request, so the runner can interleave peers with entrokit's JMH runs.

usage: /usr/bin/python3 bench/peers/peer.py IMPL THREADS      (IMPL: torch, numpy or pot)
Protocol, one line each way (stdin / stdout; anything else goes to stderr):
  -> ready <key=value ...>                      once, after the imports (versions, torch's CPU capability)
  <- run <workload> <samples> <warmup_s> <sample_s> <key=value ...>   inputs (name=path.npy) and @Params
  -> ok <ms>,<ms>,...     one sample each: the mean time of one call over at least sample_s seconds
  -> absent <reason>      this peer has no honest form of the workload (or of the thread count)
  -> error <message>
Workloads live in the modules w*.py beside this file: each defines register(reg), which calls
reg.add(workload, impl, factory) where factory(inputs, params) does the untimed preparation and
returns the zero-argument function to time, or reg.absent(workload, impl, reason).
"""
import glob
import importlib.util
import os
import sys
import time

IMPL, THREADS = sys.argv[1], int(sys.argv[2])
# The runner also sets OMP_NUM_THREADS/MKL_NUM_THREADS to THREADS in this process's environment.


class Registry:
    def __init__(self):
        self.factories = {}
        self.reasons = {}

    def add(self, workload, impl, factory):
        self.factories[(workload, impl)] = factory

    def absent(self, workload, impl, reason):
        self.reasons[(workload, impl)] = reason


# Peers that run every workload on one thread: asking them for two would time the same thing twice.
SINGLE_THREADED = {
    "numpy": "NumPy/SciPy run element-wise ops, reductions and sorts on one thread",
    "pot": "POT solves one problem at a time on one thread (its torch backend on two threads was 10x slower "
           "on 128x128 ops; its NumPy backend is single-threaded)",
}


def library_info():
    info = {}
    if IMPL == "torch":
        import torch
        torch.set_num_threads(THREADS)
        info["torch"] = torch.__version__
        cap = [l.split(":", 1)[1].strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l]
        info["capability"] = cap[0] if cap else "unknown"
        info["threads"] = str(torch.get_num_threads())
    import numpy
    info["numpy"] = numpy.__version__
    if IMPL == "numpy":
        import scipy
        info["scipy"] = scipy.__version__
    if IMPL == "pot":
        import ot
        info["pot"] = ot.__version__
        import torch  # W4 runs POT on its torch backend, one thread
        torch.set_num_threads(1)
        info["torch"] = torch.__version__
    return info


def measure(fn, samples, warmup_s, sample_s):
    start = time.perf_counter()
    calls = 0
    while calls < 2 or time.perf_counter() - start < warmup_s:
        fn()
        calls += 1
    per_call = max((time.perf_counter() - start) / calls, 1e-7)
    reps = max(1, int(sample_s / per_call))
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        out.append((time.perf_counter() - t0) / reps * 1e3)
    return out


def main():
    reg = Registry()
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    for path in sorted(glob.glob(os.path.join(here, "w*.py"))):
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mod.register(reg)
    info = library_info()
    print("ready " + " ".join(f"{k}={v.replace(' ', '_')}" for k, v in info.items()), flush=True)
    import numpy as np
    cache = {}
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "quit":
            break
        try:
            workload, samples, warmup_s, sample_s = parts[1], int(parts[2]), float(parts[3]), float(parts[4])
            kv = dict(p.split("=", 1) for p in parts[5:])
            factory = reg.factories.get((workload, IMPL))
            if factory is None:
                reason = reg.reasons.get((workload, IMPL), f"no {IMPL} form of this workload is registered in bench/peers")
                print("absent " + reason, flush=True)
                continue
            if THREADS > 1 and IMPL in SINGLE_THREADED:
                print("absent " + SINGLE_THREADED[IMPL], flush=True)
                continue
            inputs, params = {}, {}
            wanted = {v for v in kv.values() if v.endswith(".npy")}
            for stale in set(cache) - wanted:  # hold one workload's inputs at a time
                del cache[stale]
            for k, v in kv.items():
                if v.endswith(".npy"):
                    if v not in cache:
                        cache[v] = np.load(v)
                    inputs[k] = cache[v]
                else:
                    params[k] = v
            fn = factory(inputs, params)
            ms = measure(fn, samples, warmup_s, sample_s)
            print("ok " + ",".join(f"{m:.6f}" for m in ms), flush=True)
        except Exception as e:  # report, keep serving
            import traceback
            traceback.print_exc(file=sys.stderr)
            print("error " + (f"{type(e).__name__}: {e}".replace("\n", " ")), flush=True)


if __name__ == "__main__":
    main()
