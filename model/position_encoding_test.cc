#include "model/position_encoding.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "model/sam2_config.h"

namespace sam2 {
namespace {

PositionEmbeddingSineConfig Config(int num_pos_feats) {
  PositionEmbeddingSineConfig c;
  c.num_pos_feats = num_pos_feats;
  return c;
}

TEST(PositionEmbeddingSineTest, ShapeFollowsTheFeatureMap) {
  absl::StatusOr<PositionEmbeddingSine> pe =
      PositionEmbeddingSine::Create(Config(32));
  ASSERT_TRUE(pe.ok()) << pe.status();
  EXPECT_EQ(pe->num_pos_feats(), 32);
  absl::StatusOr<at::Tensor> pos = pe->Forward(at::zeros({2, 5, 6, 7}));
  ASSERT_TRUE(pos.ok()) << pos.status();
  EXPECT_EQ(pos->sizes(), at::IntArrayRef({2, 32, 6, 7}));
  EXPECT_EQ(pos->scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal((*pos)[0], (*pos)[1]));
}

// Entries computed by hand from the formula: F = 4 features per axis,
// dim_t = {1, 1, 100, 100}; channel layout [y half, x half], each half
// sin(p / dim_t[0]), cos(p / dim_t[1]), sin(p / dim_t[2]), cos(p / dim_t[3]);
// p = index (from 1) / (size + 1e-6) * 2 pi.
TEST(PositionEmbeddingSineTest, KnownValues) {
  absl::StatusOr<PositionEmbeddingSine> pe =
      PositionEmbeddingSine::Create(Config(8));
  ASSERT_TRUE(pe.ok()) << pe.status();
  const int h = 3, w = 5;
  absl::StatusOr<at::Tensor> pos = pe->Forward(at::zeros({1, 1, h, w}));
  ASSERT_TRUE(pos.ok()) << pos.status();
  const double two_pi = 2 * M_PI;
  for (int r = 0; r < h; ++r) {
    for (int c = 0; c < w; ++c) {
      const double py = (r + 1) / (h + 1e-6) * two_pi;
      const double px = (c + 1) / (w + 1e-6) * two_pi;
      const double want[8] = {std::sin(py),       std::cos(py),
                              std::sin(py / 100), std::cos(py / 100),
                              std::sin(px),       std::cos(px),
                              std::sin(px / 100), std::cos(px / 100)};
      for (int ch = 0; ch < 8; ++ch) {
        EXPECT_NEAR((*pos)[0][ch][r][c].item<float>(), want[ch], 2e-6)
            << "channel " << ch << " at (" << r << ", " << c << ")";
      }
    }
  }
  // The last row / column sits at (almost exactly) 2 pi.
  EXPECT_NEAR((*pos)[0][0][h - 1][0].item<float>(), 0.0, 1e-5);
  EXPECT_NEAR((*pos)[0][1][h - 1][0].item<float>(), 1.0, 1e-6);
}

TEST(PositionEmbeddingSineTest, TemperatureAndUnnormalized) {
  PositionEmbeddingSineConfig c = Config(4);
  c.normalize = false;
  c.temperature = 16;
  absl::StatusOr<PositionEmbeddingSine> pe = PositionEmbeddingSine::Create(c);
  ASSERT_TRUE(pe.ok()) << pe.status();
  // F = 2: dim_t = {1, 1}; raw positions 1..H.
  absl::StatusOr<at::Tensor> pos = pe->Forward(at::zeros({1, 1, 2, 3}));
  ASSERT_TRUE(pos.ok());
  EXPECT_NEAR((*pos)[0][0][1][2].item<float>(), std::sin(2.0), 1e-6);
  EXPECT_NEAR((*pos)[0][1][1][2].item<float>(), std::cos(2.0), 1e-6);
  EXPECT_NEAR((*pos)[0][2][1][2].item<float>(), std::sin(3.0), 1e-6);
  EXPECT_NEAR((*pos)[0][3][1][2].item<float>(), std::cos(3.0), 1e-6);

  c = Config(8);
  c.temperature = 16;
  c.scale = 1.0;
  pe = PositionEmbeddingSine::Create(c);
  ASSERT_TRUE(pe.ok());
  pos = pe->Forward(at::zeros({1, 1, 4, 4}));
  ASSERT_TRUE(pos.ok());
  // dim_t[2] = 16^(2/4) = 4; x = 2 / 4 * 1.0.
  EXPECT_NEAR((*pos)[0][6][0][1].item<float>(), std::sin(0.5 / 4), 1e-6);
  EXPECT_NEAR((*pos)[0][7][0][1].item<float>(), std::cos(0.5 / 4), 1e-6);
}

TEST(PositionEmbeddingSineTest, RejectsBadConfigAndInput) {
  EXPECT_EQ(PositionEmbeddingSine::Create(Config(7)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PositionEmbeddingSine::Create(Config(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  PositionEmbeddingSineConfig c = Config(8);
  c.normalize = false;
  c.scale = 3.0;
  EXPECT_EQ(PositionEmbeddingSine::Create(c).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<PositionEmbeddingSine> pe =
      PositionEmbeddingSine::Create(Config(8));
  ASSERT_TRUE(pe.ok());
  EXPECT_EQ(pe->Forward(at::zeros({4, 4})).status().code(),
            absl::StatusCode::kInvalidArgument);
  // An empty map gives an empty encoding, as in the reference.
  absl::StatusOr<at::Tensor> empty = pe->Forward(at::zeros({1, 1, 0, 4}));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->sizes(), at::IntArrayRef({1, 8, 0, 4}));
}

// Encodings are computed once per size/device/dtype and shared: the same
// storage comes back, a batch is that tensor expanded, another dtype is the
// float32 encoding converted, copies of the object share the cache, and the
// cache stops growing at kMaxCachedEncodings (later sizes still encode).
TEST(PositionEmbeddingSineTest, CachesEncodingsPerSizeDeviceAndDtype) {
  absl::StatusOr<PositionEmbeddingSine> pe =
      PositionEmbeddingSine::Create(Config(16));
  ASSERT_TRUE(pe.ok()) << pe.status();
  const c10::Device cpu(c10::kCPU);
  const at::Tensor a = pe->Encode(1, 6, 5, cpu);
  const at::Tensor b = pe->Encode(1, 6, 5, cpu);
  EXPECT_EQ(a.data_ptr(), b.data_ptr());
  EXPECT_TRUE(a.is_contiguous());
  const at::Tensor batch = pe->Encode(3, 6, 5, cpu);
  ASSERT_EQ(batch.sizes(), at::IntArrayRef({3, 16, 6, 5}));
  EXPECT_EQ(batch.data_ptr(), a.data_ptr());  // expanded, not copied
  EXPECT_TRUE(at::equal(batch[2], a[0]));
  const at::Tensor half = pe->Encode(1, 6, 5, cpu, at::kBFloat16);
  EXPECT_EQ(half.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(half, a.to(at::kBFloat16)));
  const PositionEmbeddingSine copy = *pe;
  EXPECT_EQ(copy.Encode(1, 6, 5, cpu).data_ptr(), a.data_ptr());
  // The same values as the encoding of a feature map of that size.
  absl::StatusOr<at::Tensor> forward = pe->Forward(at::zeros({1, 4, 6, 5}));
  ASSERT_TRUE(forward.ok());
  EXPECT_TRUE(at::equal(*forward, a));
  for (int size = 1; size <= kMaxCachedEncodings + 3; ++size) {
    const at::Tensor e = pe->Encode(1, size, 2, cpu);
    EXPECT_EQ(e.sizes(), at::IntArrayRef({1, 16, size, 2}));
  }
  const at::Tensor late1 = pe->Encode(1, kMaxCachedEncodings + 3, 2, cpu);
  const at::Tensor late2 = pe->Encode(1, kMaxCachedEncodings + 3, 2, cpu);
  EXPECT_NE(late1.data_ptr(), late2.data_ptr());  // past the limit: computed
  EXPECT_TRUE(at::equal(late1, late2));
}

TEST(Get1dSinePeTest, KnownValues) {
  // dim 8: dim/2 = 4 frequencies, dim_t = {1, 1, 100, 100} (each frequency
  // twice in a row); output [sin(p / dim_t), cos(p / dim_t)].
  absl::StatusOr<at::Tensor> pe =
      Get1dSinePe(at::tensor({0.0f, 3.0f}), /*dim=*/8);
  ASSERT_TRUE(pe.ok()) << pe.status();
  ASSERT_EQ(pe->sizes(), at::IntArrayRef({2, 8}));
  const double p = 3.0;
  const double want[2][8] = {
      {0, 0, 0, 0, 1, 1, 1, 1},
      {std::sin(p), std::sin(p), std::sin(p / 100), std::sin(p / 100),
       std::cos(p), std::cos(p), std::cos(p / 100), std::cos(p / 100)}};
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 8; ++j) {
      EXPECT_NEAR((*pe)[i][j].item<float>(), want[i][j], 1e-6)
          << i << ", " << j;
    }
  }
  // Batched positions keep their leading shape.
  absl::StatusOr<at::Tensor> batched = Get1dSinePe(at::ones({3, 2}), 16);
  ASSERT_TRUE(batched.ok());
  EXPECT_EQ(batched->sizes(), at::IntArrayRef({3, 2, 16}));
  EXPECT_EQ(Get1dSinePe(at::tensor({1.0f}), 3).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sam2
