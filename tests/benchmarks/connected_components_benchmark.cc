// Hole filling's connected components on a device: the video predictor
// fills small holes in every tracked frame's low-resolution masks
// (fill_hole_area), which needs 8-connected components. Times, per call on
// [objects, 1, side, side] blob-shaped mask scores:
//   fill            FillHolesInMaskScores on the masks where they are (on a
//                   GPU: tensor-op components there; on the CPU: OpenCV)
//   fill_via_host   the same through the host: copy down, OpenCV, copy up
//                   (what a GPU paid before the tensor-op components)
//   tensor_ops      TensorConnectedComponents alone, on the device
//
//   bazel run //tests/benchmarks:connected_components_benchmark -- --device=cuda
//
// Prints a table and one JSON line; asserts nothing.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "model/connected_components.h"
#include "model/device.h"
#include "model/mask_postprocess.h"
#include "tests/benchmarks/benchmark_model.h"

ABSL_FLAG(std::string, device, "cpu", "cpu, cuda or cuda:N (model/device.h).");
ABSL_FLAG(int, objects, 3, "Masks per call (tracked objects).");
ABSL_FLAG(int, side, 256, "Mask side (the decoder's low-resolution 256).");
ABSL_FLAG(double, max_area, 8, "Largest hole filled (the configs' 8).");
ABSL_FLAG(int, repeats, 50, "Timed calls per case (after one warm-up).");
ABSL_FLAG(int, threads, 2, "LibTorch intra-op threads.");

namespace {

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "connected_components_benchmark: %s\n",
               s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  at::set_num_threads(absl::GetFlag(FLAGS_threads));
  c10::InferenceMode guard;
  absl::StatusOr<c10::Device> device =
      sam2::BenchmarkDevice(absl::GetFlag(FLAGS_device));
  if (!device.ok()) return Fail(device.status());
  const int64_t objects = absl::GetFlag(FLAGS_objects);
  const int64_t side = absl::GetFlag(FLAGS_side);
  const double max_area = absl::GetFlag(FLAGS_max_area);

  // Blobs with speckle: smooth noise upsampled from a 16th of the side,
  // plus fine noise that opens small holes and islands, as real logits have.
  at::manual_seed(0);
  const int64_t coarse = std::max<int64_t>(2, side / 16);
  const at::Tensor scores =
      (at::upsample_bilinear2d(at::randn({objects, 1, coarse, coarse}),
                               {side, side}, false) +
       0.3 * at::randn({objects, 1, side, side}))
          .to(*device);

  struct Case {
    const char* name;
    std::function<absl::Status()> run;
    std::vector<double> ms;
  };
  std::vector<Case> cases;
  cases.push_back({"fill", [&]() -> absl::Status {
                     return sam2::FillHolesInMaskScores(scores, max_area)
                         .status();
                   }});
  cases.push_back({"fill_via_host", [&]() -> absl::Status {
                     absl::StatusOr<at::Tensor> filled =
                         sam2::FillHolesInMaskScores(scores.cpu(), max_area);
                     if (!filled.ok()) return filled.status();
                     filled->to(*device);
                     return absl::OkStatus();
                   }});
  int rounds = 0;
  cases.push_back({"tensor_ops", [&]() -> absl::Status {
                     return sam2::TensorConnectedComponents(scores.le(0),
                                                            &rounds)
                         .status();
                   }});
  for (Case& c : cases) {
    for (int i = 0; i <= absl::GetFlag(FLAGS_repeats); ++i) {
      const absl::Time t = absl::Now();
      if (absl::Status s = c.run(); !s.ok()) return Fail(s);
      if (absl::Status s = sam2::SyncDevice(*device); !s.ok()) return Fail(s);
      if (i > 0) c.ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t));
    }
  }
  std::printf("%lld masks of %lldx%lld on %s, holes up to %.0f px, %d threads "
              "(FastSV: %d rounds)\n",
              static_cast<long long>(objects), static_cast<long long>(side),
              static_cast<long long>(side),
              sam2::DeviceName(*device).c_str(), max_area,
              at::get_num_threads(), rounds);
  std::printf("%-14s %10s %10s %10s\n", "", "median ms", "min ms", "max ms");
  std::string json = "{\"impl\": \"cpp\", \"benchmark\": \"connected_components\"";
  for (const Case& c : cases) {
    const sam2::TimingStats st = sam2::SummarizeTimings(c.ms);
    std::printf("%-14s %10.3f %10.3f %10.3f\n", c.name, st.median, st.min,
                st.max);
    json += ", \"" + std::string(c.name) + "_ms_median\": " +
            std::to_string(st.median);
  }
  json += ", \"device\": \"" + sam2::DeviceName(*device) + "\", \"objects\": " +
          std::to_string(objects) + ", \"rounds\": " + std::to_string(rounds) +
          "}";
  std::printf("%s\n", json.c_str());
  return 0;
}
