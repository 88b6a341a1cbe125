// ProjectedValueAttention: softmax attention whose values are a linear
// projection of narrower inputs, v = m W^T + b, computed as
// (softmax(q k^T * scale) m) W^T + b instead of softmax(q k^T * scale) v.
//
// Why: the memory attention's cross-attention (memory_attention.h) projects
// 64-channel memories to 256-channel values and attends over up to seven
// frames of them (~29k keys per query). Every row of the softmax sums to 1,
// so the projection can follow the weighted sum instead of preceding it: the
// probabilities-times-values product then runs over 64 channels instead of
// 256, a quarter of its arithmetic (3/8 of the attention's). The result is
// the same up to float32 round-off (reassociated sums); the golden fixtures
// hold it to their float32 tolerances.
//
// How: LibTorch's CPU flash attention needs values as wide as the keys, so
// this is its own blocked loop in the same shape — per (batch, head, query
// block), keys are visited in blocks with an online softmax (running row max
// and sum); every block's work is LibTorch operations on a tile sized so
// that each intra-op thread's share stays in its cache (measured on 2 cores:
// 512 x 1024 tiles beat 256..4096 x 256..2048, ~27 % faster than SDPA on
// the 4096 x 28736 cross-attention). Float32 CPU tensors only
// (ProjectedValueAttentionApplies says when); everything else keeps
// at::scaled_dot_product_attention.
//
// Thread-safety: stateless; callable from any thread.

#ifndef SAM2_MODEL_PROJECTED_VALUE_ATTENTION_H_
#define SAM2_MODEL_PROJECTED_VALUE_ATTENTION_H_

#include <ATen/ATen.h>

#include <cstdint>

namespace sam2 {

// Query and key rows per tile: a [kQueryBlock, kKeyBlock] float32 score tile
// is 2 MiB, split between 2 intra-op threads; with more threads the tile
// grows by a query block per 2 threads (each thread's share stays ~1 MiB).
// Tuned on 2 cores only.
inline constexpr int64_t kProjectedValueQueryBlock = 512;
inline constexpr int64_t kProjectedValueKeyBlock = 1024;

// Whether ProjectedValueAttention serves attention with these operands: CPU
// float32 q/k/m without autocast, and values that widen `m_dim` input
// channels to `head_dim` (so the reordering saves work).
bool ProjectedValueAttentionApplies(const at::Tensor& q, const at::Tensor& k,
                                    const at::Tensor& m, int64_t head_dim);

// q [B, H, Nq, E], k [B, H, Nk, E], m [B, Nk, Dm] (the values' inputs,
// shared by the heads), value_weight [H * Dv, Dm], value_bias [H * Dv]:
// returns softmax(q k^T / sqrt(E)) (m value_weight_h^T + value_bias_h) per
// head h as [B, H, Nq, Dv]. Nk >= 1. May throw c10::Error.
at::Tensor ProjectedValueAttention(const at::Tensor& q, const at::Tensor& k,
                                   const at::Tensor& m,
                                   const at::Tensor& value_weight,
                                   const at::Tensor& value_bias);

}  // namespace sam2

#endif  // SAM2_MODEL_PROJECTED_VALUE_ATTENTION_H_
