// LogRateLimiter: at most N lines per window, then a count of the dropped
// ones when the next window opens; and Protobuf's own log goes through it
// once installed.

#include "server/protobuf_log_limit.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "protos/sam2/v1/sam2.pb.h"

namespace sam2 {
namespace {

TEST(LogRateLimiterTest, KeepsNLinesPerWindowAndCountsTheRest) {
  std::vector<std::string> out;
  absl::Time now = absl::FromUnixSeconds(1000);
  LogRateLimiter limiter(
      2, absl::Seconds(60),
      [&out](absl::string_view l) { out.emplace_back(l); },
      [&now] { return now; });
  for (int i = 0; i < 5; ++i) limiter.Log(absl::StrCat("line ", i));
  EXPECT_EQ(out, (std::vector<std::string>{"line 0", "line 1"}));
  now += absl::Seconds(59);
  limiter.Log("still the same window");
  EXPECT_EQ(out.size(), 2u);
  now += absl::Seconds(2);
  limiter.Log("next window");
  EXPECT_EQ(out, (std::vector<std::string>{
                     "line 0", "line 1",
                     "... 4 similar lines dropped in the last 1m",
                     "next window"}));
  now += absl::Minutes(5);
  limiter.Log("quiet before");
  EXPECT_EQ(out.back(), "quiet before");
  EXPECT_EQ(out.size(), 5u);
}

TEST(ProtobufLogLimitTest, InvalidUtf8LinesAreLimited) {
  InstallProtobufLogLimit();
  // A SegmentRequest whose session (a proto3 string) is not UTF-8: Protobuf
  // refuses it and logs one ERROR line per attempt.
  const std::string bytes("\x0a\x03\xff\xfe\xc0", 5);
  testing::internal::CaptureStderr();
  for (int i = 0; i < 3 * kProtobufLogLinesPerWindow; ++i) {
    v1::SegmentRequest request;
    EXPECT_FALSE(request.ParseFromString(bytes));
  }
  const std::string err = testing::internal::GetCapturedStderr();
  int lines = 0;
  for (size_t at = err.find("invalid UTF-8"); at != std::string::npos;
       at = err.find("invalid UTF-8", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, kProtobufLogLinesPerWindow) << err;
  google::protobuf::SetLogHandler(nullptr);
}

}  // namespace
}  // namespace sam2
