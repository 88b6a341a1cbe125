// Mask images for the `sam2` command-line tool: binary masks written as
// 8-bit PNG files, and overlays that tint masks onto an image in per-object
// colours with their outlines and the prompts drawn on top. Shared by
// `sam2 segment` and `sam2 track`.
//
// Thread-safety: stateless functions; safe from any thread (each call works
// on its own arguments). No OpenCV or LibTorch exception escapes: failures
// are statuses.

#ifndef SAM2_CLIENT_MASK_IMAGES_H_
#define SAM2_CLIENT_MASK_IMAGES_H_

#include <ATen/core/Tensor.h>

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sam2 {

// Opacity of the mask tint in overlays (0 = invisible, 1 = opaque).
inline constexpr double kOverlayTintAlpha = 0.55;

// Mask [H, W] (bool, or any dtype where nonzero means inside) -> 8-bit
// single-channel PNG with 0 outside and 255 inside.
absl::Status WriteMaskPng(const at::Tensor& mask, const std::string& path);

// The BGR colour of object number `index` (0, 1, 2...): a fixed palette of
// distinct colours, repeating after kObjectPaletteSize entries.
inline constexpr int kObjectPaletteSize = 10;
cv::Scalar ObjectColor(int index);

// Tints the pixels of `mask` ([H, W], nonzero inside; the size of `bgr`) in
// `colour` and outlines them in white, in place. INVALID_ARGUMENT when the
// sizes differ or `bgr` is not 8-bit 3-channel.
absl::Status TintMask(cv::Mat& bgr, const at::Tensor& mask,
                      const cv::Scalar& colour);

// A prompt to draw: a point (x, y, label; label 1 positive, 0 negative) or,
// when `is_box`, a box (x, y) - (x1, y1).
struct DrawnPrompt {
  bool is_box = false;
  double x = 0, y = 0, x1 = 0, y1 = 0;
  int label = 1;
};

// Draws points as filled discs (green positive, red negative) and boxes as
// rectangles, in place.
void DrawPrompts(cv::Mat& bgr, const std::vector<DrawnPrompt>& prompts);

// RGB uint8 [H, W, 3] tensor -> a BGR cv::Mat that owns its pixels.
absl::StatusOr<cv::Mat> RgbTensorToBgr(const at::Tensor& rgb_u8_hwc);

// cv::imwrite with errors (and OpenCV exceptions) as statuses.
absl::Status WriteImage(const cv::Mat& image, const std::string& path);

}  // namespace sam2

#endif  // SAM2_CLIENT_MASK_IMAGES_H_
