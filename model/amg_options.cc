// See amg_options.h.

#include "model/amg_options.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "model/amg_utils.h"

namespace sam2 {
namespace {

absl::Status CheckUnit(double v, const char* name) {
  if (!(v >= 0.0 && v <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be in [0, 1], got ", v));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAmgOptions(const AutomaticMaskGeneratorOptions& o) {
  const bool has_side = o.points_per_side.has_value();
  const bool has_grids = !o.point_grids.empty();
  if (has_side == has_grids) {
    return absl::InvalidArgumentError(
        "give exactly one of points_per_side and point_grids");
  }
  if (has_side && (*o.points_per_side <= 0 ||
                   *o.points_per_side > kMaxPointsPerSide)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "points_per_side must be in 1..", kMaxPointsPerSide, ", got ",
        *o.points_per_side));
  }
  if (o.crop_n_layers < 0 || o.crop_n_layers > kMaxCropLayers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "crop_n_layers must be in 0..", kMaxCropLayers, ", got ",
        o.crop_n_layers));
  }
  if (has_grids) {
    if (static_cast<int64_t>(o.point_grids.size()) != o.crop_n_layers + 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "point_grids must hold one grid per crop layer (",
          o.crop_n_layers + 1, "), got ", o.point_grids.size()));
    }
    for (size_t i = 0; i < o.point_grids.size(); ++i) {
      const at::Tensor& g = o.point_grids[i];
      if (!g.defined() || g.dim() != 2 || g.size(1) != 2 || g.size(0) == 0 ||
          g.size(0) > kMaxPointsPerSide * kMaxPointsPerSide ||
          !at::isFloatingType(g.scalar_type())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "point grid ", i, " must be a non-empty float [N, 2] tensor"));
      }
      bool in_range = false;
      try {
        c10::InferenceMode guard;
        const at::Tensor d = g.to(at::kCPU).to(at::kDouble);
        in_range = at::isfinite(d).all().item<bool>() &&
                   !(d < 0).any().item<bool>() && !(d > 1).any().item<bool>();
      } catch (const c10::Error& e) {
        return absl::InternalError(absl::StrCat(
            "checking point grid ", i, ": ", e.what_without_backtrace()));
      }
      if (!in_range) {
        return absl::InvalidArgumentError(absl::StrCat(
            "point grid ", i, " must hold finite coordinates in [0, 1]"));
      }
    }
  }
  if (o.points_per_batch <= 0 || o.points_per_batch > kMaxPointsPerBatch) {
    return absl::InvalidArgumentError(absl::StrCat(
        "points_per_batch must be in 1..", kMaxPointsPerBatch, ", got ",
        o.points_per_batch));
  }
  for (const auto& [v, name] :
       {std::pair<double, const char*>{o.pred_iou_thresh, "pred_iou_thresh"},
        {o.stability_score_thresh, "stability_score_thresh"},
        {o.box_nms_thresh, "box_nms_thresh"},
        {o.crop_nms_thresh, "crop_nms_thresh"}}) {
    if (absl::Status s = CheckUnit(v, name); !s.ok()) return s;
  }
  if (!(o.crop_overlap_ratio >= 0.0 && o.crop_overlap_ratio < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "crop_overlap_ratio must be in [0, 1), got ", o.crop_overlap_ratio));
  }
  if (!std::isfinite(o.stability_score_offset) ||
      o.stability_score_offset < 0.0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "stability_score_offset must be finite and >= 0, got ",
        o.stability_score_offset));
  }
  if (!std::isfinite(o.mask_threshold)) {
    return absl::InvalidArgumentError("mask_threshold must be finite");
  }
  if (o.crop_n_points_downscale_factor < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "crop_n_points_downscale_factor must be >= 1, got ",
        o.crop_n_points_downscale_factor));
  }
  if (o.min_mask_region_area < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "min_mask_region_area must be >= 0, got ", o.min_mask_region_area));
  }
  return absl::OkStatus();
}

}  // namespace sam2
