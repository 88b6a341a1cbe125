#!/usr/bin/env bash
# Side by side on this machine: Meta's reference video predictor (Python,
# .venv-reference) and our C++ VideoPredictor, on the same full-size
# sam2.1_hiera_tiny random weights (the reference's initialisation, saved
# once), the same generated video and thread count; 1 and 3 objects.
# Needs `scripts/install.sh --reference` and
# `bazel build //tests/benchmarks:video_propagation_benchmark`.
# Usage: tests/benchmarks/compare_video_benchmark.sh [THREADS] [FRAMES] [ROUNDS]
# (defaults 2, 12, 1). Prints every run's JSON line, then, per object
# count, the median time per propagated frame of each (medians of the
# per-round medians) and their ratio (reference / ours: above 1 means we are
# faster). The reference's tqdm progress (stderr) is discarded.
set -euo pipefail
# Our side's --precision (float32, bfloat16 or auto); the reference runs as
# it does by default on the CPU, in float32.
precision=${SAM2_BENCH_PRECISION:-float32}
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
threads=${1:-2}
frames=${2:-12}
rounds=${3:-1}
ckpt=${SAM2_BENCH_CHECKPOINT:-/tmp/sam2.1_hiera_t_random_video.pt}
ref_py=.venv-reference/bin/python
cpp=bazel-bin/tests/benchmarks/video_propagation_benchmark
[ -x "$ref_py" ] || { echo "missing $ref_py: run scripts/install.sh --reference" >&2; exit 1; }
[ -x "$cpp" ] || { echo "missing $cpp: bazel build //tests/benchmarks:video_propagation_benchmark" >&2; exit 1; }
results=$(mktemp)
log=$(mktemp)
trap 'rm -f "$results" "$log"' EXIT
# Object counts alternate between the two implementations so that load from
# other processes affects both alike.
for round in $(seq 1 "$rounds"); do
  for objects in 1 3; do
    echo "round $round/$rounds, $objects object(s): reference (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    save=()
    [ -f "$ckpt" ] || save=(--save-checkpoint "$ckpt")
    "$ref_py" tests/benchmarks/reference_video_benchmark.py --threads "$threads" \
      --frames "$frames" --objects "$objects" "${save[@]}" > "$log" 2> /dev/null
    grep -v '^{' "$log" >&2 || true
    grep '^{' "$log" >> "$results"
    echo "round $round/$rounds, $objects object(s): ours (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    "$cpp" --threads="$threads" --frames="$frames" --objects="$objects" \
      --checkpoint="$ckpt" --precision="$precision" > "$log"
    grep -v '^{' "$log" >&2 || true
    grep '^{' "$log" >> "$results"
  done
done
cat "$results"
"$ref_py" - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(impl, n):
    return statistics.median(r["frame_ms_median"] for r in rows
                             if r["impl"] == impl and r["objects"] == n)
print(f"{'objects':8} {'reference ms/frame':>19} {'ours ms/frame':>14} {'ratio':>7}")
for n in sorted({r["objects"] for r in rows}):
    ref, ours = med("reference", n), med("cpp", n)
    print(f"{n:<8} {ref:19.1f} {ours:14.1f} {ref / ours:6.2f}x")
PY
