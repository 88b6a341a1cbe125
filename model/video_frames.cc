// Video frame sources and frame preprocessing; mirrors the reference's
// utils/misc.py (load_video_frames and helpers). See the header.

#include "model/video_frames.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/image_io.h"
#include "model/image_transforms.h"
#include "model/pillow_resize.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

ImageDecodeOptions DecodeOptionsFor(const FrameSourceOptions& o) {
  ImageDecodeOptions d;
  d.min_side = static_cast<int>(std::min<int64_t>(o.min_side, 1 << 30));
  d.max_side = static_cast<int>(std::min<int64_t>(o.max_side, 1 << 30));
  d.max_pixels = std::max<int64_t>(d.max_pixels, o.max_side * o.max_side);
  return d;
}

// Whether a frame of h x w may become frame `n` of an appendable video whose
// size is *height x *width (both 0 while empty): at most max_frames frames,
// all of the first frame's size. Records the size on the first frame.
// Called under the source's mutex.
absl::Status AdmitFrame(int64_t n, int64_t h, int64_t w,
                        const FrameSourceOptions& options, int64_t* height,
                        int64_t* width) {
  if (n >= options.max_frames) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a video holds at most ", options.max_frames, " frames"));
  }
  if (n > 0 && (h != *height || w != *width)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "frame ", n, " is ", w, "x", h, " (WxH) but the video's first frame is ",
        *width, "x", *height));
  }
  if (n == 0) {
    *height = h;
    *width = w;
  }
  return absl::OkStatus();
}

// Lower-case extension is .jpg or .jpeg.
bool IsJpegName(const std::filesystem::path& p) {
  const std::string ext = absl::AsciiStrToLower(p.extension().string());
  return ext == ".jpg" || ext == ".jpeg";
}

// A plain integer: optional sign, then decimal digits.
bool ParseFrameStem(const std::string& stem, int64_t* value) {
  size_t i = (!stem.empty() && (stem[0] == '+' || stem[0] == '-')) ? 1 : 0;
  if (i == stem.size()) return false;
  for (size_t j = i; j < stem.size(); ++j) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(stem[j]))) return false;
  }
  return absl::SimpleAtoi(stem, value);
}

// Decodes one frame file and checks its size against the video's.
absl::StatusOr<at::Tensor> DecodeFrameFile(const std::string& path,
                                           int64_t index,
                                           const FrameSourceOptions& options,
                                           int64_t want_h, int64_t want_w) {
  absl::StatusOr<RgbImage> img = DecodeImageFile(path, DecodeOptionsFor(options));
  if (!img.ok()) {
    return absl::Status(img.status().code(),
                        absl::StrCat("frame ", index, " (", path,
                                     "): ", img.status().message()));
  }
  if (want_h > 0 && (img->height != want_h || img->width != want_w)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "frame ", index, " (", path, ") is ", img->width, "x", img->height,
        " (WxH) but the video's first frame is ", want_w, "x", want_h));
  }
  return std::move(img->pixels);
}

}  // namespace

absl::Status CheckFrameSides(int64_t h, int64_t w,
                             const FrameSourceOptions& o,
                             absl::string_view what) {
  if (h < o.min_side || w < o.min_side || h > o.max_side || w > o.max_side) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", w, "x", h, " (WxH); each side must be in [",
                     o.min_side, ", ", o.max_side, "]"));
  }
  return absl::OkStatus();
}

absl::Status FrameOutOfRange(int64_t index, int64_t n) {
  return absl::OutOfRangeError(absl::StrCat(
      "frame index ", index, " is outside the video's ", n, " frames"));
}

// --- Preprocessing -----------------------------------------------------------

absl::StatusOr<at::Tensor> PreprocessVideoFrame(const at::Tensor& rgb_u8_hwc,
                                                int64_t image_size,
                                                PillowPassOrder order) {
  if (absl::Status s = CheckRgbImage(rgb_u8_hwc, "video frame"); !s.ok()) {
    return s;
  }
  if (image_size < 1 || image_size > kPillowResizeMaxSide) {
    return absl::InvalidArgumentError(
        absl::StrCat("model image size must be in [1, ", kPillowResizeMaxSide,
                     "], got ", image_size));
  }
  absl::StatusOr<at::Tensor> resized =
      PillowBicubicResize(rgb_u8_hwc, image_size, image_size, order);
  if (!resized.ok()) return resized.status();
  try {
    const int64_t plane = image_size * image_size;
    at::Tensor out = at::empty({kImageChannels, image_size, image_size},
                               at::kFloat);
    const uint8_t* in = resized->data_ptr<uint8_t>();
    float* o = out.data_ptr<float>();
    for (int64_t c = 0; c < kImageChannels; ++c) {
      // The reference's mean/std tensors are float32.
      const float mean = static_cast<float>(kImagePixelMean[c]);
      const float std = static_cast<float>(kImagePixelStd[c]);
      float* oc = o + c * plane;
      for (int64_t i = 0; i < plane; ++i) {
        // numpy: uint8 / 255.0 in float64, stored into a float32 tensor.
        const float x = static_cast<float>(
            static_cast<double>(in[i * kImageChannels + c]) / kPixelValueScale);
        // images -= mean; images /= std (float32 tensor ops).
        const float centered = x - mean;
        oc[i] = centered / std;
      }
    }
    return out;
  } catch (const c10::Error& e) {
    return TorchError("video frame preprocessing failed: ", e);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("video frame preprocessing failed: ", e.what()));
  }
}

// --- JPEG folder -------------------------------------------------------------

absl::StatusOr<std::unique_ptr<JpegFolderFrameSource>>
JpegFolderFrameSource::Open(const std::string& dir,
                            const FrameSourceOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat("video frame directory ", dir, " does not exist"));
  }
  struct Named {
    int64_t value;
    std::string name;
  };
  std::vector<Named> frames;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot list video frame directory ", dir, ": ", ec.message()));
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::path& p = it->path();
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec) || !IsJpegName(p)) continue;
    int64_t value = 0;
    if (!ParseFrameStem(p.stem().string(), &value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "JPEG frame file name ", p.filename().string(), " in ", dir,
          " is not <integer>.jpg (frames are ordered by their integer name)"));
    }
    frames.push_back({value, p.filename().string()});
    if (static_cast<int64_t>(frames.size()) > options.max_frames) {
      return absl::InvalidArgumentError(
          absl::StrCat("video frame directory ", dir, " holds more than ",
                       options.max_frames, " frames"));
    }
  }
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot list video frame directory ", dir, ": ", ec.message()));
  }
  if (frames.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no JPEG frames (.jpg/.jpeg) found in ", dir));
  }
  std::sort(frames.begin(), frames.end(), [](const Named& a, const Named& b) {
    return a.value != b.value ? a.value < b.value : a.name < b.name;
  });
  std::vector<std::string> paths;
  paths.reserve(frames.size());
  for (const Named& f : frames) paths.push_back((fs::path(dir) / f.name).string());

  std::unique_ptr<JpegFolderFrameSource> source(
      new JpegFolderFrameSource(std::move(paths), options));
  absl::StatusOr<at::Tensor> first =
      DecodeFrameFile(source->paths_[0], 0, options, 0, 0);
  if (!first.ok()) return first.status();
  source->first_frame_ = *std::move(first);
  source->height_ = source->first_frame_.size(0);
  source->width_ = source->first_frame_.size(1);
  if (absl::Status s = CheckFrameSides(source->height_, source->width_, options,
                                  absl::StrCat("frame 0 (", source->paths_[0], ")"));
      !s.ok()) {
    return s;
  }
  return source;
}

absl::StatusOr<at::Tensor> JpegFolderFrameSource::GetFrame(int64_t index) {
  if (index < 0 || index >= num_frames()) return FrameOutOfRange(index, num_frames());
  if (index == 0) return first_frame_;
  return DecodeFrameFile(paths_[index], index, options_, height_, width_);
}

int64_t JpegFolderFrameSource::NumBytes() const {
  return first_frame_.defined() ? static_cast<int64_t>(first_frame_.nbytes())
                                : 0;
}

// --- In-memory frames --------------------------------------------------------

absl::StatusOr<int64_t> InMemoryFrameSource::AppendFrame(
    const at::Tensor& rgb_u8_hwc) {
  if (absl::Status s = CheckRgbImage(rgb_u8_hwc, "video frame"); !s.ok()) {
    return s;
  }
  const int64_t h = rgb_u8_hwc.size(0), w = rgb_u8_hwc.size(1);
  if (absl::Status s = CheckFrameSides(h, w, options_, "video frame"); !s.ok()) {
    return s;
  }
  at::Tensor copy;
  try {
    copy = rgb_u8_hwc.to(at::kCPU).contiguous().clone();
  } catch (const c10::Error& e) {
    return TorchError("copying a video frame failed: ", e);
  }
  absl::MutexLock lock(&mu_);
  const int64_t n = static_cast<int64_t>(frames_.size());
  if (absl::Status s = AdmitFrame(n, h, w, options_, &height_, &width_);
      !s.ok()) {
    return s;
  }
  frames_.push_back(std::move(copy));
  return n;
}

absl::StatusOr<int64_t> InMemoryFrameSource::AppendEncodedFrame(
    absl::string_view bytes) {
  absl::StatusOr<RgbImage> img = DecodeImage(bytes, DecodeOptionsFor(options_));
  if (!img.ok()) return img.status();
  return AppendFrame(img->pixels);
}

int64_t InMemoryFrameSource::num_frames() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(frames_.size());
}

int64_t InMemoryFrameSource::video_height() const {
  absl::MutexLock lock(&mu_);
  return height_;
}

int64_t InMemoryFrameSource::video_width() const {
  absl::MutexLock lock(&mu_);
  return width_;
}

absl::StatusOr<at::Tensor> InMemoryFrameSource::GetFrame(int64_t index) {
  absl::MutexLock lock(&mu_);
  const int64_t n = static_cast<int64_t>(frames_.size());
  if (index < 0 || index >= n) return FrameOutOfRange(index, n);
  return frames_[index];
}

int64_t InMemoryFrameSource::NumBytes() const {
  absl::MutexLock lock(&mu_);
  int64_t n = 0;
  for (const at::Tensor& f : frames_) n += static_cast<int64_t>(f.nbytes());
  return n;
}

// --- Encoded frames ----------------------------------------------------------

absl::StatusOr<int64_t> EncodedFrameSource::AppendEncodedFrame(
    std::string bytes) {
  // Cheap early refusal before a decode that would be thrown away.
  if (num_frames() >= options_.max_frames) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a video holds at most ", options_.max_frames, " frames"));
  }
  // One full decode proves the bytes decode (a header check alone would let
  // a truncated or corrupt frame in, to fail later in the middle of a
  // propagation); the pixels are dropped.
  int64_t h = 0, w = 0;
  {
    absl::StatusOr<RgbImage> img = DecodeImage(bytes, DecodeOptionsFor(options_));
    if (!img.ok()) return img.status();
    h = img->height;
    w = img->width;
  }
  if (absl::Status s = CheckFrameSides(h, w, options_, "video frame"); !s.ok()) {
    return s;
  }
  // The caller's buffer may be larger than the frame (a reused or grown
  // string); keep only what is counted.
  bytes.shrink_to_fit();
  auto frame = std::make_shared<const std::string>(std::move(bytes));
  absl::MutexLock lock(&mu_);
  const int64_t n = static_cast<int64_t>(frames_.size());
  // Checked again under the lock: another append may have won the race.
  if (absl::Status s = AdmitFrame(n, h, w, options_, &height_, &width_);
      !s.ok()) {
    return s;
  }
  bytes_ += static_cast<int64_t>(frame->size());
  frames_.push_back(std::move(frame));
  return n;
}

int64_t EncodedFrameSource::encoded_bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

int64_t EncodedFrameSource::num_frames() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(frames_.size());
}

int64_t EncodedFrameSource::video_height() const {
  absl::MutexLock lock(&mu_);
  return height_;
}

int64_t EncodedFrameSource::video_width() const {
  absl::MutexLock lock(&mu_);
  return width_;
}

absl::StatusOr<at::Tensor> EncodedFrameSource::GetFrame(int64_t index) {
  std::shared_ptr<const std::string> bytes;
  int64_t want_h = 0, want_w = 0;
  {
    absl::MutexLock lock(&mu_);
    const int64_t n = static_cast<int64_t>(frames_.size());
    if (index < 0 || index >= n) return FrameOutOfRange(index, n);
    bytes = frames_[index];
    want_h = height_;
    want_w = width_;
  }
  absl::StatusOr<RgbImage> img = DecodeImage(*bytes, DecodeOptionsFor(options_));
  // The bytes decoded when appended; failing now means the decoder itself
  // failed (out of memory, say), not that the client sent bad data.
  if (!img.ok()) {
    return absl::InternalError(absl::StrCat("decoding frame ", index,
                                            " again failed: ",
                                            img.status().message()));
  }
  if (img->height != want_h || img->width != want_w) {
    return absl::InternalError(absl::StrCat(
        "frame ", index, " decoded as ", img->width, "x", img->height,
        " (WxH), not the ", want_w, "x", want_h, " it had when appended"));
  }
  return std::move(img->pixels);
}

// --- Preprocessed frame cache -----------------------------------------------

PreprocessedFrameCache::PreprocessedFrameCache(FrameSource* source,
                                               int64_t image_size,
                                               int64_t capacity)
    : source_(source),
      image_size_(image_size),
      capacity_(std::max<int64_t>(capacity, 0)) {}

absl::StatusOr<at::Tensor> PreprocessedFrameCache::Get(int64_t index) {
  {
    absl::MutexLock lock(&mu_);
    auto it = index_.find(index);
    if (it != index_.end()) {
      ++hits_;
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->tensor;
    }
    ++misses_;
  }
  if (source_ == nullptr) {
    return absl::FailedPreconditionError("frame cache has no frame source");
  }
  absl::StatusOr<at::Tensor> frame = source_->GetFrame(index);
  if (!frame.ok()) return frame.status();
  absl::StatusOr<at::Tensor> pre = PreprocessVideoFrame(*frame, image_size_);
  if (!pre.ok()) return pre.status();
  if (capacity_ == 0) return pre;

  absl::MutexLock lock(&mu_);
  auto it = index_.find(index);
  if (it != index_.end()) {  // another thread computed it meanwhile
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->tensor;
  }
  lru_.push_front(Entry{index, *pre});
  index_[index] = lru_.begin();
  bytes_ += static_cast<int64_t>(pre->nbytes());
  while (static_cast<int64_t>(lru_.size()) > capacity_) {
    const Entry& victim = lru_.back();
    bytes_ -= static_cast<int64_t>(victim.tensor.nbytes());
    index_.erase(victim.index);
    lru_.pop_back();
  }
  return pre;
}

void PreprocessedFrameCache::Clear() {
  absl::MutexLock lock(&mu_);
  lru_.clear();
  index_.clear();
  bytes_ = 0;
}

int64_t PreprocessedFrameCache::hits() const {
  absl::MutexLock lock(&mu_);
  return hits_;
}

int64_t PreprocessedFrameCache::misses() const {
  absl::MutexLock lock(&mu_);
  return misses_;
}

int64_t PreprocessedFrameCache::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(lru_.size());
}

int64_t PreprocessedFrameCache::bytes_held() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace sam2
