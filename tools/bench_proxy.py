#!/usr/bin/env python3
"""Proxy benchmark: alternating rounds of ringkit-load through every proxy, medians and ratios.

Starts ringkit-echo (the upstream), ringkit-proxy with the io_uring and the Asio backend,
haproxy (mode tcp, nbthread 2) and socat when installed, then runs ringkit-load (every byte
verified) against each target in alternating order, for each workload, ROUNDS times. Prints a
Markdown table of medians with the ratio to haproxy, and writes it (and the raw runs as JSON)
under bench/results/. Every process is stopped by PID at the end.

usage: tools/bench_proxy.py BIN_DIR [--rounds N] [--duration DUR] [--out PREFIX]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

WORKLOADS = [
    ("64x4KiB", dict(conns=64, size="4KiB", depth=1)),
    ("8x64KiB", dict(conns=8, size="64KiB", depth=1)),
    ("256x64B", dict(conns=256, size="64", depth=1)),
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start_listening(cmd, log):
    """Starts a ringkit tool with --listen 127.0.0.1:0 and returns (proc, port)."""
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(log.name, encoding="utf-8", errors="replace") as f:
            m = re.search(r"listening on [0-9.]+:(\d+)", f.read())
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
    ap.add_argument("--out", default="")
    args = ap.parse_args()

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
            [f"{args.bin}/ringkit-echo", "--listen", "127.0.0.1:0", "--threads", "2"], log("echo"))
        procs.append(echo)
        targets = [("direct", echo_port)]
        for backend in ("uring", "asio"):
            p, port = start_listening(
                [f"{args.bin}/ringkit-proxy", "--listen", "127.0.0.1:0", "--upstream",
                 f"127.0.0.1:{echo_port}", "--backend", backend, "--threads", "2"], log(backend))
            procs.append(p)
            targets.append((f"ringkit-{backend}", port))
        if shutil.which("haproxy"):
            port = free_port()
            cfg = os.path.join(work, "haproxy.cfg")
            with open(cfg, "w", encoding="utf-8") as f:
                f.write("global\n  nbthread 2\n  maxconn 8000\ndefaults\n  mode tcp\n"
                        "  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n"
                        f"listen bench\n  bind 127.0.0.1:{port}\n"
                        f"  server echo 127.0.0.1:{echo_port}\n")
            p = subprocess.Popen(["haproxy", "-f", cfg, "-db"], stdout=log("haproxy"),
                                 stderr=subprocess.STDOUT)
            procs.append(p)
            if wait_port(port, p):
                targets.append(("haproxy", port))
            else:
                print("haproxy failed to start; skipped", file=sys.stderr)
        else:
            print("haproxy not installed (tools/ringkit deps --peers); skipped", file=sys.stderr)
        if shutil.which("socat"):
            port = free_port()
            p = subprocess.Popen(["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,nodelay",
                                  f"TCP:127.0.0.1:{echo_port},nodelay"], stdout=log("socat"),
                                 stderr=subprocess.STDOUT)
            procs.append(p)
            if wait_port(port, p):
                targets.append(("socat", port))
        else:
            print("socat not installed (tools/ringkit deps --peers); skipped", file=sys.stderr)

        runs = []
        for rnd in range(args.rounds):
            for wname, w in WORKLOADS:
                # Alternate the order every round so drift in machine load hits everyone alike.
                order = targets if rnd % 2 == 0 else list(reversed(targets))
                for tname, port in order:
                    cmd = [f"{args.bin}/ringkit-load", "--target", f"127.0.0.1:{port}",
                           "--conns", str(w["conns"]), "--size", str(w["size"]), "--depth",
                           str(w["depth"]), "--duration", args.duration, "--label", tname,
                           "--json", "--quiet"]
                    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
                    try:
                        res = json.loads(r.stdout.strip().splitlines()[-1])
                    except (IndexError, json.JSONDecodeError):
                        res = {"label": tname, "errors": -1, "msgs_per_s": 0, "mb_per_s": 0,
                               "p50_us": 0, "p99_us": 0, "p999_us": 0}
                    res["workload"] = wname
                    res["round"] = rnd
                    runs.append(res)
                    print(f"round {rnd + 1}/{args.rounds} {wname:8} {tname:14} "
                          f"{res['msgs_per_s']:>10.0f} msgs/s  p99 {res['p99_us']:>8.1f} us  "
                          f"errors {res['errors']}", flush=True)
        for p in procs:
            if p.poll() is not None:
                print(f"a server exited early: {p.args[0]}", file=sys.stderr)
                runs.append({"errors": -1})
    finally:
        cleanup()

    lines = ["| workload | target | msgs/s (median) | MB/s | p50 us | p99 us | p99.9 us | "
             "errors | vs haproxy | vs direct |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    errors = 0
    for wname, _ in WORKLOADS:
        med = {}
        for tname, _port in targets:
            rs = [r for r in runs if r.get("workload") == wname and r.get("label") == tname]
            if not rs:
                continue
            med[tname] = {k: statistics.median(float(r[k]) for r in rs)
                          for k in ("msgs_per_s", "mb_per_s", "p50_us", "p99_us", "p999_us")}
            med[tname]["errors"] = sum(int(r["errors"]) for r in rs)
            errors += max(0, med[tname]["errors"]) + (1 if any(int(r["errors"]) < 0 for r in rs) else 0)
        for tname, m in med.items():
            hap = med.get("haproxy", {}).get("msgs_per_s", 0)
            dirc = med.get("direct", {}).get("msgs_per_s", 0)
            lines.append(
                f"| {wname} | {tname} | {m['msgs_per_s']:.0f} | {m['mb_per_s']:.1f} | "
                f"{m['p50_us']:.0f} | {m['p99_us']:.0f} | {m['p999_us']:.0f} | {m['errors']} | "
                f"{m['msgs_per_s'] / hap if hap else float('nan'):.2f}x | "
                f"{m['msgs_per_s'] / dirc if dirc else float('nan'):.2f}x |")
    table = "\n".join(lines)
    print()
    print(table)
    if args.out:
        with open(args.out + ".md", "w", encoding="utf-8") as f:
            f.write(f"rounds={args.rounds} duration={args.duration}\n\n{table}\n")
        with open(args.out + ".json", "w", encoding="utf-8") as f:
            json.dump(runs, f, indent=1)
        print(f"\nwritten: {args.out}.md {args.out}.json")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
