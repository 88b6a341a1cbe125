// SegmentScenario against the in-process server: sessions set up and
// deleted, random clicks accepted (the server rejects off-image points),
// deadlines reported.

#include "client/loadtest/segment_scenario.h"

#include <gtest/gtest.h>

#include "client/loadtest/scenario_test_util.h"
#include "tests/server/test_server.h"

namespace sam2::loadtest {
namespace {

class SegmentScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestServer>> server = TestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    pool_ = std::make_unique<ChannelPool>(server_->address(), 2);
    env_.channels = pool_.get();
  }

  int64_t LiveImages() { return server_->app().store().Stats().live_image; }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<ChannelPool> pool_;
  ScenarioEnv env_;
};

TEST_F(SegmentScenarioTest, ClicksOnEverySessionThenDeletesThem) {
  SegmentScenario scenario(env_, MicroImagePng(), 3);
  ASSERT_TRUE(scenario.Setup().ok());
  EXPECT_EQ(LiveImages(), 3);
  EXPECT_EQ(scenario.session_names().size(), 3u);
  EXPECT_EQ(scenario.SetupSummary(), "segment: 3 image sessions of 600x400");
  EXPECT_FALSE(scenario.streaming());

  OutcomeCollector outcomes;
  constexpr int kRequests = 40;
  for (int i = 0; i < kRequests; ++i) {
    scenario.Start(Clock::now(), outcomes.Callback());
  }
  const std::vector<Outcome> got = outcomes.Wait(kRequests);
  ASSERT_EQ(got.size(), static_cast<size_t>(kRequests));
  for (const Outcome& o : got) {
    // An off-image click would be INVALID_ARGUMENT.
    EXPECT_EQ(o.code, grpc::StatusCode::OK) << o.message;
    EXPECT_EQ(o.frames, 0);
  }
  const CleanupResult r = scenario.Cleanup();
  EXPECT_EQ(r.deleted, 3);
  EXPECT_EQ(r.failed, 0);
  EXPECT_EQ(LiveImages(), 0);
}

TEST_F(SegmentScenarioTest, ATinyTimeoutIsDeadlineExceeded) {
  env_.timeout = absl::Microseconds(1);
  SegmentScenario scenario(env_, MicroImagePng(), 1);
  ASSERT_TRUE(scenario.Setup().ok());  // setup has its own deadline
  OutcomeCollector outcomes;
  for (int i = 0; i < 5; ++i) scenario.Start(Clock::now(), outcomes.Callback());
  for (const Outcome& o : outcomes.Wait(5)) {
    EXPECT_EQ(o.code, grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  EXPECT_EQ(scenario.Cleanup().deleted, 1);
}

TEST_F(SegmentScenarioTest, SetupFailureSaysWhichSessionAndWhy) {
  SegmentScenario scenario(env_, "not an image", 2);
  absl::Status s = scenario.Setup();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("CreateImageSession 1 of 2"), std::string::npos)
      << s;
  EXPECT_EQ(scenario.Cleanup().deleted, 0);
}

}  // namespace
}  // namespace sam2::loadtest
