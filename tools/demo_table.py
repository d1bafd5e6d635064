#!/usr/bin/env python3
"""Prints a demo's result table from RESULT lines; exit 1 if any row has errors.

  demo_table.py RESULTS          ringkit-load rows (the echo-proxy demo)
  demo_table.py --feed RESULTS   ringkit-feed-load rows (the fan-out demo), labels SERVER/LOAD
"""
import sys


def read_rows(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("RESULT "):
                rows.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
    return rows


def echo_table(rows) -> int:
    hdr = ("backend", "MB/s", "msgs/s", "p50 us", "p99 us", "p99.9 us", "bytes verified", "errors")
    fmt = "{:<16} {:>9} {:>10} {:>9} {:>9} {:>9} {:>15} {:>7}"
    print(fmt.format(*hdr))
    bad = not rows
    for r in rows:
        print(fmt.format(r["label"], r["mb_per_s"], r["msgs_per_s"], r["p50_us"], r["p99_us"],
                         r["p999_us"], r["bytes_verified"], r["errors"]))
        bad |= r["errors"] != "0" or r["msgs"] == "0"
    direct = next((r for r in rows if r["label"] == "direct"), None)
    if direct and float(direct["msgs_per_s"]) > 0:
        for r in rows:
            if r is not direct:
                ratio = float(r["msgs_per_s"]) / float(direct["msgs_per_s"])
                print(f"  {r['label']} / direct = {ratio:.2f}x msgs/s")
    return 1 if bad else 0


def feed_table(rows) -> int:
    hdr = ("server", "load", "delivered/s", "MB/s", "p50 us", "p99 us", "p99.9 us", "delivered",
           "errors")
    fmt = "{:<13} {:<10} {:>12} {:>8} {:>9} {:>9} {:>9} {:>11} {:>6}"
    print(fmt.format(*hdr))
    bad = not rows
    by = {}
    for r in rows:
        server, _, load = r["label"].partition("/")
        errors = int(r["errors"]) + int(r.get("server_errors", "0"))
        print(fmt.format(server, load, r["msgs_per_s"], r["mb_per_s"], r["p50_us"], r["p99_us"],
                         r["p999_us"], r["delivered"], errors))
        bad |= errors != 0 or r["delivered"] == "0"
        by.setdefault(load, {})[server] = r
    for load, servers in by.items():
        ours, peer = servers.get("ringkit-feed"), servers.get("nats-server")
        if ours and peer and float(peer["msgs_per_s"]) > 0:
            tput = float(ours["msgs_per_s"]) / float(peer["msgs_per_s"])
            p99 = float(ours["p99_us"]) / max(float(peer["p99_us"]), 1e-9)
            print(f"  {load}: ringkit-feed / nats-server = {tput:.2f}x delivered msgs/s, "
                  f"p99 {p99:.2f}x")
    return 1 if bad else 0


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--feed":
        return feed_table(read_rows(sys.argv[2]))
    return echo_table(read_rows(sys.argv[1]))


if __name__ == "__main__":
    sys.exit(main())
