#include "model/tensor_checks.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sam2 {

std::string ShapeOf(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  return absl::StrCat("[", absl::StrJoin(t.sizes(), ","), "]");
}

absl::Status CheckRgbImage(const at::Tensor& rgb, absl::string_view what) {
  if (!rgb.defined() || rgb.dim() != 3 || rgb.size(2) != 3 || rgb.size(0) < 1 ||
      rgb.size(1) < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must be an RGB image [H, W, 3] with H, W >= 1, got ",
        ShapeOf(rgb)));
  }
  if (rgb.scalar_type() != at::kByte) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must be uint8, got ", c10::toString(rgb.scalar_type())));
  }
  return absl::OkStatus();
}

}  // namespace sam2
