#include "model/hiera.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "model/model_loader.h"
#include "model/module_weights.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {
namespace {

using hiera_internal::BlockForward;
using hiera_internal::WindowPartition;
using hiera_internal::WindowUnpartition;

constexpr char kMicro[] = "tests/fixtures/sam2.1-micro/model.pt";

TEST(WindowPartitionTest, PadsAMapNotDivisibleByTheWindow) {
  // [B=2, H=5, W=7, C=3], window 3 -> padded 6 x 9, 2 x 3 windows per image.
  at::Tensor x = at::arange(2 * 5 * 7 * 3, at::kFloat).view({2, 5, 7, 3}) + 1;
  std::array<int64_t, 2> padded;
  at::Tensor win = WindowPartition(x, 3, &padded);
  EXPECT_EQ(padded, (std::array<int64_t, 2>{6, 9}));
  ASSERT_EQ(win.sizes(), at::IntArrayRef({12, 3, 3, 3}));
  // Windows are row-major per image: window 1 = rows 0..2, cols 3..5.
  EXPECT_TRUE(at::equal(win[1][0][0], x[0][0][3]));
  EXPECT_TRUE(at::equal(win[1][2][2], x[0][2][5]));
  // Window 5 = rows 3..5, cols 6..8: only (3, 6) and (4, 6) are real.
  EXPECT_TRUE(at::equal(win[5][0][0], x[0][3][6]));
  EXPECT_TRUE(at::equal(win[5][1][0], x[0][4][6]));
  EXPECT_EQ(win[5][0][1].abs().sum().item<float>(), 0.0f);  // col 7: pad
  EXPECT_EQ(win[5][2][0].abs().sum().item<float>(), 0.0f);  // row 5: pad
  // Second image starts at window 6.
  EXPECT_TRUE(at::equal(win[6][0][0], x[1][0][0]));
  // Padding is zeros: the sum over windows equals the sum over the map.
  EXPECT_EQ(win.sum().item<double>(), x.sum().item<double>());

  at::Tensor back = WindowUnpartition(win, 3, padded, {5, 7});
  EXPECT_TRUE(at::equal(back, x));
}

TEST(WindowPartitionTest, DivisibleMapNeedsNoPadding) {
  at::Tensor x = at::randn({1, 8, 4, 2});
  std::array<int64_t, 2> padded;
  at::Tensor win = WindowPartition(x, 4, &padded);
  EXPECT_EQ(padded, (std::array<int64_t, 2>{8, 4}));
  EXPECT_EQ(win.sizes(), at::IntArrayRef({2, 4, 4, 2}));
  EXPECT_TRUE(at::equal(WindowUnpartition(win, 4, padded, {8, 4}), x));
}

// A straightforward re-statement of MultiScaleBlock for one image: explicit
// loops over windows and heads, softmax attention, q max-pooled per window.
at::Tensor NaiveBlock(const Hiera::Block& b, int qs, const at::Tensor& x) {
  const HieraConfig::Block& c = b.config;
  const int64_t h = x.size(1), w = x.size(2);
  at::Tensor xn = at::layer_norm(x, {c.dim}, b.norm1_w, b.norm1_b, 1e-6);
  at::Tensor shortcut = x;
  if (c.dim != c.dim_out) {
    shortcut = at::matmul(xn, b.proj_w.t()) + b.proj_b;
    if (c.q_pool) {
      shortcut = at::max_pool2d(shortcut.permute({0, 3, 1, 2}), {qs, qs},
                                {qs, qs})
                     .permute({0, 2, 3, 1});
    }
  }
  const int64_t ws = c.window_size > 0 ? c.window_size : std::max(h, w);
  const int64_t hp = (h + ws - 1) / ws * ws, wp = (w + ws - 1) / ws * ws;
  at::Tensor padded = at::zeros({1, hp, wp, c.dim});
  padded.slice(1, 0, h).slice(2, 0, w).copy_(xn);
  if (c.window_size == 0) padded = xn;  // global: no padding at all
  const int64_t ph = c.window_size == 0 ? h : hp;
  const int64_t pw = c.window_size == 0 ? w : wp;
  const int64_t wh = c.window_size == 0 ? h : ws;
  const int64_t ww = c.window_size == 0 ? w : ws;
  const int64_t pool = c.q_pool ? qs : 1;
  const int64_t hd = c.dim_out / c.num_heads;
  at::Tensor out = at::zeros({ph / pool, pw / pool, c.dim_out});
  for (int64_t wy = 0; wy < ph / wh; ++wy) {
    for (int64_t wx = 0; wx < pw / ww; ++wx) {
      at::Tensor win = padded[0]
                           .slice(0, wy * wh, (wy + 1) * wh)
                           .slice(1, wx * ww, (wx + 1) * ww);  // [wh, ww, d]
      at::Tensor qkv = at::matmul(win, b.qkv_w.t()) + b.qkv_b;
      at::Tensor q = qkv.slice(2, 0, c.dim_out);
      at::Tensor k =
          qkv.slice(2, c.dim_out, 2 * c.dim_out).reshape({-1, c.dim_out});
      at::Tensor v = qkv.slice(2, 2 * c.dim_out).reshape({-1, c.dim_out});
      if (pool > 1) {
        q = at::max_pool2d(q.permute({2, 0, 1}).unsqueeze(0), {pool, pool},
                           {pool, pool})[0]
                .permute({1, 2, 0});
      }
      const int64_t qh = q.size(0), qw = q.size(1);
      q = q.reshape({-1, c.dim_out});
      std::vector<at::Tensor> heads;
      for (int64_t hh = 0; hh < c.num_heads; ++hh) {
        at::Tensor qh_ = q.slice(1, hh * hd, (hh + 1) * hd);
        at::Tensor kh = k.slice(1, hh * hd, (hh + 1) * hd);
        at::Tensor vh = v.slice(1, hh * hd, (hh + 1) * hd);
        at::Tensor a = at::softmax(at::matmul(qh_, kh.t()) / std::sqrt(hd), -1);
        heads.push_back(at::matmul(a, vh));
      }
      at::Tensor o = at::matmul(at::cat(heads, 1), b.attn_proj_w.t()) +
                     b.attn_proj_b;
      out.slice(0, wy * qh, (wy + 1) * qh)
          .slice(1, wx * qw, (wx + 1) * qw)
          .copy_(o.reshape({qh, qw, c.dim_out}));
    }
  }
  out = out.slice(0, 0, shortcut.size(1)).slice(1, 0, shortcut.size(2));
  at::Tensor y = shortcut + out.unsqueeze(0);
  at::Tensor z = at::layer_norm(y, {c.dim_out}, b.norm2_w, b.norm2_b, 1e-6);
  z = at::matmul(z, b.mlp0_w.t()) + b.mlp0_b;
  z = 0.5 * z * (1 + at::erf(z / std::sqrt(2.0)));
  z = at::matmul(z, b.mlp1_w.t()) + b.mlp1_b;
  return y + z;
}

Hiera::Block RandomBlock(int dim, int dim_out, int heads, int window,
                         bool q_pool) {
  Hiera::Block b;
  b.config.dim = dim;
  b.config.dim_out = dim_out;
  b.config.num_heads = heads;
  b.config.window_size = window;
  b.config.q_pool = q_pool;
  const int hidden = 4 * dim_out;
  b.norm1_w = 1 + 0.1 * at::randn({dim});
  b.norm1_b = 0.1 * at::randn({dim});
  b.qkv_w = at::randn({3 * dim_out, dim}) / std::sqrt(dim);
  b.qkv_b = 0.1 * at::randn({3 * dim_out});
  b.attn_proj_w = at::randn({dim_out, dim_out}) / std::sqrt(dim_out);
  b.attn_proj_b = 0.1 * at::randn({dim_out});
  b.norm2_w = 1 + 0.1 * at::randn({dim_out});
  b.norm2_b = 0.1 * at::randn({dim_out});
  b.mlp0_w = at::randn({hidden, dim_out}) / std::sqrt(dim_out);
  b.mlp0_b = 0.1 * at::randn({hidden});
  b.mlp1_w = at::randn({dim_out, hidden}) / std::sqrt(hidden);
  b.mlp1_b = 0.1 * at::randn({dim_out});
  if (dim != dim_out) {
    b.proj_w = at::randn({dim_out, dim}) / std::sqrt(dim);
    b.proj_b = 0.1 * at::randn({dim_out});
  }
  return b;
}

struct BlockCase {
  const char* name;
  int dim, dim_out, heads, window;
  bool q_pool;
  int h, w;
};

TEST(HieraBlockTest, MatchesANaiveWindowedAttention) {
  at::manual_seed(7);
  const std::vector<int> q_stride = {2, 2};
  const BlockCase cases[] = {
      {"window divides the map", 8, 8, 2, 4, false, 8, 12},
      {"padded windows (pad keys unmasked)", 8, 8, 2, 4, false, 6, 7},
      {"global attention", 8, 8, 1, 0, false, 5, 6},
      {"stage change with q-pool, padded", 8, 16, 2, 4, false, 10, 6},
      {"stage change with q-pool, padded", 8, 16, 2, 4, true, 10, 6},
      {"q-pool, window 6 -> 3 on a 14 x 10 map", 4, 8, 2, 6, true, 14, 10},
      {"global attention with q-pool", 4, 8, 2, 0, true, 6, 8},
  };
  for (const BlockCase& c : cases) {
    Hiera::Block b = RandomBlock(c.dim, c.dim_out, c.heads, c.window, c.q_pool);
    at::Tensor x = at::randn({1, c.h, c.w, c.dim});
    at::Tensor got = BlockForward(b, q_stride, x);
    at::Tensor want = NaiveBlock(b, 2, x);
    ASSERT_EQ(got.sizes(), want.sizes()) << c.name;
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-4) << c.name;
  }
}

class HieraMicroTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<LoadedModel> model = LoadModel(kMicro, "");
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = std::move(*model);
  }
  LoadedModel model_;
};

TEST_F(HieraMicroTest, StageOutputsFollowTheConfig) {
  absl::StatusOr<Hiera> trunk = Hiera::Create(model_.config, model_.weights);
  ASSERT_TRUE(trunk.ok()) << trunk.status();
  const int s = model_.config.image_size;
  absl::StatusOr<std::vector<at::Tensor>> out =
      trunk->Forward(at::randn({1, 3, s, s}));
  ASSERT_TRUE(out.ok()) << out.status();
  const HieraConfig& hc = model_.config.image_encoder.trunk;
  const std::vector<int> dims = hc.StageDims();
  ASSERT_EQ(out->size(), dims.size());
  int64_t side = s / kPatchEmbedStride;
  for (size_t i = 0; i < dims.size(); ++i) {
    EXPECT_EQ((*out)[i].sizes(), at::IntArrayRef({1, dims[i], side, side}))
        << "stage " << i;
    side /= hc.q_stride[0];
  }
  EXPECT_EQ(trunk->ChannelList(), model_.config.image_encoder.neck
                                      .backbone_channel_list);

  // A non-square input whose later grids are not window multiples.
  out = trunk->Forward(at::randn({2, 3, s, s * 3 / 4}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].sizes(),
            at::IntArrayRef({2, dims[0], s / kPatchEmbedStride,
                             s * 3 / 4 / kPatchEmbedStride}));

  EXPECT_EQ(trunk->Forward(at::randn({1, 1, s, s})).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(HieraMicroTest, PosEmbedIsResizedBackgroundPlusTiledWindow) {
  absl::StatusOr<Hiera> trunk = Hiera::Create(model_.config, model_.weights);
  ASSERT_TRUE(trunk.ok()) << trunk.status();
  const HieraConfig& hc = model_.config.image_encoder.trunk;
  const int64_t win = hc.window_spec[0];
  const int64_t h = 2 * win, w = 3 * win;
  absl::StatusOr<at::Tensor> pos = trunk->PosEmbed(h, w);
  ASSERT_TRUE(pos.ok()) << pos.status();
  EXPECT_EQ(pos->sizes(), at::IntArrayRef({1, h, w, hc.embed_dim}));

  const at::Tensor bkg = *model_.weights.Find("image_encoder.trunk.pos_embed");
  const at::Tensor window =
      *model_.weights.Find("image_encoder.trunk.pos_embed_window");
  const at::Tensor resized =
      at::upsample_bicubic2d(bkg, {h, w}, /*align_corners=*/false);
  for (int64_t y : {int64_t{0}, win + 3, h - 1}) {
    for (int64_t x : {int64_t{1}, 2 * win + 5, w - 1}) {
      at::Tensor want = resized[0].select(1, y).select(1, x) +
                        window[0].select(1, y % win).select(1, x % win);
      EXPECT_TRUE(at::allclose((*pos)[0][y][x], want)) << y << ", " << x;
    }
  }
  // The interpolation really resizes: the corners of a bicubic resize with
  // align_corners false are not the source's corners.
  EXPECT_EQ(resized.sizes(), at::IntArrayRef({1, hc.embed_dim, h, w}));

  EXPECT_EQ(trunk->PosEmbed(win + 1, w).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(trunk->PosEmbed(0, w).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(HieraMicroTest, NamesAMissingOrMisshapenWeight) {
  StateDict partial;
  for (const NamedTensor& t : model_.weights) {
    if (t.name == "image_encoder.trunk.blocks.2.attn.qkv.bias") continue;
    if (t.name == "image_encoder.trunk.pos_embed_window") {
      ASSERT_TRUE(partial.Add(t.name, at::zeros({1, 3, 2, 2})).ok());
      continue;
    }
    ASSERT_TRUE(partial.Add(t.name, t.tensor).ok());
  }
  absl::StatusOr<Hiera> trunk = Hiera::Create(model_.config, partial);
  ASSERT_FALSE(trunk.ok());
  EXPECT_EQ(trunk.status().code(), absl::StatusCode::kInvalidArgument);
  // The first problem met is reported (pos_embed_window comes first).
  EXPECT_NE(trunk.status().message().find("pos_embed_window"),
            absl::string_view::npos)
      << trunk.status();
}

}  // namespace
}  // namespace sam2
