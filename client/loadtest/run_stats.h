// What one load level measured: per scenario, the requests sent, their
// outcomes by gRPC status code, latencies, and for streams the frames. The
// load driver fills these; the report and the plot read them.
//
// The accounting rule every run keeps: `sent` is counted when a request is
// issued and `codes` when it completes, and the driver waits for (or
// cancels) every request before it returns, so sent == sum(codes).
//
// Thread-safety: plain values; the driver guards them while it fills them.

#ifndef SAM2_CLIENT_LOADTEST_RUN_STATS_H_
#define SAM2_CLIENT_LOADTEST_RUN_STATS_H_

#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "client/loadtest/latency_stats.h"

namespace sam2::loadtest {

// "OK", "CANCELLED", ..., "UNAUTHENTICATED" (the names of grpc::StatusCode
// and of the gRPC spec); "CODE_<n>" for a number outside the spec.
std::string GrpcCodeName(grpc::StatusCode code);

struct ScenarioStats {
  std::string scenario;
  bool streaming = false;
  // Measured requests issued (warm-up excluded).
  int64_t sent = 0;
  // Completed measured requests by status code name.
  std::map<std::string, int64_t> codes;
  // One message per failing code (the first seen), to say what went wrong.
  std::map<std::string, std::string> first_error;
  // Latency of the requests that completed OK, in ms: a unary call from
  // issue to response, a stream from issue to its final status.
  LatencySamples latency_ms;
  // Streams only: frames received (by every measured stream, failed ones
  // included), issue-to-first-frame and gaps between consecutive frames.
  int64_t frames = 0;
  LatencySamples first_frame_ms;
  LatencySamples inter_frame_ms;

  int64_t completed() const;
  int64_t ok() const;
};

struct LevelResult {
  // "concurrency=4" or "rate=20/s".
  std::string label;
  bool open_loop = false;
  int concurrency = 0;  // closed loop
  double rate = 0;      // open loop, requests/s
  // Measured window: from the end of the warm-up to the last measured
  // completion (throughput = sent / window).
  double window_s = 0;
  // Open loop: arrivals not sent because --max_inflight requests were
  // already outstanding (the server is not keeping up).
  int64_t dropped_arrivals = 0;
  // Requests still outstanding after the drain limit; they were cancelled
  // and did not report back (0 in every healthy run).
  int64_t abandoned = 0;
  bool interrupted = false;
  std::vector<ScenarioStats> scenarios;

  double Throughput(const ScenarioStats& s) const;
  double FramesPerSecond(const ScenarioStats& s) const;
};

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_RUN_STATS_H_
