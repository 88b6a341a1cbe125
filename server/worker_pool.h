// WorkerPool: one worker thread per device, each with its own bounded FIFO
// queue — the only place in the server where model work runs.
//
// DESIGN.md "Workers": the CPU is one device and each GPU another; a session
// is pinned to one worker for its life (its tensors live on that device), so
// callers pick a worker once (PickWorker, given how many live sessions each
// worker holds — the session store counts them — and how fast each worker
// is) and submit all of the session's work to it. Admission control is at the queue: a full queue
// refuses new work at once with RESOURCE_EXHAUSTED rather than letting
// latency grow without bound, and work whose deadline passed while it waited
// is never started.
//
// Long work (video propagation) runs as a chain of short tasks, one per frame:
// each frame's task, when done, submits the next frame with
// `continuation = true`. The next frame goes to the back of the queue, so
// other sessions pinned to the same worker interleave with the stream instead
// of waiting for all of it. Continuations skip the capacity check — a stream
// that was admitted never fails half-way because of load — so a queue can
// hold at most `queue_capacity` + (number of live streams on that worker)
// tasks; live streams are themselves bounded by the session limits.
//
// Ownership: the pool owns its threads and every queued task. The Clock is
// not owned and must outlive the pool.
// Thread-safety: every public method may be called from any thread, including
// from inside a task, except Shutdown()/the destructor, which join the worker
// threads and therefore must not be called from a task.

#ifndef SAM2_SERVER_WORKER_POOL_H_
#define SAM2_SERVER_WORKER_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "absl/time/time.h"
#include "session/clock.h"

namespace sam2 {

struct WorkerPoolOptions {
  // Workers (= devices). Values below 1 are treated as 1.
  int num_workers = 1;
  // Queued (not yet running) tasks each worker accepts before Submit answers
  // RESOURCE_EXHAUSTED; continuations may exceed it (see the file comment).
  // Values below 1 are treated as 1.
  int queue_capacity = 64;
  // Runs first thing on each worker's thread, with the worker's index, before
  // any task: the place to bind the thread to its device (CUDA device, LibTorch
  // intra-op thread count). May be empty.
  std::function<void(int worker)> on_worker_start;
};

// What the pool tells a task about its run.
struct TaskContext {
  // Time from Submit to dequeue, measured with the pool's clock.
  absl::Duration queued = absl::ZeroDuration();
  // The worker running (or failing) the task.
  int worker = 0;
};

// A unit of work. Called exactly once with one of:
//   OK                 do the work (always on the worker's own thread);
//   DEADLINE_EXCEEDED  its deadline passed before it was dequeued; it must
//                      only report the failure (on the worker's thread);
//   UNAVAILABLE        the pool shut down before it ran; report the failure
//                      (on the thread that called Shutdown).
// Never more than one of these. Tasks are expected not to throw; one that does
// is caught and logged to stderr and the worker carries on. The task object is
// destroyed after its call, on the thread that called it.
using Task = std::function<void(const absl::Status&, const TaskContext&)>;

class WorkerPool {
 public:
  // Starts options.num_workers threads. `clock` (not owned) defaults to
  // RealClock(); tests pass a FakeClock.
  explicit WorkerPool(WorkerPoolOptions options, Clock* clock = nullptr);
  // Shutdown().
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Appends `task` to `worker`'s queue. On OK the task will be called exactly
  // once; on any error it is never called (and is destroyed here).
  //   RESOURCE_EXHAUSTED "worker N queue full (C tasks)" when the queue holds
  //     `queue_capacity` tasks and this is not a continuation;
  //   UNAVAILABLE after Shutdown() began;
  //   INTERNAL for a worker index out of range or an empty task (a bug).
  // `deadline` is checked when the task is dequeued (absl::InfiniteFuture()
  // for none); a task already past its deadline is accepted and then fails
  // with DEADLINE_EXCEEDED, so the caller reports it on one path only.
  // `continuation`: the next step of work already admitted (the next frame of
  // a stream); it skips the capacity check.
  absl::Status Submit(int worker, absl::Time deadline, Task task,
                      bool continuation = false);

  // The worker a new session should use, given the live sessions pinned to
  // each worker (`sessions[w]`; missing entries count as 0): the one whose
  // load with the new session, (sessions + 1) / speed, is least — with equal
  // speeds, the fewest sessions; ties go to the lowest queue depth, then the
  // lowest index. Advisory: sessions created concurrently may pick the same
  // worker.
  int PickWorker(absl::Span<const int64_t> sessions = {}) const;

  // Relative speeds of the workers for PickWorker (a worker of speed 4 takes
  // four sessions for each one a worker of speed 1 takes); all 1 until set.
  // INVALID_ARGUMENT unless there is one finite, positive value per worker.
  absl::Status SetWorkerSpeeds(std::vector<double> speeds);
  std::vector<double> worker_speeds() const;

  int num_workers() const { return static_cast<int>(workers_.size()); }
  int queue_capacity() const { return queue_capacity_; }
  // Tasks waiting in `worker`'s queue, not counting the one running (0 for an
  // index out of range).
  int64_t QueueDepth(int worker) const;

  // Stops accepting work; every queued task is called with UNAVAILABLE (on
  // this thread, at once, without waiting for the running tasks); then waits
  // for the running tasks to return and joins the threads. Idempotent; a
  // concurrent second call returns once the first has finished. Must not be
  // called from inside a task.
  void Shutdown();

 private:
  struct Entry {
    Task task;
    absl::Time deadline;
    absl::Time enqueued;
  };

  // std::mutex rather than absl::Mutex throughout: Debian's Abseil is not
  // built with ThreadSanitizer, so tsan cannot see absl::Mutex's
  // happens-before edges and --config=tsan would only report false races;
  // std::mutex is pthread underneath, which tsan intercepts.
  struct Worker {
    int index = 0;
    mutable std::mutex mu;
    // Signalled when `queue` gains a task or `stopping` is set.
    std::condition_variable wake;
    std::deque<Entry> queue ABSL_GUARDED_BY(mu);
    // Set once by Shutdown(): Submit refuses work and the thread exits when
    // its queue is empty.
    bool stopping ABSL_GUARDED_BY(mu) = false;
    std::thread thread;
  };

  void Run(Worker* worker);
  // Calls `entry.task` with `status`, catching (and logging) anything thrown.
  void Call(Worker* worker, Entry entry, const absl::Status& status,
            const TaskContext& context);
  bool ValidWorker(int worker) const {
    return worker >= 0 && worker < num_workers();
  }

  Clock* const clock_;
  const int queue_capacity_;
  const std::function<void(int)> on_worker_start_;
  // Fixed at construction; Worker holds a mutex, hence the indirection.
  std::vector<std::unique_ptr<Worker>> workers_;

  mutable std::mutex speeds_mu_;
  std::vector<double> speeds_ ABSL_GUARDED_BY(speeds_mu_);

  // Serialises Shutdown() so a second caller waits for the joins.
  std::mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace sam2

#endif  // SAM2_SERVER_WORKER_POOL_H_
