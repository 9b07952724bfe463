#!/usr/bin/env python3
"""Prints the peer table of BENCHMARKS.md from criterion's results.

Usage (from benches/peers, after `cargo bench --ignore-rust-version --features corpus`):

    python3 report.py [CRITERION_DIR]

CRITERION_DIR defaults to target/criterion. Python 3 standard library only.
For each benchmark (group = case, function = engine) it reads
`new/benchmark.json` (events and bytes per iteration) and
`new/estimates.json` (median ns per iteration and its 95% confidence
interval) and prints median ns/event, events/s, MB/s and the time per event
of each engine over detect's in the same group ("÷ detect": above 1, detect
is that many times faster; below 1, the peer is faster).
"""

import json
import sys
from pathlib import Path

ORDER = ["detect", "rsigma", "sigma-rust", "tau-engine"]


def main():
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("target/criterion")
    rows = {}
    for bench in root.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        tp = meta["throughput"]["ElementsAndBytes"]
        events, nbytes = tp["elements"], tp["bytes"]
        med = est["median"]
        ns = med["point_estimate"]
        rows.setdefault(meta["group_id"], {})[meta["function_id"]] = {
            "events": events,
            "ns": ns / events,
            "lo": med["confidence_interval"]["lower_bound"] / events,
            "hi": med["confidence_interval"]["upper_bound"] / events,
            "eps": events / (ns * 1e-9),
            "mbs": nbytes / (ns * 1e-9) / 1e6,
        }
    if not rows:
        sys.exit(f"no criterion results under {root}")
    print("| case | engine | events/iter | median ns/event (95% CI) | events/s | MB/s | ÷ detect |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for group in sorted(rows, key=lambda g: (g.startswith("parse+"), g.replace("parse+", ""))):
        engines = rows[group]
        base = engines.get("detect")
        for name in sorted(engines, key=lambda n: ORDER.index(n) if n in ORDER else 99):
            r = engines[name]
            ratio = ""
            if base and name != "detect":
                x = r["ns"] / base["ns"]
                ratio = f"{x:,.1f}×" if x >= 10 else f"{x:.2f}×"
            print(
                f"| `{group}` | {name} | {r['events']:,} | {r['ns']:,.0f} ({r['lo']:,.0f}–{r['hi']:,.0f}) "
                f"| {human(r['eps'])} | {r['mbs']:,.1f} | {ratio} |"
            )


def human(x):
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.0f}"


if __name__ == "__main__":
    main()
