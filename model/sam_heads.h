// SamHeads: SAM2Base's mask heads for tracking — prompt encoder + mask
// decoder with object-score gating and object pointers, and the
// mask-as-output shortcut for mask prompts.
//
// Mirrors `SAM2Base._forward_sam_heads` and `SAM2Base._use_mask_as_output`
// (sam2/modeling/sam2_base.py). Unlike the image predictor's path
// (image_predictor.h), here:
//   - without points, one pad point (0, 0) with label -1 is used;
//   - a mask prompt not at the prompt encoder's size is resized with
//     antialiased bilinear interpolation;
//   - with pred_obj_scores, every low-res mask of an object whose score
//     logit is <= 0 becomes kNoObjScore (-1024), then masks are upsampled
//     (bilinear, no antialias) to image_size;
//   - the object pointer is obj_ptr_proj(output token), mixed with
//     no_obj_ptr by the object-appearance weight (hard or soft);
//   - mask-as-output: logits 20 * mask - 10, low-res by antialiased
//     downsampling to 1/4, IoU 1, object logit +-10 from "any pixel > 0",
//     pointer from the heads run on mask_downsample(mask) with no points,
//     and the no-object mixing applied again with that weight (trap 7).
//
// Thread-safety: immutable after Create(); const methods may run
// concurrently. No exception escapes (c10::Error -> INTERNAL).

#ifndef SAM2_MODEL_SAM_HEADS_H_
#define SAM2_MODEL_SAM_HEADS_H_

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "model/mask_decoder.h"
#include "model/prompt_encoder.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"
#include "model/two_way_transformer.h"

namespace sam2 {

// Logit given to every pixel of an object judged absent.
inline constexpr float kNoObjScore = -1024.0f;
// Mask-as-output: logits = kMaskAsOutputScale * mask + kMaskAsOutputBias.
inline constexpr double kMaskAsOutputScale = 20.0;
inline constexpr double kMaskAsOutputBias = -10.0;

struct SamHeadsOutput {
  at::Tensor low_res_multimasks;   // [B, M, S/4, S/4]
  at::Tensor high_res_multimasks;  // [B, M, S, S]
  at::Tensor ious;                 // [B, M]
  at::Tensor low_res_masks;        // [B, 1, S/4, S/4] (best of M)
  at::Tensor high_res_masks;       // [B, 1, S, S]
  at::Tensor obj_ptr;              // [B, C]
  at::Tensor object_score_logits;  // [B, 1]
};

class SamHeads {
 public:
  static absl::StatusOr<SamHeads> Create(const Sam2Config& config,
                                         const StateDict& weights);

  // _forward_sam_heads. backbone_features [B, C, S/16, S/16];
  // point_coords [B, P, 2] (model-input pixels) + point_labels [B, P], or
  // both undefined; mask_inputs [B, 1, H, W] or undefined; high_res_features
  // as the mask decoder takes them.
  absl::StatusOr<SamHeadsOutput> Forward(
      const at::Tensor& backbone_features, const at::Tensor& point_coords,
      const at::Tensor& point_labels, const at::Tensor& mask_inputs,
      const std::vector<at::Tensor>& high_res_features,
      bool multimask_output) const;

  // _use_mask_as_output. mask_inputs [B, 1, S, S] (binary, any dtype).
  absl::StatusOr<SamHeadsOutput> UseMaskAsOutput(
      const at::Tensor& backbone_features,
      const std::vector<at::Tensor>& high_res_features,
      const at::Tensor& mask_inputs) const;

  const PromptEncoder& prompt_encoder() const { return prompt_encoder_; }
  const MaskDecoder& mask_decoder() const { return mask_decoder_; }

 private:
  SamHeads(const Sam2Config& config, PromptEncoder prompt_encoder,
           MaskDecoder mask_decoder);
  // Bodies; may throw c10::Error.
  SamHeadsOutput ForwardUnchecked(const at::Tensor& backbone_features,
                                  const at::Tensor& point_coords,
                                  const at::Tensor& point_labels,
                                  const at::Tensor& mask_inputs,
                                  const std::vector<at::Tensor>& high_res,
                                  bool multimask_output) const;
  at::Tensor ProjectObjPtr(const at::Tensor& token) const;
  // obj_ptr mixed with no_obj_ptr by the appearance weight `lambda` [B, 1].
  at::Tensor MixNoObjPtr(const at::Tensor& obj_ptr,
                         const at::Tensor& lambda) const;

  PromptEncoder prompt_encoder_;
  MaskDecoder mask_decoder_;
  int64_t image_size_ = 0;
  int64_t hidden_dim_ = 0;
  bool pred_obj_scores_ = false;
  bool soft_no_obj_ptr_ = false;
  bool fixed_no_obj_ptr_ = false;
  bool use_obj_ptrs_in_encoder_ = false;
  std::optional<SamMlp> obj_ptr_mlp_;      // use_mlp_for_obj_ptr_proj
  std::optional<LinearParams> obj_ptr_linear_;
  at::Tensor no_obj_ptr_;                  // [1, C]
  at::Tensor mask_downsample_w_, mask_downsample_b_;
};

}  // namespace sam2

#endif  // SAM2_MODEL_SAM_HEADS_H_
