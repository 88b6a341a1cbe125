// PropagateScenario against the in-process server: uploaded and prompted
// sessions, whole streams with first-mask and inter-frame times, sessions
// checked out one stream at a time, cancellation, cleanup.

#include "client/loadtest/propagate_scenario.h"

#include <gtest/gtest.h>

#include <thread>

#include "client/loadtest/scenario_test_util.h"
#include "tests/server/test_server.h"

namespace sam2::loadtest {
namespace {

class PropagateScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestServer>> server = TestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    pool_ = std::make_unique<ChannelPool>(server_->address(), 2);
    env_.channels = pool_.get();
    frames_ = MicroVideoFrames();
    ASSERT_EQ(frames_.size(), 8u);
  }

  int64_t LiveVideos() { return server_->app().store().Stats().live_video; }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<ChannelPool> pool_;
  ScenarioEnv env_;
  std::vector<std::string> frames_;
};

TEST_F(PropagateScenarioTest, StreamsEveryFrameAndTimesThem) {
  PropagateScenario scenario(env_, frames_, 2, 0);
  ASSERT_TRUE(scenario.Setup().ok());
  EXPECT_TRUE(scenario.streaming());
  EXPECT_EQ(LiveVideos(), 2);
  EXPECT_NE(scenario.SetupSummary().find("2 video sessions of 8 frames 320x180"),
            std::string::npos)
      << scenario.SetupSummary();

  OutcomeCollector outcomes;
  scenario.Start(Clock::now(), outcomes.Callback());
  const std::vector<Outcome> got = outcomes.Wait(1);
  ASSERT_EQ(got.size(), 1u);
  const Outcome& o = got[0];
  ASSERT_EQ(o.code, grpc::StatusCode::OK) << o.message;
  EXPECT_EQ(o.frames, 8);
  ASSERT_TRUE(o.first_frame_ms.has_value());
  EXPECT_GT(*o.first_frame_ms, 0);
  ASSERT_EQ(o.inter_frame_ms.size(), 7u);
  for (double gap : o.inter_frame_ms) EXPECT_GE(gap, 0);

  const CleanupResult r = scenario.Cleanup();
  EXPECT_EQ(r.deleted, 2);
  EXPECT_EQ(LiveVideos(), 0);
}

TEST_F(PropagateScenarioTest, MaxFramesShortensTheStream) {
  PropagateScenario scenario(env_, frames_, 1, 3);
  ASSERT_TRUE(scenario.Setup().ok());
  OutcomeCollector outcomes;
  scenario.Start(Clock::now(), outcomes.Callback());
  const std::vector<Outcome> got = outcomes.Wait(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].code, grpc::StatusCode::OK) << got[0].message;
  EXPECT_LT(got[0].frames, 8);
  EXPECT_GE(got[0].frames, 3);
  scenario.Cleanup();
}

TEST_F(PropagateScenarioTest, MoreStreamsThanSessionsWaitInsteadOfAborting) {
  PropagateScenario scenario(env_, frames_, 1, 0);
  ASSERT_TRUE(scenario.Setup().ok());
  OutcomeCollector outcomes;
  for (int i = 0; i < 3; ++i) scenario.Start(Clock::now(), outcomes.Callback());
  const std::vector<Outcome> got = outcomes.Wait(3);
  ASSERT_EQ(got.size(), 3u);
  for (const Outcome& o : got) {
    // Two streams on one session at once would be ABORTED.
    EXPECT_EQ(o.code, grpc::StatusCode::OK) << o.message;
    EXPECT_EQ(o.frames, 8);
  }
  // The later ones waited for the first: their first mask came later.
  EXPECT_EQ(scenario.Cleanup().deleted, 1);
}

TEST_F(PropagateScenarioTest, CancelAllEndsStreamsAndWaiters) {
  PropagateScenario scenario(env_, frames_, 1, 0);
  ASSERT_TRUE(scenario.Setup().ok());
  OutcomeCollector outcomes;
  for (int i = 0; i < 3; ++i) scenario.Start(Clock::now(), outcomes.Callback());
  scenario.CancelAll();
  const std::vector<Outcome> got = outcomes.Wait(3);
  ASSERT_EQ(got.size(), 3u);
  int cancelled = 0;
  for (const Outcome& o : got) {
    if (o.code == grpc::StatusCode::CANCELLED) ++cancelled;
  }
  // The two waiters at least (the stream itself may have won the race).
  EXPECT_GE(cancelled, 2);
  // The session is free again: a new stream runs (the server may still be
  // finishing the cancelled stream's frame for a moment: ABORTED "busy").
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  for (int attempt = 0; attempt < 50; ++attempt) {
    OutcomeCollector again;
    scenario.Start(Clock::now(), again.Callback());
    const std::vector<Outcome> next = again.Wait(1);
    ASSERT_EQ(next.size(), 1u);
    code = next[0].code;
    if (code != grpc::StatusCode::ABORTED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(code, grpc::StatusCode::OK);
  EXPECT_EQ(scenario.Cleanup().deleted, 1);
}

TEST_F(PropagateScenarioTest, UndecodableFramesFailSetup) {
  PropagateScenario scenario(env_, {"not a frame"}, 2, 0);
  absl::Status s = scenario.Setup();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("video session 1 of 2"), std::string::npos) << s;
  scenario.Cleanup();
  EXPECT_EQ(LiveVideos(), 0);
}

}  // namespace
}  // namespace sam2::loadtest
