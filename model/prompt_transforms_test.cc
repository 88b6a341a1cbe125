// Tests for the image predictor's prompt preparation and post-processing
// (model/prompt_transforms.h) with hand-made inputs.

#include "model/prompt_transforms.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <limits>
#include <utility>

namespace sam2 {
namespace {

// Hand-made sizes: a 600x400 original image and a 448-pixel model input.
constexpr int64_t kH = 400, kW = 600, kS = 448;

TEST(TransformCoordsTest, NormalizesByWidthAndHeightThenScales) {
  const at::Tensor coords = at::tensor({300.f, 100.f, 0.f, 400.f}).reshape({2, 2});
  absl::StatusOr<at::Tensor> out = TransformCoords(coords, true, kH, kW, kS);
  ASSERT_TRUE(out.ok()) << out.status();
  const at::Tensor expected =
      at::tensor({300.f / kW * kS, 100.f / kH * kS, 0.f, 400.f / kH * kS})
          .reshape({2, 2});
  EXPECT_TRUE(at::allclose(*out, expected, 0, 1e-4)) << *out;
  EXPECT_EQ(out->scalar_type(), at::kFloat);
}

TEST(TransformCoordsTest, WithoutNormalizationOnlyScales) {
  const at::Tensor coords = at::tensor({0.5f, 0.25f}).reshape({1, 1, 2});
  absl::StatusOr<at::Tensor> out = TransformCoords(coords, false, kH, kW, kS);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FLOAT_EQ((*out)[0][0][0].item<float>(), 0.5f * kS);
  EXPECT_FLOAT_EQ((*out)[0][0][1].item<float>(), 0.25f * kS);
}

TEST(TransformCoordsTest, RejectsBadInput) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(TransformCoords(at::tensor({1.f, nan}).reshape({1, 2}), true, kH,
                            kW, kS)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TransformCoords(at::zeros({3, 3}), true, kH, kW, kS).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TransformCoords(at::zeros({1, 2}), true, 0, kW, kS).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TransformCoordsTest, RejectsPointsOffTheImage) {
  // The image's own edges are on it.
  EXPECT_TRUE(TransformCoords(at::tensor({float(kW), float(kH)}).reshape({1, 2}),
                              true, kH, kW, kS)
                  .ok());
  for (const auto& xy : {std::pair<float, float>{-1.f, 10.f},
                         {10.f, -0.5f},
                         {kW + 1.f, 10.f},
                         {10.f, kH + 1.f}}) {
    absl::StatusOr<at::Tensor> out = TransformCoords(
        at::tensor({xy.first, xy.second}).reshape({1, 2}), true, kH, kW, kS);
    ASSERT_FALSE(out.ok()) << xy.first << "," << xy.second;
    EXPECT_NE(out.status().message().find("must lie on the image"),
              absl::string_view::npos);
  }
  // Normalized coordinates must be in [0, 1].
  EXPECT_FALSE(
      TransformCoords(at::tensor({1.5f, 0.5f}).reshape({1, 2}), false, kH, kW, kS)
          .ok());
}

TEST(TransformBoxesTest, RejectsInvertedAndOffImageBoxes) {
  absl::StatusOr<at::Tensor> inverted =
      TransformBoxes(at::tensor({420.f, 80.f, 60.f, 360.f}), true, kH, kW, kS);
  ASSERT_FALSE(inverted.ok());
  EXPECT_NE(inverted.status().message().find("x0 <= x1"), absl::string_view::npos);
  EXPECT_FALSE(
      TransformBoxes(at::tensor({60.f, 360.f, 420.f, 80.f}), true, kH, kW, kS).ok());
  EXPECT_FALSE(
      TransformBoxes(at::tensor({60.f, 80.f, kW + 5.f, 360.f}), true, kH, kW, kS)
          .ok());
}

TEST(TransformBoxesTest, OneOrManyBoxesBecomeCornerPairs) {
  absl::StatusOr<at::Tensor> one =
      TransformBoxes(at::tensor({60.f, 80.f, 420.f, 360.f}), true, kH, kW, kS);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->sizes(), at::IntArrayRef({1, 2, 2}));
  EXPECT_NEAR((*one)[0][1][0].item<float>(), 420.0 / kW * kS, 1e-4);
  EXPECT_NEAR((*one)[0][1][1].item<float>(), 360.0 / kH * kS, 1e-4);
  absl::StatusOr<at::Tensor> many =
      TransformBoxes(at::zeros({3, 4}), true, kH, kW, kS);
  ASSERT_TRUE(many.ok()) << many.status();
  EXPECT_EQ(many->sizes(), at::IntArrayRef({3, 2, 2}));
  EXPECT_FALSE(TransformBoxes(at::zeros({3, 5}), true, kH, kW, kS).ok());
}

TEST(PreparePromptsTest, PointsGetABatchDimension) {
  ImagePromptInput in;
  in.point_coords = at::tensor({270.f, 220.f, 120.f, 120.f}).reshape({2, 2});
  in.point_labels = at::tensor({1, 0}, at::kInt);
  absl::StatusOr<PreparedPrompts> p = PreparePrompts(in, kH, kW, kS);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->point_coords.sizes(), at::IntArrayRef({1, 2, 2}));
  EXPECT_EQ(p->point_labels.sizes(), at::IntArrayRef({1, 2}));
  EXPECT_EQ(p->point_labels.scalar_type(), at::kInt);
  EXPECT_FALSE(p->mask_input.defined());
  EXPECT_FALSE(p->repeat_image);
  EXPECT_NEAR(p->point_coords[0][1][0].item<float>(), 120.0 / kW * kS, 1e-4);
  EXPECT_NEAR(p->point_coords[0][1][1].item<float>(), 120.0 / kH * kS, 1e-4);
}

TEST(PreparePromptsTest, BoxOnlyGivesCornerLabelsTwoAndThree) {
  ImagePromptInput in;
  in.box = at::tensor({60.f, 80.f, 420.f, 360.f});
  absl::StatusOr<PreparedPrompts> p = PreparePrompts(in, kH, kW, kS);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->point_coords.sizes(), at::IntArrayRef({1, 2, 2}));
  EXPECT_TRUE(at::equal(p->point_labels,
                        at::tensor({2, 3}, at::kInt).reshape({1, 2})));
  EXPECT_NEAR(p->point_coords[0][0][0].item<float>(), 60.0 / kW * kS, 1e-4);
  EXPECT_FALSE(p->repeat_image);
}

TEST(PreparePromptsTest, BoxCornersComeBeforeClicks) {
  ImagePromptInput in;
  in.box = at::tensor({60.f, 80.f, 420.f, 360.f});
  in.point_coords = at::tensor({180.f, 240.f}).reshape({1, 2});
  in.point_labels = at::tensor({0}, at::kInt);
  absl::StatusOr<PreparedPrompts> p = PreparePrompts(in, kH, kW, kS);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->point_coords.sizes(), at::IntArrayRef({1, 3, 2}));
  EXPECT_TRUE(at::equal(p->point_labels,
                        at::tensor({2, 3, 0}, at::kInt).reshape({1, 3})));
  EXPECT_NEAR(p->point_coords[0][2][0].item<float>(), 180.0 / kW * kS, 1e-4);
  EXPECT_NEAR(p->point_coords[0][0][1].item<float>(), 80.0 / kH * kS, 1e-4);
}

TEST(PreparePromptsTest, SeveralBoxesRepeatTheImage) {
  ImagePromptInput in;
  in.box = at::tensor({30.f, 20.f, 300.f, 200.f, 240.f, 120.f, 570.f, 380.f})
               .reshape({2, 4});
  absl::StatusOr<PreparedPrompts> p = PreparePrompts(in, kH, kW, kS);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->point_coords.sizes(), at::IntArrayRef({2, 2, 2}));
  EXPECT_EQ(p->point_labels.sizes(), at::IntArrayRef({2, 2}));
  EXPECT_TRUE(p->repeat_image);
}

TEST(PreparePromptsTest, MaskInputGetsABatchDimension) {
  ImagePromptInput in;
  in.point_coords = at::tensor({1.f, 2.f}).reshape({1, 2});
  in.point_labels = at::tensor({1}, at::kInt);
  in.mask_input = at::zeros({1, 8, 8});
  absl::StatusOr<PreparedPrompts> p = PreparePrompts(in, kH, kW, kS);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->mask_input.sizes(), at::IntArrayRef({1, 1, 8, 8}));
}

TEST(PreparePromptsTest, EmptyPromptIsAnError) {
  absl::StatusOr<PreparedPrompts> p =
      PreparePrompts(ImagePromptInput(), kH, kW, kS);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PreparePromptsTest, RejectsBadPrompts) {
  ImagePromptInput labels_missing;
  labels_missing.point_coords = at::zeros({1, 2});
  EXPECT_EQ(PreparePrompts(labels_missing, kH, kW, kS).status().code(),
            absl::StatusCode::kInvalidArgument);

  ImagePromptInput count_mismatch;
  count_mismatch.point_coords = at::zeros({2, 2});
  count_mismatch.point_labels = at::ones({3}, at::kInt);
  EXPECT_EQ(PreparePrompts(count_mismatch, kH, kW, kS).status().code(),
            absl::StatusCode::kInvalidArgument);

  ImagePromptInput bad_label;
  bad_label.point_coords = at::zeros({1, 2});
  bad_label.point_labels = at::full({1}, 4, at::kInt);
  EXPECT_EQ(PreparePrompts(bad_label, kH, kW, kS).status().code(),
            absl::StatusCode::kInvalidArgument);

  ImagePromptInput box_batch_mismatch;
  box_batch_mismatch.box = at::zeros({2, 4});
  box_batch_mismatch.point_coords = at::zeros({1, 1, 2});
  box_batch_mismatch.point_labels = at::ones({1, 1}, at::kInt);
  EXPECT_EQ(PreparePrompts(box_batch_mismatch, kH, kW, kS).status().code(),
            absl::StatusCode::kInvalidArgument);

  ImagePromptInput inf_box;
  inf_box.box = at::tensor({0.f, 0.f, std::numeric_limits<float>::infinity(), 1.f});
  EXPECT_EQ(PreparePrompts(inf_box, kH, kW, kS).status().code(),
            absl::StatusCode::kInvalidArgument);

  ImagePromptInput bad_mask;
  bad_mask.mask_input = at::zeros({2, 8, 8});
  EXPECT_EQ(PreparePrompts(bad_mask, kH, kW, kS).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ClampLowResLogitsTest, ClampsToThirtyTwo) {
  absl::StatusOr<at::Tensor> c = ClampLowResLogits(at::tensor({-100.f, 3.f, 50.f}));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(at::equal(*c, at::tensor({-32.f, 3.f, 32.f})));
}

}  // namespace
}  // namespace sam2
