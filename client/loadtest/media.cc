#include "client/loadtest/media.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace sam2::loadtest {
namespace {

// Frame `t` of the synthetic scene (frame 0 is the still image).
cv::Mat SyntheticFrame(int width, int height, int t) {
  cv::Mat img(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    cv::Vec3b* row = img.ptr<cv::Vec3b>(y);
    for (int x = 0; x < width; ++x) {
      row[x] = cv::Vec3b(static_cast<uint8_t>(60 + 80 * x / width),
                         static_cast<uint8_t>(90 + 60 * y / height), 120);
    }
  }
  const int s = std::min(width, height);
  const int dx = t * std::max(1, width / 60);
  cv::circle(img, {width / 3 + dx, height / 2}, s / 6, {30, 40, 220},
             cv::FILLED, cv::LINE_AA);
  cv::rectangle(img, {width / 2 + width / 10, height / 5},
                {width / 2 + width / 4, height / 5 + s / 4}, {220, 200, 40},
                cv::FILLED);
  cv::ellipse(img, {2 * width / 3, 3 * height / 4 - t}, {s / 8, s / 14}, 20, 0,
              360, {40, 200, 60}, cv::FILLED, cv::LINE_AA);
  return img;
}

absl::StatusOr<std::string> Encode(const cv::Mat& img, const std::string& ext,
                                   const std::vector<int>& params) {
  std::vector<uint8_t> bytes;
  if (!cv::imencode(ext, img, bytes, params) || bytes.empty()) {
    return absl::InternalError(absl::StrCat("cannot encode a ", ext));
  }
  return std::string(bytes.begin(), bytes.end());
}

absl::Status CheckSize(int width, int height) {
  if (width < 8 || height < 8 || width > 8192 || height > 8192) {
    return absl::InvalidArgumentError(absl::StrCat(
        "synthetic media size ", width, "x", height, " outside 8..8192"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> SyntheticImagePng(int width, int height) {
  if (absl::Status s = CheckSize(width, height); !s.ok()) return s;
  return Encode(SyntheticFrame(width, height, 0), ".png", {});
}

absl::StatusOr<std::vector<std::string>> SyntheticVideoJpegs(int width,
                                                             int height,
                                                             int frames) {
  if (absl::Status s = CheckSize(width, height); !s.ok()) return s;
  if (frames < 1) {
    return absl::InvalidArgumentError("a video needs at least one frame");
  }
  std::vector<std::string> out;
  for (int t = 0; t < frames; ++t) {
    absl::StatusOr<std::string> jpg = Encode(
        SyntheticFrame(width, height, t), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90});
    if (!jpg.ok()) return jpg.status();
    out.push_back(*std::move(jpg));
  }
  return out;
}

absl::StatusOr<std::string> ReadMediaFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (bytes.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is empty"));
  }
  return bytes.str();
}

absl::StatusOr<std::vector<std::string>> ReadFrameDirectory(
    const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("cannot list ", dir, ": ", ec.message()));
  }
  std::vector<std::string> paths;
  for (const auto& entry : it) {
    if (!entry.is_regular_file()) continue;
    const std::string ext =
        absl::AsciiStrToLower(entry.path().extension().string());
    if (ext == ".jpg" || ext == ".jpeg") paths.push_back(entry.path().string());
  }
  if (paths.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no .jpg/.jpeg frames in ", dir));
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> frames;
  for (const std::string& p : paths) {
    absl::StatusOr<std::string> bytes = ReadMediaFile(p);
    if (!bytes.ok()) return bytes.status();
    frames.push_back(*std::move(bytes));
  }
  return frames;
}

}  // namespace sam2::loadtest
