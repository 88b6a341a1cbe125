#include "model/model_loader.h"

#include <ATen/ATen.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/safetensors.h"
#include "model/state_dict_spec.h"
#include "model/torch_checkpoint.h"

namespace sam2 {
namespace {

// Prefixes a status message with the file it is about, keeping the code.
absl::Status AboutFile(const std::string& path, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
}

std::string FormatName(CheckpointFormat format) {
  return format == CheckpointFormat::kTorchZip ? "torch.save zip archive"
                                               : "safetensors";
}

}  // namespace

std::string SiblingConfigPath(const std::string& checkpoint_path) {
  const size_t slash = checkpoint_path.rfind('/');
  const size_t dot = checkpoint_path.rfind('.');
  const std::string stem =
      (dot != std::string::npos && (slash == std::string::npos || dot > slash))
          ? checkpoint_path.substr(0, dot)
          : checkpoint_path;
  for (const char* ext : {".yaml", ".yml"}) {
    const std::string candidate = stem + ext;
    if (std::ifstream(candidate).good()) return candidate;
  }
  return "";
}

absl::StatusOr<CheckpointFormat> DetectCheckpointFormat(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return absl::Status(err == ENOENT ? absl::StatusCode::kNotFound
                                      : absl::StatusCode::kFailedPrecondition,
                        absl::StrCat(path, ": cannot open: ", std::strerror(err)));
  }
  char head[9] = {};
  in.read(head, sizeof(head));
  const std::streamsize n = in.gcount();
  if (n >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) {
    return CheckpointFormat::kTorchZip;
  }
  // safetensors: u64 little-endian header length, then a JSON object.
  if (n == 9 && head[8] == '{') return CheckpointFormat::kSafetensors;
  return absl::InvalidArgumentError(absl::StrCat(
      path,
      ": not a model checkpoint (expected a torch.save .pt zip archive or a "
      ".safetensors file)"));
}

absl::StatusOr<LoadedModel> LoadModel(const std::string& checkpoint_path,
                                      const std::string& config_path) {
  LoadedModel model;
  model.checkpoint_path = checkpoint_path;
  absl::StatusOr<CheckpointFormat> format =
      DetectCheckpointFormat(checkpoint_path);
  if (!format.ok()) return format.status();
  model.format = *format;

  absl::StatusOr<StateDict> weights =
      model.format == CheckpointFormat::kTorchZip
          ? ReadTorchCheckpoint(checkpoint_path)
          : ReadSafetensors(checkpoint_path);
  if (!weights.ok()) return AboutFile(checkpoint_path, weights.status());
  model.weights = *std::move(weights);

  std::string config_file = config_path;
  std::string source_note;
  if (config_file.empty()) {
    config_file = SiblingConfigPath(checkpoint_path);
    source_note = " (beside the checkpoint)";
  }
  if (config_file.empty()) {
    absl::StatusOr<Sam2Config> config = DetectVariant(model.weights);
    if (!config.ok()) return AboutFile(checkpoint_path, config.status());
    model.config = *std::move(config);
    model.config_source = "detected from the tensors";
  } else {
    absl::StatusOr<Sam2Config> config = LoadConfigYaml(config_file);
    if (!config.ok()) return AboutFile(config_file, config.status());
    model.config = *std::move(config);
    model.config_source = absl::StrCat("file ", config_file, source_note);
    absl::Status valid = ValidateStateDict(model.config, model.weights);
    if (!valid.ok()) {
      return absl::Status(
          valid.code(), absl::StrCat(checkpoint_path, " does not match ",
                                     config_file, ": ", valid.message()));
    }
  }
  return model;
}

std::string DescribeLoadedModel(const LoadedModel& model) {
  std::map<std::string, int> dtypes;
  for (const NamedTensor& t : model.weights) {
    ++dtypes[std::string(c10::toString(t.tensor.scalar_type()))];
  }
  std::string dtype_text = absl::StrJoin(
      dtypes, ", ", [](std::string* out, const std::pair<const std::string, int>& d) {
        absl::StrAppend(out, d.first, " x", d.second);
      });
  return absl::StrCat(
      "checkpoint: ", model.checkpoint_path, "\n",
      "format:     ", FormatName(model.format), "\n",
      "variant:    ", model.config.name, " (", FamilyName(model.config.family),
      ", config ", model.config_source, ")\n",
      "tensors:    ", model.weights.size(), "\n",
      "parameters: ", model.weights.NumParameters(), "\n",
      "bytes:      ", model.weights.NumBytes(), "\n",
      "dtypes:     ", dtype_text, "\n",
      "config:\n", DescribeConfig(model.config));
}

}  // namespace sam2
