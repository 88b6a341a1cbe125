#!/usr/bin/env bash
# Installs everything the project needs on Debian 12, idempotently:
#   - the Debian packages below (apt-get update + install, only when missing);
#   - a project-local Python virtual environment (.venv) with the pinned
#     torch wheel from PyPI, whose LibTorch the C++ build links.
# Usage: scripts/install.sh [--cuda] [--reference]
#   --cuda       also install the torch wheel's NVIDIA dependencies (~3 GB), for
#                `bazel build --config=cuda` on a machine with NVIDIA GPUs.
#   --reference  also create .venv-reference, a separate virtual environment
#                with Meta's SAM 2 Python reference implementation (sam2,
#                torch, torchvision and their dependencies, ~6.6 GB, pinned in
#                requirements/reference.txt), for the side-by-side benchmark
#                tests/benchmarks/reference_image_benchmark.py.
# Nothing else is downloaded at build or test time.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CUDA=0
REFERENCE=0
for arg in "$@"; do
  case "$arg" in
    --cuda) CUDA=1 ;;
    --reference) REFERENCE=1 ;;
    *) echo "install.sh: unknown option $arg (usage: install.sh [--cuda] [--reference])" >&2; exit 2 ;;
  esac
done

# The exact Debian 12 package list.
APT_PACKAGES=(
  bazel-bootstrap            # Bazel 4.2.3
  g++                        # the C++ toolchain Bazel auto-configures
  clang libclang-rt-14-dev   # libFuzzer builds of the parsers
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libopencv-videoio-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev nlohmann-json3-dev libcivetweb-dev libzip-dev
  python3-venv               # the project virtual environment
  unzip
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  echo "install.sh: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install.sh: Debian packages present"
fi

VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  echo "install.sh: creating $VENV"
  /usr/bin/python3 -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
want_cpu="$ROOT/requirements/libtorch-cpu.txt"
stamp="$VENV/.sam2-installed"
wanted="$(cat "$want_cpu" "$ROOT/requirements/libtorch-cuda.txt") cuda=$CUDA"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "install.sh: installing LibTorch (PyPI torch wheel) into $VENV"
  "${PIP[@]}" install --no-deps -r "$want_cpu"
  if [ "$CUDA" = 1 ]; then
    "${PIP[@]}" install -r "$ROOT/requirements/libtorch-cuda.txt"
  fi
  printf '%s' "$wanted" > "$stamp"
else
  echo "install.sh: LibTorch present ($(grep -m1 '^torch==' "$want_cpu"))"
fi

if [ "$REFERENCE" = 1 ]; then
  # Meta's reference implementation, in its own environment so that .venv keeps
  # only what the C++ build links.
  RVENV="$ROOT/.venv-reference"
  want_ref="$ROOT/requirements/reference.txt"
  if [ ! -x "$RVENV/bin/python" ]; then
    echo "install.sh: creating $RVENV"
    /usr/bin/python3 -m venv "$RVENV"
  fi
  RPIP=("$RVENV/bin/python" -m pip --disable-pip-version-check -q)
  ref_stamp="$RVENV/.sam2-reference-installed"
  if [ ! -f "$ref_stamp" ] || [ "$(cat "$ref_stamp")" != "$(cat "$want_ref")" ]; then
    echo "install.sh: installing the SAM 2 reference implementation into $RVENV"
    # The pinned build backend first: sam2 (and iopath, antlr4) are sdists,
    # built below without build isolation against this setuptools.
    "${RPIP[@]}" install "$(grep -m1 '^setuptools==' "$want_ref")"
    # SAM2_BUILD_CUDA=0: never compile sam2's CUDA extension (sam2._C, only
    # used by optional mask post-processing). --no-build-isolation: sam2's
    # pyproject would otherwise install an unpinned torch to build in.
    SAM2_BUILD_CUDA=0 "${RPIP[@]}" install --no-build-isolation --use-pep517 -r "$want_ref"
    "$RVENV/bin/python" -c 'import torch, torchvision, sam2.build_sam, sam2.sam2_image_predictor'
    cp "$want_ref" "$ref_stamp"
  else
    echo "install.sh: SAM 2 reference implementation present ($(grep -m1 '^sam2==' "$want_ref"), $(grep -m1 '^torch==' "$want_ref"))"
  fi
fi
