#!/usr/bin/env bash
# Prepares the GPU check (tests/device/run.sh) on this machine, where the
# package registries are reachable: everything the lent GPU machine lacks and
# cannot fetch (it reaches no network) goes into .device-check/ (ignored by
# git), which the device tool carries with the working tree:
#
#   .device-check/sysroot.tar.xz
#                          the Debian 12 packages our C++ build needs beyond
#                          the machine's own LibTorch and compiler (Abseil,
#                          yaml-cpp, libzip, liblzma, nlohmann-json, OpenCV
#                          core + imgproc and their runtime dependencies),
#                          unpacked here with dpkg -x, without documentation
#                          and static libraries (~8 MB; run.sh unpacks it
#                          under /tmp, never /).
#   .device-check/wheels/  Meta's sam2 (built here as a pure-Python wheel,
#                          SAM2_BUILD_CUDA=0) and the pure-Python packages it
#                          needs that the machine's image does not hold.
#
# Then, with the device tool:
#   run(command="bash tests/device/run.sh", carry=[".device-check"], timeout_s=540)
#
# Usage: tests/device/prepare.sh        (~10 MB, a minute)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=.device-check
rm -rf "$out"
mkdir -p "$out/wheels"

# Headers and link-time symlinks, then the runtime libraries (and theirs)
# that Ubuntu's base image may lack. libc, libstdc++, libgcc, zlib, bzip2,
# OpenSSL and zstd are the machine's own (never carried: an older copy on
# LD_LIBRARY_PATH would shadow them).
dev=(libabsl-dev libyaml-cpp-dev libzip-dev liblzma-dev nlohmann-json3-dev
     libopencv-core-dev libopencv-imgproc-dev)
runtime=(libabsl20220623 libyaml-cpp0.7 libzip4 liblzma5
         libopencv-core406 libopencv-imgproc406 libtbb12 libblas3 liblapack3
         libgfortran5 libquadmath0 libglx0 libglvnd0 libx11-6 libxau6 libxcb1
         libxdmcp6 libbsd0 libmd0)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/root"
(cd "$work/debs" && apt-get download -q "${dev[@]}" "${runtime[@]}" 2>&1 |
  grep -v "unsandboxed as root" || true)
for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$work/root"; done
find "$work/root" -name '*.a' -delete
rm -rf "$work/root/usr/share/doc" "$work/root/usr/share/man" \
  "$work/root/usr/share/lintian" "$work/root/usr/share/bug"
tar -cJf "$out/sysroot.tar.xz" -C "$work/root" .

# sam2 1.1.0 and what it imports beyond the image's packages (KINDS.md lists
# torch, torchvision, numpy, pillow, tqdm, pyyaml, portalocker there).
py=python3
[ -x .venv-reference/bin/python ] && py=.venv-reference/bin/python
SAM2_BUILD_CUDA=0 "$py" -m pip wheel -q --no-deps --no-build-isolation \
  -w "$out/wheels" "sam2==1.1.0"
# hydra-core and omegaconf are wheels on PyPI; iopath and antlr4 (omegaconf's
# parser) are sdists only, built into pure-Python wheels here.
"$py" -m pip wheel -q --no-deps -w "$out/wheels" "hydra-core==1.3.2" \
  "omegaconf==2.3.0" "iopath==0.1.10" "antlr4-python3-runtime==4.9.3"
ls "$out/wheels"
du -sh "$out"
