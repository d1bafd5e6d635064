#!/usr/bin/env python3
"""Pub/sub benchmark: alternating rounds of ringkit-feed-load against NATS-protocol servers.

Each --server is NAME=COMMAND, the command run through shlex with {port} replaced by a free
port, e.g.
  --server 'ringkit-feed=build/release/tools/ringkit-feed --listen 127.0.0.1:{port}'
  --server 'nats-server=/usr/sbin/nats-server -a 127.0.0.1 -p {port}'
Every round starts every server fresh (each on its own port, after the previous round's are
stopped), waits until each accepts connections, then runs each workload against each server in
turn, the order of the servers reversed every other round (ABAB.. / BA..) so drift in machine
load hits them alike; the round's servers are stopped at its end (by PID; also on an error and
on Ctrl-C). ringkit-feed-load verifies every delivered message; a run with errors, server
errors or a server that died counts as failed (exit status 1).

Per run the server process is measured from outside: its utime + stime from /proc/PID/stat
before and after, divided by the messages delivered (CPU ns per delivered message; a server's
threads are included, the load generator is not).

Workloads (--workloads NAME,...): PxSxSIZE is P publishers -> S subscribers of one subject;
8x8x64B is 8 publishers on 8 subjects with one subscriber each (--pubs 8 --subs 1 --subjects 8).
Prints a Markdown table of medians per server and workload with the ratios of the first server
to each other (msgs/s, p99, CPU/msg), and with --out PREFIX writes PREFIX.md and PREFIX.json
(config, every raw run, the medians).

usage: tools/bench_feed.py --server NAME=CMD --server NAME=CMD [--load PATH] [--rounds N]
                           [--duration DUR] [--workloads NAME,...] [--out PREFIX]
                           [--load-args '--window 1000 ...']
"""
import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import Processes, cpu_seconds, find_tool, free_port, wait_port  # noqa: E402

WORKLOADS = [
    ("1x1x64B", dict(pubs=1, subs=1, subjects=1, size="64")),
    ("1x8x64B", dict(pubs=1, subs=8, subjects=1, size="64")),
    ("1x64x64B", dict(pubs=1, subs=64, subjects=1, size="64")),
    ("1x1x1KiB", dict(pubs=1, subs=1, subjects=1, size="1KiB")),
    ("1x8x1KiB", dict(pubs=1, subs=8, subjects=1, size="1KiB")),
    ("1x64x1KiB", dict(pubs=1, subs=64, subjects=1, size="1KiB")),
    ("8x8x64B", dict(pubs=8, subs=1, subjects=8, size="64")),
]
KEYS = ("msgs_per_s", "mb_per_s", "p50_us", "p99_us", "p999_us", "cpu_ns_per_msg")


def parse_servers(specs):
    servers = []
    for spec in specs:
        name, sep, cmd = spec.partition("=")
        if not sep or not name or not cmd.strip():
            sys.exit(f"bench_feed: --server wants NAME=COMMAND, got '{spec}'")
        if "{port}" not in cmd:
            sys.exit(f"bench_feed: the command of {name} has no {{port}}")
        if name in (s[0] for s in servers):
            sys.exit(f"bench_feed: server name {name} given twice")
        servers.append((name, cmd))
    return servers


def duration_seconds(text):
    """'3s', '500ms', '2m' or a bare number of seconds."""
    for suffix, mul in (("ms", 1e-3), ("us", 1e-6), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * mul
    return float(text)


def run_load(procs, load, port, name, wname, w, args, server):
    cmd = [load, "--target", f"127.0.0.1:{port}", "--pubs", str(w["pubs"]), "--subs",
           str(w["subs"]), "--subjects", str(w["subjects"]), "--size", w["size"], "--duration",
           args.duration, "--label", name, "--json", "--quiet"] + shlex.split(args.load_args)
    cpu0 = cpu_seconds(server.pid)
    lp = procs.start(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = lp.communicate(timeout=duration_seconds(args.duration) + 60)
        rc = lp.returncode
    except subprocess.TimeoutExpired:
        procs.stop_one(lp)
        out, err, rc = "", "ringkit-feed-load timed out", -1
    if lp in procs.procs:
        procs.procs.remove(lp)
    cpu1 = cpu_seconds(server.pid)
    try:
        res = json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        res = {"label": name, "errors": -1, "server_errors": 0, "delivered": 0}
        res.update({k: float("nan") for k in KEYS})
    res["workload"] = wname
    res["exit_status"] = rc
    res["stderr"] = err.strip()[-2000:]
    delivered = float(res.get("delivered", 0)) or float("nan")
    res["server_cpu_s"] = cpu1 - cpu0
    res["cpu_ns_per_msg"] = (cpu1 - cpu0) / delivered * 1e9
    if server.poll() is not None:
        res["server_died"] = True
        res["stderr"] += f"\n{name} exited with status {server.returncode}"
    res["failed"] = (rc != 0 or int(res.get("errors", 0)) != 0
                     or int(res.get("server_errors", 0)) != 0 or res.get("server_died", False))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--server", action="append", default=[], metavar="NAME=CMD",
                    help="a server command with {port}; the first is the base of the ratios")
    ap.add_argument("--load", default="", help="ringkit-feed-load (default: on PATH)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", default="3s")
    ap.add_argument("--workloads", default="", help="comma-separated names (default all)")
    ap.add_argument("--load-args", default="", help="extra ringkit-feed-load arguments")
    ap.add_argument("--out", default="", help="write PREFIX.md and PREFIX.json")
    args = ap.parse_args()
    servers = parse_servers(args.server)
    if not servers:
        ap.error("at least one --server NAME=CMD is needed")
    load = args.load or find_tool("ringkit-feed-load")
    if not load or not os.access(load, os.X_OK):
        ap.error("ringkit-feed-load not found: give --load PATH")
    names = [w[0] for w in WORKLOADS]
    chosen = [n for n in args.workloads.split(",") if n]
    for n in chosen:
        if n not in names:
            ap.error(f"unknown workload {n} (have {','.join(names)})")
    workloads = [w for w in WORKLOADS if not chosen or w[0] in chosen]

    work = tempfile.mkdtemp(prefix="ringkit-bench-feed.")
    procs = Processes(on_exit=lambda: shutil.rmtree(work, ignore_errors=True))
    procs.install_signals()
    runs = []
    started_ok = True
    try:
        for rnd in range(args.rounds):
            live = []  # (name, port, proc) of this round
            for name, cmd in servers:
                port = free_port()
                argv = shlex.split(cmd.replace("{port}", str(port)))
                log = open(os.path.join(work, f"{name}.{rnd}.log"), "w+", encoding="utf-8")
                p = procs.start(argv, stdout=log, stderr=subprocess.STDOUT)
                if not wait_port(port, p, timeout=10):
                    log.seek(0)
                    print(f"{name} did not start listening on {port}:\n{log.read()[-2000:]}",
                          file=sys.stderr)
                    started_ok = False
                    break
                live.append((name, port, p))
            if not started_ok:
                break
            time.sleep(0.2)  # let the servers settle after start-up
            for wname, w in workloads:
                order = live if rnd % 2 == 0 else list(reversed(live))
                for name, port, p in order:
                    res = run_load(procs, load, port, name, wname, w, args, p)
                    res["round"] = rnd
                    runs.append(res)
                    print(f"round {rnd + 1}/{args.rounds} {wname:10} {name:14} "
                          f"{res['msgs_per_s']:>11.0f} msgs/s  p99 {res['p99_us']:>9.1f} us  "
                          f"cpu {res['cpu_ns_per_msg']:7.1f} ns/msg  errors {res['errors']}"
                          f"{'  FAILED' if res['failed'] else ''}", flush=True)
                    if res["failed"] and res["stderr"]:
                        print("  " + res["stderr"].replace("\n", "\n  "), file=sys.stderr)
            for _name, _port, p in live:
                procs.stop_one(p)
    finally:
        procs.stop()

    base = servers[0][0]
    medians = {}
    lines = [f"| workload | server | msgs/s | MB/s | p50 us | p99 us | p99.9 us | "
             f"server CPU ns/msg | runs | failed | msgs/s {base}/this | p99 {base}/this | "
             f"CPU/msg {base}/this |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for wname, _ in workloads:
        med = {}
        for name, _cmd in servers:
            rs = [r for r in runs if r["workload"] == wname and r["label"] == name]
            if not rs:
                continue
            good = [r for r in rs if not r["failed"]] or rs
            med[name] = {k: statistics.median(float(r.get(k, float("nan"))) for r in good)
                         for k in KEYS}
            med[name]["runs"] = len(rs)
            med[name]["failed"] = sum(1 for r in rs if r["failed"])
        medians[wname] = med
        b = med.get(base, {})
        for name, m in med.items():
            def ratio(k, m=m):
                if name == base or not b or not m[k] or m[k] != m[k] or b[k] != b[k]:
                    return "-"
                return f"{b[k] / m[k]:.2f}x"
            lines.append(f"| {wname} | {name} | {m['msgs_per_s']:.0f} | {m['mb_per_s']:.1f} | "
                         f"{m['p50_us']:.0f} | {m['p99_us']:.0f} | {m['p999_us']:.0f} | "
                         f"{m['cpu_ns_per_msg']:.1f} | {m['runs']} | {m['failed']} | "
                         f"{ratio('msgs_per_s')} | {ratio('p99_us')} | "
                         f"{ratio('cpu_ns_per_msg')} |")
    table = "\n".join(lines)
    print()
    print(table)
    failed = sum(1 for r in runs if r["failed"]) + (0 if started_ok else 1)
    if args.out:
        config = {"servers": dict(servers), "rounds": args.rounds, "duration": args.duration,
                  "workloads": [w[0] for w in workloads], "load": load,
                  "load_args": args.load_args, "nproc": os.cpu_count(),
                  "loadavg": os.getloadavg()}
        with open(args.out + ".md", "w", encoding="utf-8") as f:
            f.write(f"rounds={args.rounds} duration={args.duration} "
                    f"load_args='{args.load_args}' servers: "
                    + ", ".join(f"{n}=`{c}`" for n, c in servers) + f"\n\n{table}\n")
        with open(args.out + ".json", "w", encoding="utf-8") as f:
            json.dump({"config": config, "runs": runs, "medians": medians}, f, indent=1)
        print(f"\nwritten: {args.out}.md {args.out}.json")
    if failed:
        print(f"{failed} failed run(s)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
