#!/usr/bin/env python3
"""Summarises tests/device/run.sh's benchmarks.jsonl: for each model and
precision, the reference's and our medians and their ratio (reference / ours:
above 1 means we are faster); then hole filling's components on the device
against the trip through the host.

Usage: summarize.py benchmarks.jsonl
"""

import json
import sys


def main(path):
    rows = [json.loads(line) for line in open(path) if line.startswith("{")]
    metrics = [("SetImage", "set_image_ms_median", None),
               ("Predict (click)", "predict_ms_median", None),
               ("tracked frame, 1 object", "frame_ms_median", 1),
               ("tracked frame, 3 objects", "frame_ms_median", 3)]
    print(f"{'model':<10}{'precision':<10}{'step':<26}{'reference ms':>13}"
          f"{'ours ms':>10}{'ratio':>8}")
    seen = []
    for r in rows:
        key = (r["case"], r["precision_run"])
        if key not in seen:
            seen.append(key)
    for case, prec in seen:
        for label, field, objects in metrics:
            def pick(impl):
                for r in rows:
                    if (r["case"], r["precision_run"], r["impl"]) != (case, prec, impl):
                        continue
                    if field in r and (objects is None or r.get("objects") == objects):
                        return r[field]
                return None
            ref, ours = pick("reference"), pick("cpp")
            if ref is None and ours is None:
                continue
            ratio = f"{ref / ours:7.2f}x" if ref and ours else "      -"
            fmt = lambda v: f"{v:.2f}" if v is not None else "-"
            print(f"{case:<10}{prec:<10}{label:<26}{fmt(ref):>13}{fmt(ours):>10}{ratio:>8}")
    for r in rows:
        if r.get("benchmark") != "connected_components":
            continue
        host, here = r["fill_via_host_ms_median"], r["fill_ms_median"]
        print(f"hole filling, {r['objects']} masks on {r['device']}: through the host "
              f"{host:.3f} ms, on the device {here:.3f} ms ({host / here:.2f}x; "
              f"FastSV {r['rounds']} rounds, alone {r['tensor_ops_ms_median']:.3f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
