// Prompt preparation of the image predictor (mask post-processing is in
// mask_postprocess.h).
//
// Mirrors, in the reference (facebookresearch/sam2):
//   - `SAM2Transforms.transform_coords` / `transform_boxes`
//     (utils/transforms.py);
//   - `SAM2ImagePredictor._prep_prompts` and the prompt-merging part of
//     `SAM2ImagePredictor._predict` (sam2_image_predictor.py): boxes become
//     two corner points with labels 2 (top-left) and 3 (bottom-right) placed
//     BEFORE the clicks; a batch of more than one prompt set means the one
//     image embedding is repeated (`repeat_image`);
//   - the low-resolution logits the predictor returns are clamped to +-32.
// Coordinates: with normalize_coords, x / W and y / H of the original image,
// then x S (S = the model's image_size); without, the inputs are already in
// [0, 1] and are only multiplied by S.
//
// Deliberate differences: inputs are validated and rejected with
// INVALID_ARGUMENT (the reference asserts, fails inside torch, or silently
// uses them): non-finite coordinates, points or box corners off the image,
// boxes with x0 > x1 or y0 > y1, labels outside -1..3, mismatched shapes or
// batch sizes, and a prompt with no points, no box and no mask.
//
// Thread-safety: free functions without shared state.

#ifndef SAM2_MODEL_PROMPT_TRANSFORMS_H_
#define SAM2_MODEL_PROMPT_TRANSFORMS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace sam2 {

// SAM2ImagePredictor: low-resolution logits are returned clamped to this.
inline constexpr double kLowResLogitsClamp = 32.0;
// Label values the prompt encoder gives a meaning to (-1 = padding).
inline constexpr int kMinPointLabel = -1;
inline constexpr int kMaxPointLabel = 3;
inline constexpr int kBoxTopLeftLabel = 2;
inline constexpr int kBoxBottomRightLabel = 3;

// transform_coords: [..., 2] (x, y) -> model-input pixels, float32.
// INVALID_ARGUMENT for a bad shape, size or non-finite value.
absl::StatusOr<at::Tensor> TransformCoords(const at::Tensor& coords,
                                           bool normalize, int64_t orig_h,
                                           int64_t orig_w, int64_t resolution);

// transform_boxes: [4] or [B, 4] (x0, y0, x1, y1) -> [B, 2, 2].
absl::StatusOr<at::Tensor> TransformBoxes(const at::Tensor& boxes,
                                          bool normalize, int64_t orig_h,
                                          int64_t orig_w, int64_t resolution);

// What SAM2ImagePredictor.predict receives (any may be undefined).
struct ImagePromptInput {
  at::Tensor point_coords;  // [N, 2] or [B, N, 2]
  at::Tensor point_labels;  // [N] or [B, N]
  at::Tensor box;           // [4] or [B, 4]
  at::Tensor mask_input;    // [1, M, M] or [B, 1, M, M] low-res logits
  bool normalize_coords = true;
};

// What the prompt encoder receives.
struct PreparedPrompts {
  at::Tensor point_coords;  // [B, K, 2] float32, box corners first; or none
  at::Tensor point_labels;  // [B, K] int32; or none
  at::Tensor mask_input;    // [B, 1, M, M] float32; or none
  // More than one prompt set: the image embedding is repeated per set.
  bool repeat_image = false;
};

// _prep_prompts + the box/point merge of _predict. orig_h x orig_w is the
// original image's size, image_size the model's input side.
absl::StatusOr<PreparedPrompts> PreparePrompts(const ImagePromptInput& input,
                                               int64_t orig_h, int64_t orig_w,
                                               int64_t image_size);

// The predictor's returned low-resolution logits: clamp to +-32.
absl::StatusOr<at::Tensor> ClampLowResLogits(const at::Tensor& low_res);

}  // namespace sam2

#endif  // SAM2_MODEL_PROMPT_TRANSFORMS_H_
