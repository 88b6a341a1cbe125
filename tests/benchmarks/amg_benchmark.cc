// Automatic mask generator speed: 32x32 points on one 1024x1024 image with
// a full-size model (default: sam2.1_hiera_tiny with random weights, so no
// checkpoint file is needed). Prints the image encoder time and the time of
// each decoded batch of --points_per_batch prompts (mask decoder, upscaling,
// filtering, RLE), taken between the generator's progress callbacks.
//
//   bazel run //tests/benchmarks:amg_benchmark -- --threads=2
//
// Prints a table and one JSON line; asserts nothing.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "model/automatic_mask_generator.h"
#include "model/image_io.h"
#include "model/image_predictor.h"
#include "tests/benchmarks/benchmark_model.h"
#include "model/model_loader.h"
#include "model/sam2_config.h"
#include "model/sam2_model.h"
#include "model/state_dict_spec.h"

ABSL_FLAG(std::string, variant, "sam2.1_hiera_tiny",
          "Official preset to build with random weights.");
ABSL_FLAG(std::string, checkpoint, "",
          "Load these weights instead of random ones (.pt or .safetensors).");
ABSL_FLAG(std::string, image, "", "Image file; default a synthetic 1024x1024.");
ABSL_FLAG(int, threads, 2, "LibTorch intra-op threads.");
ABSL_FLAG(int, points_per_side, 32, "Grid points per side.");
ABSL_FLAG(int, points_per_batch, 64, "Prompts decoded per batch.");
ABSL_FLAG(bool, keep_all, false,
          "pred_iou_thresh = stability_score_thresh = 0 (keep every mask).");

namespace {

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "amg_benchmark: %s\n", s.ToString().c_str());
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
  const sam2::StateDict& weights = bench->weights;
  const std::string& source = bench->source;
  absl::StatusOr<std::shared_ptr<const sam2::Sam2Model>> model =
      sam2::Sam2Model::Create(config, weights);
  if (!model.ok()) return Fail(model.status());

  absl::StatusOr<at::Tensor> image =
      sam2::LoadBenchmarkImage(absl::GetFlag(FLAGS_image));
  if (!image.ok()) return Fail(image.status());
  const at::Tensor rgb = *image;

  // The reference's defaults; --keep_all disables the score filters so that
  // NMS and RLE see every mask even with random weights.
  sam2::AutomaticMaskGeneratorOptions options;
  if (absl::GetFlag(FLAGS_keep_all)) {
    options.pred_iou_thresh = 0;
    options.stability_score_thresh = 0;
  }
  options.points_per_side = absl::GetFlag(FLAGS_points_per_side);
  options.points_per_batch = absl::GetFlag(FLAGS_points_per_batch);
  absl::StatusOr<std::unique_ptr<sam2::AutomaticMaskGenerator>> amg =
      sam2::AutomaticMaskGenerator::Create(*model, options);
  if (!amg.ok()) return Fail(amg.status());

  const absl::Time t0 = absl::Now();
  absl::StatusOr<std::vector<sam2::ImageFeatures>> features =
      sam2::EmbedImages(**model, {rgb});
  if (!features.ok()) return Fail(features.status());
  const double encoder_ms = absl::ToDoubleMilliseconds(absl::Now() - t0);

  std::vector<double> batch_ms;
  absl::Time last = absl::Now();
  const absl::Time start = last;
  absl::StatusOr<std::vector<sam2::MaskRecord>> records = (*amg)->Generate(
      rgb,
      [&](int64_t, int64_t) {
        const absl::Time now = absl::Now();
        batch_ms.push_back(absl::ToDoubleMilliseconds(now - last));
        last = now;
        return absl::OkStatus();
      },
      &features->front());
  if (!records.ok()) return Fail(records.status());
  const double generate_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  const sam2::TimingStats b = sam2::SummarizeTimings(batch_ms);

  std::printf("model %s (%s), image %lldx%lld, %d threads, LibTorch %s\n",
              config.name.c_str(), source.c_str(),
              static_cast<long long>(rgb.size(1)),
              static_cast<long long>(rgb.size(0)), at::get_num_threads(),
              TORCH_VERSION);
  std::printf("%d x %d points, %d per batch: %zu batches, %zu masks kept\n",
              absl::GetFlag(FLAGS_points_per_side),
              absl::GetFlag(FLAGS_points_per_side),
              absl::GetFlag(FLAGS_points_per_batch), batch_ms.size(),
              records->size());
  std::printf("%-22s %10.1f ms\n", "image encoder", encoder_ms);
  std::printf("%-22s %10.1f ms median (min %.1f, max %.1f)\n", "decoder per batch",
              b.median, b.min, b.max);
  std::printf("%-22s %10.1f ms (batches %.1f ms + NMS/records)\n",
              "generate (no encoder)", generate_ms, b.total);
  std::printf("%-22s %10.1f ms\n", "total", encoder_ms + generate_ms);
  std::printf(
      "{\"impl\": \"cpp\", \"model\": \"%s\", \"threads\": %d, "
      "\"points_per_side\": %d, \"points_per_batch\": %d, "
      "\"encoder_ms\": %.1f, \"batch_ms_median\": %.1f, \"batch_ms_min\": %.1f, "
      "\"batch_ms_max\": %.1f, \"generate_ms\": %.1f, \"masks\": %zu}\n",
      config.name.c_str(), at::get_num_threads(),
      absl::GetFlag(FLAGS_points_per_side), absl::GetFlag(FLAGS_points_per_batch),
      encoder_ms, b.median, b.min, b.max, generate_ms, records->size());
  return 0;
}
