#include "model/torch_error.h"

#include "absl/strings/str_cat.h"

namespace sam2 {

absl::Status TorchError(absl::string_view context, const c10::Error& error) {
  if (dynamic_cast<const c10::OutOfMemoryError*>(&error) != nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat(context, "out of device memory: ",
                     error.what_without_backtrace()));
  }
  return absl::InternalError(
      absl::StrCat(context, error.what_without_backtrace()));
}

}  // namespace sam2
