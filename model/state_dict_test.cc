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

TEST(StateDictTest, MovesToADeviceKeepingNamesAndOrder) {
  StateDict sd;
  EXPECT_EQ(*sd.Device(), c10::Device(c10::kCPU));
  ASSERT_TRUE(sd.Add("w", at::ones({2, 2})).ok());
  ASSERT_TRUE(sd.Add("b", at::zeros({2})).ok());
  EXPECT_EQ(*sd.Device(), c10::Device(c10::kCPU));
  // The meta device stands in for a GPU on a machine without one.
  const StateDict moved = sd.To(c10::Device(c10::kMeta));
  EXPECT_EQ(*moved.Device(), c10::Device(c10::kMeta));
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_EQ(moved.entries()[1].name, "b");
  ASSERT_NE(moved.Find("w"), nullptr);
  EXPECT_TRUE(moved.Find("w")->is_meta());
  EXPECT_EQ(moved.Find("w")->sizes(), at::IntArrayRef({2, 2}));
  // Already there: the same storage, no copy.
  const StateDict same = sd.To(c10::Device(c10::kCPU));
  EXPECT_TRUE(same.Find("w")->is_same(*sd.Find("w")));
}

TEST(StateDictTest, WeightsOnTwoDevicesAreRefused) {
  StateDict sd;
  ASSERT_TRUE(sd.Add("w", at::ones({2})).ok());
  ASSERT_TRUE(sd.Add("m", at::ones({2}, at::TensorOptions().device(at::kMeta))).ok());
  absl::StatusOr<c10::Device> d = sd.Device();
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            "weights on two devices: 'w' on cpu, 'm' on meta");
}

}  // namespace
}  // namespace sam2
