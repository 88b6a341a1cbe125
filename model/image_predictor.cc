#include "model/image_predictor.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/image_transforms.h"
#include "model/mask_postprocess.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"
#include "model/device.h"

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

// _prep_prompts plus the mask input's size check.
absl::StatusOr<PreparedPrompts> PrepareFor(const Sam2Model& model,
                                           const ImageFeatures& features,
                                           const ImagePromptInput& prompt) {
  if (!features.image_embed.defined()) {
    return absl::FailedPreconditionError(
        "an image must be set before predicting masks");
  }
  absl::StatusOr<PreparedPrompts> prepared = PreparePrompts(
      prompt, features.orig_h, features.orig_w, model.config().image_size);
  if (!prepared.ok()) return prepared.status();
  try {
    // Prepared on the host (their checks read values); decoded on the
    // features' device.
    const c10::Device device = features.image_embed.device();
    prepared->point_coords = ToDevice(prepared->point_coords, device);
    prepared->point_labels = ToDevice(prepared->point_labels, device);
    prepared->mask_input = ToDevice(prepared->mask_input, device);
  } catch (const c10::Error& e) {
    return TorchError("uploading the prompts: ", e);
  }
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
  return prepared;
}

// The prompt encoder and the mask decoder on (possibly batched) inputs.
// `decoder_image`: the image's ImageFeatures::decoder_image (for a batch
// of several images, theirs stacked in the same order), or null; used only
// without a mask input, whose dense prompt it was computed for.
absl::StatusOr<MaskDecoderOutput> Decode(
    const Sam2Model& model, const at::Tensor& image_embed,
    absl::Span<const at::Tensor> high_res_feats,
    const PreparedPrompts& prepared, bool multimask_output,
    const TwoWayImageProjections* decoder_image) {
  const PromptEncoder& prompt_encoder = model.prompt_encoder();
  absl::StatusOr<PromptEmbeddings> embeddings = prompt_encoder.Forward(
      prepared.point_coords, prepared.point_labels, prepared.mask_input);
  if (!embeddings.ok()) return embeddings.status();
  const bool reuse = decoder_image != nullptr && decoder_image->defined() &&
                     !prepared.mask_input.defined();
  return model.mask_decoder().Forward(
      image_embed, prompt_encoder.GetDensePe(), embeddings->sparse,
      embeddings->dense, multimask_output, prepared.repeat_image,
      high_res_feats, reuse ? decoder_image : nullptr);
}

// Post-processing of one image's decoder output (masks [B, C, m, m]).
absl::StatusOr<Prediction> Finish(const ImagePredictorOptions& options,
                                  const ImageFeatures& features,
                                  const at::Tensor& low_res_masks,
                                  const at::Tensor& iou_pred,
                                  const PredictOptions& predict_options) {
  absl::StatusOr<at::Tensor> masks = PostprocessMasks(
      low_res_masks, features.orig_h, features.orig_w, options.max_hole_area,
      options.max_sprinkle_area, options.mask_threshold);
  if (!masks.ok()) return masks.status();
  absl::StatusOr<at::Tensor> low_res = ClampLowResLogits(low_res_masks);
  if (!low_res.ok()) return low_res.status();
  try {
    c10::InferenceMode guard;
    Prediction out;
    out.masks = predict_options.return_logits
                    ? *masks
                    : at::gt(*masks, options.mask_threshold);
    out.iou_predictions = iou_pred;
    out.low_res_logits = *low_res;
    // predict() drops a batch dimension of one, as the reference does.
    if (out.masks.size(0) == 1) {
      out.masks = out.masks.squeeze(0);
      out.iou_predictions = out.iou_predictions.squeeze(0);
      out.low_res_logits = out.low_res_logits.squeeze(0);
    }
    return out;
  } catch (const c10::Error& e) {
    return TorchError("finishing masks: ", e);
  }
}

// predict() on one image's prepared prompts: decode, then post-process.
absl::StatusOr<Prediction> PredictPrepared(
    const Sam2Model& model, const ImagePredictorOptions& options,
    const ImageFeatures& features, const PreparedPrompts& prepared,
    const PredictOptions& predict_options) {
  absl::StatusOr<MaskDecoderOutput> decoded =
      Decode(model, features.image_embed, features.high_res_feats, prepared,
             predict_options.multimask_output, &features.decoder_image);
  if (!decoded.ok()) return decoded.status();
  return Finish(options, features, decoded->masks, decoded->iou_pred,
                predict_options);
}

// Requests that can share one decoder call: one prompt set each, the same
// number of points (box corners included), a mask input in all or none,
// the same multimask choice and feature shapes. Padding prompts to a common
// length would change the results (the decoder's tokens attend to each
// other), so only equal layouts are batched.
std::string BatchKey(const PreparedPrompts& p, const ImageFeatures& f,
                     bool multimask) {
  if (p.repeat_image) return "";  // several prompt sets: runs alone
  const int64_t points = p.point_coords.defined() ? p.point_coords.size(1) : 0;
  return absl::StrCat(points, "/", p.mask_input.defined(), "/", multimask, "/",
                      absl::StrJoin(f.image_embed.sizes(), "x"), "/",
                      f.high_res_feats.size());
}

at::Tensor CatOrEmpty(const std::vector<at::Tensor>& parts) {
  return parts.empty() || !parts[0].defined() ? at::Tensor() : at::cat(parts, 0);
}

}  // namespace

int64_t ImageFeatures::NumBytes() const {
  int64_t n = image_embed.defined() ? image_embed.nbytes() : 0;
  for (const at::Tensor& t : high_res_feats) n += t.nbytes();
  return n + decoder_image.NumBytes();
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
  absl::StatusOr<ImageEmbedding> embedding = [&]() -> absl::StatusOr<ImageEmbedding> {
    try {
      return model.image_encoder().Embed(ToDevice(input, model.device()));
    } catch (const c10::Error& e) {
      return TorchError("uploading the image: ", e);
    }
  }();
  if (!embedding.ok()) return embedding.status();
  std::vector<ImageFeatures> features;
  try {
    c10::InferenceMode guard;
    features = SplitFeatures(*embedding, orig_hw);
  } catch (const c10::Error& e) {
    return TorchError("splitting image features: ", e);
  }
  // The decoder's first-layer image side for prompts without a mask input
  // (the dense prompt is then the no-mask embedding).
  const PromptEncoder& prompt_encoder = model.prompt_encoder();
  absl::StatusOr<PromptEmbeddings> no_prompt =
      prompt_encoder.Forward(at::Tensor(), at::Tensor(), at::Tensor());
  if (!no_prompt.ok()) return no_prompt.status();
  for (ImageFeatures& f : features) {
    absl::StatusOr<TwoWayImageProjections> projected =
        model.mask_decoder().ProjectImage(
            f.image_embed, prompt_encoder.GetDensePe(), no_prompt->dense);
    if (!projected.ok()) return projected.status();
    f.decoder_image = *std::move(projected);
  }
  return features;
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
  absl::StatusOr<PreparedPrompts> prepared = PrepareFor(model, features, prompt);
  if (!prepared.ok()) return prepared.status();
  return PredictPrepared(model, options, features, *prepared, predict_options);
}

std::vector<absl::StatusOr<Prediction>> PredictMasksBatch(
    const Sam2Model& model, const ImagePredictorOptions& options,
    absl::Span<const PredictRequest> requests) {
  std::vector<absl::StatusOr<Prediction>> out(
      requests.size(), absl::InternalError("not predicted"));
  std::vector<PreparedPrompts> prepared(requests.size());
  // Batch key -> indices of the requests sharing it, in request order.
  std::vector<std::pair<std::string, std::vector<size_t>>> groups;
  for (size_t i = 0; i < requests.size(); ++i) {
    const PredictRequest& r = requests[i];
    if (r.features == nullptr) {
      out[i] = absl::InternalError("a batched request without features");
      continue;
    }
    absl::StatusOr<PreparedPrompts> p = PrepareFor(model, *r.features, r.prompt);
    if (!p.ok()) {
      out[i] = p.status();
      continue;
    }
    prepared[i] = *std::move(p);
    std::string key =
        BatchKey(prepared[i], *r.features, r.options.multimask_output);
    auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& e) {
      return !key.empty() && e.first == key;
    });
    if (g == groups.end()) {
      groups.push_back({key, {i}});
    } else {
      g->second.push_back(i);
    }
  }
  for (const auto& [key, members] : groups) {
    if (members.size() == 1) {
      const size_t i = members[0];
      out[i] = PredictPrepared(model, options, *requests[i].features,
                               prepared[i], requests[i].options);
      continue;
    }
    absl::StatusOr<MaskDecoderOutput> decoded;
    try {
      c10::InferenceMode guard;
      std::vector<at::Tensor> embeds, coords, labels, masks;
      std::vector<std::vector<at::Tensor>> levels(
          requests[members[0]].features->high_res_feats.size());
      for (size_t i : members) {
        const ImageFeatures& f = *requests[i].features;
        embeds.push_back(f.image_embed);
        for (size_t l = 0; l < levels.size(); ++l) {
          levels[l].push_back(f.high_res_feats[l]);
        }
        coords.push_back(prepared[i].point_coords);
        labels.push_back(prepared[i].point_labels);
        masks.push_back(prepared[i].mask_input);
      }
      PreparedPrompts batch;
      batch.point_coords = CatOrEmpty(coords);
      batch.point_labels = CatOrEmpty(labels);
      batch.mask_input = CatOrEmpty(masks);
      std::vector<at::Tensor> high_res;
      for (const std::vector<at::Tensor>& level : levels) {
        high_res.push_back(at::cat(level, 0));
      }
      // Each image's cached decoder side, stacked like the embeddings.
      TwoWayImageProjections stacked;
      const bool all_cached = std::all_of(
          members.begin(), members.end(), [&](size_t i) {
            return requests[i].features->decoder_image.defined();
          });
      if (all_cached) {
        std::vector<at::Tensor> keys, values, queries;
        for (size_t i : members) {
          const TwoWayImageProjections& p =
              requests[i].features->decoder_image;
          keys.push_back(p.keys);
          values.push_back(p.values);
          queries.push_back(p.image_queries);
        }
        stacked.keys = at::cat(keys, 0);
        stacked.values = at::cat(values, 0);
        stacked.image_queries = at::cat(queries, 0);
      }
      decoded = Decode(model, at::cat(embeds, 0), high_res, batch,
                       requests[members[0]].options.multimask_output,
                       &stacked);
    } catch (const c10::Error& e) {
      decoded = TorchError("batching decoder inputs: ", e);
    }
    for (size_t k = 0; k < members.size(); ++k) {
      const size_t i = members[k];
      if (!decoded.ok()) {
        out[i] = decoded.status();
        continue;
      }
      const int64_t b = static_cast<int64_t>(k);
      out[i] = Finish(options, *requests[i].features,
                      decoded->masks.narrow(0, b, 1),
                      decoded->iou_pred.narrow(0, b, 1), requests[i].options);
    }
  }
  return out;
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
