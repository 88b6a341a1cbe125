// TensorConnectedComponents against OpenCV's labelling (what
// GetConnectedComponents runs for CPU tensors): the same components and
// areas on random masks of many sizes and densities and on shapes that make
// label propagation slow (a one-pixel-wide serpentine, a spiral), labels
// numbered in raster order of each component's first pixel.

#include "model/connected_components.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/mask_postprocess.h"

namespace sam2 {
namespace {

// Expects `ours` to be OpenCV's components of `mask` (labels up to a
// renaming, areas equal) with labels 1..K in raster order per image.
void ExpectSameAsOpenCv(const at::Tensor& mask) {
  absl::StatusOr<ConnectedComponents> ours = TensorConnectedComponents(mask);
  ASSERT_TRUE(ours.ok()) << ours.status();
  absl::StatusOr<ConnectedComponents> cv = GetConnectedComponents(mask);
  ASSERT_TRUE(cv.ok()) << cv.status();
  ASSERT_EQ(ours->labels.sizes(), mask.sizes());
  EXPECT_EQ(ours->labels.scalar_type(), at::kInt);
  EXPECT_EQ(ours->counts.scalar_type(), at::kInt);
  EXPECT_TRUE(at::equal(ours->counts, cv->counts));
  EXPECT_TRUE(at::equal(ours->labels.gt(0), mask.ne(0)));
  for (int64_t i = 0; i < mask.size(0); ++i) {
    const at::Tensor a = ours->labels[i].reshape(-1).to(at::kLong);
    const at::Tensor b = cv->labels[i].reshape(-1).to(at::kLong);
    // A renaming: as many distinct (ours, OpenCV) pairs as labels on
    // either side.
    const int64_t pairs =
        std::get<0>(at::_unique(a * (b.max().item<int64_t>() + 1) + b))
            .numel();
    EXPECT_EQ(pairs, std::get<0>(at::_unique(a)).numel());
    EXPECT_EQ(pairs, std::get<0>(at::_unique(b)).numel());
    // Raster order: each new label is one more than the largest so far.
    int64_t largest = 0;
    const int64_t* p = a.data_ptr<int64_t>();
    for (int64_t k = 0; k < a.numel(); ++k) {
      if (p[k] > largest) {
        ASSERT_EQ(p[k], largest + 1) << "image " << i << " pixel " << k;
        largest = p[k];
      }
    }
  }
}

TEST(TensorConnectedComponentsTest, RandomMasksMatchOpenCv) {
  at::manual_seed(7);
  const std::vector<std::vector<int64_t>> sizes = {
      {1, 1, 1, 1}, {2, 1, 1, 9}, {2, 1, 9, 1}, {3, 1, 37, 53},
      {2, 1, 256, 256}};
  for (const std::vector<int64_t>& size : sizes) {
    for (double density : {0.1, 0.4, 0.5, 0.6, 0.9}) {
      SCOPED_TRACE(::testing::Message() << size[2] << "x" << size[3]
                                        << " density " << density);
      ExpectSameAsOpenCv(at::rand(size).lt(density));
    }
  }
}

TEST(TensorConnectedComponentsTest, EmptyFullAndCheckerboard) {
  ExpectSameAsOpenCv(at::zeros({1, 1, 16, 16}, at::kBool));
  ExpectSameAsOpenCv(at::ones({2, 1, 16, 16}, at::kByte));
  // Diagonal neighbours join: one component in 8-connectivity.
  const at::Tensor ramp = at::arange(16);
  const at::Tensor checker =
      (ramp.view({16, 1}) + ramp.view({1, 16})).remainder(2).eq(0);
  const at::Tensor mask = checker.view({1, 1, 16, 16});
  ExpectSameAsOpenCv(mask);
  absl::StatusOr<ConnectedComponents> cc = TensorConnectedComponents(mask);
  ASSERT_TRUE(cc.ok());
  EXPECT_EQ(cc->labels.max().item<int>(), 1);
  EXPECT_EQ(cc->counts.max().item<int>(), 128);
}

// A one-pixel-wide path that winds through the whole image: the longest
// path a component of this size can have.
at::Tensor Serpentine(int64_t side) {
  at::Tensor m = at::zeros({side, side}, at::kBool);
  for (int64_t row = 0; row < side; row += 2) {
    m[row].fill_(true);
    if (row + 1 < side) m[row + 1][(row / 2) % 2 == 0 ? side - 1 : 0] = true;
  }
  return m.view({1, 1, side, side});
}

// Rings of a square spiral, one pixel wide with one-pixel gaps.
at::Tensor Spiral(int64_t side) {
  at::Tensor m = at::zeros({side, side}, at::kBool);
  int64_t top = 0, left = 0, bottom = side - 1, right = side - 1;
  while (top <= bottom && left <= right) {
    m.index_put_({top, at::indexing::Slice(left, right + 1)}, true);
    m.index_put_({at::indexing::Slice(top, bottom + 1), right}, true);
    if (top + 2 <= bottom) {
      m.index_put_({bottom, at::indexing::Slice(left, right + 1)}, true);
    }
    if (left + 2 <= right) {
      m.index_put_({at::indexing::Slice(top + 2, bottom + 1), left}, true);
    }
    top += 2;
    left += 2;
    bottom -= 2;
    right -= 2;
    if (top <= bottom) m[top - 1][left] = false;  // keep the rings apart
  }
  return m.view({1, 1, side, side});
}

TEST(TensorConnectedComponentsTest, LongPathsConvergeInFewRounds) {
  for (const at::Tensor& mask :
       {Serpentine(256), Spiral(256), Serpentine(255), Spiral(97)}) {
    ExpectSameAsOpenCv(mask);
    int rounds = 0;
    absl::StatusOr<ConnectedComponents> cc =
        TensorConnectedComponents(mask, &rounds);
    ASSERT_TRUE(cc.ok()) << cc.status();
    ::testing::Test::RecordProperty(
        "rounds_" + std::to_string(mask.size(2)) + "_" +
            std::to_string(mask.sum().item<int64_t>()),
        rounds);
    // Label propagation alone would need a round per pixel of the path
    // (tens of thousands here); FastSV needs about log2 of it.
    EXPECT_LE(rounds, 64) << mask.size(2);
  }
}

TEST(TensorConnectedComponentsTest, HoleFillingGivesTheSameScores) {
  // FillHolesInMaskScores routes CPU tensors through OpenCV; the tensor
  // path must fill exactly the same pixels.
  at::manual_seed(3);
  const at::Tensor scores = at::randn({3, 1, 64, 64});
  absl::StatusOr<ConnectedComponents> cc =
      TensorConnectedComponents(scores.le(0));
  ASSERT_TRUE(cc.ok());
  const at::Tensor is_hole =
      at::logical_and(cc->labels.gt(0), cc->counts.le(8));
  const at::Tensor ours = at::where(is_hole, kFilledHoleScore, scores);
  absl::StatusOr<at::Tensor> reference = FillHolesInMaskScores(scores, 8);
  ASSERT_TRUE(reference.ok());
  EXPECT_TRUE(at::equal(ours, *reference));
  EXPECT_GT(is_hole.sum().item<int64_t>(), 0);
}

}  // namespace
}  // namespace sam2
