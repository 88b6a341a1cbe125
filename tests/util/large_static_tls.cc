#include "tests/util/large_static_tls.h"

namespace sam2 {
namespace {

// initial-exec: the block is part of the static TLS that glibc reserves at
// the top of every thread's stack, which is what the tests need.
__attribute__((tls_model("initial-exec"))) thread_local volatile char
    block[kLargeStaticTlsBytes];

constexpr size_t kPageBytes = 4096;

}  // namespace

size_t TouchLargeStaticTls() {
  for (size_t i = 0; i < kLargeStaticTlsBytes; i += kPageBytes) block[i] = 1;
  return sizeof(block);
}

}  // namespace sam2
