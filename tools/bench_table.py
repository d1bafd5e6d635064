#!/usr/bin/env python3
"""Generate the README's benchmark table from the committed results.

The rows are described in bench/table.json (which benchmark, which result file, which pair of
implementations, the target); the figures come only from the JSON files under bench/results/:
Google Benchmark reports (medians of interleaved repetitions, paired by tools/bench_ratios.py)
and the rounds of tools/bench_proxy.py and tools/bench_feed.py. The table is written between the markers
  <!-- bench-table:begin --> ... <!-- bench-table:end -->
of README.md.

  tools/bench_table.py            print the table
  tools/bench_table.py --write    rewrite README.md's table
  tools/bench_table.py --check    exit 1 if README.md's table differs from the JSON (a ctest)
  tools/bench_table.py --chart F  also draw the ratios as a chart (SVG or PNG by F's suffix;
                                  needs matplotlib: Debian's python3-matplotlib)

Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_ratios  # noqa: E402  (same directory)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- bench-table:begin -->"
END = "<!-- bench-table:end -->"


def met(row: dict, ratio: float) -> bool:
    """A target is a lower bound on ringkit / peer, or an upper bound for costs ("upper")."""
    return ratio <= row["target"] if row.get("upper") else ratio >= row["target"]


def fmt_ratio(r: float) -> str:
    return f"{r:.2f}x"


def gbench_row(row: dict, files: dict, cache: dict) -> tuple[str, float | None, str]:
    """(ringkit figure, ratio, note) for a Google Benchmark pair."""
    path = files[row["suite"]]
    if path not in cache:
        cache[path] = bench_ratios.load(os.path.join(ROOT, path), "median")[1]
    results = cache[path]
    pairs = bench_ratios.pair_up(results, row.get("base", "ringkit"))
    for p in pairs:
        if p.op == row["op"] and p.args == str(row["args"]) and p.peer == row["peer"]:
            if p.ratio is None:
                return "-", None, p.note
            return bench_ratios.human(p.base_value, p.unit), p.ratio, ""
    return "-", None, f"no {row['op']}/{row['args']} pair with {row['peer']} in {path}"


def proxy_row(row: dict, files: dict, cache: dict) -> tuple[str, float | None, str]:
    """(ringkit figure, ratio, note) for a proxy workload: medians over rounds of msgs/s."""
    path = files[row["suite"]]
    if path not in cache:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            data = json.load(f)
        # bench_proxy.py writes a list of runs, bench_feed.py {"config", "runs", "medians"}.
        cache[path] = data["runs"] if isinstance(data, dict) else data
    runs = [r for r in cache[path] if r.get("workload") == row.get("workload_key", row["workload"])
            and ("threads" not in row or r.get("threads") == row["threads"])]

    def med(label: str, key: str) -> float | None:
        vals = [r[key] for r in runs if r.get("label") == label and r.get(key) is not None]
        return statistics.median(vals) if vals else None

    metric = row.get("metric", "msgs_per_s")
    if metric != "msgs_per_s":
        # A cost (CPU-s per million messages, RSS per connection): lower is better, so the
        # ratio is ringkit / peer and the target an upper bound ("<= x").
        base, peer = med(row["base"], metric), med(row["peer"], metric)
        if base is None or not peer:
            return "-", None, f"no {row['workload']} {metric} for {row['base']} / {row['peer']}"
        unit = {"cpu_s_per_mmsg": "CPU-s per M msgs", "cpu_ns_per_msg": "ns CPU per msg",
                "rss_per_conn": "B RSS per conn",
                "rss_after_per_conn": "B RSS per conn after"}.get(metric, metric)
        if metric == "p99_us":
            return f"p99 {base / 1000:.1f} ms vs {peer / 1000:.1f} ms", base / peer, ""
        if metric.startswith("rss"):
            return f"{base / 1024:.1f} KiB vs {peer / 1024:.1f} KiB", base / peer, ""
        return f"{base:.1f} vs {peer:.1f} {unit}", base / peer, ""
    base, peer = med(row["base"], "msgs_per_s"), med(row["peer"], "msgs_per_s")
    if not base or not peer:
        return "-", None, f"no {row['workload']} rounds for {row['base']} / {row['peer']}"
    fig = f"{base / 1000:.1f} k msg/s"
    if row.get("p99"):
        bp, pp = med(row["base"], "p99_us"), med(row["peer"], "p99_us")
        fig += f", p99 {bp / 1000:.1f} ms vs {pp / 1000:.1f} ms"
    return fig, base / peer, ""


def evaluate(spec: dict) -> list[tuple[dict, str, float | None, str]]:
    files = spec["results"]
    cache: dict = {}
    out = []
    for row in spec["rows"]:
        kind = row.get("kind", "gbench")
        out.append((row, *(proxy_row if kind == "proxy" else gbench_row)(row, files, cache)))
    return out


def chart(spec: dict, path: str) -> None:
    import matplotlib  # noqa: PLC0415  (optional dependency, only for --chart)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    rows = [(r, ratio) for r, _, ratio, _ in evaluate(spec) if ratio is not None]
    labels = [f"{r['benchmark'].replace('`', '')[:46]} | {r['workload']} vs {r['peer_label'][:28]}"
              for r, _ in rows]
    ratios = [ratio for _, ratio in rows]
    colors = []
    for r, ratio in rows:
        t = r.get("target")
        colors.append("#999999" if t is None else ("#2a9d4a" if met(r, ratio) else "#d1495b"))
    fig, ax = plt.subplots(figsize=(11, 0.28 * len(rows) + 1.2))
    y = list(range(len(rows)))
    ax.barh(y, ratios, color=colors)
    for i, (r, _) in enumerate(rows):
        if r.get("target") is not None:
            ax.plot([r["target"], r["target"]], [i - 0.4, i + 0.4], color="black", lw=1.2)
    ax.axvline(1.0, color="black", lw=0.6, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("ringkit / peer (log scale; black tick = target; green met, red not met, grey report)")
    ax.set_title("ringkit against its peers (medians of interleaved repetitions)")
    fig.tight_layout()
    fig.savefig(path)


def render(spec: dict) -> str:
    files = spec["results"]
    lines = [
        "| Benchmark | Workload | ringkit | Peer | Ratio | Target |",
        "|---|---|---:|---|---:|---|",
    ]
    last = None
    for row, fig, ratio, note in evaluate(spec):
        target = row.get("target")
        if ratio is None:
            verdict = f"no data ({note})"
        elif target is None:
            verdict = "report"
        else:
            bound = "≤" if row.get("upper") else "≥"
            verdict = f"{bound} {target}x " + ("met" if met(row, ratio) else "**not met**")
        name = row["benchmark"] if row["benchmark"] != last else ""
        last = row["benchmark"]
        ratio_s = fmt_ratio(ratio) if ratio is not None else "-"
        lines.append(
            f"| {name} | {row['workload']} | {fig} | {row['peer_label']} | {ratio_s} | {verdict} |"
        )
    sources = ", ".join(f"`{p}`" for p in sorted(set(files.values())))
    lines.append("")
    lines.append(f"Generated by `tools/bench_table.py` from {sources}.")
    return "\n".join(lines)


def splice(readme: str, table: str) -> str:
    a, b = readme.find(BEGIN), readme.find(END)
    if a < 0 or b < a:
        raise SystemExit(f"bench_table: README.md has no {BEGIN} ... {END} block")
    return readme[: a + len(BEGIN)] + "\n" + table + "\n" + readme[b:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default=os.path.join(ROOT, "bench", "table.json"))
    ap.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--write", action="store_true", help="rewrite the README's table")
    g.add_argument("--check", action="store_true", help="fail if the README's table is stale")
    ap.add_argument("--chart", metavar="FILE", help="also draw the ratios (.svg or .png)")
    opts = ap.parse_args(argv)
    with open(opts.spec, encoding="utf-8") as f:
        spec = json.load(f)
    table = render(spec)
    if opts.chart:
        try:
            chart(spec, opts.chart)
        except ImportError:
            print("bench_table: --chart needs matplotlib (apt-get install python3-matplotlib)",
                  file=sys.stderr)
            return 1
    if not (opts.write or opts.check):
        print(table)
        return 0
    with open(opts.readme, encoding="utf-8") as f:
        readme = f.read()
    updated = splice(readme, table)
    if opts.check:
        if updated != readme:
            print("bench_table: README.md's benchmark table differs from bench/results "
                  "(run tools/bench_table.py --write)", file=sys.stderr)
            return 1
        print("bench_table: README.md's benchmark table matches bench/results")
        return 0
    with open(opts.readme, "w", encoding="utf-8") as f:
        f.write(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
