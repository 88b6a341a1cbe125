// ThreadStacks sets oneTBB's worker stack size (OpenCV's parallel backend)
// to glibc's default for as long as it lives.

#include "server/thread_stacks.h"

#include <oneapi/tbb/global_control.h>

#include <gtest/gtest.h>

namespace sam2 {
namespace {

using oneapi::tbb::global_control;

TEST(ThreadStacksTest, DefaultIsPlausible) {
  const size_t bytes = DefaultThreadStackBytes();
  EXPECT_GE(bytes, size_t{1} << 20);
  EXPECT_EQ(bytes % 4096, 0u);
}

TEST(ThreadStacksTest, TbbGetsTheDefaultWhileInstalled) {
  {
    std::unique_ptr<ThreadStacks> stacks = ThreadStacks::Install();
    EXPECT_EQ(global_control::active_value(global_control::thread_stack_size),
              DefaultThreadStackBytes());
  }
  // Without it TBB goes back to its own compiled-in size (4 MiB on 64-bit),
  // which is what the server must not use.
  EXPECT_EQ(global_control::active_value(global_control::thread_stack_size),
            size_t{4} << 20);
}

}  // namespace
}  // namespace sam2
