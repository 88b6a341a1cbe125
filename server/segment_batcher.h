// SegmentBatcher: dynamic batching of Segment calls (Triton-style). Calls
// on different image sessions pinned to the same worker that wait together
// run as one decoder batch (ImageSession::SegmentBatch): on a worker busy
// with one call, the calls that arrive meanwhile form the next batch, so
// under load the decoder's per-call overhead is paid once per batch; an
// optional bounded wait (`max_delay`) lets a batch fill before it runs.
// `max_batch` = 1 turns it off: every call is its own batch, which is the
// unbatched path's behaviour.
//
// Per worker the batcher keeps a bounded FIFO of pending calls and at most
// one "drain" task in the WorkerPool's queue; the drain task takes up to
// `max_batch` pending calls (at most one per session: a second call on the
// same session waits for the next batch, so it runs after the first, as it
// would unbatched), schedules the next drain as a continuation when calls
// remain, then runs the batch on the worker's thread. Each call still gets
// its own deadline (work past it never runs), cancellation check, session
// exclusivity (ABORTED on conflict) and byte-budget update, and its own
// result or error.
//
// Ownership: the batcher does not own the pool, the model's user (sessions
// are shared with the store) or the store; all must outlive it. Pending
// calls are owned until their `done` runs.
// Thread-safety: Submit may be called from any thread. `done` runs exactly
// once per accepted call: on the worker's thread, or with UNAVAILABLE on the
// thread that shuts the pool down.

#ifndef SAM2_SERVER_SEGMENT_BATCHER_H_
#define SAM2_SERVER_SEGMENT_BATCHER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/sam2_model.h"
#include "server/worker_model.h"
#include "server/worker_pool.h"
#include "session/image_session.h"
#include "session/session_store.h"

namespace sam2 {

// Defaults: off. On the CPU the decoder is compute-bound, so batching
// gains nothing there (measured with segment_batching_benchmark.sh: 0.92x
// to 1.2x throughput at concurrency 1-16 on 2 cores, README "Benchmarks");
// it pays where per-call overhead dominates (GPUs). When on, a zero delay
// batches only calls already waiting and never delays one.
inline constexpr int kDefaultSegmentMaxBatch = 1;
inline constexpr absl::Duration kDefaultSegmentBatchDelay = absl::ZeroDuration();

struct SegmentBatcherOptions {
  // Most calls in one decoder batch; 1 = no batching. Values below 1 are 1.
  int max_batch = kDefaultSegmentMaxBatch;
  // How long the oldest pending call may wait for the batch to fill.
  absl::Duration max_delay = kDefaultSegmentBatchDelay;
  // Pending calls per worker before Submit answers RESOURCE_EXHAUSTED.
  int queue_capacity = 64;
};

// How a call was run, for its metrics.
struct SegmentBatchRun {
  absl::Duration queued = absl::ZeroDuration();  // Submit to batch start
  std::optional<absl::Duration> compute;         // the batch's run; unset if it never ran
  int batch_size = 0;
};

struct SegmentBatchCall {
  std::shared_ptr<ImageSession> session;
  SegmentInput input;
  absl::Time deadline = absl::InfiniteFuture();
  // True when the caller has gone; checked before the batch runs. May be
  // empty.
  std::function<bool()> cancelled;
  // The call's result (exactly once). Must not throw.
  std::function<void(absl::StatusOr<SegmentOutput>, const SegmentBatchRun&)>
      done;
};

class SegmentBatcher {
 public:
  // `models`: what each worker runs, by worker index (one per pool worker;
  // a worker without an image model refuses calls). `on_batch` (may be
  // empty) is told each batch's size.
  SegmentBatcher(WorkerPool* pool,
                 WorkerModels models,
                 SessionStore* store, SegmentBatcherOptions options,
                 StageObserver observe = {},
                 std::function<void(int)> on_batch = {});
  SegmentBatcher(const SegmentBatcher&) = delete;
  SegmentBatcher& operator=(const SegmentBatcher&) = delete;

  // Queues `call` for `worker`. OK: `call.done` will run exactly once.
  // Otherwise it never runs: RESOURCE_EXHAUSTED when `worker`'s pending
  // calls are at capacity or the pool's queue is full; UNAVAILABLE when the
  // pool is shutting down; INTERNAL for a bad worker index.
  absl::Status Submit(int worker, SegmentBatchCall call);

  const SegmentBatcherOptions& options() const { return options_; }

 private:
  struct Pending {
    SegmentBatchCall call;
    absl::Time enqueued;
  };
  struct Queue {
    std::deque<Pending> pending;
    bool scheduled = false;  // a drain task is queued or running
  };

  // Submits a drain task for `worker`; mu_ held.
  absl::Status ScheduleLocked(int worker, bool continuation);
  void Drain(int worker, const absl::Status& status);
  // Takes the next batch off `worker`'s queue (mu_ held via `lock`), waiting
  // up to max_delay for it to fill.
  std::vector<Pending> TakeBatch(int worker, std::unique_lock<std::mutex>& lock);
  void RunBatch(int worker, std::vector<Pending> batch);

  WorkerPool* const pool_;
  const WorkerModels models_;
  SessionStore* const store_;
  const SegmentBatcherOptions options_;
  const StageObserver observe_;
  const std::function<void(int)> on_batch_;

  // std::mutex, as in WorkerPool: tsan cannot see Debian's absl::Mutex.
  std::mutex mu_;
  std::condition_variable filled_;
  std::vector<Queue> queues_;  // one per worker; guarded by mu_
};

}  // namespace sam2

#endif  // SAM2_SERVER_SEGMENT_BATCHER_H_
