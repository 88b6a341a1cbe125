// Image predictor speed: median SetImage (preprocessing + image encoder) on
// a 1024x1024 image and median Predict for one click on the cached
// embedding, for a full-size model (default: sam2.1_hiera_tiny with random
// weights, so no checkpoint file is needed; --checkpoint loads given weights,
// e.g. the reference's, for a side-by-side run with
// tests/benchmarks/reference_image_benchmark.py).
//
//   bazel run //tests/benchmarks:image_predictor_benchmark -- --threads=2
//
// Prints a table and one JSON line; asserts nothing.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "model/device.h"
#include "model/image_io.h"
#include "model/image_predictor.h"
#include "tests/benchmarks/benchmark_model.h"
#include "model/model_loader.h"
#include "model/precision.h"
#include "model/sam2_config.h"
#include "model/sam2_model.h"
#include "model/state_dict_spec.h"

ABSL_FLAG(std::string, variant, "sam2.1_hiera_tiny",
          "Official preset to build with random weights.");
ABSL_FLAG(std::string, checkpoint, "",
          "Load these weights instead of random ones (.pt or .safetensors).");
ABSL_FLAG(std::string, image, "", "Image file; default a synthetic 1024x1024.");
ABSL_FLAG(int, threads, 2, "LibTorch intra-op threads.");
ABSL_FLAG(std::string, device, "cpu", "cpu, cuda or cuda:N (model/device.h).");
ABSL_FLAG(std::string, precision, "float32",
          "float32, bfloat16 or auto, as sam2_server's --precision.");
ABSL_FLAG(int, repeats, 5, "Timed SetImage runs (after one warm-up).");
ABSL_FLAG(int, predict_repeats, 20, "Timed Predict runs (after one warm-up).");
ABSL_FLAG(int, profile_predicts, 10, "Predict calls in the --profile trace.");
ABSL_FLAG(std::string, profile, "",
          "Also write a Chrome trace of one SetImage and one Predict (after "
          "the timed runs) to this file; tests/benchmarks/op_profile.py "
          "sums it by op.");

namespace {

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "image_predictor_benchmark: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  at::set_num_threads(absl::GetFlag(FLAGS_threads));
  c10::InferenceMode guard;

  absl::StatusOr<sam2::BenchmarkModel> bench = sam2::LoadBenchmarkModel(
      absl::GetFlag(FLAGS_variant), absl::GetFlag(FLAGS_checkpoint));
  if (!bench.ok()) return Fail(bench.status());
  const sam2::Sam2Config& config = bench->config;
  absl::StatusOr<c10::Device> device =
      sam2::BenchmarkDevice(absl::GetFlag(FLAGS_device));
  if (!device.ok()) return Fail(device.status());
  const sam2::StateDict weights = bench->weights.To(*device);
  const std::string& source = bench->source;
  absl::StatusOr<std::shared_ptr<const sam2::Sam2Model>> model =
      sam2::Sam2Model::Create(config, weights);
  if (!model.ok()) return Fail(model.status());

  absl::StatusOr<at::Tensor> image =
      sam2::LoadBenchmarkImage(absl::GetFlag(FLAGS_image));
  if (!image.ok()) return Fail(image.status());
  const at::Tensor rgb = *image;

  absl::StatusOr<sam2::Precision> precision =
      sam2::UseBenchmarkPrecision(absl::GetFlag(FLAGS_precision), *device);
  if (!precision.ok()) return Fail(precision.status());
  std::printf("precision: %s\n", std::string(sam2::PrecisionName(*precision)).c_str());
  sam2::ImagePredictor predictor(*model);
  std::vector<double> set_ms;
  for (int i = 0; i <= absl::GetFlag(FLAGS_repeats); ++i) {
    const absl::Time t = absl::Now();
    absl::Status s = predictor.SetImage(rgb);
    if (!s.ok()) return Fail(s);
    if (s = sam2::SyncDevice(*device); !s.ok()) return Fail(s);
    if (i > 0) set_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t));
  }
  sam2::ImagePromptInput prompt;
  prompt.point_coords = at::tensor({rgb.size(1) / 2.0f, rgb.size(0) / 2.0f}).view({1, 2});
  prompt.point_labels = at::tensor({1}, at::kInt);
  std::vector<double> predict_ms;
  for (int i = 0; i <= absl::GetFlag(FLAGS_predict_repeats); ++i) {
    const absl::Time t = absl::Now();
    absl::StatusOr<sam2::Prediction> p = predictor.Predict(prompt);
    if (!p.ok()) return Fail(p.status());
    if (absl::Status s = sam2::SyncDevice(*device); !s.ok()) return Fail(s);
    if (i > 0) predict_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t));
  }
  if (const std::string trace = absl::GetFlag(FLAGS_profile); !trace.empty()) {
    torch::autograd::profiler::RecordProfile profile(trace);
    {
      RECORD_FUNCTION("SetImage", std::vector<c10::IValue>());
      if (absl::Status s = predictor.SetImage(rgb); !s.ok()) return Fail(s);
    }
    // Several clicks, so that one-off costs (first touch of new buffers)
    // do not dominate the click's profile; op_profile.py sums the regions.
    for (int i = 0; i < absl::GetFlag(FLAGS_profile_predicts); ++i) {
      RECORD_FUNCTION("Predict", std::vector<c10::IValue>());
      if (!predictor.Predict(prompt).ok()) return Fail(absl::InternalError("Predict"));
    }
  }
  const sam2::TimingStats set = sam2::SummarizeTimings(set_ms);
  const sam2::TimingStats pred = sam2::SummarizeTimings(predict_ms);
  std::printf("model %s (%s), image %lldx%lld, %d threads, LibTorch %s\n",
              config.name.c_str(), source.c_str(),
              static_cast<long long>(rgb.size(1)),
              static_cast<long long>(rgb.size(0)), at::get_num_threads(),
              TORCH_VERSION);
  std::printf("%-10s %10s %10s %10s %6s\n", "", "median ms", "min ms", "max ms", "runs");
  std::printf("%-10s %10.1f %10.1f %10.1f %6zu\n", "SetImage", set.median,
              set.min, set.max, set_ms.size());
  std::printf("%-10s %10.1f %10.1f %10.1f %6zu\n", "Predict", pred.median,
              pred.min, pred.max, predict_ms.size());
  std::printf(
      "{\"impl\": \"cpp\", \"model\": \"%s\", \"threads\": %d, "
      "\"set_image_ms_median\": %.2f, \"set_image_ms_min\": %.2f, "
      "\"set_image_ms_max\": %.2f, \"predict_ms_median\": %.3f, "
      "\"predict_ms_min\": %.3f, \"predict_ms_max\": %.3f}\n",
      config.name.c_str(), at::get_num_threads(), set.median, set.min, set.max,
      pred.median, pred.min, pred.max);
  return 0;
}
