// Worker speeds: how fast each worker of the pool runs the model, relative
// to the fastest, so that placement (WorkerPool::PickWorker) gives a GPU its
// share of new sessions and a CPU worker beside it only what it can serve.
//
// --worker_speeds takes "auto" (the default: measured when the workers run
// on different kinds of device, DeviceKind — the CPU and a GPU, or two GPU
// models — and equal otherwise, where a measurement would only add noise),
// "measure" (always measured), "equal" (never), or one number per worker
// ("4,4,1"). The measurement is the image encoder's time on each worker
// (server/worker_warm_up.h), the bulk of every SetImage and tracked frame.
//
// Thread-safety: pure functions of their arguments.

#ifndef SAM2_SERVER_WORKER_SPEED_H_
#define SAM2_SERVER_WORKER_SPEED_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace sam2 {

struct WorkerSpeedsChoice {
  enum class Mode { kAuto, kMeasure, kEqual, kGiven };
  Mode mode = Mode::kAuto;
  // kGiven: one positive value per worker, in worker order.
  std::vector<double> given;
};

// Parses a --worker_speeds value; INVALID_ARGUMENT names what is wrong.
absl::StatusOr<WorkerSpeedsChoice> ParseWorkerSpeeds(absl::string_view flag);

// Whether `choice` needs the workers timed, given each worker's DeviceKind.
bool ShouldMeasureWorkerSpeeds(const WorkerSpeedsChoice& choice,
                               absl::Span<const std::string> device_kinds);

// Speeds from measured times of the same work: the fastest worker 1, each
// other one fastest / its time.
std::vector<double> RelativeSpeeds(absl::Span<const absl::Duration> times);

}  // namespace sam2

#endif  // SAM2_SERVER_WORKER_SPEED_H_
