// A FrameSource over a video file (mp4 and whatever else FFmpeg reads),
// decoded with OpenCV's VideoCapture; the reference's
// `load_video_frames_from_video_file` (decord) counterpart. Kept apart from
// video_frames.h so that the rest of the frame sources need no OpenCV video
// I/O (FFmpeg): builds without it (the GPU check build, tests/device) leave
// this file out.
//
// Frames are decoded at the original size, then resized like JPEG frames
// (PreprocessVideoFrame); decord scales with FFmpeg's own scaler, so neither
// is reproducible bit for bit by the other. Limits as FrameSourceOptions.
//
// Thread-safety: as documented on the class. No OpenCV or LibTorch exception
// escapes: they become statuses.

#ifndef SAM2_MODEL_VIDEO_FILE_FRAME_SOURCE_H_
#define SAM2_MODEL_VIDEO_FILE_FRAME_SOURCE_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "model/video_frames.h"

namespace sam2 {

// Frames of a video file decoded with OpenCV's VideoCapture (FFmpeg backend).
//
// Random access: FFmpeg seeks (CAP_PROP_POS_FRAMES) land on key frames and
// are not frame-exact for every codec, so this class never seeks. It decodes
// sequentially and keeps a cursor (the index of the next frame the decoder
// will return, always in [0, num_frames()]) plus the last decoded frame:
// GetFrame(i) with i >= cursor skips forward (grab without colour
// conversion), i == cursor - 1 returns the kept frame, i < cursor - 1 reopens
// the file and decodes from the start. Forward propagation therefore costs one
// decode per frame, reverse propagation O(i) per frame (wrap the source in a
// PreprocessedFrameCache, or use a JPEG folder, for backward-heavy work).
// Open counts the frames by decoding the whole file once (container frame
// counts are estimates), stopping with INVALID_ARGUMENT past max_frames.
// Thread-safe: one mutex serializes all decoding.
class VideoFileFrameSource : public FrameSource {
 public:
  // NOT_FOUND when `path` does not exist; INVALID_ARGUMENT when it cannot be
  // opened as a video, has no frames, more than options.max_frames frames,
  // or a frame size outside the side limits.
  static absl::StatusOr<std::unique_ptr<VideoFileFrameSource>> Open(
      const std::string& path, const FrameSourceOptions& options = {});
  ~VideoFileFrameSource() override;

  int64_t num_frames() const override { return num_frames_; }
  int64_t video_height() const override { return height_; }
  int64_t video_width() const override { return width_; }
  absl::StatusOr<at::Tensor> GetFrame(int64_t index) override;
  // The last decoded frame, kept for repeated reads.
  int64_t NumBytes() const override;

  // Number of times the file was (re)opened to go backwards (for tests and
  // metrics).
  int64_t reopen_count() const;

 private:
  struct Decoder;  // cv::VideoCapture + cursor; keeps OpenCV out of the header
  VideoFileFrameSource(std::string path, FrameSourceOptions options);

  const std::string path_;
  const FrameSourceOptions options_;
  int64_t num_frames_ = 0;
  int64_t height_ = 0;
  int64_t width_ = 0;
  mutable absl::Mutex mu_;
  std::unique_ptr<Decoder> decoder_ ABSL_GUARDED_BY(mu_);
  int64_t reopens_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sam2

#endif  // SAM2_MODEL_VIDEO_FILE_FRAME_SOURCE_H_
