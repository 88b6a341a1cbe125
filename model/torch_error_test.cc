#include "model/torch_error.h"

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "absl/strings/match.h"

namespace sam2 {
namespace {

TEST(TorchErrorTest, OutOfMemoryIsResourceExhausted) {
  // What CUDA's caching allocator throws when an allocation fails.
  const c10::OutOfMemoryError oom({"alloc", "file.cpp", 1},
                                  "CUDA out of memory. Tried to allocate 2 GiB");
  const absl::Status s = TorchError("memory attention: ", oom);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(s.message(),
            "memory attention: out of device memory: CUDA out of memory. "
            "Tried to allocate 2 GiB");
}

TEST(TorchErrorTest, OtherErrorsAreInternalWithoutBacktrace) {
  try {
    (void)at::matmul(at::ones({2, 3}), at::ones({2, 3}));
    FAIL() << "mismatched matmul did not throw";
  } catch (const c10::Error& e) {
    const absl::Status s = TorchError("decoder: ", e);
    EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
    EXPECT_TRUE(absl::StartsWith(s.message(), "decoder: ")) << s;
    EXPECT_NE(s.message().find("cannot be multiplied"), absl::string_view::npos)
        << s;
    // The C++ backtrace (frame lists) stays out of client-facing messages.
    EXPECT_EQ(s.message().find("frame #"), absl::string_view::npos) << s;
  }
}

}  // namespace
}  // namespace sam2
