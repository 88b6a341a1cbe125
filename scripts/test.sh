#!/usr/bin/env bash
# Installs what is needed (scripts/install.sh), then builds and runs every
# test: `bazel test //...` (extra arguments go to bazel test), the sanitizer
# runs (--config=tsan and --config=asan on the concurrent server, session
# and client tests), then the Python
# client's tests (pytest clients/python, against bazel-bin/server/sam2_server).
# Ends with one line "tests: N passed, M failed": Bazel test targets plus
# pytest test cases plus the container test (tests/deploy/container_test.sh).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/install.sh || exit 1

log=$(mktemp)
pyxml=$(mktemp --suffix=.xml)
ctlog=$(mktemp)
trap 'rm -f "$log" "$pyxml" "$ctlog"' EXIT
start=$(date +%s)
bazel test //... "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|NO STATUS|INCOMPLETE|FAILED TO BUILD)' "$log")
echo "bazel test took $(( $(date +%s) - start )) s"

# Sanitizer runs (bounded: the concurrent server, session and client tests,
# not everything): ThreadSanitizer on the in-process server with its
# streams, batcher and web API, ASan + UBSan on the session and client
# libraries and the HTTP server (plaintext and HTTPS). Suppressions:
# tests/server/tsan_suppressions.txt, each entry explained. Counted with the
# Bazel targets above.
TSAN_TARGETS=(//tests/server:concurrency_test //tests/server:streaming_test
              //server:segment_batcher_test //server:web_api_test
              //server:http_server_test //server:http_tls_test
              //server:authenticator_test //server:tenant_in_flight_test)
ASAN_TARGETS=(//server:http_server_test //server:http_tls_test
              //server:segment_batcher_test
              //server:token_file_test //server:authenticator_test
              //session:image_session_test //session:mask_encoding_test
              //client:cli_args_test //client:session_routing_test
              //client:credentials_options_test)
start=$(date +%s)
for config in tsan asan; do
  if [ "$config" = tsan ]; then targets=("${TSAN_TARGETS[@]}"); else targets=("${ASAN_TARGETS[@]}"); fi
  sanlog=$(mktemp)
  bazel test --config="$config" "${targets[@]}" 2>&1 | tee "$sanlog"
  san_rc=${PIPESTATUS[0]}
  passed=$((passed + $(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$sanlog")))
  failed=$((failed + $(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|NO STATUS|INCOMPLETE|FAILED TO BUILD)' "$sanlog")))
  rm -f "$sanlog"
  if [ "$san_rc" -ne 0 ] && [ "$rc" -eq 0 ]; then rc=$san_rc; fi
done
echo "sanitizer tests took $(( $(date +%s) - start )) s"

# The Python client's tests start the real server binary: build it (a no-op
# after `bazel test //...`, which built it). Counts come from pytest's JUnit
# XML: passed = tests - failures - errors - skipped; failed = failures +
# errors; a failed pytest run that reported no failure counts as 1 failed.
py_passed=0
py_failed=0
start=$(date +%s)
if ! bazel build //server:sam2_server; then
  echo "test.sh: //server:sam2_server did not build; the Python client tests did not run" >&2
  py_failed=1
  py_rc=1
else
  rm -f "$pyxml"
  .venv-client/bin/python -m pytest clients/python -q -p no:cacheprovider \
      --junitxml="$pyxml"
  py_rc=$?
  if counts=$(.venv-client/bin/python - "$pyxml" <<'EOF'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
n = {k: sum(int(s.get(k, 0)) for s in suites)
     for k in ("tests", "failures", "errors", "skipped")}
print(n["tests"] - n["failures"] - n["errors"] - n["skipped"], n["failures"] + n["errors"])
EOF
  ); then
    read -r py_passed py_failed <<<"$counts"
  fi
  if [ "$py_rc" -ne 0 ] && [ "$py_failed" -eq 0 ]; then py_failed=1; fi
fi
echo "python client tests took $(( $(date +%s) - start )) s: ${py_passed} passed, ${py_failed} failed"

# The container image, built and run with podman (not a hermetic Bazel
# test: it needs the Debian archive and container storage). Its last line
# is "container test: N passed, M failed[, K skipped]".
ct_passed=0
ct_failed=0
if bazel build //server:sam2_server //client:sam2 >/dev/null 2>&1; then
  bash tests/deploy/container_test.sh | tee "$ctlog"
  ct_rc=${PIPESTATUS[0]}
  ct_line=$(tail -1 "$ctlog")
  if [[ "$ct_line" =~ ^container\ test:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    ct_passed=${BASH_REMATCH[1]}
    ct_failed=${BASH_REMATCH[2]}
  fi
  if [ "$ct_rc" -ne 0 ] && [ "$ct_failed" -eq 0 ]; then ct_failed=1; fi
else
  echo "test.sh: the binaries did not build; the container test did not run" >&2
  ct_failed=1
fi

echo "tests: $((passed + py_passed + ct_passed)) passed, $((failed + py_failed + ct_failed)) failed"
if [ "$rc" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "test.sh: bazel ran no test" >&2
  exit 1
fi
if [ "$rc" -eq 0 ]; then rc=$py_rc; fi
if [ "$rc" -eq 0 ] && [ "$ct_failed" -ne 0 ]; then rc=1; fi
exit "$rc"
