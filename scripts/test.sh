#!/usr/bin/env bash
# Installs what is needed (scripts/install.sh), then builds and runs every
# test: `bazel test //...`. Extra arguments go to bazel test.
# Ends with one line "tests: N passed, M failed".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/install.sh || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
bazel test //... "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|NO STATUS|INCOMPLETE|FAILED TO BUILD)' "$log")
echo "bazel test took $(( $(date +%s) - start )) s"
echo "tests: ${passed} passed, ${failed} failed"
if [ "$rc" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "test.sh: bazel ran no test" >&2
  exit 1
fi
exit "$rc"
