#include "model/projected_value_attention.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sam2 {

bool ProjectedValueAttentionApplies(const at::Tensor& q, const at::Tensor& k,
                                    const at::Tensor& m, int64_t head_dim) {
  const auto cpu_float = [](const at::Tensor& t) {
    return t.defined() && t.device().is_cpu() &&
           t.scalar_type() == at::kFloat;
  };
  return cpu_float(q) && cpu_float(k) && cpu_float(m) &&
         !at::autocast::is_autocast_enabled(at::kCPU) && m.dim() == 3 &&
         m.size(2) < head_dim;
}

at::Tensor ProjectedValueAttention(const at::Tensor& q, const at::Tensor& k,
                                   const at::Tensor& m,
                                   const at::Tensor& value_weight,
                                   const at::Tensor& value_bias) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && m.dim() == 3,
              "ProjectedValueAttention: q and k must be [B, H, N, E], m "
              "[B, Nk, Dm]");
  const int64_t batch = q.size(0), heads = q.size(1), nq = q.size(2),
                dim = q.size(3), nk = k.size(2), m_dim = m.size(2);
  TORCH_CHECK(k.size(0) == batch && k.size(1) == heads && k.size(3) == dim &&
                  m.size(0) == batch && m.size(1) == nk && nk > 0,
              "ProjectedValueAttention: mismatched q ", q.sizes(), ", k ",
              k.sizes(), ", m ", m.sizes());
  TORCH_CHECK(value_weight.dim() == 2 && value_weight.size(1) == m_dim &&
                  value_weight.size(0) % heads == 0 &&
                  value_bias.dim() == 1 &&
                  value_bias.size(0) == value_weight.size(0),
              "ProjectedValueAttention: value projection ",
              value_weight.sizes(), " + ", value_bias.sizes(),
              " does not take ", m_dim, " channels to ", heads, " heads");
  const int64_t value_dim = value_weight.size(0) / heads;

  // Scaling q once (nq x dim products) instead of every score; the same
  // scale SDPA applies, up to round-off.
  const at::Tensor qs =
      (q * (1.0 / std::sqrt(static_cast<double>(dim)))).contiguous();
  const at::Tensor kc = k.contiguous();
  const at::Tensor mc = m.contiguous();
  // softmax(q k^T) m, per head: [B, H, Nq, Dm].
  at::Tensor weighted = at::empty({batch, heads, nq, m_dim}, q.options());

  // Tiles are processed one after the other; each LibTorch operation on a
  // tile runs on the intra-op threads (a tile is sized so that each
  // thread's share stays in its cache).
  // More threads take taller tiles, so that each thread's share of a tile
  // (and of every operation's work) stays about the same.
  const int64_t query_block =
      kProjectedValueQueryBlock *
      std::max<int64_t>(1, at::get_num_threads() / 2);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t q0 = 0; q0 < nq; q0 += query_block) {
        const int64_t rows = std::min(query_block, nq - q0);
        const at::Tensor query = qs[b][h].narrow(0, q0, rows);
        at::Tensor acc = weighted[b][h].narrow(0, q0, rows);
        acc.zero_();
        at::Tensor row_max = at::full(
            {rows, 1}, -std::numeric_limits<float>::infinity(), q.options());
        at::Tensor row_sum = at::zeros({rows, 1}, q.options());
        for (int64_t k0 = 0; k0 < nk; k0 += kProjectedValueKeyBlock) {
          const int64_t cols = std::min(kProjectedValueKeyBlock, nk - k0);
          at::Tensor scores = at::mm(query, kc[b][h].narrow(0, k0, cols).t());
          const at::Tensor new_max =
              at::maximum(row_max, scores.amax(1, true));
          scores.sub_(new_max).exp_();
          // exp(old max - new max) rescales what earlier key blocks summed
          // (0 on the first block, whose old max is -inf).
          const at::Tensor correction = (row_max - new_max).exp_();
          row_sum.mul_(correction).add_(scores.sum(1, true));
          acc.mul_(correction).addmm_(scores, mc[b].narrow(0, k0, cols));
          row_max = new_max;
        }
        acc.div_(row_sum);
      }
    }
  }

  // [B, H, Nq, Dm] x W_h^T [Dm, Dv] + b_h -> [B, H, Nq, Dv]: the rows of
  // the softmax sum to 1, so the bias passes through unweighted.
  const at::Tensor w =
      value_weight.reshape({heads, value_dim, m_dim}).transpose(1, 2);
  return at::matmul(weighted, w.unsqueeze(0)) +
         value_bias.reshape({1, heads, 1, value_dim});
}

}  // namespace sam2
