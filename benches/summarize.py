#!/usr/bin/env python3
"""Turns criterion's saved samples into the Markdown tables of docs/benchmarks.md.

Usage: python3 benches/summarize.py [CRITERION_DIR]
(default: $CARGO_TARGET_DIR/criterion, else target/criterion)

For every benchmark: the median time per iteration over criterion's samples
(each sample is total time / iterations), the spread as min-max of the samples
and the median absolute deviation, and the throughput at the median. Then the
ratios the targets are stated in, computed from the medians of this one run.
"""

import json
import os
import statistics
import sys
from pathlib import Path


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def load(root):
    results = {}
    for bench in sorted(root.glob("**/new/benchmark.json")):
        meta = json.loads(bench.read_text())
        sample = json.loads((bench.parent / "sample.json").read_text())
        per_iter = [t / i for t, i in zip(sample["times"], sample["iters"])]
        med = statistics.median(per_iter)
        mad = statistics.median(abs(x - med) for x in per_iter)
        elements = (meta.get("throughput") or {}).get("Elements", 1)
        results[meta["full_id"]] = {
            "group": meta["group_id"],
            "name": meta["full_id"][len(meta["group_id"]) + 1 :],
            "median": med,
            "min": min(per_iter),
            "max": max(per_iter),
            "mad": mad,
            "elements": elements,
        }
    return results


def main():
    default = Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "criterion"
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    results = load(root)
    groups = {}
    for r in results.values():
        groups.setdefault(r["group"], []).append(r)
    for group in ["hit", "read_heavy", "churn", "single_flight", "retire"]:
        rows = groups.get(group)
        if not rows:
            continue
        print(f"#### `{group}`\n")
        print("| benchmark | median time / iteration | spread (min – max of samples) | MAD | throughput at median |")
        print("|---|---:|---:|---:|---:|")
        for r in rows:
            rate = r["elements"] / (r["median"] / 1e9)
            unit = "M elem/s" if rate >= 1e6 else "k elem/s"
            value = rate / 1e6 if rate >= 1e6 else rate / 1e3
            print(
                f"| {r['name']} | {fmt_time(r['median'])} | {fmt_time(r['min'])} – {fmt_time(r['max'])} "
                f"| {fmt_time(r['mad'])} | {value:.2f} {unit} |"
            )
        print()

    def med(full_id):
        r = results.get(full_id)
        return r["median"] if r else None

    print("#### Target ratios (medians of this run)\n")
    print("| target | ratio | goal | met? |")
    print("|---|---:|---:|---|")

    def row(label, ratio, goal, ok):
        if ratio is None:
            print(f"| {label} | n/a | {goal} | not measured |")
        else:
            print(f"| {label} | {ratio:.2f} | {goal} | {'met' if ok(ratio) else 'MISSED'} |")

    t, q, m, mf = med("hit/tenure"), med("hit/quick_cache"), med("hit/moka::sync"), med("hit/moka::future")
    to = med("hit/tenure (owned, lease)")
    row("hit: tenure (shared) / quick_cache", t / q if t and q else None, "≤ 1.5", lambda x: x <= 1.5)
    row("hit: tenure (owned) / quick_cache", to / q if to and q else None, "≤ 1.5", lambda x: x <= 1.5)
    row("hit: tenure (shared) / moka::sync", t / m if t and m else None, "≤ 0.5", lambda x: x <= 0.5)
    row("hit: tenure (shared) / moka::future", t / mf if t and mf else None, "≤ 0.5", lambda x: x <= 0.5)
    row("hit: tenure (owned) / moka::sync", to / m if to and m else None, "≤ 0.5", lambda x: x <= 0.5)
    one, two = med("read_heavy/tenure/1 thread(s)"), med("read_heavy/tenure/2 thread(s)")
    # time per iteration: one lookup per thread; throughput = threads / time.
    row(
        "read-heavy: tenure 2-thread / 1-thread throughput (wall)",
        (2 / two) / (1 / one) if one and two else None,
        "≥ 1.6",
        lambda x: x >= 1.6,
    )
    for peer in ["quick_cache", "moka::sync", "moka::future", "Mutex<LruCache>"]:
        a, b = med(f"read_heavy/{peer}/1 thread(s)"), med(f"read_heavy/{peer}/2 thread(s)")
        if a and b:
            print(f"| (for reference) {peer} 2-thread / 1-thread | {(2 / b) / (1 / a):.2f} | | |")
    print()


if __name__ == "__main__":
    main()
