#!/usr/bin/env python3
"""Prints the demo's result table from ringkit-load RESULT lines; exit 1 if any row has errors."""
import sys


def main() -> int:
    rows = []
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            if line.startswith("RESULT "):
                rows.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
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


if __name__ == "__main__":
    sys.exit(main())
