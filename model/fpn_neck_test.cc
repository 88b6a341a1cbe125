#include "model/fpn_neck.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model/module_weights.h"
#include "model/position_encoding.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {
namespace {

constexpr int kDModel = 4;

// Four levels, one channel each, lowest resolution 2 x 2 (side 16 at level
// 0). Every lateral conv is 1x1 with weight (k + 1) and bias 0, so lateral of
// level i = (n - i) * x_i broadcast over d_model channels.
FpnNeckConfig Config() {
  FpnNeckConfig c;
  c.position_encoding.num_pos_feats = kDModel;
  c.d_model = kDModel;
  c.backbone_channel_list = {1, 1, 1, 1};
  c.fpn_interp_model = "nearest";
  c.fpn_top_down_levels = std::vector<int>{2, 3};
  return c;
}

StateDict Weights() {
  StateDict s;
  for (int k = 0; k < 4; ++k) {
    const std::string p =
        absl::StrCat("image_encoder.neck.convs.", k, ".conv.");
    EXPECT_TRUE(
        s.Add(p + "weight", at::full({kDModel, 1, 1, 1}, k + 1.0f)).ok());
    EXPECT_TRUE(s.Add(p + "bias", at::zeros({kDModel})).ok());
  }
  return s;
}

std::vector<at::Tensor> Inputs() {
  std::vector<at::Tensor> xs;
  for (int i = 0; i < 4; ++i) {
    const int64_t side = 16 >> i;
    xs.push_back(at::arange(side * side, at::kFloat).view({1, 1, side, side}));
  }
  return xs;
}

at::Tensor Up2(const at::Tensor& t) {
  return t.repeat_interleave(2, 2).repeat_interleave(2, 3);
}

TEST(FpnNeckTest, TopDownOnlyOnTheListedLevels) {
  StateDict state = Weights();
  absl::StatusOr<FpnNeck> neck =
      FpnNeck::Create(Config(), ModuleWeights(state, "image_encoder.neck."));
  ASSERT_TRUE(neck.ok()) << neck.status();
  const std::vector<at::Tensor> xs = Inputs();
  absl::StatusOr<FpnNeck::Output> out = neck->Forward(xs);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->features.size(), 4u);
  auto lateral = [&](int i) {
    return (4 - i) * xs[i].expand({1, kDModel, -1, -1});
  };
  // convs[0] serves the lowest resolution (level 3).
  EXPECT_TRUE(at::allclose(out->features[3], lateral(3)));
  EXPECT_TRUE(
      at::allclose(out->features[2], lateral(2) + Up2(out->features[3])));
  EXPECT_TRUE(at::allclose(out->features[1], lateral(1)));
  EXPECT_TRUE(at::allclose(out->features[0], lateral(0)));

  absl::StatusOr<PositionEmbeddingSine> pe =
      PositionEmbeddingSine::Create(Config().position_encoding);
  ASSERT_TRUE(pe.ok());
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(out->features[i].sizes(),
              at::IntArrayRef({1, kDModel, 16 >> i, 16 >> i}));
    absl::StatusOr<at::Tensor> want = pe->Forward(out->features[i]);
    ASSERT_TRUE(want.ok());
    EXPECT_TRUE(at::equal(out->pos[i], *want)) << i;
  }
}

TEST(FpnNeckTest, AllLevelsByDefaultAndAverageFuse) {
  StateDict state = Weights();
  FpnNeckConfig c = Config();
  c.fpn_top_down_levels.reset();
  c.fuse_type = "avg";
  absl::StatusOr<FpnNeck> neck =
      FpnNeck::Create(c, ModuleWeights(state, "image_encoder.neck."));
  ASSERT_TRUE(neck.ok()) << neck.status();
  const std::vector<at::Tensor> xs = Inputs();
  absl::StatusOr<FpnNeck::Output> out = neck->Forward(xs);
  ASSERT_TRUE(out.ok()) << out.status();
  at::Tensor prev = 1 * xs[3].expand({1, kDModel, -1, -1});
  EXPECT_TRUE(at::allclose(out->features[3], prev));
  for (int i = 2; i >= 0; --i) {
    prev = ((4 - i) * xs[i].expand({1, kDModel, -1, -1}) + Up2(prev)) / 2;
    EXPECT_TRUE(at::allclose(out->features[i], prev)) << i;
  }
}

TEST(FpnNeckTest, BilinearTopDown) {
  StateDict state = Weights();
  FpnNeckConfig c = Config();
  c.fpn_interp_model = "bilinear";
  absl::StatusOr<FpnNeck> neck =
      FpnNeck::Create(c, ModuleWeights(state, "image_encoder.neck."));
  ASSERT_TRUE(neck.ok()) << neck.status();
  const std::vector<at::Tensor> xs = Inputs();
  absl::StatusOr<FpnNeck::Output> out = neck->Forward(xs);
  ASSERT_TRUE(out.ok()) << out.status();
  at::Tensor up = at::upsample_bilinear2d(out->features[3], {4, 4}, false);
  EXPECT_TRUE(at::allclose(out->features[2],
                           2 * xs[2].expand({1, kDModel, -1, -1}) + up));
}

TEST(FpnNeckTest, RejectsBadConfigWeightsAndInputs) {
  StateDict state = Weights();
  FpnNeckConfig c = Config();
  c.fuse_type = "max";
  EXPECT_EQ(FpnNeck::Create(c, ModuleWeights(state, "image_encoder.neck."))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  c = Config();
  c.backbone_channel_list = {1, 1, 2, 1};
  absl::StatusOr<FpnNeck> bad =
      FpnNeck::Create(c, ModuleWeights(state, "image_encoder.neck."));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("convs.2.conv.weight"),
            absl::string_view::npos)
      << bad.status();

  absl::StatusOr<FpnNeck> neck =
      FpnNeck::Create(Config(), ModuleWeights(state, "image_encoder.neck."));
  ASSERT_TRUE(neck.ok());
  std::vector<at::Tensor> xs = Inputs();
  xs.pop_back();
  EXPECT_EQ(neck->Forward(xs).status().code(),
            absl::StatusCode::kInvalidArgument);
  xs = Inputs();
  xs[1] = at::zeros({1, 3, 8, 8});
  EXPECT_EQ(neck->Forward(xs).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Sizes that do not halve level to level: a LibTorch error, reported as
  // INTERNAL rather than thrown.
  xs = Inputs();
  xs[2] = at::zeros({1, 1, 3, 3});
  EXPECT_EQ(neck->Forward(xs).status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace sam2
