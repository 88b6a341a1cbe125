// Mask post-processing: connected components, the image predictor's hole /
// sprinkle removal with resizing to the original image, and the video
// predictor's hole filling.
//
// Mirrors, in the reference (facebookresearch/sam2):
//   - `get_connected_components` (utils/misc.py; the CUDA kernel in
//     csrc/connected_components.cu): 8-connected components of a binary
//     [N, 1, H, W] mask; per pixel, a component label (> 0 on foreground, 0
//     on background) and the component's area (0 on background). Labels are
//     arbitrary ids in both implementations (here: OpenCV's, 1..K per image
//     in raster order of first pixel); the areas are what callers use.
//   - `SAM2Transforms.postprocess_masks` (utils/transforms.py): on logits
//     [B, C, h, w] as float32, holes (8-connected components of
//     logits <= threshold with area <= max_hole_area) become threshold + 10;
//     sprinkles (components of logits > threshold with area <=
//     max_sprinkle_area, found on the logits BEFORE hole filling) become
//     threshold - 10; then bilinear resizing (align_corners=false, no
//     antialiasing) to orig_h x orig_w. A non-positive area disables its
//     step.
//   - `fill_hole_area` handling of the video predictor,
//     `fill_holes_in_mask_scores` (utils/misc.py): components of mask <= 0
//     with area <= max_area (components touching the border included) get
//     the score 0.1.
// Components of CPU tensors are computed with OpenCV
// (cv::connectedComponentsWithStats, 8-connectivity); of tensors on another
// device (a GPU) there, with tensor operations (model/connected_components.h),
// without a copy to the host. Both give the same components and areas.
//
// Deliberate differences: the reference skips the filling with a warning
// when its CUDA extension is missing; here it always runs. Bad inputs are
// INVALID_ARGUMENT statuses rather than assertions.
//
// Thread-safety: free functions without shared state; safe to call
// concurrently. LibTorch / OpenCV exceptions become statuses.

#ifndef SAM2_MODEL_MASK_POSTPROCESS_H_
#define SAM2_MODEL_MASK_POSTPROCESS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "model/connected_components.h"

namespace sam2 {

// Pixel connectivity of every component computation (the reference's kernel).
inline constexpr int kMaskComponentConnectivity = 8;
// postprocess_masks: filled holes get threshold + this, removed sprinkles
// threshold - this.
inline constexpr double kHoleSprinkleScoreOffset = 10.0;
// fill_holes_in_mask_scores: the score of a filled hole.
inline constexpr double kFilledHoleScore = 0.1;
// Largest mask side accepted (input or output); the image limit of DESIGN.md.
inline constexpr int64_t kMaxMaskSide = 8192;

// `mask`: bool or uint8 [N, 1, H, W] (nonzero = foreground), any device;
// results on the same device.
absl::StatusOr<ConnectedComponents> GetConnectedComponents(
    const at::Tensor& mask);

// `low_res_logits`: floating [B, C, h, w]. Returns float32
// [B, C, orig_h, orig_w] logits.
absl::StatusOr<at::Tensor> PostprocessMasks(const at::Tensor& low_res_logits,
                                            int64_t orig_h, int64_t orig_w,
                                            double max_hole_area,
                                            double max_sprinkle_area,
                                            double mask_threshold = 0.0);

// `mask`: floating [N, 1, H, W] scores; max_area > 0. Same dtype, shape and
// device as `mask`, small background components set to kFilledHoleScore.
absl::StatusOr<at::Tensor> FillHolesInMaskScores(const at::Tensor& mask,
                                                 double max_area);

}  // namespace sam2

#endif  // SAM2_MODEL_MASK_POSTPROCESS_H_
