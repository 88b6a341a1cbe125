// Mask encodings of the service: masks leave the server as COCO RLE (the
// default), PNG or raw float32 logits, and arrive from clients (mask
// prompts) as RLE, PNG or logits. Conversions between those wire forms and
// tensors live here so the session layer hands the transport plain bytes
// and the transport never touches a tensor.
//
// Binary masks follow the reference's threshold: logits > 0 are inside.
// PNG masks written here are 8-bit grayscale, 255 inside; PNG masks read
// here may be any PNG that image_io decodes (nonzero first channel = inside).
//
// Thread-safety: free functions without shared state.

#ifndef SAM2_SESSION_MASK_ENCODING_H_
#define SAM2_SESSION_MASK_ENCODING_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace sam2 {

enum class MaskEncoding { kRle, kPng, kLogits };

// A mask in one wire form. `data` holds the COCO counts string (kRle), the
// PNG file (kPng) or height*width little-endian float32 values (kLogits).
struct EncodedMask {
  int64_t height = 0;
  int64_t width = 0;
  MaskEncoding encoding = MaskEncoding::kRle;
  std::string data;
};

// `logits` [H, W] (any float dtype, any leading singleton dims squeezed).
// kRle / kPng encode logits > 0; kLogits copies the values as float32.
absl::StatusOr<EncodedMask> EncodeMask(const at::Tensor& logits,
                                       MaskEncoding encoding);

// A client's binary mask (kRle or kPng) as bool [height, width].
// INVALID_ARGUMENT when it is malformed, kLogits, or of another size.
absl::StatusOr<at::Tensor> DecodeBinaryMask(const EncodedMask& mask,
                                            int64_t height, int64_t width);

// A client's logits (kLogits) as float32 [height, width]. INVALID_ARGUMENT
// when the byte count does not match, a value is not finite, or the size
// differs.
absl::StatusOr<at::Tensor> DecodeLogits(const EncodedMask& mask,
                                        int64_t height, int64_t width);

}  // namespace sam2

#endif  // SAM2_SESSION_MASK_ENCODING_H_
