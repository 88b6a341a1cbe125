#include "server/protobuf_log_limit.h"

#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"

namespace sam2 {

LogRateLimiter::LogRateLimiter(int max_lines, absl::Duration window, Sink sink,
                               Clock now)
    : max_lines_(max_lines),
      window_(window),
      sink_(std::move(sink)),
      now_(std::move(now)) {}

void LogRateLimiter::Log(absl::string_view line) {
  std::string dropped_note;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = now_();
    if (now - window_start_ >= window_) {
      if (dropped_ > 0) {
        dropped_note = absl::StrCat("... ", dropped_,
                                    " similar lines dropped in the last ",
                                    absl::FormatDuration(window_));
      }
      window_start_ = now;
      written_ = 0;
      dropped_ = 0;
    }
    if (written_ >= max_lines_) {
      ++dropped_;
      return;
    }
    ++written_;
  }
  if (!dropped_note.empty()) sink_(dropped_note);
  sink_(line);
}

namespace {

void LimitedProtobufLog(google::protobuf::LogLevel level, const char* file,
                        int line, const std::string& message) {
  static const char* const kLevelNames[] = {"INFO", "WARNING", "ERROR",
                                            "FATAL"};
  const std::string text = absl::StrCat("[libprotobuf ", kLevelNames[level],
                                        " ", file, ":", line, "] ", message);
  auto to_stderr = [](absl::string_view l) { std::cerr << l << "\n"; };
  if (level == google::protobuf::LOGLEVEL_FATAL) {
    to_stderr(text);
    return;
  }
  // Lives for the process, as the handler does; never destroyed, so that a
  // log line during static destruction finds it intact.
  static LogRateLimiter* const limiter = new LogRateLimiter(
      kProtobufLogLinesPerWindow, kProtobufLogWindow, to_stderr);
  limiter->Log(text);
}

}  // namespace

void InstallProtobufLogLimit() {
  google::protobuf::SetLogHandler(&LimitedProtobufLog);
}

}  // namespace sam2
