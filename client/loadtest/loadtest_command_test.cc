// End to end: short loads against the whole server in-process (micro
// model, real gRPC), checking that every request is accounted for — sent =
// successes + failures by code — that failures are really counted (a tiny
// timeout gives DEADLINE_EXCEEDED), and that every session the run created
// is deleted.

#include "client/loadtest/loadtest_command.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/server/test_server.h"
#include "tests/util/test_certs.h"

namespace sam2::loadtest {
namespace {

class LoadtestCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestServer>> server = TestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  LoadtestOptions Options(std::vector<std::string> args) {
    args.push_back("--server=" + server_->address());
    absl::StatusOr<LoadtestOptions> o = ParseLoadtestOptions(args);
    EXPECT_TRUE(o.ok()) << o.status();
    return o.ok() ? *o : LoadtestOptions();
  }

  RunReport Run(const std::vector<std::string>& args,
                const std::atomic<bool>* interrupt = nullptr) {
    std::ostringstream log;
    absl::StatusOr<RunReport> report = RunLoad(Options(args), log, interrupt);
    EXPECT_TRUE(report.ok()) << report.status() << "\n" << log.str();
    return report.ok() ? *report : RunReport();
  }

  void ExpectNoSessionsLeft() {
    const SessionStoreStats stats = server_->app().store().Stats();
    EXPECT_EQ(stats.live_image, 0);
    EXPECT_EQ(stats.live_video, 0);
  }

  static int64_t SumCodes(const ScenarioStats& s) {
    int64_t n = 0;
    for (const auto& [code, count] : s.codes) n += count;
    return n;
  }

  std::unique_ptr<TestServer> server_;
};

TEST_F(LoadtestCommandTest, ClosedLoopSegmentAndPropagate) {
  const RunReport r =
      Run({"--mix=segment:3,propagate:1", "--concurrency=2", "--duration=1.5s",
           "--warmup=0.2s", "--synthetic_size=320x240", "--video_frames=4"});
  ASSERT_EQ(r.levels.size(), 1u);
  const LevelResult& level = r.levels[0];
  EXPECT_EQ(level.label, "concurrency=2");
  EXPECT_GT(level.window_s, 1.0);
  EXPECT_EQ(level.abandoned, 0);
  ASSERT_EQ(level.scenarios.size(), 2u);
  for (const ScenarioStats& s : level.scenarios) {
    EXPECT_GT(s.sent, 0) << s.scenario;
    EXPECT_EQ(s.sent, SumCodes(s)) << s.scenario;
    // Nothing should fail here: every request OK.
    EXPECT_EQ(s.ok(), s.sent) << s.scenario << ": "
                              << (s.first_error.empty()
                                      ? ""
                                      : s.first_error.begin()->second);
    EXPECT_EQ(s.latency_ms.count(), s.ok());
  }
  const ScenarioStats& seg = level.scenarios[0];
  const ScenarioStats& prop = level.scenarios[1];
  EXPECT_EQ(seg.scenario, "segment");
  EXPECT_FALSE(seg.streaming);
  EXPECT_EQ(prop.scenario, "propagate");
  ASSERT_TRUE(prop.streaming);
  // Every stream delivered all 4 frames.
  EXPECT_EQ(prop.frames, 4 * prop.ok());
  EXPECT_EQ(prop.first_frame_ms.count(), prop.ok());
  EXPECT_EQ(prop.inter_frame_ms.count(), 3 * prop.ok());
  EXPECT_LE(prop.first_frame_ms.Percentile(100), prop.latency_ms.Percentile(100));
  EXPECT_EQ(r.server_model, MicroModel().variant);
  EXPECT_TRUE(r.server_meaningless_masks);
  ASSERT_EQ(r.setup.size(), 2u);
  EXPECT_EQ(r.setup[0], "segment: 4 image sessions of 320x240");
  // 4 image sessions + one video session per stream of the level.
  EXPECT_EQ(r.cleanup.deleted, 6);
  EXPECT_EQ(r.cleanup.failed, 0);
  ExpectNoSessionsLeft();
}

TEST_F(LoadtestCommandTest, OpenLoopSendsAtTheRate) {
  const RunReport r = Run({"--scenario=segment", "--rate=20", "--duration=1.5s",
                           "--warmup=0", "--sessions=2"});
  ASSERT_EQ(r.levels.size(), 1u);
  const LevelResult& level = r.levels[0];
  EXPECT_EQ(level.label, "rate=20/s");
  ASSERT_EQ(level.scenarios.size(), 1u);
  const ScenarioStats& s = level.scenarios[0];
  // 1.5 s at 20/s: 30 arrivals.
  EXPECT_GE(s.sent, 29);
  EXPECT_LE(s.sent, 31);
  EXPECT_EQ(level.dropped_arrivals, 0);
  EXPECT_EQ(s.sent, SumCodes(s));
  EXPECT_EQ(s.ok(), s.sent);
  EXPECT_EQ(r.cleanup.deleted, 2);
  ExpectNoSessionsLeft();
}

TEST_F(LoadtestCommandTest, ATinyTimeoutIsCountedAsDeadlineExceeded) {
  const RunReport r = Run({"--mix=segment:1,propagate:1", "--concurrency=2",
                           "--duration=1s", "--warmup=0", "--timeout=2ms",
                           "--synthetic_size=320x240", "--video_frames=8"});
  ASSERT_EQ(r.levels.size(), 1u);
  int64_t deadline_exceeded = 0;
  for (const ScenarioStats& s : r.levels[0].scenarios) {
    EXPECT_GT(s.sent, 0) << s.scenario;
    EXPECT_EQ(s.sent, SumCodes(s)) << s.scenario;
    EXPECT_EQ(s.latency_ms.count(), s.ok()) << s.scenario;
    auto it = s.codes.find("DEADLINE_EXCEEDED");
    if (it != s.codes.end()) deadline_exceeded += it->second;
  }
  EXPECT_GT(deadline_exceeded, 0);
  // An 8-frame propagation takes far longer than 2 ms.
  const ScenarioStats& prop = r.levels[0].scenarios[1];
  EXPECT_GT(prop.codes.count("DEADLINE_EXCEEDED"), 0u);
  EXPECT_LT(prop.ok(), prop.sent);
  // Set-up and clean-up calls have their own deadline: nothing is left.
  EXPECT_EQ(r.cleanup.failed, 0);
  ExpectNoSessionsLeft();
}

TEST_F(LoadtestCommandTest, CommandWritesTableJsonAndPlot) {
  const std::string tmp = std::getenv("TEST_TMPDIR");
  const std::string json_path = tmp + "/report.json";
  const std::string plot_path = tmp + "/latency.png";
  std::ostringstream out, err;
  const int rc = RunLoadtest(
      {"--server=" + server_->address(), "--scenario=create_image",
       "--sweep=1,2", "--requests=6", "--warmup=0", "--connections=2",
       "--synthetic_size=64x48", "--json=" + json_path, "--plot=" + plot_path},
      out, err);
  ASSERT_EQ(rc, 0) << err.str();
  const std::string table = out.str();
  EXPECT_NE(table.find("concurrency=1"), std::string::npos) << table;
  EXPECT_NE(table.find("concurrency=2"), std::string::npos) << table;
  EXPECT_NE(table.find("OK=6"), std::string::npos) << table;

  std::ifstream in(json_path);
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_EQ(j["levels"].size(), 2u);
  for (const nlohmann::json& level : j["levels"]) {
    const nlohmann::json& s = level["scenarios"][0];
    EXPECT_EQ(s["name"], "create_image");
    EXPECT_EQ(s["sent"], 6);
    int64_t codes = 0;
    for (const auto& [code, count] : s["status_codes"].items()) {
      codes += count.get<int64_t>();
    }
    EXPECT_EQ(codes, 6);
    EXPECT_EQ(s["latency_ms"]["count"], 6);
  }
  // Every created session was deleted right after.
  EXPECT_EQ(j["cleanup"]["deleted"], 12);
  ExpectNoSessionsLeft();

  const cv::Mat plot = cv::imread(plot_path);
  ASSERT_FALSE(plot.empty());
  EXPECT_EQ(plot.rows, 40 + 2 * 300);
}

TEST_F(LoadtestCommandTest, InterruptStopsEarlyAndStillCleansUp) {
  std::atomic<bool> interrupt{false};
  // Once the sessions are set up (the video sessions come last) and the
  // load has run a little.
  std::thread stopper([&] {
    const Clock::time_point give_up = Clock::now() + std::chrono::seconds(20);
    while (server_->app().store().Stats().live_video < 1 &&
           Clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    interrupt.store(true);
  });
  const Clock::time_point t0 = Clock::now();
  const RunReport r =
      Run({"--mix=segment:1,propagate:1", "--sweep=1,2", "--duration=30s",
           "--warmup=0", "--synthetic_size=320x240", "--video_sessions=1"},
          &interrupt);
  stopper.join();
  EXPECT_LT(MillisBetween(t0, Clock::now()), 20000);
  ASSERT_EQ(r.levels.size(), 1u);  // the second level never started
  EXPECT_TRUE(r.levels[0].interrupted);
  EXPECT_GT(r.levels[0].scenarios[0].sent, 0);  // it was under way
  for (const ScenarioStats& s : r.levels[0].scenarios) {
    EXPECT_EQ(s.sent, SumCodes(s)) << s.scenario;
  }
  EXPECT_EQ(r.cleanup.failed, 0);
  ExpectNoSessionsLeft();
}

TEST_F(LoadtestCommandTest, UsageAndConnectionErrors) {
  std::ostringstream out, err;
  EXPECT_EQ(RunLoadtest({"--server=h:1", "--concurrency=0"}, out, err), 2);
  EXPECT_NE(err.str().find("--concurrency=0"), std::string::npos);
  EXPECT_NE(err.str().find("usage: sam2_loadtest"), std::string::npos);

  std::ostringstream out2, err2;
  EXPECT_EQ(RunLoadtest({"--help"}, out2, err2), 0);
  EXPECT_NE(out2.str().find("--rate"), std::string::npos);

  // Nothing listens on port 1.
  std::ostringstream out3, err3;
  EXPECT_EQ(RunLoadtest({"--server=127.0.0.1:1", "--duration=1s",
                         "--connect_timeout=300ms"},
                        out3, err3),
            1);
  EXPECT_NE(err3.str().find("cannot connect to 127.0.0.1:1"), std::string::npos)
      << err3.str();
}

// A short run against a server on mutual TLS: every request succeeds with
// the client certificate and the token; without the certificate the run
// cannot connect.
TEST(LoadtestTlsTest, ShortRunOverMutualTlsWithAToken) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  const TestCa ca = TestCa::Create("loadtest ca");
  const TestKeyPair server_pair = ca.IssueServer();
  const TestKeyPair client_pair = ca.IssueClient();
  for (const auto& [name, pem] :
       std::vector<std::pair<std::string, std::string>>{
           {"server.pem", server_pair.cert_pem},
           {"server.key", server_pair.key_pem},
           {"ca.pem", ca.cert_pem()},
           {"client.pem", client_pair.cert_pem},
           {"client.key", client_pair.key_pem},
           {"token", "loadtest-token-0123456789"}}) {
    ASSERT_TRUE(ReplaceFile(absl::StrCat(dir, "/", name), pem).ok());
  }
  ServerAppOptions options = TestServerOptions();
  options.tls.cert_path = dir + "/server.pem";
  options.tls.key_path = dir + "/server.key";
  options.tls.client_ca_path = dir + "/ca.pem";
  absl::StatusOr<std::unique_ptr<TestServer>> server = TestServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();

  const std::vector<std::string> common = {
      "--server=" + (*server)->address(), "--scenario=segment",
      "--requests=5", "--warmup=0", "--sessions=1",
      "--synthetic_size=64x48", "--connect_timeout=5s",
      "--ca_cert=" + dir + "/ca.pem"};
  std::vector<std::string> args = common;
  args.insert(args.end(), {"--client_cert=" + dir + "/client.pem",
                           "--client_key=" + dir + "/client.key",
                           "--token_file=" + dir + "/token"});
  absl::StatusOr<LoadtestOptions> o = ParseLoadtestOptions(args);
  ASSERT_TRUE(o.ok()) << o.status();
  std::ostringstream log;
  absl::StatusOr<RunReport> report = RunLoad(*o, log, nullptr);
  ASSERT_TRUE(report.ok()) << report.status() << "\n" << log.str();
  ASSERT_EQ(report->levels.size(), 1u);
  ASSERT_EQ(report->levels[0].scenarios.size(), 1u);
  const ScenarioStats& segment = report->levels[0].scenarios[0];
  EXPECT_EQ(segment.sent, 5);
  EXPECT_EQ(segment.ok(), 5);
  EXPECT_EQ(report->cleanup.failed, 0);

  // Without the client certificate the server refuses the connection (the
  // run stops at connecting or at its first call, naming the server).
  std::ostringstream out, err;
  EXPECT_EQ(RunLoadtest(common, out, err), 1);
  EXPECT_NE(err.str().find((*server)->address()), std::string::npos)
      << err.str();
  EXPECT_EQ((*server)->app().store().size(), 0);
}

TEST_F(LoadtestCommandTest, TooManySessionsForTheServerIsRefusedUpFront) {
  ServerAppOptions options = TestServerOptions();
  options.sessions.max_sessions = 3;
  absl::StatusOr<std::unique_ptr<TestServer>> small = TestServer::Start(options);
  ASSERT_TRUE(small.ok()) << small.status();
  std::ostringstream out, err;
  EXPECT_EQ(RunLoadtest({"--server=" + (*small)->address(), "--sessions=4"},
                        out, err),
            1);
  EXPECT_NE(err.str().find("sets up 4 sessions but the server allows 3"),
            std::string::npos)
      << err.str();
}

}  // namespace
}  // namespace sam2::loadtest
