// Scenario: one kind of request a load test sends (segment, create_image,
// propagate), behind one interface the load driver calls:
//   Setup()    once, blocking: the sessions its requests need;
//   Start()    per request, non-blocking (gRPC callback API): `done` runs
//              exactly once, on a gRPC thread, with the call's outcome;
//   CancelAll  to stop a run early (outstanding calls end CANCELLED);
//   Cleanup()  once, blocking, after every request is done: deletes every
//              session the scenario created.
//
// Also here: the pieces the scenarios share — Outcome, the steady clock,
// CallTracker (live calls, to cancel them) and DeleteSessions.
//
// Thread-safety: Start and CancelAll from any thread; Setup and Cleanup
// from the controlling thread with no request outstanding.

#ifndef SAM2_CLIENT_LOADTEST_SCENARIO_H_
#define SAM2_CLIENT_LOADTEST_SCENARIO_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/loadtest/channel_pool.h"
#include "client/loadtest/loadtest_options.h"

namespace sam2::loadtest {

using Clock = std::chrono::steady_clock;

inline double MillisBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// How one request ended.
struct Outcome {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  // Streams: frames received, issue-to-first-frame, and the gaps between
  // consecutive frames, in ms.
  int64_t frames = 0;
  std::optional<double> first_frame_ms;
  std::vector<double> inter_frame_ms;
};

using DoneCallback = std::function<void(Outcome)>;

struct CleanupResult {
  int deleted = 0;
  int failed = 0;
  std::string first_error;

  void Add(const CleanupResult& other);
};

// What the scenarios need from the command line.
struct ScenarioEnv {
  ChannelPool* channels = nullptr;  // not owned
  absl::Duration timeout = absl::Seconds(30);
  // Setup and cleanup calls (session creation runs the image encoder, which
  // may be slow on a CPU server): their own, generous deadline.
  absl::Duration setup_timeout = absl::Seconds(120);
  v1::MaskFormat mask_format = v1::MASK_FORMAT_RLE;
  uint64_t seed = 1;
};

class Scenario {
 public:
  virtual ~Scenario() = default;

  virtual ScenarioKind kind() const = 0;
  std::string name() const { return std::string(ScenarioKindName(kind())); }
  virtual bool streaming() const { return false; }

  virtual absl::Status Setup() = 0;
  // `issued` is when the request counts as sent (latencies are measured
  // from it). Never blocks. `done` may run on any thread, even before Start
  // returns (gRPC may fail a call inline): hold no lock across Start.
  virtual void Start(Clock::time_point issued, DoneCallback done) = 0;
  virtual void CancelAll() = 0;
  virtual CleanupResult Cleanup() = 0;
  // One line for the report, e.g. "4 image sessions of 640x480".
  virtual std::string SetupSummary() const = 0;
};

// The contexts of a scenario's live calls.
class CallTracker {
 public:
  void Add(grpc::ClientContext* ctx);
  void Remove(grpc::ClientContext* ctx);
  // TryCancel on every live call (safe: a context leaves the set before it
  // is destroyed, under the same lock).
  void CancelAll();
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::set<grpc::ClientContext*> live_;
};

// A deadline `timeout` from now.
void SetDeadline(grpc::ClientContext* ctx, absl::Duration timeout);

// DeleteSession for each name, blocking, over the pool's channels. A session
// already gone (NOT_FOUND) counts as deleted.
CleanupResult DeleteSessions(ChannelPool& channels,
                             const std::vector<std::string>& names,
                             absl::Duration timeout);

// "message (CODE)" of a failed setup call.
absl::Status SetupError(absl::string_view what, const grpc::Status& status);

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_SCENARIO_H_
