#!/usr/bin/env bash
# Dynamic batching of Segment calls, measured through gRPC: one sam2_server
# per setting (--segment_max_batch=1, i.e. off, then the given batch size),
# each loaded by `sam2 loadtest --scenario=segment --sweep=1,4,16` over as
# many image sessions as the largest concurrency (calls on one session never
# share a batch). Prints the load tester's report per setting, then a table:
# throughput and p50 per concurrency, with the ratio batched / off.
#
# Usage: tests/benchmarks/segment_batching_benchmark.sh CHECKPOINT
#            [MAX_BATCH (8)] [DURATION (15s)] [extra sam2_server flags...]
# Needs `bazel build //server:sam2_server //client:sam2`. Asserts nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ckpt=${1:?usage: segment_batching_benchmark.sh CHECKPOINT [MAX_BATCH] [DURATION] [server flags...]}
max_batch=${2:-8}
duration=${3:-15s}
shift $(( $# < 3 ? $# : 3 ))
server=bazel-bin/server/sam2_server
tool=bazel-bin/client/sam2
for b in "$server" "$tool"; do
  [ -x "$b" ] || { echo "missing $b: bazel build //server:sam2_server //client:sam2" >&2; exit 1; }
done
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

source tests/benchmarks/server_launch.sh
for setting in 1 "$max_batch"; do
  start_sam2_server "$work/out.$setting" "$work/err.$setting" \
    --checkpoint="$ckpt" --address=127.0.0.1:0 --http_address= \
    --segment_max_batch="$setting" "$@"
  pid=$SERVER_PID
  port=$SERVER_PORT
  echo "== --segment_max_batch=$setting (load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$tool" loadtest --server="127.0.0.1:$port" --scenario=segment --sweep=1,4,16 \
    --sessions=16 --duration="$duration" --warmup=3s --json="$work/report.$setting.json"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done

python3 - "$work/report.1.json" "$work/report.$max_batch.json" "$max_batch" <<'PY'
import json, sys
def levels(path):
    r = json.load(open(path))
    out = {}
    for level in r["levels"]:
        s = level["scenarios"][0]
        out[level["concurrency"]] = {"throughput_rps": s["ok_throughput_rps"],
                                     "p50_ms": s["latency_ms"]["p50"]}
    return out
off, on = levels(sys.argv[1]), levels(sys.argv[2])
print(f"{'concurrency':>11} {'off req/s':>10} {'on req/s':>9} {'ratio':>6} {'off p50 ms':>11} {'on p50 ms':>10}")
for c in sorted(off):
    a, b = off[c], on[c]
    print(f"{c:>11} {a['throughput_rps']:10.1f} {b['throughput_rps']:9.1f} "
          f"{b['throughput_rps'] / a['throughput_rps']:5.2f}x {a['p50_ms']:11.1f} {b['p50_ms']:10.1f}")
print(f"(batched: --segment_max_batch={sys.argv[3]})")
PY
