#!/usr/bin/env bash
# Installs what is needed (scripts/install.sh), builds the server and starts
# it in the foreground. Ctrl-C or SIGTERM stops it cleanly.
#   SAM2_CHECKPOINT  weights to serve (an official sam2/sam2.1 .pt or a
#                    .safetensors); default: the micro test model, so a
#                    fresh clone starts without downloading anything.
#   SAM2_CONFIG      optional Hydra YAML config (default: detected)
#   SAM2_ADDRESS     listen address (default 0.0.0.0:50051)
# Extra arguments are passed to the server (see `--help`).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/install.sh
bazel build //server:sam2_server
args=(--address="${SAM2_ADDRESS:-0.0.0.0:50051}"
      --checkpoint="${SAM2_CHECKPOINT:-$ROOT/tests/fixtures/sam2.1-micro/model.pt}")
if [ -n "${SAM2_CONFIG:-}" ]; then args+=(--config="$SAM2_CONFIG"); fi
exec "$ROOT/bazel-bin/server/sam2_server" "${args[@]}" "$@"
