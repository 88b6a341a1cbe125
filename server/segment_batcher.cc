#include "server/segment_batcher.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "session/session.h"

namespace sam2 {

SegmentBatcher::SegmentBatcher(
    WorkerPool* pool, WorkerModels models,
    SessionStore* store, SegmentBatcherOptions options, StageObserver observe,
    std::function<void(int)> on_batch)
    : pool_(pool),
      models_(std::move(models)),
      store_(store),
      options_([&] {
        options.max_batch = std::max(options.max_batch, 1);
        options.queue_capacity = std::max(options.queue_capacity, 1);
        options.max_delay = std::max(options.max_delay, absl::ZeroDuration());
        return options;
      }()),
      observe_(std::move(observe)),
      on_batch_(std::move(on_batch)),
      queues_(pool->num_workers()) {}

absl::Status SegmentBatcher::Submit(int worker, SegmentBatchCall call) {
  if (worker < 0 || worker >= static_cast<int>(queues_.size()) ||
      worker >= static_cast<int>(models_.size()) ||
      models_[worker].image == nullptr) {
    return absl::InternalError(absl::StrCat("no worker ", worker));
  }
  std::lock_guard<std::mutex> lock(mu_);
  Queue& q = queues_[worker];
  if (static_cast<int>(q.pending.size()) >= options_.queue_capacity) {
    // Worded as the pool's own refusal: to a client both are the worker's
    // queue.
    return absl::ResourceExhaustedError(absl::StrCat(
        "worker ", worker, " queue full (", q.pending.size(), " tasks)"));
  }
  q.pending.push_back({std::move(call), absl::Now()});
  if (!q.scheduled) {
    absl::Status s = ScheduleLocked(worker, /*continuation=*/false);
    if (!s.ok()) {
      q.pending.pop_back();
      return s;
    }
  }
  filled_.notify_all();
  return absl::OkStatus();
}

absl::Status SegmentBatcher::ScheduleLocked(int worker, bool continuation) {
  // The drain task has no deadline of its own: each call's is checked when
  // its batch starts.
  absl::Status s = pool_->Submit(
      worker, absl::InfiniteFuture(),
      [this, worker](const absl::Status& status, const TaskContext&) {
        Drain(worker, status);
      },
      continuation);
  queues_[worker].scheduled = s.ok();
  return s;
}

std::vector<SegmentBatcher::Pending> SegmentBatcher::TakeBatch(
    int worker, std::unique_lock<std::mutex>& lock) {
  Queue& q = queues_[worker];
  if (options_.max_delay > absl::ZeroDuration() && !q.pending.empty()) {
    const absl::Time until = q.pending.front().enqueued + options_.max_delay;
    filled_.wait_until(lock, absl::ToChronoTime(until), [&] {
      return static_cast<int>(q.pending.size()) >= options_.max_batch;
    });
  }
  std::vector<Pending> batch;
  std::set<const ImageSession*> sessions;
  for (auto it = q.pending.begin();
       it != q.pending.end() &&
       static_cast<int>(batch.size()) < options_.max_batch;) {
    // A session's second call waits for the next batch (it must see the
    // first one's kept result, as it would unbatched).
    if (!sessions.insert(it->call.session.get()).second) {
      ++it;
      continue;
    }
    batch.push_back(std::move(*it));
    it = q.pending.erase(it);
  }
  return batch;
}

void SegmentBatcher::Drain(int worker, const absl::Status& status) {
  std::vector<Pending> batch;
  std::vector<Pending> failed;
  absl::Status fail_status = status;
  {
    std::unique_lock<std::mutex> lock(mu_);
    Queue& q = queues_[worker];
    if (status.ok()) {
      batch = TakeBatch(worker, lock);
      if (!q.pending.empty()) {
        fail_status = ScheduleLocked(worker, /*continuation=*/true);
      } else {
        q.scheduled = false;
      }
    } else {
      q.scheduled = false;
    }
    if (!fail_status.ok()) {
      // The pool is shutting down (or this drain never ran): nothing left
      // on this worker will run.
      for (Pending& p : q.pending) failed.push_back(std::move(p));
      q.pending.clear();
      q.scheduled = false;
    }
  }
  for (Pending& p : failed) {
    SegmentBatchRun run;
    run.queued = absl::Now() - p.enqueued;
    p.call.done(fail_status, run);
  }
  if (!batch.empty()) RunBatch(worker, std::move(batch));
}

void SegmentBatcher::RunBatch(int worker, std::vector<Pending> batch) {
  const absl::Time start = absl::Now();
  // Calls that may run: within their deadline, caller still there, session
  // exclusivity held until the end of this function.
  std::vector<std::unique_ptr<ScopedExclusive>> held;
  std::vector<size_t> runnable;
  for (size_t i = 0; i < batch.size(); ++i) {
    SegmentBatchCall& call = batch[i].call;
    SegmentBatchRun run;
    run.queued = start - batch[i].enqueued;
    if (start > call.deadline) {
      call.done(absl::DeadlineExceededError(
                    "the deadline passed while the call was queued"),
                run);
      continue;
    }
    if (call.cancelled && call.cancelled()) {
      call.done(absl::CancelledError("the client cancelled the call"), run);
      continue;
    }
    auto exclusive = std::make_unique<ScopedExclusive>(*call.session, "Segment");
    if (!exclusive->status().ok()) {
      call.done(exclusive->status(), run);
      continue;
    }
    held.push_back(std::move(exclusive));
    runnable.push_back(i);
  }
  if (runnable.empty()) return;
  if (on_batch_) on_batch_(static_cast<int>(runnable.size()));

  std::vector<ImageSession*> sessions;
  std::vector<const SegmentInput*> inputs;
  for (size_t i : runnable) {
    sessions.push_back(batch[i].call.session.get());
    inputs.push_back(&batch[i].call.input);
  }
  const absl::Time compute_start = absl::Now();
  std::vector<absl::StatusOr<SegmentOutput>> results =
      ImageSession::SegmentBatch(*models_[worker].image, sessions, inputs,
                                 observe_);
  const absl::Duration compute = absl::Now() - compute_start;
  // The results may have changed the sessions' sizes; a budget overrun
  // evicts other idle sessions and never fails these calls.
  if (store_ != nullptr) {
    for (ImageSession* s : sessions) store_->UpdateBytes(s->id()).IgnoreError();
  }
  // Exclusivity ends before the callers hear back, as on the unbatched path.
  held.clear();
  for (size_t k = 0; k < runnable.size(); ++k) {
    const size_t i = runnable[k];
    SegmentBatchRun run;
    run.queued = compute_start - batch[i].enqueued;
    run.compute = compute;
    run.batch_size = static_cast<int>(runnable.size());
    batch[i].call.done(std::move(results[k]), run);
  }
}

}  // namespace sam2
