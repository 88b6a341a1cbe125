#!/usr/bin/env bash
# Builds the sam2-server container image from Debian 12 packages and the
# project's own build, with no container registry: mmdebstrap makes a
# minimal Debian root file system holding exactly the Debian packages whose
# libraries bazel-bin/server/sam2_server and bazel-bin/client/sam2 link
# (collect_runtime.sh: ldd + dpkg -S, so the list cannot drift from the
# binaries), plus curl and CA certificates for the health check and
# scripts/download_checkpoints.sh; the binaries, the LibTorch libraries from
# the torch wheel, the SageMaker entrypoint and the checkpoint script (with
# SAM2_TOOL set to the `sam2` tool that checks downloads) go to /opt/sam2; buildah turns that into an image with
# no build tools, a non-root user (uid 10001), sam2_server as its entrypoint,
# a HEALTHCHECK on /ping (port $SAM2_HTTP_PORT, default 9090: set it when
# --http_address names another port), and no checkpoint inside (mount one, or let
# scripts/download_checkpoints.sh fetch one at start).
#
# Usage: deploy/container/build_image.sh [--cuda] [--tag NAME] [--workdir DIR]
#   --cuda     the CUDA variant: the binary must come from
#              `bazel build --config=cuda //server:sam2_server`; every NVIDIA
#              library it links (from the torch wheel's nvidia-* packages,
#              `scripts/install.sh --cuda`) is copied too. Not run here (no
#              GPU machine).
#   --tag      image name (default localhost/sam2-server:cpu or :cuda)
#   --workdir  scratch space (default .image-build/ in the repository)
# Runs as root (mmdebstrap --mode=root) or as a user with subordinate ids
# (--mode=unshare). The image lands in that user's container storage; move
# it with `podman save` / `podman load`. Needs: mmdebstrap, buildah (both in
# Debian 12; scripts/install.sh installs them).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VARIANT=cpu
TAG=""
WORK="$ROOT/.image-build"
while (($#)); do
  case "$1" in
    --cuda) VARIANT=cuda ;;
    --tag) TAG=$2; shift ;;
    --workdir) WORK=$2; shift ;;
    *) echo "build_image.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
TAG=${TAG:-localhost/sam2-server:$VARIANT}
SERVER="$ROOT/bazel-bin/server/sam2_server"
TOOL="$ROOT/bazel-bin/client/sam2"
for tool in mmdebstrap buildah; do
  command -v "$tool" >/dev/null || { echo "build_image.sh: $tool is missing (scripts/install.sh installs it)" >&2; exit 1; }
done
for binary in "$SERVER" "$TOOL"; do
  [ -x "$binary" ] || { echo "build_image.sh: $binary is missing: bazel build //server:sam2_server //client:sam2" >&2; exit 1; }
done
# grep without -q reads to the end: -q could exit early, and pipefail would
# then count the SIGPIPE of ldd as a failure.
if [ "$VARIANT" = cuda ] && ! ldd "$SERVER" | grep libtorch_cuda >/dev/null; then
  echo "build_image.sh: --cuda needs a binary built with --config=cuda (it does not link libtorch_cuda)" >&2
  exit 1
fi

log() { echo "build_image.sh: $*" >&2; }
rm -rf "$WORK"
STAGE="$WORK/stage"
"$ROOT/deploy/container/collect_runtime.sh" "$SERVER" "$TOOL" "$STAGE"
mapfile -t packages < "$STAGE/packages.txt"

# The host's apt sources (Debian 12), so the image gets the same archive.
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
mode=root
if [ "$(id -u)" != 0 ]; then mode=unshare; fi
log "mmdebstrap ($mode mode) ..."
mmdebstrap --mode="$mode" --variant=apt --format=tar \
  --include="$(IFS=,; echo "${packages[*]}")" \
  --customize-hook="copy-in $STAGE/opt /" \
  --customize-hook='chroot "$1" sh -c "echo /opt/sam2/lib > /etc/ld.so.conf.d/sam2.conf && ldconfig"' \
  --customize-hook='chroot "$1" groupadd --gid 10001 sam2' \
  --customize-hook='chroot "$1" useradd --uid 10001 --gid 10001 --no-log-init --home-dir /var/lib/sam2 --create-home --shell /usr/sbin/nologin sam2' \
  --customize-hook='chroot "$1" sh -c "! ldd /opt/sam2/bin/sam2_server | grep \"not found\""' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  bookworm "$WORK/rootfs.tar" "$sources"

log "buildah ..."
# Docker's image format: OCI's has no HEALTHCHECK.
export BUILDAH_FORMAT=docker
ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah add "$ctr" "$WORK/rootfs.tar" / >/dev/null
buildah config \
  --entrypoint '["/opt/sam2/bin/sam2_server"]' \
  --cmd '["--address=0.0.0.0:50051", "--http_address=0.0.0.0:9090", "--insecure_listen_any"]' \
  --env PATH=/opt/sam2/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env SAM2_TOOL=/opt/sam2/bin/sam2 \
  --user 10001:10001 --workingdir /var/lib/sam2 \
  --port 50051 --port 9090 \
  --stop-signal SIGTERM \
  --healthcheck 'CMD-SHELL curl -fsS "http://127.0.0.1:${SAM2_HTTP_PORT:-9090}/ping" || exit 1' \
  --healthcheck-interval 10s --healthcheck-start-period 120s \
  --label org.opencontainers.image.title=sam2-server \
  --label "org.opencontainers.image.description=SAM 2 segmentation and tracking gRPC service ($VARIANT)" \
  "$ctr"
buildah commit --format docker --rm "$ctr" "$TAG" >/dev/null
trap - EXIT
rm -rf "$WORK"
log "built $TAG"
