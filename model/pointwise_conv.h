// 1x1 convolutions (stride 1, no padding) that follow their input's memory
// layout: the FPN neck's lateral convolutions and the SAM heads' conv_s0 /
// conv_s1 take Hiera's outputs, which are [B, H, W, C] tensors seen as
// [B, C, H, W] (channels-last views, as in the reference). oneDNN's
// convolution first copies such an input into NCHW (a strided copy of 6M
// values at the 256x256 level) and then runs slower than a matrix product;
// a 1x1 convolution over channels-last memory *is* a matrix product over the
// last dimension, so it runs as one (at::linear, which autocast treats as it
// treats conv2d: bfloat16 in and out). The result stays channels-last. Same
// values as at::conv2d up to the summation order.
//
// Thread-safety: a pure function.

#ifndef SAM2_MODEL_POINTWISE_CONV_H_
#define SAM2_MODEL_POINTWISE_CONV_H_

#include <ATen/core/Tensor.h>

namespace sam2 {

// x [B, Cin, H, W], weight [Cout, Cin, 1, 1], bias [Cout] or undefined.
// Throws c10::Error as at::conv2d does.
at::Tensor PointwiseConv2d(const at::Tensor& x, const at::Tensor& weight,
                           const at::Tensor& bias);

}  // namespace sam2

#endif  // SAM2_MODEL_POINTWISE_CONV_H_
