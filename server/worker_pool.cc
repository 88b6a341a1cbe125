// WorkerPool implementation; see worker_pool.h for the contract.
//
// Each worker has its own mutex (std::mutex, not absl::Mutex: see the note in
// the header) so submissions to different devices never contend. Task calls
// always happen with no lock held: a task may Submit (its continuation) from
// inside.

#include "server/worker_pool.h"

#include <pthread.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sam2 {

WorkerPool::WorkerPool(WorkerPoolOptions options, Clock* clock)
    : clock_(clock != nullptr ? clock : RealClock()),
      queue_capacity_(std::max(1, options.queue_capacity)),
      on_worker_start_(std::move(options.on_worker_start)) {
  const int n = std::max(1, options.num_workers);
  // Every Worker exists before any thread starts: workers_ is never resized
  // afterwards, so threads and callers may index it without a lock.
  workers_.reserve(n);
  for (int i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>());
    speeds_.push_back(1.0);
    workers_.back()->index = i;
  }
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    w->thread = std::thread([this, w] { Run(w); });
  }
}

WorkerPool::~WorkerPool() { Shutdown(); }

absl::Status WorkerPool::Submit(int worker, absl::Time deadline, Task task,
                                bool continuation) {
  if (!ValidWorker(worker)) {
    return absl::InternalError(absl::StrCat("no worker ", worker, " (pool has ",
                                            num_workers(), ")"));
  }
  if (!task) return absl::InternalError("empty task submitted to worker pool");
  Worker* w = workers_[worker].get();
  // Read the clock before locking: a FakeClock has its own mutex.
  const absl::Time now = clock_->Now();
  std::lock_guard<std::mutex> lock(w->mu);
  if (w->stopping) {
    return absl::UnavailableError(
        absl::StrCat("worker ", worker, " is shutting down"));
  }
  if (!continuation &&
      static_cast<int64_t>(w->queue.size()) >= queue_capacity_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "worker ", worker, " queue full (", queue_capacity_, " tasks)"));
  }
  w->queue.push_back(Entry{std::move(task), deadline, now});
  w->wake.notify_one();
  return absl::OkStatus();
}

void WorkerPool::Run(Worker* w) {
  {
    // A short, fixed name for debuggers and `top -H` ("sam2-worker-12" fits
    // the 15-character limit).
    const std::string name = absl::StrCat("sam2-worker-", w->index % 1000);
    pthread_setname_np(pthread_self(), name.c_str());
  }
  if (on_worker_start_) {
    // Same rule as for tasks: a throwing hook must not take the process down
    // (an exception escaping a std::thread calls std::terminate).
    try {
      on_worker_start_(w->index);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "WorkerPool: on_worker_start(%d) threw: %s\n",
                   w->index, e.what());
    } catch (...) {
      std::fprintf(stderr, "WorkerPool: on_worker_start(%d) threw\n",
                   w->index);
    }
  }

  while (true) {
    Entry entry;
    {
      std::unique_lock<std::mutex> lock(w->mu);
      w->wake.wait(lock, [w]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu) {
        return w->stopping || !w->queue.empty();
      });
      // Shutdown() empties the queue itself when it sets `stopping`, and
      // Submit refuses work afterwards, so an empty queue here means exit.
      if (w->queue.empty()) return;
      entry = std::move(w->queue.front());
      w->queue.pop_front();
    }
    const absl::Time now = clock_->Now();
    TaskContext context;
    context.queued = now - entry.enqueued;
    context.worker = w->index;
    // A deadline reached while queued: the caller has (or soon will have)
    // given up, so running the model would only delay the work behind it.
    absl::Status status;
    if (now >= entry.deadline) {
      status = absl::DeadlineExceededError(absl::StrCat(
          "deadline passed after ", absl::FormatDuration(context.queued),
          " in worker ", w->index, "'s queue"));
    }
    Call(w, std::move(entry), status, context);
  }
}

void WorkerPool::Call(Worker* w, Entry entry, const absl::Status& status,
                      const TaskContext& context) {
  try {
    entry.task(status, context);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "WorkerPool: task on worker %d threw: %s\n", w->index,
                 e.what());
  } catch (...) {
    std::fprintf(stderr,
                 "WorkerPool: task on worker %d threw a non-std exception\n",
                 w->index);
  }
  // `entry` (and the task's captures) is destroyed here, on this thread.
}

int WorkerPool::PickWorker(absl::Span<const int64_t> sessions) const {
  const std::vector<double> speeds = worker_speeds();
  // Load with the new session placed: sessions per unit of speed.
  const auto load_on = [&](int w) {
    const int64_t n =
        w < static_cast<int>(sessions.size()) ? sessions[w] : int64_t{0};
    return static_cast<double>(n + 1) / speeds[w];
  };
  int best = 0;
  double best_load = load_on(0);
  int64_t best_depth = QueueDepth(0);
  for (int i = 1; i < num_workers(); ++i) {
    const double load = load_on(i);
    const int64_t depth = QueueDepth(i);
    if (load < best_load || (load == best_load && depth < best_depth)) {
      best = i;
      best_load = load;
      best_depth = depth;
    }
  }
  return best;
}

absl::Status WorkerPool::SetWorkerSpeeds(std::vector<double> speeds) {
  if (static_cast<int>(speeds.size()) != num_workers()) {
    return absl::InvalidArgumentError(
        absl::StrCat(speeds.size(), " worker speeds for ", num_workers(),
                     " workers"));
  }
  for (double s : speeds) {
    if (!std::isfinite(s) || s <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("worker speed ", s, ": must be a positive number"));
    }
  }
  std::lock_guard<std::mutex> lock(speeds_mu_);
  speeds_ = std::move(speeds);
  return absl::OkStatus();
}

std::vector<double> WorkerPool::worker_speeds() const {
  std::lock_guard<std::mutex> lock(speeds_mu_);
  return speeds_;
}

int64_t WorkerPool::QueueDepth(int worker) const {
  if (!ValidWorker(worker)) return 0;
  const Worker* w = workers_[worker].get();
  std::lock_guard<std::mutex> lock(w->mu);
  return static_cast<int64_t>(w->queue.size());
}

void WorkerPool::Shutdown() {
  std::lock_guard<std::mutex> shutdown_lock(shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;

  // Stop every worker first, so no queue accepts more work while the failed
  // tasks report (a failing task might try to submit elsewhere).
  std::vector<std::deque<Entry>> orphaned(workers_.size());
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    std::lock_guard<std::mutex> lock(w->mu);
    w->stopping = true;
    orphaned[i].swap(w->queue);
    w->wake.notify_one();
  }
  // Fail queued work now rather than after the running tasks return: those
  // clients get UNAVAILABLE (retry elsewhere) without waiting for a frame.
  const absl::Time now = clock_->Now();
  for (size_t i = 0; i < orphaned.size(); ++i) {
    Worker* w = workers_[i].get();
    for (Entry& entry : orphaned[i]) {
      TaskContext context;
      context.queued = now - entry.enqueued;
      context.worker = w->index;
      Call(w, std::move(entry), absl::UnavailableError(absl::StrCat(
                                    "worker pool shut down before the task ran "
                                    "(worker ", w->index, ")")),
           context);
    }
  }
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

}  // namespace sam2
