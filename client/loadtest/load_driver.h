// LoadDriver: runs one load level against set-up scenarios and measures it.
//
//   closed loop  `concurrency` requests in flight: each completion issues
//                the next at once (ghz -c, perf_analyzer
//                --concurrency-range). Latency: issue to completion.
//   open loop    requests issued at `rate`/s on a fixed schedule (constant
//                gaps, or Poisson: exponential gaps), whatever the server
//                does (perf_analyzer --request-rate-range). Latency is
//                measured from the *scheduled* time, so a client that falls
//                behind cannot hide server slowness (no coordinated
//                omission). At most `max_inflight` outstanding; arrivals
//                beyond are dropped and counted.
//
// Each request goes to one scenario, drawn by weight (a mix). Requests
// issued during the warm-up run but are not counted. The level stops
// issuing after `duration` of measurement or `max_requests` measured
// requests, whichever is first (or when `interrupt` turns true), then waits
// for every outstanding request — up to `drain_timeout`, after which they
// are cancelled and counted CANCELLED.
//
// Issuing runs on the calling thread; completions arrive on gRPC threads
// and only record (never block).
//
// Thread-safety: one Run at a time.

#ifndef SAM2_CLIENT_LOADTEST_LOAD_DRIVER_H_
#define SAM2_CLIENT_LOADTEST_LOAD_DRIVER_H_

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "client/loadtest/loadtest_options.h"
#include "client/loadtest/run_stats.h"
#include "client/loadtest/scenario.h"

namespace sam2::loadtest {

struct LevelSpec {
  bool open_loop = false;
  int concurrency = 1;  // closed loop
  double rate = 1;      // open loop, requests/s
  Arrival arrival = Arrival::kConstant;
  int max_inflight = 1000;  // open loop
  absl::Duration duration = absl::Seconds(10);
  int64_t max_requests = 0;  // 0: no limit
  absl::Duration warmup = absl::ZeroDuration();
  // After issuing stops, how long outstanding requests may take before they
  // are cancelled (the request timeout plus a margin is right).
  absl::Duration drain_timeout = absl::Seconds(35);
  uint64_t seed = 1;
};

class LoadDriver {
 public:
  // `scenarios` (not owned, already set up) with their weights (> 0), in
  // the same order. `interrupt` (not owned, may be null): stops the level
  // early and cancels what is outstanding.
  LoadDriver(std::vector<Scenario*> scenarios, std::vector<double> weights,
             const std::atomic<bool>* interrupt = nullptr);

  LevelResult Run(const LevelSpec& spec);

 private:
  std::vector<Scenario*> scenarios_;
  std::vector<double> weights_;
  const std::atomic<bool>* interrupt_;
};

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_LOAD_DRIVER_H_
