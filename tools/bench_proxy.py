#!/usr/bin/env python3
"""Proxy benchmark: alternating rounds of ringkit-load through every proxy, medians and ratios.

Starts ringkit-echo (the upstream every proxy shares; --echo-threads, default 1: on two
shared cores a second echo worker cost about 40% more CPU per 4 KiB message, CPU the proxies
under test then lack), then for each proxy thread count (--threads,
default 1 and 2) ringkit-proxy with the io_uring and the Asio backend and haproxy (mode tcp,
nbthread = the same count) when installed, and runs ringkit-load (every byte verified) against
each target in alternating order, for each workload, ROUNDS times. Per run it also measures the
proxy process from outside: CPU seconds per million messages (utime + stime from /proc), the
RSS growth per connection while the load runs (`rss/conn`, the 9000x64B row: RSS per mostly
idle connection) and after it (`rss after/conn`, the bulk 1000x16KiB row: what stays resident).
The `short` row is a connection rate: each message is its own connection (connect, 64 B
request and echo, close; ringkit-load --reconnect). The `9000idle` row holds 9,000 connections
that never send (`rss/conn`: RSS per idle connection), then sends one verified 64 B message on
each and lets them go quiet (`rss after/conn`). Prints a Markdown table of medians with the
ratio to haproxy at the same thread count, and writes it (and the raw runs as JSON) under
bench/results/. Every process is stopped by PID at the end.

usage: tools/bench_proxy.py BIN_DIR [--rounds N] [--duration DUR] [--threads 1,2]
                            [--echo-threads N]
                            [--workloads NAME,...] [--out PREFIX]
"""
import argparse
import json
import math
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (cpu_seconds, find_tool, free_port, raise_nofile,  # noqa: E402
                          rss_bytes, wait_port)

WORKLOADS = [
    ("64x4KiB", dict(conns=64, size="4KiB", depth=1)),
    ("8x64KiB", dict(conns=8, size="64KiB", depth=1)),
    ("256x64B", dict(conns=256, size="64", depth=1)),
    ("9000x64B", dict(conns=9000, size="64", depth=1, threads=2)),
    # settle: RSS "after" is read this long after the load ends (the ring pool gives idle
    # rings' pages back once a second).
    ("1000x16KiB", dict(conns=1000, size="16KiB", depth=1, threads=2, settle=2.5)),
    ("short", dict(conns=16, size="64", depth=1, reconnect=True)),
    # idle: connections that connect and never send (RSS per idle connection), then send one
    # verified 64 B message each and go quiet again (RSS after a message, once rings are parked).
    ("9000idle", dict(conns=9000, size="64", idle=True, settle=2.5)),
]


def idle_run(port, n, pid, settle, label):
    """Holds n idle connections through the target, then one verified 64 B echo on each.

    Returns a result dict shaped like ringkit-load's JSON plus the RSS samples."""
    rss0 = rss_bytes(pid)
    socks = []
    errors = 0
    try:
        for _ in range(n):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        time.sleep(1.0)  # the target accepts them all (and connects its upstream side)
        rss_idle = rss_bytes(pid)
        t0 = time.time()
        for i, s in enumerate(socks):
            msg = (i.to_bytes(8, "little") * 8)
            try:
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    part = s.recv(len(msg) - len(got))
                    if not part:
                        break
                    got += part
                errors += got != msg
            except OSError:
                errors += 1
        seconds = time.time() - t0
        time.sleep(settle)  # quiet again: rings parked, then trimmed by the pool
        rss_quiet = rss_bytes(pid)
    finally:
        for s in socks:
            s.close()
    if len(socks) < n:
        errors += n - len(socks)
    return {"label": label, "errors": errors, "msgs": n, "msgs_per_s": n / seconds,
            "mb_per_s": n * 64 / seconds / 1e6, "p50_us": float("nan"), "p99_us": float("nan"),
            "p999_us": float("nan"), "rss0": rss0, "rss_idle": rss_idle, "rss_quiet": rss_quiet}

def start_listening(cmd, log):
    """Starts a ringkit tool with --listen 127.0.0.1:0 and returns (proc, port)."""
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(log.name, encoding="utf-8", errors="replace") as f:
            m = re.search(r"listening on \S+:(\d+)", f.read())
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"{cmd[0]} did not start")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", default="5s")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--workloads", default="")
    ap.add_argument("--out", default="")
    ap.add_argument("--echo-threads", type=int, default=1,
                    help="ringkit-echo workers (the upstream every proxy shares; default 1)")
    ap.add_argument("--proxy-args", default="",
                    help="extra ringkit-proxy options, e.g. '--ring-size 16KiB'")
    args = ap.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",") if t]
    workloads = [w for w in WORKLOADS
                 if not args.workloads or w[0] in args.workloads.split(",")]
    # 9,000 connections through a proxy need ~18,000 descriptors in it (and 9,000 here).
    raise_nofile(20000)

    work = tempfile.mkdtemp(prefix="ringkit-bench-proxy.")
    procs = []

    def cleanup(*_):
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)

    signal.signal(signal.SIGINT, lambda *a: (cleanup(), sys.exit(130)))
    signal.signal(signal.SIGTERM, lambda *a: (cleanup(), sys.exit(143)))
    try:
        def log(name):
            return open(os.path.join(work, name + ".log"), "w+", encoding="utf-8")

        echo, echo_port = start_listening(
            [f"{args.bin}/ringkit-echo", "--listen", "127.0.0.1:0", "--threads",
             str(args.echo_threads)], log("echo"))
        procs.append(echo)
        runs = []
        all_targets = []
        for nthreads in thread_counts:
            group = []  # (name, port, proc) of this thread count
            if nthreads == thread_counts[0]:
                group.append(("direct", echo_port, echo))
            for backend in ("uring", "asio"):
                p, port = start_listening(
                    [f"{args.bin}/ringkit-proxy", "--listen", "127.0.0.1:0", "--upstream",
                     f"127.0.0.1:{echo_port}", "--backend", backend, "--threads", str(nthreads),
                     "--max-conns", "20000", *shlex.split(args.proxy_args)],
                    log(f"{backend}{nthreads}"))
                procs.append(p)
                group.append((f"ringkit-{backend}", port, p))
            haproxy = find_tool("haproxy")
            if haproxy:
                port = free_port()
                cfg = os.path.join(work, f"haproxy{nthreads}.cfg")
                with open(cfg, "w", encoding="utf-8") as f:
                    f.write(f"global\n  nbthread {nthreads}\n  maxconn 9500\ndefaults\n"
                            "  mode tcp\n  maxconn 9500\n  timeout connect 5s\n"
                            "  timeout client 30s\n  timeout server 30s\n"
                            f"listen bench\n  bind 127.0.0.1:{port}\n"
                            f"  server echo 127.0.0.1:{echo_port}\n")
                p = subprocess.Popen([haproxy, "-f", cfg, "-db"], stdout=log(f"haproxy{nthreads}"),
                                     stderr=subprocess.STDOUT)
                procs.append(p)
                if wait_port(port, p):
                    group.append(("haproxy", port, p))
                else:
                    print("haproxy failed to start; skipped", file=sys.stderr)
            else:
                print("haproxy not installed (tools/ringkit deps --peers); skipped",
                      file=sys.stderr)
            all_targets.append((nthreads, [g[0] for g in group]))
            for rnd in range(args.rounds):
                for wname, w in workloads:
                    # Alternate the order every round so drift in machine load hits all alike.
                    order = group if rnd % 2 == 0 else list(reversed(group))
                    for tname, port, proc in order:
                        if w.get("idle"):
                            cpu0 = cpu_seconds(proc.pid)
                            res = idle_run(port, w["conns"], proc.pid, w["settle"], tname)
                            res.update(workload=wname, round=rnd, threads=nthreads,
                                       echo_threads=args.echo_threads)
                            res["cpu_s_per_mmsg"] = (cpu_seconds(proc.pid) - cpu0) / w["conns"] * 1e6
                            res["rss_per_conn"] = (res["rss_idle"] - res["rss0"]) / w["conns"]
                            res["rss_after_per_conn"] = (res["rss_quiet"] - res["rss0"]) / w["conns"]
                            res["rss_total_per_conn"] = res["rss_idle"] / w["conns"]
                            res["rss_total_after_per_conn"] = res["rss_quiet"] / w["conns"]
                            runs.append(res)
                            print(f"t{nthreads} round {rnd + 1}/{args.rounds} {wname:10} "
                                  f"{tname:14} idle rss/conn {res['rss_per_conn'] / 1024:7.1f} KiB"
                                  f"  after a message {res['rss_after_per_conn'] / 1024:7.1f} KiB"
                                  f"  errors {res['errors']}", flush=True)
                            time.sleep(0.5)
                            continue
                        cmd = [f"{args.bin}/ringkit-load", "--target", f"127.0.0.1:{port}",
                               "--conns", str(w["conns"]), "--size", str(w["size"]), "--depth",
                               str(w["depth"]), "--duration", args.duration, "--label", tname,
                               "--threads", str(w.get("threads", 1)), "--json", "--quiet"]
                        if w.get("reconnect"):
                            cmd.append("--reconnect")
                        rss0, cpu0 = rss_bytes(proc.pid), cpu_seconds(proc.pid)
                        lp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                              text=True)
                        # Sample the RSS while every connection is open (load connects them
                        # all first, then runs for --duration).
                        peak = rss0
                        while lp.poll() is None:
                            time.sleep(0.25)
                            peak = max(peak, rss_bytes(proc.pid))
                        out, _err = lp.communicate()
                        time.sleep(w.get("settle", 0.3))  # let the proxy finish closing
                        rss1, cpu1 = rss_bytes(proc.pid), cpu_seconds(proc.pid)
                        try:
                            res = json.loads(out.strip().splitlines()[-1])
                        except (IndexError, json.JSONDecodeError):
                            res = {"label": tname, "errors": -1, "msgs_per_s": 0, "mb_per_s": 0,
                                   "p50_us": 0, "p99_us": 0, "p999_us": 0, "msgs": 0}
                        res["workload"] = wname
                        res["echo_threads"] = args.echo_threads
                        res["round"] = rnd
                        res["threads"] = nthreads
                        msgs = float(res.get("msgs", 0)) or float("nan")
                        res["cpu_s_per_mmsg"] = (cpu1 - cpu0) / msgs * 1e6
                        res["rss_per_conn"] = (peak - rss0) / w["conns"]
                        res["rss_after_per_conn"] = (rss1 - rss0) / w["conns"]
                        # Whole-process RSS per connection (haproxy allocates up front, so its
                        # growth alone says little).
                        res["rss_total_per_conn"] = peak / w["conns"]
                        res["rss_total_after_per_conn"] = rss1 / w["conns"]
                        runs.append(res)
                        print(f"t{nthreads} round {rnd + 1}/{args.rounds} {wname:10} {tname:14} "
                              f"{res['msgs_per_s']:>10.0f} msgs/s  p99 {res['p99_us']:>9.1f} us  "
                              f"cpu/Mmsg {res['cpu_s_per_mmsg']:7.2f} s  rss/conn "
                              f"{res['rss_per_conn'] / 1024:7.1f} KiB  errors {res['errors']}",
                              flush=True)
            for _name, _port, p in group:
                if p is not echo and p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    p.wait(timeout=15)
        if echo.poll() is not None:
            print("the echo server exited early", file=sys.stderr)
            runs.append({"errors": -1})
    finally:
        cleanup()

    lines = ["| threads | workload | target | msgs/s (median) | MB/s | p50 us | p99 us | "
             "p99.9 us | CPU-s/M msgs | RSS/conn KiB | RSS after/conn KiB | "
             "total RSS/conn KiB | total RSS after/conn KiB | errors | "
             "vs haproxy | p99 vs haproxy | CPU vs haproxy |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    errors = sum(1 for r in runs if int(r.get("errors", 0)) < 0)
    keys = ("msgs_per_s", "mb_per_s", "p50_us", "p99_us", "p999_us", "cpu_s_per_mmsg",
            "rss_per_conn", "rss_after_per_conn", "rss_total_per_conn", "rss_total_after_per_conn")
    for nthreads, names in all_targets:
        for wname, _ in workloads:
            med = {}
            for tname in names:
                rs = [r for r in runs if r.get("workload") == wname and r.get("label") == tname
                      and r.get("threads") == nthreads]
                if not rs:
                    continue
                med[tname] = {k: statistics.median(float(r.get(k, float("nan"))) for r in rs)
                              for k in keys}
                med[tname]["errors"] = sum(max(0, int(r["errors"])) for r in rs)
                errors += med[tname]["errors"]
            hap = med.get("haproxy", {})
            for tname, m in med.items():
                def ratio(k, m=m):
                    h = hap.get(k, 0)
                    ok = h and not math.isnan(h) and not math.isnan(m[k])
                    return f"{m[k] / h:.2f}x" if ok else "n/a"
                lines.append(
                    f"| {nthreads} | {wname} | {tname} | {m['msgs_per_s']:.0f} | "
                    f"{m['mb_per_s']:.1f} | {m['p50_us']:.0f} | {m['p99_us']:.0f} | "
                    f"{m['p999_us']:.0f} | {m['cpu_s_per_mmsg']:.2f} | "
                    f"{m['rss_per_conn'] / 1024:.1f} | {m['rss_after_per_conn'] / 1024:.1f} | "
                    f"{m['rss_total_per_conn'] / 1024:.1f} | "
                    f"{m['rss_total_after_per_conn'] / 1024:.1f} | "
                    f"{m['errors']} | {ratio('msgs_per_s')} | {ratio('p99_us')} | "
                    f"{ratio('cpu_s_per_mmsg')} |")
    table = "\n".join(lines)
    print()
    print(table)
    if args.out:
        with open(args.out + ".md", "w", encoding="utf-8") as f:
            f.write(f"rounds={args.rounds} duration={args.duration} threads={args.threads} "
                    f"echo_threads={args.echo_threads}\n\n{table}\n")
        with open(args.out + ".json", "w", encoding="utf-8") as f:
            json.dump(runs, f, indent=1)
        print(f"\nwritten: {args.out}.md {args.out}.json")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
