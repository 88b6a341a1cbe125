// Mirrors utils/transforms.py (SAM2Transforms) and the prompt handling of
// sam2_image_predictor.py (SAM2ImagePredictor). See the header.

#include "model/prompt_transforms.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

absl::Status CheckSizes(int64_t orig_h, int64_t orig_w, int64_t resolution) {
  if (orig_h <= 0 || orig_w <= 0 || resolution <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("image size ", orig_h, "x", orig_w, " and model size ",
                     resolution, " must be positive"));
  }
  return absl::OkStatus();
}

absl::Status CheckFinite(const at::Tensor& t, const char* what) {
  if (!at::isfinite(t).all().item<bool>()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " contain a non-finite value"));
  }
  return absl::OkStatus();
}

// Points and box corners must lie on the image: x in [0, W], y in [0, H]
// for pixel coordinates, [0, 1] for normalized ones. The reference accepts
// anything; a click off the image is a client bug we report. May throw
// c10::Error.
absl::Status CheckInImage(const at::Tensor& coords, bool normalize,
                          int64_t orig_h, int64_t orig_w,
                          absl::string_view what) {
  const at::Tensor xy = coords.to(at::kDouble).reshape({-1, 2});
  const double max_x = normalize ? static_cast<double>(orig_w) : 1.0;
  const double max_y = normalize ? static_cast<double>(orig_h) : 1.0;
  const at::Tensor x = xy.select(1, 0);
  const at::Tensor y = xy.select(1, 1);
  if ((x < 0).any().item<bool>() || (x > max_x).any().item<bool>() ||
      (y < 0).any().item<bool>() || (y > max_y).any().item<bool>()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must lie on the image: x in [0, ", max_x, "], y in [0, ",
        max_y, "]", normalize ? " pixels" : " (normalized coordinates)"));
  }
  return absl::OkStatus();
}

// Body of TransformCoords after validation; may throw c10::Error.
at::Tensor TransformCoordsUnchecked(const at::Tensor& coords_in,
                                    bool normalize, int64_t orig_h,
                                    int64_t orig_w, int64_t resolution) {
  at::Tensor coords = coords_in.to(at::kFloat);
  if (normalize) {
    const at::Tensor x = coords.select(-1, 0) / static_cast<double>(orig_w);
    const at::Tensor y = coords.select(-1, 1) / static_cast<double>(orig_h);
    coords = at::stack({x, y}, -1);
  }
  return coords * static_cast<double>(resolution);
}

}  // namespace

absl::StatusOr<at::Tensor> TransformCoords(const at::Tensor& coords,
                                           bool normalize, int64_t orig_h,
                                           int64_t orig_w, int64_t resolution) {
  if (absl::Status s = CheckSizes(orig_h, orig_w, resolution); !s.ok()) {
    return s;
  }
  if (!coords.defined() || coords.dim() < 1 || coords.size(-1) != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "point coordinates must be [..., 2], got ", ShapeOf(coords)));
  }
  try {
    c10::InferenceMode guard;
    if (absl::Status s = CheckFinite(coords, "point coordinates"); !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckInImage(coords, normalize, orig_h, orig_w,
                                      "point coordinates");
        !s.ok()) {
      return s;
    }
    return TransformCoordsUnchecked(coords, normalize, orig_h, orig_w,
                                    resolution);
  } catch (const c10::Error& e) {
    return TorchError("transforming coordinates: ", e);
  }
}

absl::StatusOr<at::Tensor> TransformBoxes(const at::Tensor& boxes,
                                          bool normalize, int64_t orig_h,
                                          int64_t orig_w, int64_t resolution) {
  if (absl::Status s = CheckSizes(orig_h, orig_w, resolution); !s.ok()) {
    return s;
  }
  if (!boxes.defined() || boxes.dim() < 1 || boxes.dim() > 2 ||
      boxes.size(-1) != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "boxes must be [4] or [B, 4] (x0, y0, x1, y1), got ", ShapeOf(boxes)));
  }
  try {
    c10::InferenceMode guard;
    if (absl::Status s = CheckFinite(boxes, "boxes"); !s.ok()) return s;
    if (absl::Status s =
            CheckInImage(boxes, normalize, orig_h, orig_w, "box corners");
        !s.ok()) {
      return s;
    }
    const at::Tensor b = boxes.to(at::kDouble).reshape({-1, 4});
    if ((b.select(1, 0) > b.select(1, 2)).any().item<bool>() ||
        (b.select(1, 1) > b.select(1, 3)).any().item<bool>()) {
      return absl::InvalidArgumentError(
          "boxes must have x0 <= x1 and y0 <= y1 (x0, y0, x1, y1)");
    }
    return TransformCoordsUnchecked(boxes.reshape({-1, 2, 2}), normalize,
                                    orig_h, orig_w, resolution);
  } catch (const c10::Error& e) {
    return TorchError("transforming boxes: ", e);
  }
}

absl::StatusOr<PreparedPrompts> PreparePrompts(const ImagePromptInput& input,
                                               int64_t orig_h, int64_t orig_w,
                                               int64_t image_size) {
  if (absl::Status s = CheckSizes(orig_h, orig_w, image_size); !s.ok()) {
    return s;
  }
  const bool has_points = input.point_coords.defined();
  const bool has_box = input.box.defined();
  const bool has_mask = input.mask_input.defined();
  if (!has_points && !has_box && !has_mask) {
    return absl::InvalidArgumentError(
        "empty prompt: give points, a box or a mask input");
  }
  if (has_points != input.point_labels.defined()) {
    return absl::InvalidArgumentError(
        has_points ? "point labels must be given with point coordinates"
                   : "point labels given without point coordinates");
  }
  if (has_points) {
    const at::Tensor& c = input.point_coords;
    const at::Tensor& l = input.point_labels;
    const bool shape_ok =
        (c.dim() == 2 || c.dim() == 3) && c.size(-1) == 2 &&
        l.dim() == c.dim() - 1 &&
        (c.dim() == 2 ? l.size(0) == c.size(0)
                      : l.size(0) == c.size(0) && l.size(1) == c.size(1));
    if (!shape_ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "point coordinates must be [N,2] or [B,N,2] with labels [N] or "
          "[B,N]; got ",
          ShapeOf(c), " and ", ShapeOf(l)));
    }
  }
  if (has_mask) {
    const at::Tensor& m = input.mask_input;
    if (!((m.dim() == 3 && m.size(0) == 1) || (m.dim() == 4 && m.size(1) == 1))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mask input must be [1,M,M] or [B,1,M,M], got ", ShapeOf(m)));
    }
  }

  try {
    c10::InferenceMode guard;
    PreparedPrompts out;
    at::Tensor coords, labels;
    if (has_points) {
      absl::StatusOr<at::Tensor> t =
          TransformCoords(input.point_coords, input.normalize_coords, orig_h,
                          orig_w, image_size);
      if (!t.ok()) return t.status();
      coords = *t;
      const at::Tensor raw_labels = input.point_labels;
      if (!at::isfinite(raw_labels.to(at::kDouble)).all().item<bool>()) {
        return absl::InvalidArgumentError("point labels must be finite");
      }
      labels = raw_labels.to(at::kInt);
      if ((labels < kMinPointLabel).any().item<bool>() ||
          (labels > kMaxPointLabel).any().item<bool>()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "point labels must be in ", kMinPointLabel, "..", kMaxPointLabel,
            " (0 negative, 1 positive, 2/3 box corners)"));
      }
      if (coords.dim() == 2) {
        coords = coords.unsqueeze(0);
        labels = labels.unsqueeze(0);
      }
    }
    if (has_box) {
      absl::StatusOr<at::Tensor> t = TransformBoxes(
          input.box, input.normalize_coords, orig_h, orig_w, image_size);
      if (!t.ok()) return t.status();
      const at::Tensor box_coords = *t;  // [B, 2, 2]
      const int64_t b = box_coords.size(0);
      const at::Tensor box_labels =
          at::tensor({kBoxTopLeftLabel, kBoxBottomRightLabel},
                     at::TensorOptions().dtype(at::kInt))
              .unsqueeze(0)
              .repeat({b, 1});
      if (has_points) {
        if (coords.size(0) != b) {
          return absl::InvalidArgumentError(absl::StrCat(
              "got ", b, " boxes but ", coords.size(0),
              " sets of points; the counts must match"));
        }
        coords = at::cat({box_coords, coords}, 1);
        labels = at::cat({box_labels, labels}, 1);
      } else {
        coords = box_coords;
        labels = box_labels;
      }
    }
    if (has_mask) {
      at::Tensor m = input.mask_input.to(at::kFloat);
      if (!at::isfinite(m).all().item<bool>()) {
        return absl::InvalidArgumentError(
            "mask input contains a non-finite value");
      }
      if (m.dim() == 3) m = m.unsqueeze(0);
      if (coords.defined() && m.size(0) != coords.size(0)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "mask input batch ", m.size(0), " differs from the prompt batch ",
            coords.size(0)));
      }
      out.mask_input = m;
    }
    out.point_coords = coords;
    out.point_labels = labels;
    out.repeat_image = coords.defined() && coords.size(0) > 1;
    return out;
  } catch (const c10::Error& e) {
    return TorchError("preparing prompts: ", e);
  }
}

absl::StatusOr<at::Tensor> ClampLowResLogits(const at::Tensor& low_res) {
  if (!low_res.defined()) {
    return absl::InvalidArgumentError("low-resolution logits are undefined");
  }
  try {
    c10::InferenceMode guard;
    return at::clamp(low_res, -kLowResLogitsClamp, kLowResLogitsClamp);
  } catch (const c10::Error& e) {
    return TorchError("clamping logits: ", e);
  }
}

}  // namespace sam2
