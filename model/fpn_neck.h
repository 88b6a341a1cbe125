// FpnNeck: the feature pyramid neck of SAM 2's image encoder.
//
// Mirrors `FpnNeck` (sam2/modeling/backbones/image_encoder.py): one
// Conv2d(backbone_channel_list[k] -> d_model) lateral per level (convs[k]
// serves trunk level n - k, i.e. the list runs lowest resolution first);
// walking from the lowest resolution up, a level listed in
// fpn_top_down_levels adds the previous output interpolated x2 (nearest, or
// bilinear/bicubic with align_corners false, computed in float32), halved
// for fuse_type "avg"; every output gets the sine position encoding.
// Deliberate difference: none in the arithmetic; the position encoding is
// recomputed per call rather than cached.
//
// Thread-safety: immutable after Create(); Forward() may be called
// concurrently. Nothing throws: LibTorch errors become INTERNAL statuses.

#ifndef SAM2_MODEL_FPN_NECK_H_
#define SAM2_MODEL_FPN_NECK_H_

#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "model/module_weights.h"
#include "model/position_encoding.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {

class FpnNeck {
 public:
  struct Output {
    std::vector<at::Tensor> features;  // [B, d_model, H_i, W_i], level order
    std::vector<at::Tensor> pos;       // sine PE of each, same shapes
  };

  // `weights` is positioned at the neck ("image_encoder.neck.").
  static absl::StatusOr<FpnNeck> Create(const FpnNeckConfig& config,
                                        ModuleWeights weights);
  // Reads "image_encoder.neck.*" for config.image_encoder.neck.
  static absl::StatusOr<FpnNeck> Create(const Sam2Config& config,
                                        const StateDict& state);

  // `xs`: the trunk's levels NCHW, highest resolution first (as many as
  // backbone_channel_list has entries).
  absl::StatusOr<Output> Forward(const std::vector<at::Tensor>& xs) const;

  // Throwing implementation of Forward(), for callers inside a try block.
  Output ForwardUnchecked(const std::vector<at::Tensor>& xs) const;

  const FpnNeckConfig& config() const { return config_; }

 private:
  FpnNeck(FpnNeckConfig config, PositionEmbeddingSine pe)
      : config_(std::move(config)), position_encoding_(pe) {}

  FpnNeckConfig config_;
  PositionEmbeddingSine position_encoding_;
  std::vector<int> top_down_levels_;
  std::vector<at::Tensor> conv_w_, conv_b_;  // convs[k], lowest res first
};

}  // namespace sam2

#endif  // SAM2_MODEL_FPN_NECK_H_
