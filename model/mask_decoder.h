// MaskDecoder: predicts mask logits, IoU scores and object scores from the
// image embedding and the prompt embeddings.
//
// Mirrors `MaskDecoder` of the reference's modeling/sam/mask_decoder.py:
//   - output tokens [obj_score_token (with pred_obj_scores), iou_token,
//     num_mask_tokens mask tokens] then the sparse prompt embeddings;
//   - src = image embedding (repeated per prompt batch when repeat_image) +
//     dense prompt embedding; pos = dense PE repeated; the two-way
//     transformer;
//   - upscaling: ConvT(C -> C/4, 2, 2) [+ feat_s1] -> LayerNorm2d -> GELU ->
//     ConvT(C/4 -> C/8, 2, 2) [+ feat_s0] -> GELU. The high-resolution
//     features are taken ALREADY projected by conv_s0 / conv_s1 (the image
//     encoder side applies those convolutions, as SAM2Base.forward_image
//     does), so this class does not read conv_s0 / conv_s1;
//   - one hypernetwork MLP(C, C, C/8, 3) per mask token, dotted with the
//     upscaled features; IoU head MLP(C, kIouHeadHiddenDim, num_mask_tokens,
//     3) (+ sigmoid
//     with iou_prediction_use_sigmoid); object-score head (MLP(C, C, 1, 3)
//     or Linear, or a constant 10 without pred_obj_scores);
//   - selection: multimask -> masks 1..; single mask with
//     dynamic_multimask_via_stability -> mask 0 unless its stability score
//     (#(logit > delta) / #(logit > -delta), 1 if empty) is below thresh, in
//     which case the multimask output with the highest IoU (first max);
//     else mask 0. sam_tokens_out: mask tokens 1.. when multimask and
//     use_multimask_token_for_obj_ptr, else mask token 0.
// Deliberate difference: inference only (the stability fallback is always
// active when configured, as in the reference's eval mode).
//
// Ownership/thread-safety: immutable after Create(); const methods may be
// called concurrently.

#ifndef SAM2_MODEL_MASK_DECODER_H_
#define SAM2_MODEL_MASK_DECODER_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/module_weights.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"
#include "model/two_way_transformer.h"

namespace sam2 {

struct MaskDecoderOutput {
  at::Tensor masks;                // [B, M, 4h, 4w] low-resolution logits
  at::Tensor iou_pred;             // [B, M]
  at::Tensor sam_tokens_out;       // [B, M or 1, C]
  at::Tensor object_score_logits;  // [B, 1]
};

class MaskDecoder {
 public:
  // Weights under "sam_mask_decoder.".
  static absl::StatusOr<MaskDecoder> Create(const Sam2Config& config,
                                            const StateDict& weights);
  static absl::StatusOr<MaskDecoder> Create(const Sam2Config& config,
                                            ModuleWeights weights);

  // image_embeddings [1 or B, C, h, w] (1 with repeat_image), image_pe
  // [1, C, h, w], sparse_prompt_embeddings [B, N, C], dense_prompt_embeddings
  // [B, C, h, w]; high_res_features {feat_s0 [1 or B, C/8, 4h, 4w], feat_s1
  // [1 or B, C/4, 2h, 2w]} when the config uses high-resolution features,
  // else empty. INVALID_ARGUMENT on bad shapes, INTERNAL if LibTorch fails.
  // Runs under c10::InferenceMode.
  // `first_layer_image`, when not null, is ProjectImage of the same image
  // (or of each image of the batch, stacked), PE and dense prompt, computed
  // earlier; it is used where the first layer sees the image(s) with its
  // batch: one image shared by the prompts (repeat_image or a single prompt
  // set, a batch-invariant dense prompt), or one image per prompt set.
  absl::StatusOr<MaskDecoderOutput> Forward(
      const at::Tensor& image_embeddings, const at::Tensor& image_pe,
      const at::Tensor& sparse_prompt_embeddings,
      const at::Tensor& dense_prompt_embeddings, bool multimask_output,
      bool repeat_image,
      absl::Span<const at::Tensor> high_res_features = {},
      const TwoWayImageProjections* first_layer_image = nullptr) const;

  // The transformer's first-layer image side (TwoWayImageProjections) for
  // image_embeddings [1, C, h, w] with the dense prompt embedding [1, C, h,
  // w] (the no-mask embedding, for reuse by every prompt without a mask
  // input) and image_pe. INVALID_ARGUMENT on bad shapes, INTERNAL if
  // LibTorch fails.
  absl::StatusOr<TwoWayImageProjections> ProjectImage(
      const at::Tensor& image_embeddings, const at::Tensor& image_pe,
      const at::Tensor& dense_prompt_embeddings) const;

  int64_t transformer_dim() const { return transformer_dim_; }
  int num_mask_tokens() const { return num_mask_tokens_; }

 private:
  struct PredictMasksOutput {
    at::Tensor masks, iou_pred, mask_tokens_out, object_score_logits;
  };
  // MaskDecoder.predict_masks (after argument checks); may throw c10::Error.
  absl::StatusOr<PredictMasksOutput> PredictMasks(
      const at::Tensor& image_embeddings, const at::Tensor& image_pe,
      const at::Tensor& sparse_prompt_embeddings,
      const at::Tensor& dense_prompt_embeddings, bool repeat_image,
      absl::Span<const at::Tensor> high_res_features,
      const TwoWayImageProjections* first_layer_image) const;
  // MaskDecoder._dynamic_multimask_via_stability; may throw c10::Error.
  std::pair<at::Tensor, at::Tensor> DynamicMultimaskViaStability(
      const at::Tensor& all_mask_logits, const at::Tensor& all_iou_scores) const;

  TwoWayTransformer transformer_;
  at::Tensor output_tokens_;  // [(1 +) 1 + num_mask_tokens, C]
  int token_offset_ = 0;      // index of the IoU token (1 with obj scores)
  LinearParams upscale0_;     // ConvTranspose2d weight [C, C/4, 2, 2], bias
  LinearParams upscale_norm_;  // LayerNorm2d(C/4)
  LinearParams upscale3_;     // ConvTranspose2d weight [C/4, C/8, 2, 2], bias
  std::vector<SamMlp> hypernetworks_;
  SamMlp iou_head_;
  SamMlp obj_score_mlp_;          // with pred_obj_scores_mlp
  LinearParams obj_score_linear_;  // without it
  bool pred_obj_scores_mlp_ = false;
  bool pred_obj_scores_ = false;
  bool use_high_res_features_ = false;
  bool use_multimask_token_for_obj_ptr_ = false;
  MaskDecoderExtraArgs extra_args_;
  int64_t transformer_dim_ = 0;
  int num_mask_tokens_ = 0;
};

}  // namespace sam2

#endif  // SAM2_MODEL_MASK_DECODER_H_
