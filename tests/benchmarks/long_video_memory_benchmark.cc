// Memory on long videos: tracks one object through N generated frames
// (default 300; a disc moving over a gradient, produced on demand so the
// source holds nothing) with the micro test model, and prints the state's
// bytes and the process's resident memory at 30, 100 and N frames — in the
// default mode (every memory kept, as the reference does) and in long-video
// mode (memories outside a window dropped, rebuilt exactly when needed).
//
//   bazel run -c opt //tests/benchmarks:long_video_memory_benchmark --
//       --checkpoint=$PWD/tests/fixtures/sam2.1-micro/model.pt --frames=300
//
// Prints figures; asserts nothing.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "model/model_loader.h"
#include "model/video_frames.h"
#include "model/video_predictor.h"

ABSL_FLAG(std::string, checkpoint, "tests/fixtures/sam2.1-micro/model.pt",
          "Model weights (its YAML beside it, or an official variant).");
ABSL_FLAG(int, frames, 300, "Frames to track.");
ABSL_FLAG(int, window, 8, "long_video_window for the long-video run.");
ABSL_FLAG(int, width, 320, "Frame width.");
ABSL_FLAG(int, height, 180, "Frame height.");

namespace {

// Frames made on demand: nothing is stored.
class SyntheticFrames : public sam2::FrameSource {
 public:
  SyntheticFrames(int64_t n, int64_t h, int64_t w) : n_(n), h_(h), w_(w) {}
  int64_t num_frames() const override { return n_; }
  int64_t video_height() const override { return h_; }
  int64_t video_width() const override { return w_; }
  absl::StatusOr<at::Tensor> GetFrame(int64_t i) override {
    at::Tensor y = at::arange(h_).view({h_, 1}).expand({h_, w_});
    at::Tensor x = at::arange(w_).view({1, w_}).expand({h_, w_});
    const double cx = w_ * (0.3 + 0.4 * ((i % 100) / 100.0));
    const double cy = h_ * 0.5;
    at::Tensor disc = ((x - cx).pow(2) + (y - cy).pow(2) < (h_ / 5) * (h_ / 5));
    at::Tensor r = (x * 255 / w_).to(at::kByte);
    at::Tensor g = (y * 255 / h_).to(at::kByte);
    at::Tensor b = at::where(disc, at::full_like(r, 230), at::full_like(r, 40));
    return at::stack({r, g, b}, 2).contiguous();
  }

 private:
  int64_t n_, h_, w_;
};

int64_t ResidentKiB() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      int64_t kib = 0;
      status >> kib;
      return kib;
    }
    status.ignore(1 << 20, '\n');
  }
  return -1;
}

int Run(const sam2::VideoPredictor& predictor, int64_t window) {
  const int64_t n = absl::GetFlag(FLAGS_frames);
  sam2::VideoStateOptions options;
  options.long_video_window = window;
  absl::StatusOr<std::unique_ptr<sam2::VideoInferenceState>> state =
      predictor.InitState(
          std::make_unique<SyntheticFrames>(n, absl::GetFlag(FLAGS_height),
                                            absl::GetFlag(FLAGS_width)),
          options);
  if (!state.ok()) {
    std::fprintf(stderr, "%s\n", state.status().ToString().c_str());
    return 1;
  }
  const float cx = absl::GetFlag(FLAGS_width) * 0.3f;
  const float cy = absl::GetFlag(FLAGS_height) * 0.5f;
  absl::StatusOr<sam2::VideoFrameMasks> m = predictor.AddNewPointsOrBox(
      **state, 0, 1, at::tensor({cx, cy}).view({1, 2}), at::tensor({1}, at::kInt),
      at::Tensor());
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
    return 1;
  }
  std::printf("%s mode%s\n", window > 0 ? "long-video" : "default",
              window > 0 ? (" (window " + std::to_string(window) + ")").c_str() : "");
  std::printf("  %8s %14s %12s %10s\n", "frames", "state bytes", "RSS MiB", "s");
  const absl::Time start = absl::Now();
  int64_t done = 0;
  absl::Status s = predictor.PropagateInVideo(
      **state, sam2::PropagateOptions(), [&](const sam2::VideoFrameMasks&) {
        ++done;
        if (done == 30 || done == 100 || done == n || done % 100 == 0) {
          std::printf("  %8lld %14lld %12.1f %10.1f\n",
                      static_cast<long long>(done),
                      static_cast<long long>((*state)->NumBytes()),
                      ResidentKiB() / 1024.0,
                      absl::ToDoubleSeconds(absl::Now() - start));
          std::fflush(stdout);
        }
        return absl::OkStatus();
      });
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("  memories dropped %lld, rebuilt %lld\n",
              static_cast<long long>((*state)->memories_evicted()),
              static_cast<long long>((*state)->memories_rebuilt()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  at::set_num_threads(2);
  absl::StatusOr<sam2::LoadedModel> loaded =
      sam2::LoadModel(absl::GetFlag(FLAGS_checkpoint), "");
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::shared_ptr<const sam2::VideoPredictor>> predictor =
      sam2::VideoPredictor::Create(loaded->config, loaded->weights);
  if (!predictor.ok()) {
    std::fprintf(stderr, "%s\n", predictor.status().ToString().c_str());
    return 1;
  }
  std::printf("model %s, %d frames %dx%d, RSS at start %.1f MiB\n",
              loaded->config.name.c_str(), absl::GetFlag(FLAGS_frames),
              absl::GetFlag(FLAGS_width), absl::GetFlag(FLAGS_height),
              ResidentKiB() / 1024.0);
  // Long-video mode first, so the default run's growth cannot hide in
  // memory the allocator kept from an earlier run.
  if (int rc = Run(**predictor, absl::GetFlag(FLAGS_window)); rc != 0) return rc;
  return Run(**predictor, 0);
}
