#include "model/projected_value_attention.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include "gtest/gtest.h"

namespace sam2 {
namespace {

// The reference computation: values projected first, then SDPA.
at::Tensor Expected(const at::Tensor& q, const at::Tensor& k,
                    const at::Tensor& m, const at::Tensor& w,
                    const at::Tensor& b) {
  const int64_t heads = q.size(1);
  const at::Tensor v = at::linear(m, w, b)  // [B, Nk, H * Dv]
                           .reshape({m.size(0), m.size(1), heads, -1})
                           .transpose(1, 2);
  return at::scaled_dot_product_attention(q, k, v);
}

struct Case {
  int64_t batch, heads, nq, dim, nk, m_dim, value_dim;
  double score_scale;
};

TEST(ProjectedValueAttentionTest, EqualsProjectingTheValuesFirst) {
  at::manual_seed(7);
  for (const Case& c : {
           // Several query and key blocks, both with ragged ends.
           Case{2, 1, 300, 32, 5000, 8, 32, 1.0},
           // Several heads sharing the inputs; one key block.
           Case{1, 2, 130, 16, 700, 4, 16, 1.0},
           // A single key; a single query.
           Case{1, 1, 1, 8, 1, 4, 8, 1.0},
           // Peaked softmax: later key blocks raise the running maximum by
           // far more than exp can span without the rescaling.
           Case{1, 1, 200, 16, 4500, 8, 16, 40.0},
       }) {
    const at::Tensor q =
        at::randn({c.batch, c.heads, c.nq, c.dim}) * c.score_scale;
    const at::Tensor k = at::randn({c.batch, c.heads, c.nk, c.dim});
    const at::Tensor m = at::randn({c.batch, c.nk, c.m_dim});
    const at::Tensor w = at::randn({c.heads * c.value_dim, c.m_dim}) * 0.3;
    const at::Tensor b = at::randn({c.heads * c.value_dim});
    const at::Tensor got = ProjectedValueAttention(q, k, m, w, b);
    const at::Tensor want = Expected(q, k, m, w, b);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_TRUE(at::isfinite(got).all().item<bool>());
    EXPECT_LT((got - want).abs().max().item<double>(), 2e-5)
        << "nq " << c.nq << " nk " << c.nk << " heads " << c.heads
        << " scale " << c.score_scale;
  }
}

TEST(ProjectedValueAttentionTest, TallerTilesWithMoreThreadsGiveTheSame) {
  at::manual_seed(8);
  const at::Tensor q = at::randn({1, 1, 1500, 16});
  const at::Tensor k = at::randn({1, 1, 2500, 16});
  const at::Tensor m = at::randn({1, 2500, 4});
  const at::Tensor w = at::randn({16, 4});
  const at::Tensor b = at::randn({16});
  const int threads = at::get_num_threads();
  at::set_num_threads(6);  // 3 query blocks a tile
  const at::Tensor got = ProjectedValueAttention(q, k, m, w, b);
  at::set_num_threads(threads);
  EXPECT_LT((got - Expected(q, k, m, w, b)).abs().max().item<double>(), 2e-5);
}

TEST(ProjectedValueAttentionTest, AppliesToFloat32CpuWideningValuesOnly) {
  const at::Tensor q = at::zeros({1, 1, 4, 16});
  const at::Tensor m = at::zeros({1, 4, 8});
  EXPECT_TRUE(ProjectedValueAttentionApplies(q, q, m, 16));
  // Values no wider than their inputs: nothing to save.
  EXPECT_FALSE(ProjectedValueAttentionApplies(q, q, m, 8));
  // Other dtypes keep SDPA (the reference's bfloat16 numerics).
  EXPECT_FALSE(ProjectedValueAttentionApplies(q.to(at::kBFloat16), q, m, 16));
  EXPECT_FALSE(ProjectedValueAttentionApplies(q, q, m.to(at::kDouble), 16));
  at::autocast::set_autocast_enabled(at::kCPU, true);
  EXPECT_FALSE(ProjectedValueAttentionApplies(q, q, m, 16));
  at::autocast::set_autocast_enabled(at::kCPU, false);
}

TEST(ProjectedValueAttentionTest, MismatchedShapesThrow) {
  const at::Tensor q = at::zeros({1, 1, 4, 16});
  const at::Tensor m = at::zeros({1, 4, 8});
  const at::Tensor w = at::zeros({16, 8});
  const at::Tensor b = at::zeros({16});
  EXPECT_THROW(ProjectedValueAttention(q, q, at::zeros({1, 5, 8}), w, b),
               c10::Error);
  EXPECT_THROW(ProjectedValueAttention(q, q, m, at::zeros({16, 4}), b),
               c10::Error);
  EXPECT_THROW(ProjectedValueAttention(q, at::zeros({1, 1, 4, 8}), m, w, b),
               c10::Error);
}

}  // namespace
}  // namespace sam2
