// Tests of connected components, postprocess_masks' hole / sprinkle removal
// and resizing, and the video predictor's hole filling, on hand-made masks.

#include "model/mask_postprocess.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace sam2 {
namespace {

// A [1, 1, H, W] float32 tensor from rows of characters: '#' -> `fg`,
// '.' -> `bg`, '0' -> exactly 0.
at::Tensor Scores(const std::vector<std::string>& rows, float fg = 5.0f,
                  float bg = -5.0f) {
  const int64_t h = static_cast<int64_t>(rows.size());
  const int64_t w = static_cast<int64_t>(rows[0].size());
  at::Tensor t = at::empty({1, 1, h, w}, at::kFloat);
  auto a = t.accessor<float, 4>();
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const char c = rows[y][x];
      a[0][0][y][x] = c == '#' ? fg : c == '0' ? 0.0f : bg;
    }
  }
  return t;
}

at::Tensor Binary(const std::vector<std::string>& rows) {
  return Scores(rows, 1.0f, 0.0f).to(at::kByte);
}

float At(const at::Tensor& t, int64_t y, int64_t x) {
  return t[0][0][y][x].item<float>();
}
int At32(const at::Tensor& t, int64_t y, int64_t x) {
  return t[0][0][y][x].item<int>();
}

TEST(ConnectedComponentsTest, EightConnectedAreas) {
  const at::Tensor mask = Binary({
      "##....",
      "#.....",
      "....#.",
      ".....#",
      "#.....",
  });
  absl::StatusOr<ConnectedComponents> cc = GetConnectedComponents(mask);
  ASSERT_TRUE(cc.ok()) << cc.status();
  EXPECT_EQ(cc->labels.sizes(), mask.sizes());
  EXPECT_EQ(cc->labels.scalar_type(), at::kInt);
  EXPECT_EQ(cc->counts.scalar_type(), at::kInt);
  // The 3-pixel L.
  EXPECT_EQ(At32(cc->counts, 0, 0), 3);
  EXPECT_EQ(At32(cc->counts, 0, 1), 3);
  EXPECT_EQ(At32(cc->counts, 1, 0), 3);
  // The diagonal pair is one component under 8-connectivity.
  EXPECT_EQ(At32(cc->counts, 2, 4), 2);
  EXPECT_EQ(At32(cc->counts, 3, 5), 2);
  EXPECT_EQ(At32(cc->labels, 2, 4), At32(cc->labels, 3, 5));
  EXPECT_NE(At32(cc->labels, 2, 4), At32(cc->labels, 0, 0));
  // A single pixel.
  EXPECT_EQ(At32(cc->counts, 4, 0), 1);
  // Background: label 0, count 0; foreground: label > 0.
  EXPECT_TRUE(at::equal(cc->labels.gt(0), mask.gt(0)));
  EXPECT_TRUE(at::equal(cc->counts.gt(0), mask.gt(0)));
  EXPECT_EQ(cc->counts.sum().item<int>(), 3 * 3 + 2 * 2 + 1);
}

TEST(ConnectedComponentsTest, ImagesAreIndependentAndBoolWorks) {
  const at::Tensor a = Binary({"###", "...", "..."});
  const at::Tensor b = Binary({"#..", "...", "..#"});
  const at::Tensor both = at::cat({a, b}, 0).to(at::kBool);
  absl::StatusOr<ConnectedComponents> cc = GetConnectedComponents(both);
  ASSERT_TRUE(cc.ok()) << cc.status();
  EXPECT_EQ(cc->counts[0][0][0][2].item<int>(), 3);
  EXPECT_EQ(cc->counts[1][0][0][0].item<int>(), 1);
  EXPECT_EQ(cc->counts[1][0][2][2].item<int>(), 1);
  // All foreground and all background.
  cc = GetConnectedComponents(at::ones({1, 1, 4, 5}, at::kByte));
  ASSERT_TRUE(cc.ok());
  EXPECT_TRUE(at::equal(cc->counts, at::full({1, 1, 4, 5}, 20, at::kInt)));
  cc = GetConnectedComponents(at::zeros({1, 1, 4, 5}, at::kByte));
  ASSERT_TRUE(cc.ok());
  EXPECT_EQ(cc->counts.sum().item<int>(), 0);
  EXPECT_EQ(cc->labels.sum().item<int>(), 0);
}

TEST(ConnectedComponentsTest, RejectsBadMasks) {
  auto invalid = [](const absl::StatusOr<ConnectedComponents>& r) {
    return !r.ok() && r.status().code() == absl::StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(invalid(GetConnectedComponents(at::Tensor())));
  EXPECT_TRUE(invalid(GetConnectedComponents(at::zeros({4, 4}, at::kByte))));
  EXPECT_TRUE(
      invalid(GetConnectedComponents(at::zeros({1, 2, 4, 4}, at::kByte))));
  EXPECT_TRUE(
      invalid(GetConnectedComponents(at::zeros({1, 1, 4, 4}, at::kFloat))));
  EXPECT_TRUE(
      invalid(GetConnectedComponents(at::zeros({1, 1, 0, 4}, at::kByte))));
}

TEST(PostprocessMasksTest, FillsSmallHolesOnly) {
  const at::Tensor logits = Scores({
      "##########",
      "##########",
      "##.#######",  // a 3-pixel hole: (2,2) (3,2) (3,3)
      "##..######",
      "##########",
      "#######.##",  // a diagonal 2-pixel hole: (5,7) (6,8)
      "########.#",
      "##########",
  });
  // Same output size: bilinear resizing is the identity.
  absl::StatusOr<at::Tensor> out = PostprocessMasks(logits, 8, 10, 3, 0);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->scalar_type(), at::kFloat);
  EXPECT_FLOAT_EQ(At(*out, 2, 2), 10.0f);
  EXPECT_FLOAT_EQ(At(*out, 3, 3), 10.0f);
  EXPECT_FLOAT_EQ(At(*out, 5, 7), 10.0f);
  EXPECT_FLOAT_EQ(At(*out, 0, 0), 5.0f);

  // Limit 2: the 3-pixel hole stays, the diagonal pair (one 8-connected
  // component of area 2) is filled.
  out = PostprocessMasks(logits, 8, 10, 2, 0);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FLOAT_EQ(At(*out, 2, 2), -5.0f);
  EXPECT_FLOAT_EQ(At(*out, 5, 7), 10.0f);
  EXPECT_FLOAT_EQ(At(*out, 6, 8), 10.0f);

  // Limit 1: the pair is one component of area 2 (not two of area 1).
  out = PostprocessMasks(logits, 8, 10, 1, 0);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(at::equal(*out, logits));
}

TEST(PostprocessMasksTest, RemovesSprinklesFoundBeforeHoleFilling) {
  // A 3x3 foreground ring (area 8) around a 1-pixel hole, in a large
  // background. On the incoming logits the ring is a sprinkle (8 <= 8) and
  // the centre a hole (1 <= 1). Had sprinkles been found after filling, the
  // block would have area 9 and survive.
  const at::Tensor logits = Scores({
      ".........",
      ".........",
      ".........",
      "...###...",
      "...#.#...",
      "...###...",
      ".........",
      ".........",
      ".........",
  });
  absl::StatusOr<at::Tensor> out = PostprocessMasks(logits, 9, 9, 1, 8);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FLOAT_EQ(At(*out, 4, 4), 10.0f);   // hole filled
  EXPECT_FLOAT_EQ(At(*out, 3, 3), -10.0f);  // ring removed
  EXPECT_FLOAT_EQ(At(*out, 5, 5), -10.0f);
  EXPECT_FLOAT_EQ(At(*out, 0, 0), -5.0f);   // large background untouched

  // Sprinkles only: the ring's area 8 is over a limit of 7.
  out = PostprocessMasks(logits, 9, 9, 0, 7);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(at::equal(*out, logits));
  // Holes only.
  out = PostprocessMasks(logits, 9, 9, 1, 0);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FLOAT_EQ(At(*out, 4, 4), 10.0f);
  EXPECT_FLOAT_EQ(At(*out, 3, 3), 5.0f);
}

TEST(PostprocessMasksTest, ThresholdMovesTheFillValues) {
  // Threshold 1: a logit of 1 is background, 1.5 foreground.
  at::Tensor logits = at::full({1, 1, 5, 5}, 3.0f);
  logits[0][0][2][2] = 1.0f;   // hole at the threshold
  logits[0][0][0][4] = 1.5f;   // still foreground
  absl::StatusOr<at::Tensor> out = PostprocessMasks(logits, 5, 5, 1, 0, 1.0);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FLOAT_EQ(At(*out, 2, 2), 11.0f);
  EXPECT_FLOAT_EQ(At(*out, 0, 4), 1.5f);

  at::Tensor spot = at::full({1, 1, 5, 5}, 0.0f);
  spot[0][0][1][1] = 2.0f;
  out = PostprocessMasks(spot, 5, 5, 0, 1, 1.0);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FLOAT_EQ(At(*out, 1, 1), -9.0f);
}

TEST(PostprocessMasksTest, ResizesBilinearlyWithoutAntialiasing) {
  at::manual_seed(0);
  const at::Tensor logits = at::randn({2, 3, 16, 16}).to(at::kDouble);
  absl::StatusOr<at::Tensor> out = PostprocessMasks(logits, 37, 50, 0, 0);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->sizes(), at::IntArrayRef({2, 3, 37, 50}));
  EXPECT_EQ(out->scalar_type(), at::kFloat);
  const at::Tensor want = at::upsample_bilinear2d(
      logits.to(at::kFloat), {37, 50}, false, std::nullopt, std::nullopt);
  EXPECT_TRUE(at::equal(*out, want));

  // Downscaling is plain bilinear too (the reference's F.interpolate).
  out = PostprocessMasks(logits, 5, 7, 0, 0);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(at::equal(*out, at::upsample_bilinear2d(logits.to(at::kFloat),
                                                      {5, 7}, false,
                                                      std::nullopt,
                                                      std::nullopt)));

  // Filling happens per mask, then the whole batch is resized.
  at::Tensor holes = at::full({2, 2, 6, 6}, 4.0f);
  holes[1][0][3][3] = -4.0f;
  out = PostprocessMasks(holes, 12, 12, 1, 0);
  ASSERT_TRUE(out.ok()) << out.status();
  at::Tensor filled = holes.clone();
  filled[1][0][3][3] = 10.0f;
  EXPECT_TRUE(at::equal(*out, at::upsample_bilinear2d(filled, {12, 12}, false,
                                                      std::nullopt,
                                                      std::nullopt)));
}

TEST(PostprocessMasksTest, RejectsBadInputs) {
  auto invalid = [](const absl::StatusOr<at::Tensor>& r) {
    return !r.ok() && r.status().code() == absl::StatusCode::kInvalidArgument;
  };
  const at::Tensor good = at::zeros({1, 1, 4, 4});
  EXPECT_TRUE(invalid(PostprocessMasks(at::Tensor(), 4, 4, 0, 0)));
  EXPECT_TRUE(invalid(PostprocessMasks(at::zeros({1, 4, 4}), 4, 4, 0, 0)));
  EXPECT_TRUE(invalid(PostprocessMasks(good.to(at::kInt), 4, 4, 0, 0)));
  EXPECT_TRUE(invalid(PostprocessMasks(good, 0, 4, 0, 0)));
  EXPECT_TRUE(invalid(PostprocessMasks(good, 4, kMaxMaskSide + 1, 0, 0)));
  EXPECT_TRUE(invalid(PostprocessMasks(good, 4, 4, std::nan(""), 0)));
  EXPECT_TRUE(invalid(PostprocessMasks(good, 4, 4, 0, 0, INFINITY)));
  // An empty batch is fine.
  absl::StatusOr<at::Tensor> empty =
      PostprocessMasks(at::zeros({0, 3, 4, 4}), 6, 7, 8, 8);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->sizes(), at::IntArrayRef({0, 3, 6, 7}));
}

TEST(FillHolesInMaskScoresTest, FillsSmallBackgroundIncludingTheBorder) {
  const at::Tensor mask = Scores({
      "..########",  // a 2-pixel hole touching the border
      "##########",
      "####0#####",  // a score of exactly 0 is background
      "##########",
      "######....",  // a 9-pixel region touching the border
      "######.###",
      "######....",
  });
  absl::StatusOr<at::Tensor> out = FillHolesInMaskScores(mask, 8);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->scalar_type(), at::kFloat);
  EXPECT_EQ(out->sizes(), mask.sizes());
  EXPECT_FLOAT_EQ(At(*out, 0, 0), 0.1f);
  EXPECT_FLOAT_EQ(At(*out, 0, 1), 0.1f);
  EXPECT_FLOAT_EQ(At(*out, 2, 4), 0.1f);
  EXPECT_FLOAT_EQ(At(*out, 4, 6), -5.0f);  // area 9 > 8
  EXPECT_FLOAT_EQ(At(*out, 6, 9), -5.0f);
  EXPECT_FLOAT_EQ(At(*out, 1, 1), 5.0f);   // foreground untouched

  out = FillHolesInMaskScores(mask, 9);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FLOAT_EQ(At(*out, 4, 6), 0.1f);
  EXPECT_FLOAT_EQ(At(*out, 6, 9), 0.1f);

  // Double scores keep their dtype.
  out = FillHolesInMaskScores(mask.to(at::kDouble), 8);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->scalar_type(), at::kDouble);
  EXPECT_DOUBLE_EQ((*out)[0][0][0][0].item<double>(), 0.1);
}

TEST(FillHolesInMaskScoresTest, RejectsBadInputs) {
  auto invalid = [](const absl::StatusOr<at::Tensor>& r) {
    return !r.ok() && r.status().code() == absl::StatusCode::kInvalidArgument;
  };
  const at::Tensor good = at::zeros({2, 1, 4, 4});
  EXPECT_TRUE(invalid(FillHolesInMaskScores(good, 0)));
  EXPECT_TRUE(invalid(FillHolesInMaskScores(good, -1)));
  EXPECT_TRUE(invalid(FillHolesInMaskScores(good, std::nan(""))));
  EXPECT_TRUE(invalid(FillHolesInMaskScores(at::zeros({2, 2, 4, 4}), 8)));
  EXPECT_TRUE(invalid(FillHolesInMaskScores(good.to(at::kByte), 8)));
  EXPECT_TRUE(FillHolesInMaskScores(good, 8).ok());
}

}  // namespace
}  // namespace sam2
