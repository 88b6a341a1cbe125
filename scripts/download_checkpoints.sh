#!/usr/bin/env bash
# Downloads Meta's official SAM 2 / SAM 2.1 checkpoints (the files that
# facebookresearch/sam2's checkpoints/download_ckpts.sh names) and puts each
# in place only once it loads as the variant asked for.
#
# Usage: scripts/download_checkpoints.sh [--dir DIR] [VARIANT...]
#   VARIANT   sam2.1_hiera_tiny (the default), sam2.1_hiera_small,
#             sam2.1_hiera_base_plus, sam2.1_hiera_large, sam2_hiera_tiny,
#             sam2_hiera_small, sam2_hiera_base_plus, sam2_hiera_large,
#             or `all` for the eight.
#   --dir     where the files go (default: checkpoints/ in the repository);
#             each becomes DIR/VARIANT.pt.
#
# Each file downloads into DIR/VARIANT.pt.part, resuming a .part left by an
# interrupted run (curl -C -). When the download is complete, the file is
# checked with the project's own loader (`sam2 inspect`): it must load and
# its tensors must be detected as VARIANT. Only then is it renamed to
# DIR/VARIANT.pt; a file that does not load or is another variant is
# deleted and the script fails. A VARIANT.pt already present is kept as it
# is. Nothing half-downloaded ever carries the .pt name.
#
# Environment:
#   SAM2_CHECKPOINT_BASE_URL  download every file from BASE/VARIANT.pt
#                             instead of Meta's servers (a mirror, or a
#                             file:///dir URL in tests)
#   SAM2_TOOL                 the `sam2` command-line tool used to check the
#                             files (default: bazel-bin/client/sam2, built
#                             with `bazel build //client:sam2` when absent)
#
# Exit status: 0 when every VARIANT.pt is in place, 1 when a download or a
# check failed (one line on stderr says which and why), 2 on bad usage.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=download_checkpoints.sh

# Meta's public URLs (dl.fbaipublicfiles.com): SAM 2 of 2024-07-28 and
# SAM 2.1 of 2024-09-28.
SAM2_URL="https://dl.fbaipublicfiles.com/segment_anything_2/072824"
SAM2_1_URL="https://dl.fbaipublicfiles.com/segment_anything_2/092824"
ALL_VARIANTS=(
  sam2.1_hiera_tiny sam2.1_hiera_small sam2.1_hiera_base_plus sam2.1_hiera_large
  sam2_hiera_tiny sam2_hiera_small sam2_hiera_base_plus sam2_hiera_large
)

usage() {
  echo "usage: $PROG [--dir DIR] [VARIANT...|all]   (VARIANT: ${ALL_VARIANTS[*]})" >&2
  exit 2
}

dir="$ROOT/checkpoints"
variants=()
while (($#)); do
  case "$1" in
    --dir) (($# >= 2)) || usage; dir="$2"; shift 2 ;;
    --dir=*) dir="${1#--dir=}"; shift ;;
    -h|--help) usage ;;
    -*) echo "$PROG: unknown option $1" >&2; usage ;;
    all) variants+=("${ALL_VARIANTS[@]}"); shift ;;
    *)
      known=0
      for v in "${ALL_VARIANTS[@]}"; do [ "$v" = "$1" ] && known=1; done
      if [ "$known" = 0 ]; then
        echo "$PROG: unknown variant '$1' (one of: ${ALL_VARIANTS[*]}, all)" >&2
        exit 2
      fi
      variants+=("$1"); shift ;;
  esac
done
((${#variants[@]})) || variants=(sam2.1_hiera_tiny)

command -v curl >/dev/null || { echo "$PROG: curl is needed (apt-get install curl)" >&2; exit 1; }

url_of() {
  local variant="$1"
  if [ -n "${SAM2_CHECKPOINT_BASE_URL:-}" ]; then
    echo "${SAM2_CHECKPOINT_BASE_URL%/}/$variant.pt"
  elif [[ "$variant" == sam2.1_* ]]; then
    echo "$SAM2_1_URL/$variant.pt"
  else
    echo "$SAM2_URL/$variant.pt"
  fi
}

# The checker: the project's `sam2` tool, built on first use.
tool="${SAM2_TOOL:-$ROOT/bazel-bin/client/sam2}"
ensure_tool() {
  [ -x "$tool" ] && return 0
  if [ -n "${SAM2_TOOL:-}" ]; then
    echo "$PROG: SAM2_TOOL=$SAM2_TOOL is not an executable" >&2
    exit 1
  fi
  echo "$PROG: building the checker (bazel build //client:sam2)" >&2
  (cd "$ROOT" && bazel build //client:sam2 >&2) || {
    echo "$PROG: cannot build //client:sam2 to check the downloads" >&2
    exit 1
  }
}

# Sets DETECTED to the variant FILE's tensors are detected as, or returns 1
# with DETECT_ERROR set to the loader's one-line complaint. The file is
# inspected through a symlink in a fresh folder, so that no model config
# lying beside the download is picked up instead of detecting the variant
# from the tensors.
DETECTED=""
DETECT_ERROR=""
detect_variant() {
  local file="$1" probe out rc=0
  DETECTED=""
  DETECT_ERROR=""
  probe=$(mktemp -d)
  ln -s "$(cd "$(dirname "$file")" && pwd)/$(basename "$file")" "$probe/checkpoint.pt"
  out=$("$tool" inspect "$probe/checkpoint.pt" 2>&1) || rc=$?
  rm -rf "$probe"
  if [ "$rc" != 0 ]; then
    DETECT_ERROR=$(printf '%s\n' "$out" | grep -v '^$' | tail -n 1 |
        sed -e 's/^sam2 inspect: //' -e "s|$probe/checkpoint.pt|$file|g" \
            -e 's/; pass the model config explicitly with --config$//')
    return 1
  fi
  # "variant:    sam2.1_hiera_tiny (sam2.1, config detected from the tensors)"
  DETECTED=$(printf '%s\n' "$out" | sed -n 's/^variant: *\([^ ]*\).*/\1/p' | head -n 1)
}

# A hint on why curl failed, from its exit status.
curl_hint() {
  case "$1" in
    5|6) echo " (offline?)" ;;
    7|28) echo " (offline, or blocked by a firewall?)" ;;
    33) echo " (the server cannot resume: delete the .part file to start over)" ;;
    *) echo "" ;;
  esac
}

mkdir -p "$dir"
failed=0
for variant in "${variants[@]}"; do
  final="$dir/$variant.pt"
  part="$final.part"
  url=$(url_of "$variant")
  if [ -f "$final" ]; then
    echo "$PROG: $final is already there"
    continue
  fi
  ensure_tool
  if [ -s "$part" ]; then
    echo "$PROG: resuming $variant from $(stat -c %s "$part") bytes: $url"
  else
    echo "$PROG: downloading $variant: $url"
  fi
  # On a terminal curl draws a progress bar (and prints its own error line);
  # otherwise its error goes into our one-line message.
  errlog=$(mktemp)
  rc=0
  if [ -t 2 ]; then
    curl -fL --progress-bar --connect-timeout 20 --retry 2 --retry-delay 2 \
        -C - -o "$part" "$url" || rc=$?
  else
    curl -fL -sS --connect-timeout 20 --retry 2 --retry-delay 2 \
        -C - -o "$part" "$url" 2>"$errlog" || rc=$?
  fi
  curl_error=$(grep -v '^$' "$errlog" | tail -n 1 || true)
  rm -f "$errlog"
  if [ "$rc" != 0 ]; then
    # A .part that is already complete makes some servers refuse the resume
    # (HTTP 416); it is accepted below if it checks out.
    if [ -s "$part" ] && detect_variant "$part" && [ "$DETECTED" = "$variant" ]; then
      echo "$PROG: $part was already complete"
    else
      if [ -e "$part" ] && [ ! -s "$part" ]; then rm -f "$part"; fi
      kept=""
      if [ -s "$part" ]; then
        kept="; partial data kept in $part (rerun to resume)"
      fi
      echo "$PROG: cannot download $variant from $url: ${curl_error:-curl exit status $rc}$(curl_hint "$rc")$kept" >&2
      failed=1
      continue
    fi
  fi
  why=""
  if ! detect_variant "$part"; then
    why="$DETECT_ERROR"
  elif [ "$DETECTED" != "$variant" ]; then
    why="it holds ${DETECTED:-an unrecognised model}, not $variant"
  fi
  if [ -n "$why" ]; then
    rm -f "$part"
    echo "$PROG: rejected the download of $variant from $url (deleted it): $why" >&2
    failed=1
    continue
  fi
  mv -f "$part" "$final"
  echo "$PROG: $final is in place ($(stat -c %s "$final") bytes, checked: $variant)"
done
exit "$failed"
