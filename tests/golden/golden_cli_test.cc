// Tests of the golden runner's command line: usage errors exit 2 with a
// message and run nothing; a fixture directory that cannot be run exits 1.
// (A passing run is //tests/golden:golden_test, whose main is RunGoldenCli.)

#include "tests/golden/golden_cli.h"

#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sam2 {
namespace {

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result RunCli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = RunGoldenCli(args, out, err);
  return {code, out.str(), err.str()};
}

TEST(GoldenCliTest, UsageErrorsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{}, "give one or more fixture directories"},
      {{"--device=cpu"}, "give one or more fixture directories"},
      {{"--frobnicate", "dir"}, "unknown option --frobnicate"},
      {{"--precision=half", "dir"}, "--precision"},
      {{"--long_video_window=-1", "dir"}, "bad --long_video_window=-1"},
      {{"--long_video_window=x", "dir"}, "bad --long_video_window=x"},
      {{"--device=tpu", "dir"}, "--device"},
      {{"--device=cpu,cpu", "dir"}, "--device"},
  };
  for (const Case& c : cases) {
    const Result r = RunCli(c.args);
    EXPECT_EQ(r.code, 2) << c.message;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("passed"), std::string::npos) << r.out;
  }
}

TEST(GoldenCliTest, MissingDirectoryExitsOne) {
  const Result r = RunCli({"--precision=float32", "/nonexistent/fixture"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("/nonexistent/fixture"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("golden: cpu, float32"), std::string::npos) << r.out;
  // "--name value" is read as "--name=value" (client/cli_args).
  const Result spaced = RunCli({"--device", "cpu", "/nonexistent/fixture"});
  EXPECT_EQ(spaced.code, 1) << spaced.err;
  EXPECT_NE(spaced.out.find("golden: cpu, float32"), std::string::npos);
}

}  // namespace
}  // namespace sam2
