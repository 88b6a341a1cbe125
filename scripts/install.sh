#!/usr/bin/env bash
# Installs everything the project needs on Debian 12, idempotently:
#   - the Debian packages below (apt-get update + install, only when missing);
#   - a project-local Python virtual environment (.venv) with the pinned
#     torch wheel from PyPI, whose LibTorch the C++ build links;
#   - grpcurl and kustomize (pinned, from the Go module proxy) in .tools/bin,
#     when a Go toolchain that builds them is at hand (see below);
#   - .venv-client, the Python client's virtual environment: the packages
#     pinned in requirements/client.txt, clients/python installed editable and
#     its gRPC stubs generated from protos/sam2/v1/sam2.proto.
#   - for the offline check of the Kubernetes manifests (deploy/k8s):
#     .venv-deploy with kubernetes-validate (requirements/deploy.txt); see the
#     end of this file.
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
  libyaml-cpp-dev nlohmann-json3-dev libcpp-httplib-dev libzip-dev zlib1g-dev
  libtbb-dev                 # oneTBB, OpenCV's threads (server/thread_stacks.h)
  libgoogle-perftools-dev    # tcmalloc, the process allocator (server/allocator.h)
  libssl-dev                 # SHA-256 of images (session/embedding_cache.h), TLS
  liblzma-dev xz-utils       # the golden fixtures' expected tensors are .xz
  openssl                    # test certificates made at test time
                             # (clients/python/tests/test_tls.py)
  python3-venv               # the project virtual environment
  unzip curl
  podman buildah mmdebstrap runc uidmap  # the container image (deploy/container)
  chromium                   # headless, for the web page's browser test
                             # (clients/python/tests/test_web_ui.py, driven over
                             # the DevTools pipe: no npm, no extra PyPI package)
  nginx                      # the session-affine proxy (deploy/proxy) and its test;
                             # the test runs its own nginx on a free loopback port,
                             # never the system service Debian may start on port 80
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

# Go tools, built from the Go module proxy into .tools/bin (project-local),
# each pinned with a version stamp. Not fatal: without one, only the test
# that needs it is skipped (it says so).
# - grpcurl, to call the server by hand and for //tests/grpcurl:grpcurl_test:
#   v1.8.9 is the newest release that Debian 12's Go (1.19) still builds
#   (v1.9.x needs Go >= 1.21); it speaks the v1alpha reflection protocol
#   that gRPC 1.51 serves.
# - kustomize, for deploy/k8s/validate.sh and //deploy/k8s:validate_test:
#   v5.0.1 is the newest whose go.mod still says go 1.19 (v5.3.0 says 1.20,
#   v5.4.x 1.21); it builds with newer Go as well.
GRPCURL_VERSION=v1.8.9
KUSTOMIZE_VERSION=v5.0.1
MIN_GO=1.19
go_new_enough() {  # GO_VERSION like 1.19.8 or 1.26 -> at least MIN_GO?
  local have="$1" major minor
  major=${have%%.*}; minor=${have#*.}; minor=${minor%%[!0-9]*}
  [ "$major" -gt 1 ] || { [ "$major" = 1 ] && [ "${minor:-0}" -ge "${MIN_GO#1.}" ]; }
}
# Sets GO to a Go toolchain >= MIN_GO (PATH, /usr/local/go, else Debian's
# golang-go when its version is new enough), or returns 1 saying why not.
GO=""
find_go() {
  [ -n "$GO" ] && return 0
  local go=""
  if command -v go >/dev/null; then go=$(command -v go)
  elif [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go
  else
    local candidate
    candidate=$(apt-cache policy golang-go 2>/dev/null | sed -n 's/^ *Candidate: *\(.*\)/\1/p')
    candidate=${candidate#*:}  # drop the epoch: 2:1.19~1 -> 1.19~1
    if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && go_new_enough "$candidate"; then
      local sudo=""
      if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
      echo "install.sh: installing Debian's golang-go ($candidate) to build the Go tools"
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends golang-go &&
        go=$(command -v go || true)
    fi
  fi
  if [ -z "$go" ]; then
    GO_PROBLEM="no Go >= $MIN_GO here or in apt"
    return 1
  fi
  local have
  have=$("$go" env GOVERSION 2>/dev/null || true); have=${have#go}
  if [ -z "$have" ] || ! go_new_enough "$have"; then
    GO_PROBLEM="$go is Go ${have:-of unknown version}, the tools need >= $MIN_GO"
    return 1
  fi
  GO=$go
  GO_VERSION=$have
}
# go_install_tool NAME VERSION PACKAGE TEST: PACKAGE@VERSION as .tools/bin/NAME.
go_install_tool() {
  local name=$1 version=$2 package=$3 test=$4
  local bin="$ROOT/.tools/bin/$name" stamp="$ROOT/.tools/bin/.$name-version"
  if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    echo "install.sh: $name present ($version, $bin)"
    return 0
  fi
  if ! find_go; then
    echo "install.sh: skipping $name: $GO_PROBLEM ($test will be skipped)"
    return 0
  fi
  echo "install.sh: installing $name $version into $ROOT/.tools/bin (go install, Go $GO_VERSION)"
  mkdir -p "$ROOT/.tools/bin"
  if GOBIN="$ROOT/.tools/bin" GOTOOLCHAIN=local "$GO" install "$package@$version"; then
    printf '%s' "$version" > "$stamp"
  else
    echo "install.sh: could not install $name (Go module proxy unreachable?); $test will be skipped"
  fi
}
go_install_tool grpcurl "$GRPCURL_VERSION" github.com/fullstorydev/grpcurl/cmd/grpcurl \
  //tests/grpcurl:grpcurl_test
go_install_tool kustomize "$KUSTOMIZE_VERSION" sigs.k8s.io/kustomize/kustomize/v5 \
  //deploy/k8s:validate_test

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

# The Python client (clients/python, `sam2-client`) in its own environment:
# the pinned packages, the package itself (editable, so that the tests use the
# working tree), and the gRPC stubs, which are build output (build_stubs.py
# regenerates them only when the proto or grpcio-tools changed). The stubs
# come before the editable install, which lists their package.
CVENV="$ROOT/.venv-client"
want_client="$ROOT/requirements/client.txt"
if [ ! -x "$CVENV/bin/python" ]; then
  echo "install.sh: creating $CVENV"
  /usr/bin/python3 -m venv "$CVENV"
fi
CPIP=("$CVENV/bin/python" -m pip --disable-pip-version-check -q)
client_stamp="$CVENV/.sam2-client-installed"
client_wanted="$ROOT $(cat "$want_client" "$ROOT/clients/python/pyproject.toml")"
if [ ! -f "$client_stamp" ] || [ "$(cat "$client_stamp")" != "$client_wanted" ]; then
  echo "install.sh: installing the Python client's packages into $CVENV"
  "${CPIP[@]}" install -r "$want_client"
  "$CVENV/bin/python" "$ROOT/clients/python/build_stubs.py"
  "${CPIP[@]}" install --no-deps --no-build-isolation -e "$ROOT/clients/python"
  printf '%s' "$client_wanted" > "$client_stamp"
else
  echo "install.sh: Python client packages present ($(grep -m1 '^grpcio==' "$want_client"))"
  "$CVENV/bin/python" "$ROOT/clients/python/build_stubs.py"
fi

# ---- deploy/k8s: the Kubernetes manifests' offline validation -------------
# For deploy/k8s/validate.sh and //deploy/k8s:validate_test. Not fatal:
# without these only that test is skipped (it says so).
# kubernetes-validate (the Kubernetes JSON schemas, offline) and PyYAML, in
# their own environment, every package pinned (requirements/deploy.txt).
DVENV="$ROOT/.venv-deploy"
want_deploy="$ROOT/requirements/deploy.txt"
deploy_stamp="$DVENV/.sam2-deploy-installed"
if [ -f "$deploy_stamp" ] && [ "$(cat "$deploy_stamp")" = "$(cat "$want_deploy")" ]; then
  echo "install.sh: deploy validation packages present ($(grep -m1 '^kubernetes-validate==' "$want_deploy"))"
elif { [ -x "$DVENV/bin/python" ] || /usr/bin/python3 -m venv "$DVENV"; } &&
    "$DVENV/bin/python" -m pip --disable-pip-version-check -q install --no-deps -r "$want_deploy" &&
    "$DVENV/bin/python" -c 'import kubernetes_validate, yaml'; then
  echo "install.sh: installed the deploy validation packages into $DVENV"
  cp "$want_deploy" "$deploy_stamp"
else
  echo "install.sh: could not install requirements/deploy.txt into $DVENV; //deploy/k8s:validate_test will be skipped"
fi
