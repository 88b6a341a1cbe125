#!/usr/bin/env bash
# Side by side on this machine: Meta's reference (Python, .venv-reference)
# and our C++ image predictor, on the same full-size sam2.1_hiera_tiny random
# weights (the reference's initialisation, saved once), same thread count.
# Needs `scripts/install.sh --reference` and
# `bazel build //tests/benchmarks:image_predictor_benchmark`.
# Usage: tests/benchmarks/compare_image_benchmark.sh [THREADS] [ROUNDS]
# Runs ROUNDS alternating rounds (default 3) and prints the medians of each
# and their ratio (reference / ours: above 1 means we are faster).
set -euo pipefail
# Our side's --precision (float32, bfloat16 or auto); the reference runs as
# it does by default on the CPU, in float32.
precision=${SAM2_BENCH_PRECISION:-float32}
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
threads=${1:-2}
rounds=${2:-3}
ckpt=${SAM2_BENCH_CHECKPOINT:-/tmp/sam2.1_hiera_t_random.pt}
ref_py=.venv-reference/bin/python
cpp=bazel-bin/tests/benchmarks/image_predictor_benchmark
[ -x "$ref_py" ] || { echo "missing $ref_py: run scripts/install.sh --reference" >&2; exit 1; }
[ -x "$cpp" ] || { echo "missing $cpp: bazel build //tests/benchmarks:image_predictor_benchmark" >&2; exit 1; }
if [ ! -f "$ckpt" ]; then
  "$ref_py" tests/benchmarks/reference_image_benchmark.py --threads "$threads" \
    --repeats 1 --predict-repeats 1 --save-checkpoint "$ckpt" > /dev/null
fi
results=$(mktemp)
for round in $(seq 1 "$rounds"); do
  echo "round $round/$rounds" >&2
  "$ref_py" tests/benchmarks/reference_image_benchmark.py --threads "$threads" | grep '^{' >> "$results"
  "$cpp" --threads="$threads" --checkpoint="$ckpt" --precision="$precision" | grep '^{' >> "$results"
done
"$ref_py" - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(impl, key):
    return statistics.median(r[key] for r in rows if r["impl"] == impl)
print(f"{'':10} {'reference ms':>13} {'ours ms':>9} {'ratio':>7}   (medians of per-round medians)")
for key, name in (("set_image_ms_median", "SetImage"), ("predict_ms_median", "Predict")):
    ref, ours = med("reference", key), med("cpp", key)
    print(f"{name:10} {ref:13.1f} {ours:9.1f} {ref / ours:6.2f}x")
PY
rm -f "$results"
