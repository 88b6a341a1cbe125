# Sourced by the benchmark scripts: starts bazel-bin/server/sam2_server (or
# $SAM2_SERVER) in the background and waits for its "listening on port N"
# line.
#   start_sam2_server OUT ERR [server flags...]
# sets SERVER_PID and SERVER_PORT; on a server that exits first or never
# says it listens, prints its stderr and exits 1.
start_sam2_server() {
  local out=$1 err=$2
  shift 2
  # Created first, so the polling below never reads a file the background
  # shell has not opened yet (fatal under set -e).
  : > "$out"
  : > "$err"
  "${SAM2_SERVER:-bazel-bin/server/sam2_server}" "$@" > "$out" 2> "$err" &
  SERVER_PID=$!
  SERVER_PORT=
  for _ in $(seq 1200); do
    SERVER_PORT=$(sed -n 's/.*sam2_server listening on port \([0-9]*\).*/\1/p' "$out")
    [ -n "$SERVER_PORT" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$err" >&2; exit 1; }
    sleep 0.2
  done
  echo "the server did not start in 240 s" >&2
  exit 1
}
