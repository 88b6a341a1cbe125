#include "client/mask_images.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

// Discs drawn for points: radius = min side / kPointRadiusDivisor, at least
// kMinPointRadius pixels.
constexpr int kPointRadiusDivisor = 100;
constexpr int kMinPointRadius = 3;
constexpr int kBoxThickness = 2;

// Mask -> contiguous CPU uint8 [H, W] with 0 / 1.
at::Tensor MaskToU8(const at::Tensor& mask) {
  return mask.ne(0).to(at::kCPU).to(at::kByte).contiguous();
}

}  // namespace

absl::Status WriteMaskPng(const at::Tensor& mask, const std::string& path) {
  if (!mask.defined() || mask.dim() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write ", path, ": a mask must be [H, W]"));
  }
  try {
    at::Tensor u8 = MaskToU8(mask).mul(255).contiguous();
    cv::Mat m(static_cast<int>(u8.size(0)), static_cast<int>(u8.size(1)),
              CV_8UC1, u8.data_ptr());
    return WriteImage(m, path);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ",
                                            e.what_without_backtrace()));
  }
}

cv::Scalar ObjectColor(int index) {
  // BGR; the first entry is the colour `sam2 segment` has always used.
  static const cv::Scalar kPalette[kObjectPaletteSize] = {
      {255, 144, 30}, {60, 76, 231},  {113, 204, 46}, {15, 196, 241},
      {182, 89, 155}, {34, 126, 230}, {166, 166, 0},  {147, 20, 255},
      {0, 215, 255},  {200, 200, 200}};
  const int i = ((index % kObjectPaletteSize) + kObjectPaletteSize) %
                kObjectPaletteSize;
  return kPalette[i];
}

absl::Status TintMask(cv::Mat& bgr, const at::Tensor& mask,
                      const cv::Scalar& colour) {
  if (bgr.type() != CV_8UC3) {
    return absl::InvalidArgumentError("overlay image must be 8-bit BGR");
  }
  if (!mask.defined() || mask.dim() != 2 || mask.size(0) != bgr.rows ||
      mask.size(1) != bgr.cols) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the mask must be [H, W] of the ", bgr.cols, "x", bgr.rows, " image"));
  }
  try {
    at::Tensor u8 = MaskToU8(mask);
    cv::Mat m(bgr.rows, bgr.cols, CV_8UC1, u8.data_ptr());
    cv::Mat tint(bgr.size(), bgr.type(), colour);
    cv::Mat blended;
    cv::addWeighted(bgr, 1.0 - kOverlayTintAlpha, tint, kOverlayTintAlpha, 0,
                    blended);
    blended.copyTo(bgr, m);
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(m, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
    cv::drawContours(bgr, contours, -1, cv::Scalar(255, 255, 255), 1);
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("overlay: ", e.what()));
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("overlay: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

void DrawPrompts(cv::Mat& bgr, const std::vector<DrawnPrompt>& prompts) {
  const int radius = std::max(
      kMinPointRadius, std::min(bgr.rows, bgr.cols) / kPointRadiusDivisor);
  for (const DrawnPrompt& p : prompts) {
    if (p.is_box) {
      cv::rectangle(bgr, cv::Point(static_cast<int>(p.x), static_cast<int>(p.y)),
                    cv::Point(static_cast<int>(p.x1), static_cast<int>(p.y1)),
                    cv::Scalar(0, 220, 255), kBoxThickness);
    } else {
      cv::circle(bgr, cv::Point(static_cast<int>(p.x), static_cast<int>(p.y)),
                 radius,
                 p.label == 1 ? cv::Scalar(0, 200, 0) : cv::Scalar(0, 0, 230),
                 cv::FILLED);
    }
  }
}

absl::StatusOr<cv::Mat> RgbTensorToBgr(const at::Tensor& rgb_u8_hwc) {
  if (!rgb_u8_hwc.defined() || rgb_u8_hwc.dim() != 3 ||
      rgb_u8_hwc.size(2) != 3 || rgb_u8_hwc.scalar_type() != at::kByte) {
    return absl::InvalidArgumentError("expected an RGB uint8 [H, W, 3] image");
  }
  try {
    at::Tensor rgb = rgb_u8_hwc.to(at::kCPU).contiguous();
    cv::Mat view(static_cast<int>(rgb.size(0)), static_cast<int>(rgb.size(1)),
                 CV_8UC3, rgb.data_ptr());
    cv::Mat bgr;
    cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);  // a new buffer
    return bgr;
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("colour conversion: ", e.what()));
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("colour conversion: ", e.what_without_backtrace()));
  }
}

absl::Status WriteImage(const cv::Mat& image, const std::string& path) {
  try {
    if (!cv::imwrite(path, image)) {
      return absl::InternalError(absl::StrCat("cannot write ", path));
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(
        absl::StrCat("cannot write ", path, ": ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace sam2
