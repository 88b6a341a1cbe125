// VideoSession: one video with its tracking state — the session-layer face
// of the video predictor, in plain C++ types.
//
// A session's frames come from an uploaded video file (decoded on demand
// from a file the session owns and deletes) or from encoded frames (JPEG /
// PNG, kept encoded and decoded on demand; such a session may grow with
// AppendFrames, for live sources). The VideoInferenceState holds everything
// else; long-video mode (VideoSessionConfig::long_video_window) bounds it.
//
// Propagation is incremental so the service can run it one frame per worker
// task: BeginPropagation plans the frames, PropagateNext tracks the next
// one, and nothing else may touch the session in between (the service holds
// the session's exclusivity, Session::BeginExclusive, for the whole
// propagation; other operations get ABORTED).
//
// Direction kBoth runs forward from the start frame, then backward from it
// (the reference's demo does the same with two propagate_in_video calls);
// the start frame is reported once, in the forward pass (the backward pass
// tracks it again without reporting it, as the reference's second call
// does, so every frame's masks are the reference's).
//
// Thread-safety: one operation at a time (see above). The predictor is
// shared and const.

#ifndef SAM2_SESSION_VIDEO_SESSION_H_
#define SAM2_SESSION_VIDEO_SESSION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/video_frames.h"
#include "model/video_predictor.h"
#include "session/image_session.h"
#include "session/mask_encoding.h"
#include "session/session.h"

namespace sam2 {

// DESIGN.md limits.
inline constexpr int kDefaultMaxObjects = 16;
// JPEG quality of FrameJpeg (a preview, not the model's input).
inline constexpr int kFrameJpegQuality = 90;
inline constexpr int64_t kDefaultMaxVideoUploadBytes = int64_t{2} << 30;
// Largest long-video window a client may ask for (larger is the same as 0).
inline constexpr int64_t kMaxLongVideoWindow = 1 << 20;

struct VideoSessionLimits {
  FrameSourceOptions frames;
  int max_objects = kDefaultMaxObjects;
  int max_points = kDefaultMaxPoints;
  int64_t frame_cache_frames = kDefaultVideoFrameCacheFrames;
  int64_t feature_cache_frames = kDefaultFeatureCacheFrames;
  // Scratch files of long-video mode (empty: $TMPDIR or /tmp).
  std::string spill_dir;
};

struct VideoSessionConfig {
  int64_t long_video_window = 0;
};

enum class VideoSourceKind { kVideoFile, kFrames };

struct ObjectMaskOutput {
  int64_t object_id = 0;
  EncodedMask mask;
  float object_score = 0;
};

struct FrameMasksOutput {
  int64_t frame_index = 0;
  std::vector<ObjectMaskOutput> objects;
};

struct VideoPromptInput {
  int64_t frame_index = 0;
  int64_t object_id = 0;
  // Points and/or a box (add_new_points_or_box), or a mask (add_new_mask).
  std::vector<PointPrompt> points;
  std::optional<BoxPrompt> box;
  std::optional<EncodedMask> mask;  // kRle or kPng at the video's size
  bool clear_old_points = true;
  MaskEncoding encoding = MaskEncoding::kRle;
};

enum class PropagationDirection { kForward, kReverse, kBoth };

struct PropagationRequest {
  std::optional<int64_t> start_frame;
  std::optional<int64_t> max_frames;
  PropagationDirection direction = PropagationDirection::kForward;
  MaskEncoding encoding = MaskEncoding::kRle;
};

struct RemoveObjectOutput {
  std::vector<int64_t> object_ids;
  std::vector<FrameMasksOutput> updated_frames;
};

struct VideoSessionInfo {
  int64_t num_frames = 0;
  int64_t height = 0;
  int64_t width = 0;
  std::vector<int64_t> object_ids;
  std::vector<std::pair<int64_t, std::vector<int64_t>>> prompted_frames;
  VideoSourceKind source = VideoSourceKind::kFrames;
};

class VideoSession : public Session {
 public:
  // Frames of the video file at `path`, which the session then owns: it is
  // deleted with the session (and now, on failure).
  static absl::StatusOr<std::unique_ptr<VideoSession>> CreateFromFile(
      std::shared_ptr<const VideoPredictor> predictor, std::string path,
      const VideoSessionConfig& config, const VideoSessionLimits& limits);

  // Encoded frames (JPEG / PNG), possibly none yet.
  static absl::StatusOr<std::unique_ptr<VideoSession>> CreateFromFrames(
      std::shared_ptr<const VideoPredictor> predictor,
      const std::vector<std::string>& frames, const VideoSessionConfig& config,
      const VideoSessionLimits& limits);

  ~VideoSession() override;

  // FAILED_PRECONDITION for a video-file session; INVALID_ARGUMENT for a bad
  // frame (frames before it stay appended). Returns the new frame count.
  absl::StatusOr<int64_t> AppendFrames(const std::vector<std::string>& frames);

  absl::StatusOr<FrameMasksOutput> AddPrompts(const VideoPromptInput& input,
                                              const StageObserver& observe = {});
  // NOT_FOUND for an object the session does not have (the predictor would
  // create it, prompt-less); OUT_OF_RANGE for a frame outside the video.
  absl::StatusOr<FrameMasksOutput> ClearPrompts(int64_t frame_index,
                                                int64_t object_id,
                                                MaskEncoding encoding);
  absl::StatusOr<RemoveObjectOutput> RemoveObject(int64_t object_id,
                                                  MaskEncoding encoding);
  void Reset();

  // Plans a propagation; returns the number of frames it will report.
  absl::StatusOr<int64_t> BeginPropagation(const PropagationRequest& request);
  // False once every planned frame was reported (or nothing is planned).
  bool HasNextFrame() const;
  // Tracks and encodes the next planned frame.
  absl::StatusOr<FrameMasksOutput> PropagateNext(
      const StageObserver& observe = {});
  // Forgets the plan (after the last frame, on cancellation or an error).
  void EndPropagation();

  // Frame `index` as a JPEG file of the video's own size (what the model
  // sees, before its resize), for a client that cannot decode the video
  // itself. FAILED_PRECONDITION with no frames yet; OUT_OF_RANGE outside
  // the video. Reads the frame source: run it like any other operation.
  absl::StatusOr<std::string> FrameJpeg(int64_t index) const;

  VideoSessionInfo Info() const;
  int64_t NumBytes() const override;

 private:
  VideoSession(std::shared_ptr<const VideoPredictor> predictor,
               VideoSourceKind source_kind, std::string owned_file,
               const VideoSessionLimits& limits);

  absl::StatusOr<FrameMasksOutput> Encode(const VideoFrameMasks& frame,
                                          MaskEncoding encoding) const;

  const std::shared_ptr<const VideoPredictor> predictor_;
  const VideoSourceKind source_kind_;
  const std::string owned_file_;
  const VideoSessionLimits limits_;
  VideoSessionConfig config_;
  // Null until the video has a frame (a frames session may start empty).
  std::unique_ptr<VideoInferenceState> state_;
  // A frames session's source: owned here until the first frame arrives and
  // the state is created, then by state_.
  std::unique_ptr<EncodedFrameSource> pending_;
  EncodedFrameSource* frames_ = nullptr;

  // The propagation in progress: frames of the current pass, the next
  // index into them, and the backward pass still to plan (kBoth).
  struct Plan {
    std::vector<int64_t> frames;
    size_t next = 0;
    bool reverse = false;
    bool backward_pending = false;
    int64_t start_frame = 0;
    std::optional<int64_t> max_frames;
    MaskEncoding encoding = MaskEncoding::kRle;
  };
  std::optional<Plan> plan_;
};

}  // namespace sam2

#endif  // SAM2_SESSION_VIDEO_SESSION_H_
