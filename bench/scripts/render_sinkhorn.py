#!/usr/bin/env python3
"""Render a JMH JSON result of SinkhornBench as a Markdown table.

usage: render_sinkhorn.py RESULT.json > table.md
Per (mode, backend, threads): median ms per solve of the whole batch over all measured iterations of
all forks (min–max, each fork's median), ns per cost entry and iteration (both passes), scalar ÷ simd,
2 threads ÷ 1, and points ÷ cost. (render.py renders DistributionBench, whose parameters differ.)
"""
import json
import statistics
import sys


def main(path):
    data = json.load(open(path))
    rows = {}
    for e in data:
        if not e["benchmark"].endswith("SinkhornBench.solve"):
            continue
        p = e["params"]
        raw = e["primaryMetric"]["rawData"]
        s = [v for fork in raw for v in fork]
        forks = [statistics.median(f) for f in raw]
        entries = int(p["batch"]) * int(p["n"]) ** 2 * 100
        rows[(p["mode"], p["backend"], int(p["threads"]))] = (statistics.median(s), min(s), max(s), forks, entries, p)
    any_p = next(iter(rows.values()))[5]
    print(f"JDK {data[0].get('jdkVersion', '?')}; B = {any_p['batch']} problems of {any_p['n']} × {any_p['n']}, "
          f"d = {any_p['dim']} for points, ε = 0.05, 100 iterations; forks × iterations per cell: "
          f"{len([v for f in data[0]['primaryMetric']['rawData'] for v in f])}\n")
    print("| mode | backend | threads | median ms (min–max) | per-fork medians | ns per entry·iteration | scalar ÷ simd | 2 threads ÷ 1 | points ÷ cost |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode in ["cost", "points"]:
        for backend in ["scalar", "simd"]:
            for threads in [1, 2]:
                key = (mode, backend, threads)
                if key not in rows:
                    continue
                med, lo, hi, forks, entries, _ = rows[key]
                ratio = f"{rows[(mode, 'scalar', threads)][0] / med:.1f}×" if backend == "simd" and (mode, "scalar", threads) in rows else ""
                scale = f"{rows[(mode, backend, 1)][0] / med:.2f}×" if threads == 2 and (mode, backend, 1) in rows else ""
                vs_cost = f"{med / rows[('cost', backend, threads)][0]:.2f}×" if mode == "points" and ("cost", backend, threads) in rows else ""
                per_fork = " / ".join(f"{f:.1f}" for f in forks)
                print(f"| {mode} | {backend} | {threads} | {med:.1f} ({lo:.1f}–{hi:.1f}) | {per_fork} | "
                      f"{med * 1e6 / entries:.3f} | {ratio} | {scale} | {vs_cost} |")


if __name__ == "__main__":
    main(sys.argv[1])
