// Tests of amg_utils.h. Expected grids and crop boxes were computed with
// the reference's sam2/utils/amg.py (numpy) on the same arguments.

#include "model/amg_utils.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace sam2 {
namespace {

std::vector<int64_t> ToVec(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(),
                              c.data_ptr<int64_t>() + c.numel());
}

TEST(PointGridTest, MatchesNumpyLinspace) {
  absl::StatusOr<at::Tensor> g = BuildPointGrid(3);
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->sizes(), (std::vector<int64_t>{9, 2}));
  EXPECT_EQ(g->scalar_type(), at::kDouble);
  // y outer, x inner.
  EXPECT_EQ((*g)[1][0].item<double>(), 0.5);
  EXPECT_EQ((*g)[1][1].item<double>(), 0.16666666666666666);
  EXPECT_EQ((*g)[3][0].item<double>(), 0.16666666666666666);
  EXPECT_EQ((*g)[3][1].item<double>(), 0.5);
  EXPECT_EQ((*g)[8][0].item<double>(), 0.8333333333333334);

  absl::StatusOr<at::Tensor> g7 = BuildPointGrid(7);
  ASSERT_TRUE(g7.ok());
  const double expected[] = {0.07142857142857142, 0.2142857142857143,
                             0.3571428571428572,  0.5,
                             0.6428571428571429,  0.7857142857142858,
                             0.9285714285714286};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ((*g7)[i][0].item<double>(), expected[i]) << i;  // bit-exact
  }
  absl::StatusOr<at::Tensor> g1 = BuildPointGrid(1);
  ASSERT_TRUE(g1.ok());
  EXPECT_EQ((*g1)[0][0].item<double>(), 0.5);
}

TEST(PointGridTest, LayersAndBadInput) {
  absl::StatusOr<std::vector<at::Tensor>> grids = BuildAllLayerPointGrids(32, 2, 3);
  ASSERT_TRUE(grids.ok());
  ASSERT_EQ(grids->size(), 3u);
  EXPECT_EQ((*grids)[0].size(0), 1024);
  EXPECT_EQ((*grids)[1].size(0), 100);  // int(32 / 3) = 10
  EXPECT_EQ((*grids)[2].size(0), 9);    // int(32 / 9) = 3
  EXPECT_FALSE(BuildPointGrid(0).ok());
  EXPECT_FALSE(BuildPointGrid(-3).ok());
  EXPECT_FALSE(BuildAllLayerPointGrids(2, 2, 4).ok());  // layer 1 has 0
  EXPECT_FALSE(BuildAllLayerPointGrids(32, kMaxCropLayers + 1, 1).ok());
}

TEST(CropBoxesTest, MatchesReference) {
  absl::StatusOr<CropBoxes> c = GenerateCropBoxes(400, 600, 2, 512.0 / 1500.0);
  ASSERT_TRUE(c.ok());
  const std::vector<CropBox> expected = {
      {0, 0, 600, 400},     {0, 0, 368, 268},     {0, 132, 368, 400},
      {232, 0, 600, 268},   {232, 132, 600, 400}, {0, 0, 201, 151},
      {0, 83, 201, 234},    {0, 166, 201, 317},   {0, 249, 201, 400},
      {133, 0, 334, 151},   {133, 83, 334, 234},  {133, 166, 334, 317},
      {133, 249, 334, 400}, {266, 0, 467, 151},   {266, 83, 467, 234},
      {266, 166, 467, 317}, {266, 249, 467, 400}, {399, 0, 600, 151},
      {399, 83, 600, 234},  {399, 166, 600, 317}, {399, 249, 600, 400}};
  ASSERT_EQ(c->boxes.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(c->boxes[i] == expected[i]) << i;
    EXPECT_EQ(c->layer_idxs[i], i == 0 ? 0 : (i < 5 ? 1 : 2));
  }
  absl::StatusOr<CropBoxes> tall = GenerateCropBoxes(1000, 750, 1, 512.0 / 1500.0);
  ASSERT_TRUE(tall.ok());
  ASSERT_EQ(tall->boxes.size(), 5u);
  EXPECT_TRUE(tall->boxes[1] == (CropBox{0, 0, 503, 628}));
  EXPECT_TRUE(tall->boxes[4] == (CropBox{247, 372, 750, 1000}));
  EXPECT_FALSE(GenerateCropBoxes(0, 10, 0, 0.3).ok());
  EXPECT_FALSE(GenerateCropBoxes(10, 10, kMaxCropLayers + 1, 0.3).ok());
}

TEST(StabilityScoreTest, RatioOfThresholdedAreas) {
  at::Tensor logits = at::zeros({2, 2, 3});
  // Mask 0: 2 pixels > 1, 4 pixels > -1.
  logits[0] = at::tensor({2.0f, 1.5f, 0.0f, 0.5f, -2.0f, -3.0f}).reshape({2, 3});
  // Mask 1: nothing above -1: 0 / 0.
  logits[1].fill_(-5.0f);
  absl::StatusOr<at::Tensor> s = CalculateStabilityScore(logits, 0.0, 1.0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->scalar_type(), at::kFloat);
  EXPECT_FLOAT_EQ((*s)[0].item<float>(), 0.5f);
  EXPECT_TRUE(std::isnan((*s)[1].item<float>()));
  // A strict inequality at both cutoffs.
  at::Tensor edge = at::tensor({1.0f, -1.0f, 0.5f}).reshape({1, 1, 3});
  s = CalculateStabilityScore(edge, 0.0, 1.0);
  ASSERT_TRUE(s.ok());
  EXPECT_FLOAT_EQ((*s)[0].item<float>(), 0.0f);
}

TEST(MaskToBoxTest, InclusiveExtentsAndEmpty) {
  at::Tensor m = at::zeros({3, 5, 6}, at::kBool);
  m[0][1][2] = true;
  m[0][3][4] = true;
  m[1].fill_(true);
  absl::StatusOr<at::Tensor> b = BatchedMaskToBox(m);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->scalar_type(), at::kLong);
  EXPECT_EQ(ToVec((*b)[0]), (std::vector<int64_t>{2, 1, 4, 3}));
  EXPECT_EQ(ToVec((*b)[1]), (std::vector<int64_t>{0, 0, 5, 4}));
  EXPECT_EQ(ToVec((*b)[2]), (std::vector<int64_t>{0, 0, 0, 0}));
  absl::StatusOr<at::Tensor> nested = BatchedMaskToBox(m.reshape({3, 1, 5, 6}));
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->sizes(), (std::vector<int64_t>{3, 1, 4}));
}

TEST(CropEdgeTest, NearCropButNotImageEdge) {
  const CropBox crop{100, 0, 300, 200};
  const CropBox image{0, 0, 300, 400};
  // Crop coordinates: box 0 touches the crop's left (x=100 in the image),
  // box 1 is interior, box 2 touches the crop's right, which is the
  // image's right too, box 3 within 20 px of the crop bottom (y1 = 185).
  at::Tensor boxes = at::tensor({0, 50, 50, 80, 40, 40, 100, 100, 150, 50,
                                 199, 80, 40, 40, 100, 185},
                                at::kLong)
                         .reshape({4, 4});
  absl::StatusOr<at::Tensor> near = IsBoxNearCropEdge(boxes, crop, image);
  ASSERT_TRUE(near.ok());
  EXPECT_EQ(ToVec(*near), (std::vector<int64_t>{1, 0, 0, 1}));
}

TEST(UncropTest, OffsetsAndPadding) {
  const CropBox crop{2, 1, 5, 3};
  at::Tensor boxes = at::tensor({0, 0, 1, 1}, at::kLong).reshape({1, 4});
  EXPECT_EQ(ToVec(UncropBoxesXyxy(boxes, crop)), (std::vector<int64_t>{2, 1, 3, 2}));
  at::Tensor points = at::tensor({0.5f, 1.5f}).reshape({1, 2});
  const at::Tensor up = UncropPoints(points, crop);
  EXPECT_EQ(up.scalar_type(), at::kFloat);
  EXPECT_FLOAT_EQ(up[0][0].item<float>(), 2.5f);
  EXPECT_FLOAT_EQ(up[0][1].item<float>(), 2.5f);
  at::Tensor masks = at::ones({1, 2, 3}, at::kBool);
  absl::StatusOr<at::Tensor> full = UncropMasks(masks, crop, 4, 6);
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->sizes(), (std::vector<int64_t>{1, 4, 6}));
  EXPECT_EQ(full->sum().item<int64_t>(), 6);
  EXPECT_TRUE(full->index({0, 1, 2}).item<bool>());
  EXPECT_TRUE(full->index({0, 2, 4}).item<bool>());
  EXPECT_FALSE(full->index({0, 0, 2}).item<bool>());
  EXPECT_FALSE(UncropMasks(masks, CropBox{0, 0, 4, 4}, 4, 6).ok());
  EXPECT_EQ(BoxXyxyToXywh({1, 2, 4, 6}), (std::array<double, 4>{1, 2, 3, 4}));
}

TEST(NmsTest, DescendingScoreOrderAndSuppression) {
  at::Tensor boxes = at::tensor({0.f, 0.f, 10.f, 10.f,    // 0
                                 1.f, 1.f, 11.f, 11.f,    // 1: IoU 81/119 with 0
                                 20.f, 20.f, 30.f, 30.f,  // 2: disjoint
                                 0.f, 0.f, 10.f, 10.f})   // 3: same as 0
                         .reshape({4, 4});
  at::Tensor scores = at::tensor({0.5f, 0.9f, 0.7f, 0.4f});
  absl::StatusOr<at::Tensor> keep = BatchedNms(boxes, scores, 0.5);
  ASSERT_TRUE(keep.ok());
  // 1 first (suppresses 0 and 3: IoU 0.68 > 0.5), then 2.
  EXPECT_EQ(ToVec(*keep), (std::vector<int64_t>{1, 2}));
  // Threshold above the IoU: nothing suppressed except identical boxes.
  keep = BatchedNms(boxes, scores, 0.7);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(ToVec(*keep), (std::vector<int64_t>{1, 2, 0}));
  // IoU equal to the threshold is kept (suppression needs IoU > thresh).
  keep = BatchedNms(boxes, scores, 1.0);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(ToVec(*keep), (std::vector<int64_t>{1, 2, 0, 3}));
}

TEST(NmsTest, TiesKeepIndexOrder) {
  // Equal scores (as across crops of one layer): the earlier index wins.
  at::Tensor boxes = at::tensor({0.f, 0.f, 10.f, 10.f, 50.f, 50.f, 60.f, 60.f,
                                 0.f, 0.f, 10.f, 9.f, 50.f, 50.f, 60.f, 61.f})
                         .reshape({4, 4});
  at::Tensor scores = at::full({4}, 0.25f);
  absl::StatusOr<at::Tensor> keep = BatchedNms(boxes, scores, 0.7);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(ToVec(*keep), (std::vector<int64_t>{0, 1}));
  // Reversed indices: now 2 and 3 come first.
  keep = BatchedNms(boxes.flip(0), scores, 0.7);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(ToVec(*keep), (std::vector<int64_t>{0, 1}));
  keep = BatchedNms(at::empty({0, 4}), at::empty({0}), 0.7);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(keep->numel(), 0);
  EXPECT_FALSE(BatchedNms(boxes, at::zeros({3}), 0.7).ok());
}

TEST(NmsTest, ZeroAreaBoxes) {
  // Empty masks give [0, 0, 0, 0] boxes: 0 / 0 IoU is NaN, never > thresh.
  at::Tensor boxes = at::zeros({2, 4});
  absl::StatusOr<at::Tensor> keep = BatchedNms(boxes, at::tensor({0.3f, 0.6f}), 0.5);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(ToVec(*keep), (std::vector<int64_t>{1, 0}));
}

}  // namespace
}  // namespace sam2
