// Video frames for the video predictor: where frames come from (a folder of
// JPEG files, a video file, frames appended by a caller as pixels or as
// encoded JPEG/PNG bytes) and how a frame becomes the model's input.
//
// Mirrors the reference's (facebookresearch/sam2) utils/misc.py:
//   - `_load_img_as_tensor` + the normalisation in `load_video_frames_from_
//     jpg_images`: PIL `convert("RGB").resize((S, S))` (Pillow's bicubic on
//     uint8, see pillow_resize.h; Pillow 13's pass order by default), / 255 (float64, stored as float32), then
//     (x - mean) / std in float32 -> PreprocessVideoFrame;
//   - `load_video_frames_from_jpg_images`: files with a .jpg/.jpeg extension,
//     sorted by the integer value of their stem -> JpegFolderFrameSource;
//   - `load_video_frames_from_video_file` (decord) -> VideoFileFrameSource
//     (video_file_frame_source.h, kept apart so that this file needs no
//     OpenCV video I/O).
//   - video_height / video_width are the original frame size.
//
// Deliberate differences from the reference:
//   - Frames are decoded on demand (GetFrame) instead of all at start; a
//     PreprocessedFrameCache keeps a bounded number of model inputs, where the
//     reference holds every preprocessed frame in memory.
//   - Frames uploaded one by one (no reference counterpart; the reference
//     reads a folder or a file): InMemoryFrameSource keeps them decoded,
//     EncodedFrameSource keeps the encoded bytes (a 1080p JPEG is ~200 KB,
//     its pixels ~6 MB) and decodes each frame again when it is read.
//   - Decoding is OpenCV's (libjpeg for JPEG; the same decoder family as
//     Pillow's, and on the fixture frames the pixels are identical). An EXIF
//     orientation is applied (image_io.h).
//   - JPEG folder: the extension test is case-insensitive (the reference
//     accepts .jpg .jpeg .JPG .JPEG only); stems must be plain integers
//     (optional sign, decimal digits): anything else is INVALID_ARGUMENT
//     naming the file, where Python's int() raises ValueError (and would also
//     accept "1_0" or " 1"). Two files with the same integer (e.g. "1.jpg",
//     "01.jpg") are ordered by name (the reference's order depends on
//     os.listdir). Entries that are not regular files are ignored. Every
//     frame must have the first frame's size (the reference silently resizes
//     each frame to S x S and reports the last frame's size).
//   - Video files: decoded by OpenCV's FFmpeg backend at the original size,
//     then resized like JPEG frames (decord scales with FFmpeg's own scaler;
//     neither is reproducible bit for bit by the other). Any container and
//     codec FFmpeg reads is accepted, not only .mp4.
//   - Limits (FrameSourceOptions): at most kDefaultMaxVideoFrames frames, each
//     side in [kDefaultMinVideoSide, kDefaultMaxVideoSide]; violations are
//     INVALID_ARGUMENT; a frame index outside the video is OUT_OF_RANGE.
//
// Thread-safety: the free functions have no shared state. Every FrameSource
// implementation here is thread-safe (GetFrame may be called concurrently;
// VideoFileFrameSource serializes decoding with a mutex). InMemoryFrameSource
// and EncodedFrameSource may be appended to while other threads read.
// PreprocessedFrameCache is thread-safe. No LibTorch or OpenCV exception
// escapes: they become statuses.

#ifndef SAM2_MODEL_VIDEO_FRAMES_H_
#define SAM2_MODEL_VIDEO_FRAMES_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "model/pillow_resize.h"

namespace sam2 {

// DESIGN.md limits for videos (defaults; a server may configure others).
inline constexpr int64_t kDefaultMaxVideoFrames = 2000;
inline constexpr int64_t kDefaultMaxVideoSide = 4096;
inline constexpr int64_t kDefaultMinVideoSide = 8;
// Default capacity (in frames) of a PreprocessedFrameCache.
inline constexpr int64_t kDefaultPreprocessedFrameCacheCapacity = 16;

struct FrameSourceOptions {
  int64_t max_frames = kDefaultMaxVideoFrames;
  int64_t max_side = kDefaultMaxVideoSide;
  int64_t min_side = kDefaultMinVideoSide;
};

// One video frame -> the model input: Pillow bicubic resize of the RGB uint8
// [H, W, 3] frame to S x S, / 255, (x - mean) / std (kImagePixelMean/Std) in
// float32. Returns a CPU float32 [3, S, S]. INVALID_ARGUMENT for a frame
// that is not uint8 [H, W, 3] with H, W >= 1, or S outside
// [1, kPillowResizeMaxSide]. `order`: which Pillow release's pass order to
// reproduce (pillow_resize.h); the two differ only when the frame's height
// shrinks by more than twice as many pixels as its width (portrait videos).
absl::StatusOr<at::Tensor> PreprocessVideoFrame(
    const at::Tensor& rgb_u8_hwc, int64_t image_size,
    PillowPassOrder order = kDefaultPillowPassOrder);

// A video as a sequence of RGB frames of one size.
class FrameSource {
 public:
  virtual ~FrameSource() = default;

  // Number of frames available now (InMemoryFrameSource grows).
  virtual int64_t num_frames() const = 0;
  // Original frame size; 0 while an InMemoryFrameSource is empty.
  virtual int64_t video_height() const = 0;
  virtual int64_t video_width() const = 0;

  // Frame `index` as contiguous CPU uint8 [H, W, 3] RGB, decoded on demand.
  // OUT_OF_RANGE when index is not in [0, num_frames()); INVALID_ARGUMENT
  // when the frame cannot be decoded or has another size than the first.
  // Callers must not modify the returned tensor in place (it may be shared).
  virtual absl::StatusOr<at::Tensor> GetFrame(int64_t index) = 0;

  // Bytes of frame data the source holds in memory now (decoded pixels or
  // encoded bytes), for memory budgets. Sources that read frames from disk
  // on demand hold at most a frame or two.
  virtual int64_t NumBytes() const { return 0; }
};

// Frames = the JPEG files of one directory ("<integer>.jpg"), in the order of
// their integer stems. The first frame is decoded when opening (for the video
// size); the others on demand. Thread-safe; stateless after Open.
class JpegFolderFrameSource : public FrameSource {
 public:
  // NOT_FOUND when `dir` is not a directory; INVALID_ARGUMENT when it holds
  // no JPEG file, a stem that is not an integer, more than
  // options.max_frames frames, or a first frame that cannot be decoded or is
  // outside the side limits.
  static absl::StatusOr<std::unique_ptr<JpegFolderFrameSource>> Open(
      const std::string& dir, const FrameSourceOptions& options = {});

  int64_t num_frames() const override {
    return static_cast<int64_t>(paths_.size());
  }
  int64_t video_height() const override { return height_; }
  int64_t video_width() const override { return width_; }
  absl::StatusOr<at::Tensor> GetFrame(int64_t index) override;
  // Frame 0's pixels, kept decoded.
  int64_t NumBytes() const override;

  // The frame files, in frame order.
  const std::vector<std::string>& frame_paths() const { return paths_; }

 private:
  JpegFolderFrameSource(std::vector<std::string> paths,
                        FrameSourceOptions options)
      : paths_(std::move(paths)), options_(options) {}

  std::vector<std::string> paths_;
  FrameSourceOptions options_;
  int64_t height_ = 0;
  int64_t width_ = 0;
  // Frame 0, decoded at Open (it is the most likely frame to be prompted).
  at::Tensor first_frame_;
};

// Helpers for FrameSource implementations (also video_file_frame_source):
// INVALID_ARGUMENT naming `what` when a side of h x w is outside
// [o.min_side, o.max_side]; the OUT_OF_RANGE status for a bad frame index.
absl::Status CheckFrameSides(int64_t h, int64_t w, const FrameSourceOptions& o,
                             absl::string_view what);
absl::Status FrameOutOfRange(int64_t index, int64_t n);

// Frames appended by the caller (uploaded frame by frame, or a live stream).
// The first frame fixes the video size; later frames must match it.
// Thread-safe: appends and reads may run concurrently; a frame once appended
// never changes.
class InMemoryFrameSource : public FrameSource {
 public:
  explicit InMemoryFrameSource(const FrameSourceOptions& options = {})
      : options_(options) {}

  // Appends RGB uint8 [H, W, 3] (copied to contiguous CPU memory).
  // INVALID_ARGUMENT for a wrong dtype/shape, a side outside the limits, a
  // size different from the first frame's, or when max_frames frames are
  // already held. Returns the new frame's index.
  absl::StatusOr<int64_t> AppendFrame(const at::Tensor& rgb_u8_hwc);
  // Decodes JPEG/PNG bytes (image_io.h) and appends the frame.
  absl::StatusOr<int64_t> AppendEncodedFrame(absl::string_view bytes);

  int64_t num_frames() const override;
  int64_t video_height() const override;
  int64_t video_width() const override;
  absl::StatusOr<at::Tensor> GetFrame(int64_t index) override;
  // The decoded frames' bytes (H * W * 3 each).
  int64_t NumBytes() const override;

 private:
  const FrameSourceOptions options_;
  mutable absl::Mutex mu_;
  std::vector<at::Tensor> frames_ ABSL_GUARDED_BY(mu_);
  int64_t height_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t width_ ABSL_GUARDED_BY(mu_) = 0;
};

// Frames appended by the caller as encoded JPEG or PNG bytes, kept encoded
// and decoded again on every GetFrame (put a PreprocessedFrameCache in front,
// as VideoInferenceState does, to keep the frames in use decoded). For
// uploaded videos this bounds memory by the encoded size: a 1080p JPEG is
// ~200 KB where its pixels are ~6 MB. The first frame fixes the video size;
// later frames must match it.
// Thread-safety: appends and reads may run concurrently; a frame once
// appended never changes. Decoding (in AppendEncodedFrame and GetFrame)
// happens outside the lock, so readers do not wait on each other's decodes.
class EncodedFrameSource : public FrameSource {
 public:
  explicit EncodedFrameSource(const FrameSourceOptions& options = {})
      : options_(options) {}

  // Decodes `bytes` once to check them, then keeps only the bytes.
  // INVALID_ARGUMENT (nothing appended) when they are not a JPEG/PNG (by
  // magic bytes) that decodes within image_io.h's header limits, when a side
  // is outside the options' limits, when the size differs from the first
  // frame's, or when max_frames frames are already held. Returns the new
  // frame's index.
  absl::StatusOr<int64_t> AppendEncodedFrame(std::string bytes);

  // Bytes of the encoded frames held.
  int64_t encoded_bytes() const;

  int64_t num_frames() const override;
  int64_t video_height() const override;
  int64_t video_width() const override;
  // Decodes frame `index` (OpenCV, as image_io.h's DecodeImage): the same
  // pixels DecodeImage gives for the appended bytes.
  absl::StatusOr<at::Tensor> GetFrame(int64_t index) override;
  // encoded_bytes().
  int64_t NumBytes() const override { return encoded_bytes(); }

 private:
  const FrameSourceOptions options_;
  mutable absl::Mutex mu_;
  // Shared so that GetFrame can decode after releasing the lock.
  std::vector<std::shared_ptr<const std::string>> frames_ ABSL_GUARDED_BY(mu_);
  int64_t height_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t width_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

// A least-recently-used cache of preprocessed frames (PreprocessVideoFrame
// outputs, float32 [3, S, S]) in front of a FrameSource, keyed by frame
// index. Capacity is in frames; 0 disables caching (every Get is a miss).
// Thread-safe. A miss computes outside the lock, so two threads missing the
// same frame may both compute it (both count as misses; one copy is kept).
// The returned tensors are shared with the cache: do not modify them in
// place.
class PreprocessedFrameCache {
 public:
  // `source` is not owned and must outlive the cache.
  PreprocessedFrameCache(FrameSource* source, int64_t image_size,
                         int64_t capacity = kDefaultPreprocessedFrameCacheCapacity);

  // The preprocessed frame `index`; statuses as FrameSource::GetFrame and
  // PreprocessVideoFrame.
  absl::StatusOr<at::Tensor> Get(int64_t index);

  // Drops every cached frame (counters are kept).
  void Clear();

  int64_t hits() const;
  int64_t misses() const;
  // Frames held now, and their bytes.
  int64_t size() const;
  int64_t bytes_held() const;
  int64_t capacity() const { return capacity_; }
  int64_t image_size() const { return image_size_; }

 private:
  struct Entry {
    int64_t index;
    at::Tensor tensor;
  };

  FrameSource* const source_;
  const int64_t image_size_;
  const int64_t capacity_;
  mutable absl::Mutex mu_;
  // Most recently used first.
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, std::list<Entry>::iterator> index_
      ABSL_GUARDED_BY(mu_);
  int64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sam2

#endif  // SAM2_MODEL_VIDEO_FRAMES_H_
