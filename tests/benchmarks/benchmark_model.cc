#include "tests/benchmarks/benchmark_model.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <utility>

#include "model/device.h"
#include "model/image_io.h"
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

absl::StatusOr<at::Tensor> LoadBenchmarkImage(const std::string& path) {
  if (!path.empty()) {
    absl::StatusOr<RgbImage> image = DecodeImageFile(path);
    if (!image.ok()) return image.status();
    return image->pixels;
  }
  at::Tensor y = at::arange(1024).view({1024, 1, 1}).expand({1024, 1024, 1});
  at::Tensor x = at::arange(1024).view({1, 1024, 1}).expand({1024, 1024, 1});
  at::Tensor disc = ((x - 600).pow(2) + (y - 400).pow(2) < 200 * 200) * 120;
  return at::cat({x / 4, y / 4, (x + y) / 8 + disc}, 2).clamp(0, 255).to(at::kByte);
}

absl::StatusOr<c10::Device> BenchmarkDevice(const std::string& flag) {
  absl::StatusOr<std::vector<c10::Device>> devices =
      ResolveDevices(flag, CudaDeviceCount());
  if (!devices.ok()) return devices.status();
  if (devices->size() != 1) {
    return absl::InvalidArgumentError("--device: name one device");
  }
  return devices->front();
}

absl::StatusOr<Precision> UseBenchmarkPrecision(const std::string& flag,
                                                c10::Device device) {
  absl::StatusOr<PrecisionChoice> choice = ParsePrecisionChoice(flag);
  if (!choice.ok()) return choice.status();
  const Precision precision = ResolveDevicePrecision(*choice, device);
  UseDeviceOnThisThread(device, precision);
  return precision;
}

TimingStats SummarizeTimings(std::vector<double> ms) {
  TimingStats out;
  if (ms.empty()) return out;
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  out.median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  out.min = ms.front();
  out.max = ms.back();
  for (double v : ms) out.total += v;
  return out;
}

}  // namespace sam2
