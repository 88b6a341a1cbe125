#include "client/loadtest/run_stats.h"

#include "absl/strings/str_cat.h"

namespace sam2::loadtest {

std::string GrpcCodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  const int n = static_cast<int>(code);
  if (n >= 0 && n < static_cast<int>(sizeof(kNames) / sizeof(kNames[0]))) {
    return kNames[n];
  }
  return absl::StrCat("CODE_", n);
}

int64_t ScenarioStats::completed() const {
  int64_t total = 0;
  for (const auto& [code, count] : codes) total += count;
  return total;
}

int64_t ScenarioStats::ok() const {
  auto it = codes.find("OK");
  return it == codes.end() ? 0 : it->second;
}

double LevelResult::Throughput(const ScenarioStats& s) const {
  return window_s > 0 ? static_cast<double>(s.sent) / window_s : 0;
}

double LevelResult::FramesPerSecond(const ScenarioStats& s) const {
  return window_s > 0 ? static_cast<double>(s.frames) / window_s : 0;
}

}  // namespace sam2::loadtest
