#!/usr/bin/env bash
# scripts/download_checkpoints.sh, hermetically: every "download" is a
# file:// URL into TEST_TMPDIR (SAM2_CHECKPOINT_BASE_URL), the checker is the
# `sam2` tool from the runfiles (SAM2_TOOL). Cases:
#   1. the micro test model served as sam2.1_hiera_tiny.pt: loads, but is no
#      official variant -> rejected, nothing left behind, exit 1;
#   2. a file with the full sam2.1_hiera_tiny tensor layout (zeros, written
#      by make_layout_checkpoint) served as sam2.1_hiera_small.pt: the
#      detected variant differs -> rejected, exit 1;
#   3. the same file served as sam2.1_hiera_tiny.pt -> accepted, in place,
#      byte-identical; a second run keeps it;
#   4. a resumed download: a .part holding the first part of the file is
#      completed (curl -C -) and accepted;
#   5. a source that cannot be reached (missing file, refused connection)
#      -> exit 1 with one line on stderr, no .pt;
#   6. bad usage (unknown variant or option) -> exit 2.
set -euo pipefail

cd "${TEST_SRCDIR:?}/${TEST_WORKSPACE:?}"
SCRIPT="$PWD/scripts/download_checkpoints.sh"
export SAM2_TOOL="$PWD/client/sam2"
MAKE_LAYOUT="$PWD/tests/scripts/make_layout_checkpoint"
MICRO="$PWD/tests/fixtures/sam2.1-micro/model.pt"
T="${TEST_TMPDIR:?}"
export TMPDIR="$T"

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# Runs the script, recording its exit status, stdout and stderr.
run() {
  rc=0
  "$SCRIPT" "$@" >"$T/out" 2>"$T/err" || rc=$?
  echo "--- download_checkpoints.sh $* (exit $rc)"
  cat "$T/out" "$T/err"
}
expect_rc() { [ "$rc" = "$1" ] || fail "expected exit $1, got $rc"; }
expect_err() { grep -q -- "$1" "$T/err" || fail "stderr lacks '$1'"; }
expect_one_err_line() {
  [ "$(wc -l <"$T/err")" = 1 ] || fail "expected one line on stderr, got $(wc -l <"$T/err")"
}
expect_absent() { [ ! -e "$1" ] || fail "$1 should not exist"; }

src="$T/mirror"
dest="$T/checkpoints"
mkdir -p "$src"
export SAM2_CHECKPOINT_BASE_URL="file://$src"

# 1. Not an official variant.
cp "$MICRO" "$src/sam2.1_hiera_tiny.pt"
run --dir "$dest"
expect_rc 1
expect_err "rejected the download of sam2.1_hiera_tiny"
expect_err "none of the official variants"
expect_one_err_line
expect_absent "$dest/sam2.1_hiera_tiny.pt"
expect_absent "$dest/sam2.1_hiera_tiny.pt.part"

# 2. An official layout, but another variant than the one asked for.
"$MAKE_LAYOUT" sam2.1_hiera_tiny "$src/sam2.1_hiera_tiny.pt"
ln -s sam2.1_hiera_tiny.pt "$src/sam2.1_hiera_small.pt"
run --dir "$dest" sam2.1_hiera_small
expect_rc 1
expect_err "it holds sam2.1_hiera_tiny, not sam2.1_hiera_small"
expect_one_err_line
expect_absent "$dest/sam2.1_hiera_small.pt"
expect_absent "$dest/sam2.1_hiera_small.pt.part"

# 3. The variant asked for (the default one): accepted.
run --dir "$dest"
expect_rc 0
grep -q "is in place" "$T/out" || fail "no 'is in place' line"
cmp -s "$src/sam2.1_hiera_tiny.pt" "$dest/sam2.1_hiera_tiny.pt" ||
  fail "$dest/sam2.1_hiera_tiny.pt differs from the source"
expect_absent "$dest/sam2.1_hiera_tiny.pt.part"
run --dir="$dest" sam2.1_hiera_tiny
expect_rc 0
grep -q "already there" "$T/out" || fail "a present .pt was not kept"

# 4. Resume: a .part with the first 10 MB is completed, then accepted.
rm -f "$dest/sam2.1_hiera_tiny.pt"
head -c 10000000 "$src/sam2.1_hiera_tiny.pt" >"$dest/sam2.1_hiera_tiny.pt.part"
run --dir "$dest" sam2.1_hiera_tiny
expect_rc 0
grep -q "resuming sam2.1_hiera_tiny from 10000000 bytes" "$T/out" || fail "did not resume"
cmp -s "$src/sam2.1_hiera_tiny.pt" "$dest/sam2.1_hiera_tiny.pt" ||
  fail "the resumed file differs from the source"
expect_absent "$dest/sam2.1_hiera_tiny.pt.part"
rm -f "$dest/sam2.1_hiera_tiny.pt" "$src/sam2.1_hiera_tiny.pt"

# 5. Unreachable: a missing file, then a refused connection (a port
# nothing listens on, found by binding and closing one).
run --dir "$dest" sam2_hiera_large
expect_rc 1
expect_err "cannot download sam2_hiera_large from file://$src/sam2_hiera_large.pt"
expect_one_err_line
expect_absent "$dest/sam2_hiera_large.pt"
expect_absent "$dest/sam2_hiera_large.pt.part"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 9)
SAM2_CHECKPOINT_BASE_URL="http://127.0.0.1:$port/x" run --dir "$dest" sam2_hiera_tiny
expect_rc 1
expect_err "cannot download sam2_hiera_tiny"
expect_err "offline"
expect_one_err_line
expect_absent "$dest/sam2_hiera_tiny.pt"

# 6. Bad usage.
run --dir "$dest" sam3_hiera_tiny
expect_rc 2
expect_err "unknown variant 'sam3_hiera_tiny'"
run --bogus
expect_rc 2

if [ "$failures" != 0 ]; then
  echo "download_checkpoints_test: $failures check(s) failed" >&2
  exit 1
fi
echo "download_checkpoints_test: all cases passed"
