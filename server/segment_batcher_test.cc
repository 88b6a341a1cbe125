// SegmentBatcher on the micro model: what waits together runs as one batch
// (sizes, caps, one call per session per batch), every call keeps its own
// deadline, cancellation, exclusivity and error, and shutdown answers what
// is still pending. The worker is held by a blocking task so that calls
// queue deterministically (no sleeps).

#include "server/segment_batcher.h"

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "model/model_loader.h"
#include "session/clock.h"
#include "session/session_store.h"

namespace sam2 {
namespace {

constexpr char kFixture[] = "tests/fixtures/sam2.1-micro";

// A one-shot latch on std::mutex: Debian's Abseil is not built with
// ThreadSanitizer, so --config=tsan cannot see absl::Notification's
// happens-before edges (see tests/server/tsan_suppressions.txt).
class Latch {
 public:
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }
  void WaitForNotification() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
  }
  bool HasBeenNotified() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

struct Outcome {
  Latch done;
  absl::Status status;
  int64_t result_id = 0;
  float first_score = 0;
  int batch_size = 0;
};

class SegmentBatcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<LoadedModel> loaded =
        LoadModel(std::string(kFixture) + "/model.pt", "");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    absl::StatusOr<std::shared_ptr<const Sam2Model>> model =
        Sam2Model::Create(loaded->config, loaded->weights);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = new std::shared_ptr<const Sam2Model>(*model);
    std::ifstream in(std::string(kFixture) + "/image.png", std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    png_ = new std::string(bytes.str());
  }

  void SetUp() override {
    store_ = std::make_unique<SessionStore>(SessionStoreOptions{}, "test",
                                            RealClock());
    WorkerPoolOptions pool;
    pool.num_workers = 1;
    pool.queue_capacity = 8;
    pool_ = std::make_unique<WorkerPool>(pool, RealClock());
  }

  static SegmentBatcherOptions Batching(int max_batch) {
    SegmentBatcherOptions options;
    options.max_batch = max_batch;
    return options;
  }

  std::unique_ptr<SegmentBatcher> NewBatcher(SegmentBatcherOptions options) {
    WorkerModel worker;
    worker.image = *model_;
    return std::make_unique<SegmentBatcher>(
        pool_.get(), WorkerModels{worker}, store_.get(), options,
        StageObserver(),
        [this](int size) {
          std::lock_guard<std::mutex> lock(batches_mu_);
          batches_.push_back(size);
        });
  }

  std::shared_ptr<ImageSession> NewSession() {
    absl::StatusOr<std::unique_ptr<ImageSession>> s =
        ImageSession::Create(**model_, *png_, ImageSessionLimits{});
    EXPECT_TRUE(s.ok()) << s.status();
    std::shared_ptr<ImageSession> shared = *std::move(s);
    EXPECT_TRUE(store_->Insert(shared, 0).ok());
    return shared;
  }

  // Holds the worker until the returned notification is notified.
  std::shared_ptr<Latch> BlockWorker() {
    auto release = std::make_shared<Latch>();
    auto started = std::make_shared<Latch>();
    EXPECT_TRUE(pool_
                    ->Submit(0, absl::InfiniteFuture(),
                             [release, started](const absl::Status&,
                                                const TaskContext&) {
                               started->Notify();
                               release->WaitForNotification();
                             })
                    .ok());
    started->WaitForNotification();
    return release;
  }

  static SegmentBatchCall Call(std::shared_ptr<ImageSession> session,
                               float x, float y, Outcome* outcome) {
    SegmentBatchCall call;
    call.session = std::move(session);
    call.input.points = {PointPrompt{x, y, 1}};
    call.done = [outcome](absl::StatusOr<SegmentOutput> out,
                          const SegmentBatchRun& run) {
      outcome->status = out.status();
      if (out.ok()) {
        outcome->result_id = out->result_id;
        outcome->first_score = out->prompts[0].iou_scores[0];
      }
      outcome->batch_size = run.batch_size;
      outcome->done.Notify();
    };
    return call;
  }

  static std::shared_ptr<const Sam2Model>* model_;
  static std::string* png_;
  std::unique_ptr<SessionStore> store_;
  std::unique_ptr<WorkerPool> pool_;
  std::vector<int> Batches() {
    std::lock_guard<std::mutex> lock(batches_mu_);
    return batches_;
  }
  std::mutex batches_mu_;
  std::vector<int> batches_;  // written on the worker
};
std::shared_ptr<const Sam2Model>* SegmentBatcherTest::model_ = nullptr;
std::string* SegmentBatcherTest::png_ = nullptr;

TEST_F(SegmentBatcherTest, CallsWaitingTogetherRunAsOneBatch) {
  auto batcher = NewBatcher(Batching(8));
  std::vector<std::shared_ptr<ImageSession>> sessions;
  for (int i = 0; i < 4; ++i) sessions.push_back(NewSession());
  Outcome out[4];
  auto release = BlockWorker();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(batcher->Submit(0, Call(sessions[i], 100 + 50 * i, 200, &out[i])).ok());
  }
  release->Notify();
  for (int i = 0; i < 4; ++i) {
    out[i].done.WaitForNotification();
    EXPECT_TRUE(out[i].status.ok()) << out[i].status;
    EXPECT_EQ(out[i].batch_size, 4);
    EXPECT_EQ(out[i].result_id, 1);
    // The same score as the session's own Segment of that click.
    SegmentInput alone;
    alone.points = {PointPrompt{100.f + 50 * i, 200, 1}};
    absl::StatusOr<SegmentOutput> want = NewSession()->Segment(**model_, alone);
    ASSERT_TRUE(want.ok());
    EXPECT_NEAR(out[i].first_score, want->prompts[0].iou_scores[0], 1e-5);
  }
  EXPECT_EQ(Batches(), (std::vector<int>{4}));
}

TEST_F(SegmentBatcherTest, MaxBatchOneRunsEachCallAlone) {
  SegmentBatcherOptions options = Batching(1);
  auto batcher = NewBatcher(options);
  Outcome out[3];
  auto release = BlockWorker();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(batcher->Submit(0, Call(NewSession(), 200, 200, &out[i])).ok());
  }
  release->Notify();
  for (Outcome& o : out) {
    o.done.WaitForNotification();
    EXPECT_TRUE(o.status.ok()) << o.status;
    EXPECT_EQ(o.batch_size, 1);
  }
  EXPECT_EQ(Batches(), (std::vector<int>{1, 1, 1}));
}

TEST_F(SegmentBatcherTest, BatchesAreCappedAndASessionRunsOncePerBatch) {
  SegmentBatcherOptions options = Batching(2);
  auto batcher = NewBatcher(options);
  auto a = NewSession();
  auto b = NewSession();
  auto c = NewSession();
  Outcome out[4];
  auto release = BlockWorker();
  ASSERT_TRUE(batcher->Submit(0, Call(a, 100, 100, &out[0])).ok());
  ASSERT_TRUE(batcher->Submit(0, Call(a, 120, 100, &out[1])).ok());  // a again
  ASSERT_TRUE(batcher->Submit(0, Call(b, 100, 100, &out[2])).ok());
  ASSERT_TRUE(batcher->Submit(0, Call(c, 100, 100, &out[3])).ok());
  release->Notify();
  for (Outcome& o : out) {
    o.done.WaitForNotification();
    EXPECT_TRUE(o.status.ok()) << o.status;
  }
  // [a1, b], then [a2, c]: a's second call sees its first result.
  EXPECT_EQ(Batches(), (std::vector<int>{2, 2}));
  EXPECT_EQ(out[0].result_id, 1);
  EXPECT_EQ(out[1].result_id, 2);
}

TEST_F(SegmentBatcherTest, EachCallKeepsItsOwnDeadlineCancellationAndError) {
  auto batcher = NewBatcher(Batching(8));
  auto busy = NewSession();
  Outcome late, gone, off_image, conflict, fine;
  auto release = BlockWorker();
  SegmentBatchCall expired = Call(NewSession(), 100, 100, &late);
  expired.deadline = absl::Now() - absl::Seconds(1);
  ASSERT_TRUE(batcher->Submit(0, std::move(expired)).ok());
  SegmentBatchCall cancelled = Call(NewSession(), 100, 100, &gone);
  cancelled.cancelled = [] { return true; };
  ASSERT_TRUE(batcher->Submit(0, std::move(cancelled)).ok());
  ASSERT_TRUE(batcher->Submit(0, Call(NewSession(), -50, 100, &off_image)).ok());
  ASSERT_TRUE(batcher->Submit(0, Call(busy, 100, 100, &conflict)).ok());
  ASSERT_TRUE(batcher->Submit(0, Call(NewSession(), 100, 100, &fine)).ok());
  {
    ScopedExclusive held(*busy, "Test");
    ASSERT_TRUE(held.status().ok());
    release->Notify();
    conflict.done.WaitForNotification();
  }
  for (Outcome* o : {&late, &gone, &off_image, &fine}) o->done.WaitForNotification();
  EXPECT_EQ(late.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(gone.status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(conflict.status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(off_image.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fine.status.ok()) << fine.status;
  EXPECT_EQ(fine.batch_size, 2);  // itself and the off-image call
}

TEST_F(SegmentBatcherTest, PendingCallsAreBoundedAndAnsweredAtShutdown) {
  SegmentBatcherOptions options = Batching(8);
  options.queue_capacity = 2;
  auto batcher = NewBatcher(options);
  Outcome out[2], rejected;
  auto release = BlockWorker();
  ASSERT_TRUE(batcher->Submit(0, Call(NewSession(), 100, 100, &out[0])).ok());
  ASSERT_TRUE(batcher->Submit(0, Call(NewSession(), 100, 100, &out[1])).ok());
  const absl::Status full =
      batcher->Submit(0, Call(NewSession(), 100, 100, &rejected));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_FALSE(rejected.done.HasBeenNotified());
  // Shut the pool down while the calls still wait: they hear UNAVAILABLE.
  std::thread shutdown([this] { pool_->Shutdown(); });
  // Shutdown answers queued tasks at once, then waits for the running one.
  out[0].done.WaitForNotification();
  out[1].done.WaitForNotification();
  release->Notify();
  shutdown.join();
  EXPECT_EQ(out[0].status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(out[1].status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(batcher->Submit(0, Call(NewSession(), 1, 1, &rejected)).code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sam2
