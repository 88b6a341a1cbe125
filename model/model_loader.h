// Loading a SAM 2 model's weights and configuration from files.
//
// One entry point for the server and the command-line tools: reads a
// checkpoint (official `torch.save` .pt zip, or .safetensors, told apart by
// their first bytes), takes the config from a Hydra YAML file when given or
// detects the official variant from the tensors, and validates every key and
// shape against that config. Stateless functions; safe from any thread.

#ifndef SAM2_MODEL_MODEL_LOADER_H_
#define SAM2_MODEL_MODEL_LOADER_H_

#include <string>

#include "absl/status/statusor.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {

enum class CheckpointFormat { kTorchZip, kSafetensors };

struct LoadedModel {
  Sam2Config config;
  StateDict weights;
  std::string checkpoint_path;
  CheckpointFormat format = CheckpointFormat::kTorchZip;
  // Where the config came from: "file PATH", "file PATH (beside the
  // checkpoint)" or "detected from the tensors".
  std::string config_source;
};

// Which config is used: `config_path` when given; else a YAML file beside the
// checkpoint with the same stem (model.pt -> model.yaml), as custom models
// ship; else the official variant detected from the checkpoint's tensors.
// Errors say which file failed and why (missing, unreadable, not a
// checkpoint, tensors that do not match the config).
absl::StatusOr<LoadedModel> LoadModel(const std::string& checkpoint_path,
                                      const std::string& config_path);

// "DIR/STEM.yaml" (or .yml) for "DIR/STEM.EXT" when that file exists, else "".
std::string SiblingConfigPath(const std::string& checkpoint_path);

// Format of a checkpoint file from its first bytes.
absl::StatusOr<CheckpointFormat> DetectCheckpointFormat(
    const std::string& path);

// Human-readable report: file, format, variant, tensor and parameter
// counts, bytes, dtypes, then the config (for `sam2 inspect` and the
// server's start-up log).
std::string DescribeLoadedModel(const LoadedModel& model);

}  // namespace sam2

#endif  // SAM2_MODEL_MODEL_LOADER_H_
