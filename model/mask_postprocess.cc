// Connected components and mask hole / sprinkle handling. Mirrors
// get_connected_components and fill_holes_in_mask_scores (utils/misc.py)
// and SAM2Transforms.postprocess_masks (utils/transforms.py) of the
// reference. See the header.

#include "model/mask_postprocess.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

absl::Status CheckSide(int64_t side, const char* what) {
  if (side < 1 || side > kMaxMaskSide) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is ", side, "; it must be between 1 and ", kMaxMaskSide));
  }
  return absl::OkStatus();
}

// [N, 1, H, W] with sides in range.
absl::Status CheckSingleChannelMasks(const at::Tensor& t, const char* what) {
  if (!t.defined() || t.dim() != 4 || t.size(1) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must be [N, 1, H, W], got ", ShapeOf(t)));
  }
  if (absl::Status s = CheckSide(t.size(2), "mask height"); !s.ok()) return s;
  return CheckSide(t.size(3), "mask width");
}

absl::Status CheckArea(double area, const char* what) {
  if (!std::isfinite(area)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be finite, got ", area));
  }
  return absl::OkStatus();
}

// Labels and areas of a validated [N, 1, H, W] binary mask; may throw
// c10::Error or cv::Exception.
absl::StatusOr<ConnectedComponents> ComponentsUnchecked(
    const at::Tensor& mask) {
  if (!mask.device().is_cpu()) return TensorConnectedComponents(mask);
  const at::Tensor binary = mask.ne(0).to(at::kByte).contiguous();
  const int64_t n = binary.size(0);
  const int rows = static_cast<int>(binary.size(2));
  const int cols = static_cast<int>(binary.size(3));
  ConnectedComponents out;
  out.labels = at::empty(binary.sizes(), binary.options().dtype(at::kInt));
  out.counts = at::empty(binary.sizes(), binary.options().dtype(at::kInt));
  const int64_t plane = static_cast<int64_t>(rows) * cols;
  uint8_t* in_base = binary.data_ptr<uint8_t>();
  int32_t* label_base = out.labels.data_ptr<int32_t>();
  int32_t* count_base = out.counts.data_ptr<int32_t>();
  std::vector<int32_t> area_of;
  for (int64_t i = 0; i < n; ++i) {
    const cv::Mat image(rows, cols, CV_8UC1, in_base + i * plane);
    cv::Mat labels(rows, cols, CV_32SC1, label_base + i * plane);
    cv::Mat stats, centroids;
    const int num = cv::connectedComponentsWithStats(
        image, labels, stats, centroids, kMaskComponentConnectivity, CV_32S);
    if (labels.data != reinterpret_cast<uchar*>(label_base + i * plane)) {
      return absl::InternalError(
          "connectedComponentsWithStats reallocated its output");
    }
    // Label 0 is OpenCV's background: area 0 there, as in the reference.
    area_of.assign(static_cast<size_t>(num), 0);
    for (int k = 1; k < num; ++k) {
      area_of[k] = stats.at<int32_t>(k, cv::CC_STAT_AREA);
    }
    const int32_t* lab = label_base + i * plane;
    int32_t* cnt = count_base + i * plane;
    for (int64_t p = 0; p < plane; ++p) {
      cnt[p] = area_of[static_cast<size_t>(lab[p])];
    }
  }
  return out;
}

// (labels > 0) & (counts <= max_area): the components small enough.
absl::StatusOr<at::Tensor> SmallComponents(const at::Tensor& binary,
                                           double max_area) {
  absl::StatusOr<ConnectedComponents> cc = ComponentsUnchecked(binary);
  if (!cc.ok()) return cc.status();
  return at::logical_and(cc->labels.gt(0), cc->counts.le(max_area));
}

absl::StatusOr<at::Tensor> PostprocessUnchecked(const at::Tensor& logits,
                                                int64_t orig_h, int64_t orig_w,
                                                double max_hole_area,
                                                double max_sprinkle_area,
                                                double mask_threshold) {
  at::Tensor masks = logits.to(at::kFloat);
  if (masks.numel() == 0) {
    return at::empty({masks.size(0), masks.size(1), orig_h, orig_w},
                     masks.options());
  }
  // Both steps look at the logits as they came in (sprinkles: pre-fill).
  const at::Tensor flat = masks.flatten(0, 1).unsqueeze(1);
  if (max_hole_area > 0) {
    absl::StatusOr<at::Tensor> is_hole =
        SmallComponents(flat.le(mask_threshold), max_hole_area);
    if (!is_hole.ok()) return is_hole.status();
    masks = at::where(is_hole->reshape_as(masks),
                      mask_threshold + kHoleSprinkleScoreOffset, masks);
  }
  if (max_sprinkle_area > 0) {
    absl::StatusOr<at::Tensor> is_sprinkle =
        SmallComponents(flat.gt(mask_threshold), max_sprinkle_area);
    if (!is_sprinkle.ok()) return is_sprinkle.status();
    masks = at::where(is_sprinkle->reshape_as(masks),
                      mask_threshold - kHoleSprinkleScoreOffset, masks);
  }
  return at::upsample_bilinear2d(masks, {orig_h, orig_w},
                                 /*align_corners=*/false, std::nullopt,
                                 std::nullopt);
}

}  // namespace

absl::StatusOr<ConnectedComponents> GetConnectedComponents(
    const at::Tensor& mask) {
  if (absl::Status s = CheckSingleChannelMasks(mask, "mask"); !s.ok()) {
    return s;
  }
  if (mask.scalar_type() != at::kBool && mask.scalar_type() != at::kByte) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask must be bool or uint8, got ",
        c10::toString(mask.scalar_type())));
  }
  try {
    c10::InferenceMode guard;
    return ComponentsUnchecked(mask);
  } catch (const c10::Error& e) {
    return TorchError("connected components: ", e);
  } catch (const cv::Exception& e) {
    return absl::InternalError(
        absl::StrCat("connected components: ", e.what()));
  }
}

absl::StatusOr<at::Tensor> PostprocessMasks(const at::Tensor& low_res_logits,
                                            int64_t orig_h, int64_t orig_w,
                                            double max_hole_area,
                                            double max_sprinkle_area,
                                            double mask_threshold) {
  if (!low_res_logits.defined() || low_res_logits.dim() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask logits must be [B, C, h, w], got ", ShapeOf(low_res_logits)));
  }
  if (!at::isFloatingType(low_res_logits.scalar_type())) {
    return absl::InvalidArgumentError(
        absl::StrCat("mask logits must be floating point, got ",
                     c10::toString(low_res_logits.scalar_type())));
  }
  for (const absl::Status& s :
       {CheckSide(low_res_logits.size(2), "mask height"),
        CheckSide(low_res_logits.size(3), "mask width"),
        CheckSide(orig_h, "output height"), CheckSide(orig_w, "output width"),
        CheckArea(max_hole_area, "max_hole_area"),
        CheckArea(max_sprinkle_area, "max_sprinkle_area"),
        CheckArea(mask_threshold, "mask_threshold")}) {
    if (!s.ok()) return s;
  }
  try {
    c10::InferenceMode guard;
    return PostprocessUnchecked(low_res_logits, orig_h, orig_w, max_hole_area,
                                max_sprinkle_area, mask_threshold);
  } catch (const c10::Error& e) {
    return TorchError("postprocessing masks: ", e);
  } catch (const cv::Exception& e) {
    return absl::InternalError(
        absl::StrCat("postprocessing masks: ", e.what()));
  }
}

absl::StatusOr<at::Tensor> FillHolesInMaskScores(const at::Tensor& mask,
                                                 double max_area) {
  if (absl::Status s = CheckSingleChannelMasks(mask, "mask scores");
      !s.ok()) {
    return s;
  }
  if (!at::isFloatingType(mask.scalar_type())) {
    return absl::InvalidArgumentError(
        absl::StrCat("mask scores must be floating point, got ",
                     c10::toString(mask.scalar_type())));
  }
  if (!(max_area > 0) || !std::isfinite(max_area)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the hole area limit must be positive and finite, got ", max_area));
  }
  try {
    c10::InferenceMode guard;
    if (mask.numel() == 0) return mask.clone();
    absl::StatusOr<at::Tensor> is_hole = SmallComponents(mask.le(0), max_area);
    if (!is_hole.ok()) return is_hole.status();
    return at::where(*is_hole, kFilledHoleScore, mask);
  } catch (const c10::Error& e) {
    return TorchError("filling mask holes: ", e);
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("filling mask holes: ", e.what()));
  }
}

}  // namespace sam2
