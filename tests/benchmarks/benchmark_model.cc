#include "tests/benchmarks/benchmark_model.h"

#include <ATen/ATen.h>

#include <utility>

#include "model/model_loader.h"
#include "model/state_dict_spec.h"

namespace sam2 {

absl::StatusOr<BenchmarkModel> LoadBenchmarkModel(
    const std::string& variant, const std::string& checkpoint) {
  BenchmarkModel model;
  if (!checkpoint.empty()) {
    absl::StatusOr<LoadedModel> loaded = LoadModel(checkpoint, "");
    if (!loaded.ok()) return loaded.status();
    model.config = loaded->config;
    model.weights = std::move(loaded->weights);
    model.source = checkpoint;
    return model;
  }
  absl::StatusOr<Sam2Config> preset = PresetConfig(variant);
  if (!preset.ok()) return preset.status();
  model.config = *preset;
  at::manual_seed(0);
  for (const TensorSpec& spec : ExpectedTensors(model.config)) {
    absl::Status s = model.weights.Add(spec.name, at::randn(spec.shape) * 0.02);
    if (!s.ok()) return s;
  }
  model.source = "random weights";
  return model;
}

}  // namespace sam2
