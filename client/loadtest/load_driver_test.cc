// LoadDriver with fake scenarios (no network): closed-loop concurrency,
// open-loop rates and drops, warm-up, request limits, weights, failure
// accounting, interruption and the drain limit.

#include "client/loadtest/load_driver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace sam2::loadtest {
namespace {

// Completes each request `latency` after it starts, on its own thread, with
// the outcome `make(n)` gives request number n (0-based).
class FakeScenario : public Scenario {
 public:
  using MakeOutcome = std::function<Outcome(int64_t)>;

  FakeScenario(ScenarioKind kind, absl::Duration latency,
               MakeOutcome make = [](int64_t) { return Outcome(); })
      : kind_(kind),
        latency_(absl::ToChronoNanoseconds(latency)),
        make_(std::move(make)),
        thread_([this] { Loop(); }) {}

  ~FakeScenario() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  ScenarioKind kind() const override { return kind_; }
  bool streaming() const override { return kind_ == ScenarioKind::kPropagate; }
  absl::Status Setup() override { return absl::OkStatus(); }
  CleanupResult Cleanup() override { return {}; }
  std::string SetupSummary() const override { return "fake"; }

  void Start(Clock::time_point issued, DoneCallback done) override {
    (void)issued;
    std::lock_guard<std::mutex> lock(mu_);
    const Clock::time_point now = Clock::now();
    starts_.push_back(now);
    ++inflight_;
    max_inflight_ = std::max(max_inflight_, inflight_);
    pending_.push_back({now + latency_, next_++, std::move(done)});
    cv_.notify_all();
  }

  void CancelAll() override {
    std::vector<Pending> cancelled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled.swap(pending_);
      inflight_ -= static_cast<int>(cancelled.size());
    }
    for (Pending& p : cancelled) {
      Outcome o;
      o.code = grpc::StatusCode::CANCELLED;
      o.message = "cancelled";
      p.done(o);
    }
  }

  int64_t started() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int64_t>(starts_.size());
  }
  int max_inflight() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_inflight_;
  }
  std::vector<Clock::time_point> starts() {
    std::lock_guard<std::mutex> lock(mu_);
    return starts_;
  }

 private:
  struct Pending {
    Clock::time_point due;
    int64_t n;
    DoneCallback done;
  };

  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      if (pending_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto it = std::min_element(
          pending_.begin(), pending_.end(),
          [](const Pending& a, const Pending& b) { return a.due < b.due; });
      if (Clock::now() < it->due) {
        cv_.wait_until(lock, it->due);
        continue;
      }
      Pending p = std::move(*it);
      pending_.erase(it);
      --inflight_;
      lock.unlock();
      p.done(make_(p.n));
      lock.lock();
    }
  }

  const ScenarioKind kind_;
  const Clock::duration latency_;
  const MakeOutcome make_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> pending_;
  std::vector<Clock::time_point> starts_;
  int64_t next_ = 0;
  int inflight_ = 0;
  int max_inflight_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

LevelSpec Closed(int concurrency, absl::Duration duration) {
  LevelSpec spec;
  spec.concurrency = concurrency;
  spec.duration = duration;
  return spec;
}

LevelSpec Open(double rate, absl::Duration duration) {
  LevelSpec spec;
  spec.open_loop = true;
  spec.rate = rate;
  spec.duration = duration;
  return spec;
}

void ExpectAccounted(const LevelResult& r) {
  for (const ScenarioStats& s : r.scenarios) {
    EXPECT_EQ(s.sent, s.completed()) << s.scenario;
    EXPECT_EQ(s.latency_ms.count(), s.ok()) << s.scenario;
  }
  EXPECT_EQ(r.abandoned, 0);
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return MillisBetween(a, b) / 1000;
}

TEST(LoadDriverTest, ClosedLoopHoldsTheConcurrency) {
  FakeScenario fake(ScenarioKind::kSegment, absl::Milliseconds(5));
  LoadDriver driver({&fake}, {1});
  const LevelResult r = driver.Run(Closed(3, absl::Milliseconds(400)));
  ExpectAccounted(r);
  EXPECT_EQ(r.label, "concurrency=3");
  EXPECT_EQ(fake.max_inflight(), 3);
  ASSERT_EQ(r.scenarios.size(), 1u);
  const ScenarioStats& s = r.scenarios[0];
  // 3 streams of 5 ms requests for 0.4 s: at most 240, well above 40.
  EXPECT_GT(s.sent, 40);
  EXPECT_LE(s.sent, 245);
  EXPECT_EQ(s.ok(), s.sent);
  EXPECT_GE(s.latency_ms.Percentile(0), 5.0);
  EXPECT_GT(r.window_s, 0.35);
  EXPECT_LT(r.window_s, 1.0);
  EXPECT_NEAR(r.Throughput(s), s.sent / r.window_s, 1e-9);
}

TEST(LoadDriverTest, RequestLimitStopsExactly) {
  FakeScenario fake(ScenarioKind::kSegment, absl::Milliseconds(1));
  LoadDriver driver({&fake}, {1});
  LevelSpec spec = Closed(4, absl::Seconds(20));
  spec.max_requests = 25;
  const Clock::time_point t0 = Clock::now();
  const LevelResult r = driver.Run(spec);
  EXPECT_LT(Seconds(t0, Clock::now()), 5);
  ExpectAccounted(r);
  EXPECT_EQ(r.scenarios[0].sent, 25);
  EXPECT_EQ(fake.started(), 25);
}

TEST(LoadDriverTest, WarmupRequestsRunButAreNotCounted) {
  FakeScenario fake(ScenarioKind::kSegment, absl::Milliseconds(10));
  LoadDriver driver({&fake}, {1});
  LevelSpec spec = Closed(1, absl::Milliseconds(300));
  spec.warmup = absl::Milliseconds(300);
  const LevelResult r = driver.Run(spec);
  ExpectAccounted(r);
  const int64_t sent = r.scenarios[0].sent;
  EXPECT_GT(sent, 5);
  EXPECT_LE(sent, 31);
  // About as many again ran during the warm-up.
  EXPECT_GE(fake.started(), sent + 5);
  EXPECT_LT(r.window_s, 0.6);
}

TEST(LoadDriverTest, OpenLoopKeepsTheRate) {
  FakeScenario fake(ScenarioKind::kSegment, absl::Milliseconds(1));
  LoadDriver driver({&fake}, {1});
  const LevelResult r = driver.Run(Open(200, absl::Milliseconds(500)));
  ExpectAccounted(r);
  EXPECT_EQ(r.label, "rate=200/s");
  // 0.5 s at 200/s: 100 arrivals (the first at t=0).
  EXPECT_GE(r.scenarios[0].sent, 99);
  EXPECT_LE(r.scenarios[0].sent, 101);
  EXPECT_EQ(r.dropped_arrivals, 0);
  // Constant gaps of 5 ms.
  const std::vector<Clock::time_point> starts = fake.starts();
  ASSERT_GT(starts.size(), 50u);
  const double span = Seconds(starts.front(), starts.back());
  EXPECT_NEAR(span / static_cast<double>(starts.size() - 1), 0.005, 0.001);
}

TEST(LoadDriverTest, OpenLoopDoesNotWaitForASlowServer) {
  // 300 ms per request at 100/s: a closed loop would send 2; the open loop
  // keeps sending, up to max_inflight, and drops (and counts) the rest
  // (about 22 of the 30 arrivals before the first completion).
  FakeScenario fake(ScenarioKind::kSegment, absl::Milliseconds(300));
  LoadDriver driver({&fake}, {1});
  LevelSpec spec = Open(100, absl::Milliseconds(500));
  spec.max_inflight = 8;
  const LevelResult r = driver.Run(spec);
  ExpectAccounted(r);
  EXPECT_LE(fake.max_inflight(), 8);
  EXPECT_GE(r.scenarios[0].sent, 8);
  EXPECT_GT(r.dropped_arrivals, 10);
  EXPECT_NEAR(static_cast<double>(r.scenarios[0].sent + r.dropped_arrivals),
              50, 2);
}

TEST(LoadDriverTest, PoissonArrivalsHaveTheRateButNotFixedGaps) {
  FakeScenario fake(ScenarioKind::kSegment, absl::Milliseconds(1));
  LoadDriver driver({&fake}, {1});
  LevelSpec spec = Open(400, absl::Seconds(1));
  spec.arrival = Arrival::kPoisson;
  const LevelResult r = driver.Run(spec);
  ExpectAccounted(r);
  EXPECT_GT(r.scenarios[0].sent, 300);
  EXPECT_LT(r.scenarios[0].sent, 500);
  const std::vector<Clock::time_point> starts = fake.starts();
  std::vector<double> gaps;
  for (size_t i = 1; i < starts.size(); ++i) {
    gaps.push_back(Seconds(starts[i - 1], starts[i]));
  }
  double mean = 0;
  for (double g : gaps) mean += g;
  mean /= static_cast<double>(gaps.size());
  double var = 0;
  for (double g : gaps) var += (g - mean) * (g - mean);
  const double cv = std::sqrt(var / static_cast<double>(gaps.size())) / mean;
  // Exponential gaps: coefficient of variation ~1 (constant: ~0).
  EXPECT_GT(cv, 0.6);
}

TEST(LoadDriverTest, MixFollowsTheWeights) {
  FakeScenario a(ScenarioKind::kSegment, absl::Milliseconds(1));
  FakeScenario b(ScenarioKind::kCreateImage, absl::Milliseconds(1));
  LoadDriver driver({&a, &b}, {3, 1});
  LevelSpec spec = Closed(4, absl::Seconds(20));
  spec.max_requests = 800;
  const LevelResult r = driver.Run(spec);
  ExpectAccounted(r);
  ASSERT_EQ(r.scenarios.size(), 2u);
  EXPECT_EQ(r.scenarios[0].scenario, "segment");
  EXPECT_EQ(r.scenarios[1].scenario, "create_image");
  EXPECT_EQ(r.scenarios[0].sent + r.scenarios[1].sent, 800);
  const double ratio = static_cast<double>(r.scenarios[0].sent) /
                       static_cast<double>(r.scenarios[1].sent);
  EXPECT_GT(ratio, 2.3);
  EXPECT_LT(ratio, 3.9);
}

TEST(LoadDriverTest, FailuresAreCountedByCode) {
  FakeScenario fake(ScenarioKind::kSegment, absl::Milliseconds(1),
                    [](int64_t n) {
                      Outcome o;
                      if (n % 3 == 1) {
                        o.code = grpc::StatusCode::DEADLINE_EXCEEDED;
                        o.message = "Deadline Exceeded";
                      } else if (n % 3 == 2) {
                        o.code = grpc::StatusCode::RESOURCE_EXHAUSTED;
                        o.message = "queue full";
                      }
                      return o;
                    });
  LoadDriver driver({&fake}, {1});
  LevelSpec spec = Closed(1, absl::Seconds(20));
  spec.max_requests = 30;
  const LevelResult r = driver.Run(spec);
  ExpectAccounted(r);
  const ScenarioStats& s = r.scenarios[0];
  EXPECT_EQ(s.codes.at("OK"), 10);
  EXPECT_EQ(s.codes.at("DEADLINE_EXCEEDED"), 10);
  EXPECT_EQ(s.codes.at("RESOURCE_EXHAUSTED"), 10);
  EXPECT_EQ(s.first_error.at("RESOURCE_EXHAUSTED"), "queue full");
  EXPECT_EQ(s.first_error.count("OK"), 0u);
  EXPECT_EQ(s.latency_ms.count(), 10);
}

TEST(LoadDriverTest, StreamOutcomesAddUp) {
  FakeScenario fake(ScenarioKind::kPropagate, absl::Milliseconds(1),
                    [](int64_t) {
                      Outcome o;
                      o.frames = 4;
                      o.first_frame_ms = 2.5;
                      o.inter_frame_ms = {1, 2, 3};
                      return o;
                    });
  LoadDriver driver({&fake}, {1});
  LevelSpec spec = Closed(2, absl::Seconds(20));
  spec.max_requests = 10;
  const LevelResult r = driver.Run(spec);
  ExpectAccounted(r);
  const ScenarioStats& s = r.scenarios[0];
  EXPECT_TRUE(s.streaming);
  EXPECT_EQ(s.frames, 40);
  EXPECT_EQ(s.first_frame_ms.count(), 10);
  EXPECT_EQ(s.first_frame_ms.Percentile(50), 2.5);
  EXPECT_EQ(s.inter_frame_ms.count(), 30);
  EXPECT_EQ(s.inter_frame_ms.Percentile(99), 3);
  EXPECT_NEAR(r.FramesPerSecond(s), 40 / r.window_s, 1e-9);
}

TEST(LoadDriverTest, InterruptStopsAndCancelsWhatIsOutstanding) {
  FakeScenario fake(ScenarioKind::kSegment, absl::Seconds(60));
  std::atomic<bool> interrupt{false};
  LoadDriver driver({&fake}, {1}, &interrupt);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    interrupt.store(true);
  });
  const Clock::time_point t0 = Clock::now();
  const LevelResult r = driver.Run(Closed(5, absl::Seconds(30)));
  stopper.join();
  EXPECT_LT(Seconds(t0, Clock::now()), 3);
  EXPECT_TRUE(r.interrupted);
  ExpectAccounted(r);
  EXPECT_EQ(r.scenarios[0].sent, 5);
  EXPECT_EQ(r.scenarios[0].codes.at("CANCELLED"), 5);
}

TEST(LoadDriverTest, StragglersAreCancelledAfterTheDrainLimit) {
  FakeScenario fake(ScenarioKind::kSegment, absl::Seconds(60));
  LoadDriver driver({&fake}, {1});
  LevelSpec spec = Closed(2, absl::Milliseconds(100));
  spec.drain_timeout = absl::Milliseconds(200);
  const Clock::time_point t0 = Clock::now();
  const LevelResult r = driver.Run(spec);
  EXPECT_LT(Seconds(t0, Clock::now()), 3);
  EXPECT_FALSE(r.interrupted);
  ExpectAccounted(r);
  EXPECT_EQ(r.scenarios[0].codes.at("CANCELLED"), 2);
}

}  // namespace
}  // namespace sam2::loadtest
