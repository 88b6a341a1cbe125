// Image predictor preprocessing; mirrors SAM2Transforms (utils/transforms.py)
// of the reference. See the header.

#include "model/image_transforms.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

absl::Status CheckSize(int64_t image_size) {
  if (image_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("model image size must be positive, got ", image_size));
  }
  return absl::OkStatus();
}

// Steps 1-3 on a validated image; may throw c10::Error.
at::Tensor PreprocessUnchecked(const at::Tensor& rgb, int64_t image_size) {
  // ToTensor: HWC -> CHW (contiguous), uint8 -> float32, / 255.
  at::Tensor x = rgb.permute({2, 0, 1})
                     .contiguous()
                     .to(at::kFloat)
                     .div(kPixelValueScale)
                     .unsqueeze(0);
  // Resize((S, S)): torchvision returns the image itself when it already has
  // the requested size.
  if (x.size(2) != image_size || x.size(3) != image_size) {
    x = at::_upsample_bilinear2d_aa(x, {image_size, image_size},
                                    /*align_corners=*/false, std::nullopt,
                                    std::nullopt);
  }
  // Normalize: statistics as float32 tensors, subtract then divide.
  const at::TensorOptions opts = x.options();
  const at::Tensor mean =
      at::tensor(at::ArrayRef<double>(kImagePixelMean.data(),
                                      kImagePixelMean.size()),
                 opts.dtype(at::kDouble))
          .to(at::kFloat)
          .view({1, kImageChannels, 1, 1});
  const at::Tensor std =
      at::tensor(at::ArrayRef<double>(kImagePixelStd.data(),
                                      kImagePixelStd.size()),
                 opts.dtype(at::kDouble))
          .to(at::kFloat)
          .view({1, kImageChannels, 1, 1});
  return x.sub(mean).div(std);
}

}  // namespace

absl::StatusOr<at::Tensor> PreprocessImage(const at::Tensor& rgb,
                                           int64_t image_size) {
  if (absl::Status s = CheckSize(image_size); !s.ok()) return s;
  if (absl::Status s = CheckRgbImage(rgb, "image"); !s.ok()) return s;
  try {
    c10::InferenceMode guard;
    return PreprocessUnchecked(rgb, image_size);
  } catch (const c10::Error& e) {
    return TorchError("preprocessing the image: ", e);
  }
}

absl::StatusOr<at::Tensor> PreprocessImage(const at::Tensor& rgb,
                                           const Sam2Config& config) {
  return PreprocessImage(rgb, config.image_size);
}

absl::StatusOr<at::Tensor> PreprocessImageBatch(
    const std::vector<at::Tensor>& rgb_images, int64_t image_size) {
  if (absl::Status s = CheckSize(image_size); !s.ok()) return s;
  if (rgb_images.empty()) {
    return absl::InvalidArgumentError("the image batch is empty");
  }
  for (size_t i = 0; i < rgb_images.size(); ++i) {
    if (absl::Status s = CheckRgbImage(rgb_images[i], absl::StrCat("image ", i));
        !s.ok()) {
      return s;
    }
    if (rgb_images[i].device() != rgb_images[0].device()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "image ", i, " is on ", rgb_images[i].device().str(),
          ", image 0 on ", rgb_images[0].device().str()));
    }
  }
  try {
    c10::InferenceMode guard;
    std::vector<at::Tensor> inputs;
    inputs.reserve(rgb_images.size());
    for (const at::Tensor& rgb : rgb_images) {
      inputs.push_back(PreprocessUnchecked(rgb, image_size));
    }
    return at::cat(inputs, 0);
  } catch (const c10::Error& e) {
    return TorchError("preprocessing the image batch: ", e);
  }
}

absl::StatusOr<at::Tensor> PreprocessImageBatch(
    const std::vector<at::Tensor>& rgb_images, const Sam2Config& config) {
  return PreprocessImageBatch(rgb_images, config.image_size);
}

}  // namespace sam2
