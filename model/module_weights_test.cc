#include "model/module_weights.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace sam2 {
namespace {

StateDict MakeState() {
  StateDict sd;
  EXPECT_TRUE(sd.Add("enc.proj.weight", at::ones({4, 2})).ok());
  EXPECT_TRUE(sd.Add("enc.proj.bias", at::ones({4}, at::kBFloat16)).ok());
  return sd;
}

TEST(ModuleWeightsTest, ReadsByPrefixAndConvertsToFloat) {
  StateDict sd = MakeState();
  ModuleWeights enc(sd, "enc.");
  ModuleWeights proj = enc.Child("proj");
  at::Tensor w = proj.Get("weight", {4, -1});
  at::Tensor b = proj.Get("bias", {4});
  ASSERT_TRUE(enc.status().ok()) << enc.status();
  EXPECT_EQ(w.sizes(), (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(b.scalar_type(), at::kFloat);
  EXPECT_EQ(proj.FullName("weight"), "enc.proj.weight");
}

TEST(ModuleWeightsTest, RemembersTheFirstError) {
  StateDict sd = MakeState();
  ModuleWeights enc(sd, "enc.");
  EXPECT_FALSE(enc.Child("proj").Get("weight", {4, 3}).defined());
  EXPECT_FALSE(enc.Get("missing", {1}).defined());
  ASSERT_FALSE(enc.status().ok());
  EXPECT_NE(enc.status().message().find("'enc.proj.weight' has shape [4,2], "
                                        "expected [4,3]"),
            absl::string_view::npos)
      << enc.status();
}

}  // namespace
}  // namespace sam2
