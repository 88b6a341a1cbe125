// VideoFileFrameSource: sequential decoding with OpenCV's FFmpeg backend.

#include "model/video_file_frame_source.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sam2 {

// --- Video file --------------------------------------------------------------

struct VideoFileFrameSource::Decoder {
  cv::VideoCapture capture;
  int64_t cursor = 0;        // index of the frame the next grab() returns
  int64_t last_index = -1;   // index of `last`, -1 when none
  at::Tensor last;           // RGB uint8 [H, W, 3]
};

namespace {

// Opens `path` with the FFmpeg backend. Throws cv::Exception on library
// errors (callers catch).
absl::Status OpenCapture(const std::string& path, cv::VideoCapture* capture) {
  if (!capture->open(path, cv::CAP_FFMPEG) || !capture->isOpened()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot open ", path, " as a video (OpenCV FFmpeg backend)"));
  }
  return absl::OkStatus();
}

// BGR(A)/gray cv::Mat from VideoCapture -> RGB uint8 [H, W, 3] tensor.
absl::StatusOr<at::Tensor> MatToRgbTensor(const cv::Mat& mat) {
  if (mat.empty() || mat.depth() != CV_8U) {
    return absl::InvalidArgumentError("decoded video frame is not 8-bit");
  }
  cv::Mat rgb;
  switch (mat.channels()) {
    case 3: cv::cvtColor(mat, rgb, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(mat, rgb, cv::COLOR_BGRA2RGB); break;
    case 1: cv::cvtColor(mat, rgb, cv::COLOR_GRAY2RGB); break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "decoded video frame has ", mat.channels(), " channels"));
  }
  at::Tensor t = at::empty({rgb.rows, rgb.cols, 3}, at::kByte);
  const size_t row_bytes = static_cast<size_t>(rgb.cols) * 3;
  uint8_t* dst = t.data_ptr<uint8_t>();
  for (int y = 0; y < rgb.rows; ++y) {
    std::memcpy(dst + y * row_bytes, rgb.ptr<uint8_t>(y), row_bytes);
  }
  return t;
}

}  // namespace

VideoFileFrameSource::VideoFileFrameSource(std::string path,
                                           FrameSourceOptions options)
    : path_(std::move(path)), options_(options) {}

VideoFileFrameSource::~VideoFileFrameSource() = default;

absl::StatusOr<std::unique_ptr<VideoFileFrameSource>>
VideoFileFrameSource::Open(const std::string& path,
                           const FrameSourceOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat("video file ", path,
                                            " does not exist"));
  }
  std::unique_ptr<VideoFileFrameSource> source(
      new VideoFileFrameSource(path, options));
  try {
    // Counting pass: decode frame 0 (for the size), then grab the rest.
    cv::VideoCapture capture;
    if (absl::Status s = OpenCapture(path, &capture); !s.ok()) return s;
    cv::Mat first;
    if (!capture.read(first) || first.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("video file ", path, " has no decodable frame"));
    }
    absl::StatusOr<at::Tensor> rgb = MatToRgbTensor(first);
    if (!rgb.ok()) return rgb.status();
    source->height_ = rgb->size(0);
    source->width_ = rgb->size(1);
    if (absl::Status s = CheckFrameSides(source->height_, source->width_, options,
                                    absl::StrCat("video ", path));
        !s.ok()) {
      return s;
    }
    int64_t n = 1;
    while (capture.grab()) {
      if (++n > options.max_frames) {
        return absl::InvalidArgumentError(absl::StrCat(
            "video file ", path, " has more than ", options.max_frames,
            " frames"));
      }
    }
    source->num_frames_ = n;
    // The decoder used by GetFrame starts at frame 0.
    auto decoder = std::make_unique<Decoder>();
    if (absl::Status s = OpenCapture(path, &decoder->capture); !s.ok()) {
      return s;
    }
    absl::MutexLock lock(&source->mu_);
    source->decoder_ = std::move(decoder);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot decode video ", path, ": ", e.what()));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("reading video ", path, ": ",
                                            e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("reading video ", path, ": ", e.what()));
  }
  return source;
}

int64_t VideoFileFrameSource::NumBytes() const {
  absl::MutexLock lock(&mu_);
  if (decoder_ == nullptr || !decoder_->last.defined()) return 0;
  return static_cast<int64_t>(decoder_->last.nbytes());
}

int64_t VideoFileFrameSource::reopen_count() const {
  absl::MutexLock lock(&mu_);
  return reopens_;
}

absl::StatusOr<at::Tensor> VideoFileFrameSource::GetFrame(int64_t index) {
  if (index < 0 || index >= num_frames_) return FrameOutOfRange(index, num_frames_);
  absl::MutexLock lock(&mu_);
  Decoder& d = *decoder_;
  if (d.last_index == index) return d.last;
  try {
    if (index < d.cursor) {
      // Backwards: start over (seeking is not frame-exact).
      d.capture.release();
      d.cursor = 0;
      d.last_index = -1;
      d.last = at::Tensor();
      ++reopens_;
      if (absl::Status s = OpenCapture(path_, &d.capture); !s.ok()) return s;
    }
    while (d.cursor < index) {
      if (!d.capture.grab()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "video ", path_, " ended at frame ", d.cursor, " before frame ",
            index, " (the file changed since it was opened?)"));
      }
      ++d.cursor;
    }
    cv::Mat mat;
    if (!d.capture.read(mat) || mat.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot decode frame ", index, " of video ", path_));
    }
    ++d.cursor;
    absl::StatusOr<at::Tensor> rgb = MatToRgbTensor(mat);
    if (!rgb.ok()) return rgb.status();
    if (rgb->size(0) != height_ || rgb->size(1) != width_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "frame ", index, " of video ", path_, " is ", rgb->size(1), "x",
          rgb->size(0), " (WxH) but its first frame is ", width_, "x",
          height_));
    }
    d.last = *rgb;
    d.last_index = index;
    return *std::move(rgb);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot decode frame ", index, " of video ", path_, ": ", e.what()));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("reading video ", path_, ": ",
                                            e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("reading video ", path_, ": ", e.what()));
  }
}

}  // namespace sam2
