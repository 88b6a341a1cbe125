// PromptEncoder: embeds point prompts (clicks and box corners) and mask
// prompts for the SAM mask decoder.
//
// Mirrors `PromptEncoder` of the reference's modeling/sam/prompt_encoder.py
// and `PositionEmbeddingRandom` of modeling/position_encoding.py.
//   - Points are in model-input pixels (0..image_size); +0.5 moves them to
//     the pixel centre; a pad point (0,0) with label -1 is always appended
//     (the SAM 2 predictors pass boxes as corner points, so `boxes` is never
//     given to the encoder), and its embedding is `not_a_point_embed`.
//   - Labels 0..3 add point_embeddings[label] (negative click, positive
//     click, box top-left, box bottom-right) to the random-Fourier PE; -1 is
//     the pad; any other label keeps the bare PE.
//   - The random Fourier PE uses the checkpoint's gaussian matrix [2, C/2]:
//     v = (2 (x, y) - 1) @ G * 2 pi, output [sin v, cos v].
//   - Mask prompts [B, 1, 4h, 4w] go through mask_downscaling (Conv k2 s2,
//     LayerNorm2d eps 1e-6, GELU, Conv k2 s2, LayerNorm2d, GELU, Conv 1x1);
//     without a mask, `no_mask_embed` is broadcast to [B, C, h, w].
// Deliberate differences: `_embed_boxes` (unused by SAM 2) is not ported;
// the dense PE is computed once at Create() rather than per call.
//
// Ownership/thread-safety: immutable after Create(); const methods may be
// called concurrently.

#ifndef SAM2_MODEL_PROMPT_ENCODER_H_
#define SAM2_MODEL_PROMPT_ENCODER_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "model/module_weights.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {

// position_encoding.PositionEmbeddingRandom with the checkpoint's matrix.
class PositionEmbeddingRandom {
 public:
  // `gaussian_matrix` [2, F]; the encoding has 2F channels.
  explicit PositionEmbeddingRandom(at::Tensor gaussian_matrix);
  PositionEmbeddingRandom() = default;

  // Points already normalised to [0, 1]: [..., 2] (x, y) -> [..., 2F].
  // May throw c10::Error.
  at::Tensor EncodeNormalized(const at::Tensor& coords) const;
  // Grid PE for an h x w map, sampled at pixel centres: [2F, h, w].
  at::Tensor Grid(int64_t h, int64_t w) const;
  // Points in pixels of an image_h x image_w input: [B, N, 2] -> [B, N, 2F].
  at::Tensor EncodePixels(const at::Tensor& coords, int64_t image_h,
                          int64_t image_w) const;

 private:
  at::Tensor gaussian_matrix_;
};

struct PromptEmbeddings {
  at::Tensor sparse;  // [B, N (+1 pad), C], or [B, 0, C] without points
  at::Tensor dense;   // [B, C, h, w]
};

class PromptEncoder {
 public:
  // Weights under "sam_prompt_encoder.".
  static absl::StatusOr<PromptEncoder> Create(const Sam2Config& config,
                                              const StateDict& weights);
  static absl::StatusOr<PromptEncoder> Create(const Sam2Config& config,
                                              ModuleWeights weights);

  // point_coords [B, N, 2] float (model-input pixels, x then y) and
  // point_labels [B, N] (any integer or float dtype), both undefined for no
  // points; masks [B, 1, 4h, 4w] logits or undefined. The batch size is
  // that of the points, else of the masks, else 1. INVALID_ARGUMENT on bad
  // shapes, INTERNAL if LibTorch fails. Runs under c10::InferenceMode.
  absl::StatusOr<PromptEmbeddings> Forward(const at::Tensor& point_coords,
                                           const at::Tensor& point_labels,
                                           const at::Tensor& masks) const;

  // get_dense_pe(): [1, C, h, w] for the image embedding's grid, computed
  // once; its memory is [h, w, C] (the encoding's own order, as the
  // reference's permuted view), so its token view [1, hw, C] is contiguous.
  at::Tensor GetDensePe() const { return dense_pe_; }

  int64_t embed_dim() const { return embed_dim_; }
  // (h, w) of the image embedding.
  int64_t embedding_size() const { return embedding_size_; }
  // Side of the model input (points are in these pixels).
  int64_t input_image_size() const { return input_image_size_; }
  // Side of the mask prompts: 4 * embedding_size().
  int64_t mask_input_size() const { return mask_input_size_; }

 private:
  struct ConvParams {
    at::Tensor weight, bias;
  };
  at::Tensor EmbedPoints(const at::Tensor& coords,
                         const at::Tensor& labels) const;
  at::Tensor EmbedMasks(const at::Tensor& masks) const;

  PositionEmbeddingRandom pe_layer_;
  at::Tensor point_embeddings_;  // [kPromptNumPointEmbeddings, C]
  at::Tensor not_a_point_embed_;  // [1, C]
  at::Tensor no_mask_embed_;      // [1, C]
  ConvParams conv0_, norm1_, conv3_, norm4_, conv6_;
  at::Tensor dense_pe_;  // [1, C, h, w]
  int64_t embed_dim_ = 0;
  int64_t embedding_size_ = 0;
  int64_t input_image_size_ = 0;
  int64_t mask_input_size_ = 0;
};

// sam2_utils.LayerNorm2d: normalises over channels of [B, C, H, W] with the
// reference's own arithmetic (mean, biased variance, / sqrt(var + eps)).
// May throw c10::Error.
at::Tensor LayerNorm2d(const at::Tensor& x, const at::Tensor& weight,
                       const at::Tensor& bias, double eps = 1e-6);

}  // namespace sam2

#endif  // SAM2_MODEL_PROMPT_ENCODER_H_
