// Pillow-exact bicubic resize of 8-bit images: what `PIL.Image.resize((w, h))`
// computes with its default filter (BICUBIC, Pillow >= 7) on an "RGB" or "L"
// image.
//
// Mirrors the frame preprocessing of the reference (facebookresearch/sam2,
// utils/misc.py `_load_img_as_tensor`: `img_pil.convert("RGB").resize((S, S))`),
// i.e. Pillow's src/libImaging/Resample.c (`precompute_coeffs`,
// `normalize_coeffs_8bpc`, `ImagingResampleHorizontal_8bpc`,
// `ImagingResampleVertical_8bpc`, `ImagingResampleInner`), reimplemented:
//   - separable, two passes; a pass runs only when its dimension changes
//     (same size in both: a copy). Order when both change (see
//     PillowPassOrder): Pillow <= 12 always runs the horizontal pass first;
//     Pillow 13 (python-pillow PR #9549) runs the vertical pass first when
//     out_h < in_h and (in_h - out_h) > 2 * (in_w - out_w), e.g. for portrait
//     frames (1080x1920 WxH -> 1024x1024). The intermediate image is uint8, so
//     the order changes the result (by a few units on many pixels);
//   - per output index i of a pass (input size n, output size m):
//       scale = n / m, filterscale = max(scale, 1), support = 2 * filterscale,
//       center = (i + 0.5) * scale,
//       taps j in [int(center - support + 0.5), int(center + support + 0.5))
//         clipped to [0, n)  (int() truncates toward zero),
//       w_j = cubic((j - center + 0.5) * (1 / filterscale)), a = -0.5,
//       normalised to sum 1 in double, then to 22-bit fixed point
//       (PRECISION_BITS = 32 - 8 - 2) rounded half away from zero;
//   - out = clip8((1 << 21 + sum_j in_j * w_j) >> 22) after EACH pass: the
//     intermediate image is uint8, as in Pillow.
// Reproduces Pillow bit for bit: checked against the golden fixture frames
// (horizontal first either way) and, out of tree, against Pillow 13.0.0 on
// random images up and down in each axis (identical with kPillow13).
//
// Deliberate differences: inputs are validated (INVALID_ARGUMENT instead of
// a Python exception); only the resize without a `box` argument is offered;
// 1-channel ("L") and 3-channel ("RGB") images only (Pillow premultiplies
// alpha for RGBA, which is not reproduced here).
//
// Thread-safety: a free function without shared state; safe to call
// concurrently. Nothing throws: LibTorch errors become INTERNAL statuses.

#ifndef SAM2_MODEL_PILLOW_RESIZE_H_
#define SAM2_MODEL_PILLOW_RESIZE_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace sam2 {

// Pillow's fixed-point precision of the 8-bit resampler's weights.
inline constexpr int kPillowPrecisionBits = 32 - 8 - 2;
// Largest side accepted on input or output. Pillow indexes with `int`; the
// bound keeps every index and coefficient-table size far from overflow.
inline constexpr int64_t kPillowResizeMaxSide = int64_t{1} << 16;

// Which pass runs first when both dimensions change.
enum class PillowPassOrder {
  // Pillow 13.0 and later (the version in the project's reference venv):
  // vertical first when the height shrinks by more than twice as many
  // pixels as the width, else horizontal first.
  kPillow13,
  // Pillow 7 to 12: always horizontal first. The golden fixtures' frames
  // are resized identically by both (both sides grow there).
  kHorizontalFirst,
};
inline constexpr PillowPassOrder kDefaultPillowPassOrder =
    PillowPassOrder::kPillow13;

// True when `order` runs the vertical pass first for this resize.
bool PillowVerticalPassFirst(int64_t in_h, int64_t in_w, int64_t out_h,
                             int64_t out_w, PillowPassOrder order);

// `image` is uint8 [H, W, C] with C = 1 or 3 (any strides, any device),
// H, W >= 1; out_h, out_w in [1, kPillowResizeMaxSide]. Returns a contiguous
// CPU uint8 tensor [out_h, out_w, C] equal to Pillow's
// `Image.resize((out_w, out_h))` (BICUBIC) of the same pixels.
absl::StatusOr<at::Tensor> PillowBicubicResize(
    const at::Tensor& image, int64_t out_h, int64_t out_w,
    PillowPassOrder order = kDefaultPillowPassOrder);

}  // namespace sam2

#endif  // SAM2_MODEL_PILLOW_RESIZE_H_
