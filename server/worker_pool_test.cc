// Tests for server/worker_pool.h. Hermetic: time comes from a FakeClock and
// workers are held busy with latches, never with sleeps. Also run under
// --config=tsan (the concurrency test is there for it).

#include "server/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <condition_variable>
#include <memory>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "session/clock.h"

namespace sam2 {
namespace {

constexpr absl::Time kNoDeadline = absl::InfiniteFuture();

// A count-down latch (absl::Notification when count is 1, BlockingCounter
// otherwise). Hand-rolled on std::mutex because Debian's Abseil is not built
// with ThreadSanitizer: tsan cannot see absl's happens-before edges, so with
// absl::Notification the FakeClock reads on the worker would be reported as
// racing the test's Advance().
class Latch {
 public:
  explicit Latch(int count = 1) : count_(count) {}
  void CountDown() {
    std::lock_guard<std::mutex> lock(mu_);
    if (count_ > 0 && --count_ == 0) zero_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    zero_.wait(lock, [this] { return count_ == 0; });
  }
  bool Done() const {
    std::lock_guard<std::mutex> lock(mu_);
    return count_ == 0;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable zero_;
  int count_ ABSL_GUARDED_BY(mu_);
};

// Holds a worker busy: Submit()s a task that signals `started` and waits for
// Release(). The task it submits has been dequeued once Submit returns, so
// later submissions stay queued until Release().
class Blocker {
 public:
  Blocker(WorkerPool* pool, int worker) {
    EXPECT_TRUE(pool->Submit(worker, kNoDeadline,
                             [this](const absl::Status&, const TaskContext&) {
                               started_.CountDown();
                               release_.Wait();
                               done_.CountDown();
                             })
                    .ok());
    started_.Wait();
  }
  ~Blocker() {
    if (!release_.Done()) release_.CountDown();
    done_.Wait();
  }
  void Release() { release_.CountDown(); }

 private:
  Latch started_;
  Latch release_;
  Latch done_;
};

// Records the order and status of calls, thread-safely.
class Recorder {
 public:
  Task Make(int id, Latch* done = nullptr) {
    return [this, id, done](const absl::Status& s, const TaskContext& c) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ids_.push_back(id);
        codes_.push_back(s.code());
        contexts_.push_back(c);
      }
      if (done != nullptr) done->CountDown();
    };
  }
  std::vector<int> ids() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_;
  }
  std::vector<absl::StatusCode> codes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return codes_;
  }
  std::vector<TaskContext> contexts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return contexts_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<int> ids_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::StatusCode> codes_ ABSL_GUARDED_BY(mu_);
  std::vector<TaskContext> contexts_ ABSL_GUARDED_BY(mu_);
};

WorkerPoolOptions Options(int workers, int capacity) {
  WorkerPoolOptions options;
  options.num_workers = workers;
  options.queue_capacity = capacity;
  return options;
}

TEST(WorkerPoolTest, RunsTasksInFifoOrderPerWorker) {
  WorkerPool pool(Options(1, 64));
  Recorder rec;
  Latch done(10);
  {
    Blocker blocker(&pool, 0);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(pool.Submit(0, kNoDeadline, rec.Make(i, &done)).ok());
    }
    EXPECT_EQ(pool.QueueDepth(0), 10);
  }
  done.Wait();
  EXPECT_EQ(rec.ids(), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  for (absl::StatusCode code : rec.codes()) {
    EXPECT_EQ(code, absl::StatusCode::kOk);
  }
  EXPECT_EQ(pool.QueueDepth(0), 0);
}

TEST(WorkerPoolTest, FullQueueRefusesAtOnceThenAcceptsAfterDraining) {
  WorkerPool pool(Options(2, 3));
  Recorder rec;
  Latch done(3);
  {
    Blocker blocker(&pool, 1);
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(pool.Submit(1, kNoDeadline, rec.Make(i, &done)).ok());
    }
    bool called = false;
    absl::Status full = pool.Submit(
        1, kNoDeadline,
        [&called](const absl::Status&, const TaskContext&) { called = true; });
    EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(full.message(), "worker 1 queue full (3 tasks)");
    EXPECT_EQ(pool.QueueDepth(1), 3);
    // The other worker's queue is independent.
    Latch other;
    EXPECT_TRUE(pool.Submit(0, kNoDeadline,
                            [&other](const absl::Status&, const TaskContext&) {
                              other.CountDown();
                            })
                    .ok());
    other.Wait();
    blocker.Release();
    done.Wait();
    EXPECT_FALSE(called);
  }
  Latch again;
  EXPECT_TRUE(pool.Submit(1, kNoDeadline,
                          [&again](const absl::Status& s, const TaskContext&) {
                            EXPECT_TRUE(s.ok());
                            again.CountDown();
                          })
                  .ok());
  again.Wait();
}

TEST(WorkerPoolTest, ContinuationBypassesCapacity) {
  WorkerPool pool(Options(1, 2));
  Recorder rec;
  Latch done(4);
  {
    Blocker blocker(&pool, 0);
    ASSERT_TRUE(pool.Submit(0, kNoDeadline, rec.Make(0, &done)).ok());
    ASSERT_TRUE(pool.Submit(0, kNoDeadline, rec.Make(1, &done)).ok());
    EXPECT_EQ(pool.Submit(0, kNoDeadline, rec.Make(99)).code(),
              absl::StatusCode::kResourceExhausted);
    EXPECT_TRUE(pool.Submit(0, kNoDeadline, rec.Make(2, &done),
                            /*continuation=*/true)
                    .ok());
    EXPECT_TRUE(pool.Submit(0, kNoDeadline, rec.Make(3, &done),
                            /*continuation=*/true)
                    .ok());
    EXPECT_EQ(pool.QueueDepth(0), 4);
    // Continuations count toward the depth, so new work is still refused.
    EXPECT_EQ(pool.Submit(0, kNoDeadline, rec.Make(99)).code(),
              absl::StatusCode::kResourceExhausted);
  }
  done.Wait();
  EXPECT_EQ(rec.ids(), (std::vector<int>{0, 1, 2, 3}));
}

// The propagation pattern: each frame submits the next as a continuation, so
// another session's task queued meanwhile runs between frames.
TEST(WorkerPoolTest, ContinuationChainInterleavesWithOtherWork) {
  WorkerPool pool(Options(1, 64));
  std::mutex mu;
  std::vector<std::string> order;
  Latch done(4);
  std::function<void(int)> submit_frame = [&](int frame) {
    ASSERT_TRUE(pool.Submit(
                        0, kNoDeadline,
                        [&, frame](const absl::Status& s, const TaskContext&) {
                          ASSERT_TRUE(s.ok());
                          {
                            std::lock_guard<std::mutex> lock(mu);
                            order.push_back(absl::StrCat("A", frame));
                          }
                          if (frame < 3) submit_frame(frame + 1);
                          done.CountDown();
                        },
                        /*continuation=*/frame > 1)
                    .ok());
  };
  {
    Blocker blocker(&pool, 0);
    submit_frame(1);
    ASSERT_TRUE(pool.Submit(0, kNoDeadline,
                            [&](const absl::Status&, const TaskContext&) {
                              {
                                std::lock_guard<std::mutex> lock(mu);
                                order.push_back("B");
                              }
                              done.CountDown();
                            })
                    .ok());
  }
  done.Wait();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(order, (std::vector<std::string>{"A1", "B", "A2", "A3"}));
}

TEST(WorkerPoolTest, DeadlinePassedWhileQueuedNeverRuns) {
  FakeClock clock;
  WorkerPool pool(Options(1, 64), &clock);
  Recorder rec;
  Latch done(3);
  {
    Blocker blocker(&pool, 0);
    ASSERT_TRUE(pool.Submit(0, clock.Now() + absl::Seconds(1),
                            rec.Make(0, &done))
                    .ok());
    ASSERT_TRUE(
        pool.Submit(0, clock.Now() + absl::Seconds(10), rec.Make(1, &done))
            .ok());
    ASSERT_TRUE(pool.Submit(0, kNoDeadline, rec.Make(2, &done)).ok());
    clock.Advance(absl::Seconds(2));
  }
  done.Wait();
  EXPECT_EQ(rec.ids(), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(rec.codes(),
            (std::vector<absl::StatusCode>{absl::StatusCode::kDeadlineExceeded,
                                           absl::StatusCode::kOk,
                                           absl::StatusCode::kOk}));
}

TEST(WorkerPoolTest, DeadlineAlreadyPassedAtSubmitFailsOnTheWorker) {
  FakeClock clock;
  WorkerPool pool(Options(1, 64), &clock);
  Recorder rec;
  Latch done(1);
  ASSERT_TRUE(
      pool.Submit(0, clock.Now() - absl::Seconds(1), rec.Make(0, &done)).ok());
  done.Wait();
  EXPECT_EQ(rec.codes(), (std::vector<absl::StatusCode>{
                             absl::StatusCode::kDeadlineExceeded}));
}

TEST(WorkerPoolTest, TaskContextMeasuresQueueTimeWithTheClock) {
  FakeClock clock;
  WorkerPool pool(Options(2, 64), &clock);
  Recorder rec;
  Latch done(2);
  {
    Blocker blocker(&pool, 1);
    ASSERT_TRUE(pool.Submit(1, kNoDeadline, rec.Make(0, &done)).ok());
    clock.Advance(absl::Milliseconds(250));
    ASSERT_TRUE(pool.Submit(1, kNoDeadline, rec.Make(1, &done)).ok());
    clock.Advance(absl::Milliseconds(100));
  }
  done.Wait();
  std::vector<TaskContext> contexts = rec.contexts();
  ASSERT_EQ(contexts.size(), 2u);
  EXPECT_EQ(contexts[0].queued, absl::Milliseconds(350));
  EXPECT_EQ(contexts[0].worker, 1);
  EXPECT_EQ(contexts[1].queued, absl::Milliseconds(100));
  EXPECT_EQ(contexts[1].worker, 1);
}

TEST(WorkerPoolTest, ShutdownFailsQueuedTasksWithUnavailableExactlyOnce) {
  WorkerPool pool(Options(2, 64));
  Recorder rec;
  Latch failed(4);
  std::atomic<bool> blocker_ran{false};
  Latch started;
  Latch release;
  ASSERT_TRUE(pool.Submit(0, kNoDeadline,
                          [&](const absl::Status& s, const TaskContext&) {
                            EXPECT_TRUE(s.ok());
                            started.CountDown();
                            release.Wait();
                            blocker_ran = true;
                          })
                  .ok());
  started.Wait();
  Blocker other(&pool, 1);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(pool.Submit(0, kNoDeadline, rec.Make(i, &failed)).ok());
  }
  ASSERT_TRUE(pool.Submit(1, kNoDeadline, rec.Make(3, &failed)).ok());

  // Shutdown blocks joining the busy workers; the queued tasks fail first,
  // without waiting for the running ones.
  std::thread shutdown([&pool] { pool.Shutdown(); });
  failed.Wait();
  EXPECT_FALSE(blocker_ran);
  EXPECT_EQ(pool.Submit(0, kNoDeadline, rec.Make(100)).code(),
            absl::StatusCode::kUnavailable);
  release.CountDown();
  other.Release();
  shutdown.join();
  EXPECT_TRUE(blocker_ran);

  EXPECT_EQ(rec.ids(), (std::vector<int>{0, 1, 2, 3}));
  for (absl::StatusCode code : rec.codes()) {
    EXPECT_EQ(code, absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(rec.contexts()[3].worker, 1);
  EXPECT_EQ(pool.QueueDepth(0), 0);
  pool.Shutdown();  // Idempotent.
  EXPECT_EQ(rec.ids().size(), 4u);
}

TEST(WorkerPoolTest, SubmitAfterShutdownFailsAndNeverCallsTheTask) {
  WorkerPool pool(Options(3, 64));
  pool.Shutdown();
  bool called = false;
  for (int w = 0; w < 3; ++w) {
    absl::Status s = pool.Submit(
        w, kNoDeadline,
        [&called](const absl::Status&, const TaskContext&) { called = true; });
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(pool.Submit(w, kNoDeadline,
                          [&called](const absl::Status&, const TaskContext&) {
                            called = true;
                          },
                          /*continuation=*/true)
                  .code(),
              absl::StatusCode::kUnavailable);
  }
  pool.Shutdown();
  EXPECT_FALSE(called);
}

TEST(WorkerPoolTest, DestructorFailsQueuedTasks) {
  Recorder rec;
  Latch release;
  {
    WorkerPool pool(Options(1, 64));
    Latch started;
    ASSERT_TRUE(pool.Submit(0, kNoDeadline,
                            [&](const absl::Status&, const TaskContext&) {
                              started.CountDown();
                              release.Wait();
                            })
                    .ok());
    started.Wait();
    ASSERT_TRUE(pool.Submit(0, kNoDeadline, rec.Make(0)).ok());
    // Shutdown fails the queued task before joining, so releasing the running
    // one from inside that task lets the destructor finish.
    ASSERT_TRUE(pool.Submit(0, kNoDeadline,
                            [&](const absl::Status& s, const TaskContext&) {
                              EXPECT_EQ(s.code(),
                                        absl::StatusCode::kUnavailable);
                              release.CountDown();
                            })
                    .ok());
  }
  EXPECT_EQ(rec.codes(), (std::vector<absl::StatusCode>{
                             absl::StatusCode::kUnavailable}));
}

TEST(WorkerPoolTest, BadArgumentsAreInternalErrors) {
  WorkerPool pool(Options(2, 64));
  auto noop = [](const absl::Status&, const TaskContext&) {};
  EXPECT_EQ(pool.Submit(2, kNoDeadline, noop).code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(pool.Submit(-1, kNoDeadline, noop).code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(pool.Submit(0, kNoDeadline, Task()).code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(pool.QueueDepth(7), 0);
}

TEST(WorkerPoolTest, OptionsBelowOneAreClamped) {
  WorkerPool pool(Options(0, 0));
  EXPECT_EQ(pool.num_workers(), 1);
  EXPECT_EQ(pool.queue_capacity(), 1);
}

TEST(WorkerPoolTest, PickWorkerPrefersFewestSessionsThenShorterQueue) {
  WorkerPool pool(Options(3, 64));
  EXPECT_EQ(pool.PickWorker(), 0);
  EXPECT_EQ(pool.PickWorker({1}), 1);
  EXPECT_EQ(pool.PickWorker({1, 1}), 2);
  EXPECT_EQ(pool.PickWorker({1, 1, 1}), 0);  // All tied: the index.
  EXPECT_EQ(pool.PickWorker({1, 0, 1}), 1);
  EXPECT_EQ(pool.PickWorker({3, 2, 4, 0}), 1);  // Entries past the pool: none.

  // Sessions tied at zero: the shorter queue wins, then the lower index.
  Blocker b0(&pool, 0);
  Blocker b1(&pool, 1);
  Blocker b2(&pool, 2);
  auto noop = [](const absl::Status&, const TaskContext&) {};
  ASSERT_TRUE(pool.Submit(0, kNoDeadline, noop).ok());
  ASSERT_TRUE(pool.Submit(0, kNoDeadline, noop).ok());
  ASSERT_TRUE(pool.Submit(1, kNoDeadline, noop).ok());
  EXPECT_EQ(pool.PickWorker(), 2);  // Depths 2, 1, 0.
  ASSERT_TRUE(pool.Submit(2, kNoDeadline, noop, /*continuation=*/true).ok());
  EXPECT_EQ(pool.PickWorker(), 1);  // Depths 2, 1, 1.
  // Sessions outrank depth.
  EXPECT_EQ(pool.PickWorker({0, 1, 1}), 0);
}

TEST(WorkerPoolTest, PickWorkerWeighsSessionsBySpeed) {
  WorkerPool pool(Options(2, 64));
  EXPECT_EQ(pool.worker_speeds(), (std::vector<double>{1.0, 1.0}));
  ASSERT_TRUE(pool.SetWorkerSpeeds({1.0, 0.25}).ok());
  EXPECT_EQ(pool.worker_speeds(), (std::vector<double>{1.0, 0.25}));
  // Placing sessions one by one: the fast worker takes four of every five.
  std::vector<int64_t> sessions = {0, 0};
  std::vector<int> picks;
  for (int i = 0; i < 10; ++i) {
    const int w = pool.PickWorker(sessions);
    picks.push_back(w);
    ++sessions[w];
  }
  // Loads (n + 1) / speed: 1 vs 4, 2 vs 4, 3 vs 4, 4 vs 4 (tie: index),
  // 5 vs 4, then 5 vs 8 ...
  EXPECT_EQ(picks, (std::vector<int>{0, 0, 0, 0, 1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(sessions, (std::vector<int64_t>{8, 2}));

  // Equal speeds again: fewest sessions.
  ASSERT_TRUE(pool.SetWorkerSpeeds({2.0, 2.0}).ok());
  EXPECT_EQ(pool.PickWorker({3, 2}), 1);
}

TEST(WorkerPoolTest, SetWorkerSpeedsRefusesAWrongCountOrValue) {
  WorkerPool pool(Options(2, 64));
  EXPECT_EQ(pool.SetWorkerSpeeds({1.0}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pool.SetWorkerSpeeds({1.0, 0.0}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pool.SetWorkerSpeeds({1.0, -2.0}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      pool.SetWorkerSpeeds({1.0, std::numeric_limits<double>::infinity()})
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pool.worker_speeds(), (std::vector<double>{1.0, 1.0}));
}

TEST(WorkerPoolTest, OnWorkerStartRunsOnEachWorkerThreadBeforeTasks) {
  std::mutex mu;
  std::vector<std::thread::id> start_threads(3);
  std::vector<int> start_calls(3, 0);
  WorkerPoolOptions options = Options(3, 64);
  options.on_worker_start = [&](int worker) {
    std::lock_guard<std::mutex> lock(mu);
    start_threads[worker] = std::this_thread::get_id();
    ++start_calls[worker];
  };
  WorkerPool pool(options);
  std::vector<std::thread::id> task_threads(3);
  std::vector<bool> started_first(3, false);
  Latch done(3);
  for (int w = 0; w < 3; ++w) {
    ASSERT_TRUE(pool.Submit(w, kNoDeadline,
                            [&, w](const absl::Status&, const TaskContext& c) {
                              EXPECT_EQ(c.worker, w);
                              std::lock_guard<std::mutex> lock(mu);
                              task_threads[w] = std::this_thread::get_id();
                              started_first[w] = start_calls[w] == 1;
                              done.CountDown();
                            })
                    .ok());
  }
  done.Wait();
  pool.Shutdown();
  std::lock_guard<std::mutex> lock(mu);
  for (int w = 0; w < 3; ++w) {
    EXPECT_EQ(start_calls[w], 1) << w;
    EXPECT_TRUE(started_first[w]) << w;
    EXPECT_EQ(start_threads[w], task_threads[w]) << w;
    EXPECT_NE(start_threads[w], std::this_thread::get_id()) << w;
    for (int v = 0; v < w; ++v) EXPECT_NE(start_threads[v], start_threads[w]);
  }
}

TEST(WorkerPoolTest, ThrowingTaskDoesNotKillTheWorker) {
  WorkerPool pool(Options(1, 64));
  ASSERT_TRUE(pool.Submit(0, kNoDeadline,
                          [](const absl::Status&, const TaskContext&) {
                            throw std::runtime_error("boom");
                          })
                  .ok());
  ASSERT_TRUE(pool.Submit(0, kNoDeadline,
                          [](const absl::Status&, const TaskContext&) {
                            throw 42;
                          })
                  .ok());
  Latch after;
  ASSERT_TRUE(pool.Submit(0, kNoDeadline,
                          [&after](const absl::Status& s, const TaskContext&) {
                            EXPECT_TRUE(s.ok());
                            after.CountDown();
                          })
                  .ok());
  after.Wait();
}

TEST(WorkerPoolTest, ThrowingOnWorkerStartDoesNotKillTheWorker) {
  WorkerPoolOptions options = Options(1, 64);
  options.on_worker_start = [](int) { throw std::runtime_error("no device"); };
  WorkerPool pool(options);
  Latch ran;
  ASSERT_TRUE(pool.Submit(0, kNoDeadline,
                          [&ran](const absl::Status& s, const TaskContext&) {
                            EXPECT_TRUE(s.ok());
                            ran.CountDown();
                          })
                  .ok());
  ran.Wait();
}

// Several threads submit, pick workers and read depths at once; every
// accepted task runs exactly once, refused ones never, and every refusal is
// RESOURCE_EXHAUSTED. Meant for tsan.
TEST(WorkerPoolTest, ConcurrentSubmittersEveryAcceptedTaskRunsOnce) {
  constexpr int kWorkers = 3;
  constexpr int kThreads = 6;
  constexpr int kTasksPerThread = 400;
  constexpr int kTasks = kThreads * kTasksPerThread;
  WorkerPool pool(Options(kWorkers, 8));
  std::vector<std::atomic<int>> calls(kTasks);
  std::vector<std::atomic<int>> continuation_calls(kTasks);
  for (int id = 0; id < kTasks; ++id) calls[id] = continuation_calls[id] = 0;
  // Written by the submitting thread for its own ids only; read after join.
  std::vector<char> accepted(kTasks, 0);
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTasksPerThread; ++i) {
        const int id = t * kTasksPerThread + i;
        const int worker = pool.PickWorker({t % 2, 0, (t + 1) % 2});
        absl::Status s = pool.Submit(
            worker, kNoDeadline,
            [&, id, worker](const absl::Status& st, const TaskContext& c) {
              EXPECT_TRUE(st.ok());
              EXPECT_EQ(c.worker, worker);
              ++calls[id];
              // Half the tasks chain one continuation, as a stream would.
              if (id % 2 == 0) {
                EXPECT_TRUE(pool.Submit(
                                    worker, kNoDeadline,
                                    [&, id](const absl::Status& st2,
                                            const TaskContext&) {
                                      EXPECT_TRUE(st2.ok());
                                      ++continuation_calls[id];
                                    },
                                    /*continuation=*/true)
                                .ok());
              }
            });
        if (s.ok()) {
          accepted[id] = 1;
        } else {
          EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
          ++refused;
        }
        EXPECT_GE(pool.QueueDepth(worker), 0);
        pool.PickWorker();
      }
    });
  }
  for (auto& th : threads) th.join();
  // Drain with two rounds of markers: the first runs after every accepted
  // task, the second after every continuation those tasks queued.
  for (int round = 0; round < 2; ++round) {
    Latch drained(kWorkers);
    for (int w = 0; w < kWorkers; ++w) {
      ASSERT_TRUE(pool.Submit(w, kNoDeadline,
                              [&](const absl::Status& st, const TaskContext&) {
                                EXPECT_TRUE(st.ok());
                                drained.CountDown();
                              },
                              /*continuation=*/true)
                      .ok());
    }
    drained.Wait();
  }
  int accepted_count = 0;
  for (int id = 0; id < kTasks; ++id) {
    accepted_count += accepted[id];
    EXPECT_EQ(calls[id].load(), accepted[id]) << id;
    EXPECT_EQ(continuation_calls[id].load(), id % 2 == 0 ? accepted[id] : 0)
        << id;
  }
  EXPECT_EQ(accepted_count + refused.load(), kTasks);
  EXPECT_GT(accepted_count, 0);
  for (int w = 0; w < kWorkers; ++w) {
    EXPECT_EQ(pool.QueueDepth(w), 0);
  }
  pool.Shutdown();
}

}  // namespace
}  // namespace sam2
