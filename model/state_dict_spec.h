// The state dict a Sam2Config implies: every tensor name and shape that
// `SAM2Base.state_dict()` of the reference (facebookresearch/sam2) holds for
// that config, in the same order; checking a checkpoint against it; and
// recognising which official variant a checkpoint is.
//
// Derived from the reference modules' constructors: hieradet.py,
// image_encoder.py, prompt_encoder.py, mask_decoder.py, transformer.py,
// memory_attention.py, memory_encoder.py, position_encoding.py and
// sam2_base.py (`__init__`, `_build_sam_heads`). Persistent buffers appear
// (the prompt encoder's `pe_layer.positional_encoding_gaussian_matrix`);
// attributes that are not buffers (RoPE frequencies, sine PE caches) do not.
//
// Thread-safety: all functions are pure and thread-safe; they never throw.

#ifndef SAM2_MODEL_STATE_DICT_SPEC_H_
#define SAM2_MODEL_STATE_DICT_SPEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;

  int64_t NumElements() const;
};

bool operator==(const TensorSpec& a, const TensorSpec& b);

// Every tensor of the checkpoint for `config`, in `SAM2Base.state_dict()`
// order. The config should pass ValidateConfig(); sizes of an invalid config
// are computed as the reference would, without checks.
std::vector<TensorSpec> ExpectedTensors(const Sam2Config& config);

// Sum of NumElements() over ExpectedTensors(config).
int64_t ExpectedParameterCount(const Sam2Config& config);

// OK if `state_dict` holds exactly the tensors ExpectedTensors(config)
// names, each with the expected shape (order and dtype are not checked).
// Otherwise INVALID_ARGUMENT naming every missing, unexpected and mis-shaped
// tensor (expected vs. got) in one message; each list is cut after 20
// entries with a count of the rest.
absl::Status ValidateStateDict(const Sam2Config& config,
                               const StateDict& state_dict);

// Which of the eight official presets `state_dict` comes from: reads the
// Hiera embed dim (patch_embed weight), block count, pos_embed size and the
// SAM 2.1-only tensors (no_obj_embed_spatial, obj_ptr_tpos_proj.*), then
// confirms the candidate with ValidateStateDict(). INVALID_ARGUMENT that
// describes what was found, and suggests passing the config explicitly
// (--config), when no preset matches.
absl::StatusOr<Sam2Config> DetectVariant(const StateDict& state_dict);

}  // namespace sam2

#endif  // SAM2_MODEL_STATE_DICT_SPEC_H_
