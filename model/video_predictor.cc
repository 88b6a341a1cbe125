#include "model/video_predictor.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/mask_postprocess.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"
#include "model/device.h"

namespace sam2 {
namespace {

int64_t BytesOf(const at::Tensor& t) { return t.defined() ? t.nbytes() : 0; }

int64_t BytesOf(const FrameOutputMap& m) {
  int64_t n = 0;
  for (int64_t f : m.frames()) {
    const FrameOutput* o = m.Find(f);
    // maskmem_pos_enc is one shared tensor per state; counted there.
    n += BytesOf(o->pred_masks) + BytesOf(o->pred_masks_high_res) +
         BytesOf(o->obj_ptr) + BytesOf(o->object_score_logits) +
         BytesOf(o->maskmem_features) + BytesOf(o->fill_undo_index) +
         BytesOf(o->fill_undo_value);
  }
  return n;
}

at::Tensor Bilinear(const at::Tensor& x, int64_t h, int64_t w) {
  return at::upsample_bilinear2d(x, {h, w}, /*align_corners=*/false);
}

// Wraps a body that may throw c10::Error.
template <typename F>
auto Guard(const char* what, F&& body) -> decltype(body()) {
  try {
    c10::InferenceMode guard;
    return body();
  } catch (const c10::Error& e) {
    return TorchError(absl::StrCat(what, ": "), e);
  }
}

}  // namespace

std::vector<int64_t> VideoInferenceState::PromptedFrames(int64_t obj_id) const {
  std::set<int64_t> frames;
  for (size_t i = 0; i < obj_ids_.size(); ++i) {
    if (obj_ids_[i] != obj_id) continue;
    for (const auto& [f, _] : objects_[i].point_inputs) frames.insert(f);
    for (const auto& [f, _] : objects_[i].mask_inputs) frames.insert(f);
  }
  return {frames.begin(), frames.end()};
}

int64_t VideoInferenceState::NumBytes() const {
  int64_t n = BytesOf(maskmem_pos_enc_);
  for (const ObjectState& o : objects_) {
    n += BytesOf(o.output.cond_frame_outputs) +
         BytesOf(o.output.non_cond_frame_outputs) +
         BytesOf(o.temp.cond_frame_outputs) +
         BytesOf(o.temp.non_cond_frame_outputs);
    for (const auto& [f, p] : o.point_inputs) {
      n += BytesOf(p.coords) + BytesOf(p.labels);
    }
    for (const auto& [f, m] : o.mask_inputs) n += BytesOf(m);
  }
  for (const auto& [frame, f] : features_) {
    for (const at::Tensor& t : f.levels) n += BytesOf(t);
    for (const at::Tensor& t : f.pos) n += BytesOf(t);
  }
  if (frames_) n += frames_->bytes_held();
  if (source_) n += source_->NumBytes();
  return n;
}

VideoPredictor::VideoPredictor(Sam2Config config, c10::Device device,
                               ImageEncoder encoder, Sam2Tracker tracker)
    : config_(std::move(config)),
      device_(device),
      encoder_(std::move(encoder)),
      tracker_(std::move(tracker)) {}

absl::StatusOr<std::shared_ptr<const VideoPredictor>> VideoPredictor::Create(
    const Sam2Config& config, const StateDict& weights) {
  if (config.video_predictor.non_overlap_masks ||
      config.video_predictor.clear_non_cond_mem_around_input ||
      config.non_overlap_masks_for_mem_enc) {
    return absl::UnimplementedError(
        "non_overlap_masks, non_overlap_masks_for_mem_enc and "
        "clear_non_cond_mem_around_input are not supported (all off in the "
        "official configs)");
  }
  absl::StatusOr<c10::Device> device = weights.Device();
  if (!device.ok()) return device.status();
  absl::StatusOr<ImageEncoder> encoder = ImageEncoder::Create(config, weights);
  if (!encoder.ok()) return encoder.status();
  absl::StatusOr<Sam2Tracker> tracker = Sam2Tracker::Create(config, weights);
  if (!tracker.ok()) return tracker.status();
  return std::shared_ptr<const VideoPredictor>(new VideoPredictor(
      config, *device, *std::move(encoder), *std::move(tracker)));
}

absl::StatusOr<std::unique_ptr<VideoInferenceState>> VideoPredictor::InitState(
    std::unique_ptr<FrameSource> source, const VideoStateOptions& options) const {
  if (source == nullptr || source->num_frames() <= 0) {
    return absl::InvalidArgumentError("the video has no frames");
  }
  if (options.frame_cache_frames < 1 || options.feature_cache_frames < 1 ||
      options.long_video_window < 0) {
    return absl::InvalidArgumentError(
        "frame_cache_frames and feature_cache_frames must be >= 1, "
        "long_video_window >= 0");
  }
  auto state = std::unique_ptr<VideoInferenceState>(new VideoInferenceState());
  state->long_video_window_ = options.long_video_window;
  state->feature_cache_frames_ = options.feature_cache_frames;
  state->spill_dir_ = options.spill_dir;
  state->frames_ = std::make_unique<PreprocessedFrameCache>(
      source.get(), config_.image_size, options.frame_cache_frames);
  state->source_ = std::move(source);
  // The reference computes frame 0's features at init; doing it here also
  // reports an undecodable first frame at once.
  absl::StatusOr<const TrackingFeatures*> f0 = GetFeatures(*state, 0);
  if (!f0.ok()) return f0.status();
  return state;
}

absl::Status VideoPredictor::CheckFrame(const VideoInferenceState& state,
                                        int64_t frame_idx) const {
  if (frame_idx < 0 || frame_idx >= state.num_frames()) {
    return absl::OutOfRangeError(absl::StrCat(
        "frame ", frame_idx, " is outside the video (", state.num_frames(),
        " frames)"));
  }
  return absl::OkStatus();
}

int VideoPredictor::ObjIdToIdx(VideoInferenceState& state,
                               int64_t obj_id) const {
  for (size_t i = 0; i < state.obj_ids_.size(); ++i) {
    if (state.obj_ids_[i] == obj_id) return static_cast<int>(i);
  }
  state.obj_ids_.push_back(obj_id);
  state.objects_.emplace_back();
  return static_cast<int>(state.obj_ids_.size() - 1);
}

absl::StatusOr<const TrackingFeatures*> VideoPredictor::GetFeatures(
    VideoInferenceState& state, int64_t frame_idx) const {
  for (auto it = state.features_.begin(); it != state.features_.end(); ++it) {
    if (it->first == frame_idx) {
      state.features_.splice(state.features_.begin(), state.features_, it);
      return &state.features_.front().second;
    }
  }
  absl::StatusOr<at::Tensor> image = state.frames_->Get(frame_idx);
  if (!image.ok()) return image.status();
  absl::StatusOr<at::Tensor> input = Guard("uploading a frame", [&]() {
    return absl::StatusOr<at::Tensor>(ToDevice(image->unsqueeze(0), device_));
  });
  if (!input.ok()) return input.status();
  absl::StatusOr<BackboneOutput> out = encoder_.ForwardImage(*input);
  if (!out.ok()) return out.status();
  state.features_.emplace_front(
      frame_idx, TrackingFeatures{out->backbone_fpn, out->vision_pos_enc});
  while (static_cast<int64_t>(state.features_.size()) >
         state.feature_cache_frames_) {
    state.features_.pop_back();
  }
  return &state.features_.front().second;
}

at::Tensor VideoPredictor::MaskmemPosEnc(VideoInferenceState& state,
                                         const at::Tensor& pos) const {
  if (!state.maskmem_pos_enc_.defined()) {
    state.maskmem_pos_enc_ = pos.narrow(0, 0, 1).clone();
  }
  return state.maskmem_pos_enc_;
}

absl::StatusOr<FrameOutput> VideoPredictor::RunSingleFrame(
    VideoInferenceState& state, int obj_idx, int64_t frame_idx,
    bool is_init_cond_frame, const at::Tensor& point_coords,
    const at::Tensor& point_labels, const at::Tensor& mask_inputs, bool reverse,
    bool run_mem_encoder, const at::Tensor& prev_sam_mask_logits) const {
  absl::StatusOr<const TrackingFeatures*> features =
      GetFeatures(state, frame_idx);
  if (!features.ok()) return features.status();
  TrackStepInput in;
  in.frame_idx = frame_idx;
  in.is_init_cond_frame = is_init_cond_frame;
  in.features = *features;
  in.point_coords = point_coords;
  in.point_labels = point_labels;
  in.mask_inputs = mask_inputs;
  in.memory = &state.objects_[obj_idx].output;
  in.num_frames = state.num_frames();
  in.track_in_reverse = reverse;
  in.run_mem_encoder = run_mem_encoder;
  in.prev_sam_mask_logits = prev_sam_mask_logits;
  absl::StatusOr<FrameOutput> out = tracker_.TrackStep(in);
  if (!out.ok()) return out.status();
  return Guard("storing a frame output", [&]() -> absl::StatusOr<FrameOutput> {
    FrameOutput compact;
    if (out->maskmem_features.defined()) {
      compact.maskmem_features = out->maskmem_features.to(at::kBFloat16);
      compact.maskmem_pos_enc = MaskmemPosEnc(state, out->maskmem_pos_enc);
    }
    compact.pred_masks = out->pred_masks;
    const int fill = config_.video_predictor.fill_hole_area;
    if (fill > 0) {
      absl::StatusOr<at::Tensor> filled =
          FillHolesInMaskScores(out->pred_masks, fill);
      if (!filled.ok()) return filled.status();
      compact.pred_masks = *filled;
      // What filling changed, to restore the tracked logits exactly when a
      // dropped memory is rebuilt (long-video mode).
      const at::Tensor changed =
          at::ne(filled->reshape(-1), out->pred_masks.reshape(-1)).nonzero().view(-1);
      compact.fill_undo_index = changed;
      compact.fill_undo_value = out->pred_masks.reshape(-1).index_select(0, changed);
    }
    compact.obj_ptr = out->obj_ptr;
    compact.object_score_logits = out->object_score_logits;
    return compact;
  });
}

absl::StatusOr<std::pair<at::Tensor, at::Tensor>>
VideoPredictor::RunMemoryEncoder(VideoInferenceState& state, int64_t frame_idx,
                                 const at::Tensor& high_res_masks,
                                 const at::Tensor& object_score_logits,
                                 bool is_mask_from_pts) const {
  absl::StatusOr<const TrackingFeatures*> features =
      GetFeatures(state, frame_idx);
  if (!features.ok()) return features.status();
  absl::StatusOr<std::pair<at::Tensor, at::Tensor>> mem =
      tracker_.EncodeNewMemory(**features, high_res_masks, object_score_logits,
                               is_mask_from_pts);
  if (!mem.ok()) return mem.status();
  return Guard("storing a memory",
               [&]() -> absl::StatusOr<std::pair<at::Tensor, at::Tensor>> {
                 return std::make_pair(mem->first.to(at::kBFloat16),
                                       MaskmemPosEnc(state, mem->second));
               });
}

absl::StatusOr<VideoFrameMasks> VideoPredictor::ConsolidateAtVideoRes(
    VideoInferenceState& state, int64_t frame_idx, bool is_cond) const {
  return Guard("consolidating masks", [&]() -> absl::StatusOr<VideoFrameMasks> {
    const int64_t h = state.video_height();
    const int64_t w = state.video_width();
    const int64_t n = static_cast<int64_t>(state.objects_.size());
    VideoFrameMasks out;
    out.frame_idx = frame_idx;
    out.obj_ids = state.obj_ids_;
    out.masks = at::full({n, 1, h, w}, kNoObjScore,
                         at::TensorOptions().dtype(at::kFloat).device(device_));
    // The reference keeps no consolidated scores; missing objects get its
    // earlier placeholder (kMissingObjectScoreLogit, see the header).
    out.object_score_logits =
        at::full({n}, kMissingObjectScoreLogit, out.masks.options());
    for (int64_t i = 0; i < n; ++i) {
      const VideoInferenceState::ObjectState& o = state.objects_[i];
      const FrameOutput* found =
          (is_cond ? o.temp.cond_frame_outputs : o.temp.non_cond_frame_outputs)
              .Find(frame_idx);
      if (found == nullptr) found = o.output.cond_frame_outputs.Find(frame_idx);
      if (found == nullptr) {
        found = o.output.non_cond_frame_outputs.Find(frame_idx);
      }
      if (found == nullptr) continue;
      absl::StatusOr<at::Tensor> logits = PredMasks(state, *found);
      if (!logits.ok()) return logits.status();
      at::Tensor m = *logits;
      if (m.size(-2) != h || m.size(-1) != w) m = Bilinear(m, h, w);
      out.masks.narrow(0, i, 1).copy_(m);
      out.object_score_logits.narrow(0, i, 1).copy_(
          found->object_score_logits.reshape({-1}));
    }
    return out;
  });
}

absl::StatusOr<VideoFrameMasks> VideoPredictor::RunPrompt(
    VideoInferenceState& state, int obj_idx, int64_t frame_idx,
    const at::Tensor& point_coords, const at::Tensor& point_labels,
    const at::Tensor& mask_inputs, bool use_prev_logits) const {
  VideoInferenceState::ObjectState& o = state.objects_[obj_idx];
  const auto tracked = o.frames_tracked.find(frame_idx);
  const bool is_init_cond_frame = tracked == o.frames_tracked.end();
  const bool reverse = is_init_cond_frame ? false : tracked->second;
  const bool is_cond =
      is_init_cond_frame ||
      config_.video_predictor.add_all_frames_to_correct_as_cond;
  FrameOutputMap& temp =
      is_cond ? o.temp.cond_frame_outputs : o.temp.non_cond_frame_outputs;
  at::Tensor prev_logits;
  if (use_prev_logits) {
    const FrameOutput* prev = temp.Find(frame_idx);
    if (prev == nullptr) prev = o.output.cond_frame_outputs.Find(frame_idx);
    if (prev == nullptr) prev = o.output.non_cond_frame_outputs.Find(frame_idx);
    if (prev != nullptr) {
      absl::StatusOr<at::Tensor> logits = PredMasks(state, *prev);
      if (!logits.ok()) return logits.status();
      c10::InferenceMode guard;
      prev_logits = at::clamp(*logits, -32.0, 32.0);
    }
  }
  if (!is_init_cond_frame && !mask_inputs.defined()) {
    if (absl::Status s = EnsureMemories(state, obj_idx, frame_idx, reverse);
        !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<FrameOutput> out = RunSingleFrame(
      state, obj_idx, frame_idx, is_init_cond_frame, point_coords,
      point_labels, mask_inputs, reverse, /*run_mem_encoder=*/false,
      prev_logits);
  if (!out.ok()) return out.status();
  temp.Set(frame_idx, *std::move(out));
  return ConsolidateAtVideoRes(state, frame_idx, is_cond);
}

absl::StatusOr<VideoFrameMasks> VideoPredictor::AddNewPointsOrBox(
    VideoInferenceState& state, int64_t frame_idx, int64_t obj_id,
    const at::Tensor& points, const at::Tensor& labels, const at::Tensor& box,
    bool clear_old_points, bool normalize_coords) const {
  if (absl::Status s = CheckFrame(state, frame_idx); !s.ok()) return s;
  if (points.defined() != labels.defined()) {
    return absl::InvalidArgumentError(
        "points and labels must be given together");
  }
  if (!points.defined() && !box.defined()) {
    return absl::InvalidArgumentError("give points or a box (or both)");
  }
  if (box.defined() && !clear_old_points) {
    return absl::InvalidArgumentError(
        "a box cannot be added without clearing old points "
        "(clear_old_points=true): box corners must precede every click");
  }
  if (points.defined() &&
      (points.dim() != 2 || points.size(1) != 2 || labels.dim() != 1 ||
       labels.size(0) != points.size(0))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "points must be [N, 2] with labels [N]; got ", ShapeOf(points), " and ",
        ShapeOf(labels)));
  }
  if (box.defined() && box.numel() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("a box is 4 numbers (x0, y0, x1, y1); got ", ShapeOf(box)));
  }
  const double max_x = normalize_coords ? state.video_width() : 1.0;
  const double max_y = normalize_coords ? state.video_height() : 1.0;
  at::Tensor coords, point_labels;
  absl::Status checked = Guard("checking prompts", [&]() -> absl::Status {
    std::vector<at::Tensor> xy, lab;
    if (box.defined()) {
      const at::Tensor b = box.to(at::kFloat).reshape({2, 2});
      if ((b[0][0] > b[1][0]).item<bool>() || (b[0][1] > b[1][1]).item<bool>()) {
        return absl::InvalidArgumentError(
            "a box must have x0 <= x1 and y0 <= y1");
      }
      xy.push_back(b);
      lab.push_back(at::tensor({2, 3}, at::kInt));
    }
    if (points.defined()) {
      xy.push_back(points.to(at::kFloat));
      const at::Tensor l = labels.to(at::kInt);
      if (((l < 0) | (l > 3)).any().item<bool>()) {
        return absl::InvalidArgumentError(
            "labels must be 0 (negative) or 1 (positive), or 2/3 for box "
            "corners");
      }
      lab.push_back(l);
    }
    const at::Tensor all = at::cat(xy, 0);
    if (!at::isfinite(all).all().item<bool>()) {
      return absl::InvalidArgumentError("coordinates must be finite");
    }
    const at::Tensor x = all.select(1, 0), y = all.select(1, 1);
    if ((x < 0).any().item<bool>() || (x > max_x).any().item<bool>() ||
        (y < 0).any().item<bool>() || (y > max_y).any().item<bool>()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "points and box corners must lie on the frame: x in [0, ", max_x,
          "], y in [0, ", max_y, "]"));
    }
    at::Tensor scaled = all;
    if (normalize_coords) {
      scaled = scaled / at::tensor({static_cast<float>(state.video_width()),
                                    static_cast<float>(state.video_height())});
    }
    // Checked and scaled on the host (the .item() checks above would each
    // be a device sync); the tracker gets them on its device.
    coords = ToDevice(
        (scaled * static_cast<double>(config_.image_size)).unsqueeze(0),
        device_);
    point_labels = ToDevice(at::cat(lab, 0).unsqueeze(0), device_);
    return absl::OkStatus();
  });
  if (!checked.ok()) return checked;

  const int obj_idx = ObjIdToIdx(state, obj_id);
  VideoInferenceState::ObjectState& o = state.objects_[obj_idx];
  if (!clear_old_points) {
    auto old = o.point_inputs.find(frame_idx);
    if (old != o.point_inputs.end()) {
      coords = at::cat({old->second.coords, coords}, 1);
      point_labels = at::cat({old->second.labels, point_labels}, 1);
    }
  }
  o.point_inputs[frame_idx] = {coords, point_labels};
  o.mask_inputs.erase(frame_idx);
  return RunPrompt(state, obj_idx, frame_idx, coords, point_labels,
                   at::Tensor(), /*use_prev_logits=*/true);
}

absl::StatusOr<VideoFrameMasks> VideoPredictor::AddNewMask(
    VideoInferenceState& state, int64_t frame_idx, int64_t obj_id,
    const at::Tensor& mask) const {
  if (absl::Status s = CheckFrame(state, frame_idx); !s.ok()) return s;
  if (!mask.defined() || mask.dim() != 2 || mask.size(0) < 1 ||
      mask.size(1) < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a mask must be 2-D [H, W]; got ", ShapeOf(mask)));
  }
  const int64_t s = config_.image_size;
  const bool video_size = mask.size(0) == state.video_height() &&
                          mask.size(1) == state.video_width();
  const bool model_size = mask.size(0) == s && mask.size(1) == s;
  if (!video_size && !model_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a mask must be the video's size ", state.video_height(), "x",
        state.video_width(), " (or the model's ", s, "x", s, "); got ",
        mask.size(0), "x", mask.size(1)));
  }
  absl::StatusOr<at::Tensor> mask_inputs =
      Guard("preparing the mask", [&]() -> absl::StatusOr<at::Tensor> {
        at::Tensor m = mask.to(at::kBool).to(at::kFloat).unsqueeze(0).unsqueeze(0);
        if (m.size(-2) != s || m.size(-1) != s) {
          m = at::_upsample_bilinear2d_aa(m, {s, s}, /*align_corners=*/false);
          m = (m >= 0.5).to(at::kFloat);
        }
        return ToDevice(m, device_);
      });
  if (!mask_inputs.ok()) return mask_inputs.status();
  const int obj_idx = ObjIdToIdx(state, obj_id);
  VideoInferenceState::ObjectState& o = state.objects_[obj_idx];
  o.mask_inputs[frame_idx] = *mask_inputs;
  o.point_inputs.erase(frame_idx);
  return RunPrompt(state, obj_idx, frame_idx, at::Tensor(), at::Tensor(),
                   *mask_inputs, /*use_prev_logits=*/false);
}

absl::Status VideoPredictor::Preflight(VideoInferenceState& state) const {
  if (state.objects_.empty()) {
    return absl::FailedPreconditionError(
        "no object has prompts yet: add points, a box or a mask first");
  }
  for (size_t i = 0; i < state.objects_.size(); ++i) {
    VideoInferenceState::ObjectState& o = state.objects_[i];
    for (bool is_cond : {false, true}) {
      FrameOutputMap& temp =
          is_cond ? o.temp.cond_frame_outputs : o.temp.non_cond_frame_outputs;
      FrameOutputMap& output =
          is_cond ? o.output.cond_frame_outputs : o.output.non_cond_frame_outputs;
      for (int64_t f : temp.frames()) {
        FrameOutput out = *temp.Find(f);
        if (!out.maskmem_features.defined()) {
          absl::StatusOr<at::Tensor> high =
              Guard("upsampling a mask", [&]() -> absl::StatusOr<at::Tensor> {
                return Bilinear(out.pred_masks, config_.image_size,
                                config_.image_size);
              });
          if (!high.ok()) return high.status();
          absl::StatusOr<std::pair<at::Tensor, at::Tensor>> mem =
              RunMemoryEncoder(state, f, *high, out.object_score_logits,
                               /*is_mask_from_pts=*/true);
          if (!mem.ok()) return mem.status();
          out.maskmem_features = mem->first;
          out.maskmem_pos_enc = mem->second;
          out.memory_from_prompt = true;
        }
        output.Set(f, std::move(out));
      }
      temp.clear();
    }
    if (o.output.cond_frame_outputs.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "object ", state.obj_ids_[i],
          " has no prompts left: add points, a box or a mask for it"));
    }
    for (int64_t f : o.output.cond_frame_outputs.frames()) {
      o.output.non_cond_frame_outputs.Erase(f);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> VideoPredictor::BeginPropagation(
    VideoInferenceState& state, const PropagateOptions& options) const {
  if (options.start_frame) {
    if (absl::Status s = CheckFrame(state, *options.start_frame); !s.ok()) {
      return s;
    }
  }
  if (options.max_frames && *options.max_frames < 0) {
    return absl::InvalidArgumentError("max_frames must be >= 0");
  }
  if (absl::Status s = Preflight(state); !s.ok()) return s;
  const int64_t num_frames = state.num_frames();
  int64_t start = num_frames;
  if (options.start_frame) {
    start = *options.start_frame;
  } else {
    for (const auto& o : state.objects_) {
      for (int64_t f : o.output.cond_frame_outputs.frames()) {
        start = std::min(start, f);
      }
    }
  }
  const int64_t max_frames = options.max_frames.value_or(num_frames);
  std::vector<int64_t> order;
  if (options.reverse) {
    const int64_t end = std::max<int64_t>(start - max_frames, 0);
    if (start > 0) {
      for (int64_t f = start; f >= end; --f) order.push_back(f);
    }
  } else {
    const int64_t end = std::min(start + max_frames, num_frames - 1);
    for (int64_t f = start; f <= end; ++f) order.push_back(f);
  }
  return order;
}

absl::StatusOr<VideoFrameMasks> VideoPredictor::PropagateFrame(
    VideoInferenceState& state, int64_t frame_idx, bool reverse) const {
  if (absl::Status s = CheckFrame(state, frame_idx); !s.ok()) return s;
  // What the preflight guarantees; checked (cheaply) because the tracker
  // assumes it and the caller could have skipped BeginPropagation.
  if (state.objects_.empty()) {
    return absl::FailedPreconditionError(
        "no object has prompts yet: add points, a box or a mask first");
  }
  for (size_t i = 0; i < state.objects_.size(); ++i) {
    const VideoInferenceState::ObjectState& o = state.objects_[i];
    if (o.output.cond_frame_outputs.empty() ||
        !o.temp.cond_frame_outputs.empty() ||
        !o.temp.non_cond_frame_outputs.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "object ", state.obj_ids_[i],
          " has prompts not consolidated for propagation: call "
          "BeginPropagation after changing prompts"));
    }
  }
  const int64_t f = frame_idx;
  std::vector<at::Tensor> masks;
  std::vector<at::Tensor> scores;
  for (size_t i = 0; i < state.objects_.size(); ++i) {
    VideoInferenceState::ObjectState& o = state.objects_[i];
    if (const FrameOutput* cond = o.output.cond_frame_outputs.Find(f)) {
      absl::StatusOr<at::Tensor> logits = PredMasks(state, *cond);
      if (!logits.ok()) return logits.status();
      masks.push_back(*logits);
      scores.push_back(cond->object_score_logits);
    } else {
      if (absl::Status s =
              EnsureMemories(state, static_cast<int>(i), f, reverse);
          !s.ok()) {
        return s;
      }
      absl::StatusOr<FrameOutput> out = RunSingleFrame(
          state, static_cast<int>(i), f, /*is_init_cond_frame=*/false,
          at::Tensor(), at::Tensor(), at::Tensor(), reverse,
          /*run_mem_encoder=*/true, at::Tensor());
      if (!out.ok()) return out.status();
      masks.push_back(out->pred_masks);
      scores.push_back(out->object_score_logits);
      o.output.non_cond_frame_outputs.Set(f, *std::move(out));
    }
    o.frames_tracked[f] = reverse;
  }
  absl::StatusOr<VideoFrameMasks> frame =
      Guard("resizing masks", [&]() -> absl::StatusOr<VideoFrameMasks> {
        VideoFrameMasks out;
        out.frame_idx = f;
        out.obj_ids = state.obj_ids_;
        at::Tensor all = at::cat(masks, 0);
        out.masks = (all.size(-2) == state.video_height() &&
                     all.size(-1) == state.video_width())
                        ? all
                        : Bilinear(all, state.video_height(), state.video_width());
        out.object_score_logits =
            at::cat(scores, 0).reshape({-1}).to(out.masks.device(), at::kFloat);
        return out;
      });
  if (!frame.ok()) return frame.status();
  if (absl::Status s = EvictMemories(state, f); !s.ok()) return s;
  return frame;
}

absl::Status VideoPredictor::PropagateInVideo(
    VideoInferenceState& state, const PropagateOptions& options,
    const std::function<absl::Status(const VideoFrameMasks&)>& on_frame) const {
  absl::StatusOr<std::vector<int64_t>> order = BeginPropagation(state, options);
  if (!order.ok()) return order.status();
  for (int64_t f : *order) {
    absl::StatusOr<VideoFrameMasks> frame =
        PropagateFrame(state, f, options.reverse);
    if (!frame.ok()) return frame.status();
    if (absl::Status s = on_frame(*frame); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void VideoPredictor::ClearPromptsUnchecked(VideoInferenceState& state,
                                           int obj_idx,
                                           int64_t frame_idx) const {
  VideoInferenceState::ObjectState& o = state.objects_[obj_idx];
  o.point_inputs.erase(frame_idx);
  o.mask_inputs.erase(frame_idx);
  o.temp.cond_frame_outputs.Erase(frame_idx);
  o.temp.non_cond_frame_outputs.Erase(frame_idx);
  if (const FrameOutput* cond = o.output.cond_frame_outputs.Find(frame_idx)) {
    FrameOutput moved = *cond;
    o.output.cond_frame_outputs.Erase(frame_idx);
    o.output.non_cond_frame_outputs.Set(frame_idx, std::move(moved));
    o.frames_tracked.erase(frame_idx);
  }
}

absl::StatusOr<VideoFrameMasks> VideoPredictor::ClearAllPromptsInFrame(
    VideoInferenceState& state, int64_t frame_idx, int64_t obj_id) const {
  if (absl::Status s = CheckFrame(state, frame_idx); !s.ok()) return s;
  const int obj_idx = ObjIdToIdx(state, obj_id);
  ClearPromptsUnchecked(state, obj_idx, frame_idx);
  bool is_cond = false;
  for (const auto& o : state.objects_) {
    is_cond = is_cond || o.temp.cond_frame_outputs.Find(frame_idx) != nullptr;
  }
  return ConsolidateAtVideoRes(state, frame_idx, is_cond);
}

absl::StatusOr<RemoveObjectResult> VideoPredictor::RemoveObject(
    VideoInferenceState& state, int64_t obj_id, bool strict) const {
  RemoveObjectResult result;
  auto it = std::find(state.obj_ids_.begin(), state.obj_ids_.end(), obj_id);
  if (it == state.obj_ids_.end()) {
    if (strict) {
      return absl::NotFoundError(absl::StrCat(
          "object ", obj_id, " is not in this video (objects: ",
          absl::StrJoin(state.obj_ids_, ", "), ")"));
    }
    result.obj_ids = state.obj_ids_;
    return result;
  }
  if (state.obj_ids_.size() == 1) {
    ResetState(state);
    return result;
  }
  const int obj_idx = static_cast<int>(it - state.obj_ids_.begin());
  const std::vector<int64_t> input_frames = state.PromptedFrames(obj_id);
  for (int64_t f : input_frames) ClearPromptsUnchecked(state, obj_idx, f);
  state.obj_ids_.erase(state.obj_ids_.begin() + obj_idx);
  state.objects_.erase(state.objects_.begin() + obj_idx);
  for (int64_t f : input_frames) {
    bool is_cond = false;
    for (const auto& o : state.objects_) {
      is_cond = is_cond || o.temp.cond_frame_outputs.Find(f) != nullptr;
    }
    absl::StatusOr<VideoFrameMasks> masks = ConsolidateAtVideoRes(state, f, is_cond);
    if (!masks.ok()) return masks.status();
    result.updated_frames.push_back(*std::move(masks));
  }
  result.obj_ids = state.obj_ids_;
  return result;
}

absl::Status VideoPredictor::EnsureMemories(VideoInferenceState& state,
                                            int obj_idx, int64_t frame_idx,
                                            bool reverse) const {
  if (state.long_video_window_ <= 0) return absl::OkStatus();
  ObjectMemoryBank& bank = state.objects_[obj_idx].output;
  if (bank.cond_frame_outputs.empty()) return absl::OkStatus();
  for (const Sam2Tracker::MemoryRef& ref :
       tracker_.MemoryFramesToRead(frame_idx, reverse, bank)) {
    FrameOutput* out =
        (ref.is_cond ? bank.cond_frame_outputs : bank.non_cond_frame_outputs)
            .FindMutable(ref.frame);
    if (out == nullptr || out->maskmem_features.defined()) continue;
    // The mask the memory was first encoded from: the prompt's filled
    // logits, or the tracked logits before hole filling.
    absl::StatusOr<at::Tensor> stored = PredMasks(state, *out);
    if (!stored.ok()) return stored.status();
    absl::StatusOr<at::Tensor> high =
        Guard("rebuilding a memory", [&]() -> absl::StatusOr<at::Tensor> {
          at::Tensor low = *stored;
          if (!out->memory_from_prompt && out->fill_undo_index.defined() &&
              out->fill_undo_index.numel() > 0) {
            low = low.clone();
            low.view(-1).index_copy_(0, out->fill_undo_index,
                                     out->fill_undo_value);
          }
          return Bilinear(low, config_.image_size, config_.image_size);
        });
    if (!high.ok()) return high.status();
    absl::StatusOr<std::pair<at::Tensor, at::Tensor>> mem =
        RunMemoryEncoder(state, ref.frame, *high, out->object_score_logits,
                         out->memory_from_prompt);
    if (!mem.ok()) return mem.status();
    out->maskmem_features = mem->first;
    out->maskmem_pos_enc = mem->second;
    ++state.memories_rebuilt_;
  }
  return absl::OkStatus();
}

absl::StatusOr<at::Tensor> VideoPredictor::PredMasks(
    const VideoInferenceState& state, const FrameOutput& out) const {
  if (out.pred_masks.defined()) return out.pred_masks;
  if (out.pred_masks_spill && state.spill_) {
    absl::StatusOr<at::Tensor> read = state.spill_->Read(*out.pred_masks_spill);
    if (!read.ok()) return read.status();
    return Guard("uploading spilled masks", [&]() {
      return absl::StatusOr<at::Tensor>(ToDevice(*read, device_));
    });
  }
  return absl::InternalError("a frame output lost its mask logits");
}

absl::Status VideoPredictor::EvictMemories(VideoInferenceState& state,
                                           int64_t frame_idx) const {
  if (state.long_video_window_ <= 0) return absl::OkStatus();
  for (VideoInferenceState::ObjectState& o : state.objects_) {
    FrameOutputMap& non_cond = o.output.non_cond_frame_outputs;
    for (int64_t t : non_cond.frames()) {
      FrameOutput* out = non_cond.FindMutable(t);
      if (std::abs(t - frame_idx) <= state.long_video_window_) continue;
      if (out->maskmem_features.defined()) {
        out->maskmem_features = at::Tensor();
        out->maskmem_pos_enc = at::Tensor();
        ++state.memories_evicted_;
      }
      if (out->pred_masks.defined()) {
        if (!state.spill_) {
          absl::StatusOr<std::unique_ptr<SpillFile>> spill =
              SpillFile::Create(state.spill_dir_);
          if (!spill.ok()) return spill.status();
          state.spill_ = *std::move(spill);
        }
        absl::StatusOr<SpillRef> ref = state.spill_->Write(out->pred_masks);
        if (!ref.ok()) return ref.status();
        out->pred_masks_spill = *ref;
        out->pred_masks = at::Tensor();
      }
    }
  }
  return absl::OkStatus();
}

void VideoPredictor::ResetState(VideoInferenceState& state) const {
  state.obj_ids_.clear();
  state.objects_.clear();
}

}  // namespace sam2
