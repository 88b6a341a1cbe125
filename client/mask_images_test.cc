// Mask PNGs, palette, tinting and prompt drawing.

#include "client/mask_images.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <opencv2/imgcodecs.hpp>
#include <string>

namespace sam2 {
namespace {

std::string Tmp(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

TEST(MaskImagesTest, WritesBinaryPng) {
  at::Tensor mask = at::zeros({20, 30}, at::kBool);
  mask.slice(0, 5, 10).slice(1, 0, 4).fill_(true);
  ASSERT_TRUE(WriteMaskPng(mask, Tmp("m.png")).ok());
  cv::Mat m = cv::imread(Tmp("m.png"), cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(m.empty());
  EXPECT_EQ(m.rows, 20);
  EXPECT_EQ(m.cols, 30);
  EXPECT_EQ(m.type(), CV_8UC1);
  EXPECT_EQ(cv::countNonZero(m), 20);
  EXPECT_EQ(m.at<uint8_t>(5, 0), 255);
  // Float logits thresholded by the caller: nonzero means inside.
  ASSERT_TRUE(WriteMaskPng(at::ones({4, 4}), Tmp("f.png")).ok());
  EXPECT_EQ(cv::countNonZero(cv::imread(Tmp("f.png"), cv::IMREAD_UNCHANGED)), 16);
}

TEST(MaskImagesTest, RejectsBadInput) {
  EXPECT_EQ(WriteMaskPng(at::zeros({2, 3, 4}), Tmp("x.png")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(WriteMaskPng(at::zeros({4, 4}), "/nonexistent/dir/x.png").ok());
  cv::Mat bgr(10, 10, CV_8UC3, cv::Scalar(0, 0, 0));
  EXPECT_EQ(TintMask(bgr, at::zeros({10, 11}), ObjectColor(0)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(RgbTensorToBgr(at::zeros({4, 4, 3})).ok());  // float
}

TEST(MaskImagesTest, PaletteIsDistinctAndRepeats) {
  for (int i = 1; i < kObjectPaletteSize; ++i) {
    EXPECT_NE(ObjectColor(i), ObjectColor(0)) << i;
  }
  EXPECT_EQ(ObjectColor(kObjectPaletteSize), ObjectColor(0));
}

TEST(MaskImagesTest, TintsOnlyInsideTheMaskAndDrawsPrompts) {
  at::Tensor rgb = at::full({40, 40, 3}, 100, at::kByte);
  absl::StatusOr<cv::Mat> bgr = RgbTensorToBgr(rgb);
  ASSERT_TRUE(bgr.ok()) << bgr.status();
  at::Tensor mask = at::zeros({40, 40}, at::kBool);
  mask.slice(0, 10, 30).slice(1, 10, 30).fill_(true);
  ASSERT_TRUE(TintMask(*bgr, mask, ObjectColor(1)).ok());
  EXPECT_EQ(bgr->at<cv::Vec3b>(0, 0), cv::Vec3b(100, 100, 100));
  EXPECT_NE(bgr->at<cv::Vec3b>(20, 20), cv::Vec3b(100, 100, 100));
  EXPECT_EQ(bgr->at<cv::Vec3b>(10, 10), cv::Vec3b(255, 255, 255));  // outline
  DrawPrompts(*bgr, {{false, 2, 2, 0, 0, 1}, {true, 0, 35, 39, 39, 1}});
  EXPECT_EQ(bgr->at<cv::Vec3b>(2, 2), cv::Vec3b(0, 200, 0));
  EXPECT_TRUE(WriteImage(*bgr, Tmp("o.png")).ok());
}

}  // namespace
}  // namespace sam2
