"""sam2_fuzz_test: one libFuzzer target, built and run by tests/fuzz/run_fuzzer.sh.

The Bazel toolchain is gcc (no libFuzzer), so the test compiles its sources
itself with clang++ -fsanitize=fuzzer,address,undefined and fuzzes for
SAM2_FUZZ_SECONDS (default 12) from a committed seed corpus; a crash, a
sanitizer report or a broken invariant fails it and saves the input in
bazel-testlogs/<package>/<name>/test.outputs/outputs.zip.

  sam2_fuzz_test(
      name,       # e.g. "image_io_fuzz_test"
      srcs,       # workspace-relative .cc files to compile, harness first
      sources,    # filegroups holding every header and source they read
      corpus,     # seed directory under tests/fuzz/corpus/ (its filegroup
                  # //tests/fuzz/corpus:<corpus> lists the files)
      seeds,      # further seed files (labels), e.g. fixtures
      zip_seeds,  # {"ZIP label": "entry"}: seeds read out of zip archives
      dict,       # libFuzzer dictionary (label) or None
      protos,     # .proto files (workspace-relative) to generate, compile
                  # and link with Debian's libprotobuf
      opencv,     # compile and link against Debian's OpenCV
      cflags, libs,
      libtorch,   # compile and link against @libtorch
      max_len,    # largest input libFuzzer generates
      timeout,    # Bazel's test timeout ("moderate", 300 s, by default;
                  # "long" where compiling alone takes a minute or more)
  )
"""

_RUNNER = "//tests/fuzz:run_fuzzer.sh"
_LIBTORCH_ORIGIN = "@libtorch//:origin"
_FUZZ_CHECK = "//tests/fuzz:fuzz_check.h"
_OPENCV_CFLAGS = ["-I/usr/include/opencv4"]
_OPENCV_LIBS = ["-lopencv_imgcodecs", "-lopencv_imgproc", "-lopencv_core"]
_CORPUS_DIR = "tests/fuzz/corpus/"

def _label_of(path):
    """"model/foo.cc" -> "//model:foo.cc"."""
    pkg, _, name = path.rpartition("/")
    return "//%s:%s" % (pkg, name)

def sam2_fuzz_test(
        name,
        srcs,
        sources = [],
        corpus = None,
        seeds = [],
        zip_seeds = {},
        dict = None,
        protos = [],
        opencv = False,
        cflags = [],
        libs = [],
        libtorch = False,
        max_len = 65536,
        timeout = "moderate"):
    args = ["--name", name]
    data = list(sources) + [_FUZZ_CHECK]
    for s in srcs:
        args += ["--src", s]
        data.append(_label_of(s))
    for p in protos:
        args += ["--proto", p]
        data.append(_label_of(p))
    if protos:
        libs = libs + ["-lprotobuf"]
    if opencv:
        cflags = cflags + _OPENCV_CFLAGS
        libs = libs + _OPENCV_LIBS
    args += ["--cflag=" + f for f in cflags]
    args += ["--lib=" + f for f in libs]
    if corpus:
        args += ["--corpus", _CORPUS_DIR + corpus]
        data.append("//tests/fuzz/corpus:" + corpus)
    for seed in seeds:
        args += ["--seed", "$(rootpath %s)" % seed]
        data.append(seed)
    for zip, entry in zip_seeds.items():
        args += ["--zip_seed", "$(rootpath %s):%s" % (zip, entry)]
        data.append(zip)
    if dict:
        args += ["--dict", "$(rootpath %s)" % dict]
        data.append(dict)
    if libtorch:
        args += ["--libtorch", "$(rootpath %s)" % _LIBTORCH_ORIGIN]
        data.append(_LIBTORCH_ORIGIN)
    args += ["--max_len", str(max_len)]
    native.sh_test(
        name = name,
        # Compiling (up to a minute with LibTorch's headers) and fuzzing.
        size = "medium",
        timeout = timeout,
        srcs = [_RUNNER],
        args = args,
        data = data,
    )
