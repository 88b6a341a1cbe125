#include "session/image_session.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "model/prompt_transforms.h"

namespace sam2 {
namespace {

// Runs `f`, reports its duration as `stage`, returns its result.
template <typename F>
auto Timed(const StageObserver& observe, absl::string_view stage, F&& f) {
  const absl::Time start = absl::Now();
  auto result = f();
  if (observe) observe(stage, absl::Now() - start);
  return result;
}

int64_t TensorBytes(const at::Tensor& t) {
  return t.defined() ? static_cast<int64_t>(t.numel() * t.element_size()) : 0;
}

}  // namespace

ImageSession::ImageSession(ImageFeatures features, std::string image_bytes,
                           ImageSessionLimits limits)
    : Session(SessionKind::kImage),
      features_(std::move(features)),
      image_bytes_(std::move(image_bytes)),
      limits_(std::move(limits)) {}

absl::StatusOr<std::unique_ptr<ImageSession>> ImageSession::Create(
    const Sam2Model& model, std::string image_bytes,
    const ImageSessionLimits& limits, const StageObserver& observe,
    EmbeddingCache* cache) {
  std::string key;
  if (cache != nullptr) {
    std::optional<ImageFeatures> hit = Timed(observe, "cache", [&] {
      key = EmbeddingCache::KeyOf(image_bytes, model.device().str());
      return cache->Lookup(key);
    });
    if (hit) {
      return std::unique_ptr<ImageSession>(
          new ImageSession(*std::move(hit), std::move(image_bytes), limits));
    }
  }
  absl::StatusOr<RgbImage> image = Timed(
      observe, "decode", [&] { return DecodeImage(image_bytes, limits.decode); });
  if (!image.ok()) return image.status();
  absl::StatusOr<std::vector<ImageFeatures>> features =
      Timed(observe, "encoder", [&] {
        return EmbedImages(model, absl::MakeConstSpan(&image->pixels, 1));
      });
  if (!features.ok()) return features.status();
  if (features->size() != 1) {
    return absl::InternalError("image encoder returned no features");
  }
  if (cache != nullptr) cache->Insert(key, features->front());
  return std::unique_ptr<ImageSession>(new ImageSession(
      std::move(features->front()), std::move(image_bytes), limits));
}

int64_t ImageSession::NumBytes() const {
  int64_t bytes = features_.NumBytes() + static_cast<int64_t>(image_bytes_.size());
  for (const auto& [id, logits] : results_) bytes += TensorBytes(logits);
  return bytes;
}

absl::StatusOr<at::Tensor> ImageSession::ResolveMaskInput(
    const SegmentInput& input, int64_t low_res_side) const {
  if (input.mask_reference && input.mask_logits) {
    return absl::InvalidArgumentError(
        "give a mask prompt either by reference or as logits, not both");
  }
  if (input.mask_logits) {
    absl::StatusOr<at::Tensor> logits =
        DecodeLogits(*input.mask_logits, low_res_side, low_res_side);
    if (!logits.ok()) return logits.status();
    return logits->unsqueeze(0);
  }
  if (!input.mask_reference) return at::Tensor();
  const MaskReference& ref = *input.mask_reference;
  for (const auto& [id, logits] : results_) {
    if (id != ref.result_id) continue;
    // logits: [B, C, M, M].
    if (ref.prompt_index < 0 || ref.prompt_index >= logits.size(0) ||
        ref.mask_index < 0 || ref.mask_index >= logits.size(1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "result ", ref.result_id, " has ", logits.size(0),
          " prompt set(s) of ", logits.size(1), " mask(s); no prompt_index ",
          ref.prompt_index, " mask_index ", ref.mask_index));
    }
    return logits[ref.prompt_index][ref.mask_index].unsqueeze(0).clone();
  }
  return absl::NotFoundError(absl::StrCat(
      "result ", ref.result_id,
      " is not kept (a session keeps the low-resolution logits of its last ",
      limits_.kept_results, " Segment results)"));
}

absl::StatusOr<PredictRequest> ImageSession::PrepareSegment(
    const Sam2Model& model, const SegmentInput& input) const {
  if (static_cast<int64_t>(input.points.size()) > limits_.max_points) {
    return absl::InvalidArgumentError(absl::StrCat(
        input.points.size(), " points in one request; the limit is ",
        limits_.max_points));
  }
  if (static_cast<int64_t>(input.boxes.size()) > limits_.max_boxes) {
    return absl::InvalidArgumentError(absl::StrCat(
        input.boxes.size(), " boxes in one request; the limit is ",
        limits_.max_boxes));
  }
  if (input.boxes.size() > 1 && !input.points.empty()) {
    return absl::InvalidArgumentError(
        "points cannot be combined with several boxes (each box is its own "
        "prompt set); send one box with the points, or one request per box");
  }
  const int64_t low_res_side = 4 * model.config().ImageEmbeddingSize();
  ImagePromptInput prompt;
  try {
    if (!input.points.empty()) {
      const int64_t n = static_cast<int64_t>(input.points.size());
      prompt.point_coords = at::empty({n, 2}, at::kFloat);
      prompt.point_labels = at::empty({n}, at::kInt);
      auto c = prompt.point_coords.accessor<float, 2>();
      auto l = prompt.point_labels.accessor<int32_t, 1>();
      for (int64_t i = 0; i < n; ++i) {
        c[i][0] = input.points[i].x;
        c[i][1] = input.points[i].y;
        l[i] = input.points[i].label;
      }
    }
    if (!input.boxes.empty()) {
      const int64_t b = static_cast<int64_t>(input.boxes.size());
      at::Tensor boxes = at::empty({b, 4}, at::kFloat);
      auto a = boxes.accessor<float, 2>();
      for (int64_t i = 0; i < b; ++i) {
        a[i][0] = input.boxes[i].x0;
        a[i][1] = input.boxes[i].y0;
        a[i][2] = input.boxes[i].x1;
        a[i][3] = input.boxes[i].y1;
      }
      prompt.box = b == 1 ? boxes[0] : boxes;
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("building prompts: ", e.what()));
  }
  absl::StatusOr<at::Tensor> mask = ResolveMaskInput(input, low_res_side);
  if (!mask.ok()) return mask.status();
  prompt.mask_input = *mask;

  PredictRequest request;
  request.features = &features_;
  request.prompt = std::move(prompt);
  request.options.multimask_output = input.multimask_output;
  request.options.return_logits = false;
  return request;
}

absl::StatusOr<SegmentOutput> ImageSession::Segment(
    const Sam2Model& model, const SegmentInput& input,
    const StageObserver& observe) {
  absl::StatusOr<PredictRequest> request = PrepareSegment(model, input);
  if (!request.ok()) return request.status();
  absl::StatusOr<Prediction> prediction = Timed(observe, "decoder", [&] {
    return PredictMasks(model, ImagePredictorOptions{}, features_,
                        request->prompt, request->options);
  });
  if (!prediction.ok()) return prediction.status();
  return FinishSegment(input, *prediction, observe);
}

std::vector<absl::StatusOr<SegmentOutput>> ImageSession::SegmentBatch(
    const Sam2Model& model, absl::Span<ImageSession* const> sessions,
    absl::Span<const SegmentInput* const> inputs,
    const StageObserver& observe) {
  std::vector<absl::StatusOr<SegmentOutput>> out(
      sessions.size(), absl::InternalError("not segmented"));
  if (inputs.size() != sessions.size()) {
    for (auto& o : out) o = absl::InternalError("one input per session");
    return out;
  }
  std::vector<PredictRequest> requests;
  std::vector<size_t> index;  // requests[k] is sessions[index[k]]'s
  for (size_t i = 0; i < sessions.size(); ++i) {
    absl::StatusOr<PredictRequest> r =
        sessions[i]->PrepareSegment(model, *inputs[i]);
    if (!r.ok()) {
      out[i] = r.status();
      continue;
    }
    requests.push_back(*std::move(r));
    index.push_back(i);
  }
  const absl::Time start = absl::Now();
  std::vector<absl::StatusOr<Prediction>> predictions =
      PredictMasksBatch(model, ImagePredictorOptions{}, requests);
  // Each request waited for the whole batch: that is its decoder time.
  const absl::Duration decoder = absl::Now() - start;
  if (observe) {
    for (const absl::StatusOr<Prediction>& p : predictions) {
      if (p.ok()) observe("decoder", decoder);
    }
  }
  for (size_t k = 0; k < requests.size(); ++k) {
    const size_t i = index[k];
    out[i] = predictions[k].ok()
                 ? sessions[i]->FinishSegment(*inputs[i], *predictions[k],
                                              observe)
                 : absl::StatusOr<SegmentOutput>(predictions[k].status());
  }
  return out;
}

absl::StatusOr<SegmentOutput> ImageSession::FinishSegment(
    const SegmentInput& input, const Prediction& prediction,
    const StageObserver& observe) {
  const absl::Time post_start = absl::Now();
  SegmentOutput out;
  try {
    // Bring single prompt sets to the batched layout [B, C, ...], on the
    // host: one download of what is encoded, whatever the model's device.
    const bool logits = input.encoding == MaskEncoding::kLogits;
    at::Tensor masks = logits ? prediction.masks : prediction.masks.cpu();
    at::Tensor ious = prediction.iou_predictions.to(at::kFloat).cpu();
    at::Tensor low_res =
        logits ? prediction.low_res_logits.cpu() : prediction.low_res_logits;
    if (ious.dim() == 1) {
      masks = masks.unsqueeze(0);
      ious = ious.unsqueeze(0);
      low_res = low_res.unsqueeze(0);
    }
    for (int64_t b = 0; b < masks.size(0); ++b) {
      PromptMasks p;
      for (int64_t c = 0; c < masks.size(1); ++c) {
        absl::StatusOr<EncodedMask> encoded =
            logits ? EncodeMask(low_res[b][c], MaskEncoding::kLogits)
                : EncodeMask(masks[b][c], input.encoding);
        if (!encoded.ok()) return encoded.status();
        p.masks.push_back(*std::move(encoded));
        p.iou_scores.push_back(ious[b][c].item<float>());
      }
      out.prompts.push_back(std::move(p));
    }
    out.result_id = next_result_id_++;
    results_.emplace_back(out.result_id, low_res.contiguous());
    while (static_cast<int>(results_.size()) > std::max(limits_.kept_results, 0)) {
      results_.pop_front();
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("encoding masks: ", e.what()));
  }
  if (observe) observe("postprocess", absl::Now() - post_start);
  return out;
}

absl::StatusOr<std::vector<GeneratedMaskOutput>> ImageSession::GenerateMasks(
    std::shared_ptr<const Sam2Model> model,
    const AutomaticMaskGeneratorOptions& options, MaskEncoding encoding,
    const AmgProgressCallback& progress, const StageObserver& observe) {
  if (encoding == MaskEncoding::kLogits) {
    return absl::InvalidArgumentError(
        "generated masks are available as RLE or PNG, not logits");
  }
  AutomaticMaskGeneratorOptions opts = options;
  opts.output_mode = encoding == MaskEncoding::kRle ? AmgOutputMode::kCocoRle
                                                    : AmgOutputMode::kBinaryMask;
  absl::StatusOr<std::unique_ptr<AutomaticMaskGenerator>> generator =
      AutomaticMaskGenerator::Create(std::move(model), opts);
  if (!generator.ok()) return generator.status();
  absl::StatusOr<RgbImage> image = Timed(observe, "decode", [&] {
    return DecodeImage(image_bytes_, limits_.decode);
  });
  if (!image.ok()) return image.status();
  absl::StatusOr<std::vector<MaskRecord>> records =
      Timed(observe, "decoder", [&] {
        return (*generator)->Generate(image->pixels, progress, &features_);
      });
  if (!records.ok()) return records.status();
  std::vector<GeneratedMaskOutput> out;
  out.reserve(records->size());
  for (MaskRecord& r : *records) {
    GeneratedMaskOutput g;
    if (encoding == MaskEncoding::kRle) {
      g.mask.height = r.rle.height;
      g.mask.width = r.rle.width;
      g.mask.encoding = MaskEncoding::kRle;
      g.mask.data = std::move(r.coco_counts);
    } else {
      absl::StatusOr<EncodedMask> png = EncodeMask(r.segmentation, encoding);
      if (!png.ok()) return png.status();
      g.mask = *std::move(png);
    }
    g.bbox = r.bbox;
    g.area = r.area;
    g.predicted_iou = r.predicted_iou;
    g.stability_score = r.stability_score;
    g.point = r.point_coords;
    g.crop_box = r.crop_box;
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace sam2
