#include "model/spill_file.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace sam2 {
namespace {

TEST(SpillFileTest, RoundTripsTensors) {
  absl::StatusOr<std::unique_ptr<SpillFile>> file = SpillFile::Create();
  ASSERT_TRUE(file.ok()) << file.status();
  const at::Tensor a = at::randn({1, 1, 16, 16});
  const at::Tensor b = at::arange(10, at::kLong).view({2, 5}).t();  // strided
  absl::StatusOr<SpillRef> ra = (*file)->Write(a);
  absl::StatusOr<SpillRef> rb = (*file)->Write(b);
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ((*file)->bytes_written(), 16 * 16 * 4 + 10 * 8);
  absl::StatusOr<at::Tensor> back_b = (*file)->Read(*rb);
  absl::StatusOr<at::Tensor> back_a = (*file)->Read(*ra);
  ASSERT_TRUE(back_a.ok() && back_b.ok());
  EXPECT_TRUE(at::equal(*back_a, a));
  EXPECT_TRUE(at::equal(*back_b, b));
  EXPECT_EQ(back_b->sizes(), (std::vector<int64_t>{5, 2}));
}

TEST(SpillFileTest, RejectsBadUse) {
  absl::StatusOr<std::unique_ptr<SpillFile>> file = SpillFile::Create();
  ASSERT_TRUE(file.ok());
  EXPECT_FALSE((*file)->Write(at::Tensor()).ok());
  SpillRef beyond;
  beyond.offset = 0;
  beyond.nbytes = 4;
  beyond.shape = {1};
  EXPECT_FALSE((*file)->Read(beyond).ok());
  EXPECT_EQ(SpillFile::Create("/no/such/dir").status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sam2
