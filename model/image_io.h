// Image decoding: JPEG / PNG bytes -> 8-bit RGB pixels, with the service's
// size limits enforced before any pixel is decoded.
//
// Mirrors what the reference (facebookresearch/sam2) expects as the input of
// `SAM2ImagePredictor.set_image` (sam2_image_predictor.py): an RGB uint8
// [H, W, 3] array, as `np.array(PIL.Image.open(path).convert("RGB"))` gives
// it. Decoding itself is OpenCV's (libjpeg / libpng), not Pillow's: the
// pixels of a lossless PNG are identical, those of a JPEG may differ by the
// decoders' IDCT rounding.
//
// Checks, in order, each failing with INVALID_ARGUMENT and a message that
// names the problem:
//   1. empty input, or more than ImageDecodeOptions::max_encoded_bytes;
//   2. the format, by magic bytes: JPEG (FF D8 FF) or PNG (89 'PNG' 0D 0A 1A
//      0A); anything else is "unsupported image format";
//   3. the size, read from the header without decoding (PNG: the IHDR chunk;
//      JPEG: the first SOFn frame header): each side within
//      [min_side, max_side] and width * height <= max_pixels. A header that
//      cannot be parsed is rejected;
//   4. the decode itself (truncated or corrupt data).
// Grayscale, palette, 16-bit and alpha PNGs (and CMYK JPEGs) all become
// 8-bit RGB; alpha is dropped, as PIL's convert("RGB") drops it; 16-bit
// samples keep their high byte (libpng's reduction). An EXIF orientation tag
// (JPEG APP1 Exif or PNG eXIf; OpenCV 4.6's IMREAD_COLOR applies both) is
// applied, so width/height are those of the image as displayed.
//
// Deliberate differences from the reference's PIL loading: the EXIF
// orientation is applied (PIL's open + convert("RGB") ignores it, so a
// rotated photo would be segmented sideways); a JPEG must contain an
// end-of-image marker after its first scan (libjpeg fills a truncated scan
// with gray and only warns; PIL refuses truncated files by default); the
// size limits above (the reference has none). Pillow may convert 16-bit
// grayscale PNGs by clipping instead of taking the high byte.
//
// Thread-safety: free functions without shared state; safe to call
// concurrently. OpenCV exceptions are caught; nothing throws.

#ifndef SAM2_MODEL_IMAGE_IO_H_
#define SAM2_MODEL_IMAGE_IO_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sam2 {

// DESIGN.md limits (defaults; a server may configure others).
inline constexpr int kDefaultMinImageSide = 8;
inline constexpr int kDefaultMaxImageSide = 8192;
inline constexpr int64_t kDefaultMaxImagePixels = 40'000'000;  // 40 Mpx
// Messages are at most 32 MiB, so no encoded image is larger.
inline constexpr int64_t kDefaultMaxEncodedImageBytes = int64_t{32} << 20;

struct ImageDecodeOptions {
  int min_side = kDefaultMinImageSide;
  int max_side = kDefaultMaxImageSide;
  int64_t max_pixels = kDefaultMaxImagePixels;
  int64_t max_encoded_bytes = kDefaultMaxEncodedImageBytes;
};

enum class ImageFormat { kJpeg, kPng };
// "JPEG" or "PNG".
const char* ImageFormatName(ImageFormat format);

// A decoded image: contiguous CPU uint8 pixels [height, width, 3], RGB.
struct RgbImage {
  at::Tensor pixels;
  int64_t height = 0;
  int64_t width = 0;
};

// What the header says, before decoding: the coded width/height (before any
// EXIF rotation).
struct ImageHeaderInfo {
  ImageFormat format = ImageFormat::kPng;
  int64_t width = 0;
  int64_t height = 0;
};

// Steps 1-3 above: format and size from the header, limits enforced.
absl::StatusOr<ImageHeaderInfo> InspectImage(
    absl::string_view bytes, const ImageDecodeOptions& options = {});

// Decodes JPEG or PNG bytes into RGB. INVALID_ARGUMENT for every problem
// with the bytes (see above); INTERNAL for an unexpected library failure.
absl::StatusOr<RgbImage> DecodeImage(absl::string_view bytes,
                                     const ImageDecodeOptions& options = {});

// Reads the file at `path` and decodes it. NOT_FOUND when it does not exist,
// another code when it cannot be read, INVALID_ARGUMENT when it is larger
// than options.max_encoded_bytes or not a valid image.
absl::StatusOr<RgbImage> DecodeImageFile(
    const std::string& path, const ImageDecodeOptions& options = {});

}  // namespace sam2

#endif  // SAM2_MODEL_IMAGE_IO_H_
