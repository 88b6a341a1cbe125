// Tests for PromptEncoder and PositionEmbeddingRandom on the micro model's
// weights with hand-made prompts; expected values are computed here in
// double precision from the formulas of the reference.

#include "model/prompt_encoder.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "model/model_loader.h"

namespace sam2 {
namespace {

class PromptEncoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<LoadedModel> model =
        LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *std::move(model);
    absl::StatusOr<PromptEncoder> encoder =
        PromptEncoder::Create(model_.config, model_.weights);
    ASSERT_TRUE(encoder.ok()) << encoder.status();
    encoder_.emplace(*std::move(encoder));
    c_ = model_.config.HiddenDim();
    e_ = model_.config.ImageEmbeddingSize();
    s_ = model_.config.image_size;
  }

  const at::Tensor& W(const std::string& name) const {
    const at::Tensor* t = model_.weights.Find("sam_prompt_encoder." + name);
    EXPECT_NE(t, nullptr) << name;
    return *t;
  }

  // The random-Fourier PE of a point normalised to [0,1], in double.
  at::Tensor ExpectedPe(double x, double y) const {
    const at::Tensor g =
        W("pe_layer.positional_encoding_gaussian_matrix").to(at::kDouble);
    const at::Tensor v = ((2 * x - 1) * g[0] + (2 * y - 1) * g[1]) * 2 * M_PI;
    return at::cat({at::sin(v), at::cos(v)});
  }

  LoadedModel model_;
  std::optional<PromptEncoder> encoder_;
  int64_t c_ = 0, e_ = 0, s_ = 0;
};

TEST_F(PromptEncoderTest, DensePeSamplesPixelCentres) {
  const at::Tensor pe = encoder_->GetDensePe();
  ASSERT_EQ(pe.sizes(), at::IntArrayRef({1, c_, e_, e_}));
  for (int64_t i : {int64_t{0}, e_ / 3, e_ - 1}) {
    for (int64_t j : {int64_t{0}, e_ / 2, e_ - 1}) {
      const at::Tensor expected = ExpectedPe((j + 0.5) / e_, (i + 0.5) / e_);
      const at::Tensor got = pe.index({0, at::indexing::Slice(), i, j});
      EXPECT_TRUE(at::allclose(got.to(at::kDouble), expected, 0, 2e-5))
          << "at " << i << "," << j;
    }
  }
}

TEST_F(PromptEncoderTest, PointGetsHalfPixelShiftLabelEmbeddingAndPad) {
  const double x = 100, y = 37;
  const at::Tensor coords = at::tensor({x, y}, at::kFloat).reshape({1, 1, 2});
  for (int label = 0; label <= 3; ++label) {
    const at::Tensor labels = at::full({1, 1}, label, at::kInt);
    absl::StatusOr<PromptEmbeddings> out =
        encoder_->Forward(coords, labels, at::Tensor());
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->sparse.sizes(), at::IntArrayRef({1, 2, c_}));
    const at::Tensor expected =
        ExpectedPe((x + 0.5) / s_, (y + 0.5) / s_) +
        W("point_embeddings." + std::to_string(label) + ".weight")[0].to(
            at::kDouble);
    EXPECT_TRUE(at::allclose(out->sparse[0][0].to(at::kDouble), expected, 0,
                             2e-5))
        << "label " << label;
    // The pad point (label -1) is not_a_point_embed.
    EXPECT_TRUE(at::equal(out->sparse[0][1], W("not_a_point_embed.weight")[0]));
    // No mask: no_mask_embed everywhere.
    ASSERT_EQ(out->dense.sizes(), at::IntArrayRef({1, c_, e_, e_}));
    EXPECT_TRUE(at::equal(out->dense.index({0, at::indexing::Slice(), 3, 5}),
                          W("no_mask_embed.weight")[0]));
  }
}

TEST_F(PromptEncoderTest, UnknownLabelKeepsTheBarePe) {
  const at::Tensor coords = at::tensor({10.f, 20.f}).reshape({1, 1, 2});
  absl::StatusOr<PromptEmbeddings> out = encoder_->Forward(
      coords, at::full({1, 1}, 7, at::kInt), at::Tensor());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(at::allclose(out->sparse[0][0].to(at::kDouble),
                           ExpectedPe(10.5 / s_, 20.5 / s_), 0, 2e-5));
}

TEST_F(PromptEncoderTest, NoPointsGivesEmptySparseAndBatchFromMask) {
  absl::StatusOr<PromptEmbeddings> none =
      encoder_->Forward(at::Tensor(), at::Tensor(), at::Tensor());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->sparse.sizes(), at::IntArrayRef({1, 0, c_}));
  EXPECT_EQ(none->dense.sizes(), at::IntArrayRef({1, c_, e_, e_}));

  const int64_t m = encoder_->mask_input_size();
  EXPECT_EQ(m, 4 * e_);
  absl::StatusOr<PromptEmbeddings> masked = encoder_->Forward(
      at::Tensor(), at::Tensor(), at::randn({3, 1, m, m}));
  ASSERT_TRUE(masked.ok()) << masked.status();
  EXPECT_EQ(masked->sparse.sizes(), at::IntArrayRef({3, 0, c_}));
  EXPECT_EQ(masked->dense.sizes(), at::IntArrayRef({3, c_, e_, e_}));
}

TEST_F(PromptEncoderTest, LayerNorm2dNormalisesChannels) {
  at::manual_seed(0);
  const at::Tensor x = at::randn({2, 5, 3, 4}) * 3 + 1;
  const at::Tensor y = LayerNorm2d(x, at::ones({5}), at::zeros({5}));
  EXPECT_TRUE(at::allclose(y.mean({1}), at::zeros({2, 3, 4}), 0, 1e-5));
  EXPECT_TRUE(at::allclose(y.pow(2).mean({1}), at::ones({2, 3, 4}), 0, 1e-4));
}

TEST_F(PromptEncoderTest, RejectsBadShapes) {
  const at::Tensor coords = at::zeros({1, 2, 2});
  EXPECT_EQ(encoder_->Forward(coords, at::Tensor(), at::Tensor()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(encoder_->Forward(coords, at::zeros({1, 3}, at::kInt), at::Tensor())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(encoder_->Forward(at::zeros({1, 2, 3}), at::zeros({1, 2}, at::kInt),
                              at::Tensor())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(encoder_->Forward(at::Tensor(), at::Tensor(),
                              at::zeros({1, 1, 4 * e_ + 2, 4 * e_}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(encoder_->Forward(coords, at::zeros({1, 2}, at::kInt),
                              at::zeros({2, 1, 4 * e_, 4 * e_}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PromptEncoderTest, CreateRejectsAWrongShape) {
  StateDict bad;
  for (const NamedTensor& t : model_.weights) {
    at::Tensor v = t.tensor;
    if (t.name == "sam_prompt_encoder.no_mask_embed.weight") {
      v = at::zeros({1, c_ + 1});
    }
    ASSERT_TRUE(bad.Add(t.name, v).ok());
  }
  absl::StatusOr<PromptEncoder> enc = PromptEncoder::Create(model_.config, bad);
  ASSERT_FALSE(enc.ok());
  EXPECT_NE(enc.status().message().find("no_mask_embed"),
            absl::string_view::npos)
      << enc.status();
}

}  // namespace
}  // namespace sam2
