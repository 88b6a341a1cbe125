// MemoryAttention: conditions the current frame's image features on the
// memories of earlier frames (spatial memories and object pointers).
//
// Mirrors `MemoryAttention` and `MemoryAttentionLayer` of the reference's
// modeling/memory_attention.py, `RoPEAttention` of modeling/sam/
// transformer.py, and `compute_axial_cis` / `apply_rotary_enc` of
// modeling/position_encoding.py:
//   - axial RoPE: for a head dim D (a multiple of 4) and a grid of end_x x
//     end_y tokens (row-major, x fastest), frequency f_i = 1 / theta^(4i / D)
//     (i < D / 4, float32 scalar-base pow); token (x, y) gets angles x f_i for
//     the first D / 4 channel pairs and y f_i for the last D / 4; channel
//     pairs are adjacent (2j, 2j + 1) = (real, imaginary) and are rotated by
//     their angle (a complex multiplication, here written with cos/sin);
//   - q is rotated; so are the first Nk - num_k_exclude_rope keys (the
//     trailing object-pointer tokens are not); with rope_k_repeat the keys
//     span several memory frames of Nq tokens each and the angles repeat per
//     frame; the grid is feat_sizes when Nq = feat_sizes[0] x feat_sizes[1],
//     else sqrt(Nq) x sqrt(Nq);
//   - RoPEAttention: q from embedding_dim, k/v from kv_in_dim, all projected
//     to embedding_dim / downsample_rate, split into heads, RoPE, scaled dot
//     product attention, out projection back to embedding_dim;
//   - layer (pre-norm, nn.LayerNorm eps 1e-5): self-attention on norm1(t)
//     (q = k = + query_pos only with pos_enc_at_attn), cross-attention on
//     norm2(t) (q + query_pos with pos_enc_at_cross_attn_queries; k = memory
//     + memory_pos with pos_enc_at_cross_attn_keys; v = memory), FFN
//     linear2(act(linear1(norm3(t)))), each added to t; dropout inactive;
//   - MemoryAttention: curr + 0.1 curr_pos (pos_enc_at_input), the layers in
//     batch-first layout, final LayerNorm; interface in the reference's
//     sequence-first [N, B, C] layout.
// Deliberate differences: inference only; the RoPE angles are not cached
// across calls (the reference replaces its cached table when the token count
// changes; with square feat_sizes, as every official config has, the results
// are the same and this class stays immutable); batch_first = false is
// rejected (no official config uses it); activation "glu" is rejected (the
// reference's FFN cannot run with it); in float32 on the CPU, an attention
// whose values widen their inputs (the cross-attention: 64-channel memories
// to 256-channel values) applies the value projection after the softmax-
// weighted sum (projected_value_attention.h: the same up to round-off, a
// quarter of that product's arithmetic; ~9 % of a tracked frame).
//
// Ownership/thread-safety: weights are plain tensors shared with the
// StateDict; immutable after Create(); const methods may be called from many
// threads at once.

#ifndef SAM2_MODEL_MEMORY_ATTENTION_H_
#define SAM2_MODEL_MEMORY_ATTENTION_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/module_weights.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"
#include "model/two_way_transformer.h"

namespace sam2 {

// compute_axial_cis as real numbers: [end_x * end_y, dim / 2, 2] float32,
// last axis (cos, sin) of each channel pair's angle. `dim` must be a
// positive multiple of 4. May throw c10::Error.
at::Tensor ComputeAxialCis(int64_t dim, int64_t end_x, int64_t end_y,
                           double theta);

// Rotates the adjacent channel pairs of x [..., N, D] by `cis`
// [Nc, D / 2, 2] (from ComputeAxialCis), where N = repeat * Nc: the table is
// tiled `repeat` times along the tokens (apply_rotary_enc's repeat_freqs_k).
// May throw c10::Error.
at::Tensor ApplyRotaryEnc(const at::Tensor& x, const at::Tensor& cis,
                          int64_t repeat = 1);

// transformer.RoPEAttention.
class RoPEAttention {
 public:
  // Reads q_proj, k_proj, v_proj, out_proj under `weights`.
  // INVALID_ARGUMENT naming the tensor when one is missing or mis-shaped (or
  // when `weights` already holds an error), and for a config the reference
  // cannot run (heads not dividing the internal dim, head dim not a multiple
  // of 4).
  static absl::StatusOr<RoPEAttention> Load(ModuleWeights weights,
                                            const RoPEAttentionConfig& config);

  // q [B, Nq, embedding_dim], k and v [B, Nk, kv_in_dim] -> [B, Nq,
  // embedding_dim]. The last num_k_exclude_rope keys are not rotated.
  // INVALID_ARGUMENT on shapes the reference rejects (see
  // CheckTokenCounts), INTERNAL if LibTorch fails.
  absl::StatusOr<at::Tensor> Forward(const at::Tensor& q, const at::Tensor& k,
                                     const at::Tensor& v,
                                     int64_t num_k_exclude_rope = 0) const;

  // OK when Forward can run on these sizes: Nq tokens on a feat_sizes or
  // square grid; Nk == Nq unless rope_k_repeat; the rotated keys (Nk -
  // num_k_exclude_rope, which must be in [0, Nk]) are none, or Nq, or
  // (with rope_k_repeat) a positive multiple of Nq.
  absl::Status CheckTokenCounts(int64_t nq, int64_t nk,
                                int64_t num_k_exclude_rope) const;

  // Forward without checks or exception handling; may throw c10::Error.
  at::Tensor Run(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                 int64_t num_k_exclude_rope) const;

  int64_t embedding_dim() const { return embedding_dim_; }
  int64_t kv_in_dim() const { return kv_in_dim_; }
  int64_t head_dim() const { return internal_dim_ / num_heads_; }

 private:
  // The angle table for nq query tokens (the feat_sizes grid, or a square
  // one). May throw c10::Error.
  at::Tensor CisFor(int64_t nq) const;

  LinearParams q_proj_, k_proj_, v_proj_, out_proj_;
  at::Tensor cis_;  // ComputeAxialCis for feat_sizes
  int64_t embedding_dim_ = 0, kv_in_dim_ = 0, internal_dim_ = 0,
          num_heads_ = 1;
  double theta_ = 10000.0;
  bool rope_k_repeat_ = false;
};

// memory_attention.MemoryAttentionLayer.
class MemoryAttentionLayer {
 public:
  // Reads self_attn, cross_attn_image, linear1/2 and norm1/2/3 under
  // `weights`; errors as RoPEAttention::Load, plus an unsupported activation
  // or dims that do not agree.
  static absl::StatusOr<MemoryAttentionLayer> Load(
      ModuleWeights weights, const MemoryAttentionLayerConfig& config);

  // Batch-first: tgt/query_pos [B, Nq, d_model], memory/pos [B, Nk,
  // kv_in_dim]. query_pos and pos may be undefined when the config does not
  // use them. No checks; may throw c10::Error.
  at::Tensor Run(const at::Tensor& tgt, const at::Tensor& memory,
                 const at::Tensor& pos, const at::Tensor& query_pos,
                 int64_t num_k_exclude_rope) const;

  const RoPEAttention& self_attn() const { return self_attn_; }
  const RoPEAttention& cross_attn_image() const { return cross_attn_; }
  bool uses_query_pos() const {
    return pos_enc_at_attn_ || pos_enc_at_cross_attn_queries_;
  }
  bool uses_pos() const { return pos_enc_at_cross_attn_keys_; }

 private:
  MemoryAttentionLayer(RoPEAttention self_attn, RoPEAttention cross_attn)
      : self_attn_(std::move(self_attn)), cross_attn_(std::move(cross_attn)) {}

  RoPEAttention self_attn_, cross_attn_;
  LinearParams linear1_, linear2_;
  LinearParams norm1_, norm2_, norm3_;
  bool gelu_ = false;  // else relu
  bool pos_enc_at_attn_ = false;
  bool pos_enc_at_cross_attn_keys_ = false;
  bool pos_enc_at_cross_attn_queries_ = false;
};

class MemoryAttention {
 public:
  // Weights under "memory_attention.". INVALID_ARGUMENT naming the tensor
  // when one is missing or mis-shaped, or when the config is unsupported.
  static absl::StatusOr<MemoryAttention> Create(const Sam2Config& config,
                                                const StateDict& weights);
  static absl::StatusOr<MemoryAttention> Create(const Sam2Config& config,
                                                ModuleWeights weights);

  // Sequence-first, as the reference: curr [HW, B, d_model], memory [M, B,
  // kv_in_dim], curr_pos like curr, memory_pos like memory;
  // num_obj_ptr_tokens trailing memory tokens are object pointers (no
  // RoPE). Returns [HW, B, d_model]. curr_pos / memory_pos may be undefined
  // only when the config never reads them. Inputs of any floating type are
  // computed in float32 (memories stored in bfloat16 are upcast here).
  // INVALID_ARGUMENT on bad shapes or token counts, INTERNAL if LibTorch
  // fails. Runs under c10::InferenceMode.
  absl::StatusOr<at::Tensor> Forward(const at::Tensor& curr,
                                     const at::Tensor& memory,
                                     const at::Tensor& curr_pos,
                                     const at::Tensor& memory_pos,
                                     int64_t num_obj_ptr_tokens = 0) const;

  int64_t d_model() const { return d_model_; }
  int64_t mem_dim() const;
  int num_layers() const { return static_cast<int>(layers_.size()); }

 private:
  std::vector<MemoryAttentionLayer> layers_;
  LinearParams norm_;
  int64_t d_model_ = 0;
  bool pos_enc_at_input_ = false;
};

}  // namespace sam2

#endif  // SAM2_MODEL_MEMORY_ATTENTION_H_
