#!/usr/bin/env python3
"""Summarizes bench/scripts/batch1-threads.sh: per config and build, median (min-max) of every measured iteration of
both forks, the 1 -> 2 thread speedup (median over median, and min over min) and max/min of each cell."""
import json
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1])


def cell(name):
    runs = json.loads((out / f"{name}.json").read_text())
    xs = [v for fork in runs[0]["primaryMetric"]["rawData"] for v in fork]
    return statistics.median(xs), min(xs), max(xs)


rows = [("softmax", "softmax with statistics, 1 × 128256"), ("sample-k50p90", "sample, T 0.8 → top-k 50 → top-p 0.9"),
        ("sample-p95", "sample, T 0.8 → top-p 0.95"), ("sample-t", "sample, T 0.8")]
print("| op (batch 1) | build | 1 thread µs | 2 threads µs | 2 vs 1 (medians) | 2 vs 1 (minima) | max/min 1t, 2t |")
print("|---|---|---:|---:|---:|---:|---:|")
for key, label in rows:
    for build in ("before", "after"):
        one = cell(f"{key}-{build}-1")
        two = cell(f"{key}-{build}-2")
        print(f"| {label} | {build} | {one[0]:.1f} ({one[1]:.1f}–{one[2]:.1f}) | {two[0]:.1f} ({two[1]:.1f}–{two[2]:.1f}) "
              f"| {one[0] / two[0]:.2f}× | {one[1] / two[1]:.2f}× | {one[2] / one[1]:.2f}, {two[2] / two[1]:.2f} |")
for build in ("before", "after"):
    w = cell(f"w1-32rows-{build}-1")
    print(f"\nW1 32 × 128256, 1 thread, {build}: {w[0]:.0f} µs ({w[1]:.0f}–{w[2]:.0f})", end="")
print()
