// Mirrors modeling/memory_attention.py (MemoryAttention,
// MemoryAttentionLayer), modeling/sam/transformer.py (RoPEAttention) and
// modeling/position_encoding.py (compute_axial_cis, apply_rotary_enc). See
// the header.

#include "model/memory_attention.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/projected_value_attention.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

// MemoryAttention adds this fraction of curr_pos to its input.
constexpr double kInputPosScale = 0.1;

// Side of a square grid of n tokens, or -1.
int64_t SquareSide(int64_t n) {
  if (n <= 0) return -1;
  int64_t s =
      static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  while (s * s > n) --s;
  while ((s + 1) * (s + 1) <= n) ++s;
  return s * s == n ? s : -1;
}

}  // namespace

// ---------------------------------------------------------------------------
// RoPE

at::Tensor ComputeAxialCis(int64_t dim, int64_t end_x, int64_t end_y,
                           double theta) {
  TORCH_CHECK(dim > 0 && dim % 4 == 0, "RoPE head dim ", dim,
              " must be a positive multiple of 4");
  const at::TensorOptions f32 = at::TensorOptions().dtype(at::kFloat);
  // 1 / theta^(4i / dim), i < dim / 4, with a scalar base in float32.
  const at::Tensor exponents =
      at::arange(0, dim, 4, at::TensorOptions().dtype(at::kLong))
          .slice(0, 0, dim / 4)
          .to(at::kFloat) /
      static_cast<double>(dim);
  const at::Tensor freqs = at::reciprocal(at::pow(theta, exponents));
  // Token t of the row-major grid: x = t mod end_x, y = floor(t / end_x).
  const at::Tensor t = at::arange(end_x * end_y, f32);
  const at::Tensor t_x = at::remainder(t, static_cast<double>(end_x));
  const at::Tensor t_y = at::floor_divide(t, static_cast<double>(end_x));
  const at::Tensor angles =
      at::cat({at::outer(t_x, freqs), at::outer(t_y, freqs)}, -1);
  return at::stack({at::cos(angles), at::sin(angles)}, -1);
}

at::Tensor ApplyRotaryEnc(const at::Tensor& x, const at::Tensor& cis,
                          int64_t repeat) {
  const at::Tensor table = repeat == 1 ? cis : cis.repeat({repeat, 1, 1});
  std::vector<int64_t> pairs(x.sizes().begin(), x.sizes().end());
  pairs.back() /= 2;
  pairs.push_back(2);
  const at::Tensor xp = x.to(at::kFloat).reshape(pairs);
  const at::Tensor re = xp.select(-1, 0), im = xp.select(-1, 1);
  const at::Tensor c = table.select(-1, 0), s = table.select(-1, 1);
  // (re + i im) * (c + i s).
  const at::Tensor out_re = re * c - im * s;
  const at::Tensor out_im = re * s + im * c;
  return at::stack({out_re, out_im}, -1).flatten(-2).to(x.scalar_type());
}

// ---------------------------------------------------------------------------
// RoPEAttention

absl::StatusOr<RoPEAttention> RoPEAttention::Load(
    ModuleWeights weights, const RoPEAttentionConfig& config) {
  const std::string where = weights.FullName("");
  RoPEAttention a;
  a.embedding_dim_ = config.embedding_dim;
  a.kv_in_dim_ = config.KvInDim();
  a.internal_dim_ = config.InternalDim();
  a.num_heads_ = config.num_heads;
  a.theta_ = config.rope_theta;
  a.rope_k_repeat_ = config.rope_k_repeat;
  if (a.embedding_dim_ <= 0 || a.kv_in_dim_ <= 0 || a.num_heads_ <= 0 ||
      a.internal_dim_ <= 0 || a.internal_dim_ % a.num_heads_ != 0 ||
      (a.internal_dim_ / a.num_heads_) % 4 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": RoPEAttention with embedding_dim ", a.embedding_dim_,
        ", kv_in_dim ", a.kv_in_dim_, ", downsample_rate ",
        config.downsample_rate, ", ", a.num_heads_,
        " heads: the head dim must be a positive multiple of 4"));
  }
  if (config.feat_sizes.size() != 2 || config.feat_sizes[0] <= 0 ||
      config.feat_sizes[1] <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": RoPEAttention feat_sizes must be two positive sizes, got [",
        absl::StrJoin(config.feat_sizes, ","), "]"));
  }
  a.q_proj_ = LinearParams::Load(weights, "q_proj", a.embedding_dim_,
                                 a.internal_dim_);
  a.k_proj_ =
      LinearParams::Load(weights, "k_proj", a.kv_in_dim_, a.internal_dim_);
  a.v_proj_ =
      LinearParams::Load(weights, "v_proj", a.kv_in_dim_, a.internal_dim_);
  a.out_proj_ = LinearParams::Load(weights, "out_proj", a.internal_dim_,
                                   a.embedding_dim_);
  if (!weights.status().ok()) return weights.status();
  try {
    c10::InferenceMode guard;
    a.cis_ = ComputeAxialCis(a.internal_dim_ / a.num_heads_,
                             config.feat_sizes[0], config.feat_sizes[1],
                             a.theta_)
                 .to(a.q_proj_.weight.device());
  } catch (const c10::Error& e) {
    return TorchError(absl::StrCat(where, ": "), e);
  }
  return a;
}

absl::Status RoPEAttention::CheckTokenCounts(
    int64_t nq, int64_t nk, int64_t num_k_exclude_rope) const {
  if (nq != cis_.size(0) && SquareSide(nq) < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RoPE attention: ", nq,
        " query tokens are neither the configured feat_sizes grid (",
        cis_.size(0), " tokens) nor a square grid"));
  }
  if (nk != nq && !rope_k_repeat_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RoPE attention: ", nk, " keys for ", nq,
        " queries needs rope_k_repeat, which this layer does not have"));
  }
  if (num_k_exclude_rope < 0 || num_k_exclude_rope > nk) {
    return absl::InvalidArgumentError(
        absl::StrCat("RoPE attention: num_k_exclude_rope ", num_k_exclude_rope,
                     " outside [0, ", nk, "]"));
  }
  const int64_t rotated = nk - num_k_exclude_rope;
  const bool ok = rotated == 0 || rotated == nq ||
                  (rope_k_repeat_ && rotated % nq == 0);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RoPE attention: ", rotated, " rotated keys (", nk, " minus ",
        num_k_exclude_rope, " excluded) must be ",
        rope_k_repeat_ ? "a multiple of " : "", "the ", nq, " query tokens"));
  }
  return absl::OkStatus();
}

at::Tensor RoPEAttention::CisFor(int64_t nq) const {
  if (nq == cis_.size(0)) return cis_;
  const int64_t side = SquareSide(nq);
  TORCH_CHECK(side > 0, "RoPE: ", nq, " tokens do not form a square grid");
  return ComputeAxialCis(internal_dim_ / num_heads_, side, side, theta_)
      .to(cis_.device());
}

at::Tensor RoPEAttention::Run(const at::Tensor& q_in, const at::Tensor& k_in,
                              const at::Tensor& v_in,
                              int64_t num_k_exclude_rope) const {
  // [B, N, D] -> [B, heads, N, D / heads].
  auto separate = [this](const at::Tensor& x) {
    const int64_t b = x.size(0), n = x.size(1), c = x.size(2);
    return x.reshape({b, n, num_heads_, c / num_heads_}).transpose(1, 2);
  };
  at::Tensor q = separate(q_proj_(q_in));
  at::Tensor k = separate(k_proj_(k_in));

  const int64_t nq = q.size(2), nk = k.size(2);
  const at::Tensor cis = CisFor(nq);
  q = ApplyRotaryEnc(q, cis);
  const int64_t rotated = nk - num_k_exclude_rope;
  if (rotated > 0) {
    const int64_t repeat = rope_k_repeat_ ? rotated / nq : 1;
    const at::Tensor k_rot =
        ApplyRotaryEnc(k.slice(2, 0, rotated), cis, repeat);
    k = rotated == nk ? k_rot : at::cat({k_rot, k.slice(2, rotated)}, 2);
  }

  // Cross-attention over 64-channel memories: the value projection after
  // the weighted sum (projected_value_attention.h) in float32 on the CPU;
  // the reference's order everywhere else.
  at::Tensor out =
      ProjectedValueAttentionApplies(q, k, v_in, head_dim())
          ? ProjectedValueAttention(q, k, v_in, v_proj_.weight, v_proj_.bias)
          : at::scaled_dot_product_attention(q, k, separate(v_proj_(v_in)));
  const int64_t b = out.size(0), h = out.size(1), n = out.size(2),
                d = out.size(3);
  out = out.transpose(1, 2).reshape({b, n, h * d});
  return out_proj_(out);
}

absl::StatusOr<at::Tensor> RoPEAttention::Forward(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
    int64_t num_k_exclude_rope) const {
  const bool shapes_ok =
      q.defined() && k.defined() && v.defined() && q.dim() == 3 &&
      k.dim() == 3 && v.dim() == 3 && q.size(2) == embedding_dim_ &&
      k.size(2) == kv_in_dim_ && v.size(2) == kv_in_dim_ &&
      k.size(0) == q.size(0) && v.size(0) == q.size(0) &&
      v.size(1) == k.size(1) && q.is_floating_point() &&
      k.is_floating_point() && v.is_floating_point();
  if (!shapes_ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RoPE attention: expected q [B, Nq, ", embedding_dim_,
        "], k and v [B, Nk, ", kv_in_dim_, "] float tensors, got q ",
        ShapeOf(q), ", k ", ShapeOf(k), ", v ", ShapeOf(v)));
  }
  absl::Status counts =
      CheckTokenCounts(q.size(1), k.size(1), num_k_exclude_rope);
  if (!counts.ok()) return counts;
  try {
    c10::InferenceMode guard;
    return Run(q.to(at::kFloat), k.to(at::kFloat), v.to(at::kFloat),
               num_k_exclude_rope);
  } catch (const c10::Error& e) {
    return TorchError("RoPE attention: ", e);
  }
}

// ---------------------------------------------------------------------------
// MemoryAttentionLayer

absl::StatusOr<MemoryAttentionLayer> MemoryAttentionLayer::Load(
    ModuleWeights weights, const MemoryAttentionLayerConfig& config) {
  if (config.activation != "relu" && config.activation != "gelu") {
    return absl::InvalidArgumentError(
        absl::StrCat(weights.FullName(""), ": activation '", config.activation,
                     "' is not supported (relu or gelu)"));
  }
  const int64_t d = config.d_model;
  if (d <= 0 || config.dim_feedforward <= 0 ||
      config.self_attention.embedding_dim != d ||
      config.self_attention.KvInDim() != d ||
      config.cross_attention.embedding_dim != d) {
    return absl::InvalidArgumentError(absl::StrCat(
        weights.FullName(""), ": d_model ", d, ", dim_feedforward ",
        config.dim_feedforward, ", self-attention dims ",
        config.self_attention.embedding_dim, "/",
        config.self_attention.KvInDim(), ", cross-attention dim ",
        config.cross_attention.embedding_dim, " do not agree"));
  }
  absl::StatusOr<RoPEAttention> self_attn =
      RoPEAttention::Load(weights.Child("self_attn"), config.self_attention);
  if (!self_attn.ok()) return self_attn.status();
  absl::StatusOr<RoPEAttention> cross_attn = RoPEAttention::Load(
      weights.Child("cross_attn_image"), config.cross_attention);
  if (!cross_attn.ok()) return cross_attn.status();

  MemoryAttentionLayer l(*std::move(self_attn), *std::move(cross_attn));
  l.linear1_ =
      LinearParams::Load(weights, "linear1", d, config.dim_feedforward);
  l.linear2_ =
      LinearParams::Load(weights, "linear2", config.dim_feedforward, d);
  l.norm1_ = LinearParams::LoadNorm(weights, "norm1", d);
  l.norm2_ = LinearParams::LoadNorm(weights, "norm2", d);
  l.norm3_ = LinearParams::LoadNorm(weights, "norm3", d);
  l.gelu_ = config.activation == "gelu";
  l.pos_enc_at_attn_ = config.pos_enc_at_attn;
  l.pos_enc_at_cross_attn_keys_ = config.pos_enc_at_cross_attn_keys;
  l.pos_enc_at_cross_attn_queries_ = config.pos_enc_at_cross_attn_queries;
  if (!weights.status().ok()) return weights.status();
  return l;
}

at::Tensor MemoryAttentionLayer::Run(const at::Tensor& tgt_in,
                                     const at::Tensor& memory,
                                     const at::Tensor& pos,
                                     const at::Tensor& query_pos,
                                     int64_t num_k_exclude_rope) const {
  // nn.LayerNorm (eps 1e-5), as the two-way transformer's.
  at::Tensor tgt = tgt_in;
  // Self-attention.
  at::Tensor t2 = TwoWayLayerNorm(tgt, norm1_);
  const at::Tensor qk = pos_enc_at_attn_ ? t2 + query_pos : t2;
  tgt = tgt + self_attn_.Run(qk, qk, t2, 0);
  // Cross-attention to the memories.
  t2 = TwoWayLayerNorm(tgt, norm2_);
  tgt = tgt + cross_attn_.Run(
                  pos_enc_at_cross_attn_queries_ ? t2 + query_pos : t2,
                  pos_enc_at_cross_attn_keys_ ? memory + pos : memory, memory,
                  num_k_exclude_rope);
  // Feed-forward.
  t2 = linear1_(TwoWayLayerNorm(tgt, norm3_));
  t2 = gelu_ ? at::gelu(t2) : at::relu(t2);
  return tgt + linear2_(t2);
}

// ---------------------------------------------------------------------------
// MemoryAttention

absl::StatusOr<MemoryAttention> MemoryAttention::Create(
    const Sam2Config& config, const StateDict& weights) {
  return Create(config, ModuleWeights(weights, "memory_attention."));
}

absl::StatusOr<MemoryAttention> MemoryAttention::Create(
    const Sam2Config& config, ModuleWeights weights) {
  const MemoryAttentionConfig& mc = config.memory_attention;
  if (!mc.batch_first) {
    return absl::InvalidArgumentError(
        "memory attention: batch_first = false is not supported");
  }
  if (mc.d_model <= 0 || mc.d_model != mc.layer.d_model || mc.num_layers < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "memory attention: d_model ", mc.d_model, " must be positive and equal "
        "the layer's d_model ", mc.layer.d_model, " (", mc.num_layers,
        " layers)"));
  }
  MemoryAttention m;
  m.d_model_ = mc.d_model;
  m.pos_enc_at_input_ = mc.pos_enc_at_input;
  ModuleWeights layers = weights.Child("layers");
  for (int i = 0; i < mc.num_layers; ++i) {
    absl::StatusOr<MemoryAttentionLayer> layer =
        MemoryAttentionLayer::Load(layers.Child(std::to_string(i)), mc.layer);
    if (!layer.ok()) return layer.status();
    m.layers_.push_back(*std::move(layer));
  }
  m.norm_ = LinearParams::LoadNorm(weights, "norm", mc.d_model);
  if (!weights.status().ok()) return weights.status();
  return m;
}

int64_t MemoryAttention::mem_dim() const {
  return layers_.empty() ? d_model_ : layers_[0].cross_attn_image().kv_in_dim();
}

absl::StatusOr<at::Tensor> MemoryAttention::Forward(
    const at::Tensor& curr, const at::Tensor& memory,
    const at::Tensor& curr_pos, const at::Tensor& memory_pos,
    int64_t num_obj_ptr_tokens) const {
  const int64_t kv = mem_dim();
  if (!curr.defined() || curr.dim() != 3 || curr.size(2) != d_model_ ||
      !curr.is_floating_point()) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory attention: curr must be a float [HW, B, ",
                     d_model_, "] tensor, got ", ShapeOf(curr)));
  }
  if (!memory.defined() || memory.dim() != 3 || memory.size(2) != kv ||
      memory.size(1) != curr.size(1) || !memory.is_floating_point()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "memory attention: memory must be a float [M, ", curr.size(1), ", ",
        kv, "] tensor, got ", ShapeOf(memory)));
  }
  bool need_curr_pos = pos_enc_at_input_;
  bool need_memory_pos = false;
  for (const MemoryAttentionLayer& l : layers_) {
    need_curr_pos = need_curr_pos || l.uses_query_pos();
    need_memory_pos = need_memory_pos || l.uses_pos();
  }
  if ((curr_pos.defined() || need_curr_pos) &&
      (!curr_pos.defined() || curr_pos.sizes() != curr.sizes())) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory attention: curr_pos must have curr's shape ",
                     ShapeOf(curr), ", got ", ShapeOf(curr_pos)));
  }
  if ((memory_pos.defined() || need_memory_pos) &&
      (!memory_pos.defined() || memory_pos.sizes() != memory.sizes())) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory attention: memory_pos must have memory's shape ",
                     ShapeOf(memory), ", got ", ShapeOf(memory_pos)));
  }
  for (const MemoryAttentionLayer& l : layers_) {
    absl::Status s = l.self_attn().CheckTokenCounts(curr.size(0),
                                                    curr.size(0), 0);
    if (s.ok()) {
      s = l.cross_attn_image().CheckTokenCounts(curr.size(0), memory.size(0),
                                                num_obj_ptr_tokens);
    }
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("memory attention: ", s.message()));
    }
  }
  try {
    c10::InferenceMode guard;
    at::Tensor output = curr.to(at::kFloat);
    at::Tensor query_pos =
        curr_pos.defined() ? curr_pos.to(at::kFloat) : at::Tensor();
    at::Tensor pos =
        memory_pos.defined() ? memory_pos.to(at::kFloat) : at::Tensor();
    if (pos_enc_at_input_) output = output + kInputPosScale * query_pos;
    // To batch-first.
    output = output.transpose(0, 1);
    const at::Tensor mem = memory.to(at::kFloat).transpose(0, 1);
    if (query_pos.defined()) query_pos = query_pos.transpose(0, 1);
    if (pos.defined()) pos = pos.transpose(0, 1);
    for (const MemoryAttentionLayer& l : layers_) {
      output = l.Run(output, mem, pos, query_pos, num_obj_ptr_tokens);
    }
    // Back to sequence-first.
    return TwoWayLayerNorm(output, norm_).transpose(0, 1);
  } catch (const c10::Error& e) {
    return TorchError("memory attention: ", e);
  }
}

}  // namespace sam2
