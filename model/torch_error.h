// TorchError: how a LibTorch exception becomes an absl::Status at the model/
// boundary (DESIGN.md: exceptions stop there).
//
// An allocation the device could not satisfy (c10::OutOfMemoryError: CUDA's
// caching allocator, or a CPU allocation LibTorch reports the same way) is
// RESOURCE_EXHAUSTED: the request was too large for the memory free at that
// moment, the model and the session are unharmed (LibTorch frees the
// partial results as the exception unwinds), and the caller may retry
// later or with less. Anything else LibTorch throws is a bug of ours or of
// the library: INTERNAL. Both carry `context` and LibTorch's message
// without its C++ backtrace.
//
// Thread-safety: stateless.

#ifndef SAM2_MODEL_TORCH_ERROR_H_
#define SAM2_MODEL_TORCH_ERROR_H_

#include <c10/util/Exception.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sam2 {

// `context` is a prefix such as "Hiera: " (kept verbatim).
absl::Status TorchError(absl::string_view context, const c10::Error& error);

}  // namespace sam2

#endif  // SAM2_MODEL_TORCH_ERROR_H_
