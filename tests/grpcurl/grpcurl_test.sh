#!/usr/bin/env bash
# Starts the real sam2_server (micro test model, ports picked by the kernel)
# and calls it as the README shows: grpcurl through server reflection
# (list, describe, GetServerInfo, CreateImageSession + Segment, an error
# status) and curl on /metrics. Stops it with SIGTERM and expects exit 0.
set -euo pipefail

cd "${TEST_SRCDIR:?}/${TEST_WORKSPACE:?}"
T="${TEST_TMPDIR:?}"
MODEL="$PWD/tests/fixtures/sam2.1-micro/model.pt"
IMAGE="$PWD/tests/fixtures/sam2.1-micro/image.png"

# grpcurl: $GRPCURL, else .tools/bin/grpcurl of the workspace this test's
# data comes from (scripts/install.sh puts it there).
grpcurl="${GRPCURL:-}"
if [ -z "$grpcurl" ]; then
  model_source=$(readlink -f "$MODEL")
  workspace=${model_source%/tests/fixtures/sam2.1-micro/model.pt}
  grpcurl="$workspace/.tools/bin/grpcurl"
fi
if [ ! -x "$grpcurl" ]; then
  echo "SKIPPED: grpcurl not installed (scripts/install.sh installs it; looked for $grpcurl)"
  exit 0
fi
echo "grpcurl: $grpcurl"

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_in() {  # FILE TEXT WHAT
  grep -qF -- "$2" "$1" || { fail "$3: '$2' not in:"; cat "$1" >&2; }
}

server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
}
trap stop_server EXIT

# Created before the server starts: the polling sed below must find the
# file even if it runs before the background shell opens it (under set -e a
# failing sed in $(...) would end the test).
: >"$T/server.out"
: >"$T/server.err"
server/sam2_server --address=127.0.0.1:0 --http_address=127.0.0.1:0 \
    --fallback_checkpoint="$MODEL" --warm_up=false >"$T/server.out" 2>"$T/server.err" &
server_pid=$!

port=""
for _ in $(seq 600); do
  port=$(sed -n 's/^sam2_server listening on port \([0-9]*\)$/\1/p' "$T/server.out")
  [ -n "$port" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "sam2_server exited before listening:" >&2; cat "$T/server.err" >&2; exit 1
  fi
  sleep 0.1
done
[ -n "$port" ] || { echo "sam2_server did not listen within 60 s" >&2; cat "$T/server.err" >&2; exit 1; }
metrics_url=$(sed -n 's/^sam2_server: metrics at \(http:[^ ]*\)$/\1/p' "$T/server.err")
echo "gRPC port $port, metrics $metrics_url"
target="127.0.0.1:$port"
call() {  # OUTFILE grpcurl-args...
  local out="$1"; shift
  "$grpcurl" -plaintext "$@" >"$out" 2>&1 || true
  echo "--- grpcurl $*"; head -c 1500 "$out"; echo
}

call "$T/list" "$target" list
expect_in "$T/list" "sam2.v1.Sam2Service" "list"
expect_in "$T/list" "grpc.health.v1.Health" "list"

# The health service through reflection alone (no -proto flags).
call "$T/health" "$target" grpc.health.v1.Health/Check
expect_in "$T/health" '"status": "SERVING"' "Health/Check"

call "$T/describe" "$target" describe sam2.v1.Sam2Service
expect_in "$T/describe" "sam2.v1.Sam2Service is a service" "describe"
expect_in "$T/describe" "rpc Segment ( .sam2.v1.SegmentRequest ) returns ( .sam2.v1.SegmentResponse )" "describe"
expect_in "$T/describe" "rpc PropagateVideo ( .sam2.v1.PropagateVideoRequest ) returns ( stream .sam2.v1.PropagateVideoResponse )" "describe"

call "$T/info" "$target" sam2.v1.Sam2Service/GetServerInfo
expect_in "$T/info" '"meaningless_masks": true' "GetServerInfo"
expect_in "$T/info" '"max_points": 64' "GetServerInfo"

# bytes fields are base64 in JSON; the request is read from stdin (-d @).
printf '{"image": "%s"}' "$(base64 -w0 "$IMAGE")" >"$T/create.json"
call "$T/session" -d @ "$target" sam2.v1.Sam2Service/CreateImageSession <"$T/create.json"
expect_in "$T/session" '"height": 400' "CreateImageSession"
expect_in "$T/session" '"width": 600' "CreateImageSession"
session=$(sed -n 's/^ *"name": "\(sessions\/[^"]*\)".*/\1/p' "$T/session")
[ -n "$session" ] || fail "CreateImageSession returned no session name"

call "$T/segment" -d "{\"session\": \"$session\", \"points\": [{\"x\": 270, \"y\": 220, \"label\": 1}]}" \
    "$target" sam2.v1.Sam2Service/Segment
expect_in "$T/segment" '"rle_counts": "' "Segment"
expect_in "$T/segment" '"iou_scores": [' "Segment"
[ "$(grep -c '"rle_counts"' "$T/segment")" = 3 ] ||
  fail "Segment: expected 3 masks (multimask_output defaults to true)"

# A click off the image: INVALID_ARGUMENT with a message.
call "$T/bad" -d "{\"session\": \"$session\", \"points\": [{\"x\": 900, \"y\": 10, \"label\": 1}]}" \
    "$target" sam2.v1.Sam2Service/Segment
expect_in "$T/bad" "Code: InvalidArgument" "off-image click"
expect_in "$T/bad" "point coordinates must lie on the image" "off-image click"

call "$T/delete" -d "{\"name\": \"$session\"}" "$target" sam2.v1.Sam2Service/DeleteSession
call "$T/gone" -d "{\"name\": \"$session\"}" "$target" sam2.v1.Sam2Service/GetImageSession
expect_in "$T/gone" "Code: NotFound" "GetImageSession after DeleteSession"

if [ -z "$metrics_url" ]; then
  fail "no 'metrics at' line on the server's stderr"
else
  curl -fsS "$metrics_url" >"$T/metrics" 2>&1 || fail "GET $metrics_url failed"
  echo "--- curl $metrics_url"; grep -E '^sam2_(requests_total|sessions)' "$T/metrics" || true
  expect_in "$T/metrics" 'sam2_requests_total{method="Segment",code="OK"} 1' "/metrics"
  expect_in "$T/metrics" 'sam2_requests_total{method="CreateImageSession",code="OK"} 1' "/metrics"
  expect_in "$T/metrics" 'sam2_requests_total{method="Segment",code="INVALID_ARGUMENT"} 1' "/metrics"
fi

# SIGTERM drains and exits 0.
kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=""
[ "$rc" = 0 ] || { fail "sam2_server exited $rc after SIGTERM"; cat "$T/server.err" >&2; }

if [ "$failures" != 0 ]; then
  echo "grpcurl_test: $failures check(s) failed" >&2
  exit 1
fi
echo "grpcurl_test: all checks passed"
