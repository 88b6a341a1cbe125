#include "client/loadtest/load_driver.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_format.h"

namespace sam2::loadtest {
namespace {

// Filled by completions on gRPC threads; shared with them so that a
// completion arriving after Run gave up on it (abandoned) still finds it.
struct SharedState {
  std::mutex mu;
  std::condition_variable cv;
  int64_t inflight = 0;
  int free_slots = 0;
  std::vector<ScenarioStats> stats;
  bool any_measured_completion = false;
  Clock::time_point last_completion;
};

constexpr auto kPollInterval = std::chrono::milliseconds(50);

void Record(SharedState& state, size_t index, Clock::time_point issued,
            Clock::time_point now, const Outcome& o) {
  ScenarioStats& st = state.stats[index];
  const std::string code = GrpcCodeName(o.code);
  ++st.codes[code];
  if (o.code != grpc::StatusCode::OK && !st.first_error.count(code)) {
    st.first_error[code] = o.message;
  }
  if (o.code == grpc::StatusCode::OK) {
    st.latency_ms.Add(MillisBetween(issued, now));
  }
  st.frames += o.frames;
  if (o.first_frame_ms) st.first_frame_ms.Add(*o.first_frame_ms);
  for (double gap : o.inter_frame_ms) st.inter_frame_ms.Add(gap);
  if (!state.any_measured_completion || now > state.last_completion) {
    state.last_completion = now;
  }
  state.any_measured_completion = true;
}

}  // namespace

LoadDriver::LoadDriver(std::vector<Scenario*> scenarios,
                       std::vector<double> weights,
                       const std::atomic<bool>* interrupt)
    : scenarios_(std::move(scenarios)),
      weights_(std::move(weights)),
      interrupt_(interrupt) {}

LevelResult LoadDriver::Run(const LevelSpec& spec) {
  auto state = std::make_shared<SharedState>();
  for (Scenario* s : scenarios_) {
    ScenarioStats st;
    st.scenario = s->name();
    st.streaming = s->streaming();
    state->stats.push_back(std::move(st));
  }
  LevelResult result;
  result.open_loop = spec.open_loop;
  if (spec.open_loop) {
    result.rate = spec.rate;
    result.label = absl::StrFormat("rate=%g/s", spec.rate);
  } else {
    result.concurrency = spec.concurrency;
    result.label = absl::StrFormat("concurrency=%d", spec.concurrency);
  }

  std::mt19937_64 rng(spec.seed);
  std::discrete_distribution<size_t> pick(weights_.begin(), weights_.end());
  const Clock::time_point begin = Clock::now();
  const Clock::time_point measure_start =
      begin + absl::ToChronoNanoseconds(spec.warmup);
  const Clock::time_point stop_at =
      measure_start + absl::ToChronoNanoseconds(spec.duration);
  int64_t measured_issued = 0;
  const bool closed = !spec.open_loop;

  auto interrupted = [this] { return interrupt_ && interrupt_->load(); };
  auto limit_reached = [&] {
    return spec.max_requests > 0 && measured_issued >= spec.max_requests;
  };
  auto issue = [&](Clock::time_point issued) {
    const size_t index = pick(rng);
    const bool measured = issued >= measure_start;
    {
      std::lock_guard<std::mutex> lock(state->mu);
      ++state->inflight;
      if (measured) ++state->stats[index].sent;
    }
    if (measured) ++measured_issued;
    // No lock held: `done` may run inline.
    scenarios_[index]->Start(
        issued, [state, index, measured, issued, closed](Outcome outcome) {
          const Clock::time_point now = Clock::now();
          std::lock_guard<std::mutex> lock(state->mu);
          if (measured) Record(*state, index, issued, now, outcome);
          --state->inflight;
          if (closed) ++state->free_slots;
          state->cv.notify_all();
        });
  };

  if (closed) {
    for (int i = 0; i < spec.concurrency && !interrupted(); ++i) {
      const Clock::time_point now = Clock::now();
      if (now >= measure_start && limit_reached()) break;
      issue(now);
    }
    bool done = false;
    while (!done) {
      int slots = 0;
      {
        std::unique_lock<std::mutex> lock(state->mu);
        state->cv.wait_until(
            lock, std::min(stop_at, Clock::now() + kPollInterval),
            [&] { return state->free_slots > 0 || interrupted(); });
        if (interrupted() || Clock::now() >= stop_at) break;
        slots = state->free_slots;
        state->free_slots = 0;
      }
      for (int i = 0; i < slots; ++i) {
        const Clock::time_point now = Clock::now();
        if (now >= measure_start && limit_reached()) {
          done = true;
          break;
        }
        issue(now);
      }
    }
  } else {
    std::exponential_distribution<double> gap(spec.rate);
    const auto fixed_gap = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1.0 / spec.rate));
    Clock::time_point next = begin;
    while (!interrupted() && next < stop_at &&
           !(next >= measure_start && limit_reached())) {
      while (!interrupted()) {
        const Clock::time_point now = Clock::now();
        if (now >= next) break;
        std::this_thread::sleep_until(std::min(next, now + kPollInterval));
      }
      if (interrupted()) break;
      bool full = false;
      {
        std::lock_guard<std::mutex> lock(state->mu);
        full = state->inflight >= spec.max_inflight;
      }
      if (!full) {
        issue(next);
      } else if (next >= measure_start) {
        ++result.dropped_arrivals;
      }
      next += spec.arrival == Arrival::kPoisson
                  ? std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(gap(rng)))
                  : fixed_gap;
    }
  }
  const Clock::time_point stopped = Clock::now();
  result.interrupted = interrupted();

  // Drain: every outstanding request reports back (each has a deadline), or
  // is cancelled after the drain limit (at once when interrupted).
  const Clock::time_point drain_until =
      result.interrupted ? stopped
                         : stopped + absl::ToChronoNanoseconds(spec.drain_timeout);
  {
    std::unique_lock<std::mutex> lock(state->mu);
    while (state->inflight > 0 && Clock::now() < drain_until) {
      state->cv.wait_until(lock, std::min(drain_until, Clock::now() + kPollInterval));
    }
  }
  bool outstanding = false;
  {
    std::lock_guard<std::mutex> lock(state->mu);
    outstanding = state->inflight > 0;
  }
  if (outstanding) {
    // Without the lock: cancelling may complete requests inline.
    for (Scenario* s : scenarios_) s->CancelAll();
    std::unique_lock<std::mutex> lock(state->mu);
    state->cv.wait_for(lock, std::chrono::seconds(10),
                       [&] { return state->inflight == 0; });
  }

  std::lock_guard<std::mutex> lock(state->mu);
  result.abandoned = state->inflight;
  const Clock::time_point end =
      state->any_measured_completion ? state->last_completion : stopped;
  result.window_s = std::max(0.0, MillisBetween(measure_start, end) / 1000.0);
  result.scenarios = state->stats;
  return result;
}

}  // namespace sam2::loadtest
