#!/usr/bin/env bash
# Installs what is needed (scripts/install.sh), builds the server and starts
# it in the foreground. Ctrl-C or SIGTERM stops it cleanly (drain, exit 0).
#
# Which model, first match wins:
#   1. SAM2_CHECKPOINT, or a --checkpoint among the extra arguments;
#   2. checkpoints/sam2.1_hiera_tiny.pt (Meta's SAM 2.1 tiny), when present;
#   3. the same, downloaded now by scripts/download_checkpoints.sh when a
#      quick probe (5 s) reaches the download server;
#   4. the bundled random-weight micro test model, through
#      --fallback_checkpoint: the server starts and answers, but its masks
#      are meaningless, and it says so loudly (log and GetServerInfo).
#
# Environment:
#   SAM2_CHECKPOINT    weights to serve (an official sam2/sam2.1 .pt or a
#                      .safetensors)
#   SAM2_CONFIG        Hydra YAML config (default: detected)
#   SAM2_ADDRESS       gRPC listen address (default 127.0.0.1:50051)
#   SAM2_HTTP_ADDRESS  /metrics, /ping, /healthz (default 127.0.0.1:9090)
#                      Another interface than loopback (e.g. 0.0.0.0:50051)
#                      also needs the argument --insecure_listen_any: there
#                      is no TLS and no authentication yet.
#   SAM2_DOWNLOAD=0    never try to download (step 3)
#   SAM2_CHECKPOINT_BASE_URL  where step 3 downloads from (see
#                      scripts/download_checkpoints.sh)
# Extra arguments are passed to the server (`sam2_server --help` lists them).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/install.sh
bazel build //server:sam2_server

DEFAULT_VARIANT=sam2.1_hiera_tiny
official="$ROOT/checkpoints/$DEFAULT_VARIANT.pt"
fallback="$ROOT/tests/fixtures/sam2.1-micro/model.pt"

checkpoint_given=0
for arg in "$@"; do
  case "$arg" in --checkpoint|--checkpoint=*) checkpoint_given=1 ;; esac
done

args=(--address="${SAM2_ADDRESS:-127.0.0.1:50051}"
      --http_address="${SAM2_HTTP_ADDRESS:-127.0.0.1:9090}")
if [ -n "${SAM2_CHECKPOINT:-}" ]; then
  args+=(--checkpoint="$SAM2_CHECKPOINT")
elif [ "$checkpoint_given" = 0 ]; then
  if [ ! -f "$official" ] && [ "${SAM2_DOWNLOAD:-1}" != 0 ]; then
    if [ -n "${SAM2_CHECKPOINT_BASE_URL:-}" ]; then
      probe_url="${SAM2_CHECKPOINT_BASE_URL%/}/$DEFAULT_VARIANT.pt"
    else
      probe_url="https://dl.fbaipublicfiles.com/segment_anything_2/092824/$DEFAULT_VARIANT.pt"
    fi
    if curl -sfI -L --connect-timeout 3 --max-time 5 -o /dev/null "$probe_url"; then
      echo "serve.sh: downloading Meta's $DEFAULT_VARIANT checkpoint (once; SAM2_DOWNLOAD=0 skips this)"
      bash scripts/download_checkpoints.sh --dir "$ROOT/checkpoints" "$DEFAULT_VARIANT" ||
        echo "serve.sh: the download failed; continuing without it" >&2
    else
      echo "serve.sh: cannot reach $probe_url (5 s probe); not downloading" >&2
    fi
  fi
  if [ -f "$official" ]; then
    args+=(--checkpoint="$official")
  else
    echo "serve.sh: no official checkpoint ($official): serving the bundled random-weight test model, whose masks are meaningless" >&2
    args+=(--fallback_checkpoint="$fallback")
  fi
fi
if [ -n "${SAM2_CONFIG:-}" ]; then args+=(--config="$SAM2_CONFIG"); fi
exec "$ROOT/bazel-bin/server/sam2_server" "${args[@]}" "$@"
