#!/usr/bin/env bash
# Builds the container image (deploy/container/build_image.sh) and runs it
# with podman: health (HTTP /ping, the image's HEALTHCHECK, gRPC health
# through `sam2 remote info`), the `sam2` checker that
# download_checkpoints.sh uses inside it, a Segment whose mask must equal the local
# `sam2 segment` one bit for bit, the non-root user, and a clean exit 0 on
# SIGTERM. The micro model is mounted read-only (no checkpoint is in the
# image). Run by scripts/test.sh after the Bazel tests (it needs
# bazel-bin/server/sam2_server and bazel-bin/client/sam2, the Debian archive
# for mmdebstrap, and podman: it is not a hermetic Bazel test). Prints
# "container test: 1 passed, 0 failed" (or "0 passed, 1 failed"); skipped,
# with the reason, where podman, buildah or mmdebstrap are missing.
#
# The container runs on the host network on two free loopback ports, so it
# needs no network setup from podman. CONTAINERS_CONF points podman at
# deploy/container/containers.conf (why: see that file).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
TAG=localhost/sam2-server:test
NAME=sam2-container-test-$$
START_TIMEOUT_S=120
export CONTAINERS_CONF="$ROOT/deploy/container/containers.conf"
T=$(mktemp -d)

finish() {
  podman rm -f "$NAME" >/dev/null 2>&1
  # 1.25 GB a build: do not leave it behind.
  podman rmi -f "$TAG" >/dev/null 2>&1
  rm -rf "$T"
}
trap finish EXIT
fail() {
  echo "container_test: FAILED: $*" >&2
  podman logs "$NAME" 2>&1 | tail -20 >&2
  echo "container test: 0 passed, 1 failed"
  exit 1
}

for tool in podman buildah mmdebstrap; do
  if ! command -v "$tool" >/dev/null; then
    echo "container_test: skipped: $tool is not installed (scripts/install.sh installs it)"
    echo "container test: 0 passed, 0 failed, 1 skipped"
    exit 0
  fi
done
for f in bazel-bin/server/sam2_server bazel-bin/client/sam2; do
  [ -x "$f" ] || fail "$f is missing (bazel build //server:sam2_server //client:sam2)"
done

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start=$(date +%s)
deploy/container/build_image.sh --tag "$TAG" --workdir "$T/image" > "$T/build.log" 2>&1 ||
  { tail -30 "$T/build.log" >&2; fail "the image did not build"; }
echo "container_test: image built in $(( $(date +%s) - start )) s ($(podman image inspect --format '{{.Size}}' "$TAG" | awk '{printf "%.2f GB", $1 / 1e9}'))"

grpc_port=$(free_port)
http_port=$(free_port)
# --health-interval=disable: podman schedules health checks with systemd
# timers, absent here; `podman healthcheck run` below runs it once.
podman run -d --name "$NAME" --network host -e SAM2_HTTP_PORT="$http_port" \
  --health-interval=disable \
  -v "$ROOT/tests/fixtures/sam2.1-micro:/models:ro" "$TAG" \
  --checkpoint=/models/model.pt --address="127.0.0.1:$grpc_port" \
  --http_address="127.0.0.1:$http_port" --warm_up=true --precision=float32 >/dev/null 2> "$T/run.log" ||
  { cat "$T/run.log" >&2; fail "podman run failed"; }

ready=0
for _ in $(seq $((START_TIMEOUT_S * 5))); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/ping")" = 200 ]; then
    ready=1
    break
  fi
  [ "$(podman inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ] ||
    fail "the container exited before it was ready"
  sleep 0.2
done
[ "$ready" = 1 ] || fail "/ping did not answer 200 within $START_TIMEOUT_S s"

podman healthcheck run "$NAME" >/dev/null 2>&1 || fail "the image's HEALTHCHECK failed"
[ "$(podman exec "$NAME" id -u)" = 10001 ] || fail "the server does not run as uid 10001"
# The checkpoint checker download_checkpoints.sh uses inside the image.
# Output to a file first: with pipefail, `grep -q` closing the pipe early
# would fail the pipeline (SIGPIPE) even on a match.
podman exec "$NAME" sam2 inspect /models/model.pt > "$T/inspect.txt" 2>&1
grep -q "tensors: *371" "$T/inspect.txt" ||
  fail "sam2 inspect does not work inside the image"
bazel-bin/client/sam2 remote info --server "127.0.0.1:$grpc_port" > "$T/info.txt" 2>&1 ||
  { cat "$T/info.txt" >&2; fail "sam2 remote info failed"; }

bazel-bin/client/sam2 remote segment --server "127.0.0.1:$grpc_port" \
  --image tests/fixtures/sam2.1-micro/image.png --point 300,200 \
  --out "$T/remote.png" > "$T/remote.log" 2>&1 ||
  { cat "$T/remote.log" >&2; fail "Segment through the container failed"; }
# float32 on both sides: bit-identical whatever the CPU and thread counts
# (the default, auto, computes in bfloat16 on bf16 CPUs).
bazel-bin/client/sam2 segment --precision=float32 --checkpoint tests/fixtures/sam2.1-micro/model.pt \
  --image tests/fixtures/sam2.1-micro/image.png --point 300,200 \
  --out "$T/local.png" > "$T/local.log" 2>&1 ||
  { cat "$T/local.log" >&2; fail "the local segment failed"; }
cmp -s "$T/remote.png" "$T/local.png" || fail "the container's mask differs from the local one"

podman stop -t 30 "$NAME" >/dev/null 2>> "$T/run.log" ||
  { cat "$T/run.log" >&2; fail "podman stop failed"; }
code=$(podman inspect --format '{{.State.ExitCode}}' "$NAME")
[ "$code" = 0 ] || fail "the server exited with $code after SIGTERM"
podman logs "$NAME" > "$T/server.log" 2>&1
grep -q "received SIGTERM" "$T/server.log" || fail "no drain in the server's log"

echo "container_test: health, HEALTHCHECK, uid 10001, sam2 inspect, Segment equal to local, exit 0 on SIGTERM ($(( $(date +%s) - start )) s)"
echo "container test: 1 passed, 0 failed"
