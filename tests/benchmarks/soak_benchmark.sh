#!/usr/bin/env bash
# Soak: does the server's memory stay flat under a long mixed load, and is
# every session's memory returned once the sessions are gone?
#
# One sam2_server; `sam2 loadtest --scenario=mix` run back to back in rounds
# of ROUND (each round uploads its video sessions and image sessions,
# clicks, creates and deletes image sessions, streams propagations, cancels
# the streams still running when the round ends and deletes its sessions)
# until DURATION has passed. The server's RSS (/proc/PID/status VmRSS) and
# its live sessions and session bytes (/metrics) are sampled every INTERVAL.
# Prints the samples, then:
#   - the RSS slope after warm-up (least squares over the samples after the
#     first WARMUP), in MiB per hour, and RSS at the start/end of that span;
#   - after the last round: live sessions and session bytes (both must be 0:
#     every session deleted and its tensors released), and RSS then.
# Asserts nothing (a benchmark): read the slope against the RSS.
#
# Usage: tests/benchmarks/soak_benchmark.sh CHECKPOINT [DURATION (30m)]
#            [ROUND (60s)] [INTERVAL (10s)] [WARMUP (5m)] [server flags...]
# Durations as `sleep` takes them (s/m/h suffixes). The micro fixture
# (tests/fixtures/sam2.1-micro/model.pt) runs every code path at a fraction
# of the compute; a real checkpoint is the production picture.
# Needs `bazel build //server:sam2_server //client:sam2` (or the binaries
# named by $SAM2_SERVER and $SAM2_TOOL).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ckpt=${1:?usage: soak_benchmark.sh CHECKPOINT [DURATION] [ROUND] [INTERVAL] [WARMUP] [server flags...]}
duration=${2:-30m}
round=${3:-60s}
interval=${4:-10s}
warmup=${5:-5m}
shift $(( $# < 5 ? $# : 5 ))
server=${SAM2_SERVER:-bazel-bin/server/sam2_server}
tool=${SAM2_TOOL:-bazel-bin/client/sam2}
for b in "$server" "$tool"; do
  [ -x "$b" ] || { echo "missing $b: bazel build //server:sam2_server //client:sam2" >&2; exit 1; }
done
seconds() {  # 90s, 5m, 1h, 42 -> seconds
  local v=$1
  case "$v" in
    *h) echo $(( ${v%h} * 3600 )) ;;
    *m) echo $(( ${v%m} * 60 )) ;;
    *s) echo "${v%s}" ;;
    *) echo "$v" ;;
  esac
}
total_s=$(seconds "$duration")
interval_s=$(seconds "$interval")
warmup_s=$(seconds "$warmup")

work=$(mktemp -d)
pid=
sampler=
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

source tests/benchmarks/server_launch.sh
start_sam2_server "$work/out" "$work/err" --checkpoint="$ckpt" \
  --address=127.0.0.1:0 --http_address=127.0.0.1:0 --web_ui=false "$@"
pid=$SERVER_PID
port=$SERVER_PORT
http_port=$(sed -n 's|.*metrics at http://[^:]*:\([0-9]*\)/metrics.*|\1|p' "$work/err")
[ -n "$http_port" ] || { echo "soak: no metrics port in the server's log" >&2; exit 1; }

# One sample: seconds since start, RSS KiB, live sessions, session bytes.
sample() {
  local rss live bytes metrics
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
  metrics=$(curl -sf "http://127.0.0.1:$http_port/metrics" || true)
  live=$(printf '%s\n' "$metrics" | awk '/^sam2_sessions\{/ {n += $2} END {print n + 0}')
  bytes=$(printf '%s\n' "$metrics" | awk '/^sam2_session_bytes / {print $2 + 0}')
  echo "$(( $(date +%s) - start )) $rss $live ${bytes:-0}"
}
start=$(date +%s)
echo "soak: server pid $pid, gRPC port $port, metrics port $http_port; $duration in rounds of $round, a sample every $interval"
echo "   t_s  rss_mib  live_sessions  session_mib"
(
  while true; do
    sample >> "$work/samples"
    tail -n 1 "$work/samples" | awk '{printf "%6d %8.1f %14d %12.1f\n", $1, $2 / 1024, $3, $4 / 1048576}'
    sleep "$interval_s"
  done
) &
sampler=$!

rounds=0
while [ $(( $(date +%s) - start )) -lt "$total_s" ]; do
  rounds=$((rounds + 1))
  # Weights: clicks dominate, as in an annotation tool; every round also
  # uploads and deletes image sessions and streams (and cancels) videos.
  "$tool" loadtest --server="127.0.0.1:$port" \
    --mix=segment:6,create_image:2,propagate:2 --concurrency=4 \
    --video_sessions=2 --video_frames=8 --duration="$round" --warmup=0s \
    --seed="$rounds" > "$work/round.$rounds" 2>&1 || {
      echo "soak: round $rounds failed:" >&2; tail -n 20 "$work/round.$rounds" >&2; exit 1; }
  kill -0 "$pid" 2>/dev/null || { echo "soak: the server died" >&2; tail -n 40 "$work/err" >&2; exit 1; }
done
kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; sampler=
final=$(sample)
echo "soak: $rounds rounds done; after the last round (its sessions deleted): $final" \
  | awk '{print}'

awk -v warm="$warmup_s" -v final="$final" -v rounds="$rounds" '
  $1 >= warm { n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2
               if (n == 1) first = $2; last = $2 }
  END {
    split(final, f, " ")
    if (n < 3) { print "soak: fewer than 3 samples after warm-up: no slope"; exit }
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)          # KiB per second
    printf "RSS after warm-up: %.1f MiB at the start, %.1f MiB at the end, %d samples\n", first / 1024, last / 1024, n
    printf "RSS slope after warm-up: %+.1f MiB/hour\n", slope * 3600 / 1024
    printf "after the last round: %d live sessions, %.1f MiB session bytes, RSS %.1f MiB\n", f[3], f[4] / 1048576, f[2] / 1024
  }' "$work/samples"
