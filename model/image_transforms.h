// Image preprocessing of the image predictor: RGB uint8 pixels -> the
// normalized float32 model input [1, 3, S, S], S = Sam2Config::image_size.
//
// Mirrors `SAM2Transforms.__call__` / `forward_batch` (utils/transforms.py)
// of the reference (facebookresearch/sam2), as `SAM2ImagePredictor.set_image`
// / `set_image_batch` (sam2_image_predictor.py) apply them, step by step and
// in the same order:
//   1. ToTensor: HWC uint8 -> CHW float32, divided by 255;
//   2. Resize((S, S)) on a float tensor with torchvision >= 0.17 defaults:
//      bilinear, align_corners=false, antialias=true (ATen's
//      _upsample_bilinear2d_aa); an image already S x S is left as is, as
//      torchvision does;
//   3. Normalize: (x - mean) / std per channel, mean and std as float32.
// The result is float32 on the input's device.
//
// Deliberate differences: inputs are validated (INVALID_ARGUMENT instead of a
// Python exception). The video predictor's frame preprocessing (Pillow's
// bicubic resize on uint8) is not this; see PORTING.md section 12.
//
// Thread-safety: free functions without shared state; safe to call
// concurrently. LibTorch errors become INTERNAL statuses; nothing throws.

#ifndef SAM2_MODEL_IMAGE_TRANSFORMS_H_
#define SAM2_MODEL_IMAGE_TRANSFORMS_H_

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "model/sam2_config.h"

namespace sam2 {

// SAM2Transforms: ImageNet statistics, RGB order.
inline constexpr std::array<double, 3> kImagePixelMean = {0.485, 0.456, 0.406};
inline constexpr std::array<double, 3> kImagePixelStd = {0.229, 0.224, 0.225};
// ToTensor's scale of uint8 pixels to [0, 1].
inline constexpr double kPixelValueScale = 255.0;
// Channels of the model input.
inline constexpr int64_t kImageChannels = 3;

// One image: `rgb` is uint8 [H, W, 3] (any strides, any device), H, W >= 1;
// `image_size` the model's input side S. Returns float32 [1, 3, S, S].
absl::StatusOr<at::Tensor> PreprocessImage(const at::Tensor& rgb,
                                           int64_t image_size);
// As above with S = config.image_size.
absl::StatusOr<at::Tensor> PreprocessImage(const at::Tensor& rgb,
                                           const Sam2Config& config);

// forward_batch: each image (sizes may differ) preprocessed on its own, then
// stacked: float32 [B, 3, S, S]. At least one image; all on one device.
absl::StatusOr<at::Tensor> PreprocessImageBatch(
    const std::vector<at::Tensor>& rgb_images, int64_t image_size);
absl::StatusOr<at::Tensor> PreprocessImageBatch(
    const std::vector<at::Tensor>& rgb_images, const Sam2Config& config);

}  // namespace sam2

#endif  // SAM2_MODEL_IMAGE_TRANSFORMS_H_
