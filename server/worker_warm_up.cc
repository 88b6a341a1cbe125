// Warm-up and encoder timing on a worker. See worker_warm_up.h.

#include "server/worker_warm_up.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/types/span.h"
#include "model/device.h"
#include "model/image_predictor.h"
#include "model/video_frames.h"

namespace sam2 {
namespace {

// A 64 x 48 RGB image with some structure; the encoder resizes every image
// to its input size, so its cost does not depend on this size.
at::Tensor SyntheticRgb() {
  return at::arange(64 * 48 * 3, at::kLong)
      .remainder(251)
      .to(at::kByte)
      .reshape({48, 64, 3})
      .contiguous();
}

}  // namespace

absl::Status WarmUpWorker(const WorkerModel& model) {
  const at::Tensor rgb = SyntheticRgb();
  absl::StatusOr<std::vector<ImageFeatures>> features =
      EmbedImages(*model.image, absl::MakeConstSpan(&rgb, 1));
  if (!features.ok()) return features.status();
  ImagePromptInput prompt;
  prompt.point_coords = at::tensor({32.0f, 24.0f}).reshape({1, 2});
  prompt.point_labels = at::tensor({1}, at::kInt);
  absl::StatusOr<Prediction> prediction =
      PredictMasks(*model.image, ImagePredictorOptions{}, features->front(),
                   prompt, PredictOptions{});
  if (!prediction.ok()) return prediction.status();

  auto source = std::make_unique<InMemoryFrameSource>();
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<int64_t> appended = source->AppendFrame(rgb);
    if (!appended.ok()) return appended.status();
  }
  absl::StatusOr<std::unique_ptr<VideoInferenceState>> state =
      model.video->InitState(std::move(source));
  if (!state.ok()) return state.status();
  absl::StatusOr<VideoFrameMasks> added = model.video->AddNewPointsOrBox(
      **state, 0, 1, prompt.point_coords, prompt.point_labels, at::Tensor());
  if (!added.ok()) return added.status();
  return model.video->PropagateInVideo(
      **state, PropagateOptions{},
      [](const VideoFrameMasks&) { return absl::OkStatus(); });
}

absl::StatusOr<absl::Duration> TimeImageEncoder(const WorkerModel& model,
                                                int runs) {
  const at::Tensor rgb = SyntheticRgb();
  absl::Duration fastest = absl::InfiniteDuration();
  for (int i = 0; i < std::max(1, runs); ++i) {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::vector<ImageFeatures>> features =
        EmbedImages(*model.image, absl::MakeConstSpan(&rgb, 1));
    if (!features.ok()) return features.status();
    if (absl::Status synced = SyncDevice(model.device); !synced.ok()) {
      return synced;
    }
    fastest = std::min(fastest, absl::Now() - start);
  }
  return fastest;
}

}  // namespace sam2
