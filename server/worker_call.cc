// RunOnWorker. See worker_call.h.

#include "server/worker_call.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace sam2 {

absl::Status RunOnWorker(WorkerPool& pool, int worker, absl::Time deadline,
                         const std::function<absl::Status()>& body,
                         WorkerCallTiming* timing, bool continuation) {
  absl::Notification done;
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
        done.Notify();
      },
      continuation);
  if (!submitted.ok()) return submitted;
  done.WaitForNotification();
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
