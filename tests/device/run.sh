#!/usr/bin/env bash
# The GPU check of issue 13, in one command on the lent GPU machine (bare,
# no network; its python3 holds a CUDA PyTorch). Prepare it here first with
# tests/device/prepare.sh, then:
#
#   device run: command="bash tests/device/run.sh", carry=[".device-check"],
#               timeout_s=540
#
# Steps, each written to $OUT as soon as it ends (a run cut short still
# returns what it did), most important first:
#   1. build model/, the golden runner and the benchmarks with CMake against
#      the machine's LibTorch (tests/device/CMakeLists.txt);
#   2. golden parity on the GPU: float32 (strict: no autocast, no TF32; the
#      fixtures' float32 tolerances) and bfloat16 autocast (the reference's
#      mixed precision; tolerances in tests/golden/golden_runner.h), both
#      fixtures, their images and frames decoded by Pillow as the reference
#      does (golden runner reads PPM in this build: image_io_ppm.cc);
#   3. SetImage / click / tracked frame (1 and 3 objects) for sam2.1 hiera
#      tiny and base_plus with the reference's seed-0 random weights: Meta's
#      reference (sam2 1.1.0 on the machine's torch) and ours alternately, in
#      float32 and bfloat16, summarised as medians and ratios
#      (summary.txt).
#
# SAM2_DEVICE=cpu runs the same on the CPU (float32 only): a dry run of the
# script on a machine without a GPU (it then needs cmake, ninja and a
# python3 with torch; .venv-reference's works: SAM2_DEVICE_PYTHON=...), best
# with less work: SAM2_DEVICE_MODELS=tiny:sam2.1_hiera_t
# SAM2_DEVICE_REPEATS="1 3 3" (SetImage runs, clicks, video frames).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$(pwd)
OUT=${OUT:-/tmp/sam2-device-out}
mkdir -p "$OUT"
py=${SAM2_DEVICE_PYTHON:-python3}
work=${SAM2_DEVICE_WORK:-/tmp/sam2-device}
t0=$(date +%s)
say() { echo "[device-check +$(( $(date +%s) - t0 ))s] $*" | tee -a "$OUT/steps.txt"; }
rm -rf "$work" && mkdir -p "$work/deps" "$work/fixtures"

say "unpacking the carried libraries and wheels"
[ -f .device-check/sysroot.tar.xz ] || { say "no .device-check/: run tests/device/prepare.sh first"; exit 2; }
tar -xJf .device-check/sysroot.tar.xz -C "$work/deps" || exit 2
"$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
  --target "$work/site" .device-check/wheels/*.whl || exit 2
export PYTHONPATH="$work/site${PYTHONPATH:+:$PYTHONPATH}"
libdir="$work/deps/usr/lib/x86_64-linux-gnu"
export LD_LIBRARY_PATH="$libdir:$libdir/blas:$libdir/lapack${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

read -r torch_root abi cuda_ok torch_version < <("$py" -c '
import os, torch
print(os.path.dirname(torch.__file__), int(torch.compiled_with_cxx11_abi()),
      int(torch.cuda.is_available()), torch.__version__)')
device=${SAM2_DEVICE:-$([ "$cuda_ok" = 1 ] && echo cuda || echo cpu)}
cuda_build=OFF
cudart=""
if [ "$device" != cpu ]; then
  cuda_build=ON
  cudart=$(find "$(dirname "$torch_root")/nvidia" /usr/local/cuda/lib64 \
             -name 'libcudart.so.[0-9]*' 2>/dev/null | sort | head -1)
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
    > "$OUT/gpu.txt" 2>&1
fi
say "torch $torch_version at $torch_root, device $device, cudart ${cudart:-none}"
{ uname -a; nproc; lscpu | grep 'Model name'; cat "$OUT/gpu.txt" 2>/dev/null; } > "$OUT/machine.txt"

say "building (cmake + ninja, $(nproc) jobs)"
cmake -S tests/device -B "$work/build" -G Ninja -DTORCH_ROOT="$torch_root" \
  -DSAM2_DEPS="$work/deps" -DSAM2_CUDA=$cuda_build -DCUDART="$cudart" \
  -DTORCH_CXX11_ABI="$abi" > "$OUT/build.txt" 2>&1 &&
  ninja -C "$work/build" -j"$(nproc)" >> "$OUT/build.txt" 2>&1
rc=$?
tail -n 30 "$OUT/build.txt"
[ $rc = 0 ] || { say "build failed (build.txt)"; exit 1; }
bin="$work/build"

say "fixtures: images and frames decoded by Pillow into PPM"
for fx in sam2.1-micro sam2-micro; do
  cp -r "tests/fixtures/$fx" "$work/fixtures/$fx"
done
"$py" - "$work/fixtures" <<'PY' || exit 1
import pathlib, sys
from PIL import Image
for path in pathlib.Path(sys.argv[1]).rglob("*"):
    if path.suffix.lower() in (".png", ".jpg", ".jpeg"):
        Image.open(path).convert("RGB").save(path, format="PPM")
PY

if [ "$device" = cpu ]; then precisions="float32"; else precisions="float32 bfloat16"; fi
golden_rc=0
for prec in $precisions; do
  say "golden parity on $device, $prec"
  "$bin/golden" --device="$device" --precision="$prec" \
    "$work/fixtures/sam2.1-micro" "$work/fixtures/sam2-micro" \
    > "$OUT/golden_$prec.txt" 2>&1
  rc=$?
  [ $rc = 0 ] || golden_rc=$rc
  grep -E "^golden|passed|FAILED|flip" "$OUT/golden_$prec.txt"
  say "golden $prec: exit $rc"
done

threads=$(( $(nproc) < 8 ? $(nproc) : 8 ))
read -r set_repeats predict_repeats frames <<< "${SAM2_DEVICE_REPEATS:-10 50 16}"
results="$OUT/benchmarks.jsonl"
: > "$results"
# Tags each JSON line of a benchmark with what ran.
tag() { grep '^{' | sed "s/^{/{\"case\": \"$1\", \"precision_run\": \"$2\", /" >> "$results"; }
say "hole filling: components on $device vs through the host"
"$bin/connected_components_benchmark" --device="$device" --threads="$threads" \
  2>>"$OUT/errors.txt" | tee -a "$OUT/connected_components.txt" | tag masks "$device"
cd tests/benchmarks
for model in ${SAM2_DEVICE_MODELS:-tiny:sam2.1_hiera_t base_plus:sam2.1_hiera_b+}; do
  name=${model%%:*}
  config="configs/sam2.1/${model#*:}.yaml"
  ckpt="$work/$name.pt"
  for prec in $precisions; do
    say "image benchmarks: $name, $prec"
    save=()
    [ -f "$ckpt" ] || save=(--save-checkpoint "$ckpt")
    "$py" reference_image_benchmark.py --device "$device" --precision "$prec" \
      --config "$config" --threads "$threads" --repeats "$set_repeats" --predict-repeats "$predict_repeats" \
      "${save[@]}" 2>>"$OUT/errors.txt" | tag "$name" "$prec"
    "$bin/image_predictor_benchmark" --device="$device" --precision="$prec" \
      --checkpoint="$ckpt" --threads="$threads" --repeats="$set_repeats" \
      --predict_repeats="$predict_repeats" \
      2>>"$OUT/errors.txt" | tag "$name" "$prec"
    say "video benchmarks: $name, $prec"
    "$py" reference_video_benchmark.py --device "$device" --precision "$prec" \
      --config "$config" --checkpoint "$ckpt" --threads "$threads" --frames "$frames" \
      --objects 1,3 2>>"$OUT/errors.txt" | tag "$name" "$prec"
    "$bin/video_propagation_benchmark" --device="$device" --precision="$prec" \
      --checkpoint="$ckpt" --threads="$threads" --frames="$frames" --objects=1,3 \
      2>>"$OUT/errors.txt" | tag "$name" "$prec"
    "$py" "$repo/tests/device/summarize.py" "$results" > "$OUT/summary.txt"
  done
done
cd "$repo"
cat "$OUT/summary.txt"
say "done (golden exit $golden_rc)"
exit $golden_rc
