"""Repository rule that exposes a LibTorch installation to Bazel as @libtorch.

Where LibTorch comes from, in order:
  1. the SAM2_LIBTORCH environment variable (pass it with
     `--repo_env=SAM2_LIBTORCH=/path/to/libtorch`): any directory with
     include/ and lib/, e.g. an unpacked official LibTorch zip;
  2. the `torch` package of the project's virtual environment (.venv), which
     scripts/install.sh creates from PyPI's pinned torch wheel.

The libraries are linked in place with an absolute run path, because the
wheel's own RPATH ($ORIGIN/../../nvidia/...) does not survive Bazel's
symlinked solib directories.
"""

_BUILD = """
load("@rules_cc//cc:defs.bzl", "cc_library")

package(default_visibility = ["//visibility:public"])

config_setting(
    name = "cuda",
    define_values = {{"sam2_cuda": "1"}},
)

# CPU part: always linked. The wheel's libtorch_cpu.so names libcudart and
# libcupti (its profiler) as needed libraries, so the CPU build needs those
# two small NVIDIA wheels but none of the others.
cc_library(
    name = "libtorch",
    hdrs = glob(["include/**/*.h", "include/**/*.hpp", "include/**/*.cuh"], allow_empty = True),
    includes = ["include", "include/torch/csrc/api/include"],
    srcs = ["lib/libc10.so", "lib/libtorch_cpu.so"] + select({{
        ":cuda": ["lib/libc10_cuda.so", "lib/libtorch_cuda.so"],
        "//conditions:default": [],
    }}),
    # DT_RPATH (not RUNPATH) so the paths also serve libtorch_cpu.so's own
    # dependencies (libcudart, libcupti), not just the executable's.
    linkopts = ["-Wl,--disable-new-dtags", {rpaths}] + select({{
        # Without this the linker drops libtorch_cuda.so (nothing names its
        # symbols directly) and the CUDA backend never registers.
        # model/device.cc calls the CUDA runtime (free memory, compute
        # capability) directly: the wheel's libcudart.
        ":cuda": ["-Wl,--no-as-needed", "-l:libtorch_cuda.so", "-Wl,--as-needed"{cudart}],
        "//conditions:default": [],
    }}),
    defines = select({{
        ":cuda": ["SAM2_WITH_CUDA=1"],
        "//conditions:default": [],
    }}),
)

# Where the libraries came from, for diagnostics (`sam2 inspect` prints it).
genrule(
    name = "origin",
    outs = ["origin.txt"],
    cmd = "echo '{root}' > $@",
)
"""

_HIDDEN_INCLUDES = ["google", "pybind11"]

def _find_venv_torch(ctx, workspace):
    venv_lib = workspace.get_child(".venv").get_child("lib")
    if not venv_lib.exists:
        return None
    for py in venv_lib.readdir():
        torch = py.get_child("site-packages").get_child("torch")
        if torch.get_child("lib").exists:
            return torch
    return None

def _libtorch_repo_impl(ctx):
    workspace = ctx.path(Label("//:WORKSPACE")).dirname
    root = ctx.os.environ.get("SAM2_LIBTORCH", "")
    if root:
        root = ctx.path(root)
    else:
        root = _find_venv_torch(ctx, workspace)
    if root == None or not root.get_child("include").exists or not root.get_child("lib").exists:
        fail("LibTorch not found: run scripts/install.sh (it installs PyPI's torch wheel " +
             "into .venv), or pass --repo_env=SAM2_LIBTORCH=/path/to/libtorch " +
             "(a directory with include/ and lib/).")
    # Mirror include/ entry by entry, leaving out the copies of third-party
    # headers the wheel bundles (Protobuf, pybind11): they would shadow
    # Debian's Protobuf, which our gRPC code is compiled against.
    for entry in root.get_child("include").readdir():
        if entry.basename not in _HIDDEN_INCLUDES:
            ctx.symlink(entry, "include/" + entry.basename)
    ctx.symlink(root.get_child("lib"), "lib")
    rpaths = [str(root.get_child("lib"))]

    # The wheel keeps CUDA runtime libraries in sibling nvidia/* packages.
    nvidia = root.dirname.get_child("nvidia")
    if nvidia.exists:
        for pkg in nvidia.readdir():
            if pkg.get_child("lib").exists:
                rpaths.append(str(pkg.get_child("lib")))
    # libcudart.so.N of the nvidia-cuda-runtime wheel (N follows the CUDA
    # major version the torch wheel was built for).
    cudart = ""
    runtime_lib = nvidia.get_child("cuda_runtime").get_child("lib")
    if runtime_lib.exists:
        for f in runtime_lib.readdir():
            if f.basename.startswith("libcudart.so"):
                cudart = ', "-L%s", "-l:%s"' % (str(runtime_lib), f.basename)
    ctx.file("BUILD", _BUILD.format(
        cudart = cudart,
        rpaths = ", ".join(['"-Wl,-rpath,%s"' % p for p in rpaths]),
        root = str(root),
    ))

libtorch_repository = repository_rule(
    implementation = _libtorch_repo_impl,
    environ = ["SAM2_LIBTORCH"],
    local = True,
)
