// Small helpers every model/ entry point uses to describe and check the
// tensors a caller handed in, so error messages read the same everywhere.
// Stateless and thread-safe.

#ifndef SAM2_MODEL_TENSOR_CHECKS_H_
#define SAM2_MODEL_TENSOR_CHECKS_H_

#include <ATen/core/Tensor.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sam2 {

// "[2,3,4]", or "undefined".
std::string ShapeOf(const at::Tensor& t);

// OK when `rgb` is a uint8 RGB image [H, W, 3] with H, W >= 1; otherwise
// INVALID_ARGUMENT naming `what` and what was wrong.
absl::Status CheckRgbImage(const at::Tensor& rgb, absl::string_view what);

}  // namespace sam2

#endif  // SAM2_MODEL_TENSOR_CHECKS_H_
