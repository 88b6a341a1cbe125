// PointwiseConv2d against at::conv2d: channels-last inputs take the matrix
// product and keep their layout, others go to the convolution; values equal
// to float32 round-off either way, with and without a bias.

#include "model/pointwise_conv.h"

#include <ATen/ATen.h>

#include "gtest/gtest.h"

namespace sam2 {
namespace {

TEST(PointwiseConv2dTest, ChannelsLastInputMatchesConvolution) {
  at::manual_seed(0);
  const at::Tensor nhwc = at::randn({2, 9, 7, 12});
  const at::Tensor x = nhwc.permute({0, 3, 1, 2});  // [2, 12, 9, 7] view
  ASSERT_TRUE(x.is_contiguous(at::MemoryFormat::ChannelsLast));
  const at::Tensor w = at::randn({5, 12, 1, 1});
  const at::Tensor b = at::randn({5});
  for (const at::Tensor& bias : {b, at::Tensor()}) {
    const at::Tensor got = PointwiseConv2d(x, w, bias);
    const at::Tensor want = at::conv2d(x.contiguous(), w, bias);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_TRUE(got.is_contiguous(at::MemoryFormat::ChannelsLast));
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-5);
  }
}

TEST(PointwiseConv2dTest, OtherInputsAreConvolved) {
  at::manual_seed(1);
  const at::Tensor x = at::randn({1, 4, 6, 6});  // NCHW
  const at::Tensor w1 = at::randn({3, 4, 1, 1});
  EXPECT_TRUE(at::equal(PointwiseConv2d(x, w1, at::Tensor()),
                        at::conv2d(x, w1, at::Tensor())));
  // A 3x3 kernel on a channels-last view: not pointwise, convolved.
  const at::Tensor cl = at::randn({1, 6, 6, 4}).permute({0, 3, 1, 2});
  const at::Tensor w3 = at::randn({3, 4, 3, 3});
  EXPECT_TRUE(at::allclose(PointwiseConv2d(cl, w3, at::Tensor()),
                           at::conv2d(cl.contiguous(), w3, at::Tensor()),
                           1e-5, 1e-5));
}

}  // namespace
}  // namespace sam2
