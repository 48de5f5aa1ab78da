#!/usr/bin/env python3
"""Render a JMH JSON result of DistributionBench + CeilingBench as a Markdown table.

usage: render.py RESULT.json  > table.md
Per kernel: median ms over all measured iterations of all forks (with min and max, and each fork's
median, since C2 sometimes compiles a kernel differently from one JVM to the next), ns per element
(or per element pair for two-row ops), effective GB/s over the bytes the op must touch once, that as
a fraction of the same run's SIMD read ceiling, the scalar/simd ratio and the 2-thread speed-up.
"""
import json
import statistics
import sys

# Bytes each op must move per element at least: inputs read once, outputs written once.
BYTES_PER_ELEMENT = {
    "entropy": 4, "logSumExp": 4, "softmax": 8, "logSoftmax": 8,
    "kl": 8, "rkl": 8, "jsd": 8, "klForwardBackward": 12,
}
PAIR_OPS = {"kl", "rkl", "jsd", "klForwardBackward"}


def samples(entry):
    raw = entry["primaryMetric"]["rawData"]
    return [v for fork in raw for v in fork]


def main(path):
    data = json.load(open(path))
    ceilings = {}
    rows = {}
    for e in data:
        name = e["benchmark"].rsplit(".", 1)[1]
        cls = e["benchmark"].rsplit(".", 2)[1]
        s = samples(e)
        med = statistics.median(s)
        if cls == "CeilingBench":
            mib = int(e["params"]["mib"])
            ceilings[name] = (med, min(s), max(s), mib)
            continue
        p = e["params"]
        forks = [statistics.median(f) for f in e["primaryMetric"]["rawData"]]
        rows[(name, p["backend"], int(p["threads"]))] = (med, min(s), max(s), int(p["rows"]) * int(p["cols"]), forks)
    jdk = data[0].get("jdkVersion", "?")
    vm = data[0].get("vmName", "?")
    print(f"JDK {jdk} ({vm}); forks × iterations per cell: {len(samples(data[0]))}\n")
    if ceilings:
        print("| ceiling | median ms | GB/s | note |")
        print("|---|---:|---:|---|")
        for name, (med, lo, hi, mib) in sorted(ceilings.items()):
            if name == "copy":
                gbps = 2 * mib * 2**20 / (med * 1e-3) / 1e9
                print(f"| copy | {med:.3f} ({lo:.3f}–{hi:.3f}) | {gbps:.1f} | MemorySegment.copy of {mib} MiB, read + write counted |")
            elif name == "readSum":
                gbps = mib * 2**20 / (med * 1e-3) / 1e9
                print(f"| read | {med:.3f} ({lo:.3f}–{hi:.3f}) | {gbps:.1f} | SIMD sum over {mib} MiB |")
            elif name == "expThroughput":
                print(f"| exp (SVML) | {med:.4f} | {16384 / (med * 1e6):.2f} G/s | VectorOperators.EXP over 16384 cache-resident floats |")
        print()
    read = ceilings.get("readSum")
    read_gbps = read[3] * 2**20 / (read[0] * 1e-3) / 1e9 if read else None
    print("| kernel | backend | threads | median ms (min–max) | per-fork medians | ns/element | GB/s | of read ceiling | scalar ÷ simd | 2 threads ÷ 1 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in ["entropy", "softmax", "logSoftmax", "logSumExp", "kl", "klForwardBackward", "rkl", "jsd"]:
        for backend in ["scalar", "simd"]:
            for threads in [1, 2]:
                key = (name, backend, threads)
                if key not in rows:
                    continue
                med, lo, hi, n, forks = rows[key]
                ns = med * 1e6 / n
                gbps = BYTES_PER_ELEMENT[name] * n / (med * 1e-3) / 1e9
                frac = f"{gbps / read_gbps:.0%}" if read_gbps else "–"
                ratio = ""
                if backend == "simd" and (name, "scalar", threads) in rows:
                    ratio = f"{rows[(name, 'scalar', threads)][0] / med:.1f}×"
                scale = ""
                if threads == 2 and (name, backend, 1) in rows:
                    scale = f"{rows[(name, backend, 1)][0] / med:.2f}×"
                unit = "pair" if name in PAIR_OPS else "element"
                per_fork = " / ".join(f"{f:.2f}" for f in forks)
                print(f"| {name} | {backend} | {threads} | {med:.3f} ({lo:.3f}–{hi:.3f}) | {per_fork} | {ns:.3f}/{unit} | {gbps:.1f} | {frac} | {ratio} | {scale} |")


if __name__ == "__main__":
    main(sys.argv[1])
