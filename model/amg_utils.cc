// Mirrors sam2/utils/amg.py and torchvision's batched_nms. See the header.

#include "model/amg_utils.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

absl::Status Internal(const char* what, const c10::Error& e) {
  return TorchError(absl::StrCat(what, ": "), e);
}

// The x0, y0, x1, y1 of a crop as a float32 [1, 4] tensor.
at::Tensor CropTensor(const CropBox& b) {
  return at::tensor({static_cast<float>(b.x0), static_cast<float>(b.y0),
                     static_cast<float>(b.x1), static_cast<float>(b.y1)},
                    at::kFloat)
      .unsqueeze(0);
}

// Descending order, NaN first (torch.sort's placement), stable.
bool ScoreGreater(float a, float b) {
  const bool an = std::isnan(a), bn = std::isnan(b);
  if (an || bn) return an && !bn;
  return a > b;
}

}  // namespace

absl::StatusOr<at::Tensor> BuildPointGrid(int64_t n_per_side) {
  if (n_per_side <= 0 || n_per_side > kMaxPointsPerSide) {
    return absl::InvalidArgumentError(absl::StrCat(
        "points per side must be in 1..", kMaxPointsPerSide, ", got ",
        n_per_side));
  }
  const int64_t n = n_per_side;
  // np.linspace(offset, 1 - offset, n): start + i * step, the last value
  // exactly the stop.
  const double offset = 1.0 / (2.0 * static_cast<double>(n));
  const double stop = 1.0 - offset;
  std::vector<double> side(static_cast<size_t>(n));
  if (n == 1) {
    side[0] = offset;
  } else {
    const double step = (stop - offset) / static_cast<double>(n - 1);
    for (int64_t i = 0; i < n; ++i) {
      side[static_cast<size_t>(i)] = static_cast<double>(i) * step + offset;
    }
    side.back() = stop;
  }
  try {
    c10::InferenceMode guard;
    at::Tensor grid = at::empty({n * n, 2}, at::kDouble);
    double* g = grid.data_ptr<double>();
    for (int64_t y = 0; y < n; ++y) {
      for (int64_t x = 0; x < n; ++x) {
        g[2 * (y * n + x)] = side[static_cast<size_t>(x)];
        g[2 * (y * n + x) + 1] = side[static_cast<size_t>(y)];
      }
    }
    return grid;
  } catch (const c10::Error& e) {
    return Internal("building the point grid", e);
  }
}

absl::StatusOr<std::vector<at::Tensor>> BuildAllLayerPointGrids(
    int64_t n_per_side, int64_t n_layers, int64_t scale_per_layer) {
  if (n_layers < 0 || n_layers > kMaxCropLayers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "crop layers must be in 0..", kMaxCropLayers, ", got ", n_layers));
  }
  if (scale_per_layer <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the per-layer points downscale factor must be >= 1, got ",
        scale_per_layer));
  }
  std::vector<at::Tensor> grids;
  for (int64_t i = 0; i <= n_layers; ++i) {
    // int(n / scale**i): Python's true division, truncated.
    const double scale = std::pow(static_cast<double>(scale_per_layer),
                                  static_cast<double>(i));
    const int64_t n =
        static_cast<int64_t>(static_cast<double>(n_per_side) / scale);
    absl::StatusOr<at::Tensor> grid = BuildPointGrid(n);
    if (!grid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "crop layer ", i, " would have ", n, " points per side (",
          n_per_side, " / ", scale_per_layer, "^", i,
          "); lower the downscale factor or the crop layers"));
    }
    grids.push_back(*std::move(grid));
  }
  return grids;
}

absl::StatusOr<CropBoxes> GenerateCropBoxes(int64_t im_h, int64_t im_w,
                                            int64_t n_layers,
                                            double overlap_ratio) {
  if (im_h <= 0 || im_w <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("image size ", im_h, "x", im_w, " must be positive"));
  }
  if (n_layers < 0 || n_layers > kMaxCropLayers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "crop layers must be in 0..", kMaxCropLayers, ", got ", n_layers));
  }
  if (!(overlap_ratio >= 0.0 && overlap_ratio < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "crop overlap ratio must be in [0, 1), got ", overlap_ratio));
  }
  CropBoxes out;
  const int64_t short_side = std::min(im_h, im_w);
  out.boxes.push_back({0, 0, im_w, im_h});
  out.layer_idxs.push_back(0);
  auto crop_len = [](int64_t orig_len, int64_t n_crops, int64_t overlap) {
    return static_cast<int64_t>(
        std::ceil(static_cast<double>(overlap * (n_crops - 1) + orig_len) /
                  static_cast<double>(n_crops)));
  };
  for (int64_t layer = 0; layer < n_layers; ++layer) {
    const int64_t n_crops = int64_t{1} << (layer + 1);
    const int64_t overlap = static_cast<int64_t>(
        overlap_ratio * static_cast<double>(short_side) *
        (2.0 / static_cast<double>(n_crops)));
    const int64_t crop_w = crop_len(im_w, n_crops, overlap);
    const int64_t crop_h = crop_len(im_h, n_crops, overlap);
    for (int64_t i = 0; i < n_crops; ++i) {
      const int64_t x0 = (crop_w - overlap) * i;
      for (int64_t j = 0; j < n_crops; ++j) {
        const int64_t y0 = (crop_h - overlap) * j;
        out.boxes.push_back({x0, y0, std::min(x0 + crop_w, im_w),
                             std::min(y0 + crop_h, im_h)});
        out.layer_idxs.push_back(layer + 1);
      }
    }
  }
  return out;
}

absl::StatusOr<at::Tensor> CalculateStabilityScore(const at::Tensor& masks,
                                                   double mask_threshold,
                                                   double threshold_offset) {
  if (!masks.defined() || masks.dim() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("masks must be [..., H, W], got ", ShapeOf(masks)));
  }
  try {
    c10::InferenceMode guard;
    const at::Tensor inter =
        at::gt(masks, mask_threshold + threshold_offset).sum({-2, -1});
    const at::Tensor uni =
        at::gt(masks, mask_threshold - threshold_offset).sum({-2, -1});
    return inter.to(at::kFloat) / uni.to(at::kFloat);
  } catch (const c10::Error& e) {
    return Internal("stability score", e);
  }
}

absl::StatusOr<at::Tensor> BatchedMaskToBox(const at::Tensor& masks) {
  if (!masks.defined() || masks.dim() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("masks must be [..., H, W], got ", ShapeOf(masks)));
  }
  try {
    c10::InferenceMode guard;
    std::vector<int64_t> lead(masks.sizes().begin(), masks.sizes().end() - 2);
    std::vector<int64_t> out_shape = lead;
    out_shape.push_back(4);
    if (masks.numel() == 0) return at::zeros(out_shape, at::kLong);
    const int64_t h = masks.size(-2), w = masks.size(-1);
    const at::Tensor m = masks.ne(0).reshape({-1, h, w});
    // Rows / columns holding a pixel, and their first / last index.
    const at::Tensor rows = m.any(-1);  // [N, H]
    const at::Tensor cols = m.any(-2);  // [N, W]
    const at::Tensor hr = at::arange(h, at::kLong).unsqueeze(0);
    const at::Tensor wr = at::arange(w, at::kLong).unsqueeze(0);
    const at::Tensor bottom = (rows * hr).amax(-1);
    const at::Tensor top = (rows * hr + h * rows.logical_not()).amin(-1);
    const at::Tensor right = (cols * wr).amax(-1);
    const at::Tensor left = (cols * wr + w * cols.logical_not()).amin(-1);
    const at::Tensor empty = (right < left).logical_or(bottom < top);
    at::Tensor out = at::stack({left, top, right, bottom}, -1);
    out = out * empty.logical_not().unsqueeze(-1);
    return out.reshape(out_shape);
  } catch (const c10::Error& e) {
    return Internal("boxes from masks", e);
  }
}

absl::StatusOr<at::Tensor> IsBoxNearCropEdge(const at::Tensor& boxes,
                                             const CropBox& crop_box,
                                             const CropBox& orig_box,
                                             double atol) {
  if (!boxes.defined() || boxes.dim() != 2 || boxes.size(1) != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("boxes must be [N, 4], got ", ShapeOf(boxes)));
  }
  try {
    c10::InferenceMode guard;
    const at::Tensor b = UncropBoxesXyxy(boxes, crop_box).to(at::kFloat);
    const float tol = static_cast<float>(atol);
    const at::Tensor near_crop = (b - CropTensor(crop_box)).abs() <= tol;
    const at::Tensor near_image = (b - CropTensor(orig_box)).abs() <= tol;
    return near_crop.logical_and(near_image.logical_not()).any(1);
  } catch (const c10::Error& e) {
    return Internal("crop edge test", e);
  }
}

at::Tensor UncropBoxesXyxy(const at::Tensor& boxes, const CropBox& crop_box) {
  const at::Tensor offset =
      at::tensor({crop_box.x0, crop_box.y0, crop_box.x0, crop_box.y0}, at::kLong);
  return boxes + offset;
}

at::Tensor UncropPoints(const at::Tensor& points, const CropBox& crop_box) {
  const at::Tensor offset = at::tensor({crop_box.x0, crop_box.y0}, at::kLong);
  return points + offset;
}

absl::StatusOr<at::Tensor> UncropMasks(const at::Tensor& masks,
                                       const CropBox& crop_box, int64_t orig_h,
                                       int64_t orig_w) {
  if (!masks.defined() || masks.dim() < 2 ||
      masks.size(-2) != crop_box.height() || masks.size(-1) != crop_box.width()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "masks ", ShapeOf(masks), " do not match the crop ", crop_box.width(),
        "x", crop_box.height()));
  }
  if (crop_box.x0 < 0 || crop_box.y0 < 0 || crop_box.x1 > orig_w ||
      crop_box.y1 > orig_h) {
    return absl::InvalidArgumentError("the crop lies outside the image");
  }
  if (crop_box == CropBox{0, 0, orig_w, orig_h}) return masks;
  try {
    c10::InferenceMode guard;
    const int64_t pad_x = orig_w - crop_box.width();
    const int64_t pad_y = orig_h - crop_box.height();
    return at::constant_pad_nd(
        masks, {crop_box.x0, pad_x - crop_box.x0, crop_box.y0, pad_y - crop_box.y0},
        0);
  } catch (const c10::Error& e) {
    return Internal("uncropping masks", e);
  }
}

std::array<double, 4> BoxXyxyToXywh(const std::array<double, 4>& b) {
  return {b[0], b[1], b[2] - b[0], b[3] - b[1]};
}

absl::StatusOr<at::Tensor> BatchedNms(const at::Tensor& boxes,
                                      const at::Tensor& scores,
                                      double iou_threshold) {
  if (!boxes.defined() || boxes.dim() != 2 || boxes.size(1) != 4 ||
      !scores.defined() || scores.dim() != 1 ||
      scores.size(0) != boxes.size(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "NMS needs boxes [N, 4] and scores [N]; got ", ShapeOf(boxes), " and ",
        ShapeOf(scores)));
  }
  try {
    c10::InferenceMode guard;
    const int64_t n = boxes.size(0);
    if (n == 0) return at::empty({0}, at::kLong);
    const at::Tensor b = boxes.to(at::kCPU).to(at::kFloat).contiguous();
    const at::Tensor s = scores.to(at::kCPU).to(at::kFloat).contiguous();
    const float* bp = b.data_ptr<float>();
    const float* sp = s.data_ptr<float>();
    std::vector<float> areas(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const float* r = bp + 4 * i;
      areas[static_cast<size_t>(i)] = (r[2] - r[0]) * (r[3] - r[1]);
    }
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t c) {
      return ScoreGreater(sp[a], sp[c]);
    });
    std::vector<uint8_t> suppressed(static_cast<size_t>(n), 0);
    std::vector<int64_t> keep;
    for (int64_t oi = 0; oi < n; ++oi) {
      const int64_t i = order[static_cast<size_t>(oi)];
      if (suppressed[static_cast<size_t>(i)]) continue;
      keep.push_back(i);
      const float* bi = bp + 4 * i;
      const float ia = areas[static_cast<size_t>(i)];
      for (int64_t oj = oi + 1; oj < n; ++oj) {
        const int64_t j = order[static_cast<size_t>(oj)];
        if (suppressed[static_cast<size_t>(j)]) continue;
        const float* bj = bp + 4 * j;
        const float w = std::max(0.0f, std::min(bi[2], bj[2]) - std::max(bi[0], bj[0]));
        const float h = std::max(0.0f, std::min(bi[3], bj[3]) - std::max(bi[1], bj[1]));
        const float inter = w * h;
        const float denom = ia + areas[static_cast<size_t>(j)] - inter;
        const float iou = inter / denom;
        if (static_cast<double>(iou) > iou_threshold) {
          suppressed[static_cast<size_t>(j)] = 1;
        }
      }
    }
    return at::tensor(keep, at::kLong);
  } catch (const c10::Error& e) {
    return Internal("box NMS", e);
  }
}

}  // namespace sam2
