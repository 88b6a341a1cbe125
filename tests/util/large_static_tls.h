// A 256 KiB block of static thread-local storage, for tests that must run
// in a process whose static TLS is larger than a small fixed thread stack.
//
// Why: glibc refuses (EINVAL) to create a thread whose requested stack size
// is smaller than the process's static TLS plus a minimum. A library that
// fixes its threads' stack size at compile time (civetweb: 100 KiB) then
// fails as soon as other libraries bring enough TLS (OpenBLAS ~60 KB,
// libtorch_cpu ~26 KB, CUDA's libraries more). Linking this block into a
// test binary, or preloading libthread_stack_probe.so (which holds it too),
// reproduces that on any machine.
//
// Thread-safe: each thread touches only its own copy.

#ifndef SAM2_TESTS_UTIL_LARGE_STATIC_TLS_H_
#define SAM2_TESTS_UTIL_LARGE_STATIC_TLS_H_

#include <cstddef>

namespace sam2 {

// Far above the ~96 KB that OpenBLAS + LibTorch bring, and above civetweb's
// 100 KiB stacks.
inline constexpr size_t kLargeStaticTlsBytes = 256 << 10;

// Writes to every page of the calling thread's copy and returns the block's
// size. Calling it keeps the block linked into the binary.
size_t TouchLargeStaticTls();

}  // namespace sam2

#endif  // SAM2_TESTS_UTIL_LARGE_STATIC_TLS_H_
