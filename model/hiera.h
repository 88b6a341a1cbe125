// Hiera: the hierarchical vision transformer trunk of SAM 2's image encoder.
//
// Mirrors `Hiera`, `MultiScaleBlock`, `MultiScaleAttention` and `do_pool`
// (sam2/modeling/backbones/hieradet.py) and `PatchEmbed`, `window_partition`,
// `window_unpartition` (sam2/modeling/backbones/utils.py), inference only:
//  - patch embed Conv2d(3, E, 7, 4, 3), then channels-last [B, H, W, E];
//  - position embedding added once: `pos_embed` bicubic-resized to the grid
//    (align_corners false, no antialias) plus `pos_embed_window` tiled over it;
//  - blocks as HieraConfig::Blocks() lays them out (lagging window sizes,
//    global attention blocks, stage changes with dim/heads multiplied and q
//    max-pooled by q_stride inside each window,
//    shortcut = pool(proj(norm1 x)));
//    windowed blocks zero-pad norm1(x) bottom/right to a window multiple and
//    the pad tokens stay unmasked keys, as in the reference;
//  - LayerNorm eps 1e-6, MLP Linear(4x) + exact GELU + Linear;
//  - returns every stage's output NCHW, highest resolution first (only the
//    last one when return_interm_layers is false).
// Deliberate differences: drop-path (training only) is not ported; weights
// are plain tensors fetched and shape-checked once in Create().
//
// Thread-safety: immutable after Create() but for the position-embedding
// cache (constant_cache.h, its own lock); Forward() may be called
// concurrently. Nothing throws: LibTorch errors become INTERNAL statuses.

#ifndef SAM2_MODEL_HIERA_H_
#define SAM2_MODEL_HIERA_H_

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "model/constant_cache.h"
#include "model/module_weights.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {

// Interpolated position embeddings kept per model (one per input size).
inline constexpr int kMaxCachedPosEmbeds = 8;

class Hiera {
 public:
  // One MultiScaleBlock's settings and weights.
  struct Block {
    HieraConfig::Block config;
    at::Tensor norm1_w, norm1_b;
    at::Tensor qkv_w, qkv_b;
    at::Tensor attn_proj_w, attn_proj_b;
    at::Tensor norm2_w, norm2_b;
    at::Tensor mlp0_w, mlp0_b, mlp1_w, mlp1_b;
    at::Tensor proj_w, proj_b;  // defined only when dim != dim_out
  };

  // `weights` is positioned at the trunk ("image_encoder.trunk.").
  static absl::StatusOr<Hiera> Create(const HieraConfig& config,
                                      ModuleWeights weights);
  // Reads "image_encoder.trunk.*" of `state` for config.image_encoder.trunk.
  static absl::StatusOr<Hiera> Create(const Sam2Config& config,
                                      const StateDict& state);

  // `image` [B, 3, S, S] float32 (preprocessed) -> stage outputs NCHW,
  // highest resolution first.
  absl::StatusOr<std::vector<at::Tensor>> Forward(
      const at::Tensor& image) const;

  // The absolute position embedding for a grid of h x w tokens,
  // channels-last [1, h, w, E]. INVALID_ARGUMENT when the grid is not a
  // multiple of the window embedding's size.
  absl::StatusOr<at::Tensor> PosEmbed(int64_t h, int64_t w) const;

  // Hiera.channel_list: output channels of each returned level, last first.
  std::vector<int> ChannelList() const { return config_.ChannelList(); }
  const HieraConfig& config() const { return config_; }

  // Throwing implementation of Forward(), for callers inside a try block.
  std::vector<at::Tensor> ForwardUnchecked(const at::Tensor& image) const;

 private:
  Hiera() = default;
  at::Tensor PosEmbedUnchecked(int64_t h, int64_t w) const;

  HieraConfig config_;
  std::vector<int> stage_ends_;
  at::Tensor patch_w_, patch_b_;
  at::Tensor pos_embed_, pos_embed_window_;
  std::vector<Block> blocks_;
  // The interpolated position embedding per (h, w, device type, index), as
  // contiguous [1, h, w, C]: a constant, where the reference interpolates
  // it (bicubic, 256x256 from 7x7) on every forward, ~20 ms a frame.
  ConstantCache<std::tuple<int64_t, int64_t, int, int>> pos_embed_cache_{
      kMaxCachedPosEmbeds};
};

namespace hiera_internal {
// Building blocks exposed for unit tests; they throw c10::Error on bad
// shapes, so call them inside a try block.

// window_partition: [B, H, W, C] -> [B * nW, ws, ws, C], zero-padding the
// bottom/right to a multiple of ws; also returns the padded {Hp, Wp}.
at::Tensor WindowPartition(const at::Tensor& x, int64_t window_size,
                           std::array<int64_t, 2>* padded_hw);
// window_unpartition: the inverse, cropping the padding back to {H, W}.
at::Tensor WindowUnpartition(const at::Tensor& windows, int64_t window_size,
                             std::array<int64_t, 2> padded_hw,
                             std::array<int64_t, 2> hw);
// One MultiScaleBlock on channels-last x [B, H, W, dim].
at::Tensor BlockForward(const Hiera::Block& block,
                        const std::vector<int>& q_stride, const at::Tensor& x);
}  // namespace hiera_internal

}  // namespace sam2

#endif  // SAM2_MODEL_HIERA_H_
