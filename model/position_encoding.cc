// PositionEmbeddingSine / get_1d_sine_pe; see position_encoding.h.
// Reference: sam2/modeling/position_encoding.py, sam2/modeling/sam2_utils.py.

#include "model/position_encoding.h"
#include "model/torch_error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

// temperature ^ (2 * floor(i / 2) / half) for i in [0, half), float32, with
// a scalar base as the reference computes it.
at::Tensor DimT(int64_t half, double temperature, c10::Device device) {
  at::Tensor i =
      at::arange(half, at::TensorOptions().dtype(at::kFloat).device(device));
  at::Tensor exponent = at::floor_divide(i, 2).mul(2).div(half);
  return at::pow(temperature, exponent);
}

// Interleaves sin of the even channels and cos of the odd channels of `p`
// [..., F] (the reference's stack((sin p[..., 0::2], cos p[..., 1::2]), -1)
// .flatten(-2)).
at::Tensor InterleaveSinCos(const at::Tensor& p) {
  const int64_t last = p.dim() - 1;
  at::Tensor s = p.slice(last, 0, c10::nullopt, 2).sin();
  at::Tensor c = p.slice(last, 1, c10::nullopt, 2).cos();
  return at::stack({s, c}, last + 1).flatten(last);
}

}  // namespace

absl::StatusOr<PositionEmbeddingSine> PositionEmbeddingSine::Create(
    const PositionEmbeddingSineConfig& config) {
  if (config.num_pos_feats <= 0 || config.num_pos_feats % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("PositionEmbeddingSine: num_pos_feats must be a positive "
                     "even number, got ",
                     config.num_pos_feats));
  }
  if (config.scale.has_value() && !config.normalize) {
    return absl::InvalidArgumentError(
        "PositionEmbeddingSine: a scale needs normalize=true");
  }
  return PositionEmbeddingSine(config.num_pos_feats / 2, config.temperature,
                               config.normalize,
                               config.scale.value_or(2 * M_PI));
}

at::Tensor PositionEmbeddingSine::Compute(int64_t height, int64_t width,
                                          c10::Device device) const {
  const at::TensorOptions f32 =
      at::TensorOptions().dtype(at::kFloat).device(device);
  // [1, H, W] row / column indices counted from 1.
  at::Tensor y =
      at::arange(1, height + 1, f32).view({1, -1, 1}).repeat({1, 1, width});
  at::Tensor x =
      at::arange(1, width + 1, f32).view({1, 1, -1}).repeat({1, height, 1});
  if (normalize_) {
    constexpr double kEps = 1e-6;
    y = y.div(y.slice(1, height - 1, height).add(kEps)).mul(scale_);
    x = x.div(x.slice(2, width - 1, width).add(kEps)).mul(scale_);
  }
  const at::Tensor dim_t = DimT(half_, temperature_, device);
  at::Tensor pos_x = InterleaveSinCos(x.unsqueeze(-1).div(dim_t));
  at::Tensor pos_y = InterleaveSinCos(y.unsqueeze(-1).div(dim_t));
  return at::cat({pos_y, pos_x}, 3).permute({0, 3, 1, 2}).contiguous();
}

at::Tensor PositionEmbeddingSine::Encode(int64_t batch, int64_t height,
                                         int64_t width, c10::Device device,
                                         at::ScalarType dtype) const {
  const at::Tensor pos = cache_.Get(
      {height, width, static_cast<int>(device.type()), device.index(),
       static_cast<int>(dtype)},
      [&] { return Compute(height, width, device).to(dtype); });
  return batch == 1 ? pos : pos.expand({batch, -1, -1, -1});
}

absl::StatusOr<at::Tensor> PositionEmbeddingSine::Forward(
    const at::Tensor& x) const {
  if (!x.defined() || x.dim() != 4) {
    return absl::InvalidArgumentError(
        "PositionEmbeddingSine: expected a [B, C, H, W] tensor");
  }
  try {
    c10::InferenceMode guard;
    return Encode(x.size(0), x.size(2), x.size(3), x.device());
  } catch (const c10::Error& e) {
    return TorchError("PositionEmbeddingSine: ", e);
  }
}

absl::StatusOr<at::Tensor> Get1dSinePe(const at::Tensor& pos_inds, int64_t dim,
                                       double temperature) {
  if (dim <= 0 || dim % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("get_1d_sine_pe: dim must be positive and even, got ",
                     dim));
  }
  if (!pos_inds.defined()) {
    return absl::InvalidArgumentError("get_1d_sine_pe: undefined positions");
  }
  try {
    c10::InferenceMode guard;
    const at::Tensor dim_t = DimT(dim / 2, temperature, pos_inds.device());
    at::Tensor p = pos_inds.unsqueeze(-1).div(dim_t);
    return at::cat({p.sin(), p.cos()}, -1);
  } catch (const c10::Error& e) {
    return TorchError("get_1d_sine_pe: ", e);
  }
}

}  // namespace sam2
