#!/usr/bin/env python3
"""Pair ringkit with its peers in a Google Benchmark JSON report and print the ratios.

Benchmarks are named BM_<op>/<impl>/<args> (docs/conventions.md rule 19), e.g. BM_bytes_spsc/ringkit/8 and
BM_bytes_spsc/boost_spsc/8. Suffixes that Google Benchmark appends (/real_time, /process_time,
/manual_time, /threads:N, /min_time:..., /iterations:..., /repeats:...) are ignored. For every
(op, args) the base implementation (ringkit) is paired with each other implementation and the
ratio base/peer is computed on throughput: bytes_per_second when both report it, else
items_per_second, else 1/real_time.

Input: a file written with
  --benchmark_repetitions=N --benchmark_report_aggregates_only=true
  --benchmark_out=FILE --benchmark_out_format=json
The chosen aggregate (median by default) is used; a report without aggregates falls back to the
median of the individual runs.

Targets: --target OP:PEER:ARGS=RATIO (repeatable; fnmatch wildcards allowed in each part, ARGS
may contain ':' and '/'), e.g. --target 'bytes_spsc:boost_spsc:8=1.5'. --targets takes several
comma-separated specs at once. Each matching pair prints met / not met; --strict makes the exit
status 2 when any target is not met or matches nothing.

Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import statistics
import sys
from dataclasses import dataclass, field

# Components Google Benchmark appends to a benchmark's name.
_MODIFIER = re.compile(
    r"^(real_time|manual_time|process_time|threads:\d+|min_time:.*|min_warmup_time:.*|"
    r"iterations:\d+|repeats:\d+)$"
)
_TIME_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


@dataclass
class Result:
    """One benchmark (op, impl, args) reduced to a single statistic."""

    op: str
    impl: str
    args: str
    bytes_per_second: float | None = None
    items_per_second: float | None = None
    seconds_per_iter: float | None = None  # real time
    repetitions: int | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)


def split_name(run_name: str) -> tuple[str, str, str] | None:
    """BM_<op>/<impl>/<args...>[/modifiers] -> (op, impl, args); None if it does not fit."""
    parts = [p for p in run_name.split("/") if p and not _MODIFIER.match(p)]
    if len(parts) < 2 or not parts[0].startswith("BM_"):
        return None
    return parts[0][3:], parts[1], "/".join(parts[2:])


def run_name_of(entry: dict) -> str:
    name = entry.get("run_name")
    if name:
        return name
    name = entry.get("name", "")
    agg = entry.get("aggregate_name")
    if agg and name.endswith("_" + agg):
        name = name[: -len(agg) - 1]
    return name


def _seconds(entry: dict) -> float | None:
    t = entry.get("real_time")
    unit = _TIME_UNIT_SECONDS.get(entry.get("time_unit", "ns"))
    if t is None or unit is None:
        return None
    return float(t) * unit


def load(path: str, stat: str) -> tuple[dict, list[Result]]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    entries = doc.get("benchmarks", [])
    by_run: dict[str, dict[str, list[dict]]] = {}
    for e in entries:
        kind = "aggregate" if e.get("run_type") == "aggregate" else "iteration"
        by_run.setdefault(run_name_of(e), {}).setdefault(kind, []).append(e)

    results: list[Result] = []
    for run_name, kinds in by_run.items():
        parsed = split_name(run_name)
        if parsed is None:
            print(f"bench_ratios: skipping {run_name!r}: not BM_<op>/<impl>/<args>", file=sys.stderr)
            continue
        r = Result(*parsed)
        aggs = [e for e in kinds.get("aggregate", []) if e.get("aggregate_name") == stat]
        iters = kinds.get("iteration", [])
        errors = [e for e in iters + kinds.get("aggregate", []) if e.get("error_occurred")]
        if errors:
            r.error = errors[0].get("error_message", "error")
        if aggs:
            a = aggs[0]
            r.bytes_per_second = a.get("bytes_per_second")
            r.items_per_second = a.get("items_per_second")
            r.seconds_per_iter = _seconds(a)
            r.repetitions = a.get("repetitions")
        elif iters:
            ok = [e for e in iters if not e.get("error_occurred")]
            if ok:

                def med(key, conv=lambda e, k: e.get(k)):
                    vals = [v for v in (conv(e, key) for e in ok) if v is not None]
                    return statistics.median(vals) if vals else None

                r.bytes_per_second = med("bytes_per_second")
                r.items_per_second = med("items_per_second")
                r.seconds_per_iter = med("real_time", lambda e, k: _seconds(e))
                r.repetitions = len(ok)
        elif r.error is None:
            r.error = f"no '{stat}' aggregate"
        results.append(r)
    return doc.get("context", {}), results


def human(value: float, unit: str) -> str:
    for scale, prefix in ((2**30, "Gi"), (2**20, "Mi"), (2**10, "Ki")):
        if unit == "B/s" and value >= scale:
            return f"{value / scale:.2f} {prefix}B/s"
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if unit != "B/s" and value >= scale:
            return f"{value / scale:.2f} {prefix}{unit}"
    return f"{value:.2f} {unit}"


def throughput(base: Result, peer: Result) -> tuple[float, float, str] | None:
    """(base value, peer value, unit) on the first metric both report; higher is better."""
    if base.bytes_per_second and peer.bytes_per_second:
        return base.bytes_per_second, peer.bytes_per_second, "B/s"
    if base.items_per_second and peer.items_per_second:
        return base.items_per_second, peer.items_per_second, "items/s"
    if base.seconds_per_iter and peer.seconds_per_iter:
        return 1.0 / base.seconds_per_iter, 1.0 / peer.seconds_per_iter, "iter/s"
    return None


@dataclass
class Pair:
    op: str
    args: str
    peer: str
    base_value: float | None
    peer_value: float | None
    unit: str
    ratio: float | None
    note: str = ""


def _args_key(args: str):
    """Sort numeric args numerically (8 < 64 < 4096), others as text."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in args.split("/")]


def pair_up(results: list[Result], base_impl: str) -> list[Pair]:
    groups: dict[tuple[str, str], dict[str, Result]] = {}
    for r in results:
        groups.setdefault((r.op, r.args), {})[r.impl] = r
    pairs: list[Pair] = []
    for (op, args) in sorted(groups, key=lambda k: (k[0], _args_key(k[1]))):
        impls = groups[(op, args)]
        base = impls.get(base_impl)
        for name in sorted(i for i in impls if i != base_impl):
            peer = impls[name]
            if base is None:
                pairs.append(Pair(op, args, name, None, None, "", None, f"no {base_impl} run"))
                continue
            if base.error or peer.error:
                note = f"error: {base.error or peer.error}"
                pairs.append(Pair(op, args, name, None, None, "", None, note))
                continue
            t = throughput(base, peer)
            if t is None:
                pairs.append(Pair(op, args, name, None, None, "", None, "no common metric"))
                continue
            b, p, unit = t
            pairs.append(Pair(op, args, name, b, p, unit, b / p if p else None))
    return pairs


def markdown(pairs: list[Pair], base_impl: str) -> str:
    lines = [
        f"| op | args | {base_impl} | peer | peer throughput | ratio ({base_impl}/peer) |",
        "|---|---|---:|---|---:|---:|",
    ]
    for p in pairs:
        bv = human(p.base_value, p.unit) if p.base_value is not None else "-"
        pv = human(p.peer_value, p.unit) if p.peer_value is not None else "-"
        ratio = f"{p.ratio:.2f}x" if p.ratio is not None else (p.note or "-")
        lines.append(f"| {p.op} | {p.args or '-'} | {bv} | {p.peer} | {pv} | {ratio} |")
    return "\n".join(lines)


@dataclass
class Target:
    spec: str
    op: str
    peer: str
    args: str
    ratio: float


def parse_target(spec: str) -> Target:
    left, sep, value = spec.rpartition("=")
    parts = left.split(":", 2)
    if not sep or len(parts) != 3:
        raise argparse.ArgumentTypeError(f"target {spec!r} is not OP:PEER:ARGS=RATIO")
    try:
        ratio = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"target {spec!r}: ratio {value!r} is not a number") from exc
    return Target(spec, parts[0].removeprefix("BM_"), parts[1], parts[2], ratio)


def check_targets(pairs: list[Pair], targets: list[Target], base_impl: str) -> tuple[str, bool]:
    lines = [
        f"| target | op | args | peer | required | measured ({base_impl}/peer) | result |",
        "|---|---|---|---|---:|---:|---|",
    ]
    all_met = True
    for t in targets:
        matched = [
            p
            for p in pairs
            if fnmatch.fnmatchcase(p.op, t.op)
            and fnmatch.fnmatchcase(p.peer, t.peer)
            and fnmatch.fnmatchcase(p.args, t.args)
        ]
        if not matched:
            all_met = False
            lines.append(f"| `{t.spec}` | {t.op} | {t.args} | {t.peer} | {t.ratio:.2f}x | - | no data |")
            continue
        for p in matched:
            if p.ratio is None:
                all_met = False
                lines.append(
                    f"| `{t.spec}` | {p.op} | {p.args} | {p.peer} | {t.ratio:.2f}x | - | no data |"
                )
                continue
            met = p.ratio >= t.ratio
            all_met &= met
            lines.append(
                f"| `{t.spec}` | {p.op} | {p.args} | {p.peer} | {t.ratio:.2f}x | {p.ratio:.2f}x | "
                f"{'met' if met else 'NOT met'} |"
            )
    return "\n".join(lines), all_met


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Example: bench_ratios.py r.json --target 'bytes_spsc:boost_spsc:8=1.5'",
    )
    ap.add_argument("json", help="Google Benchmark JSON output (--benchmark_out_format=json)")
    ap.add_argument("--base", default="ringkit", help="implementation compared against (ringkit)")
    ap.add_argument("--stat", default="median", help="aggregate to use: median (default), mean, ...")
    ap.add_argument(
        "--target", action="append", default=[], type=parse_target, metavar="OP:PEER:ARGS=RATIO"
    )
    ap.add_argument(
        "--targets", action="append", default=[], metavar="SPEC[,SPEC...]",
        help="several --target specs separated by commas",
    )
    ap.add_argument("--strict", action="store_true", help="exit 2 if any target is not met")
    opts = ap.parse_args(argv)

    targets = list(opts.target)
    for group in opts.targets:
        try:
            targets += [parse_target(s.strip()) for s in group.split(",") if s.strip()]
        except argparse.ArgumentTypeError as exc:
            ap.error(str(exc))

    try:
        context, results = load(opts.json, opts.stat)
    except (OSError, json.JSONDecodeError) as exc:
        print(f"bench_ratios: cannot read {opts.json}: {exc}", file=sys.stderr)
        return 1
    if not results:
        print(f"bench_ratios: no BM_<op>/<impl>/<args> benchmarks in {opts.json}", file=sys.stderr)
        return 1

    reps = sorted({r.repetitions for r in results if r.repetitions})
    print(
        f"{opts.stat} of {'/'.join(map(str, reps)) or '?'} repetitions; "
        f"host {context.get('host_name', '?')}, {context.get('num_cpus', '?')} CPUs, "
        f"{context.get('date', '?')}"
    )
    print()
    pairs = pair_up(results, opts.base)
    print(markdown(pairs, opts.base))
    if targets:
        table, all_met = check_targets(pairs, targets, opts.base)
        print()
        print(table)
        if opts.strict and not all_met:
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
