#include "model/sam2_tracker.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/module_weights.h"
#include "model/position_encoding.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

// Python's floor division for the stride arithmetic.
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// [B, C, H, W] -> [HW, B, C] (the reference's sequence-first layout).
at::Tensor ToSequence(const at::Tensor& x) {
  return x.flatten(2).permute({2, 0, 1});
}

template <typename T>
T OrFail(absl::StatusOr<T> value) {
  TORCH_CHECK(value.ok(), std::string(value.status().message()));
  return *std::move(value);
}

}  // namespace

void FrameOutputMap::Set(int64_t frame, FrameOutput output) {
  auto [it, inserted] = outputs_.insert_or_assign(frame, std::move(output));
  if (inserted) order_.push_back(frame);
}

const FrameOutput* FrameOutputMap::Find(int64_t frame) const {
  auto it = outputs_.find(frame);
  return it == outputs_.end() ? nullptr : &it->second;
}

FrameOutput* FrameOutputMap::FindMutable(int64_t frame) {
  auto it = outputs_.find(frame);
  return it == outputs_.end() ? nullptr : &it->second;
}

bool FrameOutputMap::Erase(int64_t frame) {
  if (outputs_.erase(frame) == 0) return false;
  order_.erase(std::find(order_.begin(), order_.end(), frame));
  return true;
}

void FrameOutputMap::clear() {
  order_.clear();
  outputs_.clear();
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> SelectClosestCondFrames(
    int64_t frame_idx, const std::vector<int64_t>& cond_frames,
    int max_cond_frames) {
  if (max_cond_frames == -1 ||
      static_cast<int64_t>(cond_frames.size()) <= max_cond_frames) {
    return {cond_frames, {}};
  }
  std::vector<int64_t> selected;
  std::optional<int64_t> before, after;
  for (int64_t t : cond_frames) {
    if (t < frame_idx && (!before || t > *before)) before = t;
    if (t >= frame_idx && (!after || t < *after)) after = t;
  }
  if (before) selected.push_back(*before);
  if (after) selected.push_back(*after);
  std::vector<int64_t> rest;
  for (int64_t t : cond_frames) {
    if (std::find(selected.begin(), selected.end(), t) == selected.end()) {
      rest.push_back(t);
    }
  }
  // Python's sorted() is stable: ties keep dict order.
  std::stable_sort(rest.begin(), rest.end(), [&](int64_t a, int64_t b) {
    return std::abs(a - frame_idx) < std::abs(b - frame_idx);
  });
  const int64_t remain =
      std::max<int64_t>(0, max_cond_frames - static_cast<int64_t>(selected.size()));
  for (int64_t i = 0; i < remain && i < static_cast<int64_t>(rest.size()); ++i) {
    selected.push_back(rest[i]);
  }
  std::vector<int64_t> unselected;
  for (int64_t t : cond_frames) {
    if (std::find(selected.begin(), selected.end(), t) == selected.end()) {
      unselected.push_back(t);
    }
  }
  return {selected, unselected};
}

Sam2Tracker::Sam2Tracker(Sam2Config config, SamHeads sam_heads,
                         MemoryAttention memory_attention,
                         MemoryEncoder memory_encoder)
    : config_(std::move(config)),
      sam_heads_(std::move(sam_heads)),
      memory_attention_(std::move(memory_attention)),
      memory_encoder_(std::move(memory_encoder)) {}

absl::StatusOr<Sam2Tracker> Sam2Tracker::Create(const Sam2Config& config,
                                                const StateDict& weights) {
  absl::StatusOr<SamHeads> heads = SamHeads::Create(config, weights);
  if (!heads.ok()) return heads.status();
  absl::StatusOr<MemoryAttention> attention =
      MemoryAttention::Create(config, weights);
  if (!attention.ok()) return attention.status();
  absl::StatusOr<MemoryEncoder> encoder = MemoryEncoder::Create(config, weights);
  if (!encoder.ok()) return encoder.status();
  Sam2Tracker tracker(config, *std::move(heads), *std::move(attention),
                      *std::move(encoder));
  const int64_t c = config.HiddenDim();
  const int64_t mem = config.MemDim();
  ModuleWeights root(weights, "");
  tracker.maskmem_tpos_enc_ =
      root.Get("maskmem_tpos_enc", {config.num_maskmem, 1, 1, mem});
  tracker.no_mem_embed_ = root.Get("no_mem_embed", {1, 1, c});
  tracker.no_mem_pos_enc_ = root.Get("no_mem_pos_enc", {1, 1, c});
  if (config.no_obj_embed_spatial) {
    tracker.no_obj_embed_spatial_ = root.Get("no_obj_embed_spatial", {1, mem});
  }
  if (config.proj_tpos_enc_in_obj_ptrs) {
    tracker.obj_ptr_tpos_proj_ =
        LinearParams::Load(root, "obj_ptr_tpos_proj", c, mem);
  }
  if (!root.status().ok()) return root.status();
  return tracker;
}

std::vector<Sam2Tracker::MemoryRef> Sam2Tracker::MemoryFramesToRead(
    int64_t frame_idx, bool reverse, const ObjectMemoryBank& bank) const {
  std::vector<MemoryRef> refs;
  const int64_t f = frame_idx;
  const auto [selected, unselected] = SelectClosestCondFrames(
      f, bank.cond_frame_outputs.frames(), config_.max_cond_frames_in_attn);
  for (int64_t t : selected) refs.push_back({0, t, true});
  const int64_t stride = config_.memory_temporal_stride_for_eval;
  for (int t_pos = 1; t_pos < config_.num_maskmem; ++t_pos) {
    const int64_t t_rel = config_.num_maskmem - t_pos;
    int64_t prev;
    if (t_rel == 1) {
      prev = reverse ? f + 1 : f - 1;
    } else if (!reverse) {
      prev = FloorDiv(f - 2, stride) * stride - (t_rel - 2) * stride;
    } else {
      prev = -FloorDiv(-(f + 2), stride) * stride + (t_rel - 2) * stride;
    }
    if (bank.non_cond_frame_outputs.Find(prev) != nullptr) {
      refs.push_back({t_pos, prev, false});
    } else if (std::find(unselected.begin(), unselected.end(), prev) !=
               unselected.end()) {
      refs.push_back({t_pos, prev, true});
    }
  }
  return refs;
}

bool Sam2Tracker::UseMultimask(bool is_init_cond_frame,
                               int64_t num_points) const {
  return config_.multimask_output_in_sam &&
         (is_init_cond_frame || config_.multimask_output_for_tracking) &&
         config_.multimask_min_pt_num <= num_points &&
         num_points <= config_.multimask_max_pt_num;
}

at::Tensor Sam2Tracker::PrepareMemoryConditionedFeatures(
    const TrackStepInput& input) const {
  const at::Tensor& curr = input.features->levels.back();  // [B, C, H, W]
  const int64_t b = curr.size(0);
  const int64_t c = curr.size(1);
  const int64_t h = curr.size(2);
  const int64_t w = curr.size(3);
  const int64_t mem_dim = config_.MemDim();
  const int64_t f = input.frame_idx;
  if (config_.num_maskmem == 0) return curr;

  std::vector<at::Tensor> memory, memory_pos;
  int64_t num_obj_ptr_tokens = 0;
  if (!input.is_init_cond_frame) {
    const ObjectMemoryBank& bank = *input.memory;
    TORCH_CHECK(!bank.cond_frame_outputs.empty(),
                "tracking a frame needs at least one conditioning frame");
    const auto [selected, unselected] = SelectClosestCondFrames(
        f, bank.cond_frame_outputs.frames(), config_.max_cond_frames_in_attn);
    auto unselected_output = [&](int64_t t) -> const FrameOutput* {
      return std::find(unselected.begin(), unselected.end(), t) !=
                     unselected.end()
                 ? bank.cond_frame_outputs.Find(t)
                 : nullptr;
    };
    std::vector<std::pair<int, const FrameOutput*>> t_pos_and_prevs;
    for (const MemoryRef& ref :
         MemoryFramesToRead(f, input.track_in_reverse, bank)) {
      t_pos_and_prevs.emplace_back(
          ref.t_pos, ref.is_cond ? bank.cond_frame_outputs.Find(ref.frame)
                                 : bank.non_cond_frame_outputs.Find(ref.frame));
    }
    for (const auto& [t_pos, prev] : t_pos_and_prevs) {
      if (prev == nullptr || !prev->maskmem_features.defined()) continue;
      memory.push_back(ToSequence(prev->maskmem_features).to(at::kFloat));
      memory_pos.push_back(
          ToSequence(prev->maskmem_pos_enc) +
          maskmem_tpos_enc_[config_.num_maskmem - t_pos - 1]);
    }

    if (config_.use_obj_ptrs_in_encoder) {
      const int64_t max_ptrs = std::min<int64_t>(
          input.num_frames, config_.max_obj_ptrs_in_encoder);
      const int64_t sign = input.track_in_reverse ? -1 : 1;
      std::vector<int64_t> positions;
      std::vector<at::Tensor> ptrs;
      for (int64_t t : selected) {
        if (config_.only_obj_ptrs_in_the_past_for_eval &&
            !(input.track_in_reverse ? t >= f : t <= f)) {
          continue;
        }
        positions.push_back(config_.use_signed_tpos_enc_to_obj_ptrs
                                ? (f - t) * sign
                                : std::abs(f - t));
        ptrs.push_back(bank.cond_frame_outputs.Find(t)->obj_ptr);
      }
      for (int64_t t_diff = 1; t_diff < max_ptrs; ++t_diff) {
        const int64_t t = input.track_in_reverse ? f + t_diff : f - t_diff;
        if (t < 0 || t >= input.num_frames) break;
        const FrameOutput* out = bank.non_cond_frame_outputs.Find(t);
        if (out == nullptr) out = unselected_output(t);
        if (out != nullptr) {
          positions.push_back(t_diff);
          ptrs.push_back(out->obj_ptr);
        }
      }
      if (!ptrs.empty()) {
        at::Tensor obj_ptrs = at::stack(ptrs, 0);  // [N, B, C]
        const int64_t n = obj_ptrs.size(0);
        at::Tensor obj_pos;
        if (config_.add_tpos_enc_to_obj_ptrs) {
          const int64_t t_diff_max = max_ptrs - 1;
          const int64_t tpos_dim =
              config_.proj_tpos_enc_in_obj_ptrs ? c : mem_dim;
          at::Tensor pos =
              at::tensor(positions, at::kLong).to(obj_ptrs.device(), at::kFloat) /
              static_cast<double>(t_diff_max);
          obj_pos = OrFail(Get1dSinePe(pos, tpos_dim));
          if (obj_ptr_tpos_proj_) obj_pos = (*obj_ptr_tpos_proj_)(obj_pos);
          obj_pos = obj_pos.unsqueeze(1).expand({-1, b, mem_dim});
        } else {
          obj_pos = at::zeros({n, b, mem_dim}, obj_ptrs.options());
        }
        if (mem_dim < c) {
          obj_ptrs = obj_ptrs.reshape({-1, b, c / mem_dim, mem_dim})
                         .permute({0, 2, 1, 3})
                         .flatten(0, 1);
          obj_pos = obj_pos.repeat_interleave(c / mem_dim, 0);
        }
        memory.push_back(obj_ptrs);
        memory_pos.push_back(obj_pos);
        num_obj_ptr_tokens = obj_ptrs.size(0);
      }
    }
  } else {
    if (config_.directly_add_no_mem_embed) {
      return curr + no_mem_embed_.view({1, c, 1, 1});
    }
    memory.push_back(no_mem_embed_.expand({1, b, mem_dim}));
    memory_pos.push_back(no_mem_pos_enc_.expand({1, b, mem_dim}));
  }
  const at::Tensor memory_cat = at::cat(memory, 0).to(at::kFloat);
  const at::Tensor memory_pos_cat = at::cat(memory_pos, 0);
  at::Tensor out = OrFail(memory_attention_.Forward(
      ToSequence(curr), memory_cat, ToSequence(input.features->pos.back()),
      memory_pos_cat, num_obj_ptr_tokens));
  return out.permute({1, 2, 0}).reshape({b, c, h, w});
}

std::pair<at::Tensor, at::Tensor> Sam2Tracker::EncodeNewMemoryUnchecked(
    const TrackingFeatures& features, const at::Tensor& pred_masks_high_res,
    const at::Tensor& object_score_logits, bool is_mask_from_pts) const {
  const at::Tensor& pix_feat = features.levels.back();
  const bool binarize =
      config_.binarize_mask_from_pts_for_mem_enc && is_mask_from_pts;
  at::Tensor mask = binarize ? (pred_masks_high_res > 0).to(at::kFloat)
                             : at::sigmoid(pred_masks_high_res);
  if (config_.sigmoid_scale_for_mem_enc != 1.0) {
    mask = mask * config_.sigmoid_scale_for_mem_enc;
  }
  if (config_.sigmoid_bias_for_mem_enc != 0.0) {
    mask = mask + config_.sigmoid_bias_for_mem_enc;
  }
  MemoryEncoderOutput out =
      OrFail(memory_encoder_.Forward(pix_feat, mask, /*skip_mask_sigmoid=*/true));
  at::Tensor maskmem = out.vision_features;
  if (no_obj_embed_spatial_.defined()) {
    const at::Tensor is_obj_appearing =
        (object_score_logits > 0).to(at::kFloat);  // [B, 1]
    maskmem = maskmem + (1 - is_obj_appearing).view({-1, 1, 1, 1}) *
                            no_obj_embed_spatial_.view({1, -1, 1, 1});
  }
  return {maskmem, out.vision_pos_enc};
}

absl::StatusOr<std::pair<at::Tensor, at::Tensor>> Sam2Tracker::EncodeNewMemory(
    const TrackingFeatures& features, const at::Tensor& pred_masks_high_res,
    const at::Tensor& object_score_logits, bool is_mask_from_pts) const {
  if (features.levels.empty() || !pred_masks_high_res.defined() ||
      !object_score_logits.defined()) {
    return absl::InvalidArgumentError(
        "encoding a memory needs the frame's features, a mask and an object "
        "score");
  }
  try {
    c10::InferenceMode guard;
    return EncodeNewMemoryUnchecked(features, pred_masks_high_res,
                                    object_score_logits, is_mask_from_pts);
  } catch (const c10::Error& e) {
    return TorchError("encoding memory: ", e);
  }
}

FrameOutput Sam2Tracker::TrackStepUnchecked(const TrackStepInput& input) const {
  const std::vector<at::Tensor>& levels = input.features->levels;
  const std::vector<at::Tensor> high_res(levels.begin(), levels.end() - 1);
  SamHeadsOutput sam;
  const bool mask_as_output = input.mask_inputs.defined() &&
                              config_.use_mask_input_as_output_without_sam;
  if (mask_as_output) {
    sam = OrFail(sam_heads_.UseMaskAsOutput(levels.back(), high_res,
                                            input.mask_inputs));
  } else {
    const at::Tensor pix_feat = PrepareMemoryConditionedFeatures(input);
    at::Tensor mask_inputs = input.mask_inputs;
    if (input.prev_sam_mask_logits.defined()) {
      mask_inputs = input.prev_sam_mask_logits;
    }
    const int64_t num_points =
        input.point_labels.defined() ? input.point_labels.size(1) : 0;
    sam = OrFail(sam_heads_.Forward(
        pix_feat, input.point_coords, input.point_labels, mask_inputs,
        high_res, UseMultimask(input.is_init_cond_frame, num_points)));
  }
  FrameOutput out;
  out.pred_masks = sam.low_res_masks;
  out.pred_masks_high_res = sam.high_res_masks;
  out.obj_ptr = sam.obj_ptr;
  out.object_score_logits = sam.object_score_logits;
  if (input.run_mem_encoder && config_.num_maskmem > 0) {
    // Deliberate difference: the memory's mask is the selected low-res mask
    // upsampled on its own, where the reference upsamples all candidates and
    // then selects. The values agree to float round-off (the kernels differ
    // in the last bit), and this way a memory dropped in long-video mode can
    // be rebuilt bit for bit from the stored low-res logits.
    const at::Tensor high_res_for_memory =
        mask_as_output ? sam.high_res_masks
                       : at::upsample_bilinear2d(
                             sam.low_res_masks,
                             {config_.image_size, config_.image_size},
                             /*align_corners=*/false);
    std::tie(out.maskmem_features, out.maskmem_pos_enc) =
        EncodeNewMemoryUnchecked(*input.features, high_res_for_memory,
                                 sam.object_score_logits,
                                 input.point_coords.defined());
  }
  return out;
}

absl::StatusOr<FrameOutput> Sam2Tracker::TrackStep(
    const TrackStepInput& input) const {
  if (input.features == nullptr || input.features->levels.empty() ||
      input.features->levels.size() != input.features->pos.size()) {
    return absl::InvalidArgumentError(
        "track step needs the frame's feature levels and position encodings");
  }
  if (!input.is_init_cond_frame && input.memory == nullptr) {
    return absl::FailedPreconditionError(
        "tracking a non-initial frame needs the object's memory bank");
  }
  if (!input.is_init_cond_frame && input.memory->cond_frame_outputs.empty()) {
    return absl::FailedPreconditionError(
        "tracking needs at least one conditioning (prompted) frame");
  }
  try {
    c10::InferenceMode guard;
    return TrackStepUnchecked(input);
  } catch (const c10::Error& e) {
    return TorchError("track step: ", e);
  }
}

}  // namespace sam2
