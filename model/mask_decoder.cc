// Mirrors modeling/sam/mask_decoder.py (MaskDecoder). See the header.

#include "model/mask_decoder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <initializer_list>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/prompt_encoder.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

// Value of the object-score logit when the model has no object-score head.
constexpr double kDefaultObjectScoreLogit = 10.0;
constexpr double kLayerNorm2dEps = 1e-6;

bool HasShape(const at::Tensor& t, std::initializer_list<int64_t> shape) {
  if (!t.defined() || t.dim() != static_cast<int64_t>(shape.size())) {
    return false;
  }
  int64_t i = 0;
  for (int64_t s : shape) {
    if (s >= 0 && t.size(i) != s) return false;
    ++i;
  }
  return true;
}

}  // namespace

absl::StatusOr<MaskDecoder> MaskDecoder::Create(const Sam2Config& config,
                                                const StateDict& weights) {
  return Create(config, ModuleWeights(weights, "sam_mask_decoder."));
}

absl::StatusOr<MaskDecoder> MaskDecoder::Create(const Sam2Config& config,
                                                ModuleWeights weights) {
  const int64_t c = config.HiddenDim();
  if (c <= 0 || c % 8 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask decoder: transformer dim ", c, " must be a positive multiple of 8"));
  }
  absl::StatusOr<TwoWayTransformer> transformer =
      TwoWayTransformer::Create(config, weights.Child("transformer"));
  if (!transformer.ok()) return transformer.status();

  MaskDecoder d;
  d.transformer_ = *std::move(transformer);
  d.transformer_dim_ = c;
  d.num_mask_tokens_ = kNumMaskTokens;
  d.pred_obj_scores_ = config.pred_obj_scores;
  d.pred_obj_scores_mlp_ = config.pred_obj_scores_mlp;
  d.use_high_res_features_ = config.use_high_res_features_in_sam;
  d.use_multimask_token_for_obj_ptr_ = config.use_multimask_token_for_obj_ptr;
  d.extra_args_ = config.sam_mask_decoder_extra_args;

  const at::Tensor iou_token = weights.Get("iou_token.weight", {1, c});
  const at::Tensor mask_tokens =
      weights.Get("mask_tokens.weight", {kNumMaskTokens, c});
  at::Tensor obj_score_token;
  if (d.pred_obj_scores_) {
    obj_score_token = weights.Get("obj_score_token.weight", {1, c});
  }
  d.upscale0_.weight = weights.Get("output_upscaling.0.weight", {c, c / 4, 2, 2});
  d.upscale0_.bias = weights.Get("output_upscaling.0.bias", {c / 4});
  d.upscale_norm_.weight = weights.Get("output_upscaling.1.weight", {c / 4});
  d.upscale_norm_.bias = weights.Get("output_upscaling.1.bias", {c / 4});
  d.upscale3_.weight =
      weights.Get("output_upscaling.3.weight", {c / 4, c / 8, 2, 2});
  d.upscale3_.bias = weights.Get("output_upscaling.3.bias", {c / 8});
  ModuleWeights hyper = weights.Child("output_hypernetworks_mlps");
  for (int i = 0; i < kNumMaskTokens; ++i) {
    d.hypernetworks_.push_back(
        SamMlp::Load(hyper.Child(std::to_string(i)), c, c, c / 8, 3));
  }
  d.iou_head_ = SamMlp::Load(weights.Child("iou_prediction_head"), c,
                             kIouHeadHiddenDim, kNumMaskTokens, kIouHeadDepth,
                             config.iou_prediction_use_sigmoid);
  if (d.pred_obj_scores_) {
    if (d.pred_obj_scores_mlp_) {
      d.obj_score_mlp_ =
          SamMlp::Load(weights.Child("pred_obj_score_head"), c, c, 1, 3);
    } else {
      d.obj_score_linear_ =
          LinearParams::Load(weights, "pred_obj_score_head", c, 1);
    }
  }
  if (!weights.status().ok()) return weights.status();

  try {
    c10::InferenceMode guard;
    d.output_tokens_ =
        d.pred_obj_scores_ ? at::cat({obj_score_token, iou_token, mask_tokens}, 0)
                           : at::cat({iou_token, mask_tokens}, 0);
  } catch (const c10::Error& e) {
    return TorchError("mask decoder: ", e);
  }
  d.token_offset_ = d.pred_obj_scores_ ? 1 : 0;
  return d;
}

namespace {

// An output upscaling layer, ConvTranspose2d(Cin, Cout, kernel 2, stride 2),
// on tokens [B, hw, Cin] of an h x w map: with kernel = stride each input
// pixel owns its 2x2 output block, so the layer is one matrix product over
// the channels. The first layer reads the transformer's tokens as they are
// (the convolution would need them transposed to NCHW, a strided 4 MB copy,
// and then runs slower than this product); the second takes the NCHW map
// transposed (1M values), still faster than oneDNN's float32 deconvolution.
// addmm with the bias repeated per block keeps the convolution's dtype under
// autocast (bfloat16 out, as the reference's ConvTranspose2d gives); only
// the summation order differs.
at::Tensor UpscaleTokens(const at::Tensor& tokens, int64_t h, int64_t w,
                         const LinearParams& conv) {
  const int64_t b = tokens.size(0), c = tokens.size(2), o = conv.weight.size(1);
  const at::Tensor blocks =
      at::addmm(conv.bias.repeat_interleave(4), tokens.reshape({b * h * w, c}),
                conv.weight.reshape({c, o * 4}));  // [B*hw, O*2*2]
  return blocks.view({b, h, w, o, 2, 2})
      .permute({0, 3, 1, 4, 2, 5})
      .reshape({b, o, 2 * h, 2 * w});
}

}  // namespace

absl::StatusOr<MaskDecoder::PredictMasksOutput> MaskDecoder::PredictMasks(
    const at::Tensor& image_embeddings, const at::Tensor& image_pe,
    const at::Tensor& sparse_prompt_embeddings,
    const at::Tensor& dense_prompt_embeddings, bool repeat_image,
    absl::Span<const at::Tensor> high_res_features,
    const TwoWayImageProjections* first_layer_image) const {
  const int64_t b = sparse_prompt_embeddings.size(0);
  const at::Tensor output_tokens =
      output_tokens_.unsqueeze(0).expand({b, -1, -1});
  const at::Tensor tokens = at::cat({output_tokens, sparse_prompt_embeddings}, 1);

  // The reference repeats the embedding and the PE per prompt set
  // (repeat_interleave over a batch of one image). When the dense prompt is
  // the same for every prompt too (no mask inputs: no_mask_embed expanded),
  // the image side of the decoder's first layer is the same for the whole
  // batch (a single prompt set too): it goes in as batch 1 and the
  // transformer computes it once and broadcasts it (two_way_transformer.h)
  // — for the automatic mask generator's 64-point batches, 64 times less of
  // that work — or takes it precomputed (`first_layer_image`, the image
  // predictor's per-image copy: none of that work per click). Otherwise the
  // embedding is expanded and the add below materialises `src`. The PE keeps
  // its [h, w, C] memory order (prompt_encoder.h), so that its tokens view
  // in the transformer is contiguous and every add with it is a plain
  // streaming add.
  const bool shared_image =
      (repeat_image || b == 1) && (dense_prompt_embeddings.size(0) == 1 ||
                                   dense_prompt_embeddings.stride(0) == 0);
  const at::Tensor src =
      shared_image
          ? image_embeddings + dense_prompt_embeddings.narrow(0, 0, 1)
          : (repeat_image ? image_embeddings.expand({b, -1, -1, -1})
                          : image_embeddings) +
                dense_prompt_embeddings;
  const at::Tensor pos_src =
      shared_image ? image_pe : image_pe.expand({b, -1, -1, -1});
  const int64_t h = src.size(2), w = src.size(3);

  absl::StatusOr<TwoWayTransformerOutput> t =
      transformer_.Forward(
          src, pos_src, tokens,
          first_layer_image != nullptr && first_layer_image->defined() &&
                  first_layer_image->keys.size(0) == src.size(0)
              ? first_layer_image
              : nullptr);
  if (!t.ok()) return t.status();
  const at::Tensor& hs = t->queries;
  const at::Tensor iou_token_out = hs.select(1, token_offset_);
  const at::Tensor mask_tokens_out =
      hs.slice(1, token_offset_ + 1, token_offset_ + 1 + num_mask_tokens_);

  // Upscale the image tokens back to a map, adding the high-res features.
  at::Tensor up = UpscaleTokens(t->keys, h, w, upscale0_);
  if (use_high_res_features_) up = up + high_res_features[1];
  up = at::gelu(LayerNorm2d(up, upscale_norm_.weight, upscale_norm_.bias,
                            kLayerNorm2dEps));
  up = UpscaleTokens(up.permute({0, 2, 3, 1}).reshape({b, 4 * h * w, -1}),
                     2 * h, 2 * w, upscale3_);
  if (use_high_res_features_) up = up + high_res_features[0];
  up = at::gelu(up);

  std::vector<at::Tensor> hyper_in_list;
  hyper_in_list.reserve(num_mask_tokens_);
  for (int i = 0; i < num_mask_tokens_; ++i) {
    hyper_in_list.push_back(hypernetworks_[i](mask_tokens_out.select(1, i)));
  }
  const at::Tensor hyper_in = at::stack(hyper_in_list, 1);
  const int64_t uc = up.size(1), uh = up.size(2), uw = up.size(3);
  const at::Tensor masks =
      at::matmul(hyper_in, up.reshape({b, uc, uh * uw})).view({b, -1, uh, uw});

  PredictMasksOutput out;
  out.masks = masks;
  out.iou_pred = iou_head_(iou_token_out);
  out.mask_tokens_out = mask_tokens_out;
  if (pred_obj_scores_) {
    const at::Tensor token0 = hs.select(1, 0);
    out.object_score_logits = pred_obj_scores_mlp_ ? obj_score_mlp_(token0)
                                                   : obj_score_linear_(token0);
  } else {
    out.object_score_logits =
        at::full({b, 1}, kDefaultObjectScoreLogit, out.iou_pred.options());
  }
  return out;
}

std::pair<at::Tensor, at::Tensor> MaskDecoder::DynamicMultimaskViaStability(
    const at::Tensor& all_mask_logits, const at::Tensor& all_iou_scores) const {
  // Best multimask output (tokens 1..) by predicted IoU.
  const at::Tensor multimask_logits = all_mask_logits.slice(1, 1);
  const at::Tensor multimask_iou = all_iou_scores.slice(1, 1);
  const at::Tensor best = at::argmax(multimask_iou, -1);
  const at::Tensor batch = at::arange(multimask_iou.size(0),
                                      best.options());
  const at::Tensor best_logits =
      multimask_logits.index({batch, best}).unsqueeze(1);
  const at::Tensor best_iou = multimask_iou.index({batch, best}).unsqueeze(1);

  // Stability score of the single-mask output (token 0).
  const at::Tensor single_logits = all_mask_logits.slice(1, 0, 1);
  const at::Tensor single_iou = all_iou_scores.slice(1, 0, 1);
  const double delta = extra_args_.dynamic_multimask_stability_delta;
  const at::Tensor flat = single_logits.flatten(-2);
  const at::Tensor area_i = (flat > delta).sum(-1).to(at::kFloat);
  const at::Tensor area_u = (flat > -delta).sum(-1).to(at::kFloat);
  const at::Tensor stability = at::where(
      area_u > 0, area_i / area_u, at::ones_like(area_i));
  const at::Tensor is_stable =
      stability >= extra_args_.dynamic_multimask_stability_thresh;

  const at::Tensor logits_out =
      at::where(is_stable.unsqueeze(-1).unsqueeze(-1).expand_as(single_logits),
                single_logits, best_logits);
  const at::Tensor iou_out =
      at::where(is_stable.expand_as(single_iou), single_iou, best_iou);
  return {logits_out, iou_out};
}

absl::StatusOr<TwoWayImageProjections> MaskDecoder::ProjectImage(
    const at::Tensor& image_embeddings, const at::Tensor& image_pe,
    const at::Tensor& dense_prompt_embeddings) const {
  const int64_t c = transformer_dim_;
  if (!HasShape(image_embeddings, {1, c, -1, -1}) ||
      !dense_prompt_embeddings.defined() ||
      dense_prompt_embeddings.sizes() != image_embeddings.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask decoder: projecting an image needs an embedding [1,", c,
        ",h,w] and a dense prompt embedding of its shape, got ",
        ShapeOf(image_embeddings), " and ", ShapeOf(dense_prompt_embeddings)));
  }
  try {
    c10::InferenceMode guard;
    // As PredictMasks forms `src` for a shared image.
    return transformer_.ProjectImage(
        image_embeddings.to(at::kFloat) + dense_prompt_embeddings.to(at::kFloat),
        image_pe);
  } catch (const c10::Error& e) {
    return TorchError("mask decoder: projecting the image: ", e);
  }
}

absl::StatusOr<MaskDecoderOutput> MaskDecoder::Forward(
    const at::Tensor& image_embeddings, const at::Tensor& image_pe,
    const at::Tensor& sparse_prompt_embeddings,
    const at::Tensor& dense_prompt_embeddings, bool multimask_output,
    bool repeat_image, absl::Span<const at::Tensor> high_res_features,
    const TwoWayImageProjections* first_layer_image) const {
  const int64_t c = transformer_dim_;
  if (!HasShape(image_embeddings, {-1, c, -1, -1})) {
    return absl::InvalidArgumentError(
        absl::StrCat("mask decoder: image embeddings must be [B,", c,
                     ",h,w], got ", ShapeOf(image_embeddings)));
  }
  const int64_t h = image_embeddings.size(2), w = image_embeddings.size(3);
  if (!HasShape(image_pe, {1, c, h, w})) {
    return absl::InvalidArgumentError(
        absl::StrCat("mask decoder: image PE must be [1,", c, ",", h, ",", w,
                     "], got ", ShapeOf(image_pe)));
  }
  if (!HasShape(sparse_prompt_embeddings, {-1, -1, c}) ||
      sparse_prompt_embeddings.size(0) < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("mask decoder: sparse prompt embeddings must be [B,N,", c,
                     "], got ", ShapeOf(sparse_prompt_embeddings)));
  }
  const int64_t b = sparse_prompt_embeddings.size(0);
  if (!repeat_image && image_embeddings.size(0) != b) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask decoder: image batch ", image_embeddings.size(0),
        " differs from the prompt batch ", b, " without repeat_image"));
  }
  if (repeat_image && image_embeddings.size(0) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask decoder: repeat_image needs one image embedding, got ",
        image_embeddings.size(0)));
  }
  if (!HasShape(dense_prompt_embeddings, {b, c, h, w})) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask decoder: dense prompt embeddings must be [", b, ",", c, ",", h,
        ",", w, "], got ", ShapeOf(dense_prompt_embeddings)));
  }
  if (use_high_res_features_) {
    if (high_res_features.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mask decoder: expected 2 high-resolution feature maps, got ",
          high_res_features.size()));
    }
    const int64_t fb = image_embeddings.size(0);
    const at::Tensor& s0 = high_res_features[0];
    const at::Tensor& s1 = high_res_features[1];
    const bool s0_ok = HasShape(s0, {-1, c / 8, 4 * h, 4 * w}) &&
                       (s0.size(0) == fb || s0.size(0) == 1);
    const bool s1_ok = HasShape(s1, {-1, c / 4, 2 * h, 2 * w}) &&
                       (s1.size(0) == fb || s1.size(0) == 1);
    if (!s0_ok || !s1_ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mask decoder: high-resolution features must be [", fb, ",", c / 8,
          ",", 4 * h, ",", 4 * w, "] and [", fb, ",", c / 4, ",", 2 * h, ",",
          2 * w, "], got ", ShapeOf(s0), " and ", ShapeOf(s1)));
    }
  } else if (!high_res_features.empty()) {
    return absl::InvalidArgumentError(
        "mask decoder: this model does not use high-resolution features");
  }

  try {
    c10::InferenceMode guard;
    absl::StatusOr<PredictMasksOutput> p =
        PredictMasks(image_embeddings.to(at::kFloat), image_pe,
                     sparse_prompt_embeddings.to(at::kFloat),
                     dense_prompt_embeddings.to(at::kFloat), repeat_image,
                     high_res_features, first_layer_image);
    if (!p.ok()) return p.status();

    MaskDecoderOutput out;
    if (multimask_output) {
      out.masks = p->masks.slice(1, 1);
      out.iou_pred = p->iou_pred.slice(1, 1);
    } else if (extra_args_.dynamic_multimask_via_stability) {
      std::tie(out.masks, out.iou_pred) =
          DynamicMultimaskViaStability(p->masks, p->iou_pred);
    } else {
      out.masks = p->masks.slice(1, 0, 1);
      out.iou_pred = p->iou_pred.slice(1, 0, 1);
    }
    out.sam_tokens_out = multimask_output && use_multimask_token_for_obj_ptr_
                             ? p->mask_tokens_out.slice(1, 1)
                             : p->mask_tokens_out.slice(1, 0, 1);
    out.object_score_logits = p->object_score_logits;
    return out;
  } catch (const c10::Error& e) {
    return TorchError("mask decoder failed: ", e);
  }
}

}  // namespace sam2
