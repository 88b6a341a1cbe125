// RunOnWorker. See worker_call.h.

#include "server/worker_call.h"

#include <condition_variable>
#include <exception>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sam2 {

int PickSessionWorker(const WorkerPool& pool, const SessionStore& store) {
  return pool.PickWorker(store.SessionsPerWorker(pool.num_workers()));
}

absl::Status RunOnWorker(WorkerPool& pool, int worker, absl::Time deadline,
                         const std::function<absl::Status()>& body,
                         WorkerCallTiming* timing, bool continuation) {
  // std::mutex + condition_variable, not absl::Notification: Debian's Abseil
  // is not built with ThreadSanitizer, so tsan could not see the hand-off of
  // `result` from the worker to this thread.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  absl::Status result;
  WorkerCallTiming measured;
  absl::Status submitted = pool.Submit(
      worker, deadline,
      [&](const absl::Status& status, const TaskContext& task) {
        measured.queue = task.queued;
        if (status.ok()) {
          const absl::Time start = absl::Now();
          try {
            result = body();
          } catch (const std::exception& e) {
            result = absl::InternalError(
                absl::StrCat("unexpected exception: ", e.what()));
          }
          measured.compute = absl::Now() - start;
        } else {
          result = status;
        }
        std::lock_guard<std::mutex> lock(mu);
        done = true;
        cv.notify_all();
      },
      continuation);
  if (!submitted.ok()) return submitted;
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  if (timing != nullptr) *timing = measured;
  return result;
}

absl::Status RunExclusiveOnWorker(WorkerPool& pool, SessionStore& store,
                                  Session& session, absl::string_view operation,
                                  absl::Time deadline,
                                  const std::function<absl::Status()>& body,
                                  WorkerCallTiming* timing) {
  return RunOnWorker(
      pool, session.worker(), deadline,
      [&]() -> absl::Status {
        ScopedExclusive exclusive(session, operation);
        if (!exclusive.status().ok()) return exclusive.status();
        absl::Status status = body();
        // A budget overrun evicts other idle sessions; it never fails this
        // call (as the gRPC service's RunExclusive).
        store.UpdateBytes(session.id()).IgnoreError();
        return status;
      },
      timing);
}

}  // namespace sam2
