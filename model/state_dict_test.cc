#include "model/state_dict.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace sam2 {
namespace {

TEST(StateDictTest, KeepsOrderAndCounts) {
  StateDict sd;
  ASSERT_TRUE(sd.Add("b", at::zeros({2, 3})).ok());
  ASSERT_TRUE(sd.Add("a", at::zeros({4}, at::kBFloat16)).ok());
  EXPECT_EQ(sd.size(), 2u);
  EXPECT_EQ(sd.entries()[0].name, "b");
  EXPECT_EQ(sd.entries()[1].name, "a");
  EXPECT_EQ(sd.NumParameters(), 10);
  EXPECT_EQ(sd.NumBytes(), 6 * 4 + 4 * 2);
  ASSERT_NE(sd.Find("a"), nullptr);
  EXPECT_EQ(sd.Find("a")->scalar_type(), at::kBFloat16);
  EXPECT_EQ(sd.Find("c"), nullptr);
}

TEST(StateDictTest, RejectsDuplicatesAndUndefined) {
  StateDict sd;
  ASSERT_TRUE(sd.Add("x", at::ones({1})).ok());
  absl::Status dup = sd.Add("x", at::ones({1}));
  EXPECT_EQ(dup.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(dup.message().find("duplicate"), absl::string_view::npos);
  EXPECT_EQ(sd.Add("y", at::Tensor()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sd.size(), 1u);
}

}  // namespace
}  // namespace sam2
