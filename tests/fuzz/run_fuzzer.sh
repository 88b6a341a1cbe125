#!/bin/bash
# Builds one libFuzzer target with clang++ and fuzzes it for a bounded time:
# the shared runner behind every sam2_fuzz_test (tests/fuzz/fuzz_test.bzl).
#
# Bazel's toolchain here is gcc, which has no libFuzzer, so this script
# compiles the target's sources itself with clang++ -fsanitize=fuzzer,
# address,undefined against Debian's shared libraries (and, with --libtorch,
# the LibTorch that Bazel links: @libtorch//:origin names its directory),
# then runs libFuzzer from the seed corpus for SAM2_FUZZ_SECONDS. Any crash,
# sanitizer report, leak, timeout or broken invariant (the harness aborts)
# fails the test, and the offending input is saved under the test's
# undeclared outputs (bazel-testlogs/<package>/<target>/test.outputs/
# outputs.zip, as crash-<sha1>) to be committed as a regression seed.
#
# Usage (from the runfiles root, as Bazel runs tests):
#   run_fuzzer.sh --name NAME --src FILE... [--cflag=FLAG]... [--lib=FLAG]...
#                 [--libtorch ORIGIN_TXT] [--proto FILE.proto]...
#                 [--corpus DIR]... [--seed FILE]... [--zip_seed ZIP:ENTRY]...
#                 [--dict FILE] [--max_len BYTES]
#   --src       a source to compile (workspace-relative; includes resolve
#               against the workspace root)
#   --cflag     an extra compile flag (e.g. -I/usr/include/opencv4)
#   --lib       an extra link flag (e.g. -lyaml-cpp)
#   --libtorch  compile and link against LibTorch (c10, torch_cpu); the
#               argument is the runfiles path of @libtorch//:origin
#   --proto     generate and compile FILE.proto's C++ code with Debian's
#               protoc (link with --lib=-lprotobuf)
#   --corpus    a directory of seed inputs (copied; libFuzzer adds to the copy)
#   --seed      one seed input
#   --zip_seed  one seed input read out of a zip archive
#   --dict      a libFuzzer dictionary
#   --max_len   largest input libFuzzer generates (default 65536)
#
# Without clang++ or its fuzzer runtime (Debian: clang, libclang-rt-14-dev)
# the test FAILS, unless SAM2_ALLOW_NO_CLANG=1 is set, e.g.
#   bazel test --test_env=SAM2_ALLOW_NO_CLANG=1 //model:image_io_fuzz_test
# in which case it says so and passes.
#
# Knobs (environment): SAM2_FUZZ_SECONDS (default 12), SAM2_FUZZ_CXX (the
# compiler; default the first of clang++, clang++-14..16 on PATH).

set -euo pipefail

readonly DEFAULT_FUZZ_SECONDS=12
readonly DEFAULT_MAX_LEN=65536
# One input may take this long before libFuzzer calls it a hang.
readonly INPUT_TIMEOUT_S=10
readonly RSS_LIMIT_MB=2048

name=""
srcs=()
cflags=()
libs=()
libtorch_origin=""
protos=()
corpora=()
seeds=()
zip_seeds=()
dict=""
max_len="${DEFAULT_MAX_LEN}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name) name="$2"; shift 2 ;;
    --src) srcs+=("$2"); shift 2 ;;
    --cflag=*) cflags+=("${1#--cflag=}"); shift ;;
    --lib=*) libs+=("${1#--lib=}"); shift ;;
    --libtorch) libtorch_origin="$2"; shift 2 ;;
    --proto) protos+=("$2"); shift 2 ;;
    --corpus) corpora+=("$2"); shift 2 ;;
    --seed) seeds+=("$2"); shift 2 ;;
    --zip_seed) zip_seeds+=("$2"); shift 2 ;;
    --dict) dict="$2"; shift 2 ;;
    --max_len) max_len="$2"; shift 2 ;;
    *) echo "run_fuzzer.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -n "${name}" && ${#srcs[@]} -gt 0 ]] || {
  echo "run_fuzzer.sh: --name and at least one --src are required" >&2
  exit 2
}

fuzz_seconds="${SAM2_FUZZ_SECONDS:-${DEFAULT_FUZZ_SECONDS}}"
work="${TEST_TMPDIR:-$(mktemp -d)}/${name}"
artifacts="${TEST_UNDECLARED_OUTPUTS_DIR:-${work}}"
mkdir -p "${work}/corpus" "${work}/gen" "${artifacts}"

say() { echo "${name}: $*" >&2; }

missing_toolchain() {
  say "$1"
  if [[ "${SAM2_ALLOW_NO_CLANG:-}" == "1" ]]; then
    say "SKIPPED (SAM2_ALLOW_NO_CLANG=1): NOT fuzzed."
    exit 0
  fi
  say "install clang and libclang-rt-14-dev, or set SAM2_ALLOW_NO_CLANG=1" \
    "(--test_env) to skip fuzzing."
  exit 1
}

# Runfiles of an external repository: external/<repo>/<path> under the main
# workspace's runfiles (legacy layout), else <repo>/<path> beside it.
runfile() {
  local path="$1"
  if [[ -e "${path}" ]]; then
    echo "${path}"
  elif [[ "${path}" == external/* && -e "${TEST_SRCDIR:-..}/${path#external/}" ]]; then
    echo "${TEST_SRCDIR:-..}/${path#external/}"
  else
    say "missing runfile ${path}"
    exit 1
  fi
}

# --- toolchain ----------------------------------------------------------------
cxx=""
for candidate in ${SAM2_FUZZ_CXX:-clang++ clang++-14 clang++-15 clang++-16}; do
  if command -v "${candidate}" >/dev/null 2>&1; then
    cxx="$(command -v "${candidate}")"
    break
  fi
done
[[ -n "${cxx}" ]] || missing_toolchain "clang++ (${SAM2_FUZZ_CXX:-clang++}) not found on PATH."
runtime="$("${cxx}" -print-file-name=libclang_rt.fuzzer-x86_64.a)"
# -print-file-name echoes the bare name back when the file does not exist.
[[ -f "${runtime}" ]] ||
  missing_toolchain "${cxx} has no libFuzzer runtime (libclang_rt.fuzzer)."

for f in "${srcs[@]}" "${protos[@]}"; do
  [[ -f "${f}" ]] || { say "missing source ${f} (run from the runfiles root)"; exit 1; }
done

# --- generated protobuf code ------------------------------------------------------
for proto in "${protos[@]}"; do
  /usr/bin/protoc -I. --cpp_out="${work}/gen" "${proto}"
  srcs+=("${work}/gen/${proto%.proto}.pb.cc")
done

# --- LibTorch -----------------------------------------------------------------------
if [[ -n "${libtorch_origin}" ]]; then
  torch_root="$(tr -d '\n' <"$(runfile "${libtorch_origin}")")"
  [[ -d "${torch_root}/include" && -d "${torch_root}/lib" ]] ||
    { say "no LibTorch at '${torch_root}' (from ${libtorch_origin})"; exit 1; }
  # As @libtorch does: leave out the wheel's copies of Protobuf and pybind11,
  # which would shadow Debian's.
  mkdir -p "${work}/torch_include"
  for entry in "${torch_root}/include"/*; do
    case "$(basename "${entry}")" in
      google | pybind11) ;;
      *) ln -sfn "${entry}" "${work}/torch_include/$(basename "${entry}")" ;;
    esac
  done
  cflags+=(-isystem "${work}/torch_include"
    -isystem "${work}/torch_include/torch/csrc/api/include")
  libs+=(-L"${torch_root}/lib" -lc10 -ltorch_cpu -Wl,--disable-new-dtags
    -Wl,-rpath,"${torch_root}/lib")
  # The wheel's CUDA runtime libraries (libtorch_cpu names two) live in
  # sibling nvidia/* packages.
  for lib in "$(dirname "${torch_root}")"/nvidia/*/lib; do
    [[ -d "${lib}" ]] && libs+=(-Wl,-rpath,"${lib}")
  done
fi

# --- build --------------------------------------------------------------------------
say "compiling ${#srcs[@]} sources with ${cxx} ..."
start=${SECONDS}
objects=()
for src in "${srcs[@]}"; do
  obj="${work}/obj/$(echo "${src}" | tr '/' '_').o"
  mkdir -p "${work}/obj"
  "${cxx}" -std=c++17 -O1 -g -fno-omit-frame-pointer \
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
    -I. -I"${work}/gen" "${cflags[@]}" -c "${src}" -o "${obj}"
  objects+=("${obj}")
done
"${cxx}" -fsanitize=fuzzer,address,undefined -o "${work}/fuzzer" \
  "${objects[@]}" "${libs[@]}" \
  -labsl_statusor -labsl_status -labsl_cord -labsl_cord_internal \
  -labsl_cordz_info -labsl_cordz_handle -labsl_cordz_functions \
  -labsl_str_format_internal -labsl_strings -labsl_strings_internal \
  -labsl_hash -labsl_city -labsl_low_level_hash -labsl_raw_hash_set \
  -labsl_synchronization -labsl_time -labsl_time_zone -labsl_int128 \
  -labsl_throw_delegate -labsl_raw_logging_internal -labsl_base \
  -labsl_spinlock_wait -lpthread
say "built in $((SECONDS - start)) s."

# --- seed corpus ----------------------------------------------------------------------
for dir in "${corpora[@]}"; do
  cp "${dir}"/* "${work}/corpus/"
done
for seed in "${seeds[@]}"; do
  # Named after the whole path: seeds may share a file name.
  cp "${seed}" "${work}/corpus/$(echo "${seed}" | tr '/' '_')"
done
for spec in "${zip_seeds[@]}"; do
  zip="${spec%%:*}"
  entry="${spec#*:}"
  out="${work}/corpus/$(basename "${zip}").$(basename "${entry}")"
  python3 -c 'import sys, zipfile
open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
    "${zip}" "${entry}" "${out}"
  [[ -s "${out}" ]] || { say "could not read ${entry} out of ${zip}"; exit 1; }
done
[[ -n "$(ls -A "${work}/corpus")" ]] || { say "empty seed corpus"; exit 1; }

# --- fuzz -------------------------------------------------------------------------------
dict_flag=()
[[ -n "${dict}" ]] && dict_flag=(-dict="${dict}")
say "fuzzing for ${fuzz_seconds} s from $(ls "${work}/corpus" | wc -l) seeds ..."
ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:${ASAN_OPTIONS:-}" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  "${work}/fuzzer" \
  -max_total_time="${fuzz_seconds}" -rss_limit_mb="${RSS_LIMIT_MB}" \
  -timeout="${INPUT_TIMEOUT_S}" -max_len="${max_len}" "${dict_flag[@]}" \
  -print_final_stats=1 -artifact_prefix="${artifacts}/" "${work}/corpus"
say "PASSED (no crash in ${fuzz_seconds} s)."
