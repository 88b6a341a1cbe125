// The load test's report: a table for people (stdout) and JSON for
// machines (--json), from the same RunReport.
//
// JSON shape (numbers are ms unless named otherwise; see report_test.cc):
// {
//   "server": "host:port", "server_info": {...}, "scenario": "mix",
//   "mix": {"segment": 8, ...},
//   "load": {"model": "closed"|"open", "arrival": ..., "duration_s": ...,
//            "warmup_s": ..., "max_requests": N|null, "connections": K,
//            "timeout_s": ...},
//   "setup": ["segment: 4 image sessions of 640x480", ...],
//   "levels": [{"label": "concurrency=4", "concurrency": 4 | "rate": 20,
//               "window_s": ..., "dropped_arrivals": 0, "abandoned": 0,
//               "interrupted": false,
//               "scenarios": [{"name": "segment", "sent": ..., "ok": ...,
//                  "throughput_rps": ..., "ok_throughput_rps": ...,
//                  "latency_ms": {"count", "min", "mean", "p50", "p90",
//                                 "p95", "p99", "max"},
//                  "status_codes": {"OK": ...}, "errors": {"CODE": "msg"},
//                  "stream": {"frames": ..., "frames_per_s": ...,
//                     "time_to_first_mask_ms": {"p50", "p99", ...},
//                     "inter_frame_ms": {"p50", "p99", ...}}   // streams only
//               }]}],
//   "cleanup": {"deleted": ..., "failed": ..., "error": "..."}
// }

#ifndef SAM2_CLIENT_LOADTEST_REPORT_H_
#define SAM2_CLIENT_LOADTEST_REPORT_H_

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/loadtest/loadtest_options.h"
#include "client/loadtest/run_stats.h"
#include "client/loadtest/scenario.h"

namespace sam2::loadtest {

struct RunReport {
  LoadtestOptions options;
  // What the server said it runs (GetServerInfo), e.g.
  // "sam2.1_hiera_tiny on cpu"; empty if unknown.
  std::string server_model;
  std::vector<std::string> server_devices;
  bool server_meaningless_masks = false;
  std::vector<std::string> setup;
  std::vector<LevelResult> levels;
  CleanupResult cleanup;
};

void WriteTable(const RunReport& report, std::ostream& out);
nlohmann::json ReportJson(const RunReport& report);
absl::Status WriteJsonFile(const RunReport& report, const std::string& path);

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_REPORT_H_
