// MemoryEncoder: turns a frame's image features and its predicted mask into
// the spatial memory the memory attention of later frames attends to.
//
// Mirrors `MemoryEncoder`, `MaskDownSampler`, `Fuser` and `CXBlock` of the
// reference's modeling/memory_encoder.py:
//   - masks go through a sigmoid unless skip_mask_sigmoid (SAM2Base always
//     skips it: it scales the mask itself, see PORTING.md section 8);
//   - MaskDownSampler: log_stride(total_stride) x [Conv2d(k, stride, p),
//     LayerNorm2d (eps 1e-6), exact GELU], channels x stride^2 per step
//     starting from 1, then a 1x1 Conv2d to embed_dim;
//   - x = pix_feat_proj(pix_feat) (1x1) + downsampled masks;
//   - Fuser: optional 1x1 input projection, then CXBlocks: depthwise (or
//     dense, without use_dwconv) k x k conv -> LayerNorm2d eps 1e-6 over the
//     channels of the NCHW map -> (NHWC) Linear dim -> 4 dim -> exact GELU ->
//     Linear 4 dim -> dim -> x gamma (when layer_scale_init_value > 0) ->
//     + the block input;
//   - out_proj 1x1 to out_dim (identity when out_dim == in_dim);
//   - position encoding: PositionEmbeddingSine of the output.
// Deliberate differences: inference only (drop_path ignored); the inputs
// are moved to float32 (the weights' type) before use.
//
// Ownership/thread-safety: weights are plain tensors shared with the
// StateDict; immutable after Create(); const methods may be called from many
// threads at once.

#ifndef SAM2_MODEL_MEMORY_ENCODER_H_
#define SAM2_MODEL_MEMORY_ENCODER_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "model/module_weights.h"
#include "model/position_encoding.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"
#include "model/two_way_transformer.h"

namespace sam2 {

// memory_encoder.CXBlock (ConvNeXt block).
class CXBlock {
 public:
  // Reads dwconv, norm, pwconv1, pwconv2 and (if layer_scale_init_value > 0)
  // gamma under `weights`; errors are recorded in `weights`.
  static CXBlock Load(ModuleWeights weights, const CXBlockConfig& config);

  // x [B, dim, H, W] -> same shape. May throw c10::Error.
  at::Tensor operator()(const at::Tensor& x) const;

 private:
  LinearParams dwconv_;  // Conv2d weight [dim, dim or 1, k, k], bias
  LinearParams norm_;    // LayerNorm2d weight/bias [dim]
  LinearParams pwconv1_, pwconv2_;
  at::Tensor gamma_;  // [dim] or undefined
  int64_t padding_ = 0;
  int64_t groups_ = 1;
};

struct MemoryEncoderOutput {
  at::Tensor vision_features;  // [B, out_dim, h, w]
  at::Tensor vision_pos_enc;   // [B, num_pos_feats, h, w]
};

class MemoryEncoder {
 public:
  // Weights under "memory_encoder.". INVALID_ARGUMENT naming the tensor when
  // one is missing or mis-shaped, or when the config is inconsistent.
  static absl::StatusOr<MemoryEncoder> Create(const Sam2Config& config,
                                              const StateDict& weights);
  static absl::StatusOr<MemoryEncoder> Create(const Sam2Config& config,
                                              ModuleWeights weights);

  // pix_feat [B, in_dim, h, w] (the raw lowest-resolution backbone features),
  // masks [B, 1, H, W] with the mask downsampler taking H x W to h x w
  // (H = h * total_stride for the official configs). INVALID_ARGUMENT on bad
  // shapes, INTERNAL if LibTorch fails. Runs under c10::InferenceMode.
  absl::StatusOr<MemoryEncoderOutput> Forward(const at::Tensor& pix_feat,
                                              const at::Tensor& masks,
                                              bool skip_mask_sigmoid) const;

  // The mask downsampler alone: [B, 1, H, W] -> [B, in_dim, h, w]. May throw
  // c10::Error; no shape checks (for tests and callers that checked).
  at::Tensor DownsampleMask(const at::Tensor& masks) const;

  // Spatial size after the mask downsampler for an input side `side`
  // (each conv: floor((side + 2 p - k) / s) + 1); <= 0 if too small.
  int64_t DownsampledSide(int64_t side) const;

  int64_t in_dim() const { return in_dim_; }
  int64_t out_dim() const { return out_dim_; }

 private:
  explicit MemoryEncoder(PositionEmbeddingSine pe) : position_encoding_(pe) {}

  std::vector<LinearParams> down_convs_;  // Conv2d weight/bias per step
  std::vector<LinearParams> down_norms_;  // LayerNorm2d per step
  LinearParams down_out_;                 // final 1x1 conv
  int64_t down_stride_ = 1, down_padding_ = 0, down_kernel_ = 1;
  LinearParams pix_feat_proj_;
  LinearParams fuser_proj_;  // undefined without input_projection
  std::vector<CXBlock> fuser_layers_;
  LinearParams out_proj_;  // undefined when out_dim == in_dim
  PositionEmbeddingSine position_encoding_;
  int64_t in_dim_ = 0;
  int64_t out_dim_ = 0;
};

}  // namespace sam2

#endif  // SAM2_MODEL_MEMORY_ENCODER_H_
