#!/usr/bin/env python3
"""Compare two Google Benchmark reports of the same suite: ringkit / peer ratios before and after.

  tools/bench_compare.py BEFORE.json AFTER.json [--base IMPL] [--noise 0.15]

For every (op, args, peer) pair present in both reports (paired as tools/bench_ratios.py pairs
them: medians, throughput), prints the ratio in each, their quotient (after / before) and a
verdict: "same" within +-noise (default 15%, the VM's typical run-to-run spread for two-thread
rows), "better" or "WORSE" outside it. Ratios, not absolutes, are compared: both sides of a
ratio run in the same binary at the same time, so machine load cancels out to first order.
Exit status 0 always (a report, not a gate). Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_ratios  # noqa: E402  (same directory)


def ratios(path: str, base: str) -> dict[tuple[str, str, str], float]:
    _, results = bench_ratios.load(path, "median")
    return {(p.op, p.args, p.peer): p.ratio for p in bench_ratios.pair_up(results, base)
            if p.ratio is not None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--base", default="ringkit")
    ap.add_argument("--noise", type=float, default=0.15)
    a = ap.parse_args()
    b, n = ratios(a.before, a.base), ratios(a.after, a.base)
    keys = [k for k in b if k in n]
    print(f"{os.path.basename(a.before)} -> {os.path.basename(a.after)} "
          f"({len(keys)} pairs in both; {a.base} / peer)\n")
    print("| op | args | peer | before | after | after/before | |")
    print("|---|---|---|---:|---:|---:|---|")
    counts = {"same": 0, "better": 0, "WORSE": 0}
    for k in keys:
        q = n[k] / b[k]
        verdict = "same" if abs(q - 1) <= a.noise else ("better" if q > 1 else "WORSE")
        counts[verdict] += 1
        print(f"| {k[0]} | {k[1]} | {k[2]} | {b[k]:.2f}x | {n[k]:.2f}x | {q:.2f} | {verdict} |")
    print(f"\n{counts['same']} within +-{a.noise:.0%}, {counts['better']} better, "
          f"{counts['WORSE']} worse")
    return 0


if __name__ == "__main__":
    sys.exit(main())
