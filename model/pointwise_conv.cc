#include "model/pointwise_conv.h"

#include <ATen/ATen.h>

namespace sam2 {

at::Tensor PointwiseConv2d(const at::Tensor& x, const at::Tensor& weight,
                           const at::Tensor& bias) {
  const bool channels_last = x.dim() == 4 && !x.is_contiguous() &&
                             x.is_contiguous(at::MemoryFormat::ChannelsLast);
  if (!channels_last || weight.dim() != 4 || weight.size(2) != 1 ||
      weight.size(3) != 1) {
    return at::conv2d(x, weight, bias);
  }
  // [B, H, W, Cin] (contiguous) x [Cout, Cin] -> [B, H, W, Cout].
  return at::linear(x.permute({0, 2, 3, 1}), weight.flatten(1), bias)
      .permute({0, 3, 1, 2});
}

}  // namespace sam2
