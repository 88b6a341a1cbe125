#!/usr/bin/env python3
"""Sums a LibTorch Chrome trace (image_predictor_benchmark or
video_propagation_benchmark --profile=FILE) by op: self time (an op's time
minus the ops it called), calls, and the share of each top-level region
(SetImage, Predict, Propagation). Standard library only.

  tests/benchmarks/op_profile.py /tmp/trace.json [--top 15]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    with open(args.trace) as f:
        events = [e for e in json.load(f) if e.get("ph") == "X"]

    region_order = ("SetImage", "Predict", "Propagation")
    regions = set(region_order)
    by_thread: dict[object, list[dict]] = defaultdict(list)
    for e in events:
        by_thread[e.get("tid")].append(e)

    # region -> op -> [self us, calls]; region totals in us.
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
    totals: dict[str, float] = defaultdict(float)
    for thread_events in by_thread.values():
        thread_events.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack: list[tuple[dict, float, str]] = []  # event, child time, region
        def close_until(ts: float) -> None:
            while stack and stack[-1][0]["ts"] + stack[-1][0]["dur"] <= ts:
                event, children, region = stack.pop()
                if event["name"] in regions:
                    totals[event["name"]] += event["dur"]
                elif region:
                    row = table[region][event["name"]]
                    row[0] += event["dur"] - children
                    row[1] += 1
                if stack:
                    parent, child_time, parent_region = stack[-1]
                    stack[-1] = (parent, child_time + event["dur"], parent_region)
        for e in thread_events:
            close_until(e["ts"])
            region = e["name"] if e["name"] in regions else (stack[-1][2] if stack else "")
            stack.append((e, 0.0, region))
        close_until(float("inf"))

    for region in region_order:
        if region not in totals:
            continue
        total = totals[region]
        print(f"{region}: {total / 1000:.1f} ms (ops on the profiled thread; intra-op "
              f"worker threads run inside them)")
        print(f"  {'op':<36} {'self ms':>9} {'share':>7} {'calls':>7}")
        rows = sorted(table[region].items(), key=lambda kv: -kv[1][0])
        for name, (self_us, calls) in rows[:args.top]:
            print(f"  {name:<36} {self_us / 1000:9.1f} {100 * self_us / total:6.1f}% {calls:7d}")


if __name__ == "__main__":
    main()
