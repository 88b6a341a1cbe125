#include "server/allocator.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace sam2 {
namespace {

// Linking //server:allocator must make tcmalloc the process's malloc; with
// glibc's this would name libc.so.6.
TEST(AllocatorTest, TcmallocServesMalloc) {
  EXPECT_NE(MallocLibrary().find("tcmalloc"), std::string::npos)
      << MallocLibrary();
}

// Large blocks (above glibc's mmap threshold) go through the replaced
// allocator and are usable after reuse.
TEST(AllocatorTest, LargeBlocksRoundTrip) {
  constexpr size_t kBytes = 64 << 20;
  for (int i = 0; i < 3; ++i) {
    char* p = static_cast<char*>(std::malloc(kBytes));
    ASSERT_NE(p, nullptr);
    std::memset(p, i + 1, kBytes);
    EXPECT_EQ(p[kBytes - 1], i + 1);
    std::free(p);
  }
}

}  // namespace
}  // namespace sam2
