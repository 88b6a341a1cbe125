// VideoPredictor: SAM 2 on videos — prompt objects (clicks, boxes, masks) on
// any frame, then propagate them through the video, frame by frame.
//
// Mirrors `SAM2VideoPredictor` (sam2/sam2_video_predictor.py, the December
// 2024 version: objects are tracked independently, one at a time, and may
// be added after tracking started): init_state, add_new_points_or_box,
// add_new_mask, propagate_in_video (+ preflight), clear_all_prompts_in_frame,
// remove_object, reset_state, with the same bookkeeping (per-object inputs,
// temporary outputs consolidated before propagation, conditioning and
// non-conditioning memories, hole filling of stored masks, memory features
// stored in bfloat16).
// Deliberate differences:
//  - frames are decoded and preprocessed on demand through a small LRU
//    (video_frames.h) instead of all up front; results are unchanged;
//  - an optional long-video mode (VideoStateOptions::long_video_window)
//    bounds the memory features a state holds; results are unchanged;
//  - invalid requests (unknown object for strict removal, frame out of
//    range, propagate without prompts, wrong mask size, a box with
//    clear_old_points=false, points off the frame) are statuses, checked
//    before any state changes;
//  - propagation reports each frame to a callback that may stop it (a
//    non-OK status from the callback ends propagation with that status; the
//    frames done so far stay tracked);
//  - propagation can also be driven one frame at a time (BeginPropagation =
//    the preflight and the frame order, then PropagateFrame per frame; the
//    reference's generator, with the loop in the caller's hands) so that a
//    server can interleave sessions, pause on a slow reader and cancel
//    between frames; PropagateInVideo is exactly that loop;
//  - every result also carries each object's object score logit (the
//    reference returns masks only; its stored outputs hold the scores). An
//    object with no output on a consolidated frame gets
//    kMissingObjectScoreLogit (see there);
//  - non_overlap_masks and clear_non_cond_mem_around_input (both off in the
//    official builders; the latter calls a missing method in the reference)
//    are not supported and rejected at Create().
//
// Thread-safety: a VideoPredictor is immutable and shared; a
// VideoInferenceState must be used by one thread at a time (the session
// layer serialises operations on it).

#ifndef SAM2_MODEL_VIDEO_PREDICTOR_H_
#define SAM2_MODEL_VIDEO_PREDICTOR_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/image_encoder.h"
#include "model/sam2_config.h"
#include "model/sam2_tracker.h"
#include "model/spill_file.h"
#include "model/state_dict.h"
#include "model/video_frames.h"

namespace sam2 {

// Default number of preprocessed frames a state keeps.
inline constexpr int64_t kDefaultVideoFrameCacheFrames = 16;
inline constexpr int64_t kDefaultFeatureCacheFrames = 2;

struct VideoStateOptions {
  // Preprocessed frames kept in the state's LRU (frames are decoded on
  // demand; this changes no result).
  int64_t frame_cache_frames = kDefaultVideoFrameCacheFrames;
  // Frames whose image features are kept (the reference keeps one; two let
  // long-video mode rebuild an old memory without recomputing the current
  // frame's features).
  int64_t feature_cache_frames = kDefaultFeatureCacheFrames;
  // Long-video mode when > 0: memory features of non-conditioning frames
  // farther than this many frames from the frame being tracked are dropped
  // after each tracked frame; their low-res logits, object score, object
  // pointer and how the memory was made are kept, and a dropped memory is
  // rebuilt exactly (same image features, same mask, same encoder) when a
  // later step reads it. 0: keep every memory, as the reference does.
  int64_t long_video_window = 0;
  // Long-video mode: the low-res mask logits of frames whose memory was
  // dropped go to an unnamed scratch file in this directory (empty: $TMPDIR
  // or /tmp), so the state's memory stays bounded.
  std::string spill_dir;
};

class VideoPredictor;

// What the reference keeps in `inference_state`, for one video.
class VideoInferenceState {
 public:
  int64_t num_frames() const { return source_->num_frames(); }
  int64_t video_height() const { return source_->video_height(); }
  int64_t video_width() const { return source_->video_width(); }
  // Frame `index` as the source decodes it (uint8 [H, W, 3] RGB, the
  // video's own size), e.g. to show it; FrameSource::GetFrame's statuses.
  // Not cached here (the preprocessed frames are).
  absl::StatusOr<at::Tensor> OriginalFrame(int64_t index) const {
    return source_->GetFrame(index);
  }
  // Object ids in order of first use.
  const std::vector<int64_t>& obj_ids() const { return obj_ids_; }
  // Frames that received prompts, per object id.
  std::vector<int64_t> PromptedFrames(int64_t obj_id) const;
  // Bytes held: memories, masks, pointers, prompts, cached frames and
  // features, and the frame source's own frames (FrameSource::NumBytes:
  // decoded or encoded frames appended by a caller; ~0 for files read on
  // demand).
  int64_t NumBytes() const;
  // Long-video mode: memories dropped and rebuilt so far.
  int64_t memories_evicted() const { return memories_evicted_; }
  int64_t memories_rebuilt() const { return memories_rebuilt_; }
  // Long-video mode: bytes moved to the scratch file.
  int64_t bytes_spilled() const { return spill_ ? spill_->bytes_written() : 0; }

 private:
  friend class VideoPredictor;
  friend class VideoInferenceStateTestPeer;  // tests read stored outputs
  struct PointInputs {
    at::Tensor coords;  // [1, P, 2] model pixels
    at::Tensor labels;  // [1, P] int32
  };
  struct ObjectState {
    std::map<int64_t, PointInputs> point_inputs;
    std::map<int64_t, at::Tensor> mask_inputs;
    ObjectMemoryBank output;
    ObjectMemoryBank temp;
    std::map<int64_t, bool> frames_tracked;  // frame -> tracked in reverse
  };

  std::unique_ptr<FrameSource> source_;
  std::unique_ptr<PreprocessedFrameCache> frames_;
  // Image features of the most recently used frames, most recent first.
  std::list<std::pair<int64_t, TrackingFeatures>> features_;
  int64_t feature_cache_frames_ = 1;
  std::vector<int64_t> obj_ids_;
  std::vector<ObjectState> objects_;  // by object index
  at::Tensor maskmem_pos_enc_;        // the same for every frame and object
  int64_t long_video_window_ = 0;
  std::string spill_dir_;
  std::unique_ptr<SpillFile> spill_;  // created on first use
  int64_t memories_evicted_ = 0;
  int64_t memories_rebuilt_ = 0;
};

// The object score logit reported for an object that has no output on a
// consolidated frame (prompted for another object, never tracked there); its
// mask is all kNoObjScore. The December 2024 reference's consolidation keeps
// no scores; its September 2024 (SAM 2.1) version initialised the
// consolidated "object_score_logits" to 10.0 for missing objects ("assuming
// the object is present as sigmoid(10)=1, same as in `predict_masks` of
// `MaskDecoder`"), and this is that placeholder. Read presence from the
// mask, not from this value, for such objects.
inline constexpr float kMissingObjectScoreLogit = 10.0f;

// Masks of every object on one frame, at the video's resolution.
struct VideoFrameMasks {
  int64_t frame_idx = 0;
  std::vector<int64_t> obj_ids;
  at::Tensor masks;  // [num_objects, 1, H, W] float logits
  // [num_objects] float32, one per obj_ids entry, on the masks' device: the
  // object score logit (> 0: the object is predicted present) of the output
  // each mask comes from; kMissingObjectScoreLogit where there is none.
  at::Tensor object_score_logits;
};

struct PropagateOptions {
  std::optional<int64_t> start_frame;     // default: earliest prompted frame
  std::optional<int64_t> max_frames;      // default: the whole video
  bool reverse = false;
};

struct RemoveObjectResult {
  std::vector<int64_t> obj_ids;
  std::vector<VideoFrameMasks> updated_frames;
};

class VideoPredictor {
 public:
  static absl::StatusOr<std::shared_ptr<const VideoPredictor>> Create(
      const Sam2Config& config, const StateDict& weights);

  absl::StatusOr<std::unique_ptr<VideoInferenceState>> InitState(
      std::unique_ptr<FrameSource> source,
      const VideoStateOptions& options = {}) const;

  // points [N, 2] (x, y) with labels [N] (1 positive, 0 negative), and/or a
  // box [4] (x0, y0, x1, y1); video pixels when normalize_coords, else [0, 1].
  absl::StatusOr<VideoFrameMasks> AddNewPointsOrBox(
      VideoInferenceState& state, int64_t frame_idx, int64_t obj_id,
      const at::Tensor& points, const at::Tensor& labels,
      const at::Tensor& box, bool clear_old_points = true,
      bool normalize_coords = true) const;

  // mask [H, W] (bool or 0/1) at the video's size (or the model's S x S;
  // the reference takes any size, a mismatch here is a client error).
  absl::StatusOr<VideoFrameMasks> AddNewMask(VideoInferenceState& state,
                                             int64_t frame_idx, int64_t obj_id,
                                             const at::Tensor& mask) const;

  // propagate_in_video: BeginPropagation, then PropagateFrame for each
  // planned frame, handing each frame's masks to `on_frame`; a non-OK status
  // from on_frame stops propagation and is returned.
  absl::Status PropagateInVideo(
      VideoInferenceState& state, const PropagateOptions& options,
      const std::function<absl::Status(const VideoFrameMasks&)>& on_frame) const;

  // Validates options, runs the preflight (consolidation), and returns the
  // frames to visit in order. After this, PropagateFrame must be called for
  // those frames in that order (the state must not be changed by other calls
  // in between; the session layer guarantees it). Stopping early is fine:
  // the frames done stay tracked, as when on_frame stops PropagateInVideo.
  // OUT_OF_RANGE for a start_frame outside the video; INVALID_ARGUMENT for
  // max_frames < 0; FAILED_PRECONDITION when no object, or some object, has
  // no prompts. The plan may be empty (reverse from frame 0).
  absl::StatusOr<std::vector<int64_t>> BeginPropagation(
      VideoInferenceState& state, const PropagateOptions& options) const;

  // Tracks every object on `frame_idx` (one step of the loop) and returns
  // its masks. OUT_OF_RANGE for a frame outside the video;
  // FAILED_PRECONDITION when BeginPropagation has not run since the last
  // prompt change (no object, an object without prompts, or prompts not yet
  // consolidated) — the reference cannot get there, but a misused session
  // must get a status, not a crash.
  absl::StatusOr<VideoFrameMasks> PropagateFrame(VideoInferenceState& state,
                                                 int64_t frame_idx,
                                                 bool reverse) const;

  absl::StatusOr<VideoFrameMasks> ClearAllPromptsInFrame(
      VideoInferenceState& state, int64_t frame_idx, int64_t obj_id) const;

  // Unknown id: NOT_FOUND when strict, else nothing happens.
  absl::StatusOr<RemoveObjectResult> RemoveObject(VideoInferenceState& state,
                                                  int64_t obj_id,
                                                  bool strict = false) const;

  void ResetState(VideoInferenceState& state) const;

  const Sam2Config& config() const { return config_; }
  // Where the weights and every session's tracking state live (the
  // weights' device, see Sam2Model::device); frames and prompts arrive as
  // host tensors and are uploaded here, results stay on it.
  c10::Device device() const { return device_; }

 private:
  VideoPredictor(Sam2Config config, c10::Device device, ImageEncoder encoder,
                 Sam2Tracker tracker);

  int ObjIdToIdx(VideoInferenceState& state, int64_t obj_id) const;
  absl::StatusOr<const TrackingFeatures*> GetFeatures(VideoInferenceState& state,
                                                      int64_t frame_idx) const;
  // _run_single_frame_inference: the compact output and the (hole-filled)
  // low-res masks.
  absl::StatusOr<FrameOutput> RunSingleFrame(
      VideoInferenceState& state, int obj_idx, int64_t frame_idx,
      bool is_init_cond_frame, const at::Tensor& point_coords,
      const at::Tensor& point_labels, const at::Tensor& mask_inputs,
      bool reverse, bool run_mem_encoder,
      const at::Tensor& prev_sam_mask_logits) const;
  absl::StatusOr<std::pair<at::Tensor, at::Tensor>> RunMemoryEncoder(
      VideoInferenceState& state, int64_t frame_idx,
      const at::Tensor& high_res_masks, const at::Tensor& object_score_logits,
      bool is_mask_from_pts) const;
  at::Tensor MaskmemPosEnc(VideoInferenceState& state,
                           const at::Tensor& pos) const;
  absl::StatusOr<VideoFrameMasks> ConsolidateAtVideoRes(
      VideoInferenceState& state, int64_t frame_idx, bool is_cond) const;
  absl::StatusOr<VideoFrameMasks> RunPrompt(
      VideoInferenceState& state, int obj_idx, int64_t frame_idx,
      const at::Tensor& point_coords, const at::Tensor& point_labels,
      const at::Tensor& mask_inputs, bool use_prev_logits) const;
  absl::Status Preflight(VideoInferenceState& state) const;
  absl::Status CheckFrame(const VideoInferenceState& state,
                          int64_t frame_idx) const;
  void ClearPromptsUnchecked(VideoInferenceState& state, int obj_idx,
                             int64_t frame_idx) const;
  // Long-video mode: rebuilds the dropped memories a track step on
  // `frame_idx` will read, and drops those outside the window.
  absl::Status EnsureMemories(VideoInferenceState& state, int obj_idx,
                              int64_t frame_idx, bool reverse) const;
  absl::Status EvictMemories(VideoInferenceState& state,
                             int64_t frame_idx) const;
  // An output's low-res logits, read back from the scratch file if needed.
  absl::StatusOr<at::Tensor> PredMasks(const VideoInferenceState& state,
                                       const FrameOutput& out) const;

  Sam2Config config_;
  c10::Device device_;
  ImageEncoder encoder_;
  Sam2Tracker tracker_;
};

}  // namespace sam2

#endif  // SAM2_MODEL_VIDEO_PREDICTOR_H_
