#include "model/sam_heads.h"

#include <ATen/ATen.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/module_weights.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

// Antialiased bilinear resize (downsampling masks, trap 18).
at::Tensor ResizeAntialias(const at::Tensor& x, int64_t h, int64_t w) {
  return at::_upsample_bilinear2d_aa(x, {h, w}, /*align_corners=*/false);
}

}  // namespace

SamHeads::SamHeads(const Sam2Config& config, PromptEncoder prompt_encoder,
                   MaskDecoder mask_decoder)
    : prompt_encoder_(std::move(prompt_encoder)),
      mask_decoder_(std::move(mask_decoder)),
      image_size_(config.image_size),
      hidden_dim_(config.HiddenDim()),
      pred_obj_scores_(config.pred_obj_scores),
      soft_no_obj_ptr_(config.soft_no_obj_ptr),
      fixed_no_obj_ptr_(config.fixed_no_obj_ptr),
      use_obj_ptrs_in_encoder_(config.use_obj_ptrs_in_encoder) {}

absl::StatusOr<SamHeads> SamHeads::Create(const Sam2Config& config,
                                          const StateDict& weights) {
  absl::StatusOr<PromptEncoder> prompt_encoder =
      PromptEncoder::Create(config, weights);
  if (!prompt_encoder.ok()) return prompt_encoder.status();
  absl::StatusOr<MaskDecoder> mask_decoder =
      MaskDecoder::Create(config, weights);
  if (!mask_decoder.ok()) return mask_decoder.status();
  SamHeads heads(config, *std::move(prompt_encoder), *std::move(mask_decoder));
  const int64_t c = config.HiddenDim();
  ModuleWeights root(weights, "");
  if (config.use_obj_ptrs_in_encoder) {
    if (config.use_mlp_for_obj_ptr_proj) {
      heads.obj_ptr_mlp_ =
          SamMlp::Load(root.Child("obj_ptr_proj"), c, c, c, kObjPtrProjMlpLayers);
    } else {
      heads.obj_ptr_linear_ = LinearParams::Load(root, "obj_ptr_proj", c, c);
    }
    heads.mask_downsample_w_ = root.Get(
        "mask_downsample.weight", {1, 1, kMaskDownsampleKernel, kMaskDownsampleKernel});
    heads.mask_downsample_b_ = root.Get("mask_downsample.bias", {1});
    if (config.pred_obj_scores) {
      heads.no_obj_ptr_ = root.Get("no_obj_ptr", {1, c});
    }
  }
  if (!root.status().ok()) return root.status();
  return heads;
}

at::Tensor SamHeads::ProjectObjPtr(const at::Tensor& token) const {
  if (obj_ptr_mlp_) return (*obj_ptr_mlp_)(token);
  if (obj_ptr_linear_) return (*obj_ptr_linear_)(token);
  return token;  // nn.Identity without object pointers
}

at::Tensor SamHeads::MixNoObjPtr(const at::Tensor& obj_ptr,
                                 const at::Tensor& lambda) const {
  if (!pred_obj_scores_ || !no_obj_ptr_.defined()) return obj_ptr;
  at::Tensor ptr = fixed_no_obj_ptr_ ? lambda * obj_ptr : obj_ptr;
  return ptr + (1 - lambda) * no_obj_ptr_;
}

SamHeadsOutput SamHeads::ForwardUnchecked(
    const at::Tensor& backbone_features, const at::Tensor& point_coords,
    const at::Tensor& point_labels, const at::Tensor& mask_inputs,
    const std::vector<at::Tensor>& high_res, bool multimask_output) const {
  const int64_t b = backbone_features.size(0);
  at::Tensor coords = point_coords;
  at::Tensor labels = point_labels;
  if (!coords.defined()) {
    const at::TensorOptions on = backbone_features.options();
    coords = at::zeros({b, 1, 2}, on.dtype(at::kFloat));
    labels = -at::ones({b, 1}, on.dtype(at::kInt));
  }
  at::Tensor mask_prompt;
  if (mask_inputs.defined()) {
    const int64_t m = prompt_encoder_.mask_input_size();
    mask_prompt = (mask_inputs.size(-2) != m || mask_inputs.size(-1) != m)
                      ? ResizeAntialias(mask_inputs.to(at::kFloat), m, m)
                      : mask_inputs;
  }
  absl::StatusOr<PromptEmbeddings> emb =
      prompt_encoder_.Forward(coords, labels, mask_prompt);
  if (!emb.ok()) TORCH_CHECK(false, std::string(emb.status().message()));
  absl::StatusOr<MaskDecoderOutput> dec = mask_decoder_.Forward(
      backbone_features, prompt_encoder_.GetDensePe(), emb->sparse, emb->dense,
      multimask_output, /*repeat_image=*/false, high_res);
  if (!dec.ok()) TORCH_CHECK(false, std::string(dec.status().message()));

  SamHeadsOutput out;
  at::Tensor low_multi = dec->masks;
  at::Tensor is_obj_appearing;
  if (pred_obj_scores_) {
    is_obj_appearing = dec->object_score_logits > 0;  // [B, 1]
    low_multi = at::where(is_obj_appearing.view({b, 1, 1, 1}), low_multi,
                          at::scalar_tensor(kNoObjScore, low_multi.options()));
  }
  low_multi = low_multi.to(at::kFloat);
  at::Tensor high_multi = at::upsample_bilinear2d(
      low_multi, {image_size_, image_size_}, /*align_corners=*/false);
  at::Tensor token = dec->sam_tokens_out.select(1, 0);  // [B, C]
  if (multimask_output) {
    const at::Tensor best = at::argmax(dec->iou_pred, -1);  // [B]
    const at::Tensor batch = at::arange(b, best.options());
    out.low_res_masks = low_multi.index({batch, best}).unsqueeze(1);
    out.high_res_masks = high_multi.index({batch, best}).unsqueeze(1);
    if (dec->sam_tokens_out.size(1) > 1) {
      token = dec->sam_tokens_out.index({batch, best});
    }
  } else {
    out.low_res_masks = low_multi;
    out.high_res_masks = high_multi;
  }
  at::Tensor obj_ptr = ProjectObjPtr(token);
  if (pred_obj_scores_) {
    const at::Tensor lambda = soft_no_obj_ptr_
                                  ? dec->object_score_logits.sigmoid()
                                  : is_obj_appearing.to(at::kFloat);
    obj_ptr = MixNoObjPtr(obj_ptr, lambda);
  }
  out.low_res_multimasks = low_multi;
  out.high_res_multimasks = high_multi;
  out.ious = dec->iou_pred;
  out.obj_ptr = obj_ptr;
  out.object_score_logits = dec->object_score_logits;
  return out;
}

absl::StatusOr<SamHeadsOutput> SamHeads::Forward(
    const at::Tensor& backbone_features, const at::Tensor& point_coords,
    const at::Tensor& point_labels, const at::Tensor& mask_inputs,
    const std::vector<at::Tensor>& high_res_features,
    bool multimask_output) const {
  if (!backbone_features.defined() || backbone_features.dim() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "backbone features must be [B, C, h, w], got ", ShapeOf(backbone_features)));
  }
  const int64_t b = backbone_features.size(0);
  if (point_coords.defined() != point_labels.defined() ||
      (point_coords.defined() &&
       (point_coords.dim() != 3 || point_coords.size(0) != b ||
        point_labels.dim() != 2 || point_labels.size(0) != b ||
        point_labels.size(1) != point_coords.size(1)))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "points must be [B, P, 2] with labels [B, P] for B = ", b, "; got ",
        ShapeOf(point_coords), " and ", ShapeOf(point_labels)));
  }
  if (mask_inputs.defined() &&
      (mask_inputs.dim() != 4 || mask_inputs.size(0) != b ||
       mask_inputs.size(1) != 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask inputs must be [B, 1, H, W] for B = ", b, "; got ",
        ShapeOf(mask_inputs)));
  }
  try {
    c10::InferenceMode guard;
    return ForwardUnchecked(backbone_features, point_coords, point_labels,
                            mask_inputs, high_res_features, multimask_output);
  } catch (const c10::Error& e) {
    return TorchError("SAM heads: ", e);
  }
}

absl::StatusOr<SamHeadsOutput> SamHeads::UseMaskAsOutput(
    const at::Tensor& backbone_features,
    const std::vector<at::Tensor>& high_res_features,
    const at::Tensor& mask_inputs) const {
  if (!mask_inputs.defined() || mask_inputs.dim() != 4 ||
      mask_inputs.size(1) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask inputs must be [B, 1, H, W], got ", ShapeOf(mask_inputs)));
  }
  try {
    c10::InferenceMode guard;
    const int64_t b = mask_inputs.size(0);
    const at::Tensor mask = mask_inputs.to(at::kFloat);
    SamHeadsOutput out;
    out.high_res_masks = mask * kMaskAsOutputScale + kMaskAsOutputBias;
    out.low_res_masks = ResizeAntialias(out.high_res_masks,
                                        out.high_res_masks.size(-2) / 4,
                                        out.high_res_masks.size(-1) / 4);
    out.ious = at::ones({b, 1}, mask.options().dtype(at::kFloat));
    at::Tensor obj_ptr;
    if (!use_obj_ptrs_in_encoder_) {
      obj_ptr = at::zeros({b, hidden_dim_}, mask.options().dtype(at::kFloat));
    } else {
      const at::Tensor downsampled =
          at::conv2d(mask, mask_downsample_w_, mask_downsample_b_,
                     /*stride=*/kMaskDownsampleKernel);
      obj_ptr = ForwardUnchecked(backbone_features, at::Tensor(), at::Tensor(),
                                 downsampled, high_res_features,
                                 /*multimask_output=*/false)
                    .obj_ptr;
    }
    const at::Tensor lambda =
        (mask.flatten(1) > 0).any(1, /*keepdim=*/true).to(at::kFloat);
    out.object_score_logits = kMaskAsOutputScale * lambda + kMaskAsOutputBias;
    if (pred_obj_scores_) obj_ptr = MixNoObjPtr(obj_ptr, lambda);
    out.obj_ptr = obj_ptr;
    out.low_res_multimasks = out.low_res_masks;
    out.high_res_multimasks = out.high_res_masks;
    return out;
  } catch (const c10::Error& e) {
    return TorchError("mask as output: ", e);
  }
}

}  // namespace sam2
