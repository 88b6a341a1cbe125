// Rate limit for Protobuf's library log. Protobuf writes one ERROR line to
// stderr for every request that carries a proto3 string which is not UTF-8
// ("String field '...' contains invalid UTF-8 data when parsing ..."), so a
// client could grow the server's log by ~230 bytes per 5-byte request. The
// requests themselves are answered INVALID_ARGUMENT (parse_error_interceptor.h);
// the log keeps at most `max_lines` of these lines per `window` and then
// says how many it dropped.
//
// LogRateLimiter is the testable core; InstallProtobufLogLimit routes
// Protobuf's process-wide log handler through one (Protobuf offers only a
// global hook). Thread-safety: LogRateLimiter is thread-safe (a mutex);
// install once, from main, before serving.

#ifndef SAM2_SERVER_PROTOBUF_LOG_LIMIT_H_
#define SAM2_SERVER_PROTOBUF_LOG_LIMIT_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sam2 {

// Defaults of InstallProtobufLogLimit.
inline constexpr int kProtobufLogLinesPerWindow = 10;
inline constexpr absl::Duration kProtobufLogWindow = absl::Minutes(1);

class LogRateLimiter {
 public:
  using Sink = std::function<void(absl::string_view line)>;
  using Clock = std::function<absl::Time()>;

  LogRateLimiter(int max_lines, absl::Duration window, Sink sink,
                 Clock now = absl::Now);

  // Writes `line` to the sink unless `max_lines` were written in the
  // current window; the first line of a later window is preceded by
  // "... N similar lines dropped in the last <window>".
  void Log(absl::string_view line);

 private:
  const int max_lines_;
  const absl::Duration window_;
  const Sink sink_;
  const Clock now_;
  std::mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int written_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

// Protobuf's log lines go to stderr through a LogRateLimiter with the
// defaults above (FATAL lines pass unlimited: Protobuf aborts after them).
void InstallProtobufLogLimit();

}  // namespace sam2

#endif  // SAM2_SERVER_PROTOBUF_LOG_LIMIT_H_
