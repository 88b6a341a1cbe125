// Building blocks of the automatic mask generator: point grids, crop boxes,
// the stability score, boxes from masks, crop-edge filtering, uncropping and
// box non-maximum suppression.
//
// Mirrors, in the reference (facebookresearch/sam2, sam2/utils/amg.py):
// build_point_grid, build_all_layer_point_grids, generate_crop_boxes,
// calculate_stability_score, batched_mask_to_box, is_box_near_crop_edge,
// uncrop_boxes_xyxy, uncrop_points, uncrop_masks, box_xyxy_to_xywh; and
// torchvision's batched_nms with a single category (what the generator
// calls): boxes visited by descending score (ties in index order, the CPU
// sort being stable), areas (x2 - x1) * (y2 - y1) and IoU computed in the
// boxes' float32, a box dropped when its IoU with a kept box is greater than
// the threshold; the result lists kept indices by descending score.
// The run-length encoding lives in rle.h (shared with the service).
//
// Deliberate differences: MaskData and batch_iterator have no counterpart
// (the generator keeps plain tensors); remove_small_regions is not ported
// because the generator never calls it (min_mask_region_area only reaches
// the image predictor's hole / sprinkle filling, see PORTING.md section 14).
// Bad arguments are INVALID_ARGUMENT statuses rather than assertions.
//
// Thread-safety: free functions without shared state.

#ifndef SAM2_MODEL_AMG_UTILS_H_
#define SAM2_MODEL_AMG_UTILS_H_

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace sam2 {

// is_box_near_crop_edge's default tolerance in pixels.
inline constexpr double kCropEdgeTolerance = 20.0;
// Largest points per side of a grid (a 1024 x 1024 grid is already 1M
// prompts).
inline constexpr int64_t kMaxPointsPerSide = 1024;
// Most crop layers: layer i has 4^i crops, so 6 layers are 5461 crops.
inline constexpr int64_t kMaxCropLayers = 6;

// A crop in pixel coordinates: x0, y0 inclusive, x1, y1 exclusive.
struct CropBox {
  int64_t x0 = 0;
  int64_t y0 = 0;
  int64_t x1 = 0;
  int64_t y1 = 0;
  int64_t width() const { return x1 - x0; }
  int64_t height() const { return y1 - y0; }
  bool operator==(const CropBox& o) const {
    return x0 == o.x0 && y0 == o.y0 && x1 == o.x1 && y1 == o.y1;
  }
};

// build_point_grid: float64 [n*n, 2] (x, y) points spaced evenly in
// [0,1]^2 at (i + 0.5) / n, rows (y) outer, x inner.
absl::StatusOr<at::Tensor> BuildPointGrid(int64_t n_per_side);

// build_all_layer_point_grids: layer i has int(n / scale^i) points per side.
absl::StatusOr<std::vector<at::Tensor>> BuildAllLayerPointGrids(
    int64_t n_per_side, int64_t n_layers, int64_t scale_per_layer);

struct CropBoxes {
  std::vector<CropBox> boxes;
  std::vector<int64_t> layer_idxs;
};

// generate_crop_boxes: the whole image first (layer 0), then for each layer
// i >= 1, (2^i)^2 overlapping crops, x outer and y inner.
absl::StatusOr<CropBoxes> GenerateCropBoxes(int64_t im_h, int64_t im_w,
                                            int64_t n_layers,
                                            double overlap_ratio);

// calculate_stability_score: for logits [..., H, W], the float32 ratio
// #(x > thr + offset) / #(x > thr - offset) over the last two dimensions
// (NaN when the denominator is 0, as in the reference).
absl::StatusOr<at::Tensor> CalculateStabilityScore(const at::Tensor& masks,
                                                   double mask_threshold,
                                                   double threshold_offset);

// batched_mask_to_box: bool [..., H, W] -> int64 [..., 4] inclusive
// (x0, y0, x1, y1) pixel extents; [0, 0, 0, 0] for an empty mask.
absl::StatusOr<at::Tensor> BatchedMaskToBox(const at::Tensor& masks);

// is_box_near_crop_edge: boxes [N, 4] in crop coordinates; true where a
// side (after uncropping) is within `atol` of the crop's side but not of
// the image's (orig_box).
absl::StatusOr<at::Tensor> IsBoxNearCropEdge(const at::Tensor& boxes,
                                             const CropBox& crop_box,
                                             const CropBox& orig_box,
                                             double atol = kCropEdgeTolerance);

// uncrop_boxes_xyxy / uncrop_points: add the crop's origin. Boxes [..., 4],
// points [..., 2]; the result keeps torch's type promotion with an int64
// offset (float stays float).
at::Tensor UncropBoxesXyxy(const at::Tensor& boxes, const CropBox& crop_box);
at::Tensor UncropPoints(const at::Tensor& points, const CropBox& crop_box);

// uncrop_masks: zero-pads [..., h, w] crop masks to orig_h x orig_w.
absl::StatusOr<at::Tensor> UncropMasks(const at::Tensor& masks,
                                       const CropBox& crop_box, int64_t orig_h,
                                       int64_t orig_w);

// box_xyxy_to_xywh on one box.
std::array<double, 4> BoxXyxyToXywh(const std::array<double, 4>& xyxy);

// torchvision batched_nms with all boxes in one category: boxes float
// [N, 4] (x0, y0, x1, y1), scores [N] (converted to the boxes' dtype).
// Returns int64 kept indices, by descending score.
absl::StatusOr<at::Tensor> BatchedNms(const at::Tensor& boxes,
                                      const at::Tensor& scores,
                                      double iou_threshold);

}  // namespace sam2

#endif  // SAM2_MODEL_AMG_UTILS_H_
