// The model a benchmark runs: an official preset with random weights (no
// checkpoint file needed; compute time does not depend on the values), or
// the weights of a given checkpoint (e.g. the reference's, for a
// side-by-side run). Shared by the benchmark programs.

#ifndef SAM2_TESTS_BENCHMARKS_BENCHMARK_MODEL_H_
#define SAM2_TESTS_BENCHMARKS_BENCHMARK_MODEL_H_

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/precision.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {

struct BenchmarkModel {
  Sam2Config config;
  StateDict weights;
  std::string source;  // "random weights" or the checkpoint path
};

// `checkpoint` non-empty: load it (config detected or beside it); else the
// preset `variant` with 0.02 * N(0, 1) weights from seed 0.
absl::StatusOr<BenchmarkModel> LoadBenchmarkModel(const std::string& variant,
                                                  const std::string& checkpoint);

// The benchmark image: the file at `path` decoded, or (empty path) a
// synthetic 1024x1024 RGB scene (gradients and a disc).
absl::StatusOr<at::Tensor> LoadBenchmarkImage(const std::string& path);

// Parses a --device flag value (model/device.h: one device, e.g. "cpu",
// "cuda:0").
absl::StatusOr<c10::Device> BenchmarkDevice(const std::string& flag);

// Parses a --precision flag value ("float32", "bfloat16", "auto"), resolves
// it for `device` (ResolveDevicePrecision), applies it and the device to
// the calling thread (the benchmark's driver thread, as a server worker
// does) and returns what it chose.
absl::StatusOr<Precision> UseBenchmarkPrecision(
    const std::string& flag, c10::Device device = c10::Device(c10::kCPU));

// Median, minimum, maximum and sum of timings in milliseconds (all 0 for
// none).
struct TimingStats {
  double median = 0, min = 0, max = 0, total = 0;
};
TimingStats SummarizeTimings(std::vector<double> ms);

}  // namespace sam2

#endif  // SAM2_TESTS_BENCHMARKS_BENCHMARK_MODEL_H_
