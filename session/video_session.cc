#include "session/video_session.h"

#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "model/video_file_frame_source.h"

namespace sam2 {
namespace {

// Stands for the server's path of an upload in messages to the client.
constexpr absl::string_view kUploadPlaceholder = "<upload>";

absl::Status CheckConfig(const VideoSessionConfig& config) {
  if (config.long_video_window < 0 ||
      config.long_video_window > kMaxLongVideoWindow) {
    return absl::InvalidArgumentError(
        absl::StrCat("long_video_window must be in [0, ", kMaxLongVideoWindow,
                     "], got ", config.long_video_window));
  }
  return absl::OkStatus();
}

VideoStateOptions StateOptions(const VideoSessionConfig& config,
                               const VideoSessionLimits& limits) {
  VideoStateOptions options;
  options.frame_cache_frames = limits.frame_cache_frames;
  options.feature_cache_frames = limits.feature_cache_frames;
  options.long_video_window = config.long_video_window;
  options.spill_dir = limits.spill_dir;
  return options;
}

absl::Status NoFramesYet() {
  return absl::FailedPreconditionError(
      "the video has no frames yet; append frames first");
}

}  // namespace

VideoSession::VideoSession(std::shared_ptr<const VideoPredictor> predictor,
                           VideoSourceKind source_kind, std::string owned_file,
                           const VideoSessionLimits& limits)
    : Session(SessionKind::kVideo),
      predictor_(std::move(predictor)),
      source_kind_(source_kind),
      owned_file_(std::move(owned_file)),
      limits_(limits) {}

VideoSession::~VideoSession() {
  state_.reset();  // closes the decoder before the file goes
  if (!owned_file_.empty()) unlink(owned_file_.c_str());
}

absl::StatusOr<std::unique_ptr<VideoSession>> VideoSession::CreateFromFile(
    std::shared_ptr<const VideoPredictor> predictor, std::string path,
    const VideoSessionConfig& config, const VideoSessionLimits& limits) {
  // Owning the file from here on means every failure below deletes it.
  std::unique_ptr<VideoSession> session(new VideoSession(
      std::move(predictor), VideoSourceKind::kVideoFile, path, limits));
  if (absl::Status s = CheckConfig(config); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<VideoFileFrameSource>> source =
      VideoFileFrameSource::Open(path, limits.frames);
  if (!source.ok()) {
    // The file is the client's upload: a file OpenCV cannot read is a bad
    // request, whatever code the opener chose. The message goes to the
    // client, which has no business with the server's file system: the
    // path becomes kUploadPlaceholder.
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot read the uploaded video: ",
        absl::StrReplaceAll(source.status().message(),
                            {{path, kUploadPlaceholder}})));
  }
  absl::StatusOr<std::unique_ptr<VideoInferenceState>> state =
      session->predictor_->InitState(*std::move(source),
                                     StateOptions(config, limits));
  if (!state.ok()) return state.status();
  session->state_ = *std::move(state);
  return session;
}

absl::StatusOr<std::unique_ptr<VideoSession>> VideoSession::CreateFromFrames(
    std::shared_ptr<const VideoPredictor> predictor,
    const std::vector<std::string>& frames, const VideoSessionConfig& config,
    const VideoSessionLimits& limits) {
  if (absl::Status s = CheckConfig(config); !s.ok()) return s;
  std::unique_ptr<VideoSession> session(new VideoSession(
      std::move(predictor), VideoSourceKind::kFrames, "", limits));
  session->config_ = config;
  session->pending_ = std::make_unique<EncodedFrameSource>(limits.frames);
  session->frames_ = session->pending_.get();
  if (!frames.empty()) {
    absl::StatusOr<int64_t> n = session->AppendFrames(frames);
    if (!n.ok()) return n.status();
  }
  return session;
}

absl::StatusOr<int64_t> VideoSession::AppendFrames(
    const std::vector<std::string>& frames) {
  if (source_kind_ != VideoSourceKind::kFrames) {
    return absl::FailedPreconditionError(
        "frames can only be appended to a session created from frames, not "
        "from a video file");
  }
  if (frames_ == nullptr) {
    return absl::FailedPreconditionError(
        "the session could not start tracking its first frame; delete it");
  }
  absl::Status appended;
  for (size_t i = 0; i < frames.size(); ++i) {
    absl::StatusOr<int64_t> index = frames_->AppendEncodedFrame(frames[i]);
    if (!index.ok()) {
      appended = absl::Status(
          index.status().code(),
          absl::StrCat("frame ", frames_->num_frames(), " (", i + 1, " of ",
                       frames.size(), " in this request): ",
                       index.status().message()));
      break;
    }
  }
  // The frames before a bad one stay appended, so the state starts with
  // them even when this request fails.
  if (state_ == nullptr && frames_->num_frames() > 0) {
    absl::StatusOr<std::unique_ptr<VideoInferenceState>> state =
        predictor_->InitState(std::move(pending_),
                              StateOptions(config_, limits_));
    if (!state.ok()) {
      frames_ = nullptr;  // InitState destroyed the source
      return state.status();
    }
    state_ = *std::move(state);
  }
  if (!appended.ok()) return appended;
  return frames_->num_frames();
}

absl::StatusOr<FrameMasksOutput> VideoSession::Encode(
    const VideoFrameMasks& frame, MaskEncoding encoding) const {
  FrameMasksOutput out;
  out.frame_index = frame.frame_idx;
  try {
    at::Tensor scores = frame.object_score_logits.defined()
                            ? frame.object_score_logits.to(at::kFloat).cpu()
                            : at::Tensor();
    // One download of the frame's masks, whatever the model's device.
    const at::Tensor masks = frame.masks.cpu();
    for (size_t i = 0; i < frame.obj_ids.size(); ++i) {
      ObjectMaskOutput o;
      o.object_id = frame.obj_ids[i];
      absl::StatusOr<EncodedMask> mask =
          EncodeMask(masks[static_cast<int64_t>(i)], encoding);
      if (!mask.ok()) return mask.status();
      o.mask = *std::move(mask);
      if (scores.defined()) {
        o.object_score = scores.reshape({-1})[static_cast<int64_t>(i)].item<float>();
      }
      out.objects.push_back(std::move(o));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("encoding masks: ", e.what()));
  }
  return out;
}

absl::StatusOr<FrameMasksOutput> VideoSession::AddPrompts(
    const VideoPromptInput& input, const StageObserver& observe) {
  if (state_ == nullptr) return NoFramesYet();
  if (static_cast<int64_t>(input.points.size()) > limits_.max_points) {
    return absl::InvalidArgumentError(absl::StrCat(
        input.points.size(), " points in one request; the limit is ",
        limits_.max_points));
  }
  const std::vector<int64_t>& ids = state_->obj_ids();
  if (std::find(ids.begin(), ids.end(), input.object_id) == ids.end() &&
      static_cast<int64_t>(ids.size()) >= limits_.max_objects) {
    return absl::InvalidArgumentError(absl::StrCat(
        "object ", input.object_id, " would be object number ", ids.size() + 1,
        "; a video session tracks at most ", limits_.max_objects, " objects"));
  }
  const bool has_mask = input.mask.has_value();
  if (has_mask && (!input.points.empty() || input.box.has_value())) {
    return absl::InvalidArgumentError(
        "give clicks and/or a box, or a mask, not both");
  }
  if (!has_mask && input.points.empty() && !input.box.has_value()) {
    return absl::InvalidArgumentError(
        "a prompt needs clicks, a box or a mask");
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<VideoFrameMasks> frame;
  if (has_mask) {
    absl::StatusOr<at::Tensor> mask = DecodeBinaryMask(
        *input.mask, state_->video_height(), state_->video_width());
    if (!mask.ok()) return mask.status();
    frame = predictor_->AddNewMask(*state_, input.frame_index, input.object_id,
                                   *mask);
  } else {
    at::Tensor points, labels, box;
    try {
      if (!input.points.empty()) {
        const int64_t n = static_cast<int64_t>(input.points.size());
        points = at::empty({n, 2}, at::kFloat);
        labels = at::empty({n}, at::kInt);
        auto p = points.accessor<float, 2>();
        auto l = labels.accessor<int32_t, 1>();
        for (int64_t i = 0; i < n; ++i) {
          p[i][0] = input.points[i].x;
          p[i][1] = input.points[i].y;
          l[i] = input.points[i].label;
        }
      }
      if (input.box) {
        box = at::tensor({input.box->x0, input.box->y0, input.box->x1,
                          input.box->y1},
                         at::kFloat);
      }
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("building prompts: ", e.what()));
    }
    frame = predictor_->AddNewPointsOrBox(*state_, input.frame_index,
                                          input.object_id, points, labels, box,
                                          input.clear_old_points);
  }
  if (!frame.ok()) return frame.status();
  if (observe) observe("decoder", absl::Now() - start);
  return Encode(*frame, input.encoding);
}

absl::StatusOr<FrameMasksOutput> VideoSession::ClearPrompts(
    int64_t frame_index, int64_t object_id, MaskEncoding encoding) {
  if (state_ == nullptr) return NoFramesYet();
  // The predictor, like the reference's clear_all_prompts_in_frame, would
  // create an unknown object: one without prompts (which blocks every later
  // propagation until it is removed) and outside limits_.max_objects.
  const std::vector<int64_t>& ids = state_->obj_ids();
  if (std::find(ids.begin(), ids.end(), object_id) == ids.end()) {
    return absl::NotFoundError(
        absl::StrCat("object ", object_id, " is not in this video (objects: ",
                     absl::StrJoin(ids, ", "), ")"));
  }
  absl::StatusOr<VideoFrameMasks> frame =
      predictor_->ClearAllPromptsInFrame(*state_, frame_index, object_id);
  if (!frame.ok()) return frame.status();
  return Encode(*frame, encoding);
}

absl::StatusOr<RemoveObjectOutput> VideoSession::RemoveObject(
    int64_t object_id, MaskEncoding encoding) {
  if (state_ == nullptr) return NoFramesYet();
  absl::StatusOr<RemoveObjectResult> result =
      predictor_->RemoveObject(*state_, object_id, /*strict=*/true);
  if (!result.ok()) return result.status();
  RemoveObjectOutput out;
  out.object_ids = result->obj_ids;
  for (const VideoFrameMasks& f : result->updated_frames) {
    absl::StatusOr<FrameMasksOutput> encoded = Encode(f, encoding);
    if (!encoded.ok()) return encoded.status();
    out.updated_frames.push_back(*std::move(encoded));
  }
  return out;
}

void VideoSession::Reset() {
  plan_.reset();
  if (state_ != nullptr) predictor_->ResetState(*state_);
}

absl::StatusOr<int64_t> VideoSession::BeginPropagation(
    const PropagationRequest& request) {
  plan_.reset();
  if (state_ == nullptr) return NoFramesYet();
  PropagateOptions options;
  options.start_frame = request.start_frame;
  options.max_frames = request.max_frames;
  options.reverse = request.direction == PropagationDirection::kReverse;
  absl::StatusOr<std::vector<int64_t>> frames =
      predictor_->BeginPropagation(*state_, options);
  if (!frames.ok()) return frames.status();
  Plan plan;
  plan.frames = *std::move(frames);
  plan.reverse = options.reverse;
  plan.encoding = request.encoding;
  plan.max_frames = request.max_frames;
  int64_t total = static_cast<int64_t>(plan.frames.size());
  if (request.direction == PropagationDirection::kBoth && !plan.frames.empty()) {
    // The backward pass is planned when it starts (its preflight must see
    // the forward pass's outputs); count its frames now the way the
    // predictor will plan them: start, start-1, ..., max(start - max, 0),
    // none from frame 0, minus the start frame already reported (so none
    // at all from frame 0 or with max_frames 0).
    plan.start_frame = plan.frames.front();
    const int64_t max_frames = request.max_frames.value_or(state_->num_frames());
    const int64_t end = std::max<int64_t>(plan.start_frame - max_frames, 0);
    plan.backward_pending = plan.start_frame > end;
    if (plan.backward_pending) total += plan.start_frame - end;
  }
  plan_ = std::move(plan);
  return total;
}

bool VideoSession::HasNextFrame() const {
  if (!plan_) return false;
  if (plan_->next < plan_->frames.size()) return true;
  return plan_->backward_pending;
}

absl::StatusOr<FrameMasksOutput> VideoSession::PropagateNext(
    const StageObserver& observe) {
  if (!HasNextFrame()) {
    return absl::FailedPreconditionError("no propagation frame is pending");
  }
  const absl::Time start = absl::Now();
  if (plan_->next >= plan_->frames.size()) {
    PropagateOptions options;
    options.start_frame = plan_->start_frame;
    options.max_frames = plan_->max_frames;
    options.reverse = true;
    absl::StatusOr<std::vector<int64_t>> frames =
        predictor_->BeginPropagation(*state_, options);
    if (!frames.ok()) return frames.status();
    plan_->frames = *std::move(frames);
    plan_->reverse = true;
    plan_->backward_pending = false;
    // The start frame was reported by the forward pass.
    plan_->next = plan_->frames.empty() ? 0 : 1;
    if (plan_->next >= plan_->frames.size()) {
      return absl::InternalError("the backward pass planned no frame");
    }
    // The reference's second propagate_in_video tracks its start frame
    // again, in reverse: a conditioning frame is only looked up, but an
    // object tracked there by the forward pass gets a reverse-tracked output,
    // which the frames before it then use as memory. Do the same, without
    // reporting the frame a second time.
    absl::StatusOr<VideoFrameMasks> again =
        predictor_->PropagateFrame(*state_, plan_->frames.front(), true);
    if (!again.ok()) return again.status();
  }
  const int64_t f = plan_->frames[plan_->next++];
  absl::StatusOr<VideoFrameMasks> frame =
      predictor_->PropagateFrame(*state_, f, plan_->reverse);
  if (!frame.ok()) return frame.status();
  if (observe) observe("memory", absl::Now() - start);
  const absl::Time post = absl::Now();
  absl::StatusOr<FrameMasksOutput> out = Encode(*frame, plan_->encoding);
  if (observe) observe("postprocess", absl::Now() - post);
  return out;
}

void VideoSession::EndPropagation() { plan_.reset(); }

absl::StatusOr<std::string> VideoSession::FrameJpeg(int64_t index) const {
  if (state_ == nullptr) return NoFramesYet();
  if (index < 0 || index >= state_->num_frames()) {
    return absl::OutOfRangeError(absl::StrCat(
        "frame_index ", index, " is outside the video's ", state_->num_frames(),
        " frames"));
  }
  absl::StatusOr<at::Tensor> rgb = state_->OriginalFrame(index);
  if (!rgb.ok()) return rgb.status();
  const at::Tensor frame = rgb->contiguous();
  const cv::Mat view(static_cast<int>(frame.size(0)),
                     static_cast<int>(frame.size(1)), CV_8UC3,
                     const_cast<uint8_t*>(frame.data_ptr<uint8_t>()));
  cv::Mat bgr;
  cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> jpeg;
  if (!cv::imencode(".jpg", bgr, jpeg,
                    {cv::IMWRITE_JPEG_QUALITY, kFrameJpegQuality})) {
    return absl::InternalError(absl::StrCat("cannot encode frame ", index));
  }
  return std::string(jpeg.begin(), jpeg.end());
}

VideoSessionInfo VideoSession::Info() const {
  VideoSessionInfo info;
  info.source = source_kind_;
  if (state_ == nullptr) return info;
  info.num_frames = state_->num_frames();
  info.height = state_->video_height();
  info.width = state_->video_width();
  info.object_ids = state_->obj_ids();
  for (int64_t id : info.object_ids) {
    info.prompted_frames.emplace_back(id, state_->PromptedFrames(id));
  }
  return info;
}

int64_t VideoSession::NumBytes() const {
  if (state_ != nullptr) return state_->NumBytes();
  return frames_ != nullptr ? frames_->NumBytes() : 0;
}

}  // namespace sam2
