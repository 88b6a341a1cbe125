#include "model/tensor_checks.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace sam2 {
namespace {

TEST(TensorChecksTest, ShapeOf) {
  EXPECT_EQ(ShapeOf(at::zeros({2, 3, 4})), "[2,3,4]");
  EXPECT_EQ(ShapeOf(at::zeros({})), "[]");
  EXPECT_EQ(ShapeOf(at::Tensor()), "undefined");
}

TEST(TensorChecksTest, RgbImages) {
  EXPECT_TRUE(CheckRgbImage(at::zeros({4, 5, 3}, at::kByte), "image").ok());
  absl::Status gray = CheckRgbImage(at::zeros({4, 5}, at::kByte), "frame 3");
  EXPECT_EQ(gray.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(gray.message().find("frame 3 must be an RGB image"),
            absl::string_view::npos);
  EXPECT_NE(gray.message().find("[4,5]"), absl::string_view::npos);
  EXPECT_NE(CheckRgbImage(at::zeros({4, 5, 3}), "image").message().find("uint8"),
            absl::string_view::npos);
  EXPECT_FALSE(CheckRgbImage(at::zeros({0, 5, 3}, at::kByte), "image").ok());
  EXPECT_FALSE(CheckRgbImage(at::Tensor(), "image").ok());
}

}  // namespace
}  // namespace sam2
