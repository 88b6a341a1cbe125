// RunOnWorker (and RunExclusiveOnWorker, the same holding a session's
// exclusivity): a blocking call of one task on a model worker, for the HTTP
// side's handlers (which run on HTTP threads, not in gRPC reactors): the
// task is queued on the session's worker like the gRPC service's tasks
// (same queue, capacity and deadline rules), and the calling thread waits
// for its result.
//
// Thread-safety: any thread except a worker of `pool` (it would wait for
// itself).

#ifndef SAM2_SERVER_WORKER_CALL_H_
#define SAM2_SERVER_WORKER_CALL_H_

#include <functional>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/worker_pool.h"
#include "session/session.h"
#include "session/session_store.h"

namespace sam2 {

// The worker a new session goes to: the one with the fewest live sessions
// in `store`, then the shortest queue (WorkerPool::PickWorker).
int PickSessionWorker(const WorkerPool& pool, const SessionStore& store);

// Where a call's time went, for the request metrics; unset: not reached.
struct WorkerCallTiming {
  std::optional<absl::Duration> queue;
  std::optional<absl::Duration> compute;
};

// Runs `body` on `worker` and returns its status. RESOURCE_EXHAUSTED when
// the worker's queue is full, DEADLINE_EXCEEDED when `deadline` passed
// while it was queued (it never runs then), UNAVAILABLE after shutdown; an
// exception out of `body` is INTERNAL. `timing` may be null.
// `continuation`: the next step of work already admitted (WorkerPool::Submit).
absl::Status RunOnWorker(WorkerPool& pool, int worker, absl::Time deadline,
                         const std::function<absl::Status()>& body,
                         WorkerCallTiming* timing = nullptr,
                         bool continuation = false);

// RunOnWorker on `session`'s worker, `body` holding the session's
// exclusivity (ABORTED "session is busy: ..." when another operation holds
// it; NOT_FOUND when it was removed meanwhile); the session's size is
// re-read for the store's byte budget afterwards, even when `body` failed.
absl::Status RunExclusiveOnWorker(WorkerPool& pool, SessionStore& store,
                                  Session& session, absl::string_view operation,
                                  absl::Time deadline,
                                  const std::function<absl::Status()>& body,
                                  WorkerCallTiming* timing = nullptr);

}  // namespace sam2

#endif  // SAM2_SERVER_WORKER_CALL_H_
