// Sam2Tracker: SAM2Base's tracking step — conditioning the current frame on
// the memory bank (memories of conditioning frames and recent frames, object
// pointers), the SAM heads, and encoding the new memory.
//
// Mirrors, in sam2/modeling/sam2_base.py: `_prepare_memory_conditioned_
// features`, `_encode_new_memory`, `_track_step`, `track_step`,
// `_use_multimask`, and `select_closest_cond_frames` (sam2_utils.py).
// Inference only (the `training` branches are not ported). One object per
// call (batch 1), as the December 2024 video predictor tracks objects
// independently.
//
// Memory features are whatever the caller stored (the video predictor keeps
// them in bfloat16, trap 9); they are concatenated with the float32 object
// pointers, which promotes them to float32 as torch.cat does.
//
// Thread-safety: immutable after Create(); TrackStep and EncodeNewMemory are
// const and may run concurrently on different memory banks.

#ifndef SAM2_MODEL_SAM2_TRACKER_H_
#define SAM2_MODEL_SAM2_TRACKER_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "model/memory_attention.h"
#include "model/memory_encoder.h"
#include "model/sam2_config.h"
#include "model/sam_heads.h"
#include "model/spill_file.h"
#include "model/state_dict.h"
#include "model/two_way_transformer.h"

namespace sam2 {

// What the reference keeps per object per frame (`current_out`, compacted).
struct FrameOutput {
  at::Tensor pred_masks;           // [1, 1, S/4, S/4] low-res logits
  at::Tensor pred_masks_high_res;  // [1, 1, S, S]; not kept in the bank
  at::Tensor obj_ptr;              // [1, C]
  at::Tensor object_score_logits;  // [1, 1]
  at::Tensor maskmem_features;     // [1, mem_dim, h, w] or undefined
  at::Tensor maskmem_pos_enc;      // [1, mem_dim, h, w] or undefined
  // Kept by the video predictor so that an evicted memory can be rebuilt
  // exactly (long-video mode): the pixels hole filling changed in
  // pred_masks (flat indices, original values), and whether the memory was
  // encoded from the (filled, binarized) prompt mask rather than from the
  // tracked (unfilled) logits.
  at::Tensor fill_undo_index;  // int64 [K]
  at::Tensor fill_undo_value;  // float [K]
  bool memory_from_prompt = false;
  // Long-video mode: where pred_masks went when it was moved out of memory
  // (pred_masks is then undefined).
  std::optional<SpillRef> pred_masks_spill;
};

// frame index -> output, iterated in insertion order (the reference's dicts:
// the order of conditioning frames is the order of their memories).
class FrameOutputMap {
 public:
  // Inserts or replaces (a replaced entry keeps its position, as in a dict).
  void Set(int64_t frame, FrameOutput output);
  const FrameOutput* Find(int64_t frame) const;
  FrameOutput* FindMutable(int64_t frame);
  bool Erase(int64_t frame);
  bool empty() const { return order_.empty(); }
  size_t size() const { return order_.size(); }
  // Frames in insertion order.
  const std::vector<int64_t>& frames() const { return order_; }
  void clear();

 private:
  std::vector<int64_t> order_;
  absl::flat_hash_map<int64_t, FrameOutput> outputs_;
};

// The memory bank of one object (the reference's output_dict).
struct ObjectMemoryBank {
  FrameOutputMap cond_frame_outputs;
  FrameOutputMap non_cond_frame_outputs;
};

// One frame's image features as track_step needs them (batch 1): the
// backbone levels after conv_s0/conv_s1 (NCHW, highest resolution first;
// the last one raw, without no_mem_embed) and their position encodings.
struct TrackingFeatures {
  std::vector<at::Tensor> levels;
  std::vector<at::Tensor> pos;
};

struct TrackStepInput {
  int64_t frame_idx = 0;
  bool is_init_cond_frame = false;
  const TrackingFeatures* features = nullptr;
  at::Tensor point_coords;  // [1, P, 2] model pixels, or undefined
  at::Tensor point_labels;  // [1, P] int32, or undefined
  at::Tensor mask_inputs;   // [1, 1, H, W], or undefined
  const ObjectMemoryBank* memory = nullptr;
  int64_t num_frames = 0;
  bool track_in_reverse = false;
  bool run_mem_encoder = true;
  at::Tensor prev_sam_mask_logits;  // [1, 1, S/4, S/4], or undefined
};

// select_closest_cond_frames: (selected, unselected) frame indices, each in
// the order the reference builds its dicts. max_cond_frames -1: all.
std::pair<std::vector<int64_t>, std::vector<int64_t>> SelectClosestCondFrames(
    int64_t frame_idx, const std::vector<int64_t>& cond_frames,
    int max_cond_frames);

class Sam2Tracker {
 public:
  static absl::StatusOr<Sam2Tracker> Create(const Sam2Config& config,
                                            const StateDict& weights);

  absl::StatusOr<FrameOutput> TrackStep(const TrackStepInput& input) const;

  // _encode_new_memory: {maskmem_features, maskmem_pos_enc} (float32) from
  // the frame's raw features and a high-resolution mask [1, 1, S, S].
  absl::StatusOr<std::pair<at::Tensor, at::Tensor>> EncodeNewMemory(
      const TrackingFeatures& features, const at::Tensor& pred_masks_high_res,
      const at::Tensor& object_score_logits, bool is_mask_from_pts) const;

  // _use_multimask.
  bool UseMultimask(bool is_init_cond_frame, int64_t num_points) const;

  // The frames whose stored memory features a (non-initial) track step on
  // `frame_idx` reads from the non-conditioning outputs or, when not
  // selected, from the conditioning ones: (t_pos, frame, is_cond). The order
  // is the order of the memories.
  struct MemoryRef {
    int t_pos;
    int64_t frame;
    bool is_cond;
  };
  std::vector<MemoryRef> MemoryFramesToRead(int64_t frame_idx, bool reverse,
                                            const ObjectMemoryBank& bank) const;

  const Sam2Config& config() const { return config_; }
  const SamHeads& sam_heads() const { return sam_heads_; }

 private:
  Sam2Tracker(Sam2Config config, SamHeads sam_heads,
              MemoryAttention memory_attention, MemoryEncoder memory_encoder);
  // May throw c10::Error.
  at::Tensor PrepareMemoryConditionedFeatures(const TrackStepInput& input) const;
  FrameOutput TrackStepUnchecked(const TrackStepInput& input) const;
  std::pair<at::Tensor, at::Tensor> EncodeNewMemoryUnchecked(
      const TrackingFeatures& features, const at::Tensor& pred_masks_high_res,
      const at::Tensor& object_score_logits, bool is_mask_from_pts) const;

  Sam2Config config_;
  SamHeads sam_heads_;
  MemoryAttention memory_attention_;
  MemoryEncoder memory_encoder_;
  at::Tensor maskmem_tpos_enc_;      // [num_maskmem, 1, 1, mem_dim]
  at::Tensor no_mem_embed_;          // [1, 1, C]
  at::Tensor no_mem_pos_enc_;        // [1, 1, C]
  at::Tensor no_obj_embed_spatial_;  // [1, mem_dim] (2.1) or undefined
  std::optional<LinearParams> obj_ptr_tpos_proj_;  // proj_tpos_enc_in_obj_ptrs
};

}  // namespace sam2

#endif  // SAM2_MODEL_SAM2_TRACKER_H_
