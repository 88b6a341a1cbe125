// AutomaticMaskGeneratorOptions: the automatic mask generator's options
// (SAM2AutomaticMaskGenerator's constructor arguments, same defaults) and
// their validation, apart from the generator itself so that code which only
// reads and checks options (the service's request conversion, its fuzz
// test) does not depend on the model.
//
// Thread-safety: plain values; ValidateAmgOptions is a free function
// without shared state.

#ifndef SAM2_MODEL_AMG_OPTIONS_H_
#define SAM2_MODEL_AMG_OPTIONS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"

namespace sam2 {

// Most prompts decoded at once (memory grows with it: each prompt yields
// up to 3 full-resolution float logit maps).
inline constexpr int64_t kMaxPointsPerBatch = 1024;

enum class AmgOutputMode {
  kBinaryMask,  // MaskRecord::segmentation holds a bool [H, W] mask
  kCocoRle,     // MaskRecord::coco_counts holds the compressed counts
};

// The reference's constructor arguments, same defaults.
struct AutomaticMaskGeneratorOptions {
  // Exactly one of points_per_side and point_grids must be given.
  std::optional<int64_t> points_per_side = 32;
  // One float [N, 2] (x, y) grid in [0, 1] per crop layer
  // (crop_n_layers + 1 of them).
  std::vector<at::Tensor> point_grids;
  int64_t points_per_batch = 64;
  double pred_iou_thresh = 0.8;
  double stability_score_thresh = 0.95;
  double stability_score_offset = 1.0;
  double mask_threshold = 0.0;
  double box_nms_thresh = 0.7;
  int64_t crop_n_layers = 0;
  double crop_nms_thresh = 0.7;
  double crop_overlap_ratio = 512.0 / 1500.0;
  int64_t crop_n_points_downscale_factor = 1;
  int64_t min_mask_region_area = 0;
  AmgOutputMode output_mode = AmgOutputMode::kBinaryMask;
  bool use_m2m = false;
  bool multimask_output = true;
};

// OK, or INVALID_ARGUMENT naming the first bad option.
absl::Status ValidateAmgOptions(const AutomaticMaskGeneratorOptions& options);

}  // namespace sam2

#endif  // SAM2_MODEL_AMG_OPTIONS_H_
