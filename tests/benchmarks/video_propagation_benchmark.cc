// Video predictor speed: median time per propagated frame for 1 and 3
// objects on a full-size model (default: sam2.1_hiera_tiny with random
// weights; --checkpoint loads given weights, e.g. the reference's, for a
// side-by-side run with tests/benchmarks/reference_video_benchmark.py and
// compare_video_benchmark.sh).
//
// The video is generated in memory (InMemoryFrameSource): --frames frames of
// --width x --height, three coloured discs moving across a gradient. Each
// object gets one positive click on frame 0 (object k on disc k); then
// PropagateInVideo runs forward from frame 0. A frame's time is the time
// between two consecutive per-frame callbacks, so it includes decoding-free
// preprocessing, the image encoder, memory attention, the heads and the
// memory encoder for every object; the first (prompted) frame is excluded.
//
//   bazel run //tests/benchmarks:video_propagation_benchmark -- --threads=2
//
// Prints a table, one JSON line per object count and the state's NumBytes()
// at the end of each run; asserts nothing. Single-threaded driver (LibTorch
// uses --threads intra-op threads).

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/benchmarks/benchmark_model.h"
#include "model/device.h"
#include "model/model_loader.h"
#include "model/sam2_config.h"
#include "model/state_dict_spec.h"
#include "model/video_frames.h"
#include "model/video_predictor.h"

ABSL_FLAG(std::string, variant, "sam2.1_hiera_tiny",
          "Official preset to build with random weights.");
ABSL_FLAG(std::string, checkpoint, "",
          "Load these weights instead of random ones (.pt or .safetensors).");
ABSL_FLAG(int, threads, 2, "LibTorch intra-op threads.");
ABSL_FLAG(std::string, device, "cpu", "cpu, cuda or cuda:N (model/device.h).");
ABSL_FLAG(int, frames, 12, "Frames in the generated video.");
ABSL_FLAG(int, width, 1024, "Frame width.");
ABSL_FLAG(int, height, 576, "Frame height.");
ABSL_FLAG(std::string, precision, "float32",
          "float32, bfloat16 or auto, as sam2_server's --precision.");
ABSL_FLAG(std::string, profile, "",
          "Write a LibTorch profiler trace of one more run (the first object "
          "count, after the timed runs) to this file; "
          "tests/benchmarks/op_profile.py summarises it.");
ABSL_FLAG(std::string, objects, "1,3",
          "Comma-separated object counts to run (each 1..3).");

namespace {

// The scene has this many discs; one object per disc.
constexpr int kMaxObjects = 3;
// Smallest video the scene is drawn on (the discs need room).
constexpr int kMinSide = 64;

struct Stats {
  double median, min, max;
};

Stats Summarize(std::vector<double> ms) {
  if (ms.empty()) return {0, 0, 0};
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  const double median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  return {median, ms.front(), ms.back()};
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "video_propagation_benchmark: %s\n", s.ToString().c_str());
  return 1;
}

// Disc k on frame t: centre and radius in pixels. The same formula is in
// reference_video_benchmark.py.
struct Disc {
  double cx, cy, r;
};
Disc DiscAt(int k, int t, int width, int height) {
  const double r = std::min(width, height) / 10.0;
  return {width * (0.2 + 0.3 * k) + t * width / 200.0,
          height * (0.35 + 0.15 * k) + t * height / 300.0, r};
}

// RGB uint8 [H, W, 3]: a gradient background and three discs in red, green
// and blue tints.
at::Tensor MakeFrame(int t, int width, int height) {
  at::Tensor y = at::arange(height, at::kFloat).view({height, 1}).expand({height, width});
  at::Tensor x = at::arange(width, at::kFloat).view({1, width}).expand({height, width});
  at::Tensor r = x * (255.0 / width) * 0.6;
  at::Tensor g = y * (255.0 / height) * 0.6;
  at::Tensor b = (x + y) * (255.0 / (width + height)) * 0.5 + 40;
  const float colours[kMaxObjects][3] = {{230, 40, 40}, {40, 220, 60}, {50, 60, 235}};
  for (int k = 0; k < kMaxObjects; ++k) {
    const Disc d = DiscAt(k, t, width, height);
    at::Tensor inside = ((x - d.cx).pow(2) + (y - d.cy).pow(2)) < d.r * d.r;
    r = at::where(inside, at::full({}, colours[k][0]), r);
    g = at::where(inside, at::full({}, colours[k][1]), g);
    b = at::where(inside, at::full({}, colours[k][2]), b);
  }
  return at::stack({r, g, b}, 2).round().clamp(0, 255).to(at::kByte).contiguous();
}

struct RunResult {
  Stats frame;
  size_t timed_frames = 0;
  double prompt_ms = 0;
  double init_ms = 0;
  int64_t state_bytes = 0;
};

absl::StatusOr<RunResult> RunOnce(const sam2::VideoPredictor& predictor,
                                  const std::vector<at::Tensor>& frames,
                                  int objects) {
  RunResult result;
  const absl::Time t0 = absl::Now();
  auto source = std::make_unique<sam2::InMemoryFrameSource>();
  for (const at::Tensor& f : frames) {
    absl::StatusOr<int64_t> i = source->AppendFrame(f);
    if (!i.ok()) return i.status();
  }
  absl::StatusOr<std::unique_ptr<sam2::VideoInferenceState>> state =
      predictor.InitState(std::move(source));
  if (!state.ok()) return state.status();
  const absl::Time t1 = absl::Now();
  const int width = static_cast<int>(frames[0].size(1));
  const int height = static_cast<int>(frames[0].size(0));
  for (int k = 0; k < objects; ++k) {
    const Disc d = DiscAt(k, 0, width, height);
    absl::StatusOr<sam2::VideoFrameMasks> m = predictor.AddNewPointsOrBox(
        **state, /*frame_idx=*/0, /*obj_id=*/k + 1,
        at::tensor({static_cast<float>(d.cx), static_cast<float>(d.cy)}).view({1, 2}),
        at::tensor({1}, at::kInt), at::Tensor());
    if (!m.ok()) return m.status();
  }
  const absl::Time t2 = absl::Now();
  std::vector<double> frame_ms;
  absl::Time last = absl::InfinitePast();
  absl::Status s = predictor.PropagateInVideo(
      **state, sam2::PropagateOptions(),
      [&](const sam2::VideoFrameMasks& m) -> absl::Status {
        if (absl::Status synced = sam2::SyncDevice(m.masks.device());
            !synced.ok()) {
          return synced;
        }
        const absl::Time now = absl::Now();
        if (last != absl::InfinitePast()) {
          frame_ms.push_back(absl::ToDoubleMilliseconds(now - last));
        }
        last = now;
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  result.frame = Summarize(frame_ms);
  result.timed_frames = frame_ms.size();
  result.init_ms = absl::ToDoubleMilliseconds(t1 - t0);
  result.prompt_ms = absl::ToDoubleMilliseconds(t2 - t1);
  result.state_bytes = (*state)->NumBytes();
  return result;
}

int Run() {
  at::set_num_threads(absl::GetFlag(FLAGS_threads));
  c10::InferenceMode guard;
  const int num_frames = absl::GetFlag(FLAGS_frames);
  const int width = absl::GetFlag(FLAGS_width);
  const int height = absl::GetFlag(FLAGS_height);
  if (num_frames < 2 || width < kMinSide || height < kMinSide) {
    return Fail(absl::InvalidArgumentError(absl::StrFormat(
        "--frames must be >= 2 and --width/--height >= %d", kMinSide)));
  }
  std::vector<int> object_counts;
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_objects), ',')) {
    int n = 0;
    if (!absl::SimpleAtoi(part, &n) || n < 1 || n > kMaxObjects) {
      return Fail(absl::InvalidArgumentError(
          absl::StrFormat("--objects: '%s' is not in 1..%d", part, kMaxObjects)));
    }
    object_counts.push_back(n);
  }

  absl::StatusOr<sam2::BenchmarkModel> bench = sam2::LoadBenchmarkModel(
      absl::GetFlag(FLAGS_variant), absl::GetFlag(FLAGS_checkpoint));
  if (!bench.ok()) return Fail(bench.status());
  const sam2::Sam2Config& config = bench->config;
  absl::StatusOr<c10::Device> device =
      sam2::BenchmarkDevice(absl::GetFlag(FLAGS_device));
  if (!device.ok()) return Fail(device.status());
  const sam2::StateDict weights = bench->weights.To(*device);
  const std::string& source = bench->source;
  absl::StatusOr<std::shared_ptr<const sam2::VideoPredictor>> predictor =
      sam2::VideoPredictor::Create(config, weights);
  if (!predictor.ok()) return Fail(predictor.status());

  absl::StatusOr<sam2::Precision> precision =
      sam2::UseBenchmarkPrecision(absl::GetFlag(FLAGS_precision), *device);
  if (!precision.ok()) return Fail(precision.status());

  std::vector<at::Tensor> frames;
  for (int t = 0; t < num_frames; ++t) frames.push_back(MakeFrame(t, width, height));

  std::printf("model %s (%s), %d frames %dx%d, %d threads, %s, LibTorch %s\n",
              config.name.c_str(), source.c_str(), num_frames, width, height,
              at::get_num_threads(),
              std::string(sam2::PrecisionName(*precision)).c_str(),
              TORCH_VERSION);
  std::printf("%-8s %14s %10s %10s %6s %10s %14s\n", "objects", "frame ms med",
              "min ms", "max ms", "runs", "prompt ms", "state bytes");
  std::vector<std::string> json;
  for (int objects : object_counts) {
    absl::StatusOr<RunResult> r = RunOnce(**predictor, frames, objects);
    if (!r.ok()) return Fail(r.status());
    std::printf("%-8d %14.1f %10.1f %10.1f %6zu %10.1f %14lld\n", objects,
                r->frame.median, r->frame.min, r->frame.max, r->timed_frames,
                r->prompt_ms, static_cast<long long>(r->state_bytes));
    json.push_back(absl::StrFormat(
        "{\"impl\": \"cpp\", \"model\": \"%s\", \"threads\": %d, "
        "\"objects\": %d, \"frames\": %d, \"width\": %d, \"height\": %d, "
        "\"frame_ms_median\": %.2f, \"frame_ms_min\": %.2f, "
        "\"frame_ms_max\": %.2f, \"timed_frames\": %d, \"prompt_ms\": %.2f, "
        "\"init_ms\": %.2f, \"state_bytes\": %d, \"precision\": \"%s\"}",
        config.name, at::get_num_threads(), objects, num_frames, width, height,
        r->frame.median, r->frame.min, r->frame.max, r->timed_frames,
        r->prompt_ms, r->init_ms, r->state_bytes,
        sam2::PrecisionName(*precision)));
  }
  if (const std::string trace = absl::GetFlag(FLAGS_profile); !trace.empty()) {
    torch::autograd::profiler::RecordProfile profile(trace);
    RECORD_FUNCTION("Propagation", std::vector<c10::IValue>());
    absl::StatusOr<RunResult> r = RunOnce(**predictor, frames, object_counts[0]);
    if (!r.ok()) return Fail(r.status());
  }
  for (const std::string& line : json) std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  try {
    return Run();
  } catch (const c10::Error& e) {
    return Fail(absl::InternalError(e.what_without_backtrace()));
  }
}
