#!/usr/bin/env bash
# Collects what the sam2_server binary needs at run time, for the container
# image (build_image.sh here, and the Dockerfile's build stage):
#   OUT/opt/sam2/bin/  sam2_server, sam2 (the command-line tool, which
#                      download_checkpoints.sh uses to check a download;
#                      the image sets SAM2_TOOL to it), serve (SageMaker),
#                      download_checkpoints.sh
#   OUT/opt/sam2/lib/  every library they link from outside the system's
#                      library directories: LibTorch and, for a CUDA build,
#                      the NVIDIA libraries of the torch wheel
#   OUT/packages.txt   the Debian packages owning every system library they
#                      link (ldd + dpkg -S: the list cannot drift from the
#                      binary), plus curl and ca-certificates (health check,
#                      checkpoint downloads); one a line
# Usage: deploy/container/collect_runtime.sh SERVER_BINARY SAM2_TOOL OUT
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SERVER=$1
TOOL=$2
OUT=$3
mkdir -p "$OUT/opt/sam2/bin" "$OUT/opt/sam2/lib"
packages=(curl ca-certificates)
for binary in "$SERVER" "$TOOL"; do
  # grep without -q reads to the end: -q could exit early, and pipefail
  # would then count the SIGPIPE of ldd as a failure.
  if ldd "$binary" | grep "not found" >/dev/null; then
    echo "collect_runtime.sh: $binary has unresolved libraries:" >&2
    ldd "$binary" | grep "not found" >&2
    exit 1
  fi
  while read -r name path; do
    case "$path" in
      /lib/*|/usr/lib/*|/lib64/*)
        real=$(readlink -f "$path")
        pkg=$(dpkg -S "$real" 2>/dev/null || dpkg -S "$path" 2>/dev/null || true)
        if [ -z "$pkg" ]; then
          echo "collect_runtime.sh: no Debian package owns $path ($name)" >&2
          exit 1
        fi
        packages+=("${pkg%%:*}")
        ;;
      *)
        cp -L "$path" "$OUT/opt/sam2/lib/$name"
        ;;
    esac
  done < <(ldd "$binary" | awk '/=> \// {print $1, $3}')
done
printf '%s\n' "${packages[@]}" | sort -u > "$OUT/packages.txt"
install -m 755 "$SERVER" "$OUT/opt/sam2/bin/sam2_server"
install -m 755 "$TOOL" "$OUT/opt/sam2/bin/sam2"
install -m 755 "$ROOT/deploy/sagemaker/serve" "$OUT/opt/sam2/bin/serve"
install -m 755 "$ROOT/scripts/download_checkpoints.sh" "$OUT/opt/sam2/bin/download_checkpoints.sh"
echo "collect_runtime.sh: $(wc -l < "$OUT/packages.txt") Debian packages, $(ls "$OUT/opt/sam2/lib" | wc -l) bundled libraries ($(du -sh "$OUT/opt/sam2/lib" | cut -f1))" >&2
