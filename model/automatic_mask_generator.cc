// Mirrors sam2/automatic_mask_generator.py (SAM2AutomaticMaskGenerator).
// See the header.

#include "model/automatic_mask_generator.h"
#include "model/torch_error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

// The filtered outputs of a batch, a crop or the whole image (the
// reference's MaskData), one row per mask.
struct MaskSet {
  std::vector<Rle> rles;
  at::Tensor boxes;            // int64 [N, 4] xyxy, inclusive
  at::Tensor iou_preds;        // float32 [N]
  at::Tensor points;           // float32 [N, 2]
  at::Tensor stability_score;  // float32 [N]
  std::vector<CropBox> crop_boxes;

  int64_t size() const { return static_cast<int64_t>(rles.size()); }

  void Append(MaskSet other) {
    if (other.rles.empty()) return;
    if (rles.empty()) {
      *this = std::move(other);
      return;
    }
    for (Rle& r : other.rles) rles.push_back(std::move(r));
    boxes = at::cat({boxes, other.boxes});
    iou_preds = at::cat({iou_preds, other.iou_preds});
    points = at::cat({points, other.points});
    stability_score = at::cat({stability_score, other.stability_score});
    crop_boxes.insert(crop_boxes.end(), other.crop_boxes.begin(),
                      other.crop_boxes.end());
  }

  // Keeps the rows of `keep` (int64 indices), in that order.
  void Select(const at::Tensor& keep) {
    const at::Tensor k = keep.to(at::kLong).contiguous();
    const int64_t* kp = k.data_ptr<int64_t>();
    std::vector<Rle> new_rles;
    std::vector<CropBox> new_crops;
    for (int64_t i = 0; i < k.numel(); ++i) {
      new_rles.push_back(std::move(rles[static_cast<size_t>(kp[i])]));
      if (!crop_boxes.empty()) {
        new_crops.push_back(crop_boxes[static_cast<size_t>(kp[i])]);
      }
    }
    rles = std::move(new_rles);
    crop_boxes = std::move(new_crops);
    boxes = boxes.index_select(0, k);
    iou_preds = iou_preds.index_select(0, k);
    points = points.index_select(0, k);
    stability_score = stability_score.index_select(0, k);
  }
};

// Rows kept by a bool filter, as indices.
at::Tensor Where(const at::Tensor& keep) {
  return at::nonzero(keep).reshape({-1});
}

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

AutomaticMaskGenerator::AutomaticMaskGenerator(
    std::shared_ptr<const Sam2Model> model,
    AutomaticMaskGeneratorOptions options, std::vector<at::Tensor> point_grids)
    : model_(std::move(model)),
      options_(std::move(options)),
      point_grids_(std::move(point_grids)) {}

absl::StatusOr<std::unique_ptr<AutomaticMaskGenerator>>
AutomaticMaskGenerator::Create(std::shared_ptr<const Sam2Model> model,
                               AutomaticMaskGeneratorOptions options) {
  if (model == nullptr) return absl::InvalidArgumentError("no model");
  try {
    if (absl::Status s = ValidateAmgOptions(options); !s.ok()) return s;
    std::vector<at::Tensor> grids;
    if (options.points_per_side.has_value()) {
      absl::StatusOr<std::vector<at::Tensor>> g = BuildAllLayerPointGrids(
          *options.points_per_side, options.crop_n_layers,
          options.crop_n_points_downscale_factor);
      if (!g.ok()) return g.status();
      grids = *std::move(g);
    } else {
      c10::InferenceMode guard;
      for (const at::Tensor& g : options.point_grids) {
        grids.push_back(g.to(at::kCPU).to(at::kDouble).contiguous());
      }
    }
    return std::unique_ptr<AutomaticMaskGenerator>(new AutomaticMaskGenerator(
        std::move(model), std::move(options), std::move(grids)));
  } catch (const c10::Error& e) {
    return TorchError("creating the mask generator: ", e);
  }
}

absl::StatusOr<int64_t> AutomaticMaskGenerator::CountBatches(
    int64_t height, int64_t width) const {
  absl::StatusOr<CropBoxes> crops = GenerateCropBoxes(
      height, width, options_.crop_n_layers, options_.crop_overlap_ratio);
  if (!crops.ok()) return crops.status();
  int64_t total = 0;
  for (int64_t layer : crops->layer_idxs) {
    total += CeilDiv(point_grids_[static_cast<size_t>(layer)].size(0),
                     options_.points_per_batch);
  }
  return total;
}

namespace {

// Everything one Generate call needs while it runs.
struct GenerateContext {
  const Sam2Model* model;
  const AutomaticMaskGeneratorOptions* options;
  ImagePredictorOptions predictor_options;
  int64_t orig_h;
  int64_t orig_w;
  const AmgProgressCallback* progress;
  int64_t batches_done = 0;
  int64_t batches_total = 0;
};

// Runs the predictor (the reference's `_predict`) on `points` float32 [B, 2]
// in crop pixels, one positive click each, with optional mask inputs
// [B, 1, M, M]. Returns masks [B, C, h, w] logits, iou [B, C], low-res
// [B, C, M, M].
absl::StatusOr<Prediction> PredictPoints(const GenerateContext& ctx,
                                         const ImageFeatures& features,
                                         const at::Tensor& points,
                                         const at::Tensor& mask_input,
                                         bool multimask) {
  const int64_t b = points.size(0);
  ImagePromptInput prompt;
  prompt.point_coords = points.unsqueeze(1);
  prompt.point_labels = at::ones({b, 1}, at::kInt);
  if (mask_input.defined()) prompt.mask_input = mask_input;
  prompt.normalize_coords = true;  // x / w, y / h of the crop, then x S
  PredictOptions po;
  po.multimask_output = multimask;
  po.return_logits = true;
  absl::StatusOr<Prediction> p =
      PredictMasks(*ctx.model, ctx.predictor_options, features, prompt, po);
  if (!p.ok()) return p.status();
  // The mask filtering, boxes and NMS below run on the host.
  try {
    p->masks = p->masks.to(at::kCPU);
    p->iou_predictions = p->iou_predictions.to(at::kCPU);
    p->low_res_logits = p->low_res_logits.to(at::kCPU);
  } catch (const c10::Error& e) {
    return TorchError("downloading masks: ", e);
  }
  // predict() drops a batch of one; put it back.
  if (p->masks.dim() == 3) {
    p->masks = p->masks.unsqueeze(0);
    p->iou_predictions = p->iou_predictions.unsqueeze(0);
    p->low_res_logits = p->low_res_logits.unsqueeze(0);
  }
  return p;
}

// _process_batch.
absl::StatusOr<MaskSet> ProcessBatch(const GenerateContext& ctx,
                                     const ImageFeatures& features,
                                     const at::Tensor& points,
                                     const CropBox& crop_box) {
  const AutomaticMaskGeneratorOptions& o = *ctx.options;
  absl::StatusOr<Prediction> p =
      PredictPoints(ctx, features, points, at::Tensor(), o.multimask_output);
  if (!p.ok()) return p.status();
  const int64_t c = p->masks.size(1);
  at::Tensor masks = p->masks.flatten(0, 1);
  at::Tensor iou = p->iou_predictions.flatten(0, 1);
  at::Tensor pts = points.repeat_interleave(c, 0);
  if (o.use_m2m) {
    // One refinement step from each mask's own low-resolution logits.
    const at::Tensor low_res = p->low_res_logits.flatten(0, 1);
    std::vector<at::Tensor> new_masks, new_iou;
    const int64_t n = pts.size(0);
    for (int64_t start = 0; start < n; start += o.points_per_batch) {
      const int64_t len = std::min(o.points_per_batch, n - start);
      absl::StatusOr<Prediction> r = PredictPoints(
          ctx, features, pts.narrow(0, start, len),
          low_res.narrow(0, start, len).unsqueeze(1), /*multimask=*/false);
      if (!r.ok()) return r.status();
      new_masks.push_back(r->masks.flatten(0, 1));
      new_iou.push_back(r->iou_predictions.flatten(0, 1));
    }
    masks = at::cat(new_masks);
    iou = at::cat(new_iou);
  }
  masks = masks.contiguous();
  // Filter by predicted IoU, then by stability.
  if (o.pred_iou_thresh > 0.0) {
    const at::Tensor keep = Where(at::gt(iou, o.pred_iou_thresh));
    masks = masks.index_select(0, keep);
    iou = iou.index_select(0, keep);
    pts = pts.index_select(0, keep);
  }
  absl::StatusOr<at::Tensor> stability = CalculateStabilityScore(
      masks, o.mask_threshold, o.stability_score_offset);
  if (!stability.ok()) return stability.status();
  at::Tensor stab = *stability;
  if (o.stability_score_thresh > 0.0) {
    const at::Tensor keep = Where(at::ge(stab, o.stability_score_thresh));
    masks = masks.index_select(0, keep);
    iou = iou.index_select(0, keep);
    pts = pts.index_select(0, keep);
    stab = stab.index_select(0, keep);
  }
  const at::Tensor binary = at::gt(masks, o.mask_threshold);
  absl::StatusOr<at::Tensor> boxes = BatchedMaskToBox(binary);
  if (!boxes.ok()) return boxes.status();
  absl::StatusOr<at::Tensor> near = IsBoxNearCropEdge(
      *boxes, crop_box, CropBox{0, 0, ctx.orig_w, ctx.orig_h});
  if (!near.ok()) return near.status();
  const at::Tensor keep = Where(near->logical_not());
  MaskSet out;
  out.boxes = boxes->index_select(0, keep);
  out.iou_preds = iou.index_select(0, keep);
  out.points = pts.index_select(0, keep);
  out.stability_score = stab.index_select(0, keep);
  absl::StatusOr<at::Tensor> full = UncropMasks(binary.index_select(0, keep),
                                                crop_box, ctx.orig_h, ctx.orig_w);
  if (!full.ok()) return full.status();
  absl::StatusOr<std::vector<Rle>> rles = MasksToRle(*full);
  if (!rles.ok()) return rles.status();
  out.rles = *std::move(rles);
  return out;
}

// _process_crop.
absl::StatusOr<MaskSet> ProcessCrop(GenerateContext& ctx, const at::Tensor& rgb,
                                    const CropBox& crop_box,
                                    const at::Tensor& grid,
                                    const ImageFeatures* given_features) {
  const AutomaticMaskGeneratorOptions& o = *ctx.options;
  ImageFeatures features;
  if (given_features != nullptr) {
    features = *given_features;
  } else {
    const at::Tensor cropped = rgb.slice(0, crop_box.y0, crop_box.y1)
                                   .slice(1, crop_box.x0, crop_box.x1)
                                   .contiguous();
    absl::StatusOr<std::vector<ImageFeatures>> f =
        EmbedImages(*ctx.model, {cropped});
    if (!f.ok()) return f.status();
    features = std::move(f->front());
  }
  // Grid x (w, h) in float64, then float32, as the reference's
  // torch.as_tensor(points, dtype=float32).
  const at::Tensor scale =
      at::tensor({static_cast<double>(crop_box.width()),
                  static_cast<double>(crop_box.height())},
                 at::kDouble);
  const at::Tensor points_for_image = (grid * scale).to(at::kFloat);
  MaskSet data;
  const int64_t n = points_for_image.size(0);
  for (int64_t start = 0; start < n; start += o.points_per_batch) {
    const int64_t len = std::min(o.points_per_batch, n - start);
    absl::StatusOr<MaskSet> batch = ProcessBatch(
        ctx, features, points_for_image.narrow(0, start, len).contiguous(),
        crop_box);
    if (!batch.ok()) return batch.status();
    data.Append(*std::move(batch));
    ++ctx.batches_done;
    if (*ctx.progress) {
      if (absl::Status s = (*ctx.progress)(ctx.batches_done, ctx.batches_total);
          !s.ok()) {
        return s;
      }
    }
  }
  if (data.size() == 0) return data;
  // Duplicates within the crop.
  absl::StatusOr<at::Tensor> keep = BatchedNms(
      data.boxes.to(at::kFloat), data.iou_preds, o.box_nms_thresh);
  if (!keep.ok()) return keep.status();
  data.Select(*keep);
  // Back to the image's frame.
  data.boxes = UncropBoxesXyxy(data.boxes, crop_box);
  data.points = UncropPoints(data.points, crop_box);
  data.crop_boxes.assign(data.rles.size(), crop_box);
  return data;
}

}  // namespace

absl::StatusOr<std::vector<MaskRecord>> AutomaticMaskGenerator::Generate(
    const at::Tensor& rgb, const AmgProgressCallback& progress,
    const ImageFeatures* full_image_features) const {
  if (!rgb.defined() || rgb.dim() != 3 || rgb.size(2) != 3 ||
      rgb.scalar_type() != at::kByte || rgb.size(0) <= 0 || rgb.size(1) <= 0) {
    return absl::InvalidArgumentError("the image must be RGB uint8 [H, W, 3]");
  }
  const int64_t h = rgb.size(0), w = rgb.size(1);
  if (full_image_features != nullptr &&
      (full_image_features->orig_h != h || full_image_features->orig_w != w)) {
    return absl::InvalidArgumentError(
        "the given image features belong to an image of another size");
  }
  try {
    c10::InferenceMode guard;
    absl::StatusOr<CropBoxes> crops = GenerateCropBoxes(
        h, w, options_.crop_n_layers, options_.crop_overlap_ratio);
    if (!crops.ok()) return crops.status();
    absl::StatusOr<int64_t> total = CountBatches(h, w);
    if (!total.ok()) return total.status();

    GenerateContext ctx;
    ctx.model = model_.get();
    ctx.options = &options_;
    ctx.predictor_options.max_hole_area = options_.min_mask_region_area;
    ctx.predictor_options.max_sprinkle_area = options_.min_mask_region_area;
    ctx.orig_h = h;
    ctx.orig_w = w;
    ctx.progress = &progress;
    ctx.batches_total = *total;

    const at::Tensor image = rgb.to(at::kCPU).contiguous();
    MaskSet data;
    for (size_t i = 0; i < crops->boxes.size(); ++i) {
      const CropBox& crop = crops->boxes[i];
      const bool whole = crop == CropBox{0, 0, w, h};
      absl::StatusOr<MaskSet> crop_data = ProcessCrop(
          ctx, image, crop,
          point_grids_[static_cast<size_t>(crops->layer_idxs[i])],
          whole ? full_image_features : nullptr);
      if (!crop_data.ok()) return crop_data.status();
      data.Append(*std::move(crop_data));
    }
    // Duplicates across crops: prefer masks from smaller crops.
    if (crops->boxes.size() > 1 && data.size() > 0) {
      std::vector<float> scores;
      for (const CropBox& c : data.crop_boxes) {
        scores.push_back(1.0f / static_cast<float>(c.width() * c.height()));
      }
      absl::StatusOr<at::Tensor> keep =
          BatchedNms(data.boxes.to(at::kFloat), at::tensor(scores, at::kFloat),
                     options_.crop_nms_thresh);
      if (!keep.ok()) return keep.status();
      data.Select(*keep);
    }

    std::vector<MaskRecord> records;
    if (data.size() == 0) return records;
    const at::Tensor boxes = data.boxes.to(at::kDouble).contiguous();
    const at::Tensor points = data.points.to(at::kFloat).to(at::kDouble).contiguous();
    const at::Tensor iou = data.iou_preds.to(at::kFloat).to(at::kDouble).contiguous();
    const at::Tensor stab =
        data.stability_score.to(at::kFloat).to(at::kDouble).contiguous();
    const double* bp = boxes.data_ptr<double>();
    const double* pp = points.data_ptr<double>();
    for (int64_t i = 0; i < data.size(); ++i) {
      MaskRecord r;
      r.rle = std::move(data.rles[static_cast<size_t>(i)]);
      if (options_.output_mode == AmgOutputMode::kBinaryMask) {
        absl::StatusOr<at::Tensor> m = RleToMask(r.rle);
        if (!m.ok()) return m.status();
        r.segmentation = *std::move(m);
      } else {
        r.coco_counts = EncodeCocoCounts(r.rle);
      }
      r.area = RleArea(r.rle);
      r.bbox = BoxXyxyToXywh({bp[4 * i], bp[4 * i + 1], bp[4 * i + 2], bp[4 * i + 3]});
      r.predicted_iou = iou[i].item<double>();
      r.point_coords = {pp[2 * i], pp[2 * i + 1]};
      r.stability_score = stab[i].item<double>();
      const CropBox& c = data.crop_boxes[static_cast<size_t>(i)];
      r.crop_box = {c.x0, c.y0, c.width(), c.height()};
      records.push_back(std::move(r));
    }
    return records;
  } catch (const c10::Error& e) {
    return TorchError("automatic mask generation: ", e);
  }
}

}  // namespace sam2
