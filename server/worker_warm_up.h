// What runs on each worker before the server takes requests: the warm-up
// (every model path once, so the first client does not pay for first-call
// allocations and kernel choices) and the image encoder's timing that
// placement weighs workers by (server/worker_speed.h).
//
// Thread-safety: both run model work and must be called on the worker's own
// thread (its device and precision bound, UseDeviceOnThisThread); the
// WorkerModel is only read.

#ifndef SAM2_SERVER_WORKER_WARM_UP_H_
#define SAM2_SERVER_WORKER_WARM_UP_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/worker_model.h"

namespace sam2 {

// Runs image embed + decode, video init + prompt + one tracked frame on a
// small synthetic input.
absl::Status WarmUpWorker(const WorkerModel& model);

// Embeds a synthetic image `runs` times (at least once), waiting for the
// device after each, and returns the fastest run's wall time.
absl::StatusOr<absl::Duration> TimeImageEncoder(const WorkerModel& model,
                                                int runs);

}  // namespace sam2

#endif  // SAM2_SERVER_WORKER_WARM_UP_H_
