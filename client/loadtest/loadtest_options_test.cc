// The load tester's command line: defaults, every option, and bad values
// rejected with messages that name the option.

#include "client/loadtest/loadtest_options.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "tests/util/test_certs.h"

namespace sam2::loadtest {
namespace {

absl::StatusOr<LoadtestOptions> Parse(std::vector<std::string> args) {
  return ParseLoadtestOptions(args);
}

TEST(LoadtestOptionsTest, Defaults) {
  absl::StatusOr<LoadtestOptions> o = Parse({"--server=localhost:50051"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->server, "localhost:50051");
  EXPECT_EQ(o->scenario, "segment");
  ASSERT_EQ(o->mix.size(), 1u);
  EXPECT_EQ(o->mix[0].first, ScenarioKind::kSegment);
  EXPECT_FALSE(o->open_loop);
  EXPECT_EQ(o->concurrency_levels, std::vector<int>{1});
  EXPECT_EQ(o->duration, absl::Seconds(10));
  EXPECT_EQ(o->warmup, absl::Seconds(2));
  EXPECT_EQ(o->timeout, absl::Seconds(30));
  EXPECT_EQ(o->max_requests, 0);
  EXPECT_EQ(o->connections, 1);
  EXPECT_EQ(o->mask_format, v1::MASK_FORMAT_RLE);
  EXPECT_EQ(o->VideoSessionsNeeded(), 0);  // no propagate
}

TEST(LoadtestOptionsTest, EveryOption) {
  absl::StatusOr<LoadtestOptions> o = Parse(
      {"--server", "10.0.0.1:7", "--mix=segment:8,create_image:1,propagate:1",
       "--sweep=1,4,16", "--duration=1.5s", "--requests=500",
       "--warmup=250ms", "--connections=3", "--timeout=2",
       "--connect-timeout=500ms", "--image=a.png",
       "--frames=dir", "--synthetic-size=320X200", "--sessions=2",
       "--max-frames=5", "--mask_format=png", "--seed=7", "--json=r.json",
       "--plot=p.PNG"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->scenario, "mix");
  ASSERT_EQ(o->mix.size(), 3u);
  EXPECT_EQ(o->mix[0], std::make_pair(ScenarioKind::kSegment, 8.0));
  EXPECT_EQ(o->mix[2], std::make_pair(ScenarioKind::kPropagate, 1.0));
  EXPECT_TRUE(o->Runs(ScenarioKind::kCreateImage));
  EXPECT_EQ(o->concurrency_levels, (std::vector<int>{1, 4, 16}));
  EXPECT_EQ(o->duration, absl::Milliseconds(1500));
  EXPECT_EQ(o->max_requests, 500);
  EXPECT_EQ(o->warmup, absl::Milliseconds(250));
  EXPECT_EQ(o->connections, 3);
  EXPECT_EQ(o->timeout, absl::Seconds(2));
  EXPECT_EQ(o->connect_timeout, absl::Milliseconds(500));
  EXPECT_EQ(o->image_path, "a.png");
  EXPECT_EQ(o->frames_dir, "dir");
  EXPECT_EQ(o->synthetic_width, 320);
  EXPECT_EQ(o->synthetic_height, 200);
  EXPECT_EQ(o->image_sessions, 2);
  EXPECT_EQ(o->max_frames, 5);
  EXPECT_EQ(o->mask_format, v1::MASK_FORMAT_PNG);
  EXPECT_EQ(o->seed, 7u);
  EXPECT_EQ(o->json_path, "r.json");
  EXPECT_EQ(o->plot_path, "p.PNG");
  // One video session per stream of the largest level.
  EXPECT_EQ(o->VideoSessionsNeeded(), 16);
}

TEST(LoadtestOptionsTest, OpenLoop) {
  absl::StatusOr<LoadtestOptions> o =
      Parse({"--server=h:1", "--scenario=propagate", "--rate=5,12.5",
             "--arrival=poisson", "--max_inflight=9", "--video_frames=3"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->open_loop);
  EXPECT_EQ(o->rates, (std::vector<double>{5, 12.5}));
  EXPECT_EQ(o->arrival, Arrival::kPoisson);
  EXPECT_EQ(o->max_inflight, 9);
  EXPECT_EQ(o->video_frames, 3);
  EXPECT_EQ(o->VideoSessionsNeeded(), 8);
}

TEST(LoadtestOptionsTest, RequestsAloneAreStillBoundedByTheCap) {
  absl::StatusOr<LoadtestOptions> o = Parse({"--server=h:1", "--requests=10"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->max_requests, 10);
  EXPECT_EQ(o->duration, kMaxDuration);
}

TEST(LoadtestOptionsTest, Help) {
  absl::StatusOr<LoadtestOptions> o = Parse({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
  EXPECT_NE(std::string(kLoadtestUsage).find("--sweep"), std::string::npos);
}

TEST(LoadtestOptionsTest, Durations) {
  EXPECT_EQ(*ParseLoadDuration("10s", "d"), absl::Seconds(10));
  EXPECT_EQ(*ParseLoadDuration("2m", "d"), absl::Minutes(2));
  EXPECT_EQ(*ParseLoadDuration("0.25", "d"), absl::Milliseconds(250));
  EXPECT_EQ(*ParseLoadDuration("100us", "d"), absl::Microseconds(100));
  EXPECT_FALSE(ParseLoadDuration("ten", "d").ok());
  EXPECT_FALSE(ParseLoadDuration("inf", "d").ok());
  EXPECT_FALSE(ParseLoadDuration("", "d").ok());
}

struct BadCase {
  std::vector<std::string> args;
  std::string message;  // a part of the error
};

class BadOptionsTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadOptionsTest, RejectedWithAClearError) {
  std::vector<std::string> args = GetParam().args;
  if (args.empty() || args[0].rfind("--server", 0) != 0) {
    args.insert(args.begin(), "--server=h:1");
  }
  absl::StatusOr<LoadtestOptions> o = Parse(args);
  ASSERT_FALSE(o.ok()) << "accepted: " << args.back();
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(o.status().message().find(GetParam().message), std::string::npos)
      << o.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadOptionsTest,
    ::testing::Values(
        BadCase{{"--server="}, "--server=HOST:PORT is required"},
        BadCase{{"--server=nohost"}, "--server=nohost: expected HOST:PORT"},
        BadCase{{"--scenario=click"}, "--scenario=click: expected segment"},
        BadCase{{"--scenario=segment", "--mix=segment:1"}, "--mix needs"},
        BadCase{{"--mix=segment"}, "is not NAME:WEIGHT"},
        BadCase{{"--mix=segment:x"}, "weight 'x' of segment"},
        BadCase{{"--mix=segment:-1"}, "weight '-1'"},
        BadCase{{"--mix=segment:0"}, "every weight is 0"},
        BadCase{{"--mix=segment:1,segment:2"}, "segment is given twice"},
        BadCase{{"--mix=video:1"}, "--mix=video: expected segment"},
        BadCase{{"--concurrency=0"}, "--concurrency=0: expected an integer in [1, 4096]"},
        BadCase{{"--concurrency=abc"}, "--concurrency=abc"},
        BadCase{{"--concurrency=5000"}, "[1, 4096]"},
        BadCase{{"--sweep=1,,4"}, "--sweep=1,,4: expected concurrency levels"},
        BadCase{{"--sweep=1,0"}, "--sweep=1,0"},
        BadCase{{"--sweep=2", "--concurrency=2"}, "not both"},
        BadCase{{"--rate=0"}, "--rate=0: each rate must be"},
        BadCase{{"--rate=-3"}, "--rate=-3"},
        BadCase{{"--rate=nan"}, "--rate=nan"},
        BadCase{{"--rate=5", "--concurrency=2"}, "--rate runs an open loop"},
        BadCase{{"--rate=5", "--sweep=1,2"}, "--rate runs an open loop"},
        BadCase{{"--arrival=poisson"}, "for the open loop"},
        BadCase{{"--rate=5", "--arrival=bursty"}, "expected constant or poisson"},
        BadCase{{"--rate=5", "--max_inflight=0"}, "--max_inflight=0"},
        BadCase{{"--duration=0s"}, "--duration=0s: must be > 0"},
        BadCase{{"--duration=-1s"}, "--duration=-1s"},
        BadCase{{"--duration=2h"}, "at most 1h"},
        BadCase{{"--duration=soon"}, "--duration=soon: expected a duration"},
        BadCase{{"--warmup=-1s"}, "--warmup=-1s: must be >= 0"},
        BadCase{{"--warmup=11m"}, "at most 10m"},
        BadCase{{"--timeout=0"}, "--timeout=0: must be > 0"},
        BadCase{{"--connect_timeout=1h"}, "--connect_timeout=1h: must be > 0 and at most 10m"},
        BadCase{{"--requests=0"}, "--requests=0"},
        BadCase{{"--requests=1.5"}, "--requests=1.5"},
        BadCase{{"--connections=0"}, "--connections=0: expected an integer in [1, 256]"},
        BadCase{{"--sessions=0"}, "--sessions=0"},
        BadCase{{"--video_sessions=-2"}, "--video_sessions=-2"},
        BadCase{{"--video_frames=0"}, "--video_frames=0"},
        BadCase{{"--frames=d", "--video_frames=3"}, "not both"},
        BadCase{{"--max_frames=0"}, "--max_frames=0"},
        BadCase{{"--synthetic_size=640"}, "expected WIDTHxHEIGHT"},
        BadCase{{"--synthetic_size=4x4"}, "[8, 8192]"},
        BadCase{{"--mask_format=jpeg"}, "expected rle, png or logits"},
        BadCase{{"--seed=-1"}, "--seed=-1"},
        BadCase{{"--plot=out.jpg"}, "the plot is a PNG"},
        BadCase{{"--json="}, "--json=: expected a file name"},
        BadCase{{"--concurency=2"}, "unknown option --concurency"},
        BadCase{{"--duration"}, "--duration needs a value"},
        BadCase{{"stray"}, "unexpected argument 'stray'"}));

TEST(LoadtestOptionsTest, PlaintextWithoutATokenByDefault) {
  absl::StatusOr<LoadtestOptions> o = Parse({"--server=localhost:50051"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->security.channel, nullptr);
  EXPECT_EQ(o->security.bearer_token, "");
}

TEST(LoadtestOptionsTest, TlsAndTokenOptions) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  const TestCa ca = TestCa::Create("loadtest ca");
  const TestKeyPair client = ca.IssueClient();
  ASSERT_TRUE(ReplaceFile(dir + "/ca.pem", ca.cert_pem()).ok());
  ASSERT_TRUE(ReplaceFile(dir + "/c.pem", client.cert_pem).ok());
  ASSERT_TRUE(ReplaceFile(dir + "/c.key", client.key_pem).ok());
  ASSERT_TRUE(ReplaceFile(dir + "/token", "loadtest-token-0123456789\n").ok());
  absl::StatusOr<LoadtestOptions> o = Parse(
      {"--server=h:1", "--ca_cert=" + dir + "/ca.pem",
       "--client-cert=" + dir + "/c.pem", "--client_key", dir + "/c.key",
       "--token_file=" + dir + "/token"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_NE(o->security.channel, nullptr);
  EXPECT_EQ(o->security.bearer_token, "loadtest-token-0123456789");
  o = Parse({"--server=h:1", "--tls"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_NE(o->security.channel, nullptr);
  // $SAM2_TOKEN, when there is no --token_file.
  o = ParseLoadtestOptions({"--server=h:1"}, "environment-token-0123456789");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->security.bearer_token, "environment-token-0123456789");
}

TEST(LoadtestOptionsTest, BadTlsAndTokenOptionsAreNamed) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  ASSERT_TRUE(ReplaceFile(dir + "/short-token", "secret").ok());
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--server=h:1", "--client_cert=" + dir + "/c.pem"},
       "--client_cert and --client_key go together"},
      {{"--server=h:1", "--ca_cert=" + dir + "/missing.pem"}, "--ca_cert"},
      {{"--server=h:1", "--token_file=" + dir + "/missing"}, "--token_file"},
      {{"--server=h:1", "--token_file=" + dir + "/short-token"},
       "a token is 16 to 512 characters"},
      {{"--server=h:1", "--tls=yes"}, "--tls"},
  };
  for (const auto& [args, message] : cases) {
    absl::StatusOr<LoadtestOptions> o = Parse(args);
    ASSERT_FALSE(o.ok()) << message;
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(o.status().message().find(message), std::string::npos)
        << o.status();
    EXPECT_EQ(o.status().message().find("secret"), std::string::npos)
        << o.status();
  }
}

}  // namespace
}  // namespace sam2::loadtest
