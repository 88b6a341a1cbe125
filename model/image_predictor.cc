#include "model/image_predictor.h"

#include <ATen/ATen.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/image_transforms.h"
#include "model/mask_postprocess.h"
#include "model/tensor_checks.h"

namespace sam2 {
namespace {

// Splits the encoder's batch output into per-image features.
std::vector<ImageFeatures> SplitFeatures(
    const ImageEmbedding& embedding,
    absl::Span<const std::pair<int64_t, int64_t>> orig_hw) {
  std::vector<ImageFeatures> out;
  out.reserve(orig_hw.size());
  for (size_t i = 0; i < orig_hw.size(); ++i) {
    const int64_t b = static_cast<int64_t>(i);
    ImageFeatures f;
    f.image_embed = embedding.image_embed.narrow(0, b, 1).contiguous();
    for (const at::Tensor& level : embedding.high_res_feats) {
      f.high_res_feats.push_back(level.narrow(0, b, 1).contiguous());
    }
    f.orig_h = orig_hw[i].first;
    f.orig_w = orig_hw[i].second;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

int64_t ImageFeatures::NumBytes() const {
  int64_t n = image_embed.defined() ? image_embed.nbytes() : 0;
  for (const at::Tensor& t : high_res_feats) n += t.nbytes();
  return n;
}

absl::StatusOr<std::vector<ImageFeatures>> EmbedPreprocessed(
    const Sam2Model& model, const at::Tensor& input,
    absl::Span<const std::pair<int64_t, int64_t>> orig_hw) {
  if (!input.defined() || input.dim() != 4 ||
      input.size(0) != static_cast<int64_t>(orig_hw.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "preprocessed input must be [B, 3, S, S] with one original size per "
        "image; got ",
        input.defined() ? ShapeOf(input) : "nothing", " and ", orig_hw.size(),
        " sizes"));
  }
  absl::StatusOr<ImageEmbedding> embedding =
      model.image_encoder().Embed(input);
  if (!embedding.ok()) return embedding.status();
  try {
    c10::InferenceMode guard;
    return SplitFeatures(*embedding, orig_hw);
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("splitting image features: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<std::vector<ImageFeatures>> EmbedImages(
    const Sam2Model& model, absl::Span<const at::Tensor> rgb_images) {
  if (rgb_images.empty()) {
    return absl::InvalidArgumentError("no image to embed");
  }
  absl::StatusOr<at::Tensor> input = PreprocessImageBatch(
      std::vector<at::Tensor>(rgb_images.begin(), rgb_images.end()),
      model.config().image_size);
  if (!input.ok()) return input.status();
  std::vector<std::pair<int64_t, int64_t>> orig_hw;
  for (const at::Tensor& image : rgb_images) {
    orig_hw.emplace_back(image.size(0), image.size(1));
  }
  return EmbedPreprocessed(model, *input, orig_hw);
}

absl::StatusOr<Prediction> PredictMasks(const Sam2Model& model,
                                        const ImagePredictorOptions& options,
                                        const ImageFeatures& features,
                                        const ImagePromptInput& prompt,
                                        const PredictOptions& predict_options) {
  if (!features.image_embed.defined()) {
    return absl::FailedPreconditionError(
        "an image must be set before predicting masks");
  }
  const Sam2Config& config = model.config();
  absl::StatusOr<PreparedPrompts> prepared = PreparePrompts(
      prompt, features.orig_h, features.orig_w, config.image_size);
  if (!prepared.ok()) return prepared.status();
  const PromptEncoder& prompt_encoder = model.prompt_encoder();
  if (prepared->mask_input.defined() &&
      (prepared->mask_input.size(-1) != prompt_encoder.mask_input_size() ||
       prepared->mask_input.size(-2) != prompt_encoder.mask_input_size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask input must be low-resolution logits of ",
        prompt_encoder.mask_input_size(), "x", prompt_encoder.mask_input_size(),
        " (an earlier prediction's low_res_logits); got ",
        ShapeOf(prepared->mask_input)));
  }
  absl::StatusOr<PromptEmbeddings> embeddings = prompt_encoder.Forward(
      prepared->point_coords, prepared->point_labels, prepared->mask_input);
  if (!embeddings.ok()) return embeddings.status();
  absl::StatusOr<MaskDecoderOutput> decoded = model.mask_decoder().Forward(
      features.image_embed, prompt_encoder.GetDensePe(), embeddings->sparse,
      embeddings->dense, predict_options.multimask_output,
      prepared->repeat_image, features.high_res_feats);
  if (!decoded.ok()) return decoded.status();

  absl::StatusOr<at::Tensor> masks = PostprocessMasks(
      decoded->masks, features.orig_h, features.orig_w, options.max_hole_area,
      options.max_sprinkle_area, options.mask_threshold);
  if (!masks.ok()) return masks.status();
  absl::StatusOr<at::Tensor> low_res = ClampLowResLogits(decoded->masks);
  if (!low_res.ok()) return low_res.status();
  try {
    c10::InferenceMode guard;
    Prediction out;
    out.masks = predict_options.return_logits
                    ? *masks
                    : at::gt(*masks, options.mask_threshold);
    out.iou_predictions = decoded->iou_pred;
    out.low_res_logits = *low_res;
    // predict() drops a batch dimension of one, as the reference does.
    if (out.masks.size(0) == 1) {
      out.masks = out.masks.squeeze(0);
      out.iou_predictions = out.iou_predictions.squeeze(0);
      out.low_res_logits = out.low_res_logits.squeeze(0);
    }
    return out;
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("finishing masks: ", e.what_without_backtrace()));
  }
}

ImagePredictor::ImagePredictor(std::shared_ptr<const Sam2Model> model,
                               ImagePredictorOptions options)
    : model_(std::move(model)), options_(options) {}

absl::Status ImagePredictor::SetImage(const at::Tensor& rgb) {
  ResetPredictor();
  absl::StatusOr<std::vector<ImageFeatures>> features =
      EmbedImages(*model_, {rgb});
  if (!features.ok()) return features.status();
  SetFeatures(*std::move(features), /*batch=*/false);
  return absl::OkStatus();
}

absl::Status ImagePredictor::SetImageBatch(
    absl::Span<const at::Tensor> rgb_images) {
  ResetPredictor();
  absl::StatusOr<std::vector<ImageFeatures>> features =
      EmbedImages(*model_, rgb_images);
  if (!features.ok()) return features.status();
  SetFeatures(*std::move(features), /*batch=*/true);
  return absl::OkStatus();
}

void ImagePredictor::SetFeatures(std::vector<ImageFeatures> features,
                                 bool batch) {
  features_ = std::move(features);
  is_batch_ = batch;
}

absl::StatusOr<Prediction> ImagePredictor::Predict(
    const ImagePromptInput& prompt, const PredictOptions& options) const {
  if (features_.empty()) {
    return absl::FailedPreconditionError(
        "an image must be set with SetImage before Predict");
  }
  if (is_batch_) {
    return absl::FailedPreconditionError(
        "a batch of images is set: use PredictBatch");
  }
  return PredictMasks(*model_, options_, features_.back(), prompt, options);
}

absl::StatusOr<std::vector<Prediction>> ImagePredictor::PredictBatch(
    absl::Span<const ImagePromptInput> prompts,
    const PredictOptions& options) const {
  if (features_.empty() || !is_batch_) {
    return absl::FailedPreconditionError(
        "a batch of images must be set with SetImageBatch before "
        "PredictBatch");
  }
  if (prompts.size() != features_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("got ", prompts.size(), " prompts for ", features_.size(),
                     " images; give one per image"));
  }
  std::vector<Prediction> out;
  for (size_t i = 0; i < prompts.size(); ++i) {
    absl::StatusOr<Prediction> p =
        PredictMasks(*model_, options_, features_[i], prompts[i], options);
    if (!p.ok()) {
      return absl::Status(p.status().code(),
                          absl::StrCat("image ", i, ": ", p.status().message()));
    }
    out.push_back(*std::move(p));
  }
  return out;
}

void ImagePredictor::ResetPredictor() {
  features_.clear();
  is_batch_ = false;
}

}  // namespace sam2
